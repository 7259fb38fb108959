/*
 * The fast link against the UART on the same board, in one run (issue 11): two echo projects,
 * one generated with link=uart and one with link=fast, both through the real server as TVM
 * drives it, in deterministic mode (icount, the default). Runs alternate between the links,
 * so both see the same host load; each run's fast/UART ratio is computed within the run.
 * Measured through the server (write_transport of all the bytes, then read_transport until
 * they are back, byte-exact):
 *   - echo throughput each way: bytes / time until the last byte came back (every byte
 *     crosses the link twice), and host to board: bytes / time until the write returned;
 *   - a 1-byte round trip (write_transport + read_transport), median.
 * The UART moves only tens of KB/s, so it echoes fewer bytes (64 KiB) than the link (1 MiB).
 * Prints one JSON object on stdout; progress on stderr.
 * Usage: bench_fast_link [board (riscv32-virt)] [runs (5)] [fast bytes (1048576)]
 *        [uart bytes (65536)]
 */
#include "bench_echo.h"
#include "client.h"
#include "fs.h"
#include "mono.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define RUNS_MAX 21
#define RTT_SAMPLES 200

/* One link's project and what it measured. */
struct side {
    const char *link;
    size_t bytes;
    char proj[160];
    double each_way_Bps[RUNS_MAX]; /* bytes / time to the last echoed byte */
    double h2d_Bps[RUNS_MAX];      /* bytes / time to the end of the write */
    double rtt_s[RTT_SAMPLES];
};

static void fail(const char *what, const struct err *err)
{
    fprintf(stderr, "bench_fast_link: %s: %s\n", what, err->msg);
    if (err->detail[0])
        fprintf(stderr, "%s\n", err->detail);
}

/* Opens the side's board in a fresh server and reads its banner. */
static int open_side(const struct side *s, struct cli_client **c, struct err *err)
{
    int rc = bench_start(s->proj, c, err);
    if (rc == 0)
        rc = cli_open_transport(*c, NULL, NULL, err);
    if (rc == 0)
        rc = bench_server_banner(*c, mono_now_s(), NULL, err);
    return rc;
}

/* One run of one side: its echo, in a fresh server (as tvmc's one server per command). */
static int echo_run(struct side *s, int r, const uint8_t *out, uint8_t *in, struct err *err)
{
    struct cli_client *c = NULL;
    double h2d = 0, d2h = 0;
    int rc = open_side(s, &c, err);
    if (rc == 0)
        rc = bench_server_echo(c, out, in, s->bytes, &h2d, &d2h, err);
    if (rc == 0)
        rc = cli_close_transport(c, err);
    cli_client_close(c, 10000, NULL);
    if (rc == 0) {
        s->each_way_Bps[r] = (double)s->bytes / d2h;
        s->h2d_Bps[r] = (double)s->bytes / h2d;
        fprintf(stderr, "bench_fast_link: run %d, %s: %zu bytes each way in %.3f s (%.1f kB/s)\n",
                r + 1, s->link, s->bytes, d2h, s->each_way_Bps[r] / 1e3);
    }
    return rc;
}

static int round_trips(struct side *s, struct err *err)
{
    struct cli_client *c = NULL;
    int rc = open_side(s, &c, err);
    for (int i = 0; rc == 0 && i < RTT_SAMPLES; i++) {
        uint8_t x = (uint8_t)i, y = 0;
        size_t k = 0;
        double t0 = mono_now_s();
        rc = cli_write_transport(c, &x, 1, 5.0, err);
        if (rc == 0)
            rc = cli_read_transport(c, &y, 1, -1, &k, err);
        if (rc == 0 && y != x)
            rc = err_set(err, ERR_INVALID, "the round trip's byte came back changed");
        s->rtt_s[i] = mono_now_s() - t0;
    }
    if (rc == 0)
        rc = cli_close_transport(c, err);
    cli_client_close(c, 10000, NULL);
    return rc;
}

static void print_side(const struct side *s, int runs)
{
    double each[RUNS_MAX], h2d[RUNS_MAX], rtt[RTT_SAMPLES];
    memcpy(each, s->each_way_Bps, sizeof each);
    memcpy(h2d, s->h2d_Bps, sizeof h2d);
    memcpy(rtt, s->rtt_s, sizeof rtt);
    printf("  \"%s\": {\n    \"echo_bytes\": %zu,\n", s->link, s->bytes);
    printf("    \"echo_each_way_kBps_median\": %.1f,\n", bench_median(each, (size_t)runs) / 1e3);
    printf("    \"echo_each_way_kBps_min\": %.1f,\n    \"echo_each_way_kBps_max\": %.1f,\n",
           each[0] / 1e3, each[runs - 1] / 1e3);
    printf("    \"host_to_board_kBps_median\": %.1f,\n", bench_median(h2d, (size_t)runs) / 1e3);
    printf("    \"echo_1byte_rtt_us_median\": %.1f\n  },\n",
           bench_median(rtt, RTT_SAMPLES) * 1e6);
}

int main(int argc, char **argv)
{
    const char *board = argc > 1 ? argv[1] : "riscv32-virt";
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    struct side fast = {.link = "fast", .bytes = argc > 3 ? strtoul(argv[3], NULL, 0) : 1 << 20};
    struct side uart = {.link = "uart", .bytes = argc > 4 ? strtoul(argv[4], NULL, 0) : 65536};
    struct side *sides[2] = {&uart, &fast};
    struct err err = {0};
    int status = 1;
    char dir[] = "/tmp/mtq-bench-fast-link-XXXXXX";
    if (runs < 1 || runs > RUNS_MAX || fast.bytes == 0 || uart.bytes == 0 || !mkdtemp(dir)) {
        fprintf(stderr, "usage: bench_fast_link [board] [runs 1..%d] [fast bytes] [uart bytes]\n",
                RUNS_MAX);
        return 2;
    }
    size_t most = fast.bytes > uart.bytes ? fast.bytes : uart.bytes;
    uint8_t *out = malloc(most), *in = malloc(most);
    char cache[sizeof dir + 8];
    snprintf(cache, sizeof cache, "%s/cache", dir);
    setenv("MTQ_CACHE_DIR", cache, 1);
    if (!out || !in || getrandom(out, most, 0) != (ssize_t)most) {
        fprintf(stderr, "bench_fast_link: out of memory or no random bytes\n");
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        snprintf(sides[i]->proj, sizeof sides[i]->proj, "%s/echo-%s", dir, sides[i]->link);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "link", sides[i]->link);
        fprintf(stderr, "bench_fast_link: generating and building the %s echo project for %s\n",
                sides[i]->link, board);
        if (bench_echo_project(sides[i]->proj, board, o, &err) < 0) {
            fail("making the echo project", &err);
            goto out;
        }
    }
    double ratio[RUNS_MAX];
    for (int r = 0; r < runs; r++) {
        for (int i = 0; i < 2; i++)
            if (echo_run(sides[i], r, out, in, &err) < 0) {
                fail("echo", &err);
                goto out;
            }
        ratio[r] = fast.each_way_Bps[r] / uart.each_way_Bps[r];
    }
    for (int i = 0; i < 2; i++)
        if (round_trips(sides[i], &err) < 0) {
            fail("1-byte round trips", &err);
            goto out;
        }
    printf("{\n  \"bench\": \"fast_link\",\n  \"board\": \"%s\",\n  \"deterministic\": true,\n"
           "  \"runs\": %d,\n", board, runs);
    print_side(&uart, runs);
    print_side(&fast, runs);
    printf("  \"fast_vs_uart_echo_ratio_per_run\": [");
    for (int r = 0; r < runs; r++)
        printf("%s%.0f", r ? ", " : "", ratio[r]);
    printf("],\n  \"fast_vs_uart_echo_ratio_median\": %.0f\n}\n",
           bench_median(ratio, (size_t)runs));
    status = 0;
out:
    fs_remove_tree(dir, NULL);
    free(out);
    free(in);
    return status;
}
