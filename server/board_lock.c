/*
 * The board lock (session_internal.h): two servers must never drive one project's board, or
 * their bytes would interleave on one UART. flock(LOCK_EX | LOCK_NB) on a file in the project
 * gives exactly that, and the kernel drops it when the holder exits, however it exits, so a
 * SIGKILLed server leaves nothing stale. The file's content only names the holder for messages
 * (and for tests that look for its QEMU).
 */
#include "session_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int sess__lock_take(struct sess__lock *lk, const char *path, struct err *err)
{
    if (lk->fd >= 0)
        return 0;
    /* NOFOLLOW: a link planted under the lock's name must not make us truncate its target */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return err_errno(err, "%s: cannot open the board lock", path);
    int r;
    do
        r = flock(fd, LOCK_EX | LOCK_NB);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        int e = errno;
        close(fd);
        if (e != EWOULDBLOCK)
            return err_set(err, -e, "%s: cannot take the board lock: %s", path, strerror(e));
        pid_t holder = 0;
        if (sess__lock_read(path, &holder, NULL, NULL) == 0 && holder > 0)
            return err_set(err, ERR_BUSY, "board in use by another server (pid %ld); close it "
                           "or wait", (long)holder);
        return err_set(err, ERR_BUSY, "board in use by another server (pid unknown, lock %s); "
                       "close it or wait", path);
    }
    lk->fd = fd;
    sess__lock_note(lk, 0);
    return 0;
}

void sess__lock_note(struct sess__lock *lk, pid_t qemu_pid)
{
    if (lk->fd < 0)
        return;
    char line[64];
    int len = snprintf(line, sizeof line, "server %ld qemu %ld\n", (long)getpid(),
                       (long)(qemu_pid > 0 ? qemu_pid : 0));
    /* best effort: a reader that finds it empty or torn just says "pid unknown" */
    ssize_t w = ftruncate(lk->fd, 0) == 0 ? pwrite(lk->fd, line, (size_t)len, 0) : -1;
    (void)w;
}

void sess__lock_release(struct sess__lock *lk)
{
    if (!lk || lk->fd < 0)
        return;
    /* clear the names, so nobody blames a server that let go (best effort: the next holder
     * rewrites them anyway) */
    int r = ftruncate(lk->fd, 0);
    (void)r;
    close(lk->fd); /* closing the only descriptor drops the flock */
    lk->fd = -1;
}

int sess__lock_read(const char *path, pid_t *server_pid, pid_t *qemu_pid, struct err *err)
{
    char buf[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return err_errno(err, "%s", path);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return err_set(err, ERR_INVALID, "%s: empty", path);
    buf[n] = '\0';
    long s = 0, q = 0;
    if (sscanf(buf, "server %ld qemu %ld", &s, &q) != 2 || s <= 0 || q < 0)
        return err_set(err, ERR_INVALID, "%s: not a board lock (\"%.40s\")", path, buf);
    if (server_pid)
        *server_pid = (pid_t)s;
    if (qemu_pid)
        *qemu_pid = (pid_t)q;
    return 0;
}
