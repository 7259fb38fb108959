/*
 * The report page: a self-contained HTML file (inline SVG and CSS, no script, nothing fetched)
 * that shows a run's instructions per operator as bars, and side by side against a baseline
 * run what grew and what shrank, readable in any browser without the tool. Written by
 * `run --report FILE`, `report RUN.json... -o FILE` and `demo --report FILE` (one section per
 * board). Every text from the runs is HTML-escaped.
 */
#ifndef MTQ_CLI_REPORT_H
#define MTQ_CLI_REPORT_H

#include "err.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* One section: a run --json object, and optionally the baseline it is compared with. */
struct cli_report_section {
    const cJSON *run;
    const cJSON *baseline; /* NULL: no comparison */
};

/* Writes the page with n sections to path (replaced if it exists). ERR_IO naming the file when
 * it cannot be written. */
int cli_report_write_sections(const char *path, const char *title,
                              const struct cli_report_section *s, size_t n, struct err *err);

/* One run (and its baseline, or NULL). */
int cli_report_write(const char *path, const cJSON *run, const cJSON *baseline, struct err *err);

#endif
