/*
 * Unit tests for the server's transport (server/transport.c, board_lock.c, and flash.c's checks
 * that need no QEMU). TEST DOUBLE: instead of QEMU, the "board" is a pty pair from
 * emulator/uart_pty (the link gets the master, as it gets QEMU's UART) whose slave end is played
 * by this file, optionally by an echo thread that behaves like the echo firmware (it stops
 * reading while its own output is not drained); QEMU's exit is a pipe whose read end stands in
 * for the pidfd. Covers read/write/timeout/closed semantics, the receive buffer that keeps a
 * large write from deadlocking, the stop flag, the board lock, and session errors.
 */
#include "e2e_rpc.h"
#include "session_internal.h"

#include "asserts.h"
#include "fs.h"
#include "runner.h"
#include "server.h"
#include "uart_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- the test double: a board on a pty, its "QEMU exit" a pipe ---- */

struct fake {
    struct pty pty;
    int exit_pipe[2];     /* write a byte to [1]: "QEMU exited" */
    struct sess__link link;
    pthread_t echo;
    bool echoing;
    atomic_bool stop_echo;
};

static void fake_open(struct fake *f, size_t rx_max)
{
    struct err err = {0};
    memset(f, 0, sizeof *f);
    ASSERT_OK_FATAL(pty_open(&f->pty, &err), &err);
    ASSERT_EQ_FATAL(pipe2(f->exit_pipe, O_CLOEXEC), 0);
    sess__link_init(&f->link, rx_max);
    f->link.fd = f->pty.master;
    f->link.exit_fd = f->exit_pipe[0];
}

/* The echo firmware's behaviour: read a chunk, send it back with blocking writes. While its
 * output is not drained the write blocks and it stops reading: the deadlock the receive buffer
 * must prevent. */
static void *echo_main(void *arg)
{
    struct fake *f = arg;
    unsigned char buf[256];
    while (!atomic_load(&f->stop_echo)) {
        struct pollfd p = {.fd = f->pty.slave, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        ssize_t r = read(f->pty.slave, buf, sizeof buf);
        if (r <= 0)
            continue;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(f->pty.slave, buf + off, (size_t)(r - off));
            if (w > 0)
                off += w;
            else if (atomic_load(&f->stop_echo))
                return NULL;
        }
    }
    return NULL;
}

static void fake_start_echo(struct fake *f)
{
    atomic_store(&f->stop_echo, false);
    ASSERT_EQ_FATAL(pthread_create(&f->echo, NULL, echo_main, f), 0);
    f->echoing = true;
}

static void fake_close(struct fake *f)
{
    if (f->echoing) {
        atomic_store(&f->stop_echo, true);
        /* unblock a write stuck on a full pty by draining the master */
        unsigned char sink[4096];
        for (int i = 0; i < 200 && pthread_tryjoin_np(f->echo, NULL) != 0; i++) {
            while (read(f->pty.master, sink, sizeof sink) > 0)
                ;
            usleep(5000);
        }
        f->echoing = false;
    }
    sess__link_close(&f->link);
    pty_close(&f->pty);
    close(f->exit_pipe[0]);
    close(f->exit_pipe[1]);
}

/* The board "sends" bytes (writes to the slave). */
static void board_says(struct fake *f, const void *data, size_t n)
{
    ASSERT_EQ(write(f->pty.slave, data, n), (ssize_t)n);
    usleep(2000); /* let the pty move them to the master's side */
}

static void board_dies(struct fake *f)
{
    ASSERT_EQ(write(f->exit_pipe[1], "x", 1), 1);
}

/* ---- receive buffer ---- */

static void test_rx_buffer_hands_out_bytes_in_order_and_grows_past_its_first_size(void)
{
    struct sess__rx rx;
    struct err err = {0};
    int p[2];
    ASSERT_EQ_FATAL(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    sess__rx_init(&rx, 0);
    ASSERT_EQ(rx.max, SESS_RX_MAX);
    size_t total = SESS_RX_INITIAL + 10000;
    uint8_t *src = malloc(total), *dst = malloc(total);
    ASSERT_TRUE_FATAL(src != NULL && dst != NULL);
    for (size_t i = 0; i < total; i++)
        src[i] = (uint8_t)(i * 7 + i / 251);
    size_t written = 0;
    while (written < total) {
        ssize_t w = write(p[1], src + written, total - written);
        if (w > 0)
            written += (size_t)w;
        while (sess__rx_fill(&rx, p[0], &err) > 0)
            ;
    }
    ASSERT_EQ(sess__rx_len(&rx), total);
    ASSERT_TRUE(rx.cap >= total && rx.cap <= 4 * total);
    size_t got = 0;
    while (got < total) { /* odd sizes, to cross every boundary */
        size_t k = sess__rx_take(&rx, dst + got, 997);
        ASSERT_GT_FATAL(k, 0);
        got += k;
    }
    ASSERT_EQ(memcmp(src, dst, total), 0);
    ASSERT_EQ(sess__rx_len(&rx), 0);
    ASSERT_OK(sess__rx_fill(&rx, p[0], &err), &err); /* empty pipe: nothing, no error */
    close(p[1]);
    ASSERT_EQ(sess__rx_fill(&rx, p[0], &err), ERR_CLOSED); /* EOF */
    sess__rx_close(&rx);
    sess__rx_close(&rx); /* twice is fine */
    sess__rx_close(NULL);
    close(p[0]);
    free(src);
    free(dst);
}

static void test_rx_buffer_refuses_more_than_its_bound_with_a_clear_error(void)
{
    struct sess__rx rx;
    struct err err = {0};
    int p[2];
    ASSERT_EQ_FATAL(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    sess__rx_init(&rx, SESS_RX_INITIAL); /* a 64 KiB bound instead of 64 MiB */
    uint8_t chunk[8192];
    memset(chunk, 0xab, sizeof chunk);
    ssize_t f = 0;
    for (int i = 0; i < 20 && f >= 0; i++) {
        if (write(p[1], chunk, sizeof chunk) < 0)
            break;
        while ((f = sess__rx_fill(&rx, p[0], &err)) > 0)
            ;
    }
    ASSERT_EQ(f, ERR_STATE);
    ASSERT_EQ(err.code, ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "more than 65536 bytes that nobody read");
    ASSERT_EQ(sess__rx_len(&rx), SESS_RX_INITIAL);
    sess__rx_close(&rx);
    close(p[0]);
    close(p[1]);
}

static void test_rx_find_looks_only_from_the_given_index(void)
{
    struct sess__rx rx;
    int p[2];
    ASSERT_EQ_FATAL(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    sess__rx_init(&rx, 0);
    ASSERT_EQ(sess__rx_find(&rx, 0, "\n"), -1);
    ASSERT_EQ(write(p[1], "ab\ncd\n", 6), 6);
    ASSERT_EQ(sess__rx_fill(&rx, p[0], NULL), 6);
    ASSERT_EQ(sess__rx_find(&rx, 0, "\n"), 2);
    ASSERT_EQ(sess__rx_find(&rx, 3, "\n"), 5);
    ASSERT_EQ(sess__rx_find(&rx, 6, "\n"), -1);
    sess__rx_close(&rx);
    close(p[0]);
    close(p[1]);
}

static void test_rx_cut_takes_out_a_range_and_keeps_the_rest_in_order(void)
{
    struct sess__rx rx;
    int p[2];
    ASSERT_EQ_FATAL(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    sess__rx_init(&rx, 0);
    ASSERT_EQ(write(p[1], "banner\nMARK\nrest", 17), 17);
    ASSERT_EQ(sess__rx_fill(&rx, p[0], NULL), 17);
    uint8_t one;
    ASSERT_EQ(sess__rx_take(&rx, &one, 1), 1); /* a head that is not 0 */
    sess__rx_cut(&rx, 6, 5);
    ASSERT_EQ(sess__rx_len(&rx), 11);
    uint8_t out[32];
    ASSERT_EQ(sess__rx_take(&rx, out, sizeof out), 11);
    ASSERT_EQ(memcmp(out, "anner\nrest", 10), 0);
    sess__rx_cut(&rx, 0, 3); /* on an empty buffer, and past the end: nothing happens */
    ASSERT_EQ(sess__rx_len(&rx), 0);
    sess__rx_close(&rx);
    close(p[0]);
    close(p[1]);
}

/* ---- reading ---- */

static void test_read_returns_what_is_there_at_once_up_to_n(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    board_says(&f, "hello", 5);
    uint8_t buf[64];
    size_t got = 0;
    ASSERT_OK(sess__link_read(&f.link, buf, 3, -1, &got, &err), &err);
    ASSERT_EQ(got, 3);
    ASSERT_EQ(memcmp(buf, "hel", 3), 0);
    double t0 = mono_now_s();
    ASSERT_OK(sess__link_read(&f.link, buf, sizeof buf, 5.0, &got, &err), &err);
    ASSERT_LT(mono_now_s() - t0, 0.5); /* partial reads do not wait for n */
    ASSERT_EQ(got, 2);
    ASSERT_EQ(memcmp(buf, "lo", 2), 0);
    fake_close(&f);
}

static void test_read_with_timeout_zero_polls_once_and_reports_a_timeout(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    uint8_t buf[8];
    size_t got = 99;
    double t0 = mono_now_s();
    ASSERT_EQ(sess__link_read(&f.link, buf, sizeof buf, 0, &got, &err), ERR_TIMEOUT);
    ASSERT_LT(mono_now_s() - t0, 0.02);
    ASSERT_EQ(got, 0);
    ASSERT_STR_CONTAINS(err.msg, "no data from the board within 0 s");
    fake_close(&f);
}

static void test_read_with_a_timeout_waits_that_long_and_no_longer(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    uint8_t buf[8];
    size_t got = 0;
    double t0 = mono_now_s();
    ASSERT_EQ(sess__link_read(&f.link, buf, sizeof buf, 0.2, &got, &err), ERR_TIMEOUT);
    double took = mono_now_s() - t0;
    ASSERT_GE(took, 0.199);
    ASSERT_LT(took, 0.35);
    fake_close(&f);
}

struct later {
    int fd;
    int delay_ms;
    const char *text;
};

static void *write_later(void *arg)
{
    struct later *l = arg;
    usleep((useconds_t)l->delay_ms * 1000u);
    ssize_t w = write(l->fd, l->text, strlen(l->text));
    (void)w;
    return NULL;
}

static void test_read_without_a_timeout_blocks_until_data_arrives(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    struct later l = {f.pty.slave, 150, "z"};
    pthread_t t;
    ASSERT_EQ_FATAL(pthread_create(&t, NULL, write_later, &l), 0);
    uint8_t buf[8];
    size_t got = 0;
    double t0 = mono_now_s();
    ASSERT_OK(sess__link_read(&f.link, buf, sizeof buf, -1, &got, &err), &err);
    ASSERT_GE(mono_now_s() - t0, 0.14);
    ASSERT_EQ(got, 1);
    ASSERT_EQ(buf[0], 'z');
    pthread_join(t, NULL);
    fake_close(&f);
}

static void test_read_serves_the_receive_buffer_before_the_device(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    board_says(&f, "first", 5);
    ASSERT_EQ(sess__rx_fill(&f.link.rx, f.link.fd, &err), 5);
    board_says(&f, "second", 6);
    uint8_t buf[64];
    size_t got = 0;
    ASSERT_OK(sess__link_read(&f.link, buf, sizeof buf, 1.0, &got, &err), &err);
    /* the buffered bytes, then what the device had, in order, in one call */
    ASSERT_EQ(got, 11);
    ASSERT_EQ(memcmp(buf, "firstsecond", 11), 0);
    fake_close(&f);
}

static void test_read_before_open_or_after_close_is_transport_closed(void)
{
    struct sess__link l;
    struct err err = {0};
    sess__link_init(&l, 0);
    uint8_t buf[4];
    size_t got = 0;
    ASSERT_EQ(sess__link_read(&l, buf, sizeof buf, 0, &got, &err), ERR_CLOSED);
    ASSERT_STR_EQ(err.msg, "the transport is not open");
    ASSERT_EQ(sess__link_write(&l, buf, 1, 0, &err), ERR_CLOSED);
    sess__link_close(&l);
}

static void test_a_board_that_exits_hands_over_its_last_bytes_then_closed(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    board_says(&f, "bye", 3);
    board_dies(&f);
    uint8_t buf[64];
    size_t got = 0;
    ASSERT_OK(sess__link_read(&f.link, buf, sizeof buf, -1, &got, &err), &err);
    ASSERT_EQ(got, 3);
    ASSERT_FALSE(f.link.dead);
    double t0 = mono_now_s();
    ASSERT_EQ(sess__link_read(&f.link, buf, sizeof buf, -1, &got, &err), ERR_CLOSED);
    ASSERT_LT(mono_now_s() - t0, 0.1); /* a blocking read does not hang on a dead board */
    ASSERT_TRUE(f.link.dead);
    ASSERT_STR_CONTAINS(err.msg, "gone");
    ASSERT_EQ(sess__link_read(&f.link, buf, sizeof buf, 0, &got, &err), ERR_CLOSED);
    ASSERT_EQ(sess__link_write(&f.link, buf, 1, 0, &err), ERR_CLOSED);
    fake_close(&f);
}

static atomic_bool gone_flag;

static bool fake_gone(void *ctx)
{
    (void)ctx;
    return atomic_load(&gone_flag);
}

static void test_without_an_exit_fd_the_gone_callback_ends_a_blocking_read(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    f.link.exit_fd = -1;
    f.link.gone = fake_gone;
    atomic_store(&gone_flag, false);
    uint8_t buf[8];
    size_t got = 0;
    ASSERT_EQ(sess__link_read(&f.link, buf, sizeof buf, 0.12, &got, &err), ERR_TIMEOUT);
    atomic_store(&gone_flag, true);
    double t0 = mono_now_s();
    ASSERT_EQ(sess__link_read(&f.link, buf, sizeof buf, -1, &got, &err), ERR_CLOSED);
    ASSERT_LT(mono_now_s() - t0, 0.2);
    fake_close(&f);
}

/* ---- the stop flag ---- */

static volatile sig_atomic_t stop_flag;

static void on_term(int sig)
{
    stop_flag = sig;
}

struct signaller {
    pthread_t target;
    int delay_ms;
};

static void *signal_later(void *arg)
{
    struct signaller *s = arg;
    usleep((useconds_t)s->delay_ms * 1000u);
    pthread_kill(s->target, SIGTERM);
    return NULL;
}

static void test_a_stop_signal_ends_a_blocking_read_promptly(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old);
    stop_flag = 0;
    f.link.stop = &stop_flag;
    struct signaller s = {pthread_self(), 100};
    pthread_t t;
    ASSERT_EQ_FATAL(pthread_create(&t, NULL, signal_later, &s), 0);
    uint8_t buf[8];
    size_t got = 0;
    double t0 = mono_now_s();
    ASSERT_EQ(sess__link_read(&f.link, buf, sizeof buf, 10.0, &got, &err), ERR_CLOSED);
    ASSERT_LT(mono_now_s() - t0, 2.0);
    ASSERT_STR_CONTAINS(err.msg, "the server is stopping");
    ASSERT_FALSE(f.link.dead); /* the board itself is fine */
    pthread_join(t, NULL);
    /* already set: returns without waiting at all */
    ASSERT_EQ(sess__link_read(&f.link, buf, sizeof buf, -1, &got, &err), ERR_CLOSED);
    sigaction(SIGTERM, &old, NULL);
    fake_close(&f);
}

/* ---- writing ---- */

static void test_a_large_write_to_an_echoing_board_completes_and_every_byte_comes_back(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    fake_start_echo(&f);
    size_t n = 1u << 20; /* far more than the pty buffers in both directions */
    uint8_t *out = malloc(n), *in = malloc(n);
    ASSERT_TRUE_FATAL(out != NULL && in != NULL);
    ASSERT_EQ_FATAL(getrandom(out, n, 0), (ssize_t)n);
    /* nobody reads during the write: without the receive buffer this deadlocks (timeout) */
    int rc = sess__link_write(&f.link, out, n, 20.0, &err);
    if (rc < 0)
        fprintf(stderr, "\n    write: %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_GT(sess__rx_len(&f.link.rx), 0);
    size_t got = 0;
    while (got < n) {
        size_t k = 0;
        rc = sess__link_read(&f.link, in + got, n - got, 5.0, &k, &err);
        if (rc < 0)
            break;
        got += k;
    }
    ASSERT_EQ(got, n);
    ASSERT_EQ(memcmp(in, out, n), 0);
    fake_close(&f);
    free(out);
    free(in);
}

static void test_a_write_that_would_overflow_the_receive_buffer_fails_clearly(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, SESS_RX_INITIAL);
    fake_start_echo(&f);
    size_t n = 1u << 20;
    uint8_t *out = calloc(1, n);
    ASSERT_NOT_NULL_FATAL(out);
    ASSERT_EQ(sess__link_write(&f.link, out, n, 20.0, &err), ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "nobody read");
    ASSERT_STR_CONTAINS(err.msg, "read_transport");
    fake_close(&f);
    free(out);
}

static void test_a_write_the_board_does_not_take_times_out_saying_how_much_went(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0); /* no echo thread: nobody reads the slave */
    size_t n = 1u << 20;
    uint8_t *out = calloc(1, n);
    ASSERT_NOT_NULL_FATAL(out);
    double t0 = mono_now_s();
    ASSERT_EQ(sess__link_write(&f.link, out, n, 0.2, &err), ERR_TIMEOUT);
    double took = mono_now_s() - t0;
    ASSERT_TRUE(took >= 0.19 && took < 0.5);
    ASSERT_STR_CONTAINS(err.msg, "of 1048576 bytes within 0.2 s");
    fake_close(&f);
    free(out);
}

static void test_a_write_to_a_board_that_exited_is_transport_closed(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    board_says(&f, "last", 4);
    board_dies(&f);
    ASSERT_EQ(sess__link_write(&f.link, (const uint8_t *)"x", 1, 1.0, &err), ERR_CLOSED);
    ASSERT_TRUE(f.link.dead);
    /* what it said before it died is still there for read */
    uint8_t buf[8];
    size_t got = 0;
    ASSERT_OK(sess__link_read(&f.link, buf, sizeof buf, 0, &got, &err), &err);
    ASSERT_EQ(got, 4);
    ASSERT_EQ(memcmp(buf, "last", 4), 0);
    ASSERT_EQ(sess__link_read(&f.link, buf, sizeof buf, 0, &got, &err), ERR_CLOSED);
    fake_close(&f);
}

/* ---- lines (the banner) ---- */

static void test_wait_line_keeps_the_line_and_what_follows_in_the_buffer(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    struct later l = {f.pty.slave, 50, "ner\nX"};
    board_says(&f, "#ban", 4);
    pthread_t t;
    ASSERT_EQ_FATAL(pthread_create(&t, NULL, write_later, &l), 0);
    ASSERT_EQ(sess__link_wait_for(&f.link, 0, "\n", 256, 2.0, &err), 8);
    pthread_join(t, NULL);
    usleep(5000);
    uint8_t buf[64];
    size_t got = 0, all = 0;
    while (all < 9 && sess__link_read(&f.link, buf + all, sizeof buf - all, 0.5, &got,
                                      &err) == 0)
        all += got;
    ASSERT_EQ(all, 9);
    ASSERT_EQ(memcmp(buf, "#banner\nX", 9), 0);
    fake_close(&f);
}

/* The fast link's link-up line follows the banner in the receive buffer: the wait looks for a
 * newline after it only, and the limit counts from the buffer's start. */
static void test_wait_for_from_an_index_ignores_the_lines_before_it(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    board_says(&f, "#banner\n", 8);
    ASSERT_EQ(sess__link_wait_for(&f.link, 0, "\n", 256, 1.0, &err), 8);
    ASSERT_EQ(sess__link_wait_for(&f.link, 8, "\n", 8 + 256, 0.1, &err), ERR_TIMEOUT);
    board_says(&f, "#up", 3);
    ASSERT_EQ(sess__link_wait_for(&f.link, 8, "\n", 8 + 256, 0.1, &err), ERR_TIMEOUT);
    board_says(&f, "\nX", 2);
    ASSERT_EQ(sess__link_wait_for(&f.link, 8, "\n", 8 + 256, 1.0, &err), 12);
    ASSERT_EQ(sess__rx_find(&f.link.rx, 8, "\n"), 11);
    ASSERT_EQ(sess__rx_len(&f.link.rx), 13);
    ASSERT_EQ(sess__link_wait_for(&f.link, 12, "\n", 20, 0.5, &err), ERR_TIMEOUT);
    char junk[16];
    memset(junk, 'j', sizeof junk);
    board_says(&f, junk, sizeof junk);
    ASSERT_EQ(sess__link_wait_for(&f.link, 12, "\n", 20, 1.0, &err), ERR_INVALID);
    fake_close(&f);
}

static void test_wait_line_times_out_and_refuses_endless_lines(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    board_says(&f, "no newline", 10);
    ASSERT_EQ(sess__link_wait_for(&f.link, 0, "\n", 256, 0.1, &err), ERR_TIMEOUT);
    char junk[300];
    memset(junk, 'j', sizeof junk);
    board_says(&f, junk, sizeof junk);
    ASSERT_EQ(sess__link_wait_for(&f.link, 0, "\n", 256, 1.0, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "without a newline");
    board_dies(&f);
    sess__rx_close(&f.link.rx);
    ASSERT_EQ(sess__link_wait_for(&f.link, 0, "\n", 256, 1.0, &err), ERR_CLOSED);
    ASSERT_TRUE(f.link.dead);
    fake_close(&f);
}

static void test_wait_for_finds_a_delimiter_split_across_reads_and_leaves_what_follows(void)
{
    struct fake f;
    struct err err = {0};
    fake_open(&f, 0);
    struct later l = {f.pty.slave, 50, "ne\nrest"};
    board_says(&f, "op:1\nop:2\ndo", 12); /* "done\n" arrives in two pieces */
    pthread_t t;
    ASSERT_EQ_FATAL(pthread_create(&t, NULL, write_later, &l), 0);
    ASSERT_EQ(sess__link_wait_for(&f.link, 0, "done\n", 256, 2.0, &err), 15);
    pthread_join(t, NULL);
    uint8_t buf[64];
    size_t got = 0;
    ASSERT_EQ(sess__link_read(&f.link, buf, 15, 0.5, &got, &err), 0);
    ASSERT_EQ(got, 15);
    ASSERT_EQ(memcmp(buf, "op:1\nop:2\ndone\n", 15), 0);
    ASSERT_EQ(sess__link_wait_for(&f.link, 0, "done\n", 256, 0.1, &err), ERR_TIMEOUT);
    ASSERT_STR_EQ(err.msg, "no \"done\\n\" from the board within 0.1 s");
    ASSERT_EQ(sess__link_read(&f.link, buf, sizeof buf, 0.5, &got, &err), 0);
    ASSERT_EQ(got, 4);
    ASSERT_EQ(memcmp(buf, "rest", 4), 0);
    fake_close(&f);
}

/* ---- the board lock ---- */

static char lockdir[] = "/tmp/mtq-test-transport-XXXXXX";

static void test_a_second_holder_of_the_board_lock_is_told_who_has_it(void)
{
    char path[PATH_MAX];
    struct err err = {0};
    snprintf(path, sizeof path, "%s/board.lock", lockdir);
    struct sess__lock a = {-1}, b = {-1};
    ASSERT_OK_FATAL(sess__lock_take(&a, path, &err), &err);
    ASSERT_OK(sess__lock_take(&a, path, &err), &err); /* already ours: no-op */
    sess__lock_note(&a, 4242);
    pid_t s = 0, q = 0;
    ASSERT_OK(sess__lock_read(path, &s, &q, &err), &err);
    ASSERT_EQ(s, getpid());
    ASSERT_EQ(q, 4242);
    /* flock conflicts between two open file descriptions, even in one process */
    ASSERT_EQ(sess__lock_take(&b, path, &err), ERR_BUSY);
    char want[128];
    snprintf(want, sizeof want, "board in use by another server (pid %ld); close it or wait",
             (long)getpid());
    ASSERT_STR_EQ(err.msg, want);
    ASSERT_EQ(b.fd, -1);
    sess__lock_release(&a);
    sess__lock_release(&a); /* idempotent */
    ASSERT_EQ(sess__lock_read(path, &s, &q, &err), ERR_INVALID); /* cleared */
    ASSERT_OK(sess__lock_take(&b, path, &err), &err);
    sess__lock_release(&b);
    unlink(path);
}

static void test_the_board_lock_reports_a_path_it_cannot_open(void)
{
    struct sess__lock a = {-1};
    struct err err = {0};
    ASSERT_LT(sess__lock_take(&a, "/nonexistent-dir/board.lock", &err), 0);
    ASSERT_STR_CONTAINS(err.msg, "/nonexistent-dir/board.lock");
    ASSERT_EQ(a.fd, -1);
}

/* ---- session errors that need no QEMU ---- */

/* A minimal generated project: project.json and the board's machine file; no build. */
static void make_project(char *dir, size_t size)
{
    struct err err = {0};
    snprintf(dir, size, "%s/proj", lockdir);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/machines", dir);
    ASSERT_OK_FATAL(fs_mkdir_p(path, &err), &err);
    snprintf(path, sizeof path, "%s/machines/mps2-an385.json", dir);
    ASSERT_OK_FATAL(fs_copy_file(MTQ_SOURCE_DIR "/machines/mps2-an385.json", path, &err), &err);
    snprintf(path, sizeof path, "%s/project.json", dir);
    const char *json = "{\"board\": \"mps2-an385\", \"project_type\": \"echo\", \"options\": {}}";
    ASSERT_OK_FATAL(fs_write_file(path, json, strlen(json), &err), &err);
}

static void test_flash_and_open_say_what_to_do_first(void)
{
    char dir[PATH_MAX];
    struct err err = {0};
    struct server srv;
    make_project(dir, sizeof dir);
    ASSERT_OK_FATAL(server_init(&srv, dir, &err), &err);
    ASSERT_FALSE(srv.is_template);
    ASSERT_EQ(sess_flash(&srv, NULL, &err), ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "nothing to flash: build the project first "
                                 "(microtvm-qemu build DIR or the build method)");
    struct sess_timeouts t;
    ASSERT_EQ(sess_open(&srv, NULL, &t, &err), ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "the board has not been flashed: call flash first");
    uint8_t buf[4];
    size_t got = 0;
    ASSERT_EQ(sess_read(&srv, buf, sizeof buf, 0, &got, &err), ERR_CLOSED);
    ASSERT_STR_CONTAINS(err.msg, "call open_transport first");
    ASSERT_EQ(sess_write(&srv, buf, 1, 0, &err), ERR_CLOSED);
    ASSERT_OK(sess_close(&srv, &err), &err);
    ASSERT_OK(sess_close(&srv, &err), &err);
    /* nothing was powered on, so nobody holds the lock */
    ASSERT_EQ(sess__qemu_pid(&srv), -1);
    sess_shutdown(&srv);
    ASSERT_NULL(srv.session);
    sess_shutdown(&srv); /* twice is fine */
    server_close(&srv);
}

static void test_flash_refuses_a_board_other_than_the_projects(void)
{
    char dir[PATH_MAX - 32], path[PATH_MAX];
    struct err err = {0};
    struct server srv;
    make_project(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/build", dir);
    ASSERT_OK_FATAL(fs_mkdir_p(path, &err), &err);
    snprintf(path, sizeof path, "%s/build/firmware.elf", dir);
    ASSERT_OK_FATAL(fs_write_file(path, "ELF", 3, &err), &err);
    ASSERT_OK_FATAL(server_init(&srv, dir, &err), &err);
    cJSON *opts = cJSON_Parse("{\"board\": \"riscv32-virt\", \"deterministic\": null}");
    ASSERT_EQ(sess_flash(&srv, opts, &err), ERR_OPTION);
    ASSERT_STR_CONTAINS(err.msg, "generated and built for mps2-an385");
    snprintf(path, sizeof path, "%s/flash/firmware.elf", dir);
    ASSERT_FALSE(fs_exists(path)); /* refused before touching the flash */
    cJSON_Delete(opts);
    sess_shutdown(&srv);
    server_close(&srv);
}

/* link is fixed at generate (project.json "link"): a flash or open_transport asking for the
 * other one is refused before anything is touched, naming both values and the fix. A record
 * without "link" is a UART project. */
static void test_flash_and_open_refuse_a_link_other_than_the_projects(void)
{
    char dir[PATH_MAX - 32], path[PATH_MAX];
    struct err err = {0};
    struct server srv;
    make_project(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/build", dir);
    ASSERT_EQ_FATAL(fs_mkdir_p(path, &err), 0);
    snprintf(path, sizeof path, "%s/build/firmware.elf", dir);
    ASSERT_EQ_FATAL(fs_write_file(path, "ELF", 3, &err), 0);
    ASSERT_EQ_FATAL(server_init(&srv, dir, &err), 0);
    cJSON *opts = cJSON_Parse("{\"link\": \"fast\"}");
    ASSERT_EQ(sess_flash(&srv, opts, &err), ERR_OPTION);
    ASSERT_STR_CONTAINS(err.msg, "option link: 'fast' differs from the 'uart' this "
                                  "project was generated and built for");
    ASSERT_STR_CONTAINS(err.msg, "generate the project again with link=fast");
    snprintf(path, sizeof path, "%s/flash/firmware.elf", dir);
    ASSERT_FALSE(fs_exists(path));
    struct sess_timeouts t;
    ASSERT_EQ(sess_open(&srv, opts, &t, &err), ERR_OPTION);
    ASSERT_STR_CONTAINS(err.msg, "option link: 'fast' differs");
    cJSON_Delete(opts);
    /* a record that says fast, asked for uart */
    snprintf(path, sizeof path, "%s/project.json", dir);
    const char *json = "{\"board\": \"mps2-an385\", \"project_type\": \"echo\", "
                       "\"link\": \"fast\", \"options\": {}}";
    ASSERT_EQ_FATAL(fs_write_file(path, json, strlen(json), &err), 0);
    opts = cJSON_Parse("{\"link\": \"uart\"}");
    ASSERT_EQ(sess_flash(&srv, opts, &err), ERR_OPTION);
    ASSERT_STR_CONTAINS(err.msg, "'uart' differs from the 'fast'");
    cJSON_Delete(opts);
    /* and a record whose link is neither */
    json = "{\"board\": \"mps2-an385\", \"project_type\": \"echo\", \"link\": "
           "\"tcp:1.2.3.4:5\", \"options\": {}}";
    ASSERT_EQ_FATAL(fs_write_file(path, json, strlen(json), &err), 0);
    ASSERT_EQ(sess_flash(&srv, NULL, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "is not uart or fast");
    sess_shutdown(&srv);
    server_close(&srv);
}

static void test_the_template_has_no_board_to_flash_or_open(void)
{
    char dir[PATH_MAX];
    struct err err = {0};
    struct server srv;
    snprintf(dir, sizeof dir, "%s/template", lockdir);
    ASSERT_OK_FATAL(fs_mkdir_p(dir, &err), &err);
    ASSERT_OK_FATAL(server_init(&srv, dir, &err), &err);
    ASSERT_TRUE(srv.is_template);
    ASSERT_EQ(sess_flash(&srv, NULL, &err), ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "is the template");
    ASSERT_STR_CONTAINS(err.msg, "generate_project");
    struct sess_timeouts t;
    ASSERT_EQ(sess_open(&srv, NULL, &t, &err), ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "is the template");
    sess_shutdown(&srv);
    server_close(&srv);
}

static int suite_init(void)
{
    return mkdtemp(lockdir) ? 0 : -1;
}

static int suite_clean(void)
{
    return fs_remove_tree(lockdir, NULL);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("transport", suite_init, suite_clean);
    CU_ADD_TEST(s, test_rx_buffer_hands_out_bytes_in_order_and_grows_past_its_first_size);
    CU_ADD_TEST(s, test_rx_buffer_refuses_more_than_its_bound_with_a_clear_error);
    CU_ADD_TEST(s, test_rx_find_looks_only_from_the_given_index);
    CU_ADD_TEST(s, test_rx_cut_takes_out_a_range_and_keeps_the_rest_in_order);
    CU_ADD_TEST(s, test_read_returns_what_is_there_at_once_up_to_n);
    CU_ADD_TEST(s, test_read_with_timeout_zero_polls_once_and_reports_a_timeout);
    CU_ADD_TEST(s, test_read_with_a_timeout_waits_that_long_and_no_longer);
    CU_ADD_TEST(s, test_read_without_a_timeout_blocks_until_data_arrives);
    CU_ADD_TEST(s, test_read_serves_the_receive_buffer_before_the_device);
    CU_ADD_TEST(s, test_read_before_open_or_after_close_is_transport_closed);
    CU_ADD_TEST(s, test_a_board_that_exits_hands_over_its_last_bytes_then_closed);
    CU_ADD_TEST(s, test_without_an_exit_fd_the_gone_callback_ends_a_blocking_read);
    CU_ADD_TEST(s, test_a_stop_signal_ends_a_blocking_read_promptly);
    CU_ADD_TEST(s, test_a_large_write_to_an_echoing_board_completes_and_every_byte_comes_back);
    CU_ADD_TEST(s, test_a_write_that_would_overflow_the_receive_buffer_fails_clearly);
    CU_ADD_TEST(s, test_a_write_the_board_does_not_take_times_out_saying_how_much_went);
    CU_ADD_TEST(s, test_a_write_to_a_board_that_exited_is_transport_closed);
    CU_ADD_TEST(s, test_wait_line_keeps_the_line_and_what_follows_in_the_buffer);
    CU_ADD_TEST(s, test_wait_for_from_an_index_ignores_the_lines_before_it);
    CU_ADD_TEST(s, test_wait_line_times_out_and_refuses_endless_lines);
    CU_ADD_TEST(s, test_wait_for_finds_a_delimiter_split_across_reads_and_leaves_what_follows);
    CU_ADD_TEST(s, test_a_second_holder_of_the_board_lock_is_told_who_has_it);
    CU_ADD_TEST(s, test_the_board_lock_reports_a_path_it_cannot_open);
    CU_ADD_TEST(s, test_flash_and_open_say_what_to_do_first);
    CU_ADD_TEST(s, test_flash_refuses_a_board_other_than_the_projects);
    CU_ADD_TEST(s, test_flash_and_open_refuse_a_link_other_than_the_projects);
    CU_ADD_TEST(s, test_the_template_has_no_board_to_flash_or_open);
    return TEST_RUN;
}
