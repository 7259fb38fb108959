/*
 * The device's end of the LAN9118 link's protocol (link_frame.h): the transport's byte stream
 * cut into frames, with sequence numbers, acknowledgements, windows and the HELLO handshake.
 * Pure C with no registers and no clock: it talks to the network card through the four calls
 * of struct frames_nic, so the same file runs in the firmware (over firmware/link/lan9118.c)
 * and, compiled for the host, in the relay's unit tests (tests/test_frame_relay.c). Polled and
 * single-threaded; all state is in struct frames (caller-owned, no allocation).
 */
#ifndef MTQ_FRAMES_H
#define MTQ_FRAMES_H

#include "link_frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes the device holds that the host has not acknowledged yet (what it may retransmit),
 * sent or still to send. A power of two. */
#define FRAMES_TX_BYTES 16384u
/* A received frame's buffer: the largest frame QEMU's lan9118 delivers (2047 bytes) and the
 * 4-byte CRC after it, in whole words. */
#define FRAMES_RX_FRAME_BYTES 2052u

/* The network card, as the protocol needs it. */
struct frames_nic {
    void *ctx;
    /* Transmits one frame of len bytes (LINK_FRAME_HEAD_BYTES..LINK_FRAME_MAX_BYTES); frame is
     * 4-byte aligned. Returns when the card has taken it. */
    void (*send)(void *ctx, const uint8_t *frame, size_t len);
    /* Takes the next received frame out of the card into buf (4-byte aligned, cap bytes, a
     * multiple of 4; the card may write all of it) and returns its length without the CRC;
     * 0 when none is waiting. A frame longer than cap is cut to cap. */
    size_t (*recv)(void *ctx, uint8_t *buf, size_t cap);
    /* Sleeps until a frame may have arrived (it may also return early, or at once). */
    void (*wait)(void *ctx);
};

/* Counters, for tests and for a look in a debugger. */
struct frames_stats {
    uint32_t frames_in;     /* every frame taken from the card */
    uint32_t frames_out;    /* every frame sent */
    uint32_t malformed;     /* not one of ours, or not well formed (link_frame_decode) */
    uint32_t stale;         /* another session's */
    uint32_t duplicates;    /* DATA already had */
    uint32_t out_of_order;  /* DATA after a gap (dropped: go-back-N) */
    uint32_t resends;       /* RESEND requests obeyed */
};

struct frames {
    const struct frames_nic *nic;
    uint32_t session; /* ours, never 0 */
    bool up;          /* the host answered our HELLO */
    /* host -> device: offsets in the host's stream; the application reads [taken, rcv_nxt) */
    uint32_t rcv_nxt;
    uint32_t rx_taken;
    /* device -> host: [snd_una, tx_end) is held; sent up to snd_max, next to send snd_nxt */
    uint32_t snd_una, snd_nxt, snd_max, tx_end;
    uint32_t peer_win; /* the host's right edge: we may send below it */
    /* what we last told the host, and what it has not heard yet */
    uint32_t popped_fseq;  /* the last host frame taken from the card (0: none) */
    uint32_t popped_words; /* FIFO words taken since the last report */
    uint32_t told_fseq, told_ack, told_win;
    bool report_due;
    /* the fast paths (frames_getc, a one-byte frames_write): a byte may be taken while
     * rx_taken != rx_fast_end, queued while tx_end != tx_fast_end, with nothing else to do */
    uint32_t rx_fast_end, tx_fast_end;
    struct frames_stats stats;
    uint8_t rx[LINK_DEVICE_RX_BYTES];
    uint8_t tx[FRAMES_TX_BYTES];
    uint32_t rx_frame[FRAMES_RX_FRAME_BYTES / 4]; /* words: the card copies whole words */
    uint32_t tx_frame[(LINK_FRAME_MAX_BYTES + 3) / 4];
};

/* Starts a new session with this id (not 0; it must differ from the last boot's, so the host
 * tells a reset from a retransmission) over nic, which must outlive f. Sends nothing. */
void frames_init(struct frames *f, const struct frames_nic *nic, uint32_t session);

/* Sends HELLO until the host answers (backing off: the host may be slow, never lost in
 * QEMU), taking and discarding whatever the card holds from an earlier session. */
void frames_hello(struct frames *f);

/* Queues n bytes for the host; sends full frames as the host's window allows, and waits
 * (serving the link) while more than FRAMES_TX_BYTES are unacknowledged. Inline: under
 * icount instructions are time, and echo and the RPC server write a byte at a time. */
void frames__write_slow(struct frames *f, const void *data, size_t n);
static inline void frames_write(struct frames *f, const void *data, size_t n)
{
    if (n == 1 && f->tx_end != f->tx_fast_end) {
        f->tx[f->tx_end++ & (FRAMES_TX_BYTES - 1u)] = *(const uint8_t *)data;
        return;
    }
    frames__write_slow(f, data, n);
}

/* Sends everything queued and returns once the host has acknowledged all of it (so it has
 * left QEMU before, say, the board exits). */
void frames_flush(struct frames *f);

/* The next byte from the host, waiting for it; sends queued output before waiting. Inline
 * for the same reason as frames_write. */
int frames__getc_slow(struct frames *f);
static inline int frames_getc(struct frames *f)
{
    if (f->rx_taken != f->rx_fast_end)
        return f->rx[f->rx_taken++ & (LINK_DEVICE_RX_BYTES - 1u)];
    return frames__getc_slow(f);
}

/* The next byte from the host, or -1 at once; sends queued output when there is none.
 * Inline as frames_getc. */
int frames__try_getc_slow(struct frames *f);
static inline int frames_try_getc(struct frames *f)
{
    if (f->rx_taken != f->rx_fast_end)
        return f->rx[f->rx_taken++ & (LINK_DEVICE_RX_BYTES - 1u)];
    return frames__try_getc_slow(f);
}

/* Up to max bytes from the host, at least one (when max > 0), waiting for the first: what
 * the fast path of frames_getc would give a byte at a time, in one copy. */
size_t frames_read(struct frames *f, void *buf, size_t max);

#endif
