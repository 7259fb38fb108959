/*
 * The echo firmware: no model, bytes in, bytes out. The transport's own test and benchmark.
 * Sends the banner once the receiver is on (docs/BOARD_CONTRACT.md "The UART conventions"),
 * then returns every received byte unchanged, forever.
 */
#include "board.h"

int main(void)
{
    board_init();
    uart_puts("#microtvm-qemu:" BOARD_PROJECT_TYPE ":" BOARD_NAME ":" BOARD_LIBC "\n");
    for (;;) {
        char c = (char)uart_getc();
        uart_write(&c, 1);
    }
}
