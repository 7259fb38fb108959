/*
 * Regression checks for `run --baseline FILE --max-regression PCT`: the count a `run --json`
 * object reports (instructions where the board counts them, else timer ticks; both exact
 * under QEMU's -icount), compared between an earlier run and this one. Pure functions on cJSON
 * objects, so the rule is unit-tested without a board.
 */
#ifndef MTQ_CLI_BASELINE_H
#define MTQ_CLI_BASELINE_H

#include "err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* What a run is measured by: "instructions" or "ticks", and the number. */
struct cli_count {
    char metric[16];
    uint64_t value;
};

struct cli_baseline_cmp {
    struct cli_count before, after;
    double change_percent;   /* (after - before) / before * 100; negative: faster */
    double max_percent;      /* the allowed growth; < 0 when none was given */
    bool regressed;          /* change_percent > max_percent (a limit was given) */
};

/* The count of a run --json object: its "count" {metric, value}; an object without one (an
 * older layout) falls back to stats.instructions when not null, else stats.ticks. Fails with
 * ERR_INVALID when there is none. */
int cli_count_of(const cJSON *run, struct cli_count *out, struct err *err);

/* Reads path (a previous `run --json` output) into *out (caller frees with cJSON_Delete).
 * Not JSON, or JSON without a count, fails with ERR_INVALID naming the file and the fix. */
int cli_baseline_load(const char *path, cJSON **out, struct err *err);

/* Compares baseline with now (both run --json objects). They must come from the same board
 * and count the same metric (else ERR_INVALID saying which differ), and the baseline's count
 * must be positive. max_percent < 0 means no limit (regressed stays false). Ticks compare as
 * exactly as instructions: the firmware makes both identical across runs. */
int cli_baseline_compare(const cJSON *baseline, const cJSON *now, double max_percent,
                         struct cli_baseline_cmp *out, struct err *err);

/* Parses a percentage for --max-regression: "5", "0.5", "5%"; it must be finite and >= 0. */
int cli_parse_percent(const char *text, double *out, struct err *err);

/* A JSON object describing the comparison (the "baseline" member of run --json). */
cJSON *cli_baseline_json(const struct cli_baseline_cmp *c, const char *path);

#endif
