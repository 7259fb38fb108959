/*
 * The HTML report (see report.h). Layout per section: a headline with the totals (and the
 * change against the baseline), an SVG chart with one row per operator (its own instructions
 * as a bar scaled to the largest; with a baseline, the baseline's bar beneath in grey and the
 * change in red or green), then a table with every number. Operators are the model's functions
 * as run --json lists them; the chart shows self counts so that the bars add up to the total.
 */
#include "report.h"

#include "jsonget.h"
#include "ops.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHART_W 960
#define VALUE_W 200
#define ROW_H 44

/* o[key] as a string, "" when absent: what the page prints for a missing field. */
static const char *str(const cJSON *o, const char *key)
{
    const char *s = cli_json_str(o, key);
    return s ? s : "";
}

/* Writes s with &, <, >, " and ' escaped. */
static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* 12345678 as "12,345,678". */
static const char *grouped(double v, char *buf, size_t n)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t len = strlen(digits), k = 0;
    if (v < 0 && k + 1 < n)
        buf[k++] = '-';
    for (size_t i = 0; i < len && k + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = digits[i];
    }
    buf[k] = '\0';
    return buf;
}

/* The same with a sign; buf has room for it (48 bytes hold any double's digits). */
static const char *signed_grouped(double v, char *buf, size_t n)
{
    if (n < 2)
        return "";
    buf[0] = '+';
    grouped(v, buf + (v > 0), n - 1);
    return buf;
}

static void head(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", f);
    esc(f, title);
    fputs("</title>\n<style>\n"
          "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;"
          "margin:32px auto;max-width:1000px;padding:0 16px;line-height:1.45}\n"
          "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:36px 0 8px;"
          "border-top:1px solid #dde2ea;padding-top:20px}\n"
          ".sub{color:#5b6577;margin:0 0 18px}\n"
          ".cards{display:flex;gap:14px;flex-wrap:wrap;margin:10px 0 14px}\n"
          ".card{border:1px solid #dde2ea;border-radius:8px;padding:10px 16px;min-width:150px}\n"
          ".card b{display:block;font-size:22px}.card span{color:#5b6577;font-size:13px}\n"
          ".up{color:#b3261e}.down{color:#1e7d3a}.same{color:#5b6577}\n"
          "table{border-collapse:collapse;width:100%;font-size:13.5px;margin-top:10px}\n"
          "th,td{padding:5px 8px;border-bottom:1px solid #e8ebf0;text-align:right}\n"
          "th{background:#f4f6f9;font-weight:600}td.n,th.n{text-align:left;"
          "font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;word-break:break-all}\n"
          ".legend{font-size:13px;color:#5b6577}.legend i{display:inline-block;width:12px;"
          "height:12px;border-radius:2px;margin:0 5px -1px 12px}\n"
          ".note{color:#5b6577;font-size:13px;margin-top:36px;border-top:1px solid #dde2ea;"
          "padding-top:12px}\n"
          "svg text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}\n"
          "</style></head><body>\n<h1>", f);
    esc(f, title);
    fputs("</h1>\n<p class=\"sub\">Instructions each function of the model executed, counted "
          "exactly by microtvm-qemu on the emulated board (the same on every run).</p>\n", f);
}

static int by_self_desc(const void *x, const void *y)
{
    double a = cli_json_num(*(const cJSON *const *)x, "self_instructions");
    double b = cli_json_num(*(const cJSON *const *)y, "self_instructions");
    return a < b ? 1 : a > b ? -1 : 0;
}

/* The section's rows: with a baseline, cli_ops_compare's entries; else the run's operators. */
static size_t rows_of(const cJSON *list, const cJSON ***out)
{
    size_t n = (size_t)cJSON_GetArraySize(list), k = 0;
    const cJSON *op;
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return 0;
    cJSON_ArrayForEach(op, list) (*out)[k++] = op;
    return k;
}

static void card(FILE *f, const char *value, const char *label, const char *cls)
{
    fprintf(f, "<div class=\"card\"><b class=\"%s\">", cls);
    esc(f, value);
    fputs("</b><span>", f);
    esc(f, label);
    fputs("</span></div>\n", f);
}

/* Rows put the name on a line of its own above the bars: TVM's names are long. */
static void chart_single(FILE *f, const cJSON **rows, size_t n, const char *mod, double total)
{
    double max = 1;
    for (size_t i = 0; i < n; i++)
        max = fmax(max, cli_json_num(rows[i], "self_instructions"));
    double bar_w = CHART_W - VALUE_W;
    fprintf(f, "<p class=\"legend\">own instructions per function, largest first</p>\n"
               "<svg width=\"%d\" height=\"%zu\" viewBox=\"0 0 %d %zu\" role=\"img\">\n",
            CHART_W, n * ROW_H + 6, CHART_W, n * ROW_H + 6);
    for (size_t i = 0; i < n; i++) {
        double self = cli_json_num(rows[i], "self_instructions"), y = (double)i * ROW_H;
        double w = fmax(1, self / max * bar_w);
        char v[40];
        fprintf(f, "<text x=\"0\" y=\"%.0f\">", y + 14);
        esc(f, cli_ops_short_name(str(rows[i], "name"), mod));
        fprintf(f, "</text><rect x=\"0\" y=\"%.0f\" width=\"%.1f\" height=\"16\" rx=\"3\" "
                "fill=\"#3a6ed8\"/><text x=\"%.1f\" y=\"%.0f\">%s (%.1f%%)</text>\n", y + 20, w,
                w + 8, y + 33, grouped(self, v, sizeof v), total > 0 ? self * 100 / total : 0);
    }
    fputs("</svg>\n", f);
}

static void chart_compare(FILE *f, const cJSON **rows, size_t n, const char *mod)
{
    double max = 1;
    for (size_t i = 0; i < n; i++)
        max = fmax(max, fmax(cli_json_num(rows[i], "self_before"), cli_json_num(rows[i], "self_after")));
    double bar_w = CHART_W - VALUE_W;
    int row = ROW_H + 12;
    fprintf(f, "<p class=\"legend\">own instructions per function, biggest change first:"
               "<i style=\"background:#b7c0cf\"></i>baseline<i style=\"background:#3a6ed8\">"
               "</i>this run</p>\n");
    fprintf(f, "<svg width=\"%d\" height=\"%zu\" viewBox=\"0 0 %d %zu\" role=\"img\">\n", CHART_W,
            n * (size_t)row + 6, CHART_W, n * (size_t)row + 6);
    for (size_t i = 0; i < n; i++) {
        double b = cli_json_num(rows[i], "self_before"), a = cli_json_num(rows[i], "self_after");
        double d = cli_json_num(rows[i], "self_change"), y = (double)i * row;
        const char *color = d > 0 ? "#b3261e" : d < 0 ? "#1e7d3a" : "#5b6577";
        char v[48];
        fprintf(f, "<text x=\"0\" y=\"%.0f\">", y + 14);
        esc(f, cli_ops_short_name(str(rows[i], "name"), mod));
        fprintf(f, "</text><rect x=\"0\" y=\"%.0f\" width=\"%.1f\" height=\"10\" rx=\"2\" "
                "fill=\"#b7c0cf\"/><rect x=\"0\" y=\"%.0f\" width=\"%.1f\" height=\"14\" "
                "rx=\"2\" fill=\"#3a6ed8\"/>", y + 20, fmax(1, b / max * bar_w), y + 31,
                fmax(1, a / max * bar_w));
        double x = fmax(1, fmax(a, b) / max * bar_w) + 8;
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" fill=\"%s\" font-weight=\"%s\">%s", x, y + 40,
                color, d == 0 ? "normal" : "bold",
                d == 0 ? "unchanged" : signed_grouped(d, v, sizeof v));
        if (d != 0 && b > 0)
            fprintf(f, " (%+.1f%%)", d * 100 / b);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
}

static void table_single(FILE *f, const cJSON **rows, size_t n, double total)
{
    char a[40], b[40];
    fputs("<table><tr><th class=\"n\">function</th><th>calls</th><th>instructions "
          "(inclusive)</th><th>own instructions</th><th>share</th></tr>\n", f);
    for (size_t i = 0; i < n; i++) {
        fputs("<tr><td class=\"n\">", f);
        esc(f, str(rows[i], "name"));
        double self = cli_json_num(rows[i], "self_instructions");
        fprintf(f, "</td><td>%.0f</td><td>%s</td><td>%s</td><td>%.1f%%</td></tr>\n",
                cli_json_num(rows[i], "calls"), grouped(cli_json_num(rows[i], "instructions"), a, sizeof a),
                grouped(self, b, sizeof b), total > 0 ? self * 100 / total : 0);
    }
    fputs("</table>\n", f);
}

static void table_compare(FILE *f, const cJSON **rows, size_t n)
{
    char a[40], b[40], c[40], d[40];
    fputs("<table><tr><th class=\"n\">function</th><th>baseline (inclusive)</th><th>this run"
          "</th><th>change</th><th>change %</th><th>own change</th></tr>\n", f);
    for (size_t i = 0; i < n; i++) {
        const cJSON *r = rows[i];
        double ch = cli_json_num(r, "change");
        const char *cls = ch > 0 ? "up" : ch < 0 ? "down" : "same";
        fputs("<tr><td class=\"n\">", f);
        esc(f, str(r, "name"));
        fprintf(f, "</td><td>%s</td><td>%s</td><td class=\"%s\">%s</td><td class=\"%s\">",
                cJSON_IsNull(cli_json_item(r, "before")) ? "new" : grouped(cli_json_num(r, "before"), a, sizeof a),
                cJSON_IsNull(cli_json_item(r, "after")) ? "gone" : grouped(cli_json_num(r, "after"), b, sizeof b),
                cls, signed_grouped(ch, c, sizeof c), cls);
        if (cJSON_IsNumber(cli_json_item(r, "change_percent")))
            fprintf(f, "%+.2f%%", cli_json_num(r, "change_percent"));
        else
            fputs("-", f);
        fprintf(f, "</td><td>%s</td></tr>\n", signed_grouped(cli_json_num(r, "self_change"), d, sizeof d));
    }
    fputs("</table>\n", f);
}

static void section(FILE *f, const struct cli_report_section *s)
{
    const cJSON *run = s->run;
    const char *mod = str(run, "model");
    double total = cli_json_num(cli_json_item(run, "stats"), "instructions");
    char v[48], w[96];
    fputs("<h2>", f);
    esc(f, str(run, "board"));
    fputs(" &middot; model &lsquo;", f);
    esc(f, mod);
    fputs("&rsquo;</h2>\n<div class=\"cards\">\n", f);
    card(f, grouped(total, v, sizeof v), "instructions, whole model", "");
    const cJSON **rows = NULL;
    size_t n;
    if (s->baseline) {
        double before = cli_json_num(cli_json_item(s->baseline, "stats"), "instructions");
        card(f, grouped(before, v, sizeof v), "instructions, baseline", "same");
        double d = total - before;
        snprintf(w, sizeof w, "%s (%+.2f%%)", signed_grouped(d, v, sizeof v),
                 before > 0 ? d * 100 / before : 0);
        card(f, w, d > 0 ? "grew" : d < 0 ? "shrank" : "unchanged",
             d > 0 ? "up" : d < 0 ? "down" : "same");
        cJSON *changes = cli_ops_compare(s->baseline, run);
        n = rows_of(changes, &rows);
        size_t grew = 0, shrank = 0;
        for (size_t i = 0; i < n; i++) {
            grew += cli_json_num(rows[i], "self_change") > 0;
            shrank += cli_json_num(rows[i], "self_change") < 0;
        }
        snprintf(w, sizeof w, "%zu / %zu / %zu", grew, shrank, n - grew - shrank);
        card(f, w, "functions grew / shrank / same (own)", "same");
        fputs("</div>\n", f);
        chart_compare(f, rows, n, mod);
        table_compare(f, rows, n);
        free(rows);
        cJSON_Delete(changes);
        return;
    }
    const cJSON *ops = cli_ops_of(run);
    card(f, grouped((double)cJSON_GetArraySize(ops), v, sizeof v), "functions counted", "same");
    fputs("</div>\n", f);
    n = rows_of(ops, &rows);
    qsort(rows, n, sizeof *rows, by_self_desc);
    if (n == 0)
        fputs("<p>No per-operator counts in this run (a model without C sources, or built "
              "with MTQ_OPERATOR_COUNTS=OFF).</p>\n", f);
    else
        chart_single(f, rows, n, mod, total);
    table_single(f, rows, n, total);
    free(rows);
}

/* With several runs (demo --report, one per board): a table of their totals first. */
static void overview(FILE *f, const struct cli_report_section *s, size_t n)
{
    char v[48], w[48];
    fputs("<table><tr><th class=\"n\">board</th><th class=\"n\">model</th><th>instructions"
          "</th><th class=\"n\">largest operator (own instructions)</th></tr>\n", f);
    for (size_t i = 0; i < n; i++) {
        const cJSON *run = s[i].run, *op, *top = NULL;
        const char *mod = str(run, "model");
        double total = cli_json_num(cli_json_item(run, "stats"), "instructions");
        cJSON_ArrayForEach(op, cli_ops_of(run)) {
            if (!top || cli_json_num(op, "self_instructions") > cli_json_num(top, "self_instructions"))
                top = op;
        }
        fputs("<tr><td class=\"n\">", f);
        esc(f, str(run, "board"));
        fputs("</td><td class=\"n\">", f);
        esc(f, mod);
        fprintf(f, "</td><td>%s</td><td class=\"n\">", grouped(total, v, sizeof v));
        if (top) {
            esc(f, cli_ops_short_name(str(top, "name"), mod));
            fprintf(f, ": %s (%.1f%%)", grouped(cli_json_num(top, "self_instructions"), w, sizeof w),
                    total > 0 ? cli_json_num(top, "self_instructions") * 100 / total : 0);
        } else {
            fputs("-", f);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void foot(FILE *f)
{
    fputs("<p class=\"note\">Counts are instructions retired by the emulated CPU (QEMU, "
          "deterministic mode), not cycles: they track how much work the code does, exactly and "
          "identically on every run and host, but not pipeline stalls, memory wait states or "
          "caches of real silicon. <b>own</b> counts leave out the instrumented functions a "
          "function calls; <b>inclusive</b> counts keep them. The counting hooks' own "
          "instructions are left out of every number. Made by microtvm-qemu; field meanings: "
          "docs/RESULTS.md.</p>\n</body></html>\n", f);
}

int cli_report_write_sections(const char *path, const char *title,
                              const struct cli_report_section *s, size_t n, struct err *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return err_set(err, -errno, "--report %s: cannot write it: %s", path, strerror(errno));
    head(f, title);
    if (n > 1)
        overview(f, s, n);
    for (size_t i = 0; i < n; i++)
        section(f, &s[i]);
    foot(f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return err_set(err, -EIO, "--report %s: writing it failed (disk full?)", path);
    return 0;
}

int cli_report_write(const char *path, const cJSON *run, const cJSON *baseline, struct err *err)
{
    struct cli_report_section s = {run, baseline};
    return cli_report_write_sections(path, baseline ? "Instructions per operator, against "
                                     "the baseline" : "Instructions per operator", &s, 1, err);
}
