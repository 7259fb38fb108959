/*
 * The host's end of the LAN9118 link's protocol (frame_host.h). The window: every frame sent
 * is in flight, in fseq order, until the device reports an fseq at or past it; a frame goes
 * only if the FIFO words and entries in flight stay within LINK_WINDOW_* (LINK_FIFO_* for
 * retransmission probes); link_frame.h has the arithmetic. Loss is found two ways: a report
 * that says a DATA frame left the FIFO while the device's ack stops before its end (go back
 * at once), and the timer (go back, and ask the device to go back too).
 */
#include "frame_host.h"

#include <string.h>

_Static_assert((FRAME_HOST_TX_BYTES & (FRAME_HOST_TX_BYTES - 1u)) == 0, "rings: powers of two");
_Static_assert((FRAME_HOST_RX_BYTES & (FRAME_HOST_RX_BYTES - 1u)) == 0, "rings: powers of two");

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

static void progress(struct frame_host *h, int64_t now_ns)
{
    h->timer_base_ns = now_ns;
    h->rto_ns = FRAME_HOST_RTO_MIN_NS;
}

void frame_host_init(struct frame_host *h, int64_t now_ns)
{
    memset(h, 0, sizeof *h);
    h->next_fseq = 1;
    progress(h, now_ns);
}

/* Our right edge: everything the session has read, plus the whole buffer. */
static uint32_t our_win(const struct frame_host *h)
{
    return h->rcv_nxt + (uint32_t)(FRAME_HOST_RX_BYTES - h->rx_len);
}

/* ---- the FIFO in flight ---- */

static struct frame_host_flight *flight_at(struct frame_host *h, unsigned i)
{
    return &h->flights[(h->fl_head + i) % FRAME_HOST_FLIGHTS];
}

/* Whether a frame of n bytes may go: within the window, or for a probe within the FIFO. */
static bool fits(const struct frame_host *h, size_t n, bool probe)
{
    uint32_t words = h->fl_words + LINK_FRAME_FIFO_WORDS(n);
    if (probe)
        return words <= LINK_FIFO_WORDS && h->fl_count + 1 <= LINK_FIFO_FRAMES;
    return words <= LINK_WINDOW_WORDS && h->fl_count + 1 <= LINK_WINDOW_FRAMES;
}

static void fly(struct frame_host *h, const struct frame_host_flight *f)
{
    *flight_at(h, h->fl_count) = *f;
    h->fl_count++;
    h->probes += f->probe;
    h->fl_words += f->words;
    if (h->fl_words > h->stats.max_flight_words)
        h->stats.max_flight_words = h->fl_words;
    if (h->fl_count > h->stats.max_flight_frames)
        h->stats.max_flight_frames = h->fl_count;
}

static void go_back(struct frame_host *h)
{
    h->snd_nxt = h->snd_una;
    h->rewind_fseq = h->next_fseq;
    h->stats.rewinds++;
}

/* Drops the oldest frame from the record of those in flight. */
static void forget_oldest(struct frame_host *h)
{
    struct frame_host_flight *f = flight_at(h, 0);
    h->fl_words -= f->words;
    h->probes -= f->probe;
    h->fl_head = (h->fl_head + 1) % FRAME_HOST_FLIGHTS;
    h->fl_count--;
}

/* The device took every frame up to fseq out of its FIFO (or they were lost before it). A
 * DATA frame of this session sent since the last go-back whose end the device's ack does not
 * reach was lost (or came after a lost one): go back now. current: the report is of this
 * session, so its ack (already applied) means something. */
static void resolve(struct frame_host *h, uint32_t fseq, bool current)
{
    if (h->fl_count == 0 || link_seq_diff(fseq, h->reported_fseq) <= 0)
        return;
    /* a report of a frame never sent is not believed */
    if (link_seq_diff(fseq, h->next_fseq) >= 0)
        return;
    h->reported_fseq = fseq;
    bool lost = false;
    while (h->fl_count > 0) {
        struct frame_host_flight *f = flight_at(h, 0);
        if (link_seq_diff(f->fseq, fseq) > 0)
            break;
        if (current && f->data && link_seq_diff(f->fseq, h->rewind_fseq) >= 0 &&
            link_seq_diff(f->data_end, h->snd_una) > 0)
            lost = true;
        forget_oldest(h);
    }
    if (lost)
        go_back(h);
}

/* ---- receiving ---- */

static bool is_past(const struct frame_host *h, uint32_t session)
{
    for (unsigned i = 0; i < FRAME_HOST_PAST_SESSIONS; i++)
        if (h->past[i] == session)
            return true;
    return false;
}

/* A HELLO: the device (re)started. A new session drops what the old one still held for the
 * device and starts both streams at 0; bytes of the old one not yet read by the session stay
 * (they arrived). Frames in flight stay counted: they may still reach the new FIFO. */
static void take_hello(struct frame_host *h, const struct link_frame *f, int64_t now_ns)
{
    if (f->session == h->session) {
        h->hello_ack_due = true; /* our answer was lost or is slow */
        return;
    }
    if (f->session == 0 || is_past(h, f->session)) {
        h->stats.stale++;
        return;
    }
    if (h->session) {
        h->past[h->past_next] = h->session;
        h->past_next = (h->past_next + 1) % FRAME_HOST_PAST_SESSIONS;
    }
    h->session = f->session;
    h->snd_una = h->snd_nxt = h->snd_max = h->tx_end = 0;
    h->peer_win = f->win;
    h->rewind_fseq = h->next_fseq;
    h->rcv_nxt = 0;
    h->told_win = our_win(h);
    h->ack_due = h->resend_due = h->resend_asked = false;
    h->hello_ack_due = true;
    h->stats.sessions++;
    progress(h, now_ns);
}

static void take_ack(struct frame_host *h, const struct link_frame *f, int64_t now_ns)
{
    if (link_seq_diff(f->ack, h->snd_una) > 0 && link_seq_diff(f->ack, h->snd_max) <= 0) {
        h->stats.bytes_out += (uint32_t)(f->ack - h->snd_una);
        h->snd_una = f->ack;
        progress(h, now_ns);
    }
    if (link_seq_diff(h->snd_nxt, h->snd_una) < 0)
        h->snd_nxt = h->snd_una;
    if (link_seq_diff(f->win, h->peer_win) > 0) {
        h->peer_win = f->win;
        progress(h, now_ns);
    }
}

/* Asks the device, once per loss, to go back to our ack. */
static void ask_resend(struct frame_host *h)
{
    if (!h->resend_asked) {
        h->resend_due = true;
        h->resend_asked = true;
    }
}

/* DATA from the device: only what continues the stream is taken (the new part of a frame
 * that overlaps), and only within the window we gave. */
static void take_data(struct frame_host *h, const struct link_frame *f, const uint8_t *payload,
                      int64_t now_ns)
{
    if (link_seq_diff(f->seq + f->len, h->told_win) > 0) {
        h->stats.beyond_window++;
        return;
    }
    if (link_seq_diff(f->seq, h->rcv_nxt) > 0) {
        h->stats.out_of_order++;
        ask_resend(h);
        return;
    }
    uint32_t had = h->rcv_nxt - f->seq;
    if (had >= f->len) {
        h->stats.duplicates++;
        h->ack_due = true; /* it may not have heard our ack */
        return;
    }
    uint32_t n = f->len - had;
    /* the ring's offsets are rx_head-based: rx_head + rx_len is where the new bytes go */
    link_ring_write(h->rx, FRAME_HOST_RX_BYTES, (uint32_t)(h->rx_head + h->rx_len),
                    payload + had, n);
    h->rx_len += n;
    h->rcv_nxt += n;
    h->ack_due = true;
    h->resend_asked = false;
    progress(h, now_ns);
}

void frame_host_take(struct frame_host *h, const uint8_t *buf, size_t n, int64_t now_ns)
{
    struct link_frame f;
    h->stats.frames_in++;
    if (link_frame_decode(buf, n, &f) < 0 || f.type == LINK_FRAME_HELLO_ACK) {
        h->stats.malformed++;
        return;
    }
    bool current = h->session != 0 && f.session == h->session;
    if (f.type == LINK_FRAME_HELLO) {
        take_hello(h, &f, now_ns);
        resolve(h, f.fseq, false);
        return;
    }
    if (!current) {
        h->stats.stale++;
        resolve(h, f.fseq, false);
        return;
    }
    take_ack(h, &f, now_ns);
    resolve(h, f.fseq, true);
    if (f.type == LINK_FRAME_DATA)
        take_data(h, &f, buf + LINK_FRAME_HEAD_BYTES, now_ns);
    else if (link_seq_diff(f.seq, h->rcv_nxt) > 0)
        ask_resend(h); /* it sent data we never saw */
}

/* ---- the session's side ---- */

uint8_t *frame_host_tx_space(struct frame_host *h, size_t *room)
{
    size_t held = h->tx_end - h->snd_una;
    size_t at = h->tx_end % FRAME_HOST_TX_BYTES;
    *room = h->session ? FRAME_HOST_TX_BYTES - held : 0;
    if (*room > FRAME_HOST_TX_BYTES - at)
        *room = FRAME_HOST_TX_BYTES - at;
    return h->tx + at;
}

void frame_host_tx_commit(struct frame_host *h, size_t n)
{
    h->tx_end += (uint32_t)n;
}

size_t frame_host_rx_peek(const struct frame_host *h, const uint8_t **data)
{
    *data = h->rx + h->rx_head;
    size_t n = FRAME_HOST_RX_BYTES - h->rx_head;
    return n < h->rx_len ? n : h->rx_len;
}

void frame_host_rx_consume(struct frame_host *h, size_t n)
{
    h->rx_head = (h->rx_head + n) % FRAME_HOST_RX_BYTES;
    h->rx_len -= n;
    h->stats.bytes_in += n;
    if (!h->session)
        return;
    /* tell the device of the room when it is worth a frame, or when it may be stuck */
    int32_t opened = link_seq_diff(our_win(h), h->told_win);
    if (opened >= (int32_t)(FRAME_HOST_RX_BYTES / 4u) ||
        (opened > 0 && link_seq_diff(h->told_win, h->rcv_nxt) < (int32_t)LINK_FRAME_PAYLOAD_MAX))
        h->ack_due = true;
}

/* ---- sending ---- */

/* Writes a frame of ours into buf and counts it in flight. */
static size_t emit(struct frame_host *h, uint8_t *buf, uint8_t type, uint32_t seq, uint32_t n,
                   bool probe)
{
    bool resend = h->resend_due && type != LINK_FRAME_HELLO_ACK;
    struct link_frame f = {
        .type = type,
        .flags = resend ? LINK_FRAME_F_RESEND : 0,
        .len = (uint16_t)n,
        .session = h->session,
        .seq = seq,
        .ack = h->rcv_nxt,
        .win = our_win(h),
        .fseq = h->next_fseq,
    };
    size_t len = link_frame_encode(buf, &f, 1);
    if (type == LINK_FRAME_DATA)
        link_ring_read(buf + LINK_FRAME_HEAD_BYTES, h->tx, FRAME_HOST_TX_BYTES, seq, n);
    fly(h, &(struct frame_host_flight){.fseq = f.fseq, .words = LINK_FRAME_FIFO_WORDS(len),
                                       .data_end = seq + n, .data = type == LINK_FRAME_DATA,
                                       .probe = probe});
    if (++h->next_fseq == 0) /* 0 means "none" in reports */
        h->next_fseq = 1;
    h->told_win = f.win;
    h->ack_due = false;
    h->probe_due = false; /* any frame makes the device report */
    if (resend) {
        h->resend_due = false;
        h->stats.resend_requests++;
    }
    h->stats.frames_out++;
    return len;
}

/* The timer: nothing moved for rto. Probe (the answer shows what was lost, resolve() goes
 * back), let a lost RESEND be asked for again, and wait twice as long next time. */
static void run_timer(struct frame_host *h, int64_t now_ns)
{
    if (!h->session || now_ns - h->timer_base_ns < h->rto_ns)
        return;
    h->stats.timeouts++;
    h->probe_due = true;
    h->resend_asked = false;
    h->timer_base_ns = now_ns;
    h->rto_ns = h->rto_ns * 2 > FRAME_HOST_RTO_MAX_NS ? FRAME_HOST_RTO_MAX_NS : h->rto_ns * 2;
}

/* The next DATA frame's payload length, 0 when none may go (no data, no window, no room). */
static uint32_t data_to_send(const struct frame_host *h)
{
    int32_t avail = link_seq_diff(h->tx_end, h->snd_nxt);
    int32_t room = link_seq_diff(h->peer_win, h->snd_nxt);
    if (avail <= 0 || room <= 0)
        return 0;
    uint32_t n = min_u32(min_u32((uint32_t)avail, (uint32_t)room), LINK_FRAME_PAYLOAD_MAX);
    return fits(h, LINK_FRAME_HEAD_BYTES + n, false) ? n : 0;
}

size_t frame_host_next(struct frame_host *h, uint8_t *buf, int64_t now_ns)
{
    if (h->hello_ack_due) {
        /* beyond the window if need be (link_frame.h): the device waits for nothing else.
         * Only a guest that says HELLO again and again and never reads fills the record of
         * frames in flight; its oldest entries are then forgotten, as they must be for its
         * next boot to be answered at all. */
        if (h->fl_count == FRAME_HOST_FLIGHTS)
            forget_oldest(h);
        h->hello_ack_due = false;
        return emit(h, buf, LINK_FRAME_HELLO_ACK, 0, 0, false);
    }
    if (!h->session)
        return 0;
    run_timer(h, now_ns);
    uint32_t n = data_to_send(h);
    if (n) {
        size_t len = emit(h, buf, LINK_FRAME_DATA, h->snd_nxt, n, false);
        h->snd_nxt += n;
        if (link_seq_diff(h->snd_nxt, h->snd_max) > 0)
            h->snd_max = h->snd_nxt;
        return len;
    }
    /* at most LINK_PROBES_MAX probes wait in the FIFO (a board busy computing for minutes
     * finds 8, not 600, when it looks again) */
    bool probe = h->probe_due && h->probes < LINK_PROBES_MAX;
    if ((h->ack_due || h->resend_due || probe) && fits(h, LINK_FRAME_HEAD_BYTES, false))
        return emit(h, buf, LINK_FRAME_ACK, h->snd_max, 0, probe);
    /* the window is full: a probe may still go, in the reserve kept for it */
    if (probe && fits(h, LINK_FRAME_HEAD_BYTES, true))
        return emit(h, buf, LINK_FRAME_ACK, h->snd_max, 0, true);
    return 0;
}

int64_t frame_host_deadline(const struct frame_host *h)
{
    return h->session ? h->timer_base_ns + h->rto_ns : -1;
}
