/*
 * Machine files: machines/<board>.json, the one source of truth about an emulated board.
 * The server, the emulator and the command line read them through this module; the
 * firmware's CMake reads the same files with string(JSON). Schema: machines/README.md.
 */
#ifndef MTQ_MACHINE_H
#define MTQ_MACHINE_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MACH_NAME_MAX 64
#define MACH_TEXT_MAX 256
#define MACH_LIST_MAX 16
#define MACH_ICOUNT_SHIFT_MAX 10 /* QEMU 7.2 refuses a larger -icount shift */

struct mach_region {
    uint64_t base;
    uint64_t size;
};

struct machine {
    char path[4096];                      /* the file it was read from */
    char name[MACH_NAME_MAX];             /* "mps2-an385"; equals the file's basename */
    char description[MACH_TEXT_MAX];      /* one line for people */
    char arch[16];                        /* "arm" or "riscv" */
    char cpu[32];                         /* "cortex-m3", "rv32imac", ... */
    char tvm_model[32];                   /* TVM's target model ("sam3x8e"); "host" if unset */
    char qemu_binary[MACH_NAME_MAX];      /* "qemu-system-arm" */
    char qemu_machine[MACH_NAME_MAX];     /* the -M value */
    char qemu_memory[16];                 /* the -m value, "" for the machine's default */
    char qemu_args[MACH_LIST_MAX][MACH_TEXT_MAX]; /* extra arguments, in order */
    size_t n_qemu_args;
    int icount_shift;                     /* deterministic mode: 2^shift ns per instruction */
    char cc_prefix[MACH_NAME_MAX];        /* "arm-none-eabi-" */
    char cflags[MACH_LIST_MAX][MACH_NAME_MAX]; /* CPU flags for compiler and linker */
    size_t n_cflags;
    char libcs[4][16];                    /* the C libraries it supports; [0] is the default */
    size_t n_libcs;
    struct mach_region flash;             /* where code and read-only data go */
    struct mach_region ram;               /* data, bss, heap, stack, the model's workspace */
    uint64_t vector_base;                 /* Cortex-M: where the core reads SP and PC at reset */
    char uart_kind[16];                   /* "cmsdk_apb" or "ns16550a" */
    uint64_t uart_base;
    uint32_t uart_irq;                    /* the UART's interrupt source at intc; 0: none given */
    char intc_kind[16];                   /* "plic"; "" when the file has no intc (optional) */
    uint64_t intc_base;
    char timer_kind[16];                  /* "cmsdk_timer" or "riscv_mtime" */
    uint64_t timer_base;
    uint64_t timer_hz;
    char exit_kind[16];                   /* "cmsdk_watchdog" or "sifive_test" */
    uint64_t exit_base;                   /* the watchdog or the finisher */
    uint64_t exit_status_uart;            /* cmsdk_watchdog: the UART carrying the status; else 0 */
    uint64_t default_workspace_bytes;     /* the workspace_size_bytes option's default */
    char fast_link_kind[16];              /* "virtio_serial" or "lan9118"; "" when the board has
                                           * no fast link (the optional fast_link object) */
    uint64_t fast_link_base;              /* the fast link device's registers */
    uint32_t fast_link_irq;               /* its interrupt line (PLIC source or NVIC number) */
};

/* Reads and validates one machine file. A malformed or incomplete file fails with
 * ERR_INVALID and a message naming the file and the field ("x.json: uart.base: ..."). Besides
 * mach_parse's checks, the name field must equal the file's basename without ".json". */
int mach_load(struct machine *m, const char *path, struct err *err);

/* Validates the len bytes of machine-file text (need not be NUL-terminated) into *m, with the
 * same checks as mach_load except the file-name rule. name_for_messages (a path, or a label
 * such as "<stdin>") starts every message and is copied to m->path. ERR_INVALID for bad JSON
 * (with the byte offset), a wrong field, or a name_for_messages of 4096 bytes or more. */
int mach_parse(struct machine *m, const char *text, size_t len, const char *name_for_messages,
               struct err *err);

/* Loads <dir>/<name>.json; an unknown name fails with ERR_INVALID listing the boards there. */
int mach_load_by_name(struct machine *m, const char *dir, const char *name, struct err *err);

/* Lists the board names in dir (the *.json basenames), sorted. *names is a heap array of
 * heap strings; free it with mach_free_names. */
int mach_list(const char *dir, char ***names, size_t *n, struct err *err);
void mach_free_names(char **names, size_t n);

/* The target TVM 0.18 builds for this board, as str(tvm.target.target.micro(model, ...)) prints
 * it and `tvmc compile --target` takes it: "c -keys=arm_cpu,cpu -device=arm_cpu -mcpu=<cpu>
 * -model=<tvm_model>" on Arm (what tvm.micro.testing.get_target gives), "c -keys=cpu
 * -model=<tvm_model>" elsewhere. */
void mach_tvm_target(const struct machine *m, char *out, size_t outsz);

/* True when the board's compiler flags use the hardware FPU (-mfloat-abi=hard). */
bool mach_has_fpu(const struct machine *m);

/* True when the board supports that C library. */
bool mach_has_libc(const struct machine *m, const char *libc);

/* True when the machine file gives the board a fast link (the optional fast_link object). */
bool mach_has_fast_link(const struct machine *m);

/* The board's links for people, into out (returned): "uart" or "uart, fast (virtio-serial)". */
const char *mach_links(const struct machine *m, char *out, size_t outsz);

/* The C libraries the firmware build knows (firmware/cmake), NULL-terminated: a machine file's
 * "libcs" lists some of them, the libc option offers them all. */
extern const char *const mach_known_libcs[];

#endif
