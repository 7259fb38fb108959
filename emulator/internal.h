/*
 * Names shared between the emulator's own files (emu.c, qmp.c, pty.c), not part of its API.
 * Time is CLOCK_MONOTONIC in milliseconds (common/mono.h), so deadlines survive wall-clock
 * changes.
 */
#ifndef MTQ_EMULATOR_INTERNAL_H
#define MTQ_EMULATOR_INTERNAL_H

#include "emu.h"
#include "mono.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* QEMU's seccomp sandbox, on every board (docs/SECURITY.md "The board and QEMU"). */
#define EMU_SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

/* QEMU's command line under construction (qemu_argv.c); v is NULL-terminated when built. */
#define EMU__MAX_ARGS (96 + MACH_LIST_MAX)
struct emu__argv {
    char *v[EMU__MAX_ARGS + 1];
    size_t n;
    bool full; /* an argument did not fit or had no memory: the build fails */
};

/* What the session provides to the command line. */
struct emu__paths {
    const char *bin;        /* QEMU's binary, found on PATH */
    const char *qmp_sock;   /* the QMP socket to listen on */
    const char *uart_pty;   /* the console UART's pty slave */
    const char *status_pty; /* the exit status UART's pty slave; NULL when the board has none */
    uint64_t seed;          /* the boot seed */
};

/* Appends one printf-formatted argument (a->full on overflow or no memory). */
void emu__argv_add(struct emu__argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Builds QEMU's argv for c into a (emu_start's order, emu.h). ERR_INVALID: too many arguments,
 * or a machine whose ram cannot hold the seed. */
int emu__build_argv(const struct emu_config *c, const struct emu__paths *p, struct emu__argv *a,
                    struct err *err);

/* Frees a's strings; a can be built again. */
void emu__argv_free(struct emu__argv *a);

#endif
