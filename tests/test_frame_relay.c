/*
 * Unit tests for the LAN9118 link's host side (server/frame_relay.c, server/frame_host.c)
 * together with the firmware's protocol (firmware/link/frames.c, compiled for the host).
 * TEST DOUBLE: the board is tests/support/fake_lan9118.c, a thread running the real frames.c
 * over a model of QEMU's lan9118 RX FIFO and net queue, with a fault injector (drops,
 * duplicates, delays, reordering, a device that stops reading) between it and the relay;
 * QEMU's exit is the double's eventfd. This file plays the session on the stream's other end.
 */
#include "asserts.h"
#include "fake_lan9118.h"
#include "frame_relay.h"
#include "mono.h"
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024u * 1024u)
/* Generous: a loaded 2-core CI host; a passing run takes well under a second per MiB. */
#define TIMEOUT_S 120.0

/* ---- fixtures: a board, its relay, the session's end of the stream ---- */

struct rig {
    struct fake_dev *dev;
    struct frame_relay *relay;
    int stream;
    struct fake_counts counts;
    struct frame_host_stats stats;
};

static void rig_start(struct rig *r, const struct fake_faults *faults, fake_app_fn *app,
                      void *ctx)
{
    memset(r, 0, sizeof *r);
    int relay_fd = -1, exit_fd = -1;
    /* MTQ_FAULT_SEED=N reruns every case with other faults (a stress loop over seeds) */
    struct fake_faults f = {0};
    if (faults)
        f = *faults;
    if (getenv("MTQ_FAULT_SEED"))
        f.seed ^= (uint32_t)strtoul(getenv("MTQ_FAULT_SEED"), NULL, 0);
    r->dev = fake_dev_start(&f, app, ctx, &relay_fd, &exit_fd);
    ASSERT_NOT_NULL_FATAL(r->dev);
    struct err err = {0};
    int rc = frame_relay_start(relay_fd, exit_fd, &r->stream, &r->relay, &err);
    if (rc < 0)
        fprintf(stderr, "frame_relay_start: %s\n", err.msg);
    ASSERT_EQ_FATAL(rc, 0);
}

/* Waits for the board's program to end, stops the relay, keeps both sides' counters. */
static void rig_finish(struct rig *r)
{
    ASSERT_TRUE(fake_dev_join(r->dev, TIMEOUT_S, &r->counts));
    frame_relay_stop(r->relay, &r->stats); /* exact: the relay's last round is counted */
    close(r->stream);
}

/* Bytes that tell their position (a shift, a duplicate or a hole shows), all below 0x80 so
 * a marker starting with 0xff is never taken for one. */
static void fill_pattern(uint8_t *p, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 131u + (i >> 9) * 7u + salt) & 0x7fu);
}

/* The session: writes out_len bytes of out while reading into in until in_len bytes came,
 * EOF, or the timeout. Returns the bytes read; *eof says whether the stream ended. */
static size_t exchange(int fd, const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len,
                       double timeout_s, bool *eof)
{
    size_t sent = 0, got = 0;
    double end = mono_now_s() + timeout_s;
    if (eof)
        *eof = false;
    while ((sent < out_len || got < in_len) && mono_now_s() < end) {
        struct pollfd p = {.fd = fd,
                           .events = (short)((sent < out_len ? POLLOUT : 0) |
                                             (got < in_len ? POLLIN : 0))};
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (p.revents & POLLOUT) {
            ssize_t w = send(fd, out + sent, out_len - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
        }
        if (p.revents & (POLLIN | POLLHUP)) {
            ssize_t n = read(fd, in + got, in_len - got);
            if (n > 0)
                got += (size_t)n;
            if (n == 0) {
                if (eof)
                    *eof = true;
                break;
            }

        }
    }
    return got;
}

/* ---- the boards' programs ---- */

struct app {
    size_t bytes;          /* how many to echo, send or take */
    unsigned salt;         /* of the pattern sent or expected */
    bool flush;            /* flush before the board ends */
    size_t reset_after;    /* echo: reboot after echoing this many (0: never) */
    size_t after_reset;    /* echo after the reboot */
    atomic_size_t written; /* source: bytes handed to frames_write so far */
    size_t mismatches;     /* the board saw a fault: a byte not the pattern (sink), a bad read
                            * (bulk), a HELLO not answered (flood) */
    const uint8_t *junk[16]; /* raw frames the board sends before its work */
    size_t junk_len[16];
    unsigned junk_n;
    const uint8_t *flood;    /* and this one, flood_n times */
    size_t flood_len;
    unsigned flood_n;
    bool hostile;            /* and frames of its own session the host must not believe */
    bool bulk;               /* echo through frames_read, not a byte at a time */
};

/* Frames of the board's own session that break the rules: DATA far beyond the window the
 * host gave, an ack of bytes the host never sent, a report of a frame it never sent. */
static void send_lies(struct fake_dev *d, struct frames *f)
{
    uint8_t buf[LINK_FRAME_HEAD_BYTES + 10] = {0};
    struct link_frame h = {.type = LINK_FRAME_DATA, .len = 10, .session = f->session,
                           .seq = 1u << 20};
    fake_dev_send_raw(d, buf, link_frame_encode(buf, &h, 0));
    h = (struct link_frame){.type = LINK_FRAME_ACK, .session = f->session, .ack = 123456789u};
    fake_dev_send_raw(d, buf, link_frame_encode(buf, &h, 0));
    h = (struct link_frame){.type = LINK_FRAME_ACK, .session = f->session, .fseq = 0x7fffffffu};
    fake_dev_send_raw(d, buf, link_frame_encode(buf, &h, 0));
}

static const char reset_marker[] = "\xff" "RESET\n";

static void echo_bytes(struct frames *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)frames_getc(f);
        frames_write(f, &c, 1);
    }
}

/* As echo_bytes through frames_read, asking for 1, 2, ... 4999 bytes in turn (sizes below,
 * at and beyond a frame's payload and the receive buffer's report point). Each read must
 * give at least one byte and never more than asked. */
static void echo_reads(struct frames *f, size_t n, size_t *bad_reads)
{
    static uint8_t buf[5000];
    size_t want = 0;
    while (n > 0) {
        want = want % (sizeof buf - 1) + 1;
        size_t ask = want < n ? want : n;
        size_t got = frames_read(f, buf, ask);
        if (got == 0 || got > ask) {
            (*bad_reads)++;
            return;
        }
        frames_write(f, buf, got);
        n -= got;
    }
}

static void echo_app(struct fake_dev *d, struct frames *f, void *ctx)
{
    struct app *a = ctx;
    for (unsigned i = 0; i < a->flood_n; i++)
        fake_dev_send_raw(d, a->flood, a->flood_len);
    for (unsigned i = 0; i < a->junk_n; i++)
        fake_dev_send_raw(d, a->junk[i], a->junk_len[i]);
    if (a->hostile)
        send_lies(d, f);
    if (a->reset_after) {
        echo_bytes(f, a->reset_after);
        fake_dev_reboot(d, f); /* what it had not flushed is lost, as on a real reset */
        frames_write(f, reset_marker, sizeof reset_marker - 1);
        frames_flush(f);
        echo_bytes(f, a->after_reset);
    } else if (a->bulk) {
        echo_reads(f, a->bytes, &a->mismatches);
    } else {
        echo_bytes(f, a->bytes);
    }
    if (a->flush)
        frames_flush(f);
}

static void source_app(struct fake_dev *d, struct frames *f, void *ctx)
{
    (void)d;
    struct app *a = ctx;
    uint8_t chunk[1000];
    for (size_t at = 0; at < a->bytes; at += sizeof chunk) {
        size_t n = a->bytes - at < sizeof chunk ? a->bytes - at : sizeof chunk;
        for (size_t i = 0; i < n; i++) {
            size_t k = at + i;
            chunk[i] = (uint8_t)((k * 131u + (k >> 9) * 7u + a->salt) & 0x7fu);
        }
        frames_write(f, chunk, n);
        atomic_store(&a->written, at + n);
    }
    if (a->flush)
        frames_flush(f);
}

static void sink_app(struct fake_dev *d, struct frames *f, void *ctx)
{
    (void)d;
    struct app *a = ctx;
    for (size_t k = 0; k < a->bytes; k++) {
        uint8_t want = (uint8_t)((k * 131u + (k >> 9) * 7u + a->salt) & 0x7fu);
        if ((uint8_t)frames_getc(f) != want)
            a->mismatches++;
    }
    frames_write(f, "OK", 2);
    frames_flush(f);
}

/* ---- checks shared by the tests ---- */

/* What must hold after every run: the relay's accounting never counted more in flight than
 * the FIFO holds, and QEMU's net queue stayed short (the device keeps to the window). */
static void check_bounds(const struct rig *r)
{
    ASSERT_TRUE(r->stats.max_flight_words <= LINK_FIFO_WORDS);
    ASSERT_TRUE(r->stats.max_flight_frames <= LINK_FIFO_FRAMES);
    ASSERT_TRUE(r->counts.fifo_max_words <= LINK_FIFO_WORDS);
    ASSERT_TRUE(r->counts.net_queue_max <= 64);
}

static void run_echo_app(const struct fake_faults *faults, size_t bytes, bool bulk,
                         struct rig *r)
{
    uint8_t *out = malloc(bytes), *in = malloc(bytes);
    ASSERT_NOT_NULL_FATAL(out);
    ASSERT_NOT_NULL_FATAL(in);
    fill_pattern(out, bytes, 5);
    struct app a = {.bytes = bytes, .flush = true, .bulk = bulk};
    rig_start(r, faults, echo_app, &a);
    double t0 = mono_now_s();
    size_t got = exchange(r->stream, out, bytes, in, bytes, TIMEOUT_S, NULL);
    double dt = mono_now_s() - t0;
    ASSERT_EQ(got, bytes);
    ASSERT_TRUE(memcmp(in, out, got) == 0);
    rig_finish(r);
    check_bounds(r);
    ASSERT_EQ(a.mismatches, 0); /* frames_read kept its promise (bulk) */
    fprintf(stderr, "\n    echo %zu B: %.2f s, FIFO max %u words %u frames, overflows %llu, "
            "injected drop %llu dup %llu delay %llu, relay timeouts %llu rewinds %llu "
            "resends %llu dups %llu ooo %llu ",
            bytes, dt, r->counts.fifo_max_words, r->counts.fifo_max_frames,
            (unsigned long long)r->counts.overflows, (unsigned long long)r->counts.dropped,
            (unsigned long long)r->counts.duplicated, (unsigned long long)r->counts.delayed,
            (unsigned long long)r->stats.timeouts, (unsigned long long)r->stats.rewinds,
            (unsigned long long)r->stats.resend_requests,
            (unsigned long long)r->stats.duplicates, (unsigned long long)r->stats.out_of_order);
    free(out);
    free(in);
}

static void run_echo(const struct fake_faults *faults, size_t bytes, struct rig *r)
{
    run_echo_app(faults, bytes, false, r);
}

/* ---- tests ---- */

static void test_1_mib_echoes_byte_exact_both_ways_on_a_clean_link(void)
{
    struct rig r;
    run_echo(NULL, MIB, &r);
    ASSERT_EQ(r.counts.overflows, 0);
    ASSERT_EQ(r.stats.sessions, 1);
    ASSERT_EQ(r.stats.bytes_in, MIB);
    ASSERT_EQ(r.stats.bytes_out, MIB);
}

static void test_1_mib_echoes_byte_exact_through_drops_duplicates_delays_and_reordering(void)
{
    struct fake_faults f = {.drop_pct = 3, .dup_pct = 3, .delay_pct = 5, .delay_max_us = 3000,
                            .reorder = true, .seed = 11};
    struct rig r;
    run_echo(&f, MIB, &r);
    ASSERT_TRUE(r.counts.dropped > 0);
    ASSERT_TRUE(r.counts.duplicated > 0);
    ASSERT_TRUE(r.counts.delayed > 0);
    ASSERT_TRUE(r.stats.rewinds + r.stats.resend_requests > 0); /* it really had to recover */
    ASSERT_TRUE(r.stats.duplicates > 0);
}

static void test_1_mib_echoes_byte_exact_through_reads_of_every_size_with_losses(void)
{
    struct fake_faults f = {.drop_pct = 2, .dup_pct = 2, .delay_pct = 3, .delay_max_us = 2000,
                            .reorder = true, .seed = 23};
    struct rig r;
    run_echo_app(NULL, MIB, true, &r);
    ASSERT_EQ(r.stats.bytes_in, MIB);
    ASSERT_EQ(r.stats.bytes_out, MIB);
    run_echo_app(&f, MIB, true, &r);
    ASSERT_TRUE(r.counts.dropped > 0);
    ASSERT_EQ(r.stats.bytes_in, MIB);
}

static void test_the_window_never_overflows_the_fifo_of_a_device_that_stops_reading(void)
{
    /* drops and in-order delays only: neither puts a frame in the FIFO the host did not count,
     * so the bound must hold exactly; the stalls let QEMU fill the FIFO meanwhile */
    struct fake_faults f = {.drop_pct = 2, .delay_pct = 5, .delay_max_us = 2000,
                            .stall_pct = 2, .stall_max_us = 3000, .seed = 7};
    struct rig r;
    run_echo(&f, MIB, &r);
    ASSERT_EQ(r.counts.overflows, 0);
    /* the window was really used: more than four full frames waited in the FIFO at once */
    ASSERT_TRUE(r.counts.fifo_max_words > 4 * LINK_FRAME_FIFO_WORDS(LINK_FRAME_MAX_BYTES));
    fprintf(stderr, "(FIFO peak %u of %u words) ", r.counts.fifo_max_words, LINK_FIFO_WORDS);
}

static void test_1_mib_goes_each_way_alone_with_losses(void)
{
    struct fake_faults f = {.drop_pct = 2, .dup_pct = 1, .delay_pct = 2, .delay_max_us = 1000,
                            .reorder = true, .seed = 3};
    uint8_t *in = malloc(MIB), *want = malloc(MIB);
    ASSERT_NOT_NULL_FATAL(in);
    ASSERT_NOT_NULL_FATAL(want);

    struct app src = {.bytes = MIB, .salt = 9, .flush = true};
    struct rig r;
    rig_start(&r, &f, source_app, &src);
    bool eof = false;
    size_t got = exchange(r.stream, NULL, 0, in, MIB, TIMEOUT_S, &eof);
    fill_pattern(want, MIB, 9);
    ASSERT_EQ(got, MIB);
    ASSERT_TRUE(memcmp(in, want, got) == 0);
    rig_finish(&r);
    check_bounds(&r);

    struct app sink = {.bytes = MIB, .salt = 4};
    rig_start(&r, &f, sink_app, &sink);
    fill_pattern(want, MIB, 4);
    char ok[3] = {0};
    got = exchange(r.stream, want, MIB, (uint8_t *)ok, 2, TIMEOUT_S, &eof);
    ASSERT_EQ(got, 2);
    ASSERT_STR_EQ(ok, "OK");
    rig_finish(&r);
    ASSERT_EQ(sink.mismatches, 0);
    check_bounds(&r);
    free(in);
    free(want);
}

static void test_a_session_that_does_not_read_stops_the_device_and_loses_nothing(void)
{
    struct app src = {.bytes = 4 * MIB, .salt = 2, .flush = true};
    struct rig r;
    rig_start(&r, NULL, source_app, &src);
    struct timespec pause = {0, 400 * 1000000L};
    nanosleep(&pause, NULL);
    size_t written = atomic_load(&src.written);
    /* what may be in flight: the relay's buffer, the stream socket's, the device's */
    ASSERT_TRUE(written < 512 * 1024);
    ASSERT_TRUE(written > 0);
    fprintf(stderr, "(device stopped after %zu B) ", written);
    uint8_t *in = malloc(4 * MIB), *want = malloc(4 * MIB);
    ASSERT_NOT_NULL_FATAL(in);
    ASSERT_NOT_NULL_FATAL(want);
    size_t got = exchange(r.stream, NULL, 0, in, 4 * MIB, TIMEOUT_S, NULL);
    fill_pattern(want, 4 * MIB, 2);
    ASSERT_EQ(got, 4 * MIB);
    ASSERT_TRUE(memcmp(in, want, got) == 0);
    rig_finish(&r);
    check_bounds(&r);
    ASSERT_EQ(r.counts.overflows, 0);
    free(in);
    free(want);
}

/* The board reboots with its own output and our acks in flight and our data queued: the
 * stream holds a prefix of the old echo, then the new session's marker, then its echo. */
static void hello_resets(const struct fake_faults *f)
{
    const size_t old_len = 64 * 1024, new_len = 16 * 1024;
    uint8_t *old = malloc(old_len), *fresh = malloc(new_len), *in = malloc(old_len + 64 + new_len);
    ASSERT_NOT_NULL_FATAL(in);
    fill_pattern(old, old_len, 1);
    fill_pattern(fresh, new_len, 8);
    struct app a = {.reset_after = 40 * 1024, .after_reset = new_len, .flush = true};
    struct rig r;
    rig_start(&r, f, echo_app, &a);
    /* everything before the marker: a prefix of what we sent */
    size_t got = exchange(r.stream, old, old_len, in, 1, TIMEOUT_S, NULL);
    size_t marker_at = (size_t)-1, scanned = 0;
    size_t m = sizeof reset_marker - 1;
    double end = mono_now_s() + TIMEOUT_S;
    while (marker_at == (size_t)-1 && mono_now_s() < end) {
        for (; scanned < got && marker_at == (size_t)-1; scanned++)
            if (in[scanned] != old[scanned])
                marker_at = scanned;
        if (marker_at == (size_t)-1)
            got += exchange(r.stream, NULL, 0, in + got, old_len - got, 0.2, NULL);
    }
    ASSERT_TRUE_FATAL(marker_at != (size_t)-1);
    ASSERT_TRUE(marker_at <= 40 * 1024);
    got += exchange(r.stream, NULL, 0, in + got, marker_at + m - got, TIMEOUT_S, NULL);
    ASSERT_TRUE(memcmp(in + marker_at, reset_marker, m) == 0);
    /* the new session: our 64 KiB of the old one are gone, the new bytes echo exactly */
    size_t back = exchange(r.stream, fresh, new_len, in, new_len, TIMEOUT_S, NULL);
    ASSERT_EQ(back, new_len);
    ASSERT_TRUE(memcmp(in, fresh, new_len) == 0);
    rig_finish(&r);
    ASSERT_EQ(r.stats.sessions, 2);
    ASSERT_EQ(r.counts.sessions, 2);
    check_bounds(&r);
    fprintf(stderr, "(old echo cut at %zu B) ", marker_at);
    free(old);
    free(fresh);
    free(in);
}

static void test_a_hello_mid_stream_starts_a_new_session(void)
{
    hello_resets(NULL);
}

static void test_a_hello_mid_stream_starts_a_new_session_through_losses(void)
{
    struct fake_faults f = {.drop_pct = 3, .dup_pct = 2, .delay_pct = 3, .delay_max_us = 2000,
                            .reorder = true, .seed = 5};
    hello_resets(&f);
}

static void test_when_the_board_dies_the_stream_ends_after_its_last_byte(void)
{
    /* flushed before dying: all of it arrives, then EOF */
    struct app src = {.bytes = 200 * 1024, .salt = 6, .flush = true};
    struct rig r;
    rig_start(&r, NULL, source_app, &src);
    uint8_t *in = malloc(300 * 1024), *want = malloc(200 * 1024);
    ASSERT_NOT_NULL_FATAL(in);
    ASSERT_NOT_NULL_FATAL(want);
    bool eof = false;
    size_t got = exchange(r.stream, NULL, 0, in, 300 * 1024, TIMEOUT_S, &eof);
    fill_pattern(want, 200 * 1024, 6);
    ASSERT_TRUE(eof);
    ASSERT_EQ(got, 200 * 1024);
    ASSERT_TRUE(memcmp(in, want, got) == 0);
    double end = mono_now_s() + 5;
    while (!frame_relay_ended(r.relay) && mono_now_s() < end)
        usleep(1000);
    ASSERT_TRUE(frame_relay_ended(r.relay));
    rig_finish(&r);

    /* not flushed: whatever arrives is a prefix, then EOF */
    struct app quick = {.bytes = 50 * 1024, .salt = 6, .flush = false};
    rig_start(&r, NULL, source_app, &quick);
    got = exchange(r.stream, NULL, 0, in, 300 * 1024, TIMEOUT_S, &eof);
    ASSERT_TRUE(eof);
    ASSERT_TRUE(got <= 50 * 1024);
    ASSERT_TRUE(memcmp(in, want, got) == 0);
    rig_finish(&r);
    free(in);
    free(want);
}

static void test_frames_a_hostile_guest_sends_are_dropped_and_the_link_keeps_working(void)
{
    static uint8_t junk[12][2100];
    size_t len[12];
    const struct link_frame ok = {.type = LINK_FRAME_ACK, .session = 1};
    for (int i = 0; i < 12; i++) {
        memset(junk[i], 0xa5, sizeof junk[i]);
        len[i] = link_frame_encode(junk[i], &ok, 0);
    }
    len[0] = 0;                            /* empty */
    len[1] = 5;                            /* shorter than an Ethernet header */
    len[2] = 2047;                         /* the longest the lan9118 sends, not ours */
    junk[3][12] = 0x08, junk[3][13] = 0x00; /* IPv4 */
    junk[4][14] = 9;                       /* unknown type */
    junk[5][16] = 7;                       /* a length that is not the payload's */
    junk[6][14] = LINK_FRAME_HELLO_ACK;    /* the host's frame, from the device */
    junk[7][15] = 0x80;                    /* unknown flag */
    len[8] = LINK_FRAME_MAX_BYTES + 1;     /* one byte too many */
    junk[8][16] = (uint8_t)(LINK_FRAME_PAYLOAD_MAX + 1);
    junk[8][17] = (uint8_t)((LINK_FRAME_PAYLOAD_MAX + 1) >> 8);
    junk[9][14] = LINK_FRAME_ACK;          /* a report of a host frame never sent, session 1 */
    link_frame_put32(junk[9] + 34, 0x7fffffffu);
    junk[10][14] = LINK_FRAME_ACK;         /* an ack of bytes never sent */
    link_frame_put32(junk[10] + 26, 123456789u);
    junk[11][14] = LINK_FRAME_HELLO;       /* session 0: never valid */
    link_frame_put32(junk[11] + 18, 0);
    struct app a = {.bytes = 128 * 1024, .flush = true, .junk_n = 12, .flood = junk[3],
                    .flood_len = len[3], .flood_n = 20000, .hostile = true};
    for (int i = 0; i < 12; i++) {
        a.junk[i] = junk[i];
        a.junk_len[i] = len[i];
    }
    struct rig r;
    uint8_t *out = malloc(a.bytes), *in = malloc(a.bytes);
    ASSERT_NOT_NULL_FATAL(in);
    fill_pattern(out, a.bytes, 3);
    rig_start(&r, NULL, echo_app, &a);
    size_t got = exchange(r.stream, out, a.bytes, in, a.bytes, TIMEOUT_S, NULL);
    ASSERT_EQ(got, a.bytes);
    ASSERT_TRUE(memcmp(in, out, got) == 0);
    rig_finish(&r);
    /* not check_bounds: the flood itself is what fills QEMU's queue here */
    ASSERT_TRUE(r.stats.max_flight_words <= LINK_FIFO_WORDS);
    ASSERT_TRUE(r.stats.malformed >= 20000 + 9);
    ASSERT_TRUE(r.stats.stale >= 1);
    ASSERT_TRUE(r.stats.beyond_window >= 1);
    ASSERT_EQ(r.stats.sessions, 1);
    free(out);
    free(in);
}

/* 300 HELLOs of new sessions, never reading: each is answered beyond the window, so the
 * record of frames in flight fills; the board's next real boot must still be answered. */
static void hello_flood_app(struct fake_dev *d, struct frames *f, void *ctx)
{
    struct app *a = ctx;
    uint8_t buf[LINK_FRAME_HEAD_BYTES];
    for (uint32_t i = 0; i < 300; i++) {
        struct link_frame h = {.type = LINK_FRAME_HELLO, .session = 0x10000u + i};
        uint64_t answered = fake_dev_hello_acks(d);
        fake_dev_send_raw(d, buf, link_frame_encode(buf, &h, 0));
        /* one at a time, so that each gets its own answer (two in one of the relay's rounds
         * would share one) */
        if (!fake_dev_await_hello_acks(d, answered + 1, TIMEOUT_S))
            a->mismatches++;
    }
    fake_dev_reboot(d, f);
    frames_write(f, "READY\n", 6);
    echo_bytes(f, 16 * 1024);
    frames_flush(f);
}

static void test_a_guest_saying_hello_without_end_still_gets_its_next_boot_answered(void)
{
    struct app a = {0};
    struct rig r;
    rig_start(&r, NULL, hello_flood_app, &a);
    uint8_t out[16 * 1024], in[16 * 1024];
    fill_pattern(out, sizeof out, 4);
    /* what we write before the reboot would go to a session the HELLOs end: wait for it */
    ASSERT_EQ(exchange(r.stream, NULL, 0, in, 6, TIMEOUT_S, NULL), 6);
    ASSERT_TRUE(memcmp(in, "READY\n", 6) == 0);
    size_t got = exchange(r.stream, out, sizeof out, in, sizeof in, TIMEOUT_S, NULL);
    ASSERT_EQ(got, sizeof in);
    ASSERT_TRUE(memcmp(in, out, got) == 0);
    rig_finish(&r);
    ASSERT_EQ(a.mismatches, 0);         /* every HELLO of the flood was answered */
    ASSERT_EQ(r.stats.sessions, 302); /* the first boot, 300 HELLOs, the reboot */
    ASSERT_EQ(r.stats.max_flight_frames, FRAME_HOST_FLIGHTS); /* it did fill */
}

static void test_nothing_is_sent_before_the_board_says_hello(void)
{
    int sv[2];
    ASSERT_EQ_FATAL(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    struct frame_relay *relay = NULL;
    int stream = -1;
    struct err err = {0};
    ASSERT_EQ_FATAL(frame_relay_start(sv[0], -1, &stream, &relay, &err), 0);
    ASSERT_EQ(write(stream, "early", 5), 5);
    struct pollfd p = {.fd = sv[1], .events = POLLIN};
    ASSERT_EQ(poll(&p, 1, 300), 0); /* no frame: no session to send it in */
    struct frame_host_stats st;
    double t0 = mono_now_s();
    frame_relay_stop(relay, &st);
    ASSERT_TRUE(mono_now_s() - t0 < 1.0);
    ASSERT_EQ(st.frames_out, 0); /* nor did it try, up to the stop */
    close(stream);
    close(sv[1]);
}

static void test_stop_ends_the_relay_at_once_while_data_waits(void)
{
    struct app src = {.bytes = 8 * MIB, .salt = 1, .flush = false};
    struct rig r;
    rig_start(&r, NULL, source_app, &src);
    usleep(200 * 1000); /* the session reads nothing: everything is backed up */
    double t0 = mono_now_s();
    frame_relay_stop(r.relay, NULL);
    ASSERT_TRUE(mono_now_s() - t0 < 1.0);
    /* the board's program cannot finish now: the double ends it */
    close(r.stream);
    ASSERT_FALSE(fake_dev_join(r.dev, 0.1, NULL));
}

static void test_a_bad_datagram_fd_is_refused_with_its_number(void)
{
    struct frame_relay *relay = NULL;
    int stream = -1;
    struct err err = {0};
    int rc = frame_relay_start(-1, -1, &stream, &relay, &err);
    ASSERT_EQ(rc, -EBADF);
    ASSERT_STR_CONTAINS(err.msg, "datagram socket (fd -1)");
    ASSERT_NULL(relay);
    frame_relay_stop(NULL, NULL);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("frame_relay", NULL, NULL);
    CU_ADD_TEST(s, test_1_mib_echoes_byte_exact_both_ways_on_a_clean_link);
    CU_ADD_TEST(s, test_1_mib_echoes_byte_exact_through_drops_duplicates_delays_and_reordering);
    CU_ADD_TEST(s, test_1_mib_echoes_byte_exact_through_reads_of_every_size_with_losses);
    CU_ADD_TEST(s, test_the_window_never_overflows_the_fifo_of_a_device_that_stops_reading);
    CU_ADD_TEST(s, test_1_mib_goes_each_way_alone_with_losses);
    CU_ADD_TEST(s, test_a_session_that_does_not_read_stops_the_device_and_loses_nothing);
    CU_ADD_TEST(s, test_a_hello_mid_stream_starts_a_new_session);
    CU_ADD_TEST(s, test_a_hello_mid_stream_starts_a_new_session_through_losses);
    CU_ADD_TEST(s, test_when_the_board_dies_the_stream_ends_after_its_last_byte);
    CU_ADD_TEST(s, test_frames_a_hostile_guest_sends_are_dropped_and_the_link_keeps_working);
    CU_ADD_TEST(s, test_a_guest_saying_hello_without_end_still_gets_its_next_boot_answered);
    CU_ADD_TEST(s, test_nothing_is_sent_before_the_board_says_hello);
    CU_ADD_TEST(s, test_stop_ends_the_relay_at_once_while_data_waits);
    CU_ADD_TEST(s, test_a_bad_datagram_fd_is_refused_with_its_number);
    return TEST_RUN;
}
