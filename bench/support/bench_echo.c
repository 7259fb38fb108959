/* What the transport benchmarks share (bench_echo.h). */
#include "bench_echo.h"

#include "mono.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_start(const char *dir, struct cli_client **c, struct err *err)
{
    /* MTQ_BENCH_DEBUG=1: the servers' debug logs on stderr (the fast link's counters, say) */
    const char *debug = getenv("MTQ_BENCH_DEBUG");
    int rc = cli_client_start(dir, debug && strcmp(debug, "1") == 0, c, err);
    if (rc == 0)
        cli_client_set_deadline(*c, mono_now_s() + 600); /* a stuck server ends the bench */
    return rc;
}

int bench_echo_project(const char *proj, const char *board, cJSON *options, struct err *err)
{
    struct cli_client *c = NULL;
    cJSON *o = options ? options : cJSON_CreateObject();
    cJSON_AddStringToObject(o, "project_type", "echo");
    cJSON_AddStringToObject(o, "board", board);
    int rc = bench_start(MTQ_TEMPLATE_DIR, &c, err);
    if (rc == 0)
        rc = cli_generate_project(c, "", "", proj, o, err);
    else
        cJSON_Delete(o);
    cli_client_close(c, 10000, NULL);
    c = NULL;
    if (rc == 0)
        rc = bench_start(proj, &c, err);
    if (rc == 0)
        rc = cli_build(c, NULL, err);
    if (rc == 0)
        rc = cli_flash(c, NULL, err);
    cli_client_close(c, 10000, NULL);
    return rc;
}

int bench_server_echo(struct cli_client *c, const uint8_t *out, uint8_t *in, size_t n,
                      double *h2d, double *d2h, struct err *err)
{
    double t0 = mono_now_s();
    int rc = cli_write_transport(c, out, n, 120.0, err);
    if (rc < 0)
        return rc;
    *h2d = mono_now_s() - t0;
    size_t got = 0;
    while (got < n) {
        size_t k = 0;
        if ((rc = cli_read_transport(c, in + got, n - got, 10.0, &k, err)) < 0)
            return rc;
        got += k;
    }
    *d2h = mono_now_s() - t0;
    return memcmp(in, out, n) ? err_set(err, ERR_INVALID, "server echo: bytes differ") : 0;
}

int bench_server_banner(struct cli_client *c, double t0, double *first, struct err *err)
{
    char buf[256];
    size_t all = 0;
    while (all == 0 || buf[all - 1] != '\n') {
        size_t k = 0;
        int rc = cli_read_transport(c, buf + all, sizeof buf - all, 10.0, &k, err);
        if (rc < 0)
            return rc;
        if (all == 0 && first)
            *first = mono_now_s() - t0;
        all += k;
        if (all == sizeof buf)
            return err_set(err, ERR_INVALID, "no banner line");
    }
    return 0;
}
