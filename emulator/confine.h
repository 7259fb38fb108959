/*
 * What QEMU may touch on the host, beyond its own -sandbox (seccomp): applied in the child
 * between fork and exec (emu.c), so it holds from QEMU's first instruction.
 *   - no new privileges (PR_SET_NO_NEW_PRIVS): no set-uid program gains anything;
 *   - rlimits: no core dumps, at most CONFINE_FSIZE_MAX bytes per file written, and (where the
 *     parent may lower it: not under valgrind) CONFINE_NOFILE open files;
 *   - Landlock where the kernel has it: reads only under the read trees (QEMU's binary, its
 *     libraries and data) and the firmware image, reads and writes only the listed files (the
 *     pty slaves), sockets only made in the runtime directory, no TCP but the gdb port, and
 *     (Landlock ABI 6) no signals to, and no abstract sockets of, anything outside.
 * A kernel without Landlock gives the rest and a debug log line: confinement degrades, never
 * fails the start. docs/SECURITY.md "The board and QEMU".
 * Ownership: struct confine holds one fd (the ruleset), released by confine_release.
 */
#ifndef MTQ_CONFINE_H
#define MTQ_CONFINE_H

#include "err.h"

#include <stdbool.h>

/* QEMU writes only its log (its stdout and stderr, which it inherits open) */
#define CONFINE_FSIZE_MAX (256L * 1024 * 1024)
#define CONFINE_NOFILE 256

struct confine_spec {
    const char *const *read_trees; /* NULL-terminated: read and execute beneath each */
    const char *const *read_files; /* NULL-terminated: read only (the firmware image) */
    const char *const *rw_files;   /* NULL-terminated: read, write, ioctl (pty slaves) */
    const char *socket_dir;        /* where QEMU makes and removes its sockets; NULL: nowhere */
    int tcp_bind_port;             /* > 0: the one TCP port QEMU may listen on (gdb) */
};

struct confine {
    int ruleset; /* the Landlock ruleset, -1 when the kernel has none */
    int abi;     /* the kernel's Landlock ABI version, 0 when none */
};

/* The Landlock ABI version the kernel offers, 0 when none (ENOSYS, EOPNOTSUPP: disabled). */
int confine_landlock_abi(void);

/* Builds the ruleset for spec in the parent: paths that do not exist are skipped (a library
 * directory this system lacks); a path that cannot be opened otherwise is an error naming it.
 * Without Landlock, c->ruleset is -1 and the call succeeds (with a debug log line). */
int confine_prepare(struct confine *c, const struct confine_spec *spec, struct err *err);

/* In the child, async-signal-safe: no new privileges, the rlimits, then the ruleset (plus the
 * child's own /proc/self, opened here so it names the child). Returns 0, or -errno of the
 * step that failed (then the caller must not exec). */
int confine_apply(const struct confine *c);

/* Closes the ruleset; safe on a released or zeroed-then-prepared struct. */
void confine_release(struct confine *c);

#endif
