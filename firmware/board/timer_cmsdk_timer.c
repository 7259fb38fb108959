/*
 * timer_ticks() on the CMSDK APB timer (mps2 timer0): a 32-bit down-counter at the peripheral
 * clock (timer.hz: 25 MHz, 20 MHz on an505), extended to 64 bits in software. Every call adds
 * the ticks elapsed since the previous one, so calls must come less than one wrap apart (2^32
 * ticks: 171 s of virtual time at 25 MHz); TVM's timers and our measurements call far more
 * often. Register facts: QEMU hw/timer/cmsdk-apb-timer.c.
 */
#include "board.h"
#include "internal.h"

#include <stdint.h>

enum {
    REG_CTRL = 0x00,   /* bit 0 enable; bit 3 interrupt enable (left off) */
    REG_VALUE = 0x04,  /* current count, counts down */
    REG_RELOAD = 0x08, /* loaded into VALUE when it reaches 0 */
};
#define CTRL_ENABLE (1u << 0)

static uint64_t total;
static uint32_t last;
static uint64_t restart_total; /* total when the counter last started counting again */

/* Deterministic mode runs QEMU with -icount shift=BOARD_ICOUNT_SHIFT (machines/<board>.json):
 * every instruction is INSN_NS ns of virtual time and a tick TICK_NS. With INSN_NS > TICK_NS
 * no two instructions fall in one tick, which is what lets board_instret() count exactly. */
#define TICK_NS (1000000000u / (BOARD_TIMER_HZ))
#define INSN_NS (1u << (BOARD_ICOUNT_SHIFT))
_Static_assert(1000000000u % (BOARD_TIMER_HZ) == 0, "timer.hz must divide 1e9 (whole ns ticks)");
_Static_assert(INSN_NS > TICK_NS, "qemu.icount_shift too small: one instruction must last longer "
                                  "than one tick of timer.hz for exact instruction counts");

static inline uint32_t reg_read(uint32_t off)
{
    return *(volatile uint32_t *)(uintptr_t)(BOARD_TIMER_BASE + off);
}

static inline void reg_write(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(BOARD_TIMER_BASE + off) = v;
}

void board__timer_init(void)
{
    reg_write(REG_CTRL, 0);
    reg_write(REG_RELOAD, 0xffffffffu);
    reg_write(REG_VALUE, 0xffffffffu);
    reg_write(REG_CTRL, CTRL_ENABLE);
    last = reg_read(REG_VALUE);
    total = 0;
}

void board__timer_pause(void)
{
    reg_write(REG_CTRL, 0); /* VALUE keeps its count while stopped */
}

void board__timer_resume(void)
{
    restart_total = timer_ticks(); /* VALUE stands still while stopped: the count at the restart */
    reg_write(REG_CTRL, CTRL_ENABLE);
}

/* QEMU's timer (a ptimer, hw/core/ptimer.c) keeps VALUE when stopped, and on a restart counts
 * its next tick one whole period after the virtual time of the write that set the enable bit.
 * Under -icount that write happens at an exact instruction count, so code that runs a fixed
 * path after it meets every later tick edge at the same offset, however the host timed the
 * command before. The part of a tick in progress is dropped (never counted twice: VALUE reads
 * the same just before and just after). An interrupt and WFI would add nothing here: timer0's
 * next edge is anchored on its last restart too, and another timer's on its own start. On the
 * real MPS2 the timer counts the CPU's own clock, so there is no phase to align. */
void timer_align(void)
{
    board__timer_pause();
    board__timer_resume();
}

uint64_t timer_ticks(void)
{
    uint32_t now = reg_read(REG_VALUE);
    total += (uint32_t)(last - now); /* down-counter: unsigned wrap-around gives the delta */
    last = now;
    return total;
}

/* Instructions since the timer last restarted (timer_align, or an idle wait), from its ticks.
 * QEMU's ptimer counts tick k at the restart write's virtual time plus k * TICK_NS, and under
 * -icount a read n instructions after that write sees the write's time plus n * INSN_NS (both
 * are I/O accesses, which QEMU makes the last instruction of their block, counted). So the read
 * gives k = floor(n * INSN_NS / TICK_NS), strictly increasing in n because INSN_NS > TICK_NS,
 * and n = ceil(k * TICK_NS / INSN_NS) is its exact inverse (an interval of width
 * TICK_NS / INSN_NS < 1 holds exactly one whole n). tests/e2e_ticks.c proves it with loops of
 * known length on every board. Meaningless without -icount (deterministic=false). */
uint64_t board_instret(void)
{
    uint64_t k = timer_ticks() - restart_total;
    return (k * TICK_NS + INSN_NS - 1) >> (BOARD_ICOUNT_SHIFT);
}
