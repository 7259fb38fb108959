/*
 * board.h on the host, so the firmware's aot_standalone application and model sources compile
 * natively (the host reference `*_host_ref` programs and the unit tests). By default the UART
 * is stdin/stdout and board_exit exits the process; tests can redirect both into memory and
 * catch board_exit. Not thread-safe: like a board, it is one global device.
 */
#ifndef MTQ_HOST_BOARD_H
#define MTQ_HOST_BOARD_H

#include <setjmp.h>
#include <stddef.h>

/* Makes uart_getc read these n bytes (copied) instead of stdin; when they run out, uart_getc
 * ends the program as stdin's EOF does (board_exit(0)). NULL goes back to stdin. */
void host_board_set_input(const void *data, size_t n);

/* Starts collecting everything the UART sends into memory instead of stdout (clears what was
 * collected before). */
void host_board_capture_start(void);

/* Returns the bytes collected so far, NUL-terminated (*n: their count, may be NULL); valid until
 * the next capture call. Returns "" when not capturing. */
const char *host_board_captured(size_t *n);

/* Stops collecting, frees the buffer and sends UART output to stdout again. */
void host_board_capture_stop(void);

/* While jb is set, board_exit(code) records code and longjmps to jb with 1 instead of ending
 * the process. NULL restores exiting. */
void host_board_catch_exit(jmp_buf *jb);

/* The code of the last board_exit caught through host_board_catch_exit, or -1. */
int host_board_exit_code(void);

#endif
