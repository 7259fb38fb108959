/*
 * The board's UART, once a fast link carries the transport (link=fast): what the firmware still
 * prints there (aborts, faults, printf) goes to the server's stderr, line by line and prefixed
 * with the board's name, as it comes, so it reaches the person running TVM or microtvm-qemu even
 * while nobody calls read_transport. A thread of its own reads the UART; it never touches the
 * emulator, only the fd it was given.
 *
 * Ownership: uart_forward_start returns a heap object running one thread; uart_forward_stop
 * stops and frees it. The fd stays the caller's and must stay open until the stop returns.
 */
#ifndef MTQ_UART_FORWARD_H
#define MTQ_UART_FORWARD_H

#include "err.h"

#include <stddef.h>

struct uart_forward;

/* Starts forwarding what fd (non-blocking, e.g. the UART's pty master) delivers, each line as
 * "<board> UART: <line>" on the server's log (level warn, so it shows by default). The thread
 * blocks every signal, so the server's SIGTERM still interrupts the main thread's waits.
 * -errno or -ENOMEM on failure. */
int uart_forward_start(int fd, const char *board, struct uart_forward **out, struct err *err);

/* Forwards what fd still holds, a partial last line included, stops the thread and frees f.
 * last_line (may be NULL) gets the last line forwarded, "" when none: for messages about how
 * the board ended. Accepts NULL f (last_line then gets ""). */
void uart_forward_stop(struct uart_forward *f, char *last_line, size_t size);

#endif
