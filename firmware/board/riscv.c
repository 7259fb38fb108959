/*
 * RISC-V (machine mode, no OS) pieces of the board layer: the trap handler, the instruction
 * counter and the idle hooks (a WFI woken by the UART through the PLIC when the machine file
 * names one: intc, uart.irq). CSR names are architectural (the privileged spec); GCC 12 needs
 * -misa-spec=2.2 in the machine file's flags to assemble them (QEMU_NOTES.md).
 */
#include "board.h"
#include "internal.h"

#include <stdint.h>

void board__trap(void);

void board__arch_init(void)
{
}

/* Every trap is a fault here: nothing enables interrupts (mstatus.MIE stays 0; the idle
 * hooks below set only mie.MEIE, which makes WFI wake without trapping). Reached
 * through mtvec in direct mode, which needs 4-byte alignment; it never returns, so it can be a
 * plain C function. */
__attribute__((aligned(4))) void board__trap(void)
{
    uintptr_t mepc, mcause, mtval;
    __asm__ volatile("csrr %0, mepc" : "=r"(mepc));
    __asm__ volatile("csrr %0, mcause" : "=r"(mcause));
    __asm__ volatile("csrr %0, mtval" : "=r"(mtval));
    board__fault("trap", mepc, mcause, mtval);
}

uint64_t board_instret(void)
{
#if __riscv_xlen == 32
    /* Re-read if the high half moved while reading the low one (a carry in between). */
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi));
        __asm__ volatile("csrr %0, minstret" : "=r"(lo));
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
#else
    uint64_t n;
    __asm__ volatile("csrr %0, minstret" : "=r"(n));
    return n;
#endif
}

#ifdef BOARD_INTC_PLIC
/* The PLIC's register map (QEMU hw/riscv/virt.h and hw/intc/sifive_plic.c; 32-bit accesses
 * only). QEMU virt gives hart 0 two contexts, M-mode first: context 0 is hart 0's M-mode. */
#define PLIC_REG(off) (*(volatile uint32_t *)(uintptr_t)(BOARD_INTC_BASE + (off)))
#define PLIC_PRIORITY(src) PLIC_REG(4u * (src))
#define PLIC_ENABLE(ctx, src) PLIC_REG(0x2000u + 0x80u * (ctx) + 4u * ((src) / 32u))
#define PLIC_THRESHOLD(ctx) PLIC_REG(0x200000u + 0x1000u * (ctx))
#define PLIC_CLAIM(ctx) PLIC_REG(0x200000u + 0x1000u * (ctx) + 4u)
#define PLIC_CTX_HART0_M 0u
#define MIE_MEIE (1u << 11) /* machine external interrupt enable */

/* Routes the UART's line to hart 0's M-mode external interrupt (mip.MEIP) and enables it in
 * mie, but leaves mstatus.MIE off: a pending enabled interrupt still ends a WFI (the privileged
 * spec's WFI ignores the global enable), and no trap is ever taken, so the fault-only trap
 * handler stays right. */
int board__idle_enable(void)
{
    return board__idle_enable_line(BOARD_UART_IRQ);
}

int board__idle_enable_line(uint32_t src)
{
    PLIC_PRIORITY(src) = 1; /* 0 would mean "never" */
    PLIC_ENABLE(PLIC_CTX_HART0_M, src) |= 1u << (src % 32u);
    PLIC_THRESHOLD(PLIC_CTX_HART0_M) = 0;
    __asm__ volatile("csrs mie, %0" ::"r"((uintptr_t)MIE_MEIE) : "memory");
    return 0;
}

/* The caller polled the UART just before: a byte that came since keeps the UART's line, and
 * so MEIP, high, and WFI returns at once; no wake-up is lost. Claim and complete lower MEIP
 * for the next sleep (QEMU's PLIC pends a source again while its line stays high, so a byte
 * still unread wakes the next WFI too; the caller polls before that anyway). */
void board__idle_wait(void)
{
    __asm__ volatile("wfi" ::: "memory");
    uint32_t src = PLIC_CLAIM(PLIC_CTX_HART0_M);
    if (src != 0)
        PLIC_CLAIM(PLIC_CTX_HART0_M) = src; /* complete */
}
#else
/* No interrupt controller in the machine file (intc, uart.irq): board.c polls. */
int board__idle_enable(void)
{
    return -1;
}

int board__idle_enable_line(uint32_t src)
{
    (void)src;
    return -1;
}

void board__idle_wait(void)
{
}
#endif
