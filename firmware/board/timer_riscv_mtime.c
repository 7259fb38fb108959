/*
 * timer_ticks() on the RISC-V machine timer: the CLINT's 64-bit mtime (timer.base points at
 * it), counting at timer.hz (10 MHz on QEMU virt). Chosen over mcycle because QEMU's mcycle
 * only has a fixed rate under -icount (it reads the host's cycle counter otherwise); mtime runs
 * on QEMU's virtual clock, so under -icount shift=0 one tick is exactly 100 instructions.
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

uint64_t timer_ticks(void)
{
    return mtime_read() - start;
}
