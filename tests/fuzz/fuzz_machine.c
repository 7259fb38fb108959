/*
 * Fuzz target "machine": machine-file text through mach_parse (machine/machine.c), the
 * validation every board's facts pass before the server, the emulator or the command line use
 * them. A refusal must be ERR_INVALID with a one-line message naming the file; an acceptance
 * must leave every string terminated inside its field and every count within its array, and
 * the facts the firmware relies on (the libc list, the ram size, non-overlapping regions) true.
 */
#include "machine.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL "fuzz.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
    fprintf(stderr, "fuzz_machine: %s\n", what);
    abort();
}

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

/* The machine struct is over 10 KiB: off the stack, and reused. */
static struct machine mach;

static bool regions_overlap(const struct mach_region *a, const struct mach_region *b)
{
    return a->base < b->base + b->size && b->base < a->base + a->size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err err = {0};
    /* the exact bytes, without a NUL: mach_parse takes a length */
    int rc = mach_parse(&mach, (const char *)data, size, LABEL, &err);
    if (rc < 0) {
        if (rc != ERR_INVALID || err.code != rc)
            die("a refusal other than ERR_INVALID");
        if (strncmp(err.msg, LABEL ": ", strlen(LABEL) + 2) != 0 || strchr(err.msg, '\n'))
            die("a refusal whose message does not start with the file's name on one line");
        return 0;
    }
    if (strcmp(mach.path, LABEL) != 0)
        die("path is not the name given");
    if (!TERMINATED(mach.name) || !TERMINATED(mach.description) || !TERMINATED(mach.arch) ||
        !TERMINATED(mach.cpu) || !TERMINATED(mach.qemu_binary) ||
        !TERMINATED(mach.qemu_machine) || !TERMINATED(mach.qemu_memory) ||
        !TERMINATED(mach.cc_prefix) || !TERMINATED(mach.uart_kind) ||
        !TERMINATED(mach.timer_kind) || !TERMINATED(mach.exit_kind) ||
        !TERMINATED(mach.intc_kind))
        die("a string field is not terminated");
    if ((mach.intc_kind[0] != 0) != (mach.uart_irq != 0))
        die("an interrupt controller without a UART line, or the other way round");
    if (mach.n_qemu_args > MACH_LIST_MAX || mach.n_cflags > MACH_LIST_MAX ||
        mach.n_libcs < 1 || mach.n_libcs > sizeof mach.libcs / sizeof mach.libcs[0])
        die("a list count is out of range");
    for (size_t i = 0; i < mach.n_qemu_args; i++)
        if (!TERMINATED(mach.qemu_args[i]))
            die("a qemu argument is not terminated");
    for (size_t i = 0; i < mach.n_cflags; i++)
        if (!TERMINATED(mach.cflags[i]))
            die("a compiler flag is not terminated");
    for (size_t i = 0; i < mach.n_libcs; i++)
        if (!TERMINATED(mach.libcs[i]) || !mach_has_libc(&mach, mach.libcs[i]))
            die("a libc entry is not terminated or not found");
    if (strcmp(mach.arch, "arm") != 0 && strcmp(mach.arch, "riscv") != 0)
        die("an unknown arch was accepted");
    if (mach.ram.size < 0x1000 || mach.flash.size == 0 || regions_overlap(&mach.flash, &mach.ram))
        die("memory regions the firmware cannot use were accepted");
    if (mach.flash.base + mach.flash.size < mach.flash.base ||
        mach.ram.base + mach.ram.size < mach.ram.base)
        die("a region wraps around the address space");
    if (mach.uart_base == 0 || mach.timer_base == 0 || mach.timer_hz == 0 ||
        mach.default_workspace_bytes == 0)
        die("a zero that must not be was accepted");
    return 0;
}
