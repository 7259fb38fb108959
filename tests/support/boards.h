/*
 * Test support: the boards the end-to-end tests run on, found from the template's machine
 * files (MTQ_TEMPLATE_DIR/machines/<board>.json, copied from machines/ by the build), so that a
 * new board file joins every e2e test without a list to edit; and whether a board can run
 * here, for the test's "skipping <board>: <why>" line.
 */
#ifndef MTQ_TEST_BOARDS_H
#define MTQ_TEST_BOARDS_H

#include "err.h"
#include "machine.h"

#include <stdbool.h>
#include <stddef.h>

/* More boards than this is a test's limit, not the project's: raise it. */
#define BOARDS_MAX 32

struct boards {
    size_t n;
    char name[BOARDS_MAX][MACH_NAME_MAX]; /* sorted, as mach_list sorts them */
};

/* Lists the template's boards into *out. ERR_INVALID when the template has no machines/ (the
 * template_project target is not built) or more than BOARDS_MAX boards; the message says so. */
int boards_list(struct boards *out, struct err *err);

/* True when a firmware image of board can run here: its machine file loads from the template
 * (into *m) and its QEMU is on PATH. Else false with the reason in why. */
bool boards_can_boot(const char *board, struct machine *m, char *why, size_t why_size);

/* boards_can_boot, and a firmware for board can be built here (fwbuild_available: CMake,
 * Ninja and the board's C compiler). */
bool boards_can_build_and_boot(const char *board, struct machine *m, char *why, size_t why_size);

/* Prepares each board of list for a test, in order: prepare(i, arg) returns NULL when board i
 * can run, else why not: a reason that starts "FAILED" is a failure (counted in *failures,
 * whose test must then fail), any other a skip, printed as "skipping <board>: <why>". Returns
 * how many boards can run. */
int boards_prepare(const struct boards *list, const char *(*prepare)(size_t i, void *arg),
                   void *arg, int *failures);

#endif
