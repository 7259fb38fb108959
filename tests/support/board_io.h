/*
 * Test support: the UART of a board a test or benchmark started itself (emu_start), read and
 * written through the server's byte link (server/transport.c), the same code every Project API
 * session uses, so what the tests measure is what TVM gets. Timeouts in milliseconds (< 0:
 * forever), as emu.h's.
 * Ownership: a struct board_io is the caller's; it holds the link's receive buffer, not the
 * emu (close the board_io, then emu_free).
 */
#ifndef MTQ_TEST_BOARD_IO_H
#define MTQ_TEST_BOARD_IO_H

#include "emu.h"
#include "session_internal.h"

#include <stddef.h>
#include <sys/types.h>

struct board_io {
    struct emu *emu;
    struct sess__link link;
};

/* Opens b on e's UART. */
void board_io_open(struct board_io *b, struct emu *e);

/* Frees what b buffered; the emu stays. Accepts a zeroed struct. */
void board_io_close(struct board_io *b);

/* Reads what the UART has (what the link buffered first), up to cap bytes, waiting up to
 * timeout_ms for the first byte. Returns the number read (> 0); ERR_TIMEOUT, ERR_CLOSED (QEMU
 * has exited and everything it sent has been read). */
ssize_t board_io_read(struct board_io *b, void *buf, size_t cap, int timeout_ms,
                      struct err *err);

/* Writes all len bytes within timeout_ms. ERR_TIMEOUT, ERR_CLOSED. */
int board_io_write(struct board_io *b, const void *data, size_t len, int timeout_ms,
                   struct err *err);

/* Reads up to and including delim (never past it: what follows stays for the next read) into
 * buf, *got bytes, not NUL-terminated. ERR_INVALID: cap bytes without it; else as read. */
int board_io_read_until(struct board_io *b, const char *delim, char *buf, size_t cap,
                        size_t *got, int timeout_ms, struct err *err);

/* The boot handshake, as the server's open_transport does it: the banner line into buf (as
 * read_until "\n"), then emu_wake. */
int board_io_banner(struct board_io *b, char *buf, size_t cap, size_t *got, int timeout_ms,
                    struct err *err);

#endif
