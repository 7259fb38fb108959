/*
 * QEMU's command line for a board (qemu_argv.h): what the machine file says about the board,
 * what the emulator adds for the session (QMP, the UART's pty, the exit status's pty, icount,
 * gdb, the seed), and the confinement every board gets: -sandbox (QEMU's seccomp filter: no
 * exec, no privilege change, no obsolete or resource-control calls), no default devices, no
 * user config, no monitor, no network but an optional link's, no semihosting ever. A link
 * faster than the UART, when one is asked for, brings its own device arguments through
 * emu_config.link_args.
 */
#include "qemu_argv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void emu__argv_add(struct emu__argv *a, const char *fmt, ...)
{
    if (a->n >= EMU__MAX_ARGS) {
        a->full = true;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&a->v[a->n], fmt, ap) < 0) {
        a->v[a->n] = NULL;
        a->full = true;
    } else {
        a->n++;
    }
    va_end(ap);
}

void emu__argv_free(struct emu__argv *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
    a->full = false;
}

static void add_list(struct emu__argv *a, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        emu__argv_add(a, "%s", list[i]);
}

/* The device that carries the firmware's exit status when the exit device does not: the
 * machine's second UART on our pty, and QEMU told to end when the watchdog fires. */
static void add_exit(struct emu__argv *a, const struct machine *m, const char *status_pty)
{
    if (strcmp(m->exit_kind, "cmsdk_watchdog") != 0)
        return;
    emu__argv_add(a, "-chardev");
    emu__argv_add(a, "serial,id=status,path=%s", status_pty);
    emu__argv_add(a, "-serial"); /* the second -serial: the machine's UART1 */
    emu__argv_add(a, "chardev:status");
    emu__argv_add(a, "-action");
    emu__argv_add(a, "watchdog=poweroff");
}

int emu__build_argv(const struct emu_config *c, const struct emu__paths *p, struct emu__argv *a,
                    struct err *err)
{
    const struct machine *m = c->machine;
    if (m->ram.size < 16)
        return err_set(err, ERR_INVALID, "%s: ram.size is too small for the boot seed", m->name);
    if (strcmp(m->exit_kind, "cmsdk_watchdog") == 0 && !p->status_pty)
        return err_set(err, ERR_INTERNAL, "%s: exit kind %s needs the status pty", m->name,
                       m->exit_kind);
    emu__argv_add(a, "%s", p->bin);
    emu__argv_add(a, "-M");
    emu__argv_add(a, "%s", m->qemu_machine);
    if (m->qemu_memory[0]) {
        emu__argv_add(a, "-m");
        emu__argv_add(a, "%s", m->qemu_memory);
    }
    static const char *const confined[] = {
        "-sandbox", EMU_SANDBOX, "-nodefaults", "-no-user-config", "-display", "none",
        "-monitor", "none", "-parallel", "none", NULL};
    add_list(a, confined);
    if (!c->link_args || !c->link_args[0]) {
        emu__argv_add(a, "-nic");
        emu__argv_add(a, "none");
    }
    emu__argv_add(a, "-S");
    emu__argv_add(a, "-qmp");
    emu__argv_add(a, "unix:%s,server=on,wait=off", p->qmp_sock);
    /* the UART alone on its chardev: a muxed monitor would eat 0x01 (QEMU_NOTES.md) */
    emu__argv_add(a, "-chardev");
    emu__argv_add(a, "serial,id=uart0,path=%s", p->uart_pty);
    emu__argv_add(a, "-serial");
    emu__argv_add(a, "chardev:uart0");
    add_exit(a, m, p->status_pty);
    emu__argv_add(a, "-kernel");
    emu__argv_add(a, "%s", c->image);
    for (size_t i = 0; i < m->n_qemu_args; i++)
        emu__argv_add(a, "%s", m->qemu_args[i]);
    if (c->deterministic) {
        /* sleep=off spelled out: QEMU's default is on, which ties guest time to host time */
        emu__argv_add(a, "-icount");
        emu__argv_add(a, "shift=%d,align=off,sleep=off", m->icount_shift);
        emu__argv_add(a, "-rtc");
        emu__argv_add(a, "clock=vm");
    }
    if (c->gdb_port > 0) {
        emu__argv_add(a, "-gdb");
        emu__argv_add(a, "tcp:127.0.0.1:%d", c->gdb_port);
    }
    /* the boot seed lives at ram end - 16 (docs/BOARD_CONTRACT.md "Board RAM reservations");
     * the loader writes it again at every reset */
    emu__argv_add(a, "-device");
    emu__argv_add(a, "loader,addr=0x%llx,data=0x%llx,data-len=8",
                  (unsigned long long)(m->ram.base + m->ram.size - 16),
                  (unsigned long long)p->seed);
    add_list(a, c->link_args);
    add_list(a, c->extra_args);
    if (a->full)
        return err_set(err, ERR_INVALID, "QEMU command line: too many arguments or no memory");
    a->v[a->n] = NULL;
    return 0;
}
