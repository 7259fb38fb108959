/*
 * `microtvm-qemu report`: the HTML page of report.h from saved `run --json` outputs, so a CI job
 * can publish the per-operator picture (against its stored baseline) without a board.
 */
#include "baseline.h"
#include "command.h"
#include "report.h"

#include <stdio.h>
#include <string.h>

#define REPORT_RUNS_MAX CLI_MAX_POS

static const struct cli_opt report_opts[] = {
    {"output", 'o', "FILE", false, "the HTML file to write (required)"},
    {"baseline", 0, "FILE", false, "a 'run --json' output to compare every run of its board "
     "with"},
};

static const char *board_of(const cJSON *run)
{
    const char *b = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(run, "board"));
    return b ? b : "";
}

static int run_report(const struct cli_ctx *ctx, const struct cli_command *cmd,
                      const struct cli_args *a)
{
    struct err err;
    const char *out = cli__opt(cmd, a, "output"), *base_path = cli__opt(cmd, a, "baseline");
    cJSON *runs[REPORT_RUNS_MAX] = {0}, *baseline = NULL;
    struct cli_report_section sections[REPORT_RUNS_MAX];
    int rc = 0;
    err_clear(&err);
    if (!out || !*out) {
        err_set(&err, ERR_INVALID, "--output FILE is required (the HTML page to write)");
        return cli__usage_error(ctx, "report ", &err);
    }
    if (a->n_pos > REPORT_RUNS_MAX) {
        err_set(&err, ERR_INVALID, "at most %d runs per page", REPORT_RUNS_MAX);
        return cli__usage_error(ctx, "report ", &err);
    }
    /* cli_baseline_load reads any run --json output: a run is checked the same way */
    for (size_t i = 0; rc == 0 && i < a->n_pos; i++)
        rc = cli_baseline_load(a->pos[i], &runs[i], &err);
    if (rc == 0 && base_path)
        rc = cli_baseline_load(base_path, &baseline, &err);
    for (size_t i = 0; rc == 0 && i < a->n_pos; i++) {
        sections[i].run = runs[i];
        sections[i].baseline =
            baseline && !strcmp(board_of(baseline), board_of(runs[i])) ? baseline : NULL;
    }
    if (rc == 0)
        rc = cli_report_write_sections(out, baseline ? "Instructions per operator, against the "
                                       "baseline" : "Instructions per operator", sections,
                                       a->n_pos, &err);
    if (rc == 0)
        fprintf(stderr, "microtvm-qemu: report written to %s\n", out);
    for (size_t i = 0; i < a->n_pos; i++)
        cJSON_Delete(runs[i]);
    cJSON_Delete(baseline);
    return cli__finish(ctx, NULL, rc, &err);
}

const struct cli_command cli__cmd_report = {
    .name = "report",
    .synopsis = "RUN.json...",
    .summary = "write an HTML page of per-operator counts from 'run --json' outputs",
    .description =
        "Writes a self-contained HTML page (inline SVG, no script) with one section per\n"
        "run: the model's total instructions and a bar per operator (its own\n"
        "instructions). With --baseline, each run of the baseline's board is shown\n"
        "side by side with it: what grew, what shrank, by how much. Readable in any\n"
        "browser, without the tool. Fields: docs/RESULTS.md.\n",
    .opts = report_opts,
    .n_opts = sizeof report_opts / sizeof report_opts[0],
    .min_pos = 1,
    .max_pos = REPORT_RUNS_MAX,
    .run = run_report,
};
