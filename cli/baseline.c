/*
 * The regression rule of `run --baseline` (see baseline.h). The count must be exact for a
 * percentage limit to mean anything: deterministic mode (the server's default) makes it
 * identical across runs, so any change is the firmware's, not the host's load.
 */
#include "baseline.h"

#include "fs.h"
#include "jsonget.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON number that is a whole, non-negative count. */
static bool count_value(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 9007199254740992.0 ||
        floor(v->valuedouble) != v->valuedouble)
        return false;
    *out = (uint64_t)v->valuedouble;
    return true;
}

int cli_count_of(const cJSON *run, struct cli_count *out, struct err *err)
{
    const cJSON *count = cli_json_item(run, "count");
    const cJSON *metric = cli_json_item(count, "metric");
    if (cJSON_IsObject(count)) {
        if (!cJSON_IsString(metric) || (strcmp(metric->valuestring, "instructions") &&
                                        strcmp(metric->valuestring, "ticks")) ||
            !count_value(cli_json_item(count, "value"), &out->value))
            return err_set(err, ERR_INVALID, "its \"count\" is not {\"metric\": \"instructions\" "
                           "or \"ticks\", \"value\": a whole number}");
        snprintf(out->metric, sizeof out->metric, "%s", metric->valuestring);
        return 0;
    }
    const cJSON *stats = cli_json_item(run, "stats");
    const cJSON *instr = cli_json_item(stats, "instructions");
    if (instr && !cJSON_IsNull(instr) && count_value(instr, &out->value)) {
        snprintf(out->metric, sizeof out->metric, "instructions");
        return 0;
    }
    if (count_value(cli_json_item(stats, "ticks"), &out->value)) {
        snprintf(out->metric, sizeof out->metric, "ticks");
        return 0;
    }
    return err_set(err, ERR_INVALID, "it has no \"count\" and no stats.ticks: it is not the "
                   "output of 'microtvm-qemu run --json'");
}

int cli_baseline_load(const char *path, cJSON **out, struct err *err)
{
    char *text = NULL;
    size_t len = 0;
    const char *end = NULL;
    struct cli_count c;
    cJSON *j = NULL;
    int rc = fs_read_file(path, 16u << 20, &text, &len, err);
    if (rc < 0)
        return err_prefix(err, "--baseline");
    j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!cJSON_IsObject(j)) {
        rc = err_set(err, ERR_INVALID, "--baseline %s: not a JSON object (bad at byte %td); "
                     "give a file saved from 'microtvm-qemu run --json'", path,
                     end ? end - text : (ptrdiff_t)0);
        goto out;
    }
    if ((rc = cli_count_of(j, &c, err)) < 0) {
        err_prefix(err, "--baseline %s", path);
        goto out;
    }
    *out = j;
    j = NULL;
out:
    cJSON_Delete(j);
    free(text);
    return rc;
}

int cli_baseline_compare(const cJSON *baseline, const cJSON *now, double max_percent,
                         struct cli_baseline_cmp *out, struct err *err)
{
    memset(out, 0, sizeof *out);
    const cJSON *b_board = cli_json_item(baseline, "board"), *n_board = cli_json_item(now, "board");
    if (cJSON_IsString(b_board) && cJSON_IsString(n_board) &&
        strcmp(b_board->valuestring, n_board->valuestring) != 0)
        return err_set(err, ERR_INVALID, "the baseline ran on %s, this run on %s: counts of "
                       "different boards do not compare; make a baseline on %s",
                       b_board->valuestring, n_board->valuestring, n_board->valuestring);
    int rc = cli_count_of(baseline, &out->before, err);
    if (rc < 0)
        return err_prefix(err, "the baseline");
    if ((rc = cli_count_of(now, &out->after, err)) < 0)
        return err_prefix(err, "this run");
    if (strcmp(out->before.metric, out->after.metric) != 0)
        return err_set(err, ERR_INVALID, "the baseline counts %s, this run counts %s; make a "
                       "new baseline", out->before.metric, out->after.metric);
    if (out->before.value == 0)
        return err_set(err, ERR_INVALID, "the baseline's %s count is 0, so no percentage can "
                       "be taken; make a new baseline", out->before.metric);
    /* multiply first: a change of exactly PCT percent must compare equal to PCT */
    out->change_percent = ((double)out->after.value - (double)out->before.value) * 100.0 /
                          (double)out->before.value;
    out->max_percent = max_percent;
    /* Exact, for ticks too: the firmware starts the timed region at a fixed phase of the tick
     * (timer_align in firmware/include/board.h), so the same code measures the same number of
     * ticks on every run; one tick more is a real change (docs/RESULTS.md). */
    out->regressed = max_percent >= 0 && out->change_percent > max_percent;
    return 0;
}

int cli_parse_percent(const char *text, double *out, struct err *err)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || (*end && strcmp(end, "%") != 0) || !isfinite(v) || v < 0)
        return err_set(err, ERR_INVALID, "--max-regression '%s': want a percentage >= 0, "
                       "e.g. 2 or 0.5%%", text);
    *out = v;
    return 0;
}

cJSON *cli_baseline_json(const struct cli_baseline_cmp *c, const char *path)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddStringToObject(o, "metric", c->after.metric);
    cJSON_AddNumberToObject(o, "before", (double)c->before.value);
    cJSON_AddNumberToObject(o, "after", (double)c->after.value);
    /* rounded to 1e-6 so the document does not carry float noise */
    cJSON_AddNumberToObject(o, "change_percent", round(c->change_percent * 1e6) / 1e6);
    if (c->max_percent >= 0)
        cJSON_AddNumberToObject(o, "max_regression_percent", c->max_percent);
    else
        cJSON_AddNullToObject(o, "max_regression_percent");
    cJSON_AddBoolToObject(o, "regressed", c->regressed);
    return o;
}
