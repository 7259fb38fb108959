/*
 * The byte link between the server and a board (session_internal.h): non-blocking reads and
 * writes on the pty master, waits on the pty and QEMU's exit together, and a host-side receive
 * buffer that a waiting write drains the board's output into. Without that buffer a large
 * write to the echo firmware deadlocks: QEMU's UART TX backs up, the firmware stops reading,
 * and our write never finds room. The read path makes no allocation and, when data is already
 * there, one syscall; it sleeps in ppoll only when nothing is.
 */
#include "session_internal.h"

#include "mono.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* The least free space a fill reads into; smaller gaps are compacted or grown first. */
#define RX_MIN_ROOM 4096u
/* Without an exit fd, how often a wait asks gone(). */
#define GONE_POLL_NS (50 * 1000000LL)

/* ---- receive buffer ---- */

void sess__rx_init(struct sess__rx *rx, size_t max)
{
    memset(rx, 0, sizeof *rx);
    rx->max = max ? max : SESS_RX_MAX;
}

void sess__rx_close(struct sess__rx *rx)
{
    if (!rx)
        return;
    free(rx->data);
    rx->data = NULL;
    rx->head = rx->tail = rx->cap = 0;
}

size_t sess__rx_len(const struct sess__rx *rx)
{
    return rx->tail - rx->head;
}

size_t sess__rx_take(struct sess__rx *rx, uint8_t *dst, size_t n)
{
    size_t have = rx->tail - rx->head;
    if (n > have)
        n = have;
    if (n) {
        memcpy(dst, rx->data + rx->head, n);
        rx->head += n;
    }
    if (rx->head == rx->tail)
        rx->head = rx->tail = 0;
    return n;
}

/* Makes at least RX_MIN_ROOM bytes free after tail if the bound allows, else whatever is left
 * below it; ERR_STATE when not one byte fits. */
static int rx_make_room(struct sess__rx *rx, struct err *err)
{
    if (rx->cap - rx->tail >= RX_MIN_ROOM)
        return 0;
    if (rx->head > 0) { /* slide the unread bytes down before growing */
        memmove(rx->data, rx->data + rx->head, rx->tail - rx->head);
        rx->tail -= rx->head;
        rx->head = 0;
        if (rx->cap - rx->tail >= RX_MIN_ROOM)
            return 0;
    }
    if (rx->cap < rx->max) {
        size_t cap = rx->cap ? rx->cap * 2 : SESS_RX_INITIAL;
        if (cap > rx->max)
            cap = rx->max;
        uint8_t *p = realloc(rx->data, cap);
        if (!p)
            return err_set(err, -ENOMEM, "out of memory growing the receive buffer to %zu bytes",
                           cap);
        rx->data = p;
        rx->cap = cap;
    }
    if (rx->tail < rx->cap)
        return 0;
    return err_set(err, ERR_STATE,
                   "the board sent more than %zu bytes that nobody read (the host-side receive "
                   "buffer's bound); call read_transport between writes",
                   rx->max);
}

ssize_t sess__rx_fill(struct sess__rx *rx, int fd, struct err *err)
{
    if (rx->head == rx->tail)
        rx->head = rx->tail = 0;
    int rc = rx_make_room(rx, err);
    if (rc < 0)
        return rc;
    for (;;) {
        ssize_t r = read(fd, rx->data + rx->tail, rx->cap - rx->tail);
        if (r > 0) {
            rx->tail += (size_t)r;
            return r;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (r == 0 || errno == EIO)
            return err_set(err, ERR_CLOSED, "the board hung up");
        return err_errno(err, "reading from the board");
    }
}

void sess__rx_cut(struct sess__rx *rx, size_t from, size_t n)
{
    size_t len = rx->tail - rx->head;
    if (from >= len)
        return;
    if (n > len - from)
        n = len - from;
    uint8_t *at = rx->data + rx->head + from;
    memmove(at, at + n, len - from - n);
    rx->tail -= n;
}

ssize_t sess__rx_find(const struct sess__rx *rx, size_t from, const char *delim)
{
    size_t len = rx->tail - rx->head, dl = strlen(delim);
    if (dl == 0 || from >= len)
        return -1;
    const uint8_t *base = rx->data + rx->head;
    const uint8_t *p = memmem(base + from, len - from, delim, dl);
    return p ? p - base : -1;
}

/* ---- waiting ---- */

/* A deadline from a timeout in seconds: -1 for none (< 0). */
static int64_t deadline_of(double timeout_sec)
{
    if (timeout_sec < 0)
        return -1;
    if (timeout_sec > 1e9) /* centuries: treat as forever, and keep the arithmetic in range */
        return -1;
    return mono_now_ns() + (int64_t)(timeout_sec * 1e9);
}

enum { WAIT_READY = 1, WAIT_GONE = 2 };

/* Sleeps until the device has one of events (WAIT_READY, *revents set), the device is gone
 * (WAIT_GONE; checked after the device, so a last burst of output is read first), the deadline
 * passed (ERR_TIMEOUT, message left to the caller), or the server is stopping (ERR_CLOSED).
 * SIGTERM and SIGINT are blocked from the stop-flag test until ppoll, which unblocks them
 * atomically, so a signal arriving in between cannot be missed. */
static int wait_device(struct sess__link *l, short events, int64_t deadline, short *revents,
                       struct err *err)
{
    /* the client's pipes are watched for their far ends going away (events 0: only POLLHUP
     * and POLLERR are reported); a request pipe that hangs up with requests still unread is
     * a batch client's, which still wants its answers: it is dropped from the watch instead */
    bool watch_request = l->request_fd >= 0;
    for (;;) {
        struct pollfd p[4] = {{.fd = l->fd, .events = events}};
        nfds_t nfds = 1;
        int exit_i = -1, req_i = -1, rep_i = -1;
        if (l->exit_fd >= 0)
            p[exit_i = (int)nfds++] = (struct pollfd){.fd = l->exit_fd, .events = POLLIN};
        if (watch_request)
            p[req_i = (int)nfds++] = (struct pollfd){.fd = l->request_fd, .events = 0};
        if (l->reply_fd >= 0)
            p[rep_i = (int)nfds++] = (struct pollfd){.fd = l->reply_fd, .events = 0};
        struct timespec ts, *tsp = NULL;
        int64_t now = mono_now_ns(), left = -1;
        if (deadline >= 0)
            left = deadline > now ? deadline - now : 0;
        if (l->exit_fd < 0 && l->gone && (left < 0 || left > GONE_POLL_NS))
            left = GONE_POLL_NS;
        if (left >= 0) {
            ts.tv_sec = (time_t)(left / 1000000000LL);
            ts.tv_nsec = (long)(left % 1000000000LL);
            tsp = &ts;
        }
        int r;
        if (l->stop) {
            sigset_t block, old;
            sigemptyset(&block);
            sigaddset(&block, SIGTERM);
            sigaddset(&block, SIGINT);
            sigprocmask(SIG_BLOCK, &block, &old);
            if (*l->stop) {
                sigprocmask(SIG_SETMASK, &old, NULL);
                return err_set(err, ERR_CLOSED, "the server is stopping (signal %d)",
                               (int)*l->stop);
            }
            r = ppoll(p, nfds, tsp, &old);
            int saved = errno;
            sigprocmask(SIG_SETMASK, &old, NULL);
            errno = saved;
        } else {
            r = ppoll(p, nfds, tsp, NULL);
        }
        if (r < 0) {
            if (errno == EINTR)
                continue; /* the stop flag is looked at on the next round */
            return err_errno(err, "waiting for the board");
        }
        if (p[0].revents) {
            *revents = p[0].revents;
            return WAIT_READY;
        }
        if (exit_i >= 0 && p[exit_i].revents)
            return WAIT_GONE;
        if (l->exit_fd < 0 && l->gone && l->gone(l->gone_ctx))
            return WAIT_GONE;
        if (rep_i >= 0 && (p[rep_i].revents & (POLLERR | POLLHUP)))
            return err_set(err, ERR_CLOSED, "the client closed the reply pipe; stopping");
        if (req_i >= 0 && (p[req_i].revents & POLLHUP)) {
            int pending = 0;
            if (ioctl(l->request_fd, FIONREAD, &pending) == 0 && pending > 0)
                watch_request = false;
            else
                return err_set(err, ERR_CLOSED, "the client closed the request pipe; stopping");
        }
        if (deadline >= 0 && mono_now_ns() >= deadline)
            return ERR_TIMEOUT;
    }
}

/* ---- the link ---- */

void sess__link_init(struct sess__link *l, size_t rx_max)
{
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->exit_fd = -1;
    l->request_fd = -1;
    l->reply_fd = -1;
    sess__rx_init(&l->rx, rx_max);
}

void sess__link_close(struct sess__link *l)
{
    if (!l)
        return;
    sess__rx_close(&l->rx);
    l->fd = -1;
    l->exit_fd = -1;
    l->dead = false;
}

static int gone_error(struct sess__link *l, struct err *err)
{
    l->dead = true;
    return err_set(err, ERR_CLOSED, "the board is gone (its emulator exited)");
}

int sess__link_read(struct sess__link *l, uint8_t *buf, size_t n, double timeout_sec,
                    size_t *got, struct err *err)
{
    *got = 0;
    if (n == 0)
        return err_set(err, ERR_INVALID, "reading 0 bytes from the board");
    size_t have = sess__rx_take(&l->rx, buf, n);
    if (have == n) {
        *got = have;
        return 0;
    }
    if (l->fd < 0 || l->dead) {
        *got = have;
        return have ? 0 : l->dead ? gone_error(l, err)
                                  : err_set(err, ERR_CLOSED, "the transport is not open");
    }
    int64_t deadline = -2; /* computed only if we have to wait */
    for (;;) {
        ssize_t r = read(l->fd, buf + have, n - have);
        if (r > 0) {
            *got = have + (size_t)r;
            return 0;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 || (r < 0 && errno == EIO)) {
            l->dead = true;
            *got = have;
            return have ? 0 : err_set(err, ERR_CLOSED, "the board hung up");
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *got = have;
            return have ? 0 : err_errno(err, "reading from the board");
        }
        if (have) {
            *got = have;
            return 0;
        }
        if (deadline == -2)
            deadline = deadline_of(timeout_sec);
        short revents = 0;
        int w = wait_device(l, POLLIN, deadline, &revents, err);
        if (w == ERR_TIMEOUT)
            return err_set(err, ERR_TIMEOUT, "no data from the board within %g s", timeout_sec);
        if (w < 0)
            return w;
        if (w == WAIT_GONE) {
            /* what it sent just before exiting is still in the pty */
            r = read(l->fd, buf, n);
            if (r > 0) {
                *got = (size_t)r;
                return 0;
            }
            return gone_error(l, err);
        }
    }
}

/* Reads everything the device still holds into the receive buffer (the board is gone). */
static void drain_all(struct sess__link *l)
{
    while (sess__rx_fill(&l->rx, l->fd, NULL) > 0)
        ;
}

int sess__link_write(struct sess__link *l, const uint8_t *data, size_t n, double timeout_sec,
                     struct err *err)
{
    if (l->fd < 0 || l->dead)
        return l->dead ? gone_error(l, err) : err_set(err, ERR_CLOSED, "the transport is not open");
    /* one cheap look at QEMU's exit: a pty accepts bytes after its reader died */
    if (l->exit_fd >= 0) {
        struct pollfd p = {.fd = l->exit_fd, .events = POLLIN};
        if (poll(&p, 1, 0) > 0) {
            drain_all(l);
            return gone_error(l, err);
        }
    } else if (l->gone && l->gone(l->gone_ctx)) {
        drain_all(l);
        return gone_error(l, err);
    }
    int64_t deadline = -2;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(l->fd, data + done, n - done);
        if (w > 0) {
            done += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EIO || errno == EPIPE)) {
            drain_all(l);
            return gone_error(l, err);
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return err_errno(err, "writing to the board (%zu of %zu bytes went)", done, n);
        if (deadline == -2)
            deadline = deadline_of(timeout_sec);
        short revents = 0;
        int r = wait_device(l, POLLIN | POLLOUT, deadline, &revents, err);
        if (r == ERR_TIMEOUT)
            return err_set(err, ERR_TIMEOUT, "the board took %zu of %zu bytes within %g s", done,
                           n, timeout_sec);
        if (r < 0)
            return r;
        if (r == WAIT_GONE) {
            drain_all(l);
            l->dead = true;
            return err_set(err, ERR_CLOSED, "the board is gone (its emulator exited) after "
                           "taking %zu of %zu bytes", done, n);
        }
        if (revents & (POLLIN | POLLHUP | POLLERR)) {
            /* keep the board's output flowing, or it stops reading ours */
            ssize_t f = sess__rx_fill(&l->rx, l->fd, err);
            if (f == ERR_CLOSED) {
                l->dead = true;
                return err_set(err, ERR_CLOSED, "the board hung up after taking %zu of %zu "
                               "bytes", done, n);
            }
            if (f < 0)
                return (int)f;
        }
    }
    return 0;
}

/* For messages: "a newline", or the delimiter quoted with its '\n' spelt out. */
static const char *delim_name(const char *delim, char *out, size_t outsz)
{
    size_t dl = strlen(delim);
    bool nl = dl > 0 && delim[dl - 1] == '\n';
    if (dl == 1 && nl)
        return "a newline";
    snprintf(out, outsz, "\"%.*s%s\"", (int)(nl ? dl - 1 : dl), delim, nl ? "\\n" : "");
    return out;
}

ssize_t sess__link_wait_for(struct sess__link *l, size_t from, const char *delim, size_t limit,
                            double timeout_sec, struct err *err)
{
    if (l->fd < 0)
        return err_set(err, ERR_CLOSED, "the transport is not open");
    size_t dl = strlen(delim);
    char name[64];
    if (dl == 0)
        return err_set(err, ERR_INVALID, "waiting for an empty delimiter");
    int64_t deadline = deadline_of(timeout_sec);
    size_t scanned = from; /* bytes known not to start the delimiter */
    for (;;) {
        ssize_t at = sess__rx_find(&l->rx, scanned, delim);
        if (at >= 0)
            return at + (ssize_t)dl;
        size_t have = sess__rx_len(&l->rx);
        size_t unmatched = have >= dl ? have - dl + 1 : 0;
        scanned = unmatched > from ? unmatched : from;
        if (have >= limit)
            return err_set(err, ERR_INVALID, "%zu bytes from the board without %s", have,
                           delim_name(delim, name, sizeof name));
        ssize_t f = sess__rx_fill(&l->rx, l->fd, err);
        if (f > 0)
            continue;
        if (f == ERR_CLOSED)
            l->dead = true;
        if (f < 0)
            return (int)f;
        short revents = 0;
        int w = wait_device(l, POLLIN, deadline, &revents, err);
        if (w == ERR_TIMEOUT)
            return err_set(err, ERR_TIMEOUT, "no %s from the board within %g s",
                           strcmp(delim, "\n") ? delim_name(delim, name, sizeof name) : "line",
                           timeout_sec);
        if (w < 0)
            return w;
        if (w == WAIT_GONE) {
            drain_all(l);
            if ((at = sess__rx_find(&l->rx, scanned, delim)) >= 0)
                return at + (ssize_t)dl;
            return gone_error(l, err);
        }
    }
}
