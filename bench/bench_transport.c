/*
 * Benchmark of flash and the transport through the real server, next to the same QEMU and
 * firmware driven directly with the emulator library (no server: the raw pty limit). Generates
 * and builds an echo project through the Project API (template server, then project server),
 * then measures and prints one JSON object on stdout:
 *   - echo throughput: N random bytes written and read back, raw vs through the server. The echo
 *     firmware sends back what it gets, so the board-to-host rate is bounded by host-to-board
 *     (QEMU_NOTES.md: the slow direction); both are reported.
 *   - read_transport of 1 byte that is already there: client round trip and server CPU time
 *     (from /proc/<pid>/schedstat) per call, median / mean over many calls.
 *   - 1-byte echo round trip (write_transport + read_transport) vs the same link the server
 *     uses (server/transport.c) driven directly, without JSON-RPC.
 *   - open_transport latency in a fresh server (as tvmc runs it: QEMU spawn to the first banner
 *     byte), median of several, and raw emu_start+emu_run to the first byte.
 * Usage: bench_transport [board (mps2-an385)] [echo bytes (65536)]. Progress goes to stderr.
 */
#include "bench_echo.h"
#include "board_io.h"
#include "client.h"
#include "emu.h"
#include "fs.h"
#include "machine.h"
#include "mono.h"
#include "record.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define RUNS 3          /* echo throughput runs per side; the median is reported */
#define READ_CALLS 2000 /* 1-byte reads of bytes already there */
#define RTT_SAMPLES 300 /* 1-byte echo round trips per side */
#define OPENS 9         /* fresh servers opening the transport */

struct bench {
    const char *board;
    size_t bytes;
    char dir[64];        /* scratch: mkdtemp */
    char proj[PATH_MAX - 128];
    struct machine m;
    char image[PATH_MAX];
};

static void fail(const char *what, const struct err *err)
{
    fprintf(stderr, "bench_transport: %s: %s\n", what, err->msg);
    if (err->detail[0])
        fprintf(stderr, "%s\n", err->detail);
}

/* The server's CPU time so far, in ns (/proc/<pid>/schedstat: time on CPU). */
static double cpu_ns(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", pid);
    FILE *f = fopen(path, "r");
    unsigned long long ns = 0;
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1)
            ns = 0;
        fclose(f);
    }
    return (double)ns;
}

/* The echo project through the Project API (bench_echo.h); then its machine and flash image
 * for the raw runs. */
static int make_project(struct bench *b, struct err *err)
{
    snprintf(b->proj, sizeof b->proj, "%s/echo", b->dir);
    int rc = bench_echo_project(b->proj, b->board, NULL, err);
    char machines[PATH_MAX];
    if (rc == 0)
        rc = fs_join(machines, sizeof machines, b->proj, "machines", err);
    if (rc == 0)
        rc = mach_load_by_name(&b->m, machines, b->board, err);
    if (rc == 0)
        rc = fs_join(b->image, sizeof b->image, b->proj, RECORD_FLASHED_ELF, err);
    return rc;
}

/* ---- raw: the emulator library alone ---- */

/* Powers the raw board off: its link, then QEMU. Accepts one that never booted. */
static void raw_off(struct board_io *io)
{
    struct emu *e = io->emu;
    board_io_close(io);
    emu_free(e);
}

/* Starts QEMU on the flashed image into *io and reads its banner (through the server's link,
 * without the server). On failure nothing is left. */
static int raw_boot(struct bench *b, struct board_io *io, double *first_byte_s, struct err *err)
{
    struct emu_config cfg;
    emu_config_init(&cfg);
    cfg.machine = &b->m;
    cfg.image = b->image;
    char log_path[PATH_MAX];
    snprintf(log_path, sizeof log_path, "%s/raw-qemu.log", b->dir);
    cfg.log_path = log_path;
    memset(io, 0, sizeof *io);
    double t0 = mono_now_s();
    struct emu *e = emu_start(&cfg, err);
    if (!e)
        return -1;
    board_io_open(io, e);
    char banner[256];
    size_t got = 0;
    if (emu_run(e, err) < 0 || board_io_read(io, banner, 1, 10000, err) < 0) {
        raw_off(io);
        return -1;
    }
    if (first_byte_s)
        *first_byte_s = mono_now_s() - t0;
    if (board_io_banner(io, banner + 1, sizeof banner - 1, &got, 10000, err) < 0) {
        raw_off(io);
        return -1;
    }
    return 0;
}

/* Writes all bytes while reading the echo back: h2d = when the last byte went in, d2h = when
 * the last came back (both from the start). */
static int raw_echo(struct board_io *io, const uint8_t *out, uint8_t *in, size_t n,
                    double *h2d, double *d2h, struct err *err)
{
    int fd = emu_uart_fd(io->emu);
    size_t sent = 0, got = 0;
    double t0 = mono_now_s();
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = (short)(POLLIN | (sent < n ? POLLOUT : 0))};
        if (poll(&p, 1, 10000) <= 0)
            return err_set(err, ERR_TIMEOUT, "raw echo stalled at %zu/%zu sent, %zu back", sent,
                           n, got);
        if (p.revents & POLLIN) {
            ssize_t r = read(fd, in + got, n - got);
            if (r > 0)
                got += (size_t)r;
        }
        if (sent < n && (p.revents & POLLOUT)) {
            ssize_t w = write(fd, out + sent, n - sent);
            if (w > 0 && (sent += (size_t)w) == n)
                *h2d = mono_now_s() - t0;
        }
    }
    *d2h = mono_now_s() - t0;
    return memcmp(in, out, n) ? err_set(err, ERR_INVALID, "raw echo: bytes differ") : 0;
}

int main(int argc, char **argv)
{
    struct bench b = {.board = argc > 1 ? argv[1] : "mps2-an385",
                      .bytes = argc > 2 ? strtoul(argv[2], NULL, 0) : 65536};
    struct err err = {0};
    struct cli_client *c = NULL;
    struct board_io raw = {0};
    int status = 1;
    uint8_t *out = malloc(b.bytes), *in = malloc(b.bytes);
    double raw_h2d[RUNS], raw_d2h[RUNS], srv_h2d[RUNS], srv_d2h[RUNS];
    double reads[READ_CALLS], raw_rtt[RTT_SAMPLES], srv_rtt[RTT_SAMPLES];
    double opens[OPENS], raw_opens[OPENS];
    double read_cpu_ns = 0, rtt_cpu_ns = 0;
    snprintf(b.dir, sizeof b.dir, "/tmp/mtq-bench-transport-XXXXXX");
    if (!out || !in || b.bytes == 0 || !mkdtemp(b.dir)) {
        fprintf(stderr, "bench_transport: cannot set up (bytes must be > 0)\n");
        free(out);
        free(in);
        return 1;
    }
    char cache[sizeof b.dir + 8];
    snprintf(cache, sizeof cache, "%s/cache", b.dir);
    setenv("MTQ_CACHE_DIR", cache, 1);
    if (getrandom(out, b.bytes, 0) != (ssize_t)b.bytes) {
        fprintf(stderr, "bench_transport: getrandom failed\n");
        goto out;
    }
    fprintf(stderr, "bench_transport: generating and building an echo project for %s\n",
            b.board);
    if (make_project(&b, &err) < 0) {
        fail("making the echo project", &err);
        goto out;
    }

    /* open latency: raw, then fresh servers (flash already done: tvmc's run step) */
    fprintf(stderr, "bench_transport: open latency\n");
    for (int i = 0; i < OPENS; i++) {
        if (raw_boot(&b, &raw, &raw_opens[i], &err) < 0) {
            fail("raw boot", &err);
            goto out;
        }
        raw_off(&raw);
        if (bench_start(b.proj, &c, &err) < 0) {
            fail("starting the server", &err);
            goto out;
        }
        double t0 = mono_now_s();
        if (cli_open_transport(c, NULL, NULL, &err) < 0 || bench_server_banner(c, t0, &opens[i],
                                                                         &err) < 0) {
            fail("open_transport", &err);
            goto out;
        }
        cli_client_close(c, 10000, NULL);
        c = NULL;
    }

    /* raw: one QEMU at a time (the echo firmware polls its UART and keeps a core busy) */
    fprintf(stderr, "bench_transport: raw echo of %zu bytes x %d, 1-byte round trips\n",
            b.bytes, RUNS);
    if (raw_boot(&b, &raw, NULL, &err) < 0) {
        fail("raw boot", &err);
        goto out;
    }
    for (int r = 0; r < RUNS; r++) {
        memset(in, 0, b.bytes);
        if (raw_echo(&raw, out, in, b.bytes, &raw_h2d[r], &raw_d2h[r], &err) < 0) {
            fail("raw echo", &err);
            goto out;
        }
    }
    for (int i = 0; i < RTT_SAMPLES; i++) {
        uint8_t x = (uint8_t)i, y = 0;
        double t0 = mono_now_s();
        if (board_io_write(&raw, &x, 1, 5000, &err) < 0 ||
            board_io_read(&raw, &y, 1, 5000, &err) < 0 || y != x) {
            fail("raw round trip", &err);
            goto out;
        }
        raw_rtt[i] = mono_now_s() - t0;
    }
    raw_off(&raw);

    /* the same through the server */
    fprintf(stderr, "bench_transport: server echo of %zu bytes x %d, 1-byte round trips\n",
            b.bytes, RUNS);
    if (bench_start(b.proj, &c, &err) < 0 || cli_open_transport(c, NULL, NULL, &err) < 0 ||
        bench_server_banner(c, mono_now_s(), NULL, &err) < 0) {
        fail("opening the server's transport", &err);
        goto out;
    }
    for (int r = 0; r < RUNS; r++) {
        memset(in, 0, b.bytes);
        if (bench_server_echo(c, out, in, b.bytes, &srv_h2d[r], &srv_d2h[r], &err) < 0) {
            fail("server echo", &err);
            goto out;
        }
    }
    double cpu0 = cpu_ns(cli_client_pid(c));
    for (int i = 0; i < RTT_SAMPLES; i++) {
        uint8_t x = (uint8_t)i, y = 0;
        size_t k = 0;
        double t0 = mono_now_s();
        if (cli_write_transport(c, &x, 1, 5.0, &err) < 0 ||
            cli_read_transport(c, &y, 1, -1, &k, &err) < 0 || y != x) {
            fail("server round trip", &err);
            goto out;
        }
        srv_rtt[i] = mono_now_s() - t0;
    }
    rtt_cpu_ns = (cpu_ns(cli_client_pid(c)) - cpu0) / RTT_SAMPLES;

    /* read_transport of 1 byte already waiting in the pty: the server's own cost per call */
    fprintf(stderr, "bench_transport: 1-byte reads of waiting bytes\n");
    {
        int done = 0;
        while (done < READ_CALLS) {
            int batch = READ_CALLS - done > 1000 ? 1000 : READ_CALLS - done;
            if (cli_write_transport(c, out, (size_t)batch, 30.0, &err) < 0) {
                fail("write", &err);
                goto out;
            }
            usleep(1500000); /* let the board echo them all into the pty */
            double c0 = cpu_ns(cli_client_pid(c));
            for (int i = 0; i < batch; i++) {
                uint8_t y;
                size_t k = 0;
                double t0 = mono_now_s();
                if (cli_read_transport(c, &y, 1, 0, &k, &err) < 0) {
                    fail("1-byte read of a waiting byte", &err);
                    goto out;
                }
                reads[done + i] = mono_now_s() - t0;
            }
            read_cpu_ns += cpu_ns(cli_client_pid(c)) - c0;
            done += batch;
        }
        read_cpu_ns /= READ_CALLS;
    }
    if (cli_close_transport(c, &err) < 0) {
        fail("close_transport", &err);
        goto out;
    }

    double rh = bench_median(raw_h2d, RUNS), rd = bench_median(raw_d2h, RUNS);
    double sh = bench_median(srv_h2d, RUNS), sd = bench_median(srv_d2h, RUNS);
    double kb = (double)b.bytes / 1000.0;
    printf("{\n  \"bench\": \"transport\",\n  \"board\": \"%s\",\n  \"deterministic\": true,\n",
           b.board);
    printf("  \"echo_bytes\": %zu,\n  \"echo_runs\": %d,\n", b.bytes, RUNS);
    printf("  \"raw_host_to_board_kBps\": %.1f,\n  \"raw_board_to_host_kBps\": %.1f,\n", kb / rh,
           kb / rd);
    printf("  \"server_host_to_board_kBps\": %.1f,\n  \"server_board_to_host_kBps\": %.1f,\n",
           kb / sh, kb / sd);
    printf("  \"server_vs_raw_echo_throughput\": %.3f,\n", rd / sd);
    printf("  \"read_transport_1byte_waiting_rtt_us_median\": %.1f,\n",
           bench_median(reads, READ_CALLS) * 1e6);
    printf("  \"read_transport_1byte_server_cpu_us_mean\": %.1f,\n", read_cpu_ns / 1e3);
    printf("  \"echo_1byte_rtt_us_median_raw\": %.1f,\n", bench_median(raw_rtt, RTT_SAMPLES) * 1e6);
    printf("  \"echo_1byte_rtt_us_median_server\": %.1f,\n", bench_median(srv_rtt, RTT_SAMPLES) * 1e6);
    printf("  \"echo_1byte_server_cpu_us_mean\": %.1f,\n", rtt_cpu_ns / 1e3);
    printf("  \"open_transport_fresh_server_to_first_banner_byte_ms_median\": %.1f,\n",
           bench_median(opens, OPENS) * 1e3);
    printf("  \"raw_start_to_first_banner_byte_ms_median\": %.1f,\n",
           bench_median(raw_opens, OPENS) * 1e3);
    printf("  \"opens\": %d,\n  \"read_calls\": %d,\n  \"rtt_samples\": %d\n}\n", OPENS,
           READ_CALLS, RTT_SAMPLES);
    status = 0;
out:
    raw_off(&raw);
    if (c)
        cli_client_close(c, 10000, NULL);
    fs_remove_tree(b.dir, NULL);
    free(out);
    free(in);
    return status;
}
