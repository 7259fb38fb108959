/*
 * The regression rule of `run --baseline FILE --max-regression PCT` (cli/baseline.h): which
 * count a run --json object is measured by, the percentage and the limit (strictly greater
 * fails), and the comparisons that must be refused (other board, other metric, zero count,
 * a file that is not a run --json output).
 */
#include "baseline.h"

#include "asserts.h"
#include "runner.h"

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
    ASSERT_NOT_NULL_FATAL(j);
    return j;
}

static void test_growth_beyond_the_limit_is_a_regression(void)
{
    cJSON *before = run_json("mps2-an385", "ticks", 1000);
    cJSON *after = run_json("mps2-an385", "ticks", 1051);
    struct cli_baseline_cmp c;
    struct err e;
    ASSERT_OK_FATAL(cli_baseline_compare(before, after, 5.0, &c, &e), &e);
    ASSERT_DOUBLE_EQ(c.change_percent, 5.1, 1e-9);
    ASSERT_TRUE(c.regressed);
    ASSERT_EQ(c.before.value, 1000);
    ASSERT_EQ(c.after.value, 1051);
    ASSERT_STR_EQ(c.after.metric, "ticks");
    cJSON *j = cli_baseline_json(&c, "base.json");
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(j, "regressed")));
    ASSERT_DOUBLE_EQ(cJSON_GetObjectItem(j, "change_percent")->valuedouble, 5.1, 1e-9);
    ASSERT_EQ(cJSON_GetObjectItem(j, "max_regression_percent")->valuedouble, 5.0);
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
    ASSERT_OK_FATAL(cli_baseline_compare(before, after, 5.0, &c, &e), &e);
    ASSERT_DOUBLE_EQ(c.change_percent, 5.0, 1e-12);
    ASSERT_FALSE(c.regressed);
    ASSERT_STR_EQ(c.after.metric, "instructions");
    cJSON_Delete(before);
    cJSON_Delete(after);
}

static void test_a_faster_run_or_no_limit_never_regresses(void)
{
    cJSON *before = run_json("b", "ticks", 400);
    cJSON *after = run_json("b", "ticks", 300);
    struct cli_baseline_cmp c;
    struct err e;
    ASSERT_OK(cli_baseline_compare(before, after, 0.0, &c, &e), &e);
    ASSERT_DOUBLE_EQ(c.change_percent, -25.0, 1e-12);
    ASSERT_FALSE(c.regressed);
    ASSERT_OK(cli_baseline_compare(after, before, -1, &c, &e), &e); /* no limit */
    ASSERT_TRUE(c.change_percent > 33 && !c.regressed);
    cJSON *j = cli_baseline_json(&c, "x");
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(j, "max_regression_percent")));
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
    ASSERT_OK(cli_baseline_compare(t0, t1, 0.0, &c, &e), &e);
    ASSERT_TRUE(c.change_percent > 0.3 && c.regressed);
    ASSERT_OK(cli_baseline_compare(t0, t1, 0.4, &c, &e), &e);
    ASSERT_FALSE(c.regressed); /* +0.33 % is within a 0.4 % limit */
    ASSERT_OK(cli_baseline_compare(t0, t0_again, 0.0, &c, &e), &e);
    ASSERT_TRUE(c.change_percent == 0 && !c.regressed);
    ASSERT_OK(cli_baseline_compare(i0, i1, 0.0, &c, &e), &e);
    ASSERT_TRUE(c.regressed);
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
    ASSERT_EQ(cli_baseline_compare(a, b, 1, &cmp, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "ran on mps2-an385, this run on riscv32-virt");
    ASSERT_EQ(cli_baseline_compare(a, c, 1, &cmp, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "counts ticks, this run counts instructions");
    ASSERT_EQ(cli_baseline_compare(z, a, 1, &cmp, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "count is 0");
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
    ASSERT_OK(cli_count_of(j, &c, &e), &e);
    ASSERT_STR_EQ(c.metric, "instructions");
    ASSERT_EQ(c.value, 99);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"stats\":{\"ticks\":7,\"instructions\":null}}");
    ASSERT_OK(cli_count_of(j, &c, &e), &e);
    ASSERT_STR_EQ(c.metric, "ticks");
    ASSERT_EQ(c.value, 7);
    cJSON_Delete(j);
    const char *bad[] = {"{}", "{\"count\":{\"metric\":\"cycles\",\"value\":1}}",
                         "{\"count\":{\"metric\":\"ticks\",\"value\":1.5}}",
                         "{\"count\":{\"metric\":\"ticks\",\"value\":-1}}"};
    for (size_t i = 0; i < 4; i++) {
        j = cJSON_Parse(bad[i]);
        ASSERT_EQ(cli_count_of(j, &c, &e), ERR_INVALID);
        cJSON_Delete(j);
    }
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL_FATAL(f);
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
    ASSERT_OK(cli_baseline_load(path, &j, &e), &e);
    ASSERT_TRUE(cJSON_IsObject(j));
    cJSON_Delete(j);
    j = NULL;
    write_text(path, "{\"count\": ");
    ASSERT_EQ(cli_baseline_load(path, &j, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "not a JSON object");
    ASSERT_STR_CONTAINS(e.msg, "run --json");
    write_text(path, "{\"machines\": []}");
    ASSERT_EQ(cli_baseline_load(path, &j, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "not the output of 'microtvm-qemu run --json'");
    snprintf(path, sizeof path, "%s/missing.json", tmpdir);
    ASSERT_LT(cli_baseline_load(path, &j, &e), 0);
    ASSERT_STR_CONTAINS(e.msg, "missing.json");
    ASSERT_NULL(j);
}

static void test_percentages_parse_with_or_without_a_sign(void)
{
    double v = -1;
    struct err e;
    ASSERT_TRUE(cli_parse_percent("5", &v, &e) == 0 && v == 5);
    ASSERT_TRUE(cli_parse_percent("0.5%", &v, &e) == 0 && v == 0.5);
    ASSERT_TRUE(cli_parse_percent("0", &v, &e) == 0 && v == 0);
    const char *bad[] = {"", "-1", "five", "5%%", "nan", "inf", "5 %"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_EQ(cli_parse_percent(bad[i], &v, &e), ERR_INVALID);
        ASSERT_STR_CONTAINS(e.msg, "--max-regression");
    }
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("cli_baseline", suite_init, suite_clean);
    CU_ADD_TEST(s, test_growth_beyond_the_limit_is_a_regression);
    CU_ADD_TEST(s, test_growth_exactly_at_the_limit_passes);
    CU_ADD_TEST(s, test_a_faster_run_or_no_limit_never_regresses);
    CU_ADD_TEST(s, test_one_tick_more_is_a_regression_like_one_instruction_more);
    CU_ADD_TEST(s, test_counts_of_other_boards_or_metrics_do_not_compare);
    CU_ADD_TEST(s, test_an_object_without_count_falls_back_to_the_stats);
    CU_ADD_TEST(s, test_a_baseline_file_must_be_a_run_json_output);
    CU_ADD_TEST(s, test_percentages_parse_with_or_without_a_sign);
    return TEST_RUN;
}
