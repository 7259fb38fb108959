/*
 * microTVM RPC framing and session handshake for host-side tests (format: utvm_rpc.h).
 * The decoder is a byte-at-a-time state machine so that it can resume anywhere: the UART
 * delivers packets in arbitrary pieces, mixed with boot text.
 */
#include "utvm_rpc.h"

#include "mono.h"

#include <string.h>
#include <time.h>

enum { ST_OUTSIDE, ST_LENGTH, ST_PAYLOAD, ST_CRC };

uint16_t utvm_crc16(uint16_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
    }
    return crc;
}

/* Appends n bytes, doubling every FF, and runs the CRC over what went on the wire. */
static int put_escaped(const uint8_t *src, size_t n, uint8_t *out, size_t cap, size_t *at,
                       uint16_t *crc)
{
    for (size_t i = 0; i < n; i++) {
        size_t need = src[i] == UTVM_ESCAPE ? 2 : 1;
        if (*at + need > cap)
            return -1;
        out[(*at)++] = src[i];
        if (need == 2)
            out[(*at)++] = UTVM_ESCAPE;
        if (crc)
            *crc = utvm_crc16(*crc, out + *at - need, need);
    }
    return 0;
}

int utvm_encode(const void *payload, size_t n, uint8_t *out, size_t cap, size_t *len,
                struct err *err)
{
    if (n > UINT32_MAX)
        return err_set(err, ERR_INVALID, "utvm: a %zu-byte payload does not fit a u32 length", n);
    uint8_t head[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24)};
    size_t at = 0;
    uint16_t crc = UTVM_CRC_INIT;
    if (cap < 2)
        goto too_small;
    out[at++] = UTVM_ESCAPE;
    out[at++] = UTVM_PACKET_START;
    crc = utvm_crc16(crc, out, 2);
    if (put_escaped(head, sizeof(head), out, cap, &at, &crc) < 0 ||
        put_escaped(payload, n, out, cap, &at, &crc) < 0)
        goto too_small;
    uint8_t tail[2] = {(uint8_t)crc, (uint8_t)(crc >> 8)}; /* little-endian, not in the CRC */
    if (put_escaped(tail, sizeof(tail), out, cap, &at, NULL) < 0)
        goto too_small;
    *len = at;
    return 0;
too_small:
    return err_set(err, ERR_INVALID, "utvm: a %zu-byte payload needs up to %zu bytes framed, "
                   "buffer has %zu", n, (size_t)UTVM_ENCODED_MAX(n), cap);
}

void utvm_decoder_init(struct utvm_decoder *d, uint8_t *buf, size_t cap)
{
    memset(d, 0, sizeof(*d));
    d->buf = buf;
    d->cap = cap;
    d->state = ST_OUTSIDE;
}

static void start_packet(struct utvm_decoder *d)
{
    static const uint8_t start[2] = {UTVM_ESCAPE, UTVM_PACKET_START};
    d->state = ST_LENGTH;
    d->saw_escape = 0;
    d->crc = utvm_crc16(UTVM_CRC_INIT, start, sizeof(start));
    d->n_field = 0;
    d->len = 0;
    d->want = 0;
}

/* One unescaped byte of the packet. Returns 1 when it completed a good packet. */
static int take_byte(struct utvm_decoder *d, uint8_t b)
{
    switch (d->state) {
    case ST_LENGTH:
        d->field[d->n_field++] = b;
        if (d->n_field < 4)
            return 0;
        d->want = (size_t)d->field[0] | (size_t)d->field[1] << 8 | (size_t)d->field[2] << 16 |
                  (size_t)d->field[3] << 24;
        d->len = 0;
        d->n_field = 0;
        d->state = d->want == 0 ? ST_CRC : ST_PAYLOAD;
        return 0;
    case ST_PAYLOAD:
        /* an oversize packet is still walked to its end (so its escaped bytes are never
         * mistaken for a packet start) but not stored */
        if (d->len < d->cap)
            d->buf[d->len] = b;
        if (++d->len == d->want) {
            d->state = ST_CRC;
            d->n_field = 0;
        }
        return 0;
    case ST_CRC:
        d->field[d->n_field++] = b;
        if (d->n_field < 2)
            return 0;
        d->state = ST_OUTSIDE;
        if ((uint16_t)(d->field[0] | d->field[1] << 8) != d->crc) {
            d->n_bad_crc++;
            return 0;
        }
        if (d->want > d->cap) {
            d->n_oversize++;
            return 0;
        }
        d->n_packets++;
        return 1;
    default:
        return 0;
    }
}

int utvm_decoder_feed(struct utvm_decoder *d, const uint8_t *data, size_t n, size_t *consumed)
{
    size_t i = 0;
    int done = 0;
    while (i < n && !done) {
        uint8_t b = data[i++];
        if (d->state == ST_OUTSIDE) {
            if (d->saw_escape && b == UTVM_PACKET_START) {
                d->n_outside--; /* the FF was part of the start, not text */
                start_packet(d);
                continue;
            }
            d->saw_escape = b == UTVM_ESCAPE;
            d->n_outside++;
            continue;
        }
        /* inside a packet: the CRC covers wire bytes, escapes included, up to the CRC field */
        if (d->state != ST_CRC)
            d->crc = utvm_crc16(d->crc, &b, 1);
        if (d->saw_escape) {
            d->saw_escape = 0;
            if (b == UTVM_PACKET_START) {
                d->n_cut++;
                start_packet(d);
                continue;
            }
            if (b == UTVM_ESCAPE_NOP)
                continue;
            if (b != UTVM_ESCAPE) {
                d->n_bad_escape++;
                d->state = ST_OUTSIDE;
                continue;
            }
        } else if (b == UTVM_ESCAPE) {
            d->saw_escape = 1;
            continue;
        }
        done = take_byte(d, b);
    }
    *consumed = i;
    return done;
}

int utvm_encode_message(uint16_t session_id, uint8_t type, const void *body, size_t body_len,
                        uint8_t *out, size_t cap, size_t *len, struct err *err)
{
    uint8_t payload[UTVM_SESSION_HEADER_BYTES + 64];
    if (body_len > sizeof(payload) - UTVM_SESSION_HEADER_BYTES)
        return err_set(err, ERR_INVALID, "utvm: message body of %zu bytes is above the %zu "
                       "this helper frames", body_len, sizeof(payload) - UTVM_SESSION_HEADER_BYTES);
    payload[0] = (uint8_t)session_id;
    payload[1] = (uint8_t)(session_id >> 8);
    payload[2] = type;
    if (body_len)
        memcpy(payload + UTVM_SESSION_HEADER_BYTES, body, body_len);
    return utvm_encode(payload, UTVM_SESSION_HEADER_BYTES + body_len, out, cap, len, err);
}

int utvm_encode_start_session_init(uint8_t initiator_nonce, uint8_t *out, size_t cap,
                                   size_t *len, struct err *err)
{
    if (initiator_nonce == 0)
        return err_set(err, ERR_INVALID, "utvm: nonce 0 is invalid (the CRT ignores it); "
                       "pick 1 to 255");
    uint8_t version = UTVM_SESSION_VERSION;
    return utvm_encode_message(initiator_nonce, UTVM_MSG_START_SESSION_INIT, &version, 1, out,
                               cap, len, err);
}

int utvm_parse_message(const uint8_t *payload, size_t n, struct utvm_message *m,
                       struct err *err)
{
    if (n < UTVM_SESSION_HEADER_BYTES)
        return err_set(err, ERR_INVALID, "utvm: a %zu-byte payload is shorter than the %u-byte "
                       "session header", n, UTVM_SESSION_HEADER_BYTES);
    m->session_id = (uint16_t)(payload[0] | payload[1] << 8);
    m->type = payload[2];
    m->body = payload + UTVM_SESSION_HEADER_BYTES;
    m->body_len = n - UTVM_SESSION_HEADER_BYTES;
    return 0;
}

int utvm_check_start_session_reply(const struct utvm_message *m, uint8_t initiator_nonce,
                                   uint8_t *responder_nonce, struct err *err)
{
    uint8_t ours = (uint8_t)m->session_id, theirs = (uint8_t)(m->session_id >> 8);
    if (m->type != UTVM_MSG_START_SESSION_REPLY)
        return err_set(err, ERR_INVALID, "utvm: message type 0x%02x is not StartSessionReply "
                       "(0x%02x)", m->type, UTVM_MSG_START_SESSION_REPLY);
    if (ours != initiator_nonce)
        return err_set(err, ERR_INVALID, "utvm: reply carries initiator nonce 0x%02x, sent 0x%02x",
                       ours, initiator_nonce);
    if (theirs == 0)
        return err_set(err, ERR_INVALID, "utvm: reply carries responder nonce 0 (invalid)");
    if (m->body_len != 1 || m->body[0] != UTVM_SESSION_VERSION)
        return err_set(err, ERR_INVALID, "utvm: reply body is %zu bytes (first 0x%02x), want the "
                       "version byte 0x%02x", m->body_len, m->body_len ? m->body[0] : 0,
                       UTVM_SESSION_VERSION);
    *responder_nonce = theirs;
    return 0;
}

int utvm_handshake(const struct utvm_io *io, uint8_t initiator_nonce, int timeout_ms,
                   struct utvm_handshake_result *res, struct err *err)
{
    uint8_t frame[UTVM_ENCODED_MAX(UTVM_SESSION_HEADER_BYTES + 1)];
    uint8_t payload[512]; /* replies are 4 bytes; logs are at most 256 */
    uint8_t chunk[256];
    size_t len = 0;
    struct utvm_decoder d;
    int64_t deadline = mono_now_ms() + timeout_ms;

    memset(res, 0, sizeof(*res));
    int rc = utvm_encode_start_session_init(initiator_nonce, frame, sizeof(frame), &len, err);
    if (rc < 0)
        return rc;
    if ((rc = io->write(io->ctx, frame, len, timeout_ms, err)) < 0)
        return err_prefix(err, "utvm: sending StartSessionInit");
    utvm_decoder_init(&d, payload, sizeof(payload));
    for (;;) {
        int64_t left = deadline - mono_now_ms();
        if (left <= 0)
            return err_set(err, ERR_TIMEOUT, "utvm: no StartSessionReply within %d ms (saw %u "
                           "packets, %u dropped, %zu bytes of text)", timeout_ms, d.n_packets,
                           d.n_bad_crc + d.n_bad_escape + d.n_cut + d.n_oversize, d.n_outside);
        ssize_t got = io->read(io->ctx, chunk, sizeof(chunk), (int)left, err);
        if (got == ERR_TIMEOUT)
            continue; /* the loop's deadline check reports it */
        if (got < 0)
            return err_prefix(err, "utvm: waiting for StartSessionReply");
        size_t at = 0;
        while (at < (size_t)got) {
            size_t used = 0;
            int have = utvm_decoder_feed(&d, chunk + at, (size_t)got - at, &used);
            at += used;
            if (!have)
                continue;
            struct utvm_message m = {0};
            if (utvm_parse_message(d.buf, d.len, &m, NULL) < 0) {
                res->n_other++;
                continue;
            }
            if (m.type == UTVM_MSG_TERMINATE_SESSION) {
                res->n_terminate++;
            } else if (m.type == UTVM_MSG_LOG) {
                res->n_log++;
            } else if (m.type == UTVM_MSG_START_SESSION_REPLY) {
                res->n_dropped = d.n_bad_crc + d.n_bad_escape + d.n_cut + d.n_oversize;
                rc = utvm_check_start_session_reply(&m, initiator_nonce, &res->responder_nonce,
                                                    err);
                if (rc < 0)
                    return rc;
                res->session_id = m.session_id;
                return 0;
            } else {
                res->n_other++;
            }
        }
    }
}
