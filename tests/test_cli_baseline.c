/*
 * The regression rule of `run --baseline FILE --max-regression PCT` (cli/baseline.h): which
 * count a run --json object is measured by, the percentage and the limit (strictly greater
 * fails), and the comparisons that must be refused (other board, other metric, zero count,
 * a file that is not a run --json output).
 */
#include "baseline.h"

#include <CUnit/Basic.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/mtq-test-cli-baseline-XXXXXX";

static int suite_init(void)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

/* A run --json object as `run` writes it (only the fields the rule reads, plus noise). */
static cJSON *run_json(const char *board, const char *metric, double value)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"schema\":1,\"board\":\"%s\",\"stats\":{\"ticks\":%g,\"instructions\":%s},"
             "\"count\":{\"metric\":\"%s\",\"value\":%.0f},\"host_wall_ms\":12.5}",
             board, value, strcmp(metric, "instructions") ? "null" : "1", metric, value);
    cJSON *j = cJSON_Parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

static void test_growth_beyond_the_limit_is_a_regression(void)
{
    cJSON *before = run_json("mps2-an385", "ticks", 1000);
    cJSON *after = run_json("mps2-an385", "ticks", 1051);
    struct cli_baseline_cmp c;
    struct err e;
    CU_ASSERT_EQUAL_FATAL(cli_baseline_compare(before, after, 5.0, &c, &e), 0);
    CU_ASSERT_DOUBLE_EQUAL(c.change_percent, 5.1, 1e-9);
    CU_ASSERT(c.regressed);
    CU_ASSERT_EQUAL(c.before.value, 1000);
    CU_ASSERT_EQUAL(c.after.value, 1051);
    CU_ASSERT_STRING_EQUAL(c.after.metric, "ticks");
    cJSON *j = cli_baseline_json(&c, "base.json");
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(j, "regressed")));
    CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(j, "change_percent")->valuedouble, 5.1, 1e-9);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "max_regression_percent")->valuedouble, 5.0);
    cJSON_Delete(j);
    cJSON_Delete(before);
    cJSON_Delete(after);
}

static void test_growth_exactly_at_the_limit_passes(void)
{
    cJSON *before = run_json("riscv32-virt", "instructions", 2000);
    cJSON *after = run_json("riscv32-virt", "instructions", 2100);
    struct cli_baseline_cmp c;
    struct err e;
    CU_ASSERT_EQUAL_FATAL(cli_baseline_compare(before, after, 5.0, &c, &e), 0);
    CU_ASSERT_DOUBLE_EQUAL(c.change_percent, 5.0, 1e-12);
    CU_ASSERT(!c.regressed);
    CU_ASSERT_STRING_EQUAL(c.after.metric, "instructions");
    cJSON_Delete(before);
    cJSON_Delete(after);
}

static void test_a_faster_run_or_no_limit_never_regresses(void)
{
    cJSON *before = run_json("b", "ticks", 400);
    cJSON *after = run_json("b", "ticks", 300);
    struct cli_baseline_cmp c;
    struct err e;
    CU_ASSERT_EQUAL(cli_baseline_compare(before, after, 0.0, &c, &e), 0);
    CU_ASSERT_DOUBLE_EQUAL(c.change_percent, -25.0, 1e-12);
    CU_ASSERT(!c.regressed);
    CU_ASSERT_EQUAL(cli_baseline_compare(after, before, -1, &c, &e), 0); /* no limit */
    CU_ASSERT(c.change_percent > 33 && !c.regressed);
    cJSON *j = cli_baseline_json(&c, "x");
    CU_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(j, "max_regression_percent")));
    cJSON_Delete(j);
    cJSON_Delete(before);
    cJSON_Delete(after);
}

/* Tick counts are exact now (timer_align): one tick more is a regression like one instruction
 * more, and the same count passes even a 0 % limit. */
static void test_one_tick_more_is_a_regression_like_one_instruction_more(void)
{
    cJSON *t0 = run_json("mps2-an505", "ticks", 306), *t1 = run_json("mps2-an505", "ticks", 307);
    cJSON *t0_again = run_json("mps2-an505", "ticks", 306);
    cJSON *i0 = run_json("riscv32-virt", "instructions", 306);
    cJSON *i1 = run_json("riscv32-virt", "instructions", 307);
    struct cli_baseline_cmp c;
    struct err e;
    CU_ASSERT_EQUAL(cli_baseline_compare(t0, t1, 0.0, &c, &e), 0);
    CU_ASSERT(c.change_percent > 0.3 && c.regressed);
    CU_ASSERT_EQUAL(cli_baseline_compare(t0, t1, 0.4, &c, &e), 0);
    CU_ASSERT_FALSE(c.regressed); /* +0.33 % is within a 0.4 % limit */
    CU_ASSERT_EQUAL(cli_baseline_compare(t0, t0_again, 0.0, &c, &e), 0);
    CU_ASSERT(c.change_percent == 0 && !c.regressed);
    CU_ASSERT_EQUAL(cli_baseline_compare(i0, i1, 0.0, &c, &e), 0);
    CU_ASSERT(c.regressed);
    cJSON_Delete(t0);
    cJSON_Delete(t1);
    cJSON_Delete(t0_again);
    cJSON_Delete(i0);
    cJSON_Delete(i1);
}

static void test_counts_of_other_boards_or_metrics_do_not_compare(void)
{
    cJSON *a = run_json("mps2-an385", "ticks", 400);
    cJSON *b = run_json("riscv32-virt", "ticks", 400);
    cJSON *c = run_json("mps2-an385", "instructions", 400);
    cJSON *z = run_json("mps2-an385", "ticks", 0);
    struct cli_baseline_cmp cmp;
    struct err e;
    CU_ASSERT_EQUAL(cli_baseline_compare(a, b, 1, &cmp, &e), ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "ran on mps2-an385, this run on riscv32-virt"));
    CU_ASSERT_EQUAL(cli_baseline_compare(a, c, 1, &cmp, &e), ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "counts ticks, this run counts instructions"));
    CU_ASSERT_EQUAL(cli_baseline_compare(z, a, 1, &cmp, &e), ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "count is 0"));
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
    cJSON_Delete(z);
}

static void test_an_object_without_count_falls_back_to_the_stats(void)
{
    struct cli_count c;
    struct err e;
    cJSON *j = cJSON_Parse("{\"stats\":{\"ticks\":7,\"instructions\":99}}");
    CU_ASSERT_EQUAL(cli_count_of(j, &c, &e), 0);
    CU_ASSERT_STRING_EQUAL(c.metric, "instructions");
    CU_ASSERT_EQUAL(c.value, 99);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"stats\":{\"ticks\":7,\"instructions\":null}}");
    CU_ASSERT_EQUAL(cli_count_of(j, &c, &e), 0);
    CU_ASSERT_STRING_EQUAL(c.metric, "ticks");
    CU_ASSERT_EQUAL(c.value, 7);
    cJSON_Delete(j);
    const char *bad[] = {"{}", "{\"count\":{\"metric\":\"cycles\",\"value\":1}}",
                         "{\"count\":{\"metric\":\"ticks\",\"value\":1.5}}",
                         "{\"count\":{\"metric\":\"ticks\",\"value\":-1}}"};
    for (size_t i = 0; i < 4; i++) {
        j = cJSON_Parse(bad[i]);
        CU_ASSERT_EQUAL(cli_count_of(j, &c, &e), ERR_INVALID);
        cJSON_Delete(j);
    }
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_a_baseline_file_must_be_a_run_json_output(void)
{
    char path[PATH_MAX];
    cJSON *j = NULL;
    struct err e;
    snprintf(path, sizeof path, "%s/base.json", tmpdir);
    write_text(path, "{\"count\":{\"metric\":\"ticks\",\"value\":383}}\n");
    CU_ASSERT_EQUAL(cli_baseline_load(path, &j, &e), 0);
    CU_ASSERT(cJSON_IsObject(j));
    cJSON_Delete(j);
    j = NULL;
    write_text(path, "{\"count\": ");
    CU_ASSERT_EQUAL(cli_baseline_load(path, &j, &e), ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not a JSON object"));
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "run --json"));
    write_text(path, "{\"machines\": []}");
    CU_ASSERT_EQUAL(cli_baseline_load(path, &j, &e), ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "not the output of 'microtvm-qemu run --json'"));
    snprintf(path, sizeof path, "%s/missing.json", tmpdir);
    CU_ASSERT(cli_baseline_load(path, &j, &e) < 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "missing.json"));
    CU_ASSERT_PTR_NULL(j);
}

static void test_percentages_parse_with_or_without_a_sign(void)
{
    double v = -1;
    struct err e;
    CU_ASSERT(cli_parse_percent("5", &v, &e) == 0 && v == 5);
    CU_ASSERT(cli_parse_percent("0.5%", &v, &e) == 0 && v == 0.5);
    CU_ASSERT(cli_parse_percent("0", &v, &e) == 0 && v == 0);
    const char *bad[] = {"", "-1", "five", "5%%", "nan", "inf", "5 %"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(cli_parse_percent(bad[i], &v, &e), ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "--max-regression"));
    }
}

int main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("cli_baseline", suite_init, suite_clean);
    CU_ADD_TEST(s, test_growth_beyond_the_limit_is_a_regression);
    CU_ADD_TEST(s, test_growth_exactly_at_the_limit_passes);
    CU_ADD_TEST(s, test_a_faster_run_or_no_limit_never_regresses);
    CU_ADD_TEST(s, test_one_tick_more_is_a_regression_like_one_instruction_more);
    CU_ADD_TEST(s, test_counts_of_other_boards_or_metrics_do_not_compare);
    CU_ADD_TEST(s, test_an_object_without_count_falls_back_to_the_stats);
    CU_ADD_TEST(s, test_a_baseline_file_must_be_a_run_json_output);
    CU_ADD_TEST(s, test_percentages_parse_with_or_without_a_sign);
    if (CU_get_error() != CUE_SUCCESS)
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return bad != 0;
}
