/*
 * Cortex-M start-up (ARMv7-M and ARMv8-M mainline): the vector table, the reset handler and
 * the fault handlers. The core loads SP and PC from the table at reset (at vector_base, which
 * the linker script puts at the start of flash), so the reset handler is plain C. System
 * register addresses (SCB, NVIC) are architectural, the same on every Cortex-M board.
 */
#include "board.h"
#include "internal.h"

#include <stdint.h>

#define SCB_CPACR (*(volatile uint32_t *)0xe000ed88u) /* coprocessor access control */
#define SCB_CFSR (*(volatile uint32_t *)0xe000ed28u)  /* configurable fault status */
#define NVIC_ISER(i) (*(volatile uint32_t *)(0xe000e100u + 4u * (i))) /* set-enable */
#define NVIC_ICPR(i) (*(volatile uint32_t *)(0xe000e280u + 4u * (i))) /* clear-pending */
#define CPACR_CP10_CP11_FULL (0xfu << 20)
#define NVIC_WORDS 4 /* 128 interrupt lines: more than any mps2 board has (an505: 92) */
#define N_IRQS 96    /* external vectors in the table below */

void _start(void);
void board__fault_entry(void);
void board__fault_report(const uint32_t *frame);

/* The stack grows down from the top of RAM (minus the reserved 16 bytes). */
__attribute__((section(".vectors"), used)) static void (*const vectors[16 + N_IRQS])(void) = {
    (void (*)(void))(uintptr_t)__stack_top,
    _start,
    [2 ... 15 + N_IRQS] = board__fault_entry,
};

void _start(void)
{
    board__start();
}

void board__arch_init(void)
{
#ifdef __ARM_FP
    /* Hard-float code may use FP registers anywhere: grant the FPU before any C runs at
     * full speed, or the first FP instruction is a UsageFault (NOCP). */
    SCB_CPACR |= CPACR_CP10_CP11_FULL;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
}

/* board_instret: QEMU emulates no instruction counter on Cortex-M (the DWT cycle counter reads
 * 0), so the timer derives it from its ticks (timer_cmsdk_timer.c). */

int board__idle_enable(void)
{
    /* PRIMASK set: pending interrupts wake WFI but no handler ever runs, so the table above
     * needs no real handlers. Every line is enabled because the UART's number differs per
     * board; only lines whose device raises them (the UART's RX, see board_init) matter. */
    __asm__ volatile("cpsid i" ::: "memory");
    for (int i = 0; i < NVIC_WORDS; i++)
        NVIC_ISER(i) = 0xffffffffu;
    return 0;
}

int board__idle_enable_line(uint32_t src)
{
    /* as board__idle_enable, for one line (the fast link's); that one enabled every line
     * already, unless BOARD_NO_WFI kept it from running */
    __asm__ volatile("cpsid i" ::: "memory");
    NVIC_ISER(src / 32u) = 1u << (src % 32u);
    return 0;
}

void board__idle_wait(void)
{
    __asm__ volatile("wfi" ::: "memory");
    for (int i = 0; i < NVIC_WORDS; i++)
        NVIC_ICPR(i) = 0xffffffffu;
}

/* Every exception but reset lands here. C cannot see the stacked frame, so this shim passes
 * the stack pointer that was in use (EXC_RETURN, in lr, says which in bit 2). */
__attribute__((naked)) void board__fault_entry(void)
{
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "b board__fault_report\n\t");
}

void board__fault_report(const uint32_t *frame)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    /* frame[6] is the stacked PC; cause is the exception number (3 HardFault, 4 MemManage,
     * 5 BusFault, 6 UsageFault, 16+n IRQ n); extra is CFSR, which says why. */
    board__fault("exception", frame[6], ipsr & 0x1ff, SCB_CFSR);
}
