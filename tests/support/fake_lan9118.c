/*
 * TEST DOUBLE of a board on the LAN9118 link (fake_lan9118.h): frames.c over a model of
 * QEMU's lan9118 RX FIFO and net queue, with a fault injector in between. Everything runs on
 * the device's thread: the "wire" (socket -> injector -> FIFO, and device -> injector ->
 * queue -> socket) moves whenever the protocol calls the NIC, as QEMU's would while the vCPU
 * polls; fake_dev_busy keeps it moving while the device computes.
 */
#include "fake_lan9118.h"

#include "mono.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 256u         /* frames each delay line and the net queue can hold */
#define FRAME_CAP 2052u    /* FRAMES_RX_FRAME_BYTES: what the FIFO hands over at most */

struct slot {
    int64_t due_ns;
    size_t len;
    uint8_t data[FRAME_CAP];
};

/* A queue of frames in arrival order, each with a time it may leave. */
struct line {
    struct slot slots[SLOTS];
    unsigned head, count;
};

struct fake_dev {
    pthread_t thread;
    int fd;      /* the device's end of the socketpair; -1 once the board is gone */
    int exit_fd; /* eventfd: written once the board is gone */
    struct fake_faults faults;
    uint64_t rng;
    fake_app_fn *app;
    void *ctx;
    struct frames_nic nic;
    struct frames frames;
    /* host -> device: delayed frames, then the FIFO */
    struct line in_delay;
    struct line fifo;
    uint32_t fifo_words;
    /* device -> host: delayed frames, then QEMU's queue of frames the socket refused */
    struct line out_delay;
    struct line net_queue;
    struct fake_counts counts;
};

/* xorshift64*: deterministic per seed, so a failing run can be repeated. */
static uint32_t rnd(struct fake_dev *d, uint32_t below)
{
    d->rng ^= d->rng >> 12;
    d->rng ^= d->rng << 25;
    d->rng ^= d->rng >> 27;
    return below ? (uint32_t)((d->rng * 2685821657736338717ull) >> 33) % below : 0;
}

static bool chance(struct fake_dev *d, unsigned pct)
{
    return pct && rnd(d, 100) < pct;
}

/* ---- lines ---- */

static struct slot *line_at(struct line *l, unsigned i)
{
    return &l->slots[(l->head + i) % SLOTS];
}

static bool line_push(struct line *l, const void *data, size_t len, int64_t due_ns)
{
    if (l->count == SLOTS || len > FRAME_CAP)
        return false;
    struct slot *s = line_at(l, l->count++);
    s->due_ns = due_ns;
    s->len = len;
    memcpy(s->data, data, len);
    return true;
}

static void line_pop(struct line *l)
{
    l->head = (l->head + 1) % SLOTS;
    l->count--;
}

/* The index of a slot due by now (the first one when the order is kept), or -1. */
static int line_due(struct line *l, int64_t now, bool any)
{
    for (unsigned i = 0; i < l->count; i++) {
        if (line_at(l, i)->due_ns <= now)
            return (int)i;
        if (!any)
            break;
    }
    return -1;
}

/* Removes slot i, keeping the others in order. */
static void line_remove(struct line *l, unsigned i)
{
    for (; i + 1 < l->count; i++)
        *line_at(l, i) = *line_at(l, i + 1);
    l->count--;
}

/* When a held frame should leave: now + a random delay, never before the frame ahead of it
 * unless frames may be reordered. */
static int64_t due_time(struct fake_dev *d, struct line *l, int64_t now)
{
    int64_t due = now + (int64_t)rnd(d, d->faults.delay_max_us + 1) * 1000;
    if (!d->faults.reorder && l->count && line_at(l, l->count - 1)->due_ns > due)
        due = line_at(l, l->count - 1)->due_ns;
    return due;
}

/* The fault injector: drops, duplicates or delays one frame on its way into line l (the
 * delay line ahead of deliver). */
static void inject(struct fake_dev *d, struct line *delay, const void *data, size_t len,
                   void (*deliver)(struct fake_dev *, const void *, size_t))
{
    if (chance(d, d->faults.drop_pct)) {
        d->counts.dropped++;
        return;
    }
    int copies = chance(d, d->faults.dup_pct) ? 2 : 1;
    if (copies == 2)
        d->counts.duplicated++;
    for (int i = 0; i < copies; i++) {
        int64_t now = mono_now_ns();
        bool hold = delay->count > 0 && !d->faults.reorder; /* keep the order behind it */
        if (chance(d, d->faults.delay_pct) || hold) {
            if (!hold)
                d->counts.delayed++;
            if (line_push(delay, data, len, due_time(d, delay, now)))
                continue;
        }
        deliver(d, data, len);
    }
}

/* ---- QEMU's lan9118 RX FIFO ---- */

static void fifo_deliver(struct fake_dev *d, const void *data, size_t len)
{
    uint32_t words = LINK_FRAME_FIFO_WORDS(len);
    /* lan9118_receive(): no room in the status or the data FIFO, and the frame is gone */
    if (d->fifo.count >= LINK_FIFO_FRAMES || d->fifo_words + words > LINK_FIFO_WORDS ||
        len < 14 || len >= 2048) {
        d->counts.overflows += len >= 14 && len < 2048;
        return;
    }
    line_push(&d->fifo, data, len, 0);
    d->fifo_words += words;
    d->counts.to_device++;
    if (d->fifo_words > d->counts.fifo_max_words)
        d->counts.fifo_max_words = d->fifo_words;
    if (d->fifo.count > d->counts.fifo_max_frames)
        d->counts.fifo_max_frames = d->fifo.count;
}

/* ---- QEMU's net queue and the socket ---- */

static void pump(struct fake_dev *d);

/* QEMU's queue holds up to 10000 frames; ours 256, so a flood waits for the socket here
 * instead of losing frames the test counts. */
static void queue_deliver(struct fake_dev *d, const void *data, size_t len)
{
    while (d->net_queue.count == SLOTS) {
        pump(d);
        struct pollfd p = {.fd = d->fd, .events = POLLOUT};
        poll(&p, 1, 10);
    }
    line_push(&d->net_queue, data, len, 0);
    if (d->net_queue.count > d->counts.net_queue_max)
        d->counts.net_queue_max = d->net_queue.count;
}

/* Moves frames along: socket -> injector -> FIFO, delayed frames that are due, and QEMU's
 * queue into the socket as far as it takes them. */
static void pump(struct fake_dev *d)
{
    uint8_t buf[FRAME_CAP];
    for (;;) {
        ssize_t n = recv(d->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0)
            break;
        struct link_frame f;
        if (link_frame_decode(buf, (size_t)n, &f) == 0 && f.type == LINK_FRAME_HELLO_ACK)
            d->counts.hello_acks++;
        inject(d, &d->in_delay, buf, (size_t)n, fifo_deliver);
    }
    int64_t now = mono_now_ns();
    int i;
    while ((i = line_due(&d->in_delay, now, d->faults.reorder)) >= 0) {
        struct slot *s = line_at(&d->in_delay, (unsigned)i);
        fifo_deliver(d, s->data, s->len);
        line_remove(&d->in_delay, (unsigned)i);
    }
    while ((i = line_due(&d->out_delay, now, d->faults.reorder)) >= 0) {
        struct slot *s = line_at(&d->out_delay, (unsigned)i);
        queue_deliver(d, s->data, s->len);
        line_remove(&d->out_delay, (unsigned)i);
    }
    while (d->net_queue.count) {
        struct slot *s = line_at(&d->net_queue, 0);
        if (send(d->fd, s->data, s->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
            break;
        d->counts.to_host++;
        line_pop(&d->net_queue);
    }
}

/* ---- the NIC frames.c sees ---- */

static void nic_send(void *ctx, const uint8_t *frame, size_t len)
{
    struct fake_dev *d = ctx;
    inject(d, &d->out_delay, frame, len, queue_deliver);
    pump(d);
}

static size_t nic_recv(void *ctx, uint8_t *buf, size_t cap)
{
    struct fake_dev *d = ctx;
    pump(d);
    if (chance(d, d->faults.stall_pct))
        fake_dev_busy(d, rnd(d, d->faults.stall_max_us + 1));
    if (d->fifo.count == 0)
        return 0;
    struct slot *s = line_at(&d->fifo, 0);
    size_t n = s->len < cap ? s->len : cap;
    memcpy(buf, s->data, n);
    d->fifo_words -= LINK_FRAME_FIFO_WORDS(s->len);
    line_pop(&d->fifo);
    return n;
}

/* Sleeps until the socket has a frame, a held frame is due, or 10 ms passed. */
static void nic_wait(void *ctx)
{
    struct fake_dev *d = ctx;
    pump(d);
    if (d->fifo.count)
        return;
    int ms = 10;
    if (d->in_delay.count || d->out_delay.count || d->net_queue.count)
        ms = 1;
    struct pollfd p = {.fd = d->fd, .events = POLLIN};
    poll(&p, 1, ms);
}

void fake_dev_busy(struct fake_dev *d, unsigned us)
{
    int64_t end = mono_now_ns() + (int64_t)us * 1000;
    while (mono_now_ns() < end) {
        pump(d);
        struct timespec ts = {0, 100 * 1000};
        nanosleep(&ts, NULL);
    }
}

uint64_t fake_dev_hello_acks(const struct fake_dev *d)
{
    return d->counts.hello_acks;
}

bool fake_dev_await_hello_acks(struct fake_dev *d, uint64_t n, double timeout_s)
{
    double end = mono_now_s() + timeout_s;
    while (d->counts.hello_acks < n && mono_now_s() < end)
        fake_dev_busy(d, 100);
    return d->counts.hello_acks >= n;
}

static void boot(struct fake_dev *d, struct frames *f)
{
    /* the soft reset of link_init (HW_CFG.SRST) empties the FIFO */
    d->fifo.count = 0;
    d->fifo_words = 0;
    uint32_t session = rnd(d, 0xffffffffu) | 1u;
    frames_init(f, &d->nic, session);
    frames_hello(f);
    d->counts.sessions++;
}

void fake_dev_reboot(struct fake_dev *d, struct frames *f)
{
    boot(d, f);
}

void fake_dev_send_raw(struct fake_dev *d, const void *frame, size_t len)
{
    inject(d, &d->out_delay, frame, len, queue_deliver);
    pump(d);
}

static void *dev_main(void *arg)
{
    struct fake_dev *d = arg;
    boot(d, &d->frames);
    d->app(d, &d->frames, d->ctx);
    /* the board is gone: QEMU exits, its queue with it */
    close(d->fd);
    d->fd = -1;
    uint64_t one = 1;
    if (write(d->exit_fd, &one, sizeof one) < 0) {
        /* an eventfd write cannot fail here; nothing to do if it did */
    }
    return NULL;
}

struct fake_dev *fake_dev_start(const struct fake_faults *faults, fake_app_fn *app, void *ctx,
                                int *relay_fd, int *exit_fd)
{
    int sv[2];
    struct fake_dev *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (faults)
        d->faults = *faults;
    d->rng = d->faults.seed ? d->faults.seed : 0x9e3779b97f4a7c15ull;
    d->app = app;
    d->ctx = ctx;
    d->nic = (struct frames_nic){.ctx = d, .send = nic_send, .recv = nic_recv, .wait = nic_wait};
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
        free(d);
        return NULL;
    }
    d->fd = sv[1];
    d->exit_fd = eventfd(0, EFD_CLOEXEC);
    if (d->exit_fd < 0 || pthread_create(&d->thread, NULL, dev_main, d) != 0) {
        close(sv[0]);
        close(sv[1]);
        if (d->exit_fd >= 0)
            close(d->exit_fd);
        free(d);
        return NULL;
    }
    *relay_fd = sv[0];
    *exit_fd = d->exit_fd;
    return d;
}

bool fake_dev_join(struct fake_dev *d, double timeout_s, struct fake_counts *counts)
{
    if (!d)
        return false;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)timeout_s;
    until.tv_nsec += (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    bool ended = pthread_timedjoin_np(d->thread, NULL, &until) == 0;
    if (!ended) {
        /* its loops always come back to nic_wait's poll, a cancellation point */
        pthread_cancel(d->thread);
        pthread_join(d->thread, NULL);
    }
    if (counts)
        *counts = d->counts;
    if (d->fd >= 0)
        close(d->fd);
    close(d->exit_fd);
    free(d);
    return ended;
}
