/*
 * link.h on the board's UART: the default link, what real boards have. Every call is the
 * board layer's UART call of the same meaning (board/board.c), so a UART build behaves byte for
 * byte as it did before the link existed: nothing buffers, so nothing needs flushing. link_read
 * is link_getc for the first byte, then link_try_getc while bytes are waiting.
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

size_t link_read(void *buf, size_t max)
{
    unsigned char *p = buf;
    size_t got = 0;
    if (max == 0)
        return 0;
    p[got++] = (unsigned char)uart_getc();
    while (got < max) {
        int c = uart_try_getc();
        if (c < 0)
            break;
        p[got++] = (unsigned char)c;
    }
    return got;
}
