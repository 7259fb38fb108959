/*
 * The test framework itself (tests/support/runner.c and asserts.c): a failing assertion must
 * fail its test, print both values with file:line, and end the test only when fatal; the
 * program's exit status must say failed, passed or skipped. Failures are shown by running this
 * program again with a mode argument (--fail-on-purpose...), whose tests fail deliberately, and
 * reading its output and status. What checks the framework is CUnit's own CU_ASSERT, not the
 * macros under test: a broken ASSERT_* would otherwise pass its own tests.
 */
#include "asserts.h"
#include "runner.h"

#include "err.h"
#include "mono.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_TIMEOUT_MS 30000

/* ---- what the modes run: tests that fail on purpose ---- */

static void fails_on_numbers(void)
{
    int two = 2, neg = -3, rc = ERR_CLOSED;
    size_t big = SIZE_MAX;
    double took = 0.25;
    ASSERT_EQ(two + 2, 5);
    ASSERT_GT(neg, 0);
    ASSERT_EQ(big, 0);
    ASSERT_EQ(rc, ERR_TIMEOUT);
    ASSERT_NE(4, 4);
    ASSERT_LT(took, 0.2);
    ASSERT_EQ(two == 2, false); /* printed as written: not 0 for false */
}

static void fails_on_a_call_with_its_error_message(void)
{
    struct err e = {0};
    int rc = err_set(&e, ERR_TOOL, "cmake exited with 1 (see build/log.txt)");
    ASSERT_OK(rc, &e);
}

static void fails_on_strings_showing_them_escaped(void)
{
    const char *reply = "no\tgood\n", *msg = "bad value", *none = NULL, *word = "port";
    char long_a[1001], long_b[1001];
    memset(long_a, 'a', 1000);
    long_a[1000] = '\0';
    memcpy(long_b, long_a, sizeof long_b);
    long_b[700] = 'B';
    ASSERT_STR_EQ(reply, "ok");
    ASSERT_STR_CONTAINS(msg, "port");
    ASSERT_STR_NOT_CONTAINS(msg, "val");
    ASSERT_STR_EQ(none, "x");
    ASSERT_STR_EQ(long_a, long_b);
    ASSERT_STRN_EQ(reply, "nob", 3);
    ASSERT_STR_CONTAINS(msg, word);
}

static void fails_on_bytes_pointers_and_truth(void)
{
    const unsigned char got[] = {1, 2, 3, 4}, want[] = {1, 2, 9, 4};
    const char *p = NULL;
    bool flag = false;
    ASSERT_MEM_EQ(got, want, 4);
    ASSERT_NOT_NULL(p);
    ASSERT_TRUE(flag);
    ASSERT_DOUBLE_EQ(0.5, 0.25, 0.125);
    TEST_FAIL("%d bytes short", 3);
}

static void stops_at_a_fatal_failure_only(void)
{
    int one = 1;
    ASSERT_EQ(one, 2);
    printf("reached after a plain failure\n");
    ASSERT_EQ_FATAL(one, 3);
    printf("reached after a fatal failure\n");
}

static void passes(void)
{
    ASSERT_TRUE(true);
}

static int init_that_fails(void)
{
    return 1;
}

static int init_sees(void *data)
{
    printf("init sees %s\n", (const char *)data);
    return 0;
}

static int end_hook_that_reports(void)
{
    printf("end hook ran\n");
    return 0;
}

static int end_hook_that_finds_a_leftover(void)
{
    printf("end hook found a leftover\n");
    return 1;
}

/* A child that calls itself QEMU and dies with its parent, for the runner's leak check. */
static int leave_a_qemu_behind(void)
{
    int ready[2];
    if (pipe(ready) < 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        prctl(PR_SET_NAME, "qemu-system-fake");
        close(ready[0]);
        close(ready[1]); /* the name is set: the parent may look */
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c;
    while (read(ready[0], &c, 1) < 0 && errno == EINTR)
        ;
    close(ready[0]);
    return pid > 0 ? TEST_RUN : 1;
}

/* Registers what mode asks for; TEST_RUN to run it, else an exit status. */
static int register_mode(const char *mode)
{
    CU_pSuite s = NULL;
    if (!strcmp(mode, "--fail-on-purpose")) {
        s = CU_add_suite("failing on purpose", NULL, NULL);
        CU_ADD_TEST(s, fails_on_numbers);
        CU_ADD_TEST(s, fails_on_a_call_with_its_error_message);
        CU_ADD_TEST(s, fails_on_strings_showing_them_escaped);
        CU_ADD_TEST(s, fails_on_bytes_pointers_and_truth);
        CU_ADD_TEST(s, stops_at_a_fatal_failure_only);
        return TEST_RUN;
    }
    if (!strcmp(mode, "--pass-with-data")) {
        s = test_add_suite_with("with data", init_sees, NULL, "the board");
        CU_ADD_TEST(s, passes);
        test_at_end(end_hook_that_reports);
        return TEST_RUN;
    }
    if (!strcmp(mode, "--skip")) {
        test_at_end(end_hook_that_reports);
        printf("skipped: on purpose\n");
        return TEST_SKIP;
    }
    if (!strcmp(mode, "--failing-init")) {
        s = CU_add_suite("init fails", init_that_fails, NULL);
        CU_ADD_TEST(s, passes);
        return TEST_RUN;
    }
    if (!strcmp(mode, "--failing-registration")) {
        CU_ADD_TEST(s, passes); /* no suite: CUnit records CUE_NOSUITE */
        return TEST_RUN;
    }
    if (!strcmp(mode, "--leftover")) {
        s = CU_add_suite("passing", NULL, NULL);
        CU_ADD_TEST(s, passes);
        test_at_end(end_hook_that_finds_a_leftover);
        return TEST_RUN;
    }
    if (!strcmp(mode, "--qemu-left")) {
        s = CU_add_suite("passing", NULL, NULL);
        CU_ADD_TEST(s, passes);
        return leave_a_qemu_behind();
    }
    fprintf(stderr, "test_runner: unknown mode %s\n", mode);
    return 2;
}

/* ---- running this program in a mode ---- */

/* Runs this program with mode; *out gets stdout and stderr together (caller frees). Returns
 * the exit status, or -1 when it did not exit (killed after CHILD_TIMEOUT_MS). */
static int run_mode(const char *mode, char **out)
{
    int pipefd[2];
    size_t len = 0, cap = 1 << 16;
    *out = calloc(1, cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*out);
    CU_ASSERT_EQUAL_FATAL(pipe2(pipefd, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        execl("/proc/self/exe", test_argv[0], mode, (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    int64_t deadline = mono_now_ms() + CHILD_TIMEOUT_MS;
    struct pollfd p = {pipefd[0], POLLIN, 0};
    while (pid > 0 && mono_now_ms() < deadline && poll(&p, 1, 100) >= 0) {
        if (!p.revents)
            continue;
        ssize_t n = read(pipefd[0], *out + len, cap - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap - 1)
            break;
    }
    close(pipefd[0]);
    int status = 0;
    if (pid > 0 && mono_now_ms() >= deadline)
        kill(pid, SIGKILL);
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The line of this file whose text, without its indent, is exactly statement. */
static int line_of(const char *statement)
{
    FILE *f = fopen(__FILE__, "r");
    char line[512];
    int found = 0;
    for (int n = 1; f && !found && fgets(line, sizeof line, f); n++) {
        char *s = line + strspn(line, " ");
        s[strcspn(s, "\n")] = '\0';
        if (!strcmp(s, statement))
            found = n;
    }
    if (f)
        fclose(f);
    return found;
}

static bool contains(const char *out, const char *part)
{
    if (!strstr(out, part))
        fprintf(stderr, "\n    the report lacks: %s\n", part);
    return strstr(out, part) != NULL;
}

/* out holds CUnit's report of statement failing with message: "file:line  - message". */
static void assert_reported(const char *out, const char *statement, const char *message)
{
    char want[1024];
    int line = line_of(statement);
    CU_ASSERT(line > 0);
    snprintf(want, sizeof want, "%s:%d  - %s\n", __FILE__, line, message);
    CU_ASSERT(contains(out, want));
}

/* ---- the tests ---- */

static void test_failing_number_assertions_fail_and_print_both_values(void)
{
    char *out = NULL;
    CU_ASSERT_EQUAL(run_mode("--fail-on-purpose", &out), 1);
    assert_reported(out, "ASSERT_EQ(two + 2, 5);", "ASSERT_EQ(two + 2, 5): two + 2 is 4");
    assert_reported(out, "ASSERT_GT(neg, 0);", "ASSERT_GT(neg, 0): neg is -3");
    assert_reported(out, "ASSERT_EQ(big, 0);", "ASSERT_EQ(big, 0): big is 18446744073709551615");
    assert_reported(out, "ASSERT_EQ(rc, ERR_TIMEOUT);",
                    "ASSERT_EQ(rc, ERR_TIMEOUT): rc is -997, ERR_TIMEOUT is -998");
    assert_reported(out, "ASSERT_NE(4, 4);", "ASSERT_NE(4, 4): 4 != 4 is false");
    assert_reported(out, "ASSERT_LT(took, 0.2);", "ASSERT_LT(took, 0.2): took is 0.25");
    assert_reported(out, "ASSERT_EQ(two == 2, false); /* printed as written: not 0 for false */",
                    "ASSERT_EQ(two == 2, false): two == 2 is 1, false is 0");
    assert_reported(out, "ASSERT_OK(rc, &e);",
                    "ASSERT_OK(rc, &e): returned -994: cmake exited with 1 (see build/log.txt)");
    free(out);
}

static void test_failing_string_and_byte_assertions_show_where_they_differ(void)
{
    char *out = NULL;
    CU_ASSERT_EQUAL(run_mode("--fail-on-purpose", &out), 1);
    assert_reported(out, "ASSERT_STR_EQ(reply, \"ok\");",
                    "ASSERT_STR_EQ(reply, \"ok\"): reply is \"no\\tgood\\n\"");
    assert_reported(out, "ASSERT_STR_CONTAINS(msg, \"port\");",
                    "ASSERT_STR_CONTAINS(msg, \"port\"): msg is \"bad value\"");
    assert_reported(out, "ASSERT_STR_NOT_CONTAINS(msg, \"val\");",
                    "ASSERT_STR_NOT_CONTAINS(msg, \"val\"): found at byte 4 of msg: "
                    "\"bad value\"");
    assert_reported(out, "ASSERT_STR_CONTAINS(msg, word);",
                    "ASSERT_STR_CONTAINS(msg, word): msg is \"bad value\", word is \"port\"");
    assert_reported(out, "ASSERT_STR_EQ(none, \"x\");",
                    "ASSERT_STR_EQ(none, \"x\"): none is NULL");
    assert_reported(out, "ASSERT_STRN_EQ(reply, \"nob\", 3);",
                    "ASSERT_STRN_EQ(reply, \"nob\", 3): the first 3 bytes differ: \"no\\t\" and "
                    "\"nob\"");
    CU_ASSERT(contains(out, "ASSERT_STR_EQ(long_a, long_b): they differ first at byte 700: "
                             "long_a has ...\"aaaa"));
    CU_ASSERT(contains(out, "\"... (1000 bytes in all), long_b has ...\"aaaa"));
    CU_ASSERT(contains(out, "aaaBaaa"));
    assert_reported(out, "ASSERT_MEM_EQ(got, want, 4);",
                    "ASSERT_MEM_EQ(got, want, 4): they differ first at byte 2 of 4: "
                    "01 02 [03] 04 and 01 02 [09] 04");
    assert_reported(out, "ASSERT_NOT_NULL(p);", "ASSERT_NOT_NULL(p): p is NULL");
    assert_reported(out, "ASSERT_TRUE(flag);", "ASSERT_TRUE(flag): it is false");
    assert_reported(out, "ASSERT_DOUBLE_EQ(0.5, 0.25, 0.125);",
                    "ASSERT_DOUBLE_EQ(0.5, 0.25, 0.125): 0.5 and 0.25 differ by 0.25, more than "
                    "0.125");
    assert_reported(out, "TEST_FAIL(\"%d bytes short\", 3);", "TEST_FAIL: 3 bytes short");
    free(out);
}

static void test_a_plain_failure_lets_the_test_go_on_and_a_fatal_one_ends_it(void)
{
    char *out = NULL;
    CU_ASSERT_EQUAL(run_mode("--fail-on-purpose", &out), 1);
    CU_ASSERT(contains(out, "reached after a plain failure"));
    CU_ASSERT_PTR_NULL(strstr(out, "reached after a fatal failure"));
    assert_reported(out, "ASSERT_EQ_FATAL(one, 3);", "ASSERT_EQ_FATAL(one, 3): one is 1");
    /* every failing test is counted: five tests, none passed */
    CU_ASSERT(contains(out, "tests      5      5      0      5"));
    free(out);
}

static void test_passing_assertions_pass_and_evaluate_each_argument_once(void)
{
    unsigned passed = CU_get_number_of_successes(), failed = CU_get_number_of_failures();
    int n = 0;
    ASSERT_EQ(++n, 1);
    ASSERT_EQ(n, 1);
    ASSERT_OK(n - 1, NULL);
    size_t len = 3;
    ASSERT_EQ(len, 3);  /* size_t against an int: no -Wsign-compare, the values compared */
    ASSERT_EQ(-1, -1L); /* as C compares them */
    ASSERT_LE(len, 3u);
    ASSERT_STR_EQ("abc", "abc");
    ASSERT_STR_NE("abc", "abd");
    ASSERT_STRN_EQ("abcx", "abcy", 3);
    ASSERT_STR_CONTAINS("hello world", "o w");
    ASSERT_STR_NOT_CONTAINS("hello", "z");
    ASSERT_MEM_EQ("\x01\x02", "\x01\x02", 2);
    ASSERT_NULL(NULL);
    ASSERT_PTR_EQ(&n, &n);
    ASSERT_PTR_NE(&n, &len);
    ASSERT_FALSE(n == 2);
    ASSERT_DOUBLE_EQ(1.0, 1.05, 0.1);
    ASSERT_GT(0.5, 0); /* a double against an int */
    CU_ASSERT_EQUAL(CU_get_number_of_successes() - passed, 18); /* each one counted */
    CU_ASSERT_EQUAL(CU_get_number_of_failures(), failed);
}

static void test_the_program_passes_skips_and_runs_its_end_hooks(void)
{
    char *out = NULL;
    CU_ASSERT_EQUAL(run_mode("--pass-with-data", &out), 0);
    CU_ASSERT(contains(out, "init sees the board\n")); /* test_add_suite_with's data */
    CU_ASSERT(contains(out, "end hook ran\n"));
    free(out);
    CU_ASSERT_EQUAL(run_mode("--skip", &out), TEST_SKIP);
    CU_ASSERT(contains(out, "end hook ran\n"));
    CU_ASSERT_PTR_NULL(strstr(out, "Run Summary"));
    free(out);
}

static void test_a_failed_init_registration_leftover_or_qemu_fails_the_program(void)
{
    char *out = NULL;
    CU_ASSERT_EQUAL(run_mode("--failing-init", &out), 1);
    free(out);
    CU_ASSERT_EQUAL(run_mode("--failing-registration", &out), 1);
    CU_ASSERT(contains(out, "registering the tests failed"));
    free(out);
    CU_ASSERT_EQUAL(run_mode("--leftover", &out), 1);
    CU_ASSERT(contains(out, "end hook found a leftover"));
    free(out);
    CU_ASSERT_EQUAL(run_mode("--qemu-left", &out), 1);
    CU_ASSERT(contains(out, "FAILED: 1 QEMU processes of ours are still alive"));
    free(out);
}

int test_register(void)
{
    if (test_argc > 1)
        return register_mode(test_argv[1]);
    CU_pSuite s = CU_add_suite("runner and asserts", NULL, NULL);
    CU_ADD_TEST(s, test_failing_number_assertions_fail_and_print_both_values);
    CU_ADD_TEST(s, test_failing_string_and_byte_assertions_show_where_they_differ);
    CU_ADD_TEST(s, test_a_plain_failure_lets_the_test_go_on_and_a_fatal_one_ends_it);
    CU_ADD_TEST(s, test_passing_assertions_pass_and_evaluate_each_argument_once);
    CU_ADD_TEST(s, test_the_program_passes_skips_and_runs_its_end_hooks);
    CU_ADD_TEST(s, test_a_failed_init_registration_leftover_or_qemu_fails_the_program);
    return TEST_RUN;
}
