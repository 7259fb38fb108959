/*
 * The host side of the aot_standalone UART line protocol (firmware/README.md is the reference):
 * parsers for every line the firmware sends, decoding of tensor bytes by dtype, and a session
 * that drives the board through any byte channel (the Project API transport in `run` and
 * `demo`, plain pipes to the host reference programs in the tests).
 *
 * Ownership: a struct cli_aot_result owns its outputs' data; release it with
 * cli_aot_result_close (accepts a zeroed or closed result). A session is freed with
 * cli_aot_close (accepts NULL). Parsers fill *err only when they fail, with ERR_INVALID and a
 * message quoting the offending line.
 */
#ifndef MTQ_CLI_AOT_H
#define MTQ_CLI_AOT_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_AOT_NAME_MAX 256  /* a tensor's or module's name, NUL included */
#define CLI_AOT_DTYPE_MAX 32
#define CLI_AOT_MAX_TENSORS 64 /* inputs, and outputs, per model */
#define CLI_AOT_ERROR_MAX 512

/* The first line every firmware sends: #microtvm-qemu:<project_type>:<board>:<libc> */
struct cli_aot_banner {
    char project_type[32];
    char board[64];
    char libc[32];
};

struct cli_aot_tensor {
    size_t index;
    char name[CLI_AOT_NAME_MAX];
    char dtype[CLI_AOT_DTYPE_MAX];
    size_t bytes;
};

/* What `info%` reports. */
struct cli_aot_model {
    char module[CLI_AOT_NAME_MAX];
    uint64_t workspace; /* the model's metadata figure */
    uint64_t arena;     /* the firmware's arena */
    size_t n_inputs, n_outputs;
    struct cli_aot_tensor inputs[CLI_AOT_MAX_TENSORS];
    struct cli_aot_tensor outputs[CLI_AOT_MAX_TENSORS];
};

/* The stats line of `run%`. Keys the parser does not know are ignored. */
struct cli_aot_stats {
    uint64_t ticks, hz, ns, instret, workspace;
    uint64_t hidden; /* instructions the operator-count hooks spent (not in instret) */
    int64_t rc;
};

#define CLI_AOT_MAX_OPS 128 /* as many as the firmware's table holds (firmware/aot/opcount.c) */

/* One "op:<calls>:<inclusive>:<self>:<name>" line of `run%`: a function of the model's
 * sources, its calls and instructions with (inclusive) and without (self) its callees. */
struct cli_aot_op {
    char name[CLI_AOT_NAME_MAX];
    uint64_t calls, inclusive, self;
};

struct cli_aot_output {
    struct cli_aot_tensor t;
    unsigned char *data; /* t.bytes bytes (heap) */
};

/* What `run%` reports: the outputs (none when the run failed), the stats, and the firmware's
 * error text (without "error:") when the run failed. */
struct cli_aot_result {
    size_t n_outputs;
    struct cli_aot_output outputs[CLI_AOT_MAX_TENSORS];
    struct cli_aot_stats stats;
    size_t n_ops; /* per-operator counts, in the firmware's (first-call) order */
    struct cli_aot_op ops[CLI_AOT_MAX_OPS];
    char error[CLI_AOT_ERROR_MAX];
};

/* ---- parsers: one line (no '\n') or one whole reply ---- */

/* "#microtvm-qemu:<type>:<board>:<libc>". */
int cli_aot_parse_banner(const char *line, struct cli_aot_banner *b, struct err *err);

/* "model:<module>:inputs=<n>:outputs=<n>:workspace=<n>:arena=<n>" into m (counts, sizes). */
int cli_aot_parse_model(const char *line, struct cli_aot_model *m, struct err *err);

/* "tensor:<input|output>:<i>:<name>:<dtype>:<bytes>"; the name may contain ':' (split at the
 * first three and the last two colons). *is_input tells which kind. */
int cli_aot_parse_tensor(const char *line, bool *is_input, struct cli_aot_tensor *t,
                         struct err *err);

/* "output:<i>:<name>:<dtype>:<hex>" (name may contain ':'): o->data is allocated. */
int cli_aot_parse_output(const char *line, struct cli_aot_output *o, struct err *err);

/* "op:<calls>:<inclusive>:<self>:<name>" (name: the rest of the line, not empty). */
int cli_aot_parse_op(const char *line, struct cli_aot_op *op, struct err *err);

/* "stats:key=value:..."; ticks, hz and rc are required, the rest default to 0. */
int cli_aot_parse_stats(const char *line, struct cli_aot_stats *s, struct err *err);

/* The whole reply to info% (lines ending in '\n', the last "done"): fills *m, checks the
 * counts and that indices run 0..n-1 in order. An "error:" line fails with its text. */
int cli_aot_parse_info(const char *text, struct cli_aot_model *m, struct err *err);

/* The whole reply to run%. When m is given, each output must match its tensor (index, name,
 * dtype, size) and all must be present. A run the firmware reports as failed is NOT a parse
 * failure: it returns 0 with r->error set (and r->stats filled). Missing stats or "done"
 * (truncated output) fails. On failure r is left closed. */
int cli_aot_parse_run(const char *text, const struct cli_aot_model *m, struct cli_aot_result *r,
                      struct err *err);

/* Frees the outputs' data; r becomes an empty result. */
void cli_aot_result_close(struct cli_aot_result *r);

/* Decodes len hex digits (either case) into *out (heap, len / 2 bytes). */
int cli_aot_hex_decode(const char *hex, size_t len, unsigned char **out, size_t *n,
                       struct err *err);

/* ---- tensor values ---- */

/* Bytes per element of a dtype we can decode (int8..64, uint8..64, float16/32/64, bool), or 0
 * for one we cannot (then only the bytes are shown). */
size_t cli_aot_dtype_size(const char *dtype);

/* Formats element i of data (little-endian, as on all our boards) as text: integers exactly,
 * floats with up to 9 (float32) or 17 (float64) significant digits, "nan"/"inf"/"-inf".
 * Returns false when the dtype is not decodable or i is out of range. */
bool cli_aot_format_value(const char *dtype, const unsigned char *data, size_t bytes, size_t i,
                          char *out, size_t outsz);

/* The index of the first maximum, by the firmware's rule so the two always agree (int*,
 * uint*, float32/64 compared as doubles, starting from element 0); -1 for other dtypes or no
 * elements. */
long cli_aot_argmax(const char *dtype, const unsigned char *data, size_t bytes);

/* ---- a session over a byte channel ---- */

/* A byte channel to the board. read returns 0 with 1..n bytes in *got, ERR_TIMEOUT when
 * nothing came within timeout_sec, ERR_CLOSED when the board is gone. write sends all bytes. */
struct cli_aot_io {
    void *ctx;
    int (*read)(void *ctx, void *buf, size_t n, double timeout_sec, size_t *got,
                struct err *err);
    int (*write)(void *ctx, const void *data, size_t len, double timeout_sec, struct err *err);
};

struct cli_aot_session;

/* Reads the banner (lines before it are skipped, up to a few), checks it is an
 * aot_standalone firmware, sends info% and parses the model. deadline is an absolute
 * CLOCK_MONOTONIC time in seconds (mono_now_s); every step fails with ERR_TIMEOUT once it
 * passes. io is copied. On success *out is a session to free with cli_aot_close. */
int cli_aot_open(const struct cli_aot_io *io, double deadline, struct cli_aot_session **out,
                 struct err *err);

/* Frees the session (the channel is the caller's). Accepts NULL. */
void cli_aot_close(struct cli_aot_session *s);

const struct cli_aot_banner *cli_aot_banner_of(const struct cli_aot_session *s);
const struct cli_aot_model *cli_aot_model_of(const struct cli_aot_session *s);

/* Sends input index: len must equal the tensor's bytes (else ERR_INVALID naming both sizes,
 * and nothing is sent). Waits for "ok"; an error line fails with its text. */
int cli_aot_set_input(struct cli_aot_session *s, size_t index, const void *data, size_t len,
                      struct err *err);

/* Sends run% and parses the reply into *r (see cli_aot_parse_run: a failed run is r->error).
 * On failure *r is empty (closing it is harmless). */
int cli_aot_run(struct cli_aot_session *s, struct cli_aot_result *r, struct err *err);

#endif
