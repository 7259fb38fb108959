/*
 * Starting programs (common/spawn.h). The children are this test program itself, run again as
 * "--child MODE ...": they report what they were given (exit codes, fds, signal dispositions)
 * and misbehave on purpose (a grandchild that outlives them, output closed early). Every test
 * ends with no child of ours left, reaped or not.
 */
#include "spawn.h"

#include "asserts.h"
#include "mono.h"
#include "runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char self[PATH_MAX];

/* ---- the children (run as "--child MODE ...") ---- */

static int compare_ints(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Prints the open fds, sorted, on stdout: "0 1 2 5\n". */
static int print_fds(void)
{
    int fds[256], n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 1;
    for (struct dirent *e; (e = readdir(d)) && n < 256;)
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
            fds[n++] = atoi(e->d_name);
    closedir(d);
    qsort(fds, (size_t)n, sizeof fds[0], compare_ints);
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? " " : "", fds[i]);
    printf("\n");
    return fflush(stdout) == 0 ? 0 : 1;
}

/* 0 when SIGPIPE is at its default and neither SIGUSR1 nor SIGTERM is blocked. */
static int check_signals(void)
{
    struct sigaction sa;
    sigset_t mask;
    if (sigaction(SIGPIPE, NULL, &sa) < 0 || sa.sa_handler != SIG_DFL)
        return 1;
    if (sigprocmask(SIG_BLOCK, NULL, &mask) < 0 || sigismember(&mask, SIGUSR1) ||
        sigismember(&mask, SIGTERM))
        return 2;
    return 0;
}

/* Forks a grandchild that sleeps, prints its pid, and sleeps too: both hold stdout open. */
static int leave_a_grandchild(void)
{
    pid_t g = fork();
    if (g == 0) {
        sleep(100);
        _exit(0);
    }
    printf("%d\n", (int)g);
    fflush(stdout);
    sleep(100);
    return 0;
}

static int child_main(int argc, char **argv)
{
    const char *mode = argv[2];
    if (!strcmp(mode, "exit") && argc > 3)
        return atoi(argv[3]);
    if (!strcmp(mode, "say") && argc > 4) { /* TEXT CODE: TEXT on stdout, CODE as status */
        printf("%s", argv[3]);
        fflush(stdout);
        return atoi(argv[4]);
    }
    if (!strcmp(mode, "signals"))
        return check_signals();
    if (!strcmp(mode, "fds"))
        return print_fds();
    if (!strcmp(mode, "write-fds")) { /* N...: "fd N\n" written to each fd N */
        for (int i = 3; i < argc; i++)
            if (dprintf(atoi(argv[i]), "fd %s\n", argv[i]) < 0)
                return 1;
        return 0;
    }
    if (!strcmp(mode, "grandchild"))
        return leave_a_grandchild();
    if (!strcmp(mode, "quiet-sleep")) { /* closes its output at once, then sleeps */
        close(1);
        close(2);
        sleep(100);
        return 0;
    }
    if (!strcmp(mode, "sleep")) {
        sleep(100);
        return 0;
    }
    return 99;
}

/* ---- helpers ---- */

/* True when we have no child left, reaped or not (a zombie counts). */
static bool no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

/* Options running this program as "--child args...". */
static struct spawn_opts child_opts(char **argv)
{
    struct spawn_opts o = {.path = self, .argv = argv,
                           .stdio = {SPAWN_DEVNULL, SPAWN_INHERIT, SPAWN_INHERIT}};
    return o;
}

/* Reads what a pipe holds until EOF into out (NUL-terminated). */
static void read_all(int fd, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n < cap - 1 && (r = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
}

static int failing_hook(void *ctx)
{
    (void)ctx;
    return -EPERM;
}

/* The hook's own fd (ctx: its number) must still be the /dev/null it was in the parent, not a
 * kept fd placed on the same number. */
static int hook_sees_its_fd(void *ctx)
{
    struct stat st;
    if (fstat(*(const int *)ctx, &st) < 0)
        return -errno;
    return S_ISCHR(st.st_mode) ? 0 : -EBADF;
}

/* ---- tests ---- */

static void test_spawn_reports_the_exit_code_and_the_signal_that_ended_a_child(void)
{
    char *exit7[] = {self, "--child", "exit", "7", NULL};
    char *sleeper[] = {self, "--child", "sleep", NULL};
    struct spawn_opts o = child_opts(exit7);
    struct err err = {0};
    pid_t pid = -1;
    int st = 0;
    char how[128];
    ASSERT_EQ_FATAL(spawn_start(&o, &pid, NULL, &err), 0);
    ASSERT_TRUE(spawn_reap(pid, 10000, &st));
    ASSERT_STR_EQ(spawn_describe_status(st, how, sizeof how), "exited with code 7");
    o = child_opts(sleeper);
    ASSERT_EQ_FATAL(spawn_start(&o, &pid, NULL, &err), 0);
    ASSERT_FALSE(spawn_reap(pid, 0, &st)); /* still sleeping: 0 only looks */
    kill(pid, SIGTERM);
    ASSERT_TRUE(spawn_reap(pid, 10000, &st));
    ASSERT_STR_EQ(spawn_describe_status(st, how, sizeof how),
                           "was killed by signal 15 (Terminated)");
    ASSERT_STR_EQ(spawn_describe_status(-1, how, sizeof how), "exited");
    ASSERT_TRUE(no_children());
}

static void test_spawn_names_the_step_and_errno_that_failed_and_leaves_no_child(void)
{
    char *missing[] = {"/nonexistent/mtq-no-such-program", NULL};
    struct spawn_opts o = {.path = missing[0], .argv = missing,
                           .stdio = {SPAWN_DEVNULL, SPAWN_DEVNULL, SPAWN_DEVNULL}};
    struct err err = {0};
    enum spawn_step failed = SPAWN_OK;
    pid_t pid = 1;
    ASSERT_EQ(spawn_start(&o, &pid, &failed, &err), -ENOENT);
    ASSERT_EQ(failed, SPAWN_FAILED_EXEC);
    ASSERT_EQ(pid, -1);
    ASSERT_STR_EQ(err.msg, "cannot run /nonexistent/mtq-no-such-program: No such file "
                           "or directory");
    ASSERT_TRUE(no_children());

    char *exit0[] = {self, "--child", "exit", "0", NULL};
    o = child_opts(exit0);
    o.cwd = "/nonexistent/mtq-dir";
    ASSERT_EQ(spawn_start(&o, &pid, &failed, &err), -ENOENT);
    ASSERT_EQ(failed, SPAWN_FAILED_CWD);
    ASSERT_STR_CONTAINS(err.msg, " in /nonexistent/mtq-dir: No such file");
    o.cwd = NULL;
    o.hook = failing_hook;
    ASSERT_EQ(spawn_start(&o, &pid, &failed, &err), -EPERM);
    ASSERT_EQ(failed, SPAWN_FAILED_HOOK);
    ASSERT_STR_CONTAINS(err.msg, "Operation not permitted");
    ASSERT_TRUE(no_children());

    struct spawn_fd onto_stdout = {0, 1};
    o.hook = NULL;
    o.keep = &onto_stdout;
    o.n_keep = 1;
    ASSERT_EQ(spawn_start(&o, &pid, &failed, &err), ERR_INVALID);
    ASSERT_EQ(failed, SPAWN_OK);
    ASSERT_STR_CONTAINS(err.msg, "cannot keep fd 0 as fd 1");
    ASSERT_TRUE(no_children());
}

static void test_spawn_resets_ignored_and_blocked_signals_in_the_child(void)
{
    char *argv[] = {self, "--child", "signals", NULL};
    struct spawn_opts o = child_opts(argv);
    struct err err = {0};
    pid_t pid = -1;
    int st = -1;
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN); /* as every server of ours runs */
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &old_mask);
    int rc = spawn_start(&o, &pid, NULL, &err);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    signal(SIGPIPE, old_pipe);
    ASSERT_EQ_FATAL(rc, 0);
    ASSERT_TRUE(spawn_reap(pid, 10000, &st));
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0); /* 1: SIGPIPE still ignored; 2: signals blocked */
    ASSERT_TRUE(no_children());
}

static void test_spawn_puts_fds_at_their_numbers_even_when_they_cross(void)
{
    int a[2], b[2], out[2];
    struct err err = {0};
    ASSERT_TRUE_FATAL(pipe2(a, O_CLOEXEC) == 0 && pipe2(b, O_CLOEXEC) == 0);
    ASSERT_EQ_FATAL(spawn_pipe(out, &err), 0);
    /* the write ends at 40 and 41, kept crossed: each target is the other's source */
    ASSERT_TRUE_FATAL(dup3(a[1], 40, O_CLOEXEC) == 40 && dup3(b[1], 41, O_CLOEXEC) == 41);
    close(a[1]);
    close(b[1]);
    char *argv[] = {self, "--child", "write-fds", "40", "41", NULL};
    struct spawn_fd keep[] = {{40, 41}, {41, 40}};
    struct spawn_opts o = child_opts(argv);
    o.stdio[1] = o.stdio[2] = out[1]; /* stdout and stderr may share one fd */
    o.keep = keep;
    o.n_keep = 2;
    pid_t pid = -1;
    int st = -1;
    ASSERT_EQ_FATAL(spawn_start(&o, &pid, NULL, &err), 0);
    close(40);
    close(41);
    close(out[1]);
    char got_a[64], got_b[64], got_out[64];
    read_all(a[0], got_a, sizeof got_a);
    read_all(b[0], got_b, sizeof got_b);
    read_all(out[0], got_out, sizeof got_out);
    ASSERT_STR_EQ(got_a, "fd 41\n"); /* our 40 was the child's 41 */
    ASSERT_STR_EQ(got_b, "fd 40\n");
    ASSERT_STR_EQ(got_out, "");
    ASSERT_TRUE(spawn_reap(pid, 10000, &st));
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(a[0]);
    close(b[0]);
    close(out[0]);
    ASSERT_TRUE(no_children());
}

/* QEMU's case: the confinement hook uses its Landlock ruleset's fd, perhaps at the number the
 * fast link is kept at (3); the kept fd is placed only after the hook. */
static void test_spawn_places_kept_fds_after_the_hook(void)
{
    int a[2];
    struct err err = {0};
    ASSERT_EQ_FATAL(spawn_pipe(a, &err), 0);
    int hook_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE_FATAL(hook_fd, 0);
    char *argv[] = {self, "--child", "write-fds", "40", NULL};
    struct spawn_fd keep[] = {{a[1], 40}};
    int hook_at = 40; /* the hook looks at the kept fd's number before it is placed */
    ASSERT_TRUE_FATAL(dup3(hook_fd, 40, O_CLOEXEC) == 40);
    struct spawn_opts o = child_opts(argv);
    o.keep = keep;
    o.n_keep = 1;
    o.hook = hook_sees_its_fd;
    o.hook_ctx = &hook_at;
    pid_t pid = -1;
    int st = -1;
    ASSERT_EQ_FATAL(spawn_start(&o, &pid, NULL, &err), 0);
    close(40);
    close(hook_fd);
    close(a[1]);
    char got[64];
    read_all(a[0], got, sizeof got);
    ASSERT_STR_EQ(got, "fd 40\n"); /* and the child has the pipe at 40 */
    ASSERT_TRUE(spawn_reap(pid, 10000, &st));
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(a[0]);
    ASSERT_TRUE(no_children());
}

static void test_spawn_leaks_no_fd_into_the_child_but_those_it_keeps(void)
{
    struct err err = {0};
    int out[2];
    ASSERT_EQ_FATAL(spawn_pipe(out, &err), 0);
    /* fds our own caller might have left inheritable: without close-on-exec, at any number */
    int leak = open("/dev/null", O_RDONLY);
    int high = dup2(leak, 77);
    int kept = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_TRUE_FATAL(leak >= 0 && high == 77 && kept >= 0);
    char *argv[] = {self, "--child", "fds", NULL};
    struct spawn_fd keep = {kept, 5};
    struct spawn_opts o = child_opts(argv);
    o.stdio[1] = out[1];
    o.keep = &keep;
    o.n_keep = 1;
    pid_t pid = -1;
    int st = -1;
    ASSERT_EQ_FATAL(spawn_start(&o, &pid, NULL, &err), 0);
    close(out[1]);
    char fds[256];
    read_all(out[0], fds, sizeof fds);
    ASSERT_STR_EQ(fds, "0 1 2 5\n");
    ASSERT_TRUE(spawn_reap(pid, 10000, &st));
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(out[0]);
    close(leak);
    close(high);
    close(kept);
    ASSERT_TRUE(no_children());
}

static void test_spawn_run_copies_the_output_and_gives_the_exit_code(void)
{
    char *argv[] = {self, "--child", "say", "hello from the child", "3", NULL};
    struct spawn_opts o = child_opts(argv);
    struct err err = {0};
    int copy = memfd_create("mtq-test-spawn", MFD_CLOEXEC);
    ASSERT_TRUE_FATAL(copy >= 0);
    int to[2] = {-1, copy}, status = -1;
    ASSERT_EQ(spawn_run(&o, to, 2, 10000, &status, NULL, &err), 0);
    ASSERT_EQ(status, 3);
    char got[64] = "";
    ssize_t n = pread(copy, got, sizeof got - 1, 0);
    got[n > 0 ? n : 0] = '\0';
    ASSERT_STR_EQ(got, "hello from the child");
    close(copy);
    ASSERT_TRUE(no_children());
}

static void test_spawn_run_kills_the_whole_group_at_its_time_limit(void)
{
    /* orphans come to us (not init), so the grandchild's end can be seen */
    ASSERT_TRUE_FATAL(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    char *argv[] = {self, "--child", "grandchild", NULL};
    struct spawn_opts o = child_opts(argv);
    struct err err = {0};
    int copy = memfd_create("mtq-test-spawn", MFD_CLOEXEC);
    ASSERT_TRUE_FATAL(copy >= 0);
    int status = -1;
    double t0 = mono_now_s();
    ASSERT_EQ(spawn_run(&o, &copy, 1, 300, &status, NULL, &err), ERR_TIMEOUT);
    double took = mono_now_s() - t0;
    ASSERT_TRUE(took >= 0.3 && took < 5.0);
    ASSERT_STR_CONTAINS(err.msg, "still running after 300 ms");
    char text[32] = "";
    ssize_t n = pread(copy, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    pid_t grandchild = (pid_t)atoi(text);
    ASSERT_TRUE_FATAL(grandchild > 0);
    int st = 0;
    ASSERT_TRUE(spawn_reap(grandchild, 5000, &st));
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    close(copy);

    /* a program that closes its output early is still bound by the limit */
    char *quiet[] = {self, "--child", "quiet-sleep", NULL};
    o = child_opts(quiet);
    t0 = mono_now_s();
    ASSERT_EQ(spawn_run(&o, NULL, 0, 300, &status, NULL, &err), ERR_TIMEOUT);
    ASSERT_TRUE(mono_now_s() - t0 < 5.0);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    ASSERT_TRUE(no_children());
}

static void test_spawn_kills_the_child_when_the_process_that_started_it_dies(void)
{
    int p[2];
    ASSERT_TRUE_FATAL(pipe2(p, O_CLOEXEC) == 0);
    ASSERT_TRUE_FATAL(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    pid_t middle = fork();
    ASSERT_TRUE_FATAL(middle >= 0);
    if (middle == 0) { /* starts a sleeper, says its pid, and dies without a word */
        char *argv[] = {self, "--child", "sleep", NULL};
        struct spawn_opts o = child_opts(argv);
        pid_t pid = -1;
        spawn_start(&o, &pid, NULL, NULL);
        ssize_t w = write(p[1], &pid, sizeof pid);
        _exit(w == (ssize_t)sizeof pid ? 0 : 1);
    }
    close(p[1]);
    pid_t sleeper = -1;
    ASSERT_EQ(read(p[0], &sleeper, sizeof sleeper), (ssize_t)sizeof sleeper);
    close(p[0]);
    ASSERT_TRUE(spawn_reap(middle, 10000, NULL));
    int st = 0;
    ASSERT_TRUE_FATAL(sleeper > 0);
    ASSERT_TRUE(spawn_reap(sleeper, 5000, &st));
    ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    ASSERT_TRUE(no_children());
}

static void test_spawn_finds_programs_on_path_or_by_their_path(void)
{
    char path[PATH_MAX] = "";
    ASSERT_TRUE(spawn_find("sh", path, sizeof path));
    ASSERT_STR_CONTAINS(path, "/sh");
    ASSERT_TRUE(access(path, X_OK) == 0);
    ASSERT_TRUE(spawn_find(self, NULL, 0));
    ASSERT_FALSE(spawn_find("mtq-no-such-program", path, sizeof path));
    ASSERT_FALSE(spawn_find("/nonexistent/sh", path, sizeof path));
}

int test_register(void)
{
    if (test_argc > 2 && strcmp(test_argv[1], "--child") == 0)
        return child_main(test_argc, test_argv);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    CU_pSuite s = CU_add_suite("spawn", NULL, NULL);
    CU_ADD_TEST(s, test_spawn_reports_the_exit_code_and_the_signal_that_ended_a_child);
    CU_ADD_TEST(s, test_spawn_names_the_step_and_errno_that_failed_and_leaves_no_child);
    CU_ADD_TEST(s, test_spawn_resets_ignored_and_blocked_signals_in_the_child);
    CU_ADD_TEST(s, test_spawn_puts_fds_at_their_numbers_even_when_they_cross);
    CU_ADD_TEST(s, test_spawn_places_kept_fds_after_the_hook);
    CU_ADD_TEST(s, test_spawn_leaks_no_fd_into_the_child_but_those_it_keeps);
    CU_ADD_TEST(s, test_spawn_run_copies_the_output_and_gives_the_exit_code);
    CU_ADD_TEST(s, test_spawn_run_kills_the_whole_group_at_its_time_limit);
    CU_ADD_TEST(s, test_spawn_kills_the_child_when_the_process_that_started_it_dies);
    CU_ADD_TEST(s, test_spawn_finds_programs_on_path_or_by_their_path);
    return TEST_RUN;
}
