/*
 * Server-owned pty for the UART tunnel (see uart_pty.h). Raw mode matters: the transport is
 * binary (TVM's RPC framing, random echo data), so 0x03, 0x11/0x13, 0x0D or 0x7F must never be
 * turned into signals, flow control or newline translation on either end.
 * The pair comes from glibc's openpty; we then mark both fds close-on-exec at once (the
 * server is single-threaded while it spawns nothing, so there is no fork in between).
 */
#include "uart_pty.h"

#include <pty.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int set_raw(int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) < 0)
        return -1;
    cfmakeraw(&t);
    /* a read on the slave returns as soon as one byte is there (cfmakeraw leaves VMIN/VTIME) */
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(fd, TCSANOW, &t);
}

int pty_open(struct pty *p, struct err *err)
{
    int rc = 0;
    p->master = -1;
    p->slave = -1;
    p->slave_path[0] = '\0';
    if (openpty(&p->master, &p->slave, NULL, NULL, NULL) < 0) {
        p->master = p->slave = -1;
        rc = err_errno(err, "openpty");
        goto out;
    }
    if (fcntl(p->master, F_SETFD, FD_CLOEXEC) < 0 || fcntl(p->slave, F_SETFD, FD_CLOEXEC) < 0) {
        rc = err_errno(err, "pty: setting close-on-exec");
        goto out;
    }
    if (ptsname_r(p->master, p->slave_path, sizeof p->slave_path) != 0) {
        rc = err_set(err, ERR_INTERNAL, "pty: naming the slave failed");
        goto out;
    }
    int fl = fcntl(p->master, F_GETFL);
    if (fl < 0 || fcntl(p->master, F_SETFL, fl | O_NONBLOCK) < 0) {
        rc = err_errno(err, "pty: making the master non-blocking");
        goto out;
    }
    if (set_raw(p->master) < 0 || set_raw(p->slave) < 0) {
        rc = err_errno(err, "pty: setting raw mode");
        goto out;
    }
out:
    if (rc < 0)
        pty_close(p);
    return rc;
}

void pty_close(struct pty *p)
{
    if (!p)
        return;
    if (p->master >= 0)
        close(p->master);
    if (p->slave >= 0)
        close(p->slave);
    p->master = p->slave = -1;
    p->slave_path[0] = '\0';
}
