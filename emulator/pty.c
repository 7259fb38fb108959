/*
 * Server-owned pty for the UART tunnel (see pty.h). Raw mode matters: the transport is
 * binary (TVM's RPC framing, random echo data), so 0x03, 0x11/0x13, 0x0D or 0x7F must never be
 * turned into signals, flow control or newline translation on either end.
 * We open the pair with posix_openpt and friends, which is what glibc's openpty does, because
 * this folder's own pty.h hides <pty.h>; it also gives close-on-exec without a window.
 */
#include "pty.h"

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
    p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->master < 0) {
        rc = err_errno(err, "posix_openpt");
        goto out;
    }
    if (grantpt(p->master) < 0 || unlockpt(p->master) < 0) {
        rc = err_errno(err, "pty: unlocking the slave");
        goto out;
    }
    int e = ptsname_r(p->master, p->slave_path, sizeof p->slave_path);
    if (e != 0) {
        errno = e; /* ptsname_r returns the error instead of setting errno */
        rc = err_errno(err, "pty: naming the slave");
        goto out;
    }
    p->slave = open(p->slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->slave < 0) {
        rc = err_errno(err, "pty: opening %s", p->slave_path);
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
