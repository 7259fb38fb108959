/*
 * What the board layer's files share and nothing else sees: the per-architecture hooks the
 * common code calls, and the linker-script symbols. Every function here has exactly one
 * implementation per architecture, timer kind or exit kind (chosen by CMake from the machine
 * file).
 */
#ifndef MTQ_BOARD_INTERNAL_H
#define MTQ_BOARD_INTERNAL_H

#include <stdint.h>

/* Shared C start (startup.c): copies .data, zeroes .bss, sets up the C library, calls main
 * and exits with its result. Called by the architecture's reset code with a valid stack. */
_Noreturn void board__start(void);

/* Architecture: enables what the CPU needs before C runs at full speed (the FPU). */
void board__arch_init(void);

/* Architecture: arms "an interrupt line went high" as a WFI wake-up without taking
 * interrupts. Returns 0, or -1 when the architecture cannot (then the caller polls). */
int board__idle_enable(void);

/* board__idle_enable for another device's line (the fast link's: a PLIC source on RISC-V,
 * an NVIC interrupt on Cortex-M), so that board__idle_wait also wakes when that line goes
 * high. Returns 0, or -1 without an interrupt controller in the machine file (RISC-V). */
int board__idle_enable_line(uint32_t src);

/* Architecture: sleeps until an enabled interrupt line is pending, then clears it. */
void board__idle_wait(void);

/* Timer kind: starts the counter (called once from board_init). */
void board__timer_init(void);

/* Timer kind: stops and restarts the counter around an idle WFI. Under -icount with
 * sleep=off, a running QEMU timer makes an idle CPU warp virtual time to its deadline over
 * and over, burning a host core; with no timer armed the idle CPU costs nothing. */
void board__timer_pause(void);
void board__timer_resume(void);

/* Exit kind: hands the host one line (a fault report, '\n'-terminated) beside the exit
 * status, where the exit path has a channel for it (exit_cmsdk_watchdog.c: the status UART);
 * else does nothing. Called just before board_exit. */
void board__exit_note(const char *line);

/* Prints "<what> pc=0x... cause=0x... [extra=0x...]" on the UART and exits with code 3:
 * used by every fault handler, so that a crash ends QEMU instead of hanging it. */
_Noreturn void board__fault(const char *what, uintptr_t pc, uintptr_t cause, uintptr_t extra);

/* Linker-script symbols (board/firmware.ld). */
extern uint8_t __data_start[], __data_end[], __data_load[];
extern uint8_t __bss_start[], __bss_end[];
extern uint8_t __stack_top[];
extern uint8_t __tls_base[];
typedef void (*board__init_fn)(void);
extern board__init_fn __init_array_start[], __init_array_end[];

#endif
