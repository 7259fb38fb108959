/*
 * Polled driver for Arm's CMSDK APB UART (the mps2 boards' UART0). Register facts: QEMU
 * hw/char/cmsdk-apb-uart.c and QEMU_NOTES.md. The base comes from the machine file.
 */
#include "uart.h"

#include "board_config.h"

#include <stdint.h>

enum {
    REG_DATA = 0x00,      /* write: send a byte; read: the received byte */
    REG_STATE = 0x04,     /* status bits below */
    REG_CTRL = 0x08,      /* enables below */
    REG_INTSTATUS = 0x0c, /* pending interrupts, write 1 to clear */
    REG_BAUDDIV = 0x10,
};
#define STATE_TX_FULL (1u << 0)
#define STATE_RX_FULL (1u << 1)
#define CTRL_TX_EN (1u << 0)
#define CTRL_RX_EN (1u << 1)
#define CTRL_RX_INT_EN (1u << 3)
#define INT_RX (1u << 1)

static inline uint32_t reg_read(uint32_t off)
{
    return *(volatile uint32_t *)(uintptr_t)(BOARD_UART_BASE + off);
}

static inline void reg_write(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(BOARD_UART_BASE + off) = v;
}

void uart_hw_init(void)
{
    /* QEMU refuses to run the UART with BAUDDIV < 16 (the hardware minimum); the rate itself
     * does not matter in emulation. */
    reg_write(REG_BAUDDIV, 16);
    /* Enable TX too: with TX off QEMU never drains DATA and putc spins forever. Input is held
     * (not dropped) until RX is enabled, so nothing sent before this point is lost. */
    reg_write(REG_CTRL, CTRL_TX_EN | CTRL_RX_EN);
}

void uart_hw_putc(uint8_t c)
{
    while (reg_read(REG_STATE) & STATE_TX_FULL) {
    }
    reg_write(REG_DATA, c);
}

int uart_hw_try_getc(void)
{
    if (!(reg_read(REG_STATE) & STATE_RX_FULL))
        return -1;
    return (int)(reg_read(REG_DATA) & 0xff);
}

int uart_hw_enable_rx_wakeup(void)
{
    reg_write(REG_CTRL, reg_read(REG_CTRL) | CTRL_RX_INT_EN);
    return 0;
}

void uart_hw_clear_rx_wakeup(void)
{
    reg_write(REG_INTSTATUS, INT_RX);
}
