/*
 * A host-side speaker of microTVM's RPC framing and session layer, for tests: enough to frame
 * a packet, pick packets out of a byte stream that also carries boot text, and run the session
 * handshake (StartSessionInit -> StartSessionReply) against our firmware. Written from the
 * wire format as TVM 0.18's CRT sends it (src/runtime/crt/microtvm_rpc_common/framing.cc,
 * session.cc; facts only, our own code):
 *
 *   packet  = FF FD, len (u32 LE), payload (len bytes), crc (u16 LE)
 *   escaping: after FF FD, every FF in len, payload and crc is sent as FF FF; FF FE is a no-op
 *             filler; FF FD starts a new packet (the current one is dropped); FF then any other
 *             byte is an invalid escape. Bytes outside packets are ignored.
 *   crc     = CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor) over
 *             the bytes as they appear on the wire, escapes included, from FF FD to the end of
 *             the payload.
 *   payload = session header (session_id u16 LE, message type u8), then the message body.
 *   session_id = initiator nonce | responder nonce << 8; StartSessionInit and StartSessionReply
 *             carry a one-byte body, the session version (1).
 *
 * Nothing here allocates; buffers belong to the caller.
 */
#ifndef MTQ_UTVM_RPC_H
#define MTQ_UTVM_RPC_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UTVM_ESCAPE 0xFFu       /* starts every escape sequence */
#define UTVM_ESCAPE_NOP 0xFEu   /* FF FE: filler, ignored */
#define UTVM_PACKET_START 0xFDu /* FF FD: a packet starts */
#define UTVM_CRC_INIT 0xFFFFu
#define UTVM_SESSION_VERSION 1u
#define UTVM_SESSION_HEADER_BYTES 3u
/* TVM 0.18's host receives each packet into a buffer of this many bytes (payload: session
 * header and body), fixed when libtvm is built; a device packet above it breaks the session.
 * So a test's decoder uses it as its capacity, as TVM's host does. */
#define UTVM_TVM_HOST_RX_BYTES 2048u

/* Session message types (the byte after the session id). */
enum utvm_msg_type {
    UTVM_MSG_START_SESSION_INIT = 0x00,
    UTVM_MSG_START_SESSION_REPLY = 0x01,
    UTVM_MSG_TERMINATE_SESSION = 0x02,
    UTVM_MSG_LOG = 0x03,
    UTVM_MSG_NORMAL = 0x10,
};

/* Continues a CRC-16/CCITT-FALSE over n bytes; start with UTVM_CRC_INIT. */
uint16_t utvm_crc16(uint16_t crc, const void *data, size_t n);

/* The largest encoding of an n-byte payload: header, and every escaped byte doubled. */
#define UTVM_ENCODED_MAX(n) (2u + 2u * (4u + (size_t)(n) + 2u))

/* Frames one packet into out (cap bytes; UTVM_ENCODED_MAX(n) always suffices) and sets *len.
 * ERR_INVALID when out is too small or the payload does not fit a u32 length. */
int utvm_encode(const void *payload, size_t n, uint8_t *out, size_t cap, size_t *len,
                struct err *err);

/* A streaming decoder: bytes go in as they arrive, whole checked payloads come out. Bytes
 * outside packets are skipped; a packet with a bad CRC, an invalid escape, a length above the
 * buffer, or cut short by a new FF FD is dropped and counted, and decoding resumes with the
 * next packet start. The struct is the caller's; fields below "private" are the decoder's. */
struct utvm_decoder {
    uint8_t *buf;        /* the caller's payload buffer */
    size_t cap;          /* its size: longer packets are dropped (n_oversize) */
    size_t len;          /* after utvm_decoder_feed returned 1: the payload's length in buf */
    unsigned n_packets;  /* good packets delivered */
    unsigned n_bad_crc;  /* dropped: CRC mismatch */
    unsigned n_bad_escape; /* dropped: FF followed by a byte that is no escape */
    unsigned n_cut;      /* dropped: a new FF FD arrived inside the packet */
    unsigned n_oversize; /* dropped: declared length above cap */
    size_t n_outside;    /* bytes seen outside packets (boot text, fillers) */
    /* private */
    int state;
    int saw_escape;
    uint16_t crc;
    uint8_t field[4];
    size_t n_field;
    size_t want;
};

/* Starts a decoder writing payloads into buf (cap bytes, kept, not owned). */
void utvm_decoder_init(struct utvm_decoder *d, uint8_t *buf, size_t cap);

/* Consumes bytes until a packet completes or the input ends; *consumed says how many were used
 * (the rest belongs to later packets: feed it again). Returns 1 when a good packet is in
 * d->buf (d->len bytes, valid until the next feed), else 0. Never fails: bad packets are
 * dropped and counted. */
int utvm_decoder_feed(struct utvm_decoder *d, const uint8_t *data, size_t n, size_t *consumed);

/* One session-layer message, pointing into the payload it was parsed from. */
struct utvm_message {
    uint16_t session_id;
    uint8_t type;         /* enum utvm_msg_type, or whatever the peer sent */
    const uint8_t *body;
    size_t body_len;
};

/* Builds a session message (header + body) and frames it into out, as utvm_encode. */
int utvm_encode_message(uint16_t session_id, uint8_t type, const void *body, size_t body_len,
                        uint8_t *out, size_t cap, size_t *len, struct err *err);

/* Frames the StartSessionInit a host sends: session id = nonce (responder part 0), body =
 * the session version. A nonce of 0 is invalid (the CRT ignores it): ERR_INVALID. */
int utvm_encode_start_session_init(uint8_t initiator_nonce, uint8_t *out, size_t cap,
                                   size_t *len, struct err *err);

/* Splits a payload into header and body. ERR_INVALID when it is shorter than the header. */
int utvm_parse_message(const uint8_t *payload, size_t n, struct utvm_message *m,
                       struct err *err);

/* Checks a StartSessionReply to our StartSessionInit: type, our nonce in the low byte, a
 * non-zero responder nonce, and the version body. Sets *responder_nonce. ERR_INVALID with what
 * was wrong ("reply carries initiator nonce 0x12, sent 0x34"). */
int utvm_check_start_session_reply(const struct utvm_message *m, uint8_t initiator_nonce,
                                   uint8_t *responder_nonce, struct err *err);

/* The byte transport a handshake runs over (a pty, an emulator's UART, a test double).
 * read: up to cap bytes, waiting up to timeout_ms for the first; returns > 0, or a negative
 *       ERR_* (ERR_TIMEOUT when nothing came). write: all n bytes or a negative ERR_*. */
struct utvm_io {
    ssize_t (*read)(void *ctx, void *buf, size_t cap, int timeout_ms, struct err *err);
    int (*write)(void *ctx, const void *data, size_t n, int timeout_ms, struct err *err);
    void *ctx;
};

/* What a handshake saw. */
struct utvm_handshake_result {
    uint16_t session_id;      /* the established session's id */
    uint8_t responder_nonce;  /* the device's nonce (high byte of session_id) */
    unsigned n_terminate;     /* TerminateSession messages seen before the reply */
    unsigned n_log;           /* Log messages seen before the reply */
    unsigned n_other;         /* other messages skipped */
    unsigned n_dropped;       /* packets the decoder dropped (bad CRC, escapes, cut, size) */
};

/* Sends StartSessionInit with initiator_nonce and reads until the matching StartSessionReply,
 * skipping text, TerminateSession and Log messages. Waits at most timeout_ms in total.
 * ERR_TIMEOUT when no reply came, ERR_INVALID when a reply came but was wrong (see
 * utvm_check_start_session_reply), or the transport's error. */
int utvm_handshake(const struct utvm_io *io, uint8_t initiator_nonce, int timeout_ms,
                   struct utvm_handshake_result *res, struct err *err);

#endif
