/*
 * The host's end of the LAN9118 link's protocol (firmware/include/link_frame.h): the session's
 * byte stream to and from the device's frames, with the window that keeps QEMU's RX FIFO from
 * overflowing, go-back-N retransmission, duplicate suppression and the HELLO reset. No fds,
 * threads or clocks: the caller (frame_relay.c) hands in datagrams, the session's bytes and
 * the time, and sends what frame_host_next gives it, in order. Caller-owned (_init, no
 * _close: it holds no resources); not thread-safe.
 */
#ifndef MTQ_FRAME_HOST_H
#define MTQ_FRAME_HOST_H

#include "link_frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes from the session waiting for the device or for its acknowledgement. */
#define FRAME_HOST_TX_BYTES (64u * 1024u)
/* Bytes from the device waiting for the session to read them: the window the host grants the
 * device, so a session that does not read stops the device (after this much) and nothing
 * more is buffered. */
#define FRAME_HOST_RX_BYTES (64u * 1024u)
/* Frames in flight the host can track: more than the FIFO's 176 entries. */
#define FRAME_HOST_FLIGHTS 256u
/* The retransmission timer: when nothing moved for this long (from the first value, doubling
 * while nothing moves, up to the last), the host sends a probe, an ACK the device answers
 * with a report; the report shows what was lost, and the host goes back (or asks the device
 * to). Nothing is ever lost inside QEMU, so in a session it only probes an idle board now
 * and then. */
#define FRAME_HOST_RTO_MIN_NS (50 * 1000000LL)
#define FRAME_HOST_RTO_MAX_NS (1000 * 1000000LL)
/* Sessions remembered after they ended, so a late HELLO of one is not taken for a new one. */
#define FRAME_HOST_PAST_SESSIONS 8u

struct frame_host_stats {
    uint64_t frames_in, frames_out;
    uint64_t bytes_in, bytes_out;  /* stream bytes delivered to the session / acknowledged by
                                    * the device */
    uint64_t malformed;            /* not ours or not well formed */
    uint64_t stale;                /* another session's, or before any */
    uint64_t duplicates, out_of_order, beyond_window;
    uint64_t sessions;             /* HELLOs that started a session */
    uint64_t timeouts;             /* retransmission timer expiries (each sends a probe) */
    uint64_t rewinds;              /* go-back-N of our own data */
    uint64_t resend_requests;      /* RESEND flags sent */
    uint32_t max_flight_words;     /* the most FIFO words ever in flight */
    uint32_t max_flight_frames;
};

/* One frame the host sent and has not heard is out of the device's FIFO. */
struct frame_host_flight {
    uint32_t fseq;
    uint32_t words;
    uint32_t data_end; /* DATA: the offset after its payload */
    bool data;
    bool probe;        /* sent by the timer */
};

struct frame_host {
    /* the session: 0 before the first HELLO */
    uint32_t session;
    uint32_t past[FRAME_HOST_PAST_SESSIONS];
    unsigned past_next;
    /* host -> device: [snd_una, tx_end) held in tx; sent up to snd_max; next snd_nxt */
    uint32_t snd_una, snd_nxt, snd_max, tx_end;
    uint32_t peer_win;   /* the device's right edge */
    uint32_t rewind_fseq; /* DATA frames numbered before this predate the last go-back-N */
    /* device -> host: rx holds rx_len bytes from rx_head for the session */
    uint32_t rcv_nxt;
    uint32_t told_win;   /* the right edge we last gave the device */
    size_t rx_head, rx_len;
    bool ack_due, resend_due, resend_asked, hello_ack_due, probe_due;
    /* the FIFO: frames in flight, oldest first */
    struct frame_host_flight flights[FRAME_HOST_FLIGHTS];
    unsigned fl_head, fl_count;
    uint32_t fl_words;
    unsigned probes; /* timer probes among them */
    uint32_t next_fseq;
    uint32_t reported_fseq; /* the device's last report (0: none) */
    /* the timer */
    int64_t timer_base_ns, rto_ns;
    struct frame_host_stats stats;
    uint8_t tx[FRAME_HOST_TX_BYTES];
    uint8_t rx[FRAME_HOST_RX_BYTES];
};

/* No session, nothing held, nothing in flight. */
void frame_host_init(struct frame_host *h, int64_t now_ns);

/* Takes one datagram from the device (any bytes: checked here). */
void frame_host_take(struct frame_host *h, const uint8_t *buf, size_t n, int64_t now_ns);

/* Where bytes from the session may go: a contiguous span of *room bytes (0: none now). Those
 * written are handed over with frame_host_tx_commit. Before a session, there is no room. */
uint8_t *frame_host_tx_space(struct frame_host *h, size_t *room);
void frame_host_tx_commit(struct frame_host *h, size_t n);

/* Bytes for the session: a contiguous span (returns its length, 0: none), and how many of
 * them the session took. */
size_t frame_host_rx_peek(const struct frame_host *h, const uint8_t **data);
void frame_host_rx_consume(struct frame_host *h, size_t n);

/* The next frame to send, written to buf (LINK_FRAME_MAX_BYTES); returns its length, 0 when
 * nothing may go now. The frame counts as sent: the caller sends every one, in order. Also
 * runs the retransmission timer. */
size_t frame_host_next(struct frame_host *h, uint8_t *buf, int64_t now_ns);

/* When frame_host_next should be called again although nothing arrived (the timer), or -1. */
int64_t frame_host_deadline(const struct frame_host *h);

#endif
