/*
 * The board's UART on the host side: a pseudo-terminal the emulator owns for the whole session.
 * QEMU gets the slave's path; we keep the slave open too, so bytes the firmware sends before
 * anyone reads are buffered, not dropped, and QEMU never sees a hangup (QEMU_NOTES.md
 * "The UART tunnel"). Both ends are raw: every byte value passes unchanged in both directions.
 * Ownership: struct pty is caller-owned (pty_open/pty_close); its fds belong to it.
 */
#ifndef MTQ_UART_PTY_H
#define MTQ_UART_PTY_H

#include "err.h"

struct pty {
    int master;          /* ours: non-blocking, close-on-exec; -1 when closed */
    int slave;           /* held open for the session, close-on-exec; -1 when closed */
    char slave_path[64]; /* "/dev/pts/N", what QEMU opens */
};

/* Opens a pty pair with glibc's openpty, puts both ends in raw mode (no echo, no CR/LF
 * translation, no signal or flow-control characters), makes the master non-blocking and both
 * fds close-on-exec. On failure *p is left closed (fds -1) and err names the failing step.
 * Never blocks. */
int pty_open(struct pty *p, struct err *err);

/* Closes both ends; safe on a closed or zeroed-then-closed pty and on NULL. */
void pty_close(struct pty *p);

#endif
