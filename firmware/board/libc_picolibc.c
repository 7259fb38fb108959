/*
 * picolibc glue: stdin/stdout/stderr on the UART (picolibc's stdio calls these two functions
 * per byte) and _exit, which exit() and abort() end in. The heap needs nothing here: picolibc's
 * sbrk hands out [__heap_start, __heap_end) from the linker script.
 */
#include "board.h"

#include <stdio.h>

static int stdio_put(char c, FILE *f)
{
    (void)f;
    uart_write(&c, 1);
    return (unsigned char)c;
}

static int stdio_get(FILE *f)
{
    (void)f;
    return uart_getc();
}

static FILE uart_stdio = FDEV_SETUP_STREAM(stdio_put, stdio_get, NULL, _FDEV_SETUP_RW);

FILE *const stdin = &uart_stdio;
FILE *const stdout = &uart_stdio;
FILE *const stderr = &uart_stdio;

void _exit(int code);

void _exit(int code)
{
    board_exit(code);
}
