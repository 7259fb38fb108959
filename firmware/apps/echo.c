/*
 * The echo firmware: no model, bytes in, bytes out. The transport's own test and benchmark.
 * Sends the banner on the UART once the receiver is on (docs/BOARD_CONTRACT.md "The UART
 * conventions"), brings up the link (link.h: the UART itself, or the fast link), then returns
 * every byte received on it unchanged, forever: what has come, in one read and one write (a
 * call a byte would be most of the board's work on the fast link). Output is gathered by the
 * link and pushed out whenever input runs dry.
 */
#include "board.h"
#include "link.h"

int main(void)
{
    board_init();
    uart_puts("#microtvm-qemu:" BOARD_PROJECT_TYPE ":" BOARD_NAME ":" BOARD_LIBC "\n");
    link_init();
    static unsigned char buf[2048];
    for (;;) {
        size_t n = link_read(buf, sizeof buf);
        link_write(buf, n);
    }
}
