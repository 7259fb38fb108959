/*
 * link.h on a virtio-serial port (virtio console device, MULTIPORT, port 1: a QEMU
 * virtserialport) behind virtio-mmio, legacy (QEMU 7.2's default) or modern transport. Port 0
 * (virtconsole) is not used: QEMU drops its guest-to-host bytes when the host does not drain
 * them, while a virtserialport waits (FAST_LINKS.md 3.4). Polled, with the device's interrupt
 * line as a WFI wake-up where the machine file names a PLIC (as board.c does for the UART).
 * Output is gathered into 4 KiB buffers handed to the device when full or flushed; every
 * receive buffer not being read is posted, so the device never stops taking host bytes for
 * want of room. Register and ring facts: the virtio 1.1 specification (virtio-mmio, split
 * virtqueues, console device), FAST_LINKS.md 3.2 and 3.4, QEMU hw/char/virtio-serial-bus.c.
 */
#include "link.h"

#include "board.h"
#include "internal.h"
#include "link_copy.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ---- virtio-mmio registers (byte offsets, 32-bit accesses) ---- */
enum {
    REG_MAGIC = 0x000,           /* "virt" */
    REG_VERSION = 0x004,         /* 1 legacy, 2 modern */
    REG_DEVICE_ID = 0x008,
    REG_DEVICE_FEATURES = 0x010,
    REG_DEVICE_FEATURES_SEL = 0x014,
    REG_DRIVER_FEATURES = 0x020,
    REG_DRIVER_FEATURES_SEL = 0x024,
    REG_GUEST_PAGE_SIZE = 0x028, /* legacy only */
    REG_QUEUE_SEL = 0x030,
    REG_QUEUE_NUM_MAX = 0x034,
    REG_QUEUE_NUM = 0x038,
    REG_QUEUE_ALIGN = 0x03c,     /* legacy only */
    REG_QUEUE_PFN = 0x040,       /* legacy only */
    REG_QUEUE_READY = 0x044,     /* modern only */
    REG_QUEUE_NOTIFY = 0x050,
    REG_INTERRUPT_STATUS = 0x060,
    REG_INTERRUPT_ACK = 0x064,
    REG_STATUS = 0x070,
    REG_QUEUE_DESC_LOW = 0x080,  /* modern only, as the five below */
    REG_QUEUE_DESC_HIGH = 0x084,
    REG_QUEUE_DRIVER_LOW = 0x090,
    REG_QUEUE_DRIVER_HIGH = 0x094,
    REG_QUEUE_DEVICE_LOW = 0x0a0,
    REG_QUEUE_DEVICE_HIGH = 0x0a4,
};
#define VIRTIO_MAGIC 0x74726976u
#define DEVICE_ID_CONSOLE 3u
#define STATUS_ACKNOWLEDGE 1u
#define STATUS_DRIVER 2u
#define STATUS_DRIVER_OK 4u
#define STATUS_FEATURES_OK 8u
#define FEATURE_CONSOLE_MULTIPORT (1u << 1)
#define FEATURE_VERSION_1_HIGH (1u << 0) /* feature bit 32: word 1, bit 0 */
#define PAGE 4096u

/* ---- the console device's queues and control messages (virtio 1.1, 5.3) ---- */
#define PORT 1u         /* our virtserialport's nr (server/fast_link.c) */
#define Q_CTRL_RX 2u    /* device -> driver control messages */
#define Q_CTRL_TX 3u
#define Q_DATA_RX (2u * PORT + 2u)
#define Q_DATA_TX (2u * PORT + 3u)
enum {
    EV_DEVICE_READY = 0,
    EV_PORT_ADD = 1,
    EV_PORT_READY = 3,
    EV_PORT_OPEN = 6,
};
struct ctrl_msg {
    uint32_t id;
    uint16_t event;
    uint16_t value;
};

/* ---- split virtqueues, one 8 KiB block each: descriptors and the available ring in the
 * first page, the used ring at the next page (the legacy layout for QueueAlign 4096, which the
 * modern transport is simply told the addresses of) ---- */
#define DESC_F_WRITE 2u          /* the device writes this buffer */
#define USED_F_NO_NOTIFY 1u      /* the device asks not to be kicked for now */
#define N_CTRL 8u                /* control queues: QEMU offers 32 */
#define N_DATA 16u               /* data queues: QEMU offers 128 */
#define BUF_BYTES 4096u          /* QEMU hands a port at most 4 KiB per chardev read */
#define CTRL_BUF_BYTES 64u       /* a control message, or PORT_NAME with its name */

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
struct used_elem {
    uint32_t id;
    uint32_t len;
};
#define RING_BLOCK (2 * PAGE)

struct queue {
    uint32_t index;
    uint16_t size;
    volatile struct desc *desc;
    volatile uint16_t *avail;              /* flags, idx, ring[size] */
    volatile uint16_t *used;               /* flags, idx, then used_elem[size] */
    volatile struct used_elem *used_ring;
    uint16_t next_avail;                   /* our copy of avail idx */
    uint16_t seen_used;                    /* used entries taken so far */
};

/* The driver's state, all zero at boot. Kept out of small data (.sdata/.sbss, which the linker
 * places before every object's .bss) and free of over-aligned objects, so that a firmware
 * built with this link lays out the application's and the model's data exactly as the UART
 * build does: the same addresses, and so the same exact instruction counts (an arena's
 * alignment, or a global out of the gp register's reach, changes them). Hence the ring space
 * is page-aligned at run time rather than by an aligned attribute. */
static struct {
    struct queue ctrl_rx, ctrl_tx, data_rx, data_tx;
    bool modern;
    bool wakeup;     /* the device's line can end a WFI (PLIC named in the machine file) */
    bool port_added; /* the device announced our port */
    unsigned idle_polls;
    /* the receive buffer being read (rx_busy), its descriptor, where, how much is left */
    bool rx_busy;
    uint16_t rx_id;
    const uint8_t *rx_ptr;
    uint32_t rx_left;
    /* the transmit buffer being filled (tx_busy), and which buffers the device does not hold */
    bool tx_busy;
    uint16_t tx_id;
    uint32_t tx_fill;
    uint16_t tx_free[N_DATA];
    unsigned tx_n_free;
    unsigned ctrl_tx_busy;
} lk;
static uint8_t ring_space[4 * RING_BLOCK + PAGE];
static uint8_t ctrl_rx_buf[N_CTRL][CTRL_BUF_BYTES];
static struct ctrl_msg ctrl_tx_buf[N_CTRL];
static uint8_t rx_buf[N_DATA][BUF_BYTES];
static uint8_t tx_buf[N_DATA][BUF_BYTES];

/* Polls before an idle wait sleeps: as board.c's IDLE_SPIN_POLLS, a burst's next chunk is
 * taken without a wake-up's latency. Here a poll reads RAM (the used rings), not a register. */
#define IDLE_SPIN_POLLS 10000u

static inline uint32_t reg_read(uint32_t off)
{
    return *(volatile uint32_t *)(uintptr_t)(BOARD_FAST_LINK_BASE + off);
}

static inline void reg_write(uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)(BOARD_FAST_LINK_BASE + off) = v;
}

/* Orders our ring writes against the device's view of memory and the notify register. */
static inline void fence(void)
{
    __sync_synchronize();
}

/* Says why the link cannot come up, on the UART (the host shows it), and stops the board. */
static _Noreturn void link_fail(const char *why)
{
    uart_puts("#microtvm-qemu:link-error:virtio_serial: ");
    uart_puts(why);
    uart_puts("\n");
    board_exit(4);
}

/* ---- queues ---- */

static void write_addr(uint32_t low_reg, const volatile void *p)
{
    uint64_t a = (uint64_t)(uintptr_t)p;
    reg_write(low_reg, (uint32_t)a);
    reg_write(low_reg + 4u, (uint32_t)(a >> 32));
}

/* The i-th queue's block in ring_space, page-aligned (the legacy layout counts in pages). */
static uint8_t *ring_block(unsigned i)
{
    uintptr_t base = ((uintptr_t)ring_space + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
    return (uint8_t *)base + i * RING_BLOCK;
}

static void queue_setup(struct queue *q, uint32_t index, uint16_t size, uint8_t *mem)
{
    q->index = index;
    q->size = size;
    q->desc = (volatile struct desc *)(void *)mem;
    q->avail = (volatile uint16_t *)(void *)(mem + 16u * size);
    q->used = (volatile uint16_t *)(void *)(mem + PAGE);
    q->used_ring = (volatile struct used_elem *)(void *)(mem + PAGE + 4u);
    q->next_avail = 0;
    q->seen_used = 0;
    reg_write(REG_QUEUE_SEL, index);
    uint32_t max = reg_read(REG_QUEUE_NUM_MAX);
    if (max < size)
        link_fail("a queue is smaller than the driver needs");
    if (reg_read(lk.modern ? REG_QUEUE_READY : REG_QUEUE_PFN) != 0)
        link_fail("a queue is already in use");
    reg_write(REG_QUEUE_NUM, size);
    if (lk.modern) {
        write_addr(REG_QUEUE_DESC_LOW, q->desc);
        write_addr(REG_QUEUE_DRIVER_LOW, q->avail);
        write_addr(REG_QUEUE_DEVICE_LOW, q->used);
        reg_write(REG_QUEUE_READY, 1);
    } else {
        reg_write(REG_QUEUE_ALIGN, PAGE);
        reg_write(REG_QUEUE_PFN, (uint32_t)((uintptr_t)mem / PAGE));
    }
}

/* Offers descriptor id to the device (the buffer is already described). No kick. */
static void queue_offer(struct queue *q, uint16_t id)
{
    q->avail[2u + (q->next_avail % q->size)] = id;
    fence(); /* the ring entry before the index that publishes it */
    q->avail[1] = ++q->next_avail;
}

/* Tells the device to look at q, unless it said it is looking anyway. */
static void queue_kick(struct queue *q)
{
    fence(); /* the published index before the flag we decide on and the notify */
    if (!(q->used[0] & USED_F_NO_NOTIFY))
        reg_write(REG_QUEUE_NOTIFY, q->index);
}

/* Takes the next used entry of q; false when there is none. */
static bool queue_take(struct queue *q, struct used_elem *out)
{
    if (q->used[1] == q->seen_used)
        return false;
    fence(); /* the index before the entry it published */
    volatile struct used_elem *e = &q->used_ring[q->seen_used % q->size];
    out->id = e->id;
    out->len = e->len;
    q->seen_used++;
    return true;
}

static void describe(struct queue *q, uint16_t id, const void *buf, uint32_t len, bool writable)
{
    q->desc[id].addr = (uint64_t)(uintptr_t)buf;
    q->desc[id].len = len;
    q->desc[id].flags = writable ? DESC_F_WRITE : 0;
    q->desc[id].next = 0;
}

/* ---- waiting ---- */

/* One round of an idle wait: spins a while, then sleeps until the device's line rises (any
 * used buffer raises it) and acknowledges it. Callers look at the rings before every round, so
 * a buffer used between their look and the WFI keeps the line high and WFI returns at once. */
static void idle_round(void)
{
    if (!lk.wakeup || ++lk.idle_polls < IDLE_SPIN_POLLS)
        return;
    lk.idle_polls = 0;
    board__timer_pause();
    board__idle_wait();
    board__timer_resume();
    reg_write(REG_INTERRUPT_ACK, reg_read(REG_INTERRUPT_STATUS));
}

/* ---- control messages ---- */

static void ctrl_send(uint32_t id, uint16_t event, uint16_t value)
{
    struct used_elem e;
    while (lk.ctrl_tx_busy == N_CTRL) { /* every buffer with the device: wait for one back */
        while (queue_take(&lk.ctrl_tx, &e))
            lk.ctrl_tx_busy--;
        if (lk.ctrl_tx_busy == N_CTRL)
            idle_round();
    }
    uint16_t slot = (uint16_t)(lk.ctrl_tx.next_avail % N_CTRL); /* in order: the oldest is back */
    ctrl_tx_buf[slot] = (struct ctrl_msg){id, event, value};
    describe(&lk.ctrl_tx, slot, &ctrl_tx_buf[slot], sizeof ctrl_tx_buf[slot], false);
    lk.ctrl_tx_busy++;
    queue_offer(&lk.ctrl_tx, slot);
    queue_kick(&lk.ctrl_tx);
    while (queue_take(&lk.ctrl_tx, &e))
        lk.ctrl_tx_busy--;
}

/* Handles what the device said on the control queue: our port's arrival is answered with
 * PORT_READY and, since we always want the port, PORT_OPEN (QEMU passes no host bytes to a
 * port the guest has not opened). Every buffer goes straight back to the device: it drops
 * control messages when it has nowhere to put them. */
static void ctrl_poll(void)
{
    struct used_elem e;
    bool reposted = false;
    while (queue_take(&lk.ctrl_rx, &e)) {
        struct ctrl_msg m;
        if (e.id < N_CTRL && e.len >= sizeof m) {
            memcpy(&m, ctrl_rx_buf[e.id], sizeof m);
            if (m.event == EV_PORT_ADD && m.id == PORT && !lk.port_added) {
                lk.port_added = true;
                ctrl_send(PORT, EV_PORT_READY, 1);
                ctrl_send(PORT, EV_PORT_OPEN, 1);
            }
        }
        if (e.id < N_CTRL) {
            queue_offer(&lk.ctrl_rx, (uint16_t)e.id);
            reposted = true;
        }
    }
    if (reposted)
        queue_kick(&lk.ctrl_rx);
}

/* ---- bring-up ---- */

static void negotiate(void)
{
    reg_write(REG_STATUS, 0); /* reset */
    while (reg_read(REG_STATUS) != 0) {
    }
    reg_write(REG_STATUS, STATUS_ACKNOWLEDGE);
    reg_write(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    reg_write(REG_DEVICE_FEATURES_SEL, 0);
    if (!(reg_read(REG_DEVICE_FEATURES) & FEATURE_CONSOLE_MULTIPORT))
        link_fail("the console offers no MULTIPORT (a virtserialport needs it)");
    reg_write(REG_DRIVER_FEATURES_SEL, 0);
    reg_write(REG_DRIVER_FEATURES, FEATURE_CONSOLE_MULTIPORT);
    if (lk.modern) {
        reg_write(REG_DEVICE_FEATURES_SEL, 1);
        if (!(reg_read(REG_DEVICE_FEATURES) & FEATURE_VERSION_1_HIGH))
            link_fail("a modern transport without VERSION_1");
        reg_write(REG_DRIVER_FEATURES_SEL, 1);
        reg_write(REG_DRIVER_FEATURES, FEATURE_VERSION_1_HIGH);
        reg_write(REG_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
        if (!(reg_read(REG_STATUS) & STATUS_FEATURES_OK))
            link_fail("the device refused our features");
    } else {
        reg_write(REG_GUEST_PAGE_SIZE, PAGE);
    }
}

static void buffers_setup(void)
{
    for (uint16_t i = 0; i < N_CTRL; i++) {
        describe(&lk.ctrl_rx, i, ctrl_rx_buf[i], CTRL_BUF_BYTES, true);
        queue_offer(&lk.ctrl_rx, i);
    }
    for (uint16_t i = 0; i < N_DATA; i++) {
        describe(&lk.data_rx, i, rx_buf[i], BUF_BYTES, true);
        queue_offer(&lk.data_rx, i);
        describe(&lk.data_tx, i, tx_buf[i], BUF_BYTES, false);
        lk.tx_free[i] = i;
    }
    lk.tx_n_free = N_DATA;
}

void link_init(void)
{
    if (reg_read(REG_MAGIC) != VIRTIO_MAGIC)
        link_fail("no virtio-mmio device at BOARD_FAST_LINK_BASE");
    uint32_t version = reg_read(REG_VERSION);
    if (version != 1 && version != 2)
        link_fail("unknown virtio-mmio version");
    if (reg_read(REG_DEVICE_ID) != DEVICE_ID_CONSOLE)
        link_fail("the virtio-mmio slot holds no console device");
    lk.modern = version == 2;
    negotiate();
    queue_setup(&lk.ctrl_rx, Q_CTRL_RX, N_CTRL, ring_block(0));
    queue_setup(&lk.ctrl_tx, Q_CTRL_TX, N_CTRL, ring_block(1));
    queue_setup(&lk.data_rx, Q_DATA_RX, N_DATA, ring_block(2));
    queue_setup(&lk.data_tx, Q_DATA_TX, N_DATA, ring_block(3));
    buffers_setup();
    reg_write(REG_STATUS, reg_read(REG_STATUS) | STATUS_DRIVER_OK);
#ifndef BOARD_NO_WFI
    lk.wakeup = board__idle_enable_line(BOARD_FAST_LINK_IRQ) == 0;
#endif
    queue_kick(&lk.ctrl_rx);
    /* the device answers DEVICE_READY with PORT_ADD for each port; ctrl_poll opens ours */
    ctrl_send(0, EV_DEVICE_READY, 1);
    while (!lk.port_added) {
        ctrl_poll();
        if (!lk.port_added)
            idle_round();
    }
    /* kicking the receive queue makes QEMU look at the host side again now the port is open */
    queue_kick(&lk.data_rx);
    link_write(LINK_UP_MARKER, sizeof LINK_UP_MARKER - 1);
    link_flush();
}

/* ---- transmit ---- */

/* Takes back the buffers the device has sent. */
static void tx_reclaim(void)
{
    struct used_elem e;
    while (queue_take(&lk.data_tx, &e))
        if (e.id < N_DATA)
            lk.tx_free[lk.tx_n_free++] = (uint16_t)e.id;
}

/* Hands the buffer being filled to the device. */
static void tx_submit(void)
{
    if (!lk.tx_busy)
        return;
    if (lk.tx_fill > 0) {
        lk.data_tx.desc[lk.tx_id].len = lk.tx_fill;
        queue_offer(&lk.data_tx, lk.tx_id);
        queue_kick(&lk.data_tx);
    } else {
        lk.tx_free[lk.tx_n_free++] = lk.tx_id;
    }
    lk.tx_busy = false;
    lk.tx_fill = 0;
}

/* A free buffer to fill, waiting for the device to send one when it holds them all (it waits
 * in turn for the host to read: the server always drains while it writes). */
static void tx_acquire(void)
{
    tx_reclaim();
    while (lk.tx_n_free == 0) {
        ctrl_poll();
        idle_round();
        tx_reclaim();
    }
    lk.tx_id = lk.tx_free[--lk.tx_n_free];
    lk.tx_busy = true;
    lk.tx_fill = 0;
}

/* link_write's general case: buffers to fill, full ones to hand over. Kept out of line so
 * that the common case below needs no stack frame. */
__attribute__((noinline)) static void write_slow(const uint8_t *p, size_t n)
{
    while (n > 0) {
        if (!lk.tx_busy)
            tx_acquire();
        size_t k = BUF_BYTES - lk.tx_fill;
        if (k > n)
            k = n;
        link_copy(tx_buf[lk.tx_id] + lk.tx_fill, p, k);
        lk.tx_fill += (uint32_t)k;
        p += k;
        n -= k;
        if (lk.tx_fill == BUF_BYTES)
            tx_submit();
    }
}

/* The common case is as short as it can be (echo and the RPC server write a byte or a few at a
 * time, and each call costs instructions, which under icount are time): it fits in the buffer
 * being filled, with room to spare. */
void link_write(const void *data, size_t n)
{
    const uint8_t *p = data;
    if (lk.tx_busy && n == 1 && lk.tx_fill < BUF_BYTES - 1) {
        tx_buf[lk.tx_id][lk.tx_fill++] = *p;
        return;
    }
    write_slow(p, n);
}

/* Submits what is buffered and waits until the device has passed all of it to the host side,
 * so that a board_exit right after loses nothing. */
void link_flush(void)
{
    tx_submit();
    tx_reclaim();
    while (lk.tx_n_free < N_DATA) {
        ctrl_poll();
        idle_round();
        tx_reclaim();
    }
}

/* ---- receive ---- */

/* Moves on to the next filled receive buffer, giving the finished one back first. */
static bool rx_next(void)
{
    struct used_elem e;
    if (lk.rx_busy) {
        queue_offer(&lk.data_rx, lk.rx_id);
        queue_kick(&lk.data_rx); /* also makes QEMU read the host side again if it had stopped */
        lk.rx_busy = false;
    }
    while (queue_take(&lk.data_rx, &e)) {
        if (e.id >= N_DATA)
            continue;
        if (e.len == 0) { /* nothing in it: straight back */
            queue_offer(&lk.data_rx, (uint16_t)e.id);
            queue_kick(&lk.data_rx);
            continue;
        }
        lk.rx_busy = true;
        lk.rx_id = (uint16_t)e.id;
        lk.rx_ptr = rx_buf[e.id];
        lk.rx_left = e.len > BUF_BYTES ? BUF_BYTES : e.len;
        return true;
    }
    ctrl_poll();
    return false;
}

int link_try_getc(void)
{
    if (lk.rx_left == 0 && !rx_next()) {
        tx_submit();
        return -1;
    }
    lk.rx_left--;
    return *lk.rx_ptr++;
}

/* link_getc once the buffer being read is used up; out of line, as write_slow. */
__attribute__((noinline)) static int getc_slow(void)
{
    tx_submit(); /* the host may be waiting for what we said before it says more */
    while (!rx_next()) {
        tx_reclaim();
        idle_round();
    }
    lk.idle_polls = 0;
    lk.rx_left--;
    return *lk.rx_ptr++;
}

int link_getc(void)
{
    if (lk.rx_left > 0) {
        lk.rx_left--;
        return *lk.rx_ptr++;
    }
    return getc_slow();
}

/* As many bytes as the buffer being read holds, up to max: one copy instead of a call a
 * byte (echo and the RPC server take what comes). */
size_t link_read(void *buf, size_t max)
{
    if (max == 0)
        return 0;
    uint8_t *p = buf;
    size_t got = 0;
    if (lk.rx_left == 0)
        p[got++] = (uint8_t)getc_slow();
    size_t k = lk.rx_left < max - got ? lk.rx_left : max - got;
    link_copy(p + got, lk.rx_ptr, k);
    lk.rx_ptr += k;
    lk.rx_left -= (uint32_t)k;
    return got + k;
}
