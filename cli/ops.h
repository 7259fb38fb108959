/*
 * Per-operator counts on the host side: the `operators` list of run --json (from the firmware's
 * op: lines), its comparison with a baseline's (which operators grew or shrank, and by how much),
 * and the terminal view (the top operators with proportional bars). Pure functions on cJSON
 * objects and results, unit-tested without a board (tests/test_cli_ops.c).
 */
#ifndef MTQ_CLI_OPS_H
#define MTQ_CLI_OPS_H

#include "aot.h"

#include <cjson/cJSON.h>
#include <stdio.h>

/* The run's operators as a JSON array, in the firmware's order: {name, calls, instructions
 * (inclusive), self_instructions, self_percent (of total)}. Empty when there are none. */
cJSON *cli_ops_json(const struct cli_aot_result *r, uint64_t total);

/* The operators of a run --json object (its "operators" array), or NULL. */
const cJSON *cli_ops_of(const cJSON *run);

/* What changed per operator between two run --json objects: an array of {name,
 * before, after (inclusive instructions, null when absent on that side), change,
 * change_percent (null when before is 0 or absent), self_before, self_after, self_change},
 * the biggest self change first, unchanged ones last. Operators match by name. */
cJSON *cli_ops_compare(const cJSON *baseline, const cJSON *now);

/* The name without the "tvmgen_<module>_" every TVM function has, for display. */
const char *cli_ops_short_name(const char *name, const char *module);

/* Prints the top operators by self instructions, one line each with a bar proportional to
 * the run's total; nothing when the run has none. */
void cli_ops_print_top(FILE *f, const cJSON *run, size_t top);

/* Prints the operators that changed against a baseline (cli_ops_compare's array), at most top. */
void cli_ops_print_changes(FILE *f, const cJSON *changes, const char *module, size_t top);

#endif
