/*
 * The device's end of the LAN9118 link's protocol (frames.h, link_frame.h). The device keeps
 * no timer: the host does all the timing. The device sends new data only within the host's
 * window, answers what the host sends (reports, and a go-back-N when asked to RESEND), and
 * takes host data only in order (anything after a gap is dropped; the host goes back).
 * Reports (an ACK frame, or the header of any DATA frame) tell the host which of its frames
 * have left the card's FIFO, which is what the host's window is counted in.
 */
#include "frames.h"

#include <string.h>

/* A report goes out at once when this many FIFO words were taken since the last one (about
 * two full frames), so a host sending a full window hears back well before it must stop. */
#define REPORT_WORDS (LINK_WINDOW_WORDS / 3u)
/* Frames taken from the card per round before the device looks at its own output. */
#define RX_BATCH 8
/* HELLO is sent again after this many empty polls, doubling up to the maximum (a poll is one
 * register read: a few ms at first, about a second at the end). */
#define HELLO_POLLS 4096u
#define HELLO_POLLS_MAX (1u << 20)

#define RX_MASK (LINK_DEVICE_RX_BYTES - 1u)
#define TX_MASK (FRAMES_TX_BYTES - 1u)
_Static_assert((LINK_DEVICE_RX_BYTES & RX_MASK) == 0, "the receive buffer is a power of two");
_Static_assert((FRAMES_TX_BYTES & TX_MASK) == 0, "the transmit buffer is a power of two");

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Our right edge: the host may send up to the end of the receive buffer as it stands once the
 * application has read everything it has. */
static uint32_t our_win(const struct frames *f)
{
    return f->rx_taken + LINK_DEVICE_RX_BYTES;
}

/* Where the fast paths must stop: reading, at the last byte received or where half the
 * receive buffer is free again (a report is due); writing, where the transmit buffer is full
 * or a full frame of new data is waiting. Every value only errs early (offsets only move on,
 * but snd_nxt after a RESEND), so it is refreshed after each round, not at every change. */
static void refresh_fast(struct frames *f)
{
    uint32_t report_at = f->told_win - LINK_DEVICE_RX_BYTES / 2u;
    if (!f->up || link_seq_diff(report_at, f->rx_taken) <= 0)
        f->rx_fast_end = f->rx_taken;
    else if (link_seq_diff(report_at, f->rcv_nxt) < 0)
        f->rx_fast_end = report_at;
    else
        f->rx_fast_end = f->rcv_nxt;
    uint32_t full = f->snd_una + FRAMES_TX_BYTES;
    uint32_t frame = f->snd_nxt + LINK_FRAME_PAYLOAD_MAX - 1u;
    uint32_t end = link_seq_diff(full, frame) < 0 ? full : frame;
    f->tx_fast_end = !f->up || link_seq_diff(end, f->tx_end) <= 0 ? f->tx_end : end;
}

void frames_init(struct frames *f, const struct frames_nic *nic, uint32_t session)
{
    memset(f, 0, sizeof *f);
    f->nic = nic;
    f->session = session ? session : 1u;
}

/* ---- sending ---- */

/* Sends one frame of this type with our current acknowledgement, window and report; a DATA
 * frame carries the n bytes of the transmit buffer at offset seq. Every frame is a report. */
static void send_frame(struct frames *f, uint8_t type, uint32_t seq, uint32_t n)
{
    uint8_t *buf = (uint8_t *)f->tx_frame;
    struct link_frame h = {
        .type = type,
        .len = (uint16_t)n,
        .session = f->session,
        .seq = seq,
        .ack = f->rcv_nxt,
        .win = our_win(f),
        .fseq = f->popped_fseq,
    };
    size_t len = link_frame_encode(buf, &h, 0);
    link_ring_read(buf + LINK_FRAME_HEAD_BYTES, f->tx, FRAMES_TX_BYTES, seq, n);
    f->nic->send(f->nic->ctx, buf, len);
    f->stats.frames_out++;
    f->told_fseq = h.fseq;
    f->told_ack = h.ack;
    f->told_win = h.win;
    f->popped_words = 0;
    f->report_due = false;
}

/* A report on its own: seq is the highest offset we ever sent, so the host also learns of
 * data of ours it never saw. */
static void send_ack(struct frames *f)
{
    send_frame(f, LINK_FRAME_ACK, f->snd_max, 0);
}

/* Sends DATA frames as far as the data and the host's window go. Data sent before (after a
 * RESEND) always goes; new data waits to fill a frame unless push. Returns whether it sent. */
static bool send_data(struct frames *f, bool push)
{
    bool sent = false;
    for (;;) {
        int32_t avail = link_seq_diff(f->tx_end, f->snd_nxt);
        int32_t room = link_seq_diff(f->peer_win, f->snd_nxt);
        if (avail <= 0 || room <= 0)
            return sent;
        uint32_t n = min_u32(min_u32((uint32_t)avail, (uint32_t)room), LINK_FRAME_PAYLOAD_MAX);
        int32_t resent = link_seq_diff(f->snd_max, f->snd_nxt);
        if (resent > 0)
            n = min_u32(n, (uint32_t)resent);
        else if (n == (uint32_t)avail && n < LINK_FRAME_PAYLOAD_MAX && !push)
            return sent;
        send_frame(f, LINK_FRAME_DATA, f->snd_nxt, n);
        f->snd_nxt += n;
        if (link_seq_diff(f->snd_nxt, f->snd_max) > 0)
            f->snd_max = f->snd_nxt;
        sent = true;
    }
}

/* Whether the host should hear from us now: it asked, or enough of its frames left the FIFO
 * for its window to matter, or the application freed half the receive buffer. When idle (we
 * are about to wait), any news at all: the host may be waiting for exactly that. */
static bool report_needed(const struct frames *f, bool idle)
{
    if (!f->up)
        return false;
    if (f->report_due || f->popped_words >= REPORT_WORDS)
        return true;
    if (link_seq_diff(our_win(f), f->told_win) >= (int32_t)(LINK_DEVICE_RX_BYTES / 2u))
        return true;
    return idle && (f->popped_fseq != f->told_fseq || f->rcv_nxt != f->told_ack ||
                    our_win(f) != f->told_win);
}

/* ---- receiving ---- */

static void take_ack(struct frames *f, const struct link_frame *h)
{
    /* an acknowledgement of bytes we never sent is not believed */
    if (link_seq_diff(h->ack, f->snd_una) > 0 && link_seq_diff(h->ack, f->snd_max) <= 0)
        f->snd_una = h->ack;
    if (link_seq_diff(f->snd_nxt, f->snd_una) < 0)
        f->snd_nxt = f->snd_una;
    if (link_seq_diff(h->win, f->peer_win) > 0)
        f->peer_win = h->win;
}

/* Takes the payload of a DATA frame if it continues the stream (a frame that overlaps what
 * we have gives only its new part); anything else is dropped and answered with a report. */
static void take_data(struct frames *f, const struct link_frame *h, const uint8_t *payload)
{
    if (link_seq_diff(h->seq, f->rcv_nxt) > 0) {
        f->stats.out_of_order++;
        f->report_due = true;
        return;
    }
    uint32_t had = f->rcv_nxt - h->seq;
    if (had >= h->len) {
        f->stats.duplicates++;
        f->report_due = true;
        return;
    }
    /* the host keeps within our window; cut what would not fit all the same */
    uint32_t room = LINK_DEVICE_RX_BYTES - (f->rcv_nxt - f->rx_taken);
    uint32_t n = min_u32(h->len - had, room);
    link_ring_write(f->rx, LINK_DEVICE_RX_BYTES, f->rcv_nxt, payload + had, n);
    f->rcv_nxt += n;
}

/* One frame of n bytes from the card, in f->rx_frame. */
static void take_frame(struct frames *f, size_t n)
{
    const uint8_t *buf = (const uint8_t *)f->rx_frame;
    struct link_frame h;
    f->stats.frames_in++;
    f->popped_words += LINK_FRAME_FIFO_WORDS(n);
    if (link_frame_decode(buf, n, &h) < 0 || h.type == LINK_FRAME_HELLO) {
        f->stats.malformed++;
        return;
    }
    /* every frame of the host's counts for its window, another session's too */
    f->popped_fseq = h.fseq;
    if (h.session != f->session) {
        f->stats.stale++;
        return;
    }
    if (!f->up) { /* HELLO_ACK, or anything of our session if that was lost */
        f->up = true;
        f->report_due = true;
    }
    if (h.type == LINK_FRAME_HELLO_ACK)
        f->report_due = true;
    take_ack(f, &h);
    if (h.flags & LINK_FRAME_F_RESEND) {
        f->snd_nxt = f->snd_una;
        f->report_due = true;
        f->stats.resends++;
    }
    if (h.type == LINK_FRAME_DATA)
        take_data(f, &h, buf + LINK_FRAME_HEAD_BYTES);
}

/* Takes at most RX_BATCH frames from the card; returns how many. */
static int take_frames(struct frames *f)
{
    int got = 0;
    while (got < RX_BATCH) {
        size_t n = f->nic->recv(f->nic->ctx, (uint8_t *)f->rx_frame, sizeof f->rx_frame);
        if (n == 0)
            break;
        take_frame(f, n);
        got++;
    }
    return got;
}

/* ---- the rounds everything is made of ---- */

/* One round: take frames, send what may go, report if needed. Returns whether anything
 * happened (so the caller polls again instead of waiting). */
static bool pump(struct frames *f, bool push)
{
    bool busy = take_frames(f) > 0;
    if (f->up && send_data(f, push))
        busy = true;
    if (report_needed(f, false)) {
        send_ack(f);
        busy = true;
    }
    refresh_fast(f);
    return busy;
}

/* Nothing happened: tells the host what it has not heard yet, or else sleeps. */
static void idle(struct frames *f)
{
    if (report_needed(f, true))
        send_ack(f);
    else
        f->nic->wait(f->nic->ctx);
}

void frames_hello(struct frames *f)
{
    uint32_t polls = HELLO_POLLS;
    while (!f->up) {
        send_frame(f, LINK_FRAME_HELLO, 0, 0);
        for (uint32_t i = 0; i < polls && !f->up; i++)
            take_frames(f);
        if (polls < HELLO_POLLS_MAX)
            polls *= 2u;
    }
}

void frames__write_slow(struct frames *f, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        uint32_t held = f->tx_end - f->snd_una;
        uint32_t room = FRAMES_TX_BYTES - held;
        if (room == 0) {
            if (!pump(f, false))
                idle(f);
            continue;
        }
        uint32_t k = (uint32_t)(n < room ? n : room);
        link_ring_write(f->tx, FRAMES_TX_BYTES, f->tx_end, p, k);
        f->tx_end += k;
        p += k;
        n -= k;
    }
    /* full frames go at once; no look at the card (a register read) for every small write */
    if (f->up && link_seq_diff(f->tx_end, f->snd_nxt) >= (int32_t)LINK_FRAME_PAYLOAD_MAX)
        send_data(f, false);
    refresh_fast(f);
}

void frames_flush(struct frames *f)
{
    while (f->snd_una != f->tx_end) {
        if (!pump(f, true))
            idle(f);
    }
}

/* The next byte the application has not read, or -1. */
static int take_byte(struct frames *f)
{
    if (f->rx_taken == f->rcv_nxt)
        return -1;
    int c = f->rx[f->rx_taken & RX_MASK];
    f->rx_taken++;
    /* half the buffer read: tell the host, which may be waiting for room */
    if (report_needed(f, false))
        send_ack(f);
    refresh_fast(f);
    return c;
}

int frames__getc_slow(struct frames *f)
{
    for (;;) {
        int c = take_byte(f);
        if (c >= 0)
            return c;
        if (!pump(f, true))
            idle(f);
    }
}

int frames__try_getc_slow(struct frames *f)
{
    int c = take_byte(f);
    if (c >= 0)
        return c;
    pump(f, true);
    c = take_byte(f);
    if (c < 0 && report_needed(f, true))
        send_ack(f);
    return c;
}

/* The first byte through frames_getc's slow path when none is waiting (it reports, pumps and
 * waits), then as many as frames_getc's fast path would have given. */
size_t frames_read(struct frames *f, void *buf, size_t max)
{
    uint8_t *p = buf;
    size_t got = 0;
    if (max == 0)
        return 0;
    if (f->rx_taken == f->rx_fast_end)
        p[got++] = (uint8_t)frames__getc_slow(f);
    uint32_t n = min_u32(f->rx_fast_end - f->rx_taken, (uint32_t)(max - got));
    link_ring_read(p + got, f->rx, LINK_DEVICE_RX_BYTES, f->rx_taken, n);
    f->rx_taken += n;
    return got + n;
}
