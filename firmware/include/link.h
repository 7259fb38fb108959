/*
 * The transport's byte stream, as every application talks to the host: the UART, or the board's
 * fast link when the firmware is built with link=fast (firmware/link/<kind>.c, chosen by CMake from
 * the machine file's fast_link). The banner and anything printed before link_init go to the UART
 * (board.h), as do faults and aborts: the host forwards the UART to the user once the link is up.
 * Polled, single-threaded, no allocation.
 */
#ifndef MTQ_LINK_H
#define MTQ_LINK_H

#include <stddef.h>

/* The transport's byte stream: the UART, or the board's fast link (built with link=fast). */
void link_init(void);      /* after the banner: with link=fast brings the device up and sends
                            * LINK_UP_MARKER through it; with the UART: nothing */
void link_write(const void *data, size_t n);   /* may buffer */
void link_flush(void);     /* pushes buffered output out */
int link_getc(void);       /* next byte, waiting; flushes pending output before it waits */
int link_try_getc(void);   /* next byte or -1 at once; flushes pending output when none */
size_t link_read(void *buf, size_t max); /* up to max bytes, at least one (max > 0), waiting
                            * for the first as link_getc; what has come, in one call */
#define LINK_UP_MARKER "#microtvm-qemu:link-up\n"

#endif
