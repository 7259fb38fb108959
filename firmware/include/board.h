/*
 * The board layer every firmware application is written against: one UART, a timer, an
 * instruction counter where the CPU has one, entropy, and the one way out. Each board's
 * implementation lives in firmware/board/ and firmware/uart/; its numbers come from the
 * generated board_config.h (from machines/<board>.json), never from literals.
 * Nothing here allocates or prints on its own.
 */
#ifndef MTQ_BOARD_H
#define MTQ_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "board_config.h" /* generated: BOARD_NAME, BOARD_ARCH, BOARD_LIBC, BOARD_TIMER_HZ, ... */

/* Brings up the UART (transmitter and receiver both enabled) and starts the timer.
 * Called once, first thing in main(). */
void board_init(void);

/* Sends n bytes; returns when the last one is queued in the UART (blocks while TX is full). */
void uart_write(const void *data, size_t n);

/* Sends a NUL-terminated string. */
void uart_puts(const char *s);

/* Returns the next received byte, waiting for it. */
int uart_getc(void);

/* Returns the next received byte, or -1 at once when none is pending. */
int uart_try_getc(void);

/* Timer ticks since board_init, at BOARD_TIMER_HZ; 64-bit, never wraps in practice.
 * Under QEMU's -icount (shift=BOARD_ICOUNT_SHIFT) ticks follow guest instructions exactly. */
uint64_t timer_ticks(void);

/* Returns at a fixed phase of the timer's tick, so that a timed region started right after it
 * (its first timer_ticks() call the next thing done) measures the same number of ticks on
 * every run. Why: a tick is not one instruction (100 instructions on RISC-V, 0.625 on the MPS2
 * boards), and a region that starts at an arbitrary point within a tick measures n or n + 1
 * ticks depending on when the host's command arrived. Costs at most about two ticks; never
 * counts as time elsewhere (timer_ticks() never goes backwards). On the MPS2 boards it also
 * restarts board_instret()'s count. Without -icount it is harmless and proves nothing. */
void timer_align(void);

/* Instructions retired, exact on every board in deterministic mode: RISC-V minstret (since
 * reset); Cortex-M derived from the timer's ticks (since the timer last restarted: timer_align
 * or an idle wait in uart_getc). So only the difference of two calls after one timer_align(),
 * with no uart_getc between them, is meaningful everywhere. Not an instruction count without
 * -icount. */
uint64_t board_instret(void);

/* 32 bits that differ from one boot or reset to the next (the host seeds each boot, and a
 * boot counter in RAM that survives a reset is mixed in). For TVMPlatformGenerateRandom. */
uint32_t board_entropy(void);

/* Ends the emulation with this exit code (0..255): QEMU exits with it (RISC-V's finisher), or
 * QEMU powers off and the emulator reports the code it read from the status UART (mps2,
 * board/exit_cmsdk_watchdog.c). Never returns. */
_Noreturn void board_exit(int code);

#endif
