/*
 * timer_ticks() on the RISC-V machine timer: the CLINT's 64-bit mtime (timer.base points at
 * it), counting at timer.hz (10 MHz on QEMU virt). Chosen over mcycle because QEMU's mcycle
 * only has a fixed rate under -icount (it reads the host's cycle counter otherwise); mtime runs
 * on QEMU's virtual clock, so under -icount shift=0 one tick is exactly 100 instructions.
 * Register facts: QEMU hw/intc/riscv_aclint.c.
 */
#include "board.h"
#include "internal.h"

#include <stdint.h>

static uint64_t start;

static uint64_t mtime_read(void)
{
    volatile uint32_t *lo_reg = (volatile uint32_t *)(uintptr_t)BOARD_TIMER_BASE;
    volatile uint32_t *hi_reg = lo_reg + 1;
    /* A 32-bit hart reads the halves one at a time: retry if a carry came in between. */
    uint32_t hi, lo;
    do {
        hi = *hi_reg;
        lo = *lo_reg;
    } while (hi != *hi_reg);
    return ((uint64_t)hi << 32) | lo;
}

void board__timer_init(void)
{
    start = mtime_read();
}

/* mtime is no QEMU timer until mtimecmp is armed, which nothing here does: nothing to stop. */
void board__timer_pause(void)
{
}

void board__timer_resume(void)
{
}

/* One tick in guest instructions under -icount shift=0, where one instruction is one ns. */
#define TICK_INSNS (1000000000u / (BOARD_TIMER_HZ))
_Static_assert(BOARD_ICOUNT_SHIFT == 0, "timer_align assumes -icount shift=0 (qemu.icount_shift)");
_Static_assert(1000000000u % (BOARD_TIMER_HZ) == 0 && TICK_INSNS >= 8 && TICK_INSNS < 4000,
               "timer_align needs a whole number of ns per mtime tick, 8 to 4000 (timer.hz)");

/* mtime cannot be restarted: its ticks sit at fixed points of QEMU's virtual clock. And an
 * mtimecmp interrupt does not land on one: QEMU (hw/intc/riscv_aclint.c) schedules it at the
 * virtual time of the mtimecmp write plus a whole number of ticks, the write's own phase. So the
 * edge is found by reading, at one-instruction precision, in two steps (all in one asm block,
 * whose instruction counts are exact; every mtime load is one instruction, and under -icount
 * each sees the virtual time of its own position in the stream):
 *  1. a two-instruction loop (load, compare) leaves 0 or 1 instruction after an edge E;
 *  2. a load placed TICK_INSNS - 1 instructions after the loop's last load falls just before
 *     the next edge E + TICK_INSNS if the loop left at once (u = 0), just on it if one late
 *     (u = 1): it tells which, and one nop more on the u = 0 path evens the two out.
 * Both paths leave at E + TICK_INSNS + 2. Costs one to two ticks. */
void timer_align(void)
{
    uintptr_t reg = (uintptr_t)BOARD_TIMER_BASE; /* mtime's low word */
    uint32_t old, now, later, n;
    __asm__ volatile("lw %[old], 0(%[reg])\n"
                     "1: lw %[now], 0(%[reg])\n" /* the loop's load: position E + u */
                     "beq %[now], %[old], 1b\n"
                     /* 1 + 2 * loops + pad instructions, so that 'later' is TICK_INSNS - 1
                      * after the loop's last load */
                     "li %[n], %[loops]\n"
                     "2: addi %[n], %[n], -1\n"
                     "bnez %[n], 2b\n"
                     ".rept %[pad]\n"
                     "nop\n"
                     ".endr\n"
                     "lw %[later], 0(%[reg])\n" /* E + u + TICK_INSNS - 1 */
                     "bne %[later], %[now], 3f\n" /* a new tick already: u = 1 */
                     "nop\n"
                     "3:\n"
                     : [old] "=&r"(old), [now] "=&r"(now), [later] "=&r"(later), [n] "=&r"(n)
                     : [reg] "r"(reg), [loops] "i"((TICK_INSNS - 4) / 2),
                       [pad] "i"((TICK_INSNS - 4) % 2)
                     : "memory");
}

uint64_t timer_ticks(void)
{
    return mtime_read() - start;
}
