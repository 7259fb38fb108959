/*
 * microtvm-qemu, the command line: cli_main is the whole program (main.c only calls it), so
 * tests can run commands in-process. Exit statuses: 0 success, 1 a failure (the message says
 * what and how to fix it), 2 a usage error, 3 a performance regression beyond
 * `run --max-regression`.
 */
#ifndef MTQ_CLI_H
#define MTQ_CLI_H

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_REGRESSION 3 /* run --max-regression: the count grew by more than allowed */

/* Runs the command line; returns the exit status. Results go to stdout, progress and errors
 * to stderr. argv[0] is the program's name as invoked. */
int cli_main(int argc, char **argv);

#endif
