/*
 * The LAN9118 link's relay thread (frame_relay.h): one poll loop over the datagram socket,
 * the stream, QEMU's exit and a stop eventfd, feeding frame_host.c. It never blocks but in
 * poll, reads at most RELAY_BATCH datagrams per round (a guest flooding the link cannot keep
 * it from the stream or from stopping), holds at most one frame the socket refused, and
 * allocates nothing after start.
 */
#include "frame_relay.h"

#include "mono.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Datagrams taken per round before the loop looks at its other fds. */
#define RELAY_BATCH 64

struct frame_relay {
    pthread_t thread;
    int dgram_fd;
    int exit_fd;   /* the caller's */
    int stream_fd; /* our end; -1 once closed */
    int wake_fd;   /* written by frame_relay_stop */
    bool draining; /* QEMU is gone: only deliver what is left, then end */
    pthread_mutex_t lock;
    bool ended;     /* under lock */
    size_t out_len; /* a frame the socket has not taken yet */
    uint8_t out[LINK_FRAME_MAX_BYTES];
    uint8_t in[LINK_FRAME_MAX_BYTES + 1]; /* one more: a longer datagram shows as too long */
    struct frame_host host;
};

/* ---- the device's side ---- */

/* QEMU's end is gone (exited, or closed the socket): take what it sent, then only deliver. */
static void start_draining(struct frame_relay *r)
{
    for (;;) {
        ssize_t n = recv(r->dgram_fd, r->in, sizeof r->in, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        frame_host_take(&r->host, r->in, (size_t)n < sizeof r->in ? (size_t)n : sizeof r->in,
                        mono_now_ns());
    }
    r->draining = true;
    r->out_len = 0;
}

/* Reads up to RELAY_BATCH datagrams. */
static void read_frames(struct frame_relay *r)
{
    for (int i = 0; i < RELAY_BATCH; i++) {
        ssize_t n = recv(r->dgram_fd, r->in, sizeof r->in, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                start_draining(r);
            return;
        }
        /* MSG_TRUNC: n is the datagram's real length; one too long reads as sizeof in */
        frame_host_take(&r->host, r->in, (size_t)n < sizeof r->in ? (size_t)n : sizeof r->in,
                        mono_now_ns());
    }
}

/* Sends the frame held back, then whatever the protocol has, until the socket is full. */
static void send_frames(struct frame_relay *r)
{
    for (;;) {
        if (r->out_len == 0)
            r->out_len = frame_host_next(&r->host, r->out, mono_now_ns());
        if (r->out_len == 0)
            return;
        ssize_t n = send(r->dgram_fd, r->out, r->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) {
            r->out_len = 0;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            start_draining(r); /* ECONNREFUSED: QEMU closed its end */
        return;
    }
}

/* ---- the session's side ---- */

/* Returns false when the session hung up (EOF or an error). */
static bool read_stream(struct frame_relay *r)
{
    for (;;) {
        size_t room = 0;
        uint8_t *p = frame_host_tx_space(&r->host, &room);
        if (room == 0)
            return true;
        ssize_t n = read(r->stream_fd, p, room);
        if (n > 0) {
            frame_host_tx_commit(&r->host, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

/* Returns false when the session hung up. */
static bool write_stream(struct frame_relay *r)
{
    for (;;) {
        const uint8_t *p = NULL;
        size_t len = frame_host_rx_peek(&r->host, &p);
        if (len == 0)
            return true;
        ssize_t n = send(r->stream_fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            frame_host_rx_consume(&r->host, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

/* ---- the loop ---- */

/* poll's timeout for the protocol's timer, rounded up to whole milliseconds. */
static int timeout_ms(const struct frame_relay *r)
{
    int64_t deadline = frame_host_deadline(&r->host);
    if (r->draining || deadline < 0)
        return -1;
    int64_t left = deadline - mono_now_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

static void mark_ended(struct frame_relay *r)
{
    pthread_mutex_lock(&r->lock);
    r->ended = true;
    pthread_mutex_unlock(&r->lock);
}

/* One round: waits, then serves whatever is ready. Returns false when the relay is done. */
static bool round_trip(struct frame_relay *r)
{
    const uint8_t *unused = NULL;
    bool to_session = frame_host_rx_peek(&r->host, &unused) > 0;
    if (r->draining && !to_session)
        return false; /* everything the board sent is delivered */
    size_t room = 0;
    frame_host_tx_space(&r->host, &room);
    struct pollfd p[4] = {
        {.fd = r->wake_fd, .events = POLLIN},
        {.fd = r->draining ? -1 : r->dgram_fd,
         .events = (short)(POLLIN | (r->out_len ? POLLOUT : 0))},
        {.fd = r->stream_fd,
         .events = (short)((room && !r->draining ? POLLIN : 0) | (to_session ? POLLOUT : 0))},
        {.fd = r->draining ? -1 : r->exit_fd, .events = POLLIN},
    };
    if (poll(p, 4, timeout_ms(r)) < 0 && errno != EINTR)
        return false;
    if (p[0].revents)
        return false;
    if (p[3].revents)
        start_draining(r);
    if (!r->draining && (p[1].revents & POLLIN))
        read_frames(r);
    if (p[2].revents & (POLLHUP | POLLERR))
        return false; /* the session closed its end */
    if (!r->draining && (p[2].revents & POLLIN) && !read_stream(r))
        return false;
    if (!write_stream(r))
        return false;
    if (!r->draining)
        send_frames(r);
    return true;
}

static void *relay_main(void *arg)
{
    struct frame_relay *r = arg;
    send_frames(r);
    while (round_trip(r)) {
    }
    close(r->stream_fd); /* the session reads EOF after the last byte */
    r->stream_fd = -1;
    mark_ended(r);
    return NULL;
}

int frame_relay_start(int dgram_fd, int exit_fd, int *stream_fd, struct frame_relay **out,
                      struct err *err)
{
    int sv[2] = {-1, -1};
    struct frame_relay *r = calloc(1, sizeof *r);
    if (!r) {
        if (dgram_fd >= 0)
            close(dgram_fd);
        return err_set(err, -ENOMEM, "out of memory for the fast link's relay");
    }
    r->dgram_fd = dgram_fd;
    r->exit_fd = exit_fd;
    r->stream_fd = r->wake_fd = -1;
    frame_host_init(&r->host, mono_now_ns());
    pthread_mutex_init(&r->lock, NULL);
    int rc = 0;
    int fl = fcntl(dgram_fd, F_GETFL);
    if (fl < 0 || fcntl(dgram_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        rc = err_errno(err, "the fast link's datagram socket (fd %d)", dgram_fd);
        goto fail;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        rc = err_errno(err, "making the fast link's stream socketpair");
        goto fail;
    }
    if ((r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        rc = err_errno(err, "making the fast link relay's eventfd");
        goto fail;
    }
    r->stream_fd = sv[1];
    /* the thread takes no signal: the server's main thread waits for SIGTERM in ppoll */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&r->thread, NULL, relay_main, r);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        rc = err_set(err, -e, "starting the fast link's relay thread: %s", strerror(e));
        goto fail;
    }
    *stream_fd = sv[0];
    *out = r;
    return 0;
fail:
    if (r->wake_fd >= 0)
        close(r->wake_fd);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    if (dgram_fd >= 0)
        close(dgram_fd);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return rc;
}

void frame_relay_stop(struct frame_relay *r, struct frame_host_stats *final)
{
    if (!r)
        return;
    uint64_t one = 1;
    while (write(r->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    pthread_join(r->thread, NULL);
    if (final)
        *final = r->host.stats; /* the thread is gone: nothing moves them now */
    if (r->stream_fd >= 0)
        close(r->stream_fd);
    close(r->dgram_fd);
    close(r->wake_fd);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

bool frame_relay_ended(struct frame_relay *r)
{
    pthread_mutex_lock(&r->lock);
    bool ended = r->ended;
    pthread_mutex_unlock(&r->lock);
    return ended;
}
