/*
 * What the transport benchmarks share (bench_transport.c, bench_fast_link.c): medians, a project
 * server with a deadline, an echo project generated and built through the Project
 * API, and echo and banner measurements through a project's server. Progress goes to stderr.
 */
#ifndef MTQ_BENCH_ECHO_H
#define MTQ_BENCH_ECHO_H

#include "client.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* The median of v's n values (sorts v). */
double bench_median(double *v, size_t n);

/* Starts dir's server as TVM does, with a deadline that ends the bench if it gets stuck. */
int bench_start(const char *dir, struct cli_client **c, struct err *err);

/* Generates an echo project for board at proj through the template's server (options: more
 * generate_project options, taken; NULL for none), builds and flashes it through the project's
 * own server. */
int bench_echo_project(const char *proj, const char *board, cJSON *options, struct err *err);

/* Writes n bytes in one write_transport, then reads until all came back (checked byte for
 * byte): *h2d gets when the write returned, *d2h when the last byte came (from the start). */
int bench_server_echo(struct cli_client *c, const uint8_t *out, uint8_t *in, size_t n,
                      double *h2d, double *d2h, struct err *err);

/* Reads the banner line after open_transport; *first (may be NULL) gets when its first byte
 * came, counted from t0. */
int bench_server_banner(struct cli_client *c, double t0, double *first, struct err *err);

#endif
