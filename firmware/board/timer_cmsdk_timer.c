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
