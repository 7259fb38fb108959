/*
 * Driver for the NS16550A UART of QEMU's RISC-V virt machine (registers one byte apart,
 * reg-shift 0): polled, with the receive interrupt enabled only as a WFI wake-up (board.c).
 * Register facts: QEMU hw/char/serial.c, QEMU_NOTES.md, FAST_LINKS.md.
 */
#include "uart.h"

#include "board_config.h"

#include <stdint.h>

enum {
    REG_RBR_THR = 0, /* read: received byte; write: byte to send; divisor low when DLAB */
    REG_IER = 1,     /* interrupt enables; divisor high when DLAB */
    REG_FCR = 2,     /* FIFO control (write only) */
    REG_LCR = 3,     /* line control: word format, DLAB */
    REG_MCR = 4,     /* modem control */
    REG_LSR = 5,     /* line status */
};
#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define MCR_DTR_RTS 0x03
/* FIFOs on, both cleared, RX trigger level 14: QEMU then hands the UART up to 14 bytes per
 * main-loop wake-up instead of one, 2.7x the host-to-device rate measured in FAST_LINKS.md.
 * Polling still sees every single byte (LSR_DATA_READY is set as soon as the FIFO holds one). */
#define FCR_FIFO_ON_CLEAR_TRIG14 0xc7
/* The same without clearing the FIFOs, with trigger level 1 or 14: for the idle wake-up. */
#define FCR_FIFO_ON_TRIG1 0x01
#define FCR_FIFO_ON_TRIG14 0xc1
#define IER_RX_DATA 0x01 /* received data available (and the FIFO's character timeout) */
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

static inline uint8_t reg_read(uint32_t off)
{
    return *(volatile uint8_t *)(uintptr_t)(BOARD_UART_BASE + off);
}

static inline void reg_write(uint32_t off, uint8_t v)
{
    *(volatile uint8_t *)(uintptr_t)(BOARD_UART_BASE + off) = v;
}

void uart_hw_init(void)
{
    reg_write(REG_IER, 0);
    /* The divisor only sets QEMU's FIFO timeout; any nonzero value works. */
    reg_write(REG_LCR, LCR_DLAB);
    reg_write(REG_RBR_THR, 1);
    reg_write(REG_IER, 0);
    reg_write(REG_LCR, LCR_8N1);
    reg_write(REG_FCR, FCR_FIFO_ON_CLEAR_TRIG14);
    reg_write(REG_MCR, MCR_DTR_RTS);
}

void uart_hw_putc(uint8_t c)
{
    while (!(reg_read(REG_LSR) & LSR_THR_EMPTY)) {
    }
    reg_write(REG_RBR_THR, c);
}

int uart_hw_try_getc(void)
{
    if (!(reg_read(REG_LSR) & LSR_DATA_READY))
        return -1;
    return reg_read(REG_RBR_THR);
}

/* Called before every sleep: the line rises for the first byte that arrives (trigger level 1;
 * at 14 it would wait for the FIFO's character timeout, 4 character times, ~100 us of QEMU's
 * virtual clock at the virt machine's 399193 baud base). The FIFO is not cleared (no reset
 * bits), and QEMU re-evaluates the line on this write. */
int uart_hw_enable_rx_wakeup(void)
{
    reg_write(REG_FCR, FCR_FIFO_ON_TRIG1);
    reg_write(REG_IER, IER_RX_DATA);
    return 0;
}

/* After a sleep: back to trigger level 14 (QEMU then takes up to 14 bytes per main-loop
 * wake-up, see FCR_FIFO_ON_CLEAR_TRIG14). The line itself follows the FIFO, which the caller
 * drains. */
void uart_hw_clear_rx_wakeup(void)
{
    reg_write(REG_IER, 0);
    reg_write(REG_FCR, FCR_FIFO_ON_TRIG14);
}
