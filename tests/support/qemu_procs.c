/* Process checks for tests (see qemu_procs.h), from /proc/<pid>/stat. */
#include "qemu_procs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* How many processes have parent `parent` and a command name starting with prefix (NULL: any
 * command); -1 when /proc cannot be read. */
static int children_named(pid_t parent, const char *prefix)
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
        if (ppid == parent && (!prefix || strncmp(open + 1, prefix, strlen(prefix)) == 0))
            count++;
    }
    closedir(d);
    return count;
}

int qemu_procs_children(pid_t parent)
{
    return children_named(parent, "qemu-system");
}

int qemu_procs_all_children(pid_t parent)
{
    return children_named(parent, NULL);
}

int qemu_procs_mentioning(const char *needle, pid_t except, char *first, size_t firstsz)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    if (first)
        first[0] = '\0';
    while (d && (e = readdir(d))) {
        if (!isdigit((unsigned char)e->d_name[0]) || atoi(e->d_name) == getpid() ||
            atoi(e->d_name) == except)
            continue;
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%.20s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        for (ssize_t i = 0; i < len; i++) /* the arguments, '\0'-separated: one string */
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[len] = '\0';
        if (strstr(buf, needle)) {
            if (first && !first[0])
                snprintf(first, firstsz, "%.20s: %.200s", e->d_name, buf);
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
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
