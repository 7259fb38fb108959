/*
 * link.h on the board's UART: the default link, what real boards have. Every call is the
 * board layer's UART call of the same meaning (board/board.c), so a UART build behaves byte for
 * byte as it did before the link existed: nothing buffers, so nothing needs flushing.
 */
#include "link.h"

#include "board.h"

void link_init(void)
{
}

void link_write(const void *data, size_t n)
{
    uart_write(data, n);
}

void link_flush(void)
{
}

int link_getc(void)
{
    return uart_getc();
}

int link_try_getc(void)
{
    return uart_try_getc();
}
