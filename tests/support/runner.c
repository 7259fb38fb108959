/*
 * The main of every CUnit test program (runner.h), so that the registry's set-up, the checks
 * that make a broken set-up fail instead of "pass" with nothing run, and the exit status are
 * written once. Test files only register what they test (test_register).
 */
#include "runner.h"

#include "qemu_procs.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_END_HOOKS 8

int test_argc;
char **test_argv;

/* The program's state, file-static as CUnit's callbacks take no argument. */
static int (*end_hooks[MAX_END_HOOKS])(void);
static int n_end_hooks;

struct suite_with_data {
    CU_pSuite suite;
    int (*init)(void *data);
    void *data;
};
static struct suite_with_data *with_data;
static size_t n_with_data;

void test_at_end(int (*hook)(void))
{
    if (n_end_hooks == MAX_END_HOOKS) {
        fprintf(stderr, "test_at_end: more than %d hooks (raise MAX_END_HOOKS in %s)\n",
                MAX_END_HOOKS, __FILE__);
        abort(); /* a test program's bug: its clean-up would silently not run */
    }
    end_hooks[n_end_hooks++] = hook;
}

/* CUnit calls this as the suite's init; CU_get_current_suite says which suite it is. */
static int init_with_data(void)
{
    CU_pSuite s = CU_get_current_suite();
    for (size_t i = 0; i < n_with_data; i++)
        if (with_data[i].suite == s)
            return with_data[i].init(with_data[i].data);
    return 1;
}

CU_pSuite test_add_suite_with(const char *name, int (*init)(void *data), CU_CleanupFunc clean,
                              void *data)
{
    struct suite_with_data *more = realloc(with_data, (n_with_data + 1) * sizeof *more);
    if (!more)
        return NULL; /* CU_ADD_TEST on NULL sets CUnit's error: the run fails */
    with_data = more;
    CU_pSuite s = CU_add_suite(name, init_with_data, clean);
    if (s)
        with_data[n_with_data++] = (struct suite_with_data){s, init, data};
    return s;
}

static const char *program_name(void)
{
    const char *slash = test_argv && test_argv[0] ? strrchr(test_argv[0], '/') : NULL;
    return slash ? slash + 1 : test_argv && test_argv[0] ? test_argv[0] : "test";
}

/* 0 when every registered test passed, else 1. */
static int run_registered(void)
{
    if (CU_get_error() != CUE_SUCCESS) { /* a failed registration would run nothing: "pass" */
        fprintf(stderr, "%s: registering the tests failed: %s\n", program_name(),
                CU_get_error_msg());
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    return bad != 0;
}

/* The checks every program ends with; rc becomes 1 when one finds a problem. */
static int finish(int rc)
{
    int problems = 0;
    int left = qemu_procs_children(getpid()); /* nothing of ours may outlive the run */
    if (left != 0) {
        fprintf(stderr, "%s: FAILED: %d QEMU processes of ours are still alive\n",
                program_name(), left);
        problems++;
    }
    while (n_end_hooks > 0)
        problems += end_hooks[--n_end_hooks]();
    return problems > 0 && (rc == 0 || rc == TEST_SKIP) ? 1 : rc;
}

int main(int argc, char **argv)
{
    test_argc = argc;
    test_argv = argv;
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "%s: CUnit: %s\n", program_name(), CU_get_error_msg());
        return 1;
    }
    int rc = test_register();
    if (rc == TEST_RUN)
        rc = run_registered();
    rc = finish(rc);
    CU_cleanup_registry(); /* only now: it clears the counts run_registered read */
    free(with_data);
    return rc;
}
