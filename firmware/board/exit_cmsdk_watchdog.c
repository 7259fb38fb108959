/*
 * board_exit() on the mps2 boards, without semihosting (docs/SECURITY.md "The board and QEMU").
 * The exit status goes out as one line, "#microtvm-qemu:exit:<code>\n", on a second CMSDK UART
 * (exit.status_uart) whose host side the emulator owns and reads once QEMU has ended; then the
 * CMSDK watchdog (exit.base) raises its reset output at once through its integration-test
 * registers, and the emulator's "-action watchdog=poweroff" makes QEMU exit (with 0: the code
 * travels in the line). A reset request (AIRCR.SYSRESETREQ) is left alone and still resets the
 * board. Register facts: QEMU hw/watchdog/cmsdk-apb-watchdog.c, hw/char/cmsdk-apb-uart.c.
 */
#include "board.h"
#include "internal.h"

#include <stdbool.h>
#include <stdint.h>

#define STATUS_REG(off) (*(volatile uint32_t *)(uintptr_t)(BOARD_EXIT_STATUS_UART + (off)))
#define UART_DATA 0x00u
#define UART_STATE 0x04u
#define UART_CTRL 0x08u
#define UART_BAUDDIV 0x10u
#define UART_STATE_TX_FULL (1u << 0)
#define UART_CTRL_TX_EN (1u << 0)

#define WDOG_REG(off) (*(volatile uint32_t *)(uintptr_t)(BOARD_EXIT_BASE + (off)))
#define WDOG_LOCK 0xc00u
#define WDOG_ITCR 0xf00u
#define WDOG_ITOP 0xf04u
#define WDOG_UNLOCK 0x1acce551u
#define WDOG_ITOP_WDOGRES (1u << 0)

/* A host side that stopped taking bytes must not keep a dying firmware alive: give up on a
 * byte after this many polls (the emulator drains its pty only once QEMU has ended, and what
 * we write is far below the pty's buffer). */
#define TX_POLLS 100000u

static bool status_up;

static void status_putc(char c)
{
    if (!status_up) {
        STATUS_REG(UART_BAUDDIV) = 16; /* QEMU refuses less; the rate does not matter */
        STATUS_REG(UART_CTRL) = UART_CTRL_TX_EN;
        status_up = true;
    }
    for (unsigned i = 0; i < TX_POLLS && (STATUS_REG(UART_STATE) & UART_STATE_TX_FULL); i++) {
    }
    STATUS_REG(UART_DATA) = (uint8_t)c;
}

static void status_puts(const char *s)
{
    while (*s)
        status_putc(*s++);
}

void board__exit_note(const char *line)
{
    status_puts(line);
}

_Noreturn void board_exit(int code)
{
    char digits[4];
    unsigned v = (unsigned)code & 0xffu, n = 0;
    do
        digits[n++] = (char)('0' + v % 10u);
    while ((v /= 10u) != 0);
    status_puts("#microtvm-qemu:exit:");
    while (n)
        status_putc(digits[--n]);
    status_putc('\n');
    /* the line's last byte has left the UART's holding register once TX is not full */
    for (unsigned i = 0; i < TX_POLLS && (STATUS_REG(UART_STATE) & UART_STATE_TX_FULL); i++) {
    }
    WDOG_REG(WDOG_LOCK) = WDOG_UNLOCK;
    WDOG_REG(WDOG_ITCR) = 1;
    WDOG_REG(WDOG_ITOP) = WDOG_ITOP_WDOGRES;
    for (;;) /* QEMU is gone by now; a QEMU without the action never gets past here */
        __asm__ volatile("wfi");
}
