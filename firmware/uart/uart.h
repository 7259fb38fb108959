/*
 * The interface every UART driver (one .c per machine-file uart.kind) implements. The board
 * layer (board/board.c) builds board.h's uart_write/uart_getc on top of these three calls,
 * so a new UART kind means one small file here and no other change.
 */
#ifndef MTQ_UART_H
#define MTQ_UART_H

#include <stdint.h>

/* Enables transmitter and receiver. After it returns, input the host sent is received. */
void uart_hw_init(void);

/* Queues one byte, waiting while the transmitter is full. */
void uart_hw_putc(uint8_t c);

/* Returns a received byte, or -1 at once when none is pending. */
int uart_hw_try_getc(void);

/* Makes "a byte arrived" raise the UART's interrupt line, so that a WFI with interrupts
 * masked wakes up on input (no handler runs). Returns 0, or -1 when the driver cannot.
 * Called once by board_init, then again before every sleep (a driver may make the line
 * quicker to rise while asleep than while busy). */
int uart_hw_enable_rx_wakeup(void);

/* Clears the UART's pending receive interrupt after such a wake-up (and undoes what the
 * call above did only for the sleep). */
void uart_hw_clear_rx_wakeup(void);

#endif
