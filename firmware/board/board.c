/*
 * The architecture-neutral part of board.h: the UART byte functions on top of the driver
 * (uart/uart.h), the idle wait for input, entropy from the host's seed, and fault reporting.
 */
#include "board.h"
#include "internal.h"
#include "uart.h"

#include <stdbool.h>

/* Set by board_init when the UART can wake a WFI (Cortex-M; RISC-V when the machine file names
 * its PLIC); uart_getc then sleeps instead of spinning, which frees a host core (an idle board
 * costs ~0% CPU instead of 100%). BOARD_NO_WFI (a compile definition) keeps the polling. */
static bool rx_wakeup;
/* Polls before uart_getc sleeps: input that comes in bursts (the host's next chunk is usually
 * on its way) is taken without a wake-up's latency, and only a real pause (well under a
 * millisecond) sleeps. Measured on riscv32-virt with a quiet host (32 KiB echo): 10000 polls
 * keep the polled rate within noise, 1000 lose about 20%, none up to 80%; a 1-byte round trip
 * takes about 100 us, 130 to 260 with fewer polls. Cortex-M sleeps at once (FAST_LINKS.md). */
#ifndef IDLE_SPIN_POLLS
#ifdef BOARD_ARCH_RISCV
#define IDLE_SPIN_POLLS 10000u
#else
#define IDLE_SPIN_POLLS 0u
#endif
#endif
/* A variable, not the macro, in the comparison: with 0 it would be "always true" to -Wextra. */
static const unsigned idle_spin_polls = IDLE_SPIN_POLLS;
/* Counts board_entropy calls, so calls within one boot differ too. */
static uint32_t entropy_calls;
/* Whether board_init brought the UART up; a fault before that has to do it itself. */
static bool uart_up;

/* The host writes a fresh 64-bit seed here before every boot; the boot counter next to it
 * survives system_reset because nothing loads over it (docs/BOARD_CONTRACT.md "Board RAM
 * reservations"). */
#define SEED (*(volatile uint64_t *)(uintptr_t)BOARD_SEED_ADDR)
#define BOOT_COUNT (*(volatile uint64_t *)(uintptr_t)BOARD_BOOT_COUNT_ADDR)

void board_init(void)
{
    BOOT_COUNT = BOOT_COUNT + 1;
    board__timer_init();
    uart_hw_init();
    uart_up = true;
#ifndef BOARD_NO_WFI
    rx_wakeup = board__idle_enable() == 0 && uart_hw_enable_rx_wakeup() == 0;
    /* Armed only to learn whether it can be: uart_getc arms it again before each sleep. */
    if (rx_wakeup)
        uart_hw_clear_rx_wakeup();
#endif
}

void uart_write(const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++)
        uart_hw_putc(p[i]);
}

void uart_puts(const char *s)
{
    while (*s)
        uart_hw_putc((uint8_t)*s++);
}

int uart_try_getc(void)
{
    return uart_hw_try_getc();
}

int uart_getc(void)
{
    for (unsigned polls = 0;; polls++) {
        int c = uart_hw_try_getc();
        if (c >= 0)
            return c;
        if (rx_wakeup && polls >= idle_spin_polls) {
            /* Arm, poll once more, then sleep: a byte that came before the arming is found
             * by the poll, and one that comes after it raises the line, so WFI returns at
             * once; no wake-up is lost. (Arming before each sleep lets a driver make the
             * wake-up quicker while asleep than while busy: the 16550's trigger level.) The
             * controller's flag is cleared before the device's (idle_wait, then clear), and
             * the loop polls before any further sleep. The timer stands still meanwhile where
             * it can be paused (timer_ticks() then counts time spent working, not waiting for
             * input); RISC-V's mtime cannot be, and under -icount an idle CPU has no time. */
            uart_hw_enable_rx_wakeup();
            c = uart_hw_try_getc();
            if (c < 0) {
                board__timer_pause();
                board__idle_wait();
                board__timer_resume();
            }
            uart_hw_clear_rx_wakeup();
            if (c >= 0)
                return c;
        }
    }
}

/* splitmix64's finalizer: spreads every input bit over the whole result. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

uint32_t board_entropy(void)
{
    uint64_t x = SEED ^ mix64(BOOT_COUNT) ^ mix64(((uint64_t)++entropy_calls) << 32);
    return (uint32_t)(mix64(x) >> 32);
}

/* Appends v as 0x-prefixed hexadecimal at *p (no allocation, no libc). */
static char *put_hex(char *p, uintptr_t v)
{
    static const char digits[] = "0123456789abcdef";
    *p++ = '0';
    *p++ = 'x';
    for (int shift = (int)sizeof(v) * 8 - 4; shift >= 0; shift -= 4)
        *p++ = digits[(v >> shift) & 0xf];
    return p;
}

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

_Noreturn void board__fault(const char *what, uintptr_t pc, uintptr_t cause, uintptr_t extra)
{
    /* "#microtvm-qemu:fault:<what> pc=0x... cause=0x... extra=0x...\n": 3 x 18 digits at most
     * on rv64, what is a short literal of ours */
    char line[160];
    char *p = put_str(line, "#microtvm-qemu:fault:");
    p = put_str(p, what);
    p = put_hex(put_str(p, " pc="), pc);
    p = put_hex(put_str(p, " cause="), cause);
    p = put_hex(put_str(p, " extra="), extra);
    *p++ = '\n';
    *p = '\0';
    /* Not again when it is up: re-initializing a 16550 clears its FIFOs, losing output. */
    if (!uart_up)
        uart_hw_init();
    uart_puts("\n");
    uart_puts(line);
    board__exit_note(line);
    board_exit(3);
}
