/*
 * The LAN9118 fast link's frames (issue 11), defined once for both ends: the firmware's
 * protocol (firmware/link/frames.c) and the server's relay (server/frame_relay.c). The link
 * carries the transport's byte stream in Ethernet frames over QEMU's lan9118 model, which has
 * no flow control: it drops a frame that does not fit its RX FIFO. So every frame carries a
 * sequence number and a cumulative acknowledgement, the host keeps a window that provably
 * never overflows the FIFO (the arithmetic is below), and the host retransmits (go-back-N).
 * Header-only (static inline), freestanding C: no libc beyond <stddef.h> and <stdint.h>.
 *
 * Wire layout, one frame = one Ethernet frame (no FCS: QEMU adds and checks it), every field
 * little-endian:
 *   0  dst MAC (6)  6  src MAC (6)  12  ethertype 0x88B5 (big-endian, as Ethernet has it)
 *   14 type (1)     15 flags (1)    16  len (2): payload bytes, exactly frame length - 38
 *   18 session (4): the device's session id, from its HELLO; the host echoes it in every frame
 *   22 seq (4):     byte offset of payload[0] in the sender's stream (DATA); the sender's next
 *                   byte offset otherwise
 *   26 ack (4):     cumulative: every byte of the peer's stream before this offset has arrived
 *   30 win (4):     right edge: the peer may send bytes up to (not including) this offset
 *   34 fseq (4):    host -> device: this frame's number (1, 2, ... over the relay's life, every
 *                   frame counted, pure acks and retransmissions included); device -> host: the
 *                   number of the last host frame the device took out of its RX FIFO (0: none)
 *   38 payload (len bytes, at most LINK_FRAME_PAYLOAD_MAX)
 * Offsets are 32-bit and wrap; compare them with link_seq_diff.
 *
 * Types: DATA carries payload; ACK none (acknowledgement, window, FIFO report); HELLO is the
 * device's "I (re)started: session <id>, my window", sent by link_init until answered, and
 * HELLO_ACK the host's answer, after which both start at offset 0. A board reset or reboot
 * sends a new HELLO with a new session id: the host drops what it still held for the old
 * session and starts over, and frames of any other session are ignored on both sides.
 * Flag RESEND (host -> device): "go back to my ack and send everything after it again".
 *
 * ---- Why the host never overflows QEMU's RX FIFO (QEMU 7.2 hw/net/lan9118.c) ----
 * lan9118_receive() stores a frame of n bytes as ((n + 3) / 4) + 1 words (with RX_CFG's data
 * offset 0; the +1 is the CRC word QEMU appends) in a 2640-word data FIFO and one entry in a
 * 176-entry status FIFO, and drops the frame when either has no room. Nothing else removes a
 * frame from the FIFO but the device reading it, and frames reach the FIFO in the order the
 * host sent them (one socketpair, one QEMU thread delivering them in order).
 * The host counts every frame it sends as "in flight" (its fseq and LINK_FRAME_FIFO_WORDS of
 * its length), whatever its type, and forgets it only when a device frame reports an fseq at
 * or past it: by the FIFO's order, that frame and all before it have then left the FIFO (read,
 * or lost before it). So the FIFO holds at most what the host counts in flight, and the host
 * sends a frame only while the in-flight sum stays within LINK_FIFO_WORDS words and
 * LINK_FIFO_FRAMES frames:
 *   - ordinary frames (DATA, ACK) within LINK_WINDOW_WORDS = 2640 - 8 * 11 = 2552 words and
 *     LINK_WINDOW_FRAMES = 168 frames: five full DATA frames (5 * 507 = 2535 words, 9920 bytes
 *     of payload) fit, or 168 small ones;
 *   - the rest, LINK_PROBES_MAX = 8 payload-free frames of 11 words each (88 words, 8
 *     entries), is kept for the retransmission timer's probes, so a full window never stops
 *     the host from asking the device to report; 2552 + 88 = 2640 and 168 + 8 = 176.
 * One exception, at a session's start only: a HELLO_ACK is sent for each HELLO even beyond the
 * window (it is counted too). Frames the host sent before the HELLO may still land in the
 * FIFO after the device's reset; if they fill it, QEMU drops that HELLO_ACK and the device
 * asks again. Within a session nothing is ever dropped, so the retransmission timer never
 * fires in practice; it is there for the fault-injecting tests and for a guest that misbehaves.
 *
 * Device -> host, QEMU queues a frame when the host's socket is full (its net queue), so the
 * device sends new data only up to the host's window (win), and otherwise only in answer to a
 * host frame: a report, or a go-back-N after RESEND. The device keeps no timer: everything it
 * sends is bounded by the window and by the host frames in flight, so that queue stays bounded.
 */
#ifndef MTQ_LINK_FRAME_H
#define MTQ_LINK_FRAME_H

#include "link_copy.h"

#include <stddef.h>
#include <stdint.h>

/* IEEE 802 "local experimental ethertype 1": never routed, meant for exactly this. */
#define LINK_FRAME_ETHERTYPE 0x88b5u

#define LINK_FRAME_ETH_BYTES 14u
#define LINK_FRAME_HEADER_BYTES 24u
#define LINK_FRAME_HEAD_BYTES (LINK_FRAME_ETH_BYTES + LINK_FRAME_HEADER_BYTES) /* 38 */
/* The payload of a full frame: 38 + 1984 = 2022 bytes, under the lan9118's 2047-byte limit
 * (11-bit lengths; QEMU drops 2048 and more), and five full frames fill the window. */
#define LINK_FRAME_PAYLOAD_MAX 1984u
#define LINK_FRAME_MAX_BYTES (LINK_FRAME_HEAD_BYTES + LINK_FRAME_PAYLOAD_MAX) /* 2022 */

enum link_frame_type {
    LINK_FRAME_DATA = 1,
    LINK_FRAME_ACK = 2,
    LINK_FRAME_HELLO = 3,
    LINK_FRAME_HELLO_ACK = 4,
};
#define LINK_FRAME_F_RESEND 0x01u
#define LINK_FRAME_FLAGS_KNOWN LINK_FRAME_F_RESEND

/* The lan9118 RX FIFO of QEMU 7.2 (hw/net/lan9118.c: rx_fifo_size, rx_status_fifo_size). */
#define LINK_FIFO_WORDS 2640u
#define LINK_FIFO_FRAMES 176u
/* FIFO words a frame of n bytes occupies: its words plus QEMU's CRC word. */
#define LINK_FRAME_FIFO_WORDS(n) ((((uint32_t)(n)) + 3u) / 4u + 1u)
/* Retransmission probes held back from the window (see above). */
#define LINK_PROBES_MAX 8u
#define LINK_PROBE_WORDS LINK_FRAME_FIFO_WORDS(LINK_FRAME_HEAD_BYTES) /* 11 */
#define LINK_WINDOW_WORDS (LINK_FIFO_WORDS - LINK_PROBES_MAX * LINK_PROBE_WORDS) /* 2552 */
#define LINK_WINDOW_FRAMES (LINK_FIFO_FRAMES - LINK_PROBES_MAX) /* 168 */

/* The device's receive buffer: the most host -> device data it can hold unread. */
#define LINK_DEVICE_RX_BYTES 65536u

/* Locally administered addresses; QEMU's lan9118 runs promiscuous, so they only label. */
#define LINK_FRAME_MAC_HOST {0x02, 0x6d, 0x74, 0x71, 0x00, 0x01}
#define LINK_FRAME_MAC_DEVICE {0x02, 0x6d, 0x74, 0x71, 0x00, 0x02}

/* A frame's header, decoded. */
struct link_frame {
    uint8_t type;
    uint8_t flags;
    uint16_t len;
    uint32_t session;
    uint32_t seq;
    uint32_t ack;
    uint32_t win;
    uint32_t fseq;
};

/* a - b for 32-bit stream offsets that wrap: > 0 when a is after b. */
static inline int32_t link_seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static inline void link_frame_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t link_frame_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Copies n bytes out of a ring buffer of size bytes (a power of two), starting at stream
 * offset at, into dst; n <= size. Both ends keep their streams in such rings. */
static inline void link_ring_read(uint8_t *dst, const uint8_t *ring, uint32_t size, uint32_t at,
                                  uint32_t n)
{
    uint32_t i = at & (size - 1u), first = n < size - i ? n : size - i;
    link_copy(dst, ring + i, first);
    link_copy(dst + first, ring, n - first);
}

/* Copies n bytes from src into the ring at stream offset at; n <= size. */
static inline void link_ring_write(uint8_t *ring, uint32_t size, uint32_t at, const uint8_t *src,
                                   uint32_t n)
{
    uint32_t i = at & (size - 1u), first = n < size - i ? n : size - i;
    link_copy(ring + i, src, first);
    link_copy(ring, src + first, n - first);
}

/* Writes the Ethernet header (from_host: who sends) and h into buf's first
 * LINK_FRAME_HEAD_BYTES; the payload (h->len bytes) goes at buf + LINK_FRAME_HEAD_BYTES.
 * Returns the frame's length. */
static inline size_t link_frame_encode(uint8_t *buf, const struct link_frame *h, int from_host)
{
    static const uint8_t host[6] = LINK_FRAME_MAC_HOST, device[6] = LINK_FRAME_MAC_DEVICE;
    const uint8_t *dst = from_host ? device : host, *src = from_host ? host : device;
    for (int i = 0; i < 6; i++) {
        buf[i] = dst[i];
        buf[6 + i] = src[i];
    }
    buf[12] = (uint8_t)(LINK_FRAME_ETHERTYPE >> 8);
    buf[13] = (uint8_t)LINK_FRAME_ETHERTYPE;
    buf[14] = h->type;
    buf[15] = h->flags;
    buf[16] = (uint8_t)h->len;
    buf[17] = (uint8_t)(h->len >> 8);
    link_frame_put32(buf + 18, h->session);
    link_frame_put32(buf + 22, h->seq);
    link_frame_put32(buf + 26, h->ack);
    link_frame_put32(buf + 30, h->win);
    link_frame_put32(buf + 34, h->fseq);
    return LINK_FRAME_HEAD_BYTES + h->len;
}

/* Decodes the n-byte frame in buf into *h. Returns 0, or -1 for anything that is not one of
 * ours, well formed: another ethertype, an unknown type or flag, a length that is not exactly
 * the payload's, a payload beyond LINK_FRAME_PAYLOAD_MAX or on a frame other than DATA. The
 * MACs are not looked at. */
static inline int link_frame_decode(const uint8_t *buf, size_t n, struct link_frame *h)
{
    if (n < LINK_FRAME_HEAD_BYTES || n > LINK_FRAME_MAX_BYTES)
        return -1;
    if (buf[12] != (uint8_t)(LINK_FRAME_ETHERTYPE >> 8) || buf[13] != (uint8_t)LINK_FRAME_ETHERTYPE)
        return -1;
    h->type = buf[14];
    h->flags = buf[15];
    h->len = (uint16_t)(buf[16] | buf[17] << 8);
    h->session = link_frame_get32(buf + 18);
    h->seq = link_frame_get32(buf + 22);
    h->ack = link_frame_get32(buf + 26);
    h->win = link_frame_get32(buf + 30);
    h->fseq = link_frame_get32(buf + 34);
    if (h->type < LINK_FRAME_DATA || h->type > LINK_FRAME_HELLO_ACK)
        return -1;
    if (h->flags & ~LINK_FRAME_FLAGS_KNOWN)
        return -1;
    if ((size_t)h->len != n - LINK_FRAME_HEAD_BYTES)
        return -1;
    if (h->len && h->type != LINK_FRAME_DATA)
        return -1;
    return 0;
}

#endif
