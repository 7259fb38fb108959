/*
 * link.h on the mps2 boards' LAN9118 Ethernet controller: the register driver under the
 * link's protocol (frames.c, link_frame.h), which it serves through struct frames_nic. PIO
 * (the controller has no DMA) and polled, with the controller's interrupt line as a WFI
 * wake-up. Register facts: FAST_LINKS.md 3.1 (measured) and QEMU 7.2 hw/net/lan9118.c; the
 * base and the line come from the machine file (mps2-an500's controller is at 0xa0000000,
 * mps2-an505's at 0x42000000, given by its secure alias 0x52000000: machines/README.md).
 */
#include "link.h"

#include "board.h"
#include "frames.h"
#include "internal.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- registers (byte offsets, 32-bit accesses) ---- */
enum {
    REG_RX_DATA = 0x00,     /* RX data FIFO port (aliased up to 0x1c) */
    REG_TX_DATA = 0x20,     /* TX data FIFO port (aliased up to 0x3c) */
    REG_RX_STATUS = 0x40,   /* pops one RX status word */
    REG_IRQ_CFG = 0x54,
    REG_INT_STS = 0x58,     /* write 1 to clear */
    REG_INT_EN = 0x5c,
    REG_BYTE_TEST = 0x64,   /* reads BYTE_TEST_VALUE on a LAN9118 */
    REG_RX_CFG = 0x6c,
    REG_TX_CFG = 0x70,
    REG_HW_CFG = 0x74,
    REG_RX_FIFO_INF = 0x7c, /* [23:16]: RX status entries waiting */
    REG_TX_FIFO_INF = 0x80, /* [15:0]: TX data FIFO bytes free */
    REG_PMT_CTRL = 0x84,
    REG_MAC_CSR_CMD = 0xa4, /* indirect MAC registers: BUSY, READ, index */
    REG_MAC_CSR_DATA = 0xa8,
};
#define BYTE_TEST_VALUE 0x87654321u
#define HW_CFG_SRST (1u << 0)
#define PMT_CTRL_READY (1u << 0)
#define MAC_CSR_BUSY (1u << 31)
#define MAC_CR 1u /* MAC register index */
#define MAC_CR_RXEN (1u << 2)
#define MAC_CR_TXEN (1u << 3)
#define MAC_CR_PRMS (1u << 18) /* promiscuous: we filter by ethertype, not by address */
#define MAC_CR_FDPX (1u << 20)
#define TX_CFG_TX_ON (1u << 1)
#define TX_CFG_TXSAO (1u << 2) /* TX status may overrun: nobody reads it */
#define IRQ_CFG_TYPE (1u << 0) /* push-pull; with POL, active high (else QEMU drives it low) */
#define IRQ_CFG_POL (1u << 4)
#define IRQ_CFG_EN (1u << 8)
#define INT_RSFL (1u << 3)     /* RX status FIFO above FIFO_INT's level (0: any frame) */
#define TX_CMD_A_FIRST (1u << 13)
#define TX_CMD_A_LAST (1u << 12)
#define RX_STATUS_LEN(s) (((s) >> 16) & 0x3fffu) /* bytes, with the 4-byte CRC */
#define RX_FIFO_INF_FRAMES(v) (((v) >> 16) & 0xffu)

/* The protocol's state (frames.h), zero at boot like virtio_serial.c's: in .bss after the
 * application's data, with no alignment beyond its words, so the application's and the
 * model's data sit where the UART build puts them. */
static struct frames link;
static bool wakeup; /* the controller's line ends a WFI */

static inline uint32_t reg_read(uint32_t off)
{
    return *(volatile uint32_t *)(uintptr_t)(BOARD_FAST_LINK_BASE + off);
}

static inline void reg_write(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(BOARD_FAST_LINK_BASE + off) = v;
}

/* Says why the link cannot come up, on the UART (the host shows it), and stops the board. */
static _Noreturn void link_fail(const char *why)
{
    uart_puts("#microtvm-qemu:link-error:lan9118: ");
    uart_puts(why);
    uart_puts("\n");
    board_exit(4);
}

static void mac_write(uint32_t index, uint32_t v)
{
    while (reg_read(REG_MAC_CSR_CMD) & MAC_CSR_BUSY) {
    }
    reg_write(REG_MAC_CSR_DATA, v);
    reg_write(REG_MAC_CSR_CMD, MAC_CSR_BUSY | index);
    while (reg_read(REG_MAC_CSR_CMD) & MAC_CSR_BUSY) {
    }
}

/* ---- the FIFO ports ----
 * Under -icount QEMU ends a translation block at every instruction that touches a device,
 * and that exit, not the device, is what a register access costs (FAST_LINKS.md 2.1 measured
 * ~120 ns per word). The data ports are aliased over eight words (0x00-0x1c, 0x20-0x3c) so
 * that one LDM or STM moves eight FIFO words: one exit instead of eight. r7 stays out of the
 * lists (Thumb's frame pointer at -O0). */
#define BURST_REGS "{r2, r3, r4, r5, r6, r8, r9, r12}"
#define BURST_CLOBBERS "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r12", "memory"

static void fifo_write(const uint32_t *w, uint32_t words)
{
    volatile uint32_t *port = (volatile uint32_t *)(uintptr_t)(BOARD_FAST_LINK_BASE + REG_TX_DATA);
    for (; words >= 8u; words -= 8u)
        __asm__ volatile("ldmia %0!, " BURST_REGS "\n\tstmia %1, " BURST_REGS
                         : "+r"(w) : "r"(port) : BURST_CLOBBERS);
    while (words--)
        *port = *w++;
}

/* Reads exactly words words (one more would be the next frame's). */
static void fifo_read(uint32_t *w, uint32_t words)
{
    volatile uint32_t *port = (volatile uint32_t *)(uintptr_t)(BOARD_FAST_LINK_BASE + REG_RX_DATA);
    for (; words >= 8u; words -= 8u)
        __asm__ volatile("ldmia %1, " BURST_REGS "\n\tstmia %0!, " BURST_REGS
                         : "+r"(w) : "r"(port) : BURST_CLOBBERS);
    while (words--)
        *w++ = *port;
}

/* ---- the NIC frames.c talks to ---- */

/* One frame out: two command words, then the frame in little-endian words. QEMU sends it
 * inside the write of the last word, so there is nothing to wait for afterwards. */
static void nic_send(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    const uint32_t *w = (const uint32_t *)(const void *)frame;
    uint32_t words = ((uint32_t)len + 3u) / 4u;
    while ((reg_read(REG_TX_FIFO_INF) & 0xffffu) < words * 4u + 8u) {
    }
    reg_write(REG_TX_DATA, TX_CMD_A_FIRST | TX_CMD_A_LAST | (uint32_t)len);
    reg_write(REG_TX_DATA, ((uint32_t)len << 16) | (uint32_t)len); /* tag | length */
    fifo_write(w, words);
}

/* One frame in, when a status entry waits: its words (what does not fit in buf is read and
 * dropped, which never happens with QEMU's 2047-byte limit); the length without the CRC. */
static size_t nic_recv(void *ctx, uint8_t *buf, size_t cap)
{
    (void)ctx;
    if (RX_FIFO_INF_FRAMES(reg_read(REG_RX_FIFO_INF)) == 0)
        return 0;
    uint32_t len = RX_STATUS_LEN(reg_read(REG_RX_STATUS));
    uint32_t words = (len + 3u) / 4u, room = (uint32_t)cap / 4u;
    fifo_read((uint32_t *)(void *)buf, words < room ? words : room);
    for (uint32_t i = room; i < words; i++)
        (void)reg_read(REG_RX_DATA);
    if (len <= 4u)
        return 1; /* no frame of ours: frames.c counts it as malformed */
    len -= 4u;
    return len < cap ? len : cap;
}

/* Sleeps until a frame comes. The flag is cleared before the last look at the FIFO, so a
 * frame arriving after that look sets it again, the line goes high and WFI returns at once:
 * no wake-up is lost. The timer stands still meanwhile (board.c does the same for the UART). */
static void nic_wait(void *ctx)
{
    (void)ctx;
    if (!wakeup)
        return;
    reg_write(REG_INT_STS, INT_RSFL);
    if (RX_FIFO_INF_FRAMES(reg_read(REG_RX_FIFO_INF)) != 0)
        return;
    board__timer_pause();
    board__idle_wait();
    board__timer_resume();
}

static const struct frames_nic nic = {
    .ctx = NULL, .send = nic_send, .recv = nic_recv, .wait = nic_wait};

/* Resets the controller (which also empties its FIFOs of anything from before this boot)
 * and turns on the MAC, promiscuous and full duplex; the PHY needs nothing in QEMU. */
static void nic_init(void)
{
    if (reg_read(REG_BYTE_TEST) != BYTE_TEST_VALUE)
        link_fail("no LAN9118 at BOARD_FAST_LINK_BASE (BYTE_TEST does not read 0x87654321)");
    reg_write(REG_HW_CFG, HW_CFG_SRST);
    while (reg_read(REG_HW_CFG) & HW_CFG_SRST) {
    }
    while (!(reg_read(REG_PMT_CTRL) & PMT_CTRL_READY)) {
    }
    reg_write(REG_INT_EN, 0);
    reg_write(REG_INT_STS, 0xffffffffu);
    reg_write(REG_RX_CFG, 0); /* no data offset: the FIFO arithmetic of link_frame.h */
    mac_write(MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_FDPX | MAC_CR_PRMS);
    reg_write(REG_TX_CFG, TX_CFG_TX_ON | TX_CFG_TXSAO);
#ifndef BOARD_NO_WFI
    if (board__idle_enable_line(BOARD_FAST_LINK_IRQ) == 0) {
        reg_write(REG_IRQ_CFG, IRQ_CFG_EN | IRQ_CFG_POL | IRQ_CFG_TYPE);
        reg_write(REG_INT_EN, INT_RSFL);
        wakeup = true;
    }
#endif
}

void link_init(void)
{
    nic_init();
    /* a new session id every boot and reset (board_entropy mixes the boot counter in), so
     * the host tells a reboot from a late HELLO */
    frames_init(&link, &nic, board_entropy());
    frames_hello(&link);
    frames_write(&link, LINK_UP_MARKER, sizeof LINK_UP_MARKER - 1);
    frames_flush(&link);
}

void link_write(const void *data, size_t n)
{
    frames_write(&link, data, n);
}

void link_flush(void)
{
    frames_flush(&link);
}

int link_getc(void)
{
    return frames_getc(&link);
}

int link_try_getc(void)
{
    return frames_try_getc(&link);
}

size_t link_read(void *buf, size_t max)
{
    return frames_read(&link, buf, max);
}
