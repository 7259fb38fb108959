/* Running the command line from tests (cli_run.h). */
#include "cli_run.h"

#include "asserts.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

char *cli_run_slurp(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, max);
    if (f && buf)
        buf[fread(buf, 1, max - 1, f)] = '\0';
    if (f)
        fclose(f);
    unlink(path);
    return buf;
}

int cli_run_binary(const char *scratch_dir, const char *const *args, const char *in_path,
                   int timeout_sec, char **out, char **errs)
{
    char opath[PATH_MAX], epath[PATH_MAX];
    const char *argv[32] = {MTQ_CLI};
    for (int i = 0; args[i] && i < 30; i++)
        argv[i + 1] = args[i];
    snprintf(opath, sizeof opath, "%s/stdout", scratch_dir);
    snprintf(epath, sizeof epath, "%s/stderr", scratch_dir);
    pid_t pid = fork();
    if (pid == 0) {
        int in = open(in_path ? in_path : "/dev/null", O_RDONLY);
        int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(MTQ_CLI, (char **)argv);
        _exit(127);
    }
    int status = -1;
    for (int waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited += 10) {
        if (waited > timeout_sec * 1000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            TEST_FAIL("the command line did not finish in time");
            break;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    *out = cli_run_slurp(opath, 1 << 20);
    *errs = cli_run_slurp(epath, 1 << 20);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
