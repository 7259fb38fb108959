/*
 * The UART forwarder (uart_forward.h): one thread per fast-link session that turns the board's
 * UART output into log lines. Bytes a person cannot read are shown as '?', so a firmware cannot
 * write control sequences to the user's terminal; a line longer than LINE_BYTES is cut into
 * several. Stopping is a byte on a pipe, so the thread never has to be cancelled.
 */
#include "uart_forward.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_BYTES 256

struct uart_forward {
    int fd;
    int stop[2];             /* the stop pipe: [0] read by the thread, [1] written by stop */
    pthread_t thread;
    char board[64];
    char last[LINE_BYTES];   /* the last line forwarded */
    char line[LINE_BYTES];   /* the line being gathered (thread only) */
    size_t len;
};

static void emit(struct uart_forward *f)
{
    while (f->len > 0 && f->line[f->len - 1] == '\r')
        f->len--;
    for (size_t i = 0; i < f->len; i++) {
        unsigned char c = (unsigned char)f->line[i];
        if (c < 0x20 || c > 0x7e)
            f->line[i] = '?';
    }
    f->line[f->len] = '\0';
    if (f->len > 0) {
        log_warn("%s UART: %s", f->board, f->line);
        memcpy(f->last, f->line, f->len + 1);
    }
    f->len = 0;
}

static void take(struct uart_forward *f, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            emit(f);
            continue;
        }
        f->line[f->len++] = buf[i];
        if (f->len == LINE_BYTES - 1)
            emit(f);
    }
}

/* Reads what fd holds now; false once it reports an end (EOF or an error other than EAGAIN). */
static bool drain(struct uart_forward *f)
{
    char buf[1024];
    for (;;) {
        ssize_t r = read(f->fd, buf, sizeof buf);
        if (r > 0) {
            take(f, buf, (size_t)r);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

static void *forward_main(void *arg)
{
    struct uart_forward *f = arg;
    bool open = true;
    for (;;) {
        struct pollfd p[2] = {{.fd = f->stop[0], .events = POLLIN},
                              {.fd = f->fd, .events = POLLIN}};
        /* once the UART reports its end, only the stop pipe is worth waiting for */
        if (poll(p, open ? 2 : 1, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (open && p[1].revents)
            open = drain(f) && !(p[1].revents & (POLLERR | POLLNVAL)) &&
                   !((p[1].revents & POLLHUP) && !(p[1].revents & POLLIN));
    }
    drain(f);
    emit(f);
    return NULL;
}

int uart_forward_start(int fd, const char *board, struct uart_forward **out, struct err *err)
{
    *out = NULL;
    struct uart_forward *f = calloc(1, sizeof *f);
    if (!f)
        return err_set(err, -ENOMEM, "out of memory");
    f->fd = fd;
    snprintf(f->board, sizeof f->board, "%s", board);
    if (pipe2(f->stop, O_CLOEXEC) < 0) {
        int rc = err_errno(err, "the UART forwarder's pipe");
        free(f);
        return rc;
    }
    /* the thread takes no signal: the server's SIGTERM must interrupt the main thread's ppoll */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&f->thread, NULL, forward_main, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        errno = e;
        int rc = err_errno(err, "starting the UART forwarder");
        close(f->stop[0]);
        close(f->stop[1]);
        free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void uart_forward_stop(struct uart_forward *f, char *last_line, size_t size)
{
    if (last_line && size)
        last_line[0] = '\0';
    if (!f)
        return;
    ssize_t w;
    do
        w = write(f->stop[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(f->thread, NULL);
    if (last_line && size)
        snprintf(last_line, size, "%s", f->last);
    close(f->stop[0]);
    close(f->stop[1]);
    free(f);
}
