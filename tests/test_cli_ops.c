/*
 * Unit tests (label unit) for the per-operator counts on the host side: the op: lines of run%
 * (cli/aot.c), the operators list and its comparison with a baseline (cli/ops.c: a slowed
 * operator must be the one named first), the terminal bars, and the HTML report (cli/report.c:
 * it must list every operator and both totals, with the names escaped).
 */
#include "aot.h"
#include "asserts.h"
#include "fs.h"
#include "ops.h"
#include "report.h"
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const reply =
    "output:0:out:int8:ff01\n"
    "stats:ticks=30:hz=25000000:ns=1200:instret=1000:rc=0:workspace=32:hidden=77\n"
    "op:1:990:10:tvmgen_default_run\n"
    "op:1:980:80:tvmgen_default___tvm_main__\n"
    "op:1:600:600:tvmgen_default_fused_conv2d\n"
    "op:2:300:300:tvmgen_default_fused_dense\n"
    "done\n";

/* A run --json-like object with the operators of a reply. */
static cJSON *run_of(const char *text)
{
    struct cli_aot_result *r = calloc(1, sizeof *r);
    struct err e;
    cJSON *o = NULL;
    if (r && cli_aot_parse_run(text, NULL, r, &e) == 0) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "board", "mps2-an385");
        cJSON_AddStringToObject(o, "model", "default");
        cJSON *st = cJSON_AddObjectToObject(o, "stats");
        cJSON_AddNumberToObject(st, "instructions", (double)r->stats.instret);
        cJSON_AddItemToObject(o, "operators", cli_ops_json(r, r->stats.instret));
        cli_aot_result_close(r);
    }
    free(r);
    return o;
}

static void test_op_lines_are_parsed(void)
{
    struct cli_aot_op op;
    struct err e;
    ASSERT_OK(cli_aot_parse_op("op:2:300:250:tvmgen_default_fused_dense", &op, &e), &e);
    ASSERT_EQ(op.calls, 2);
    ASSERT_EQ(op.inclusive, 300);
    ASSERT_EQ(op.self, 250);
    ASSERT_STR_EQ(op.name, "tvmgen_default_fused_dense");
    ASSERT_EQ(cli_aot_parse_op("op:2:300:tvmgen", &op, &e), ERR_INVALID);
    ASSERT_EQ(cli_aot_parse_op("op:2:300:1:", &op, &e), ERR_INVALID);
    ASSERT_EQ(cli_aot_parse_op("op:x:300:1:f", &op, &e), ERR_INVALID);

    struct cli_aot_result *r = calloc(1, sizeof *r);
    ASSERT_OK_FATAL(cli_aot_parse_run(reply, NULL, r, &e), &e);
    ASSERT_EQ(r->n_ops, 4);
    ASSERT_EQ(r->stats.hidden, 77);
    ASSERT_STR_EQ(r->ops[2].name, "tvmgen_default_fused_conv2d");
    cli_aot_result_close(r);
    /* op lines belong after the stats line */
    ASSERT_EQ(cli_aot_parse_run("op:1:1:1:f\nstats:ticks=1:hz=1:rc=0\ndone\n", NULL, r, &e),
              ERR_INVALID);
    free(r);
}

static void test_a_slowed_operator_is_named_first(void)
{
    cJSON *before = run_of(reply);
    char *slower = strdup(reply);
    ASSERT_NOT_NULL_FATAL(slower);
    /* the dense operator takes 30 instructions more, and so do its callers' inclusive counts */
    char *p = strstr(slower, "op:2:300:300");
    memcpy(p, "op:2:330:330", 12);
    memcpy(strstr(slower, "instret=1000"), "instret=1030", 12);
    memcpy(strstr(slower, "op:1:990:10"), "op:1:999:10", 11); /* stand-in for 1020 */
    cJSON *after = run_of(slower);
    cJSON *changes = cli_ops_compare(before, after);
    ASSERT_EQ_FATAL(cJSON_GetArraySize(changes), 4);
    const cJSON *first = cJSON_GetArrayItem(changes, 0);
    ASSERT_STR_EQ(cJSON_GetObjectItem(first, "name")->valuestring, "tvmgen_default_fused_dense");
    ASSERT_EQ(cJSON_GetObjectItem(first, "change")->valuedouble, 30);
    ASSERT_EQ(cJSON_GetObjectItem(first, "change_percent")->valuedouble, 10);
    ASSERT_EQ(cJSON_GetObjectItem(first, "self_change")->valuedouble, 30);
    const cJSON *last = cJSON_GetArrayItem(changes, 3);
    ASSERT_EQ(cJSON_GetObjectItem(last, "change")->valuedouble, 0);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_ops_print_changes(f, changes, "default", 8);
    fclose(f);
    ASSERT_STR_CONTAINS(text, "grew");
    ASSERT_STR_CONTAINS(text, "300 -> 330");
    ASSERT_STR_CONTAINS(text, "fused_dense");
    ASSERT_STR_NOT_CONTAINS(text, "fused_conv2d"); /* unchanged: not listed */
    free(text);
    cJSON_Delete(changes);

    /* an operator that appears or goes is reported as such */
    cJSON *ops = cJSON_GetObjectItem(after, "operators");
    cJSON_DeleteItemFromArray(ops, 2);
    changes = cli_ops_compare(before, after);
    bool gone = false;
    const cJSON *c;
    cJSON_ArrayForEach(c, changes) gone |= cJSON_IsNull(cJSON_GetObjectItem(c, "after"));
    ASSERT_TRUE(gone);
    cJSON_Delete(changes);
    cJSON_Delete(before);
    cJSON_Delete(after);
    free(slower);
}

static void test_the_terminal_shows_the_top_operators_with_bars(void)
{
    cJSON *run = run_of(reply);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cli_ops_print_top(f, run, 2);
    fclose(f);
    /* conv2d first (600 of 1000: 18 of 30 marks), dense next, then "2 more" */
    const char *conv = strstr(text, "fused_conv2d"), *dense = strstr(text, "fused_dense");
    ASSERT_TRUE(conv && dense && conv < dense);
    ASSERT_STR_CONTAINS(text, "##################............  60.0%");
    ASSERT_STR_CONTAINS(text, "2 more");
    ASSERT_STR_NOT_CONTAINS(text, "tvmgen_default_"); /* the common prefix is dropped */
    free(text);
    cJSON_Delete(run);
    ASSERT_STR_EQ(cli_ops_short_name("tvmgen_default_fused_x", "default"), "fused_x");
    ASSERT_STR_EQ(cli_ops_short_name("tvmgen_other_x", "default"), "tvmgen_other_x");
    ASSERT_STR_EQ(cli_ops_short_name("tvmgen_default_", "default"), "tvmgen_default_");
}

static char *write_report(const cJSON *run, const cJSON *baseline)
{
    char path[] = "/tmp/mtq-test-report-XXXXXX";
    int fd = mkstemp(path);
    struct err e;
    char *text = NULL;
    size_t len = 0;
    if (fd < 0)
        return NULL;
    close(fd);
    if (cli_report_write(path, run, baseline, &e) == 0)
        fs_read_file(path, 0, &text, &len, &e);
    unlink(path);
    return text;
}

static void test_the_report_lists_every_operator_and_both_totals(void)
{
    cJSON *before = run_of(reply);
    char *changed = strdup(reply);
    memcpy(strstr(changed, "instret=1000"), "instret=1234", 12);
    memcpy(strstr(changed, "op:1:600:600"), "op:1:834:834", 12);
    /* a name with markup must arrive as text */
    char *name = strstr(changed, "tvmgen_default_fused_dense");
    memcpy(name + 15, "<b>&'\"", 6);
    cJSON *after = run_of(changed);
    char *page = write_report(after, NULL);
    ASSERT_NOT_NULL_FATAL(page);
    ASSERT_STRN_EQ(page, "<!DOCTYPE html>", 15);
    ASSERT_STR_CONTAINS(page, "</html>");
    ASSERT_STR_CONTAINS(page, "1,234");
    const cJSON *op;
    cJSON_ArrayForEach(op, cJSON_GetObjectItem(after, "operators")) {
        const char *n = cJSON_GetObjectItem(op, "name")->valuestring;
        if (!strchr(n, '<'))
            ASSERT_STR_CONTAINS(page, n);
    }
    ASSERT_STR_NOT_CONTAINS(page, "<b>&'"); /* escaped */
    ASSERT_STR_CONTAINS(page, "&lt;b&gt;&amp;&#39;&quot;");
    ASSERT_STR_NOT_CONTAINS(page, "<script");
    free(page);

    page = write_report(after, before);
    ASSERT_NOT_NULL_FATAL(page);
    ASSERT_STR_CONTAINS(page, "1,234"); /* this run's total */
    ASSERT_STR_CONTAINS(page, "1,000"); /* the baseline's */
    ASSERT_STR_CONTAINS(page, "+234 (+23.40%)");
    ASSERT_STR_CONTAINS(page, "tvmgen_default_fused_conv2d");
    ASSERT_STR_CONTAINS(page, "tvmgen_default___tvm_main__");
    free(page);

    /* several runs (demo --report): an overview of their totals, then a section each */
    cJSON_ReplaceItemInObject(before, "board", cJSON_CreateString("riscv32-virt"));
    struct cli_report_section two[] = {{after, NULL}, {before, NULL}};
    char path[] = "/tmp/mtq-test-report-XXXXXX";
    int fd = mkstemp(path);
    struct err e;
    size_t len = 0;
    ASSERT_GE_FATAL(fd, 0);
    close(fd);
    ASSERT_OK(cli_report_write_sections(path, "t", two, 2, &e), &e);
    ASSERT_OK(fs_read_file(path, 0, &page, &len, &e), &e);
    unlink(path);
    const char *overview = page ? strstr(page, "largest operator") : NULL;
    ASSERT_NOT_NULL(overview);
    if (overview) {
        const char *a = strstr(overview, "mps2-an385"), *b = strstr(overview, "riscv32-virt");
        ASSERT_TRUE(a && b && a < b);
        ASSERT_STR_CONTAINS(overview, "fused_conv2d: 834 (67.6%)");
    }
    free(page);

    ASSERT_LT(cli_report_write("/nonexistent-dir/x.html", after, NULL, &e), 0);
    ASSERT_STR_CONTAINS(e.msg, "/nonexistent-dir/x.html");
    cJSON_Delete(before);
    cJSON_Delete(after);
    free(changed);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("cli_ops", NULL, NULL);
    CU_ADD_TEST(s, test_op_lines_are_parsed);
    CU_ADD_TEST(s, test_a_slowed_operator_is_named_first);
    CU_ADD_TEST(s, test_the_terminal_shows_the_top_operators_with_bars);
    CU_ADD_TEST(s, test_the_report_lists_every_operator_and_both_totals);
    return TEST_RUN;
}
