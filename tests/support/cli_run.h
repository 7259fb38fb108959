/*
 * Running the command line from tests and capturing what it printed: the built binary in a
 * child process (end-to-end tests), and the capture files both kinds of test read back.
 */
#ifndef MTQ_TEST_CLI_RUN_H
#define MTQ_TEST_CLI_RUN_H

#include <stddef.h>

/* Reads up to max - 1 bytes of path into a NUL-terminated heap buffer (caller frees; empty
 * when the file is missing), then removes the file. */
char *cli_run_slurp(const char *path, size_t max);

/* Runs MTQ_CLI with args (NULL-terminated, at most 30), stdin from the file in_path (NULL:
 * /dev/null), stdout and stderr captured through files in scratch_dir, for at most timeout_sec
 * (then SIGKILL, and the running CUnit test fails). *out and *errs get what it printed (up to
 * 1 MiB each; caller frees). Returns its exit status, or 128 when it did not exit normally. */
int cli_run_binary(const char *scratch_dir, const char *const *args, const char *in_path,
                   int timeout_sec, char **out, char **errs);

#endif
