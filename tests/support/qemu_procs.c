/* Process checks for tests (see qemu_procs.h), from /proc/<pid>/stat. */
#include "qemu_procs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int qemu_procs_children(pid_t parent)
{
    int count = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (!isdigit((unsigned char)ent->d_name[0]))
            continue;
        char path[64], line[512];
        snprintf(path, sizeof path, "/proc/%.20s/stat", ent->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t n = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[n] = '\0';
        /* "pid (comm) state ppid ...": comm may hold spaces, so find the last ')' */
        char *open = strchr(line, '(');
        char *close = strrchr(line, ')');
        int ppid = 0;
        char state = 0;
        if (!open || !close || sscanf(close + 1, " %c %d", &state, &ppid) != 2)
            continue;
        if (ppid == parent && strncmp(open + 1, "qemu-system", 11) == 0)
            count++;
    }
    closedir(d);
    return count;
}

bool qemu_procs_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

char qemu_procs_state(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *close = strrchr(line, ')');
    char state = 0;
    if (!close || sscanf(close + 1, " %c", &state) != 1)
        return 0;
    return state;
}

bool qemu_procs_orphan_ends(pid_t pid, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid)
            return true;
        char st = qemu_procs_state(pid);
        if (r < 0 && (st == 0 || st == 'Z'))
            return true;
        usleep(20000);
    }
    return false;
}
