/*
 * RISC-V (machine mode, no OS) pieces of the board layer: the trap handler, the instruction
 * counter and the idle hooks. CSR names are architectural (the privileged spec); GCC 12 needs
 * -misa-spec=2.2 in the machine file's flags to assemble them (QEMU_NOTES.md).
 */
#include "board.h"
#include "internal.h"

#include <stdint.h>

void board__trap(void);

void board__arch_init(void)
{
}

/* Every trap is a fault here: nothing enables interrupts (mstatus.MIE stays 0). Reached
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

/* A wake-up on UART input needs the PLIC, whose base and the UART's source number the machine
 * file does not carry yet; board.c then polls. */
int board__idle_enable(void)
{
    return -1;
}

void board__idle_wait(void)
{
}
