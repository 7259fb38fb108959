/*
 * The one main of every CUnit test program (runner.c): a test file defines test_register, which
 * adds its suites and tests to CUnit's registry (CU_add_suite, CU_ADD_TEST) after checking that
 * it can run here. The runner then runs them, prints each test and each failure (CUnit's verbose
 * mode), fails the program when a QEMU child of ours is still alive, runs the end hooks, and
 * exits 0 when nothing failed, 1 when something did, 77 when the test skipped (CTest's
 * SKIP_RETURN_CODE).
 */
#ifndef MTQ_TEST_RUNNER_H
#define MTQ_TEST_RUNNER_H

#include <CUnit/CUnit.h>

/* What test_register returns to have the registered suites run. */
#define TEST_RUN (-1)
/* The exit status of a test that cannot run here (after printing why). */
#define TEST_SKIP 77

/* Defined by each test file. Returns TEST_RUN to run what it registered, or the program's exit
 * status without running anything: TEST_SKIP after printing why the test cannot run here, 1
 * when its set-up failed, or what a helper mode of the program (a fake server) returns. */
int test_register(void);

/* The program's arguments, for a test program that runs itself as a helper process. */
extern int test_argc;
extern char **test_argv;

/* Adds a hook that runs once at the end, whether the suites ran or test_register returned
 * early: it removes what test_register made (a scratch directory) and returns how many
 * problems it found (something left behind), which fail the program. Hooks run in reverse
 * order of adding, like atexit's; at most 8. */
void test_at_end(int (*hook)(void));

/* CU_add_suite for a suite whose init takes an argument (CUnit's takes none), so one init can
 * serve a suite per board: init(data) runs where CUnit runs the suite's init. */
CU_pSuite test_add_suite_with(const char *name, int (*init)(void *data), CU_CleanupFunc clean,
                              void *data);

#endif
