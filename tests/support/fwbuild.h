/*
 * Test support: builds a firmware of a given board, project type and C library the way a
 * person (or the server) would, through firmware/CMakeLists.txt with CMake and Ninja, so every
 * e2e test boots what users boot. Output goes to <dir>/fwbuild.log; a failure says which step
 * failed and carries the log's last lines in err->detail.
 */
#ifndef MTQ_TEST_FWBUILD_H
#define MTQ_TEST_FWBUILD_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

/* True when cmake, ninja and firmware/CMakeLists.txt are there, and the board's machine file
 * and C compiler (cc_prefix + "gcc" on PATH) exist; else false with the reason in why (for a
 * test's "skipping: ..." line). */
bool fwbuild_available(const char *board, char *why, size_t why_size);

/* True when name is an executable in one of $PATH's directories. */
bool fwbuild_on_path(const char *name);

/* Configures and builds firmware for machines/<board>.json into dir (created if needed):
 * -DMTQ_MACHINE_FILE=<abs path> -DMTQ_PROJECT_TYPE=type -DMTQ_LIBC=libc, plus the ;-free
 * "NAME=VALUE" entries of extra (NULL-terminated, may be NULL) as -D options. On success writes
 * <dir>/firmware.elf into elf. Blocks for the build (seconds). ERR_TOOL when cmake or ninja
 * fail. */
int fwbuild_build(const char *board, const char *type, const char *libc, const char *dir,
                  const char *const *extra, char *elf, size_t elf_size, struct err *err);

/* Runs argv (argv[0] looked up on PATH) with stdout and stderr appended to log_path, waits for
 * it. Returns 0 when it exits 0; ERR_TOOL naming argv[0] and its status otherwise, with the log's
 * last lines in err->detail. */
int fwbuild_run(char *const argv[], const char *log_path, struct err *err);

#endif
