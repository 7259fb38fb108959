/*
 * `microtvm-qemu demo --all`, the README's main job, end to end on every board in machines/:
 * its table must show one row per board, every prediction correct and identical across
 * boards, outputs bit-exact with the generator's reference, and a positive count. Then, on
 * the projects it kept, `run --json` twice per board gives the same outputs and the same count
 * (deterministic mode: exactly the same, ticks too). Six firmwares are built once.
 */
#include "cli_run.h"

#include "asserts.h"
#include "runner.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/mtq-e2e-demo-XXXXXX";
static char kept[PATH_MAX];

static int suite_init(void)
{
    if (!mkdtemp(tmpdir))
        return -1;
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%s/cache", tmpdir);
    setenv("MTQ_CACHE_DIR", cache, 1); /* ours, not the user's ~/.cache */
    snprintf(kept, sizeof kept, "%s/projects", tmpdir);
    return 0;
}

static int suite_clean(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

/* Runs MTQ_CLI with args (NULL-terminated), stdin /dev/null, at most timeout_sec. */
static int run_cli(const char *const *args, int timeout_sec, char **out, char **errs)
{
    return cli_run_binary(tmpdir, args, NULL, timeout_sec, out, errs);
}

/* The boards: *.json in the source tree's machines/. */
static size_t board_count(void)
{
    DIR *d = opendir(MTQ_SOURCE_DIR "/machines");
    struct dirent *de;
    size_t n = 0;
    ASSERT_NOT_NULL_FATAL(d);
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        n += len > 5 && !strcmp(de->d_name + len - 5, ".json") && de->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static void test_demo_all_predicts_the_same_on_every_board(void)
{
    char *out, *errs;
    const char *args[] = {"demo", "--all", "--keep", kept, NULL};
    int status = run_cli(args, 1800, &out, &errs);
    ASSERT_EQ(status, 0);
    if (status != 0)
        fprintf(stderr, "\n%s\n%s\n", out, errs);
    printf("\n%s", out); /* the table, for the test log */

    /* BOARD CORRECT FIRST... rows: "<board> 10/10 <p> (label <l>) <exact> <count> <metric>
     * <ms> ms <bytes> B <build> s <run> s" */
    size_t boards = board_count(), rows = 0;
    char summary[64];
    snprintf(summary, sizeof summary, "same predictions on all %zu boards: yes\n", boards);
    ASSERT_STR_CONTAINS(out, summary);
    long first_pred = -2;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char board[64], correct[16], exact[16], metric[32];
        long pred, label;
        unsigned long long count;
        double ms;
        if (strncmp(line, "BOARD", 5) == 0 || strncmp(line, "same", 4) == 0 ||
            strncmp(line, "projects kept", 13) == 0)
            continue;
        int got = sscanf(line, "%63s %15s %ld (label %ld) %15s %llu %31s %lf ms", board,
                         correct, &pred, &label, exact, &count, metric, &ms);
        ASSERT_EQ(got, 8);
        if (got != 8) {
            fprintf(stderr, "unparsed row: %s\n", line);
            continue;
        }
        rows++;
        unsigned right, total, same, total2;
        ASSERT_TRUE(sscanf(correct, "%u/%u", &right, &total) == 2 && right == total && total > 0);
        ASSERT_TRUE(sscanf(exact, "%u/%u", &same, &total2) == 2 && same == total2);
        ASSERT_EQ(pred, label);
        if (first_pred == -2)
            first_pred = pred;
        ASSERT_EQ(pred, first_pred); /* the same prediction on every board */
        ASSERT_GT(count, 0);
        ASSERT_TRUE(!strcmp(metric, "ticks") || !strcmp(metric, "instructions"));
        ASSERT_GT(ms, 0);
    }
    ASSERT_EQ(rows, boards);
    free(out);
    ASSERT_STR_NOT_CONTAINS(errs, "error");
    free(errs);
}

/* run --json on a kept project: its count, metric and outputs' hex. */
static void run_json(const char *board, char *metric, size_t msz, double *count, char **hex)
{
    char proj[PATH_MAX + 64], *out, *errs;
    snprintf(proj, sizeof proj, "%s/%s", kept, board);
    const char *args[] = {"run", proj, "--json", NULL};
    int status = run_cli(args, 120, &out, &errs);
    ASSERT_EQ(status, 0);
    if (status)
        fprintf(stderr, "\n%s\n", errs);
    cJSON *r = cJSON_Parse(out);
    const cJSON *c = cJSON_GetObjectItem(r, "count");
    const cJSON *m = cJSON_GetObjectItem(c, "metric"), *v = cJSON_GetObjectItem(c, "value");
    const cJSON *h = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "outputs"),
                                                             "output"), "hex");
    snprintf(metric, msz, "%s", cJSON_IsString(m) ? m->valuestring : "");
    *count = cJSON_IsNumber(v) ? v->valuedouble : -1;
    *hex = strdup(cJSON_IsString(h) ? h->valuestring : "");
    cJSON_Delete(r);
    free(out);
    free(errs);
}

/* On every board: the same outputs twice, and the same count, instructions or ticks (the
 * firmware starts its timed region at a fixed phase of the tick: docs/RESULTS.md). */
static void test_run_json_twice_gives_identical_counts(void)
{
    DIR *d = opendir(MTQ_SOURCE_DIR "/machines");
    struct dirent *de;
    ASSERT_NOT_NULL_FATAL(d);
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len <= 5 || strcmp(de->d_name + len - 5, ".json") || de->d_name[0] == '.')
            continue;
        char board[64], m1[32], m2[32], *h1, *h2;
        double c1, c2;
        snprintf(board, sizeof board, "%.*s", (int)(len - 5), de->d_name);
        run_json(board, m1, sizeof m1, &c1, &h1);
        run_json(board, m2, sizeof m2, &c2, &h2);
        ASSERT_TRUE(!strcmp(m1, "ticks") || !strcmp(m1, "instructions"));
        ASSERT_STR_EQ(m1, m2);
        ASSERT_GT(c1, 0);
        ASSERT_EQ(c1, c2);
        ASSERT_TRUE(h1[0] && !strcmp(h1, h2));
        printf("(%s: %.0f, %.0f %s) ", board, c1, c2, m1);
        free(h1);
        free(h2);
    }
    closedir(d);
}

int test_register(void)
{
    if (access(MTQ_CLI, X_OK) < 0 || access(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh",
                                            X_OK) < 0) {
        printf("skipped: build the command line and the template first (%s)\n", MTQ_CLI);
        return TEST_SKIP;
    }
    signal(SIGPIPE, SIG_IGN);
    CU_pSuite s = CU_add_suite("e2e_demo", suite_init, suite_clean);
    CU_ADD_TEST(s, test_demo_all_predicts_the_same_on_every_board);
    CU_ADD_TEST(s, test_run_json_twice_gives_identical_counts);
    return TEST_RUN;
}
