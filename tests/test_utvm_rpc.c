/*
 * Unit tests for tests/support/utvm_rpc.c, the host side of microTVM's framing and session
 * handshake that the host_driven end-to-end test relies on.
 *
 * Where the expected bytes come from (not from utvm_rpc.c itself):
 * - 0x29B1 is the published check value of CRC-16/CCITT-FALSE for "123456789" (the CRC
 *   RevEng catalogue); Python's binascii.crc_hqx(b"123456789", 0xffff) agrees.
 * - The framed packets below were computed with Python (binascii.crc_hqx over the escaped wire
 *   bytes) and confirmed byte for byte by TVM 0.18's own Framer (framing.cc) compiled on the
 *   host in a throwaway program outside this repository. TVM prefixes the first packet after
 *   a reset with one FE filler byte; the vectors leave it out (it sits outside any packet).
 */
#include "utvm_rpc.h"

#include "asserts.h"
#include "runner.h"

#include <string.h>
#include <time.h>

struct vector {
    const char *payload; /* hex */
    const char *framed;  /* hex */
};

static const struct vector vectors[] = {
    {"2a000001", "fffd040000002a000001ce86"},    /* StartSessionInit, nonce 0x2a */
    {"ff01", "fffd02000000ffff01f833"},          /* an FF in the payload is doubled */
    {"", "fffd000000008344"},                    /* empty payload */
    {"fafbfcfdfeff", "fffd06000000fafbfcfdfeffff3c8e"}, /* FD and FE unescaped, FF doubled */
};

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Feeds all of data, collecting the good payloads back to back into got (lengths in lens). */
static size_t decode_all(struct utvm_decoder *d, const uint8_t *data, size_t n, uint8_t *got,
                         size_t *lens, size_t max_packets)
{
    size_t at = 0, packets = 0, out = 0;
    while (at < n) {
        size_t used = 0;
        if (utvm_decoder_feed(d, data + at, n - at, &used) && packets < max_packets) {
            memcpy(got + out, d->buf, d->len);
            out += d->len;
            lens[packets++] = d->len;
        }
        ASSERT_GT_FATAL(used, 0);
        at += used;
    }
    return packets;
}

static void test_crc_matches_the_published_ccitt_false_check_value(void)
{
    ASSERT_EQ(utvm_crc16(UTVM_CRC_INIT, "123456789", 9), 0x29B1);
    /* continuing a CRC over a second piece equals one pass over the whole */
    uint16_t part = utvm_crc16(UTVM_CRC_INIT, "1234", 4);
    ASSERT_EQ(utvm_crc16(part, "56789", 5), 0x29B1);
    ASSERT_EQ(utvm_crc16(0x1234, "", 0), 0x1234);
}

static void test_encode_produces_the_independently_computed_frames(void)
{
    for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
        uint8_t payload[64], want[128], got[128];
        size_t n = unhex(vectors[v].payload, payload), wn = unhex(vectors[v].framed, want);
        size_t len = 0;
        struct err e = {0};
        ASSERT_OK_FATAL(utvm_encode(payload, n, got, sizeof(got), &len, &e), &e);
        ASSERT_EQ(len, wn);
        ASSERT_MEM_EQ(got, want, wn);
        ASSERT_LE(len, UTVM_ENCODED_MAX(n));
    }
}

static void test_encode_doubles_every_ff_including_length_and_crc(void)
{
    /* 255 bytes of FF: the length byte is FF too, and every payload byte is doubled */
    uint8_t payload[255], out[UTVM_ENCODED_MAX(255)];
    memset(payload, 0xFF, sizeof(payload));
    size_t len = 0;
    ASSERT_EQ_FATAL(utvm_encode(payload, sizeof(payload), out, sizeof(out), &len, NULL), 0);
    ASSERT_TRUE(out[0] == 0xFF && out[1] == 0xFD && out[2] == 0xFF && out[3] == 0xFF);
    size_t ff = 0;
    for (size_t i = 2; i < len; i++)
        ff += out[i] == 0xFF;
    ASSERT_EQ(ff % 2, 0); /* every FF after the start comes in pairs */
    ASSERT_GE(len, 2 + 5 + 2 * 255 + 2);
}

static void test_encode_rejects_a_buffer_too_small_and_says_how_much_is_needed(void)
{
    uint8_t out[8];
    size_t len = 0;
    struct err e = {0};
    ASSERT_EQ(utvm_encode("abcdef", 6, out, sizeof(out), &len, &e), ERR_INVALID);
    ASSERT_EQ(e.code, ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "buffer has 8");
}

static void test_decoder_returns_each_vector_payload_even_fed_byte_by_byte(void)
{
    for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
        uint8_t payload[64], framed[128], buf[64];
        size_t n = unhex(vectors[v].payload, payload), fn = unhex(vectors[v].framed, framed);
        struct utvm_decoder d;
        utvm_decoder_init(&d, buf, sizeof(buf));
        int have = 0;
        for (size_t i = 0; i < fn; i++) {
            size_t used = 0;
            have = utvm_decoder_feed(&d, framed + i, 1, &used);
            ASSERT_EQ(used, 1);
            ASSERT_TRUE(have == 0 || i == fn - 1);
        }
        ASSERT_EQ(have, 1);
        ASSERT_EQ(d.len, n);
        ASSERT_MEM_EQ(buf, payload, n);
        ASSERT_EQ(d.n_packets, 1);
    }
}

static void test_decoder_skips_boot_text_and_filler_outside_packets(void)
{
    const char *banner = "#microtvm-qemu:host_driven:mps2-an385:picolibc\n";
    uint8_t stream[256], got[64], buf[64];
    size_t lens[4];
    size_t n = strlen(banner);
    memcpy(stream, banner, n);
    stream[n++] = 0xFE; /* the filler TVM sends before its first packet */
    stream[n++] = 0xFF; /* a lone FF that starts no packet */
    stream[n++] = 'x';
    n += unhex(vectors[0].framed, stream + n);
    struct utvm_decoder d;
    utvm_decoder_init(&d, buf, sizeof(buf));
    ASSERT_EQ(decode_all(&d, stream, n, got, lens, 4), 1);
    ASSERT_EQ(lens[0], 4);
    ASSERT_MEM_EQ(got, "\x2a\x00\x00\x01", 4);
    ASSERT_EQ(d.n_outside, strlen(banner) + 3);
}

static void test_decoder_resyncs_after_garbage_between_packets(void)
{
    static const uint8_t garbage[] = {0x00, 0xFF, 0xFF, 0x10, 0xFE, 0xFF, 0x41, 0xFD, 0x7F};
    uint8_t stream[256], got[128], buf[64];
    size_t lens[4], n = 0;
    n += unhex(vectors[1].framed, stream + n);
    memcpy(stream + n, garbage, sizeof(garbage));
    n += sizeof(garbage);
    n += unhex(vectors[3].framed, stream + n);
    struct utvm_decoder d;
    utvm_decoder_init(&d, buf, sizeof(buf));
    ASSERT_EQ_FATAL(decode_all(&d, stream, n, got, lens, 4), 2);
    ASSERT_TRUE(lens[0] == 2 && lens[1] == 6);
    ASSERT_MEM_EQ(got + 2, "\xfa\xfb\xfc\xfd\xfe\xff", 6);
    ASSERT_EQ(d.n_outside, sizeof(garbage));
}

static void test_decoder_drops_a_packet_with_a_bad_crc_and_takes_the_next(void)
{
    uint8_t stream[128], got[128], buf[64];
    size_t lens[4], n = 0;
    size_t first = unhex(vectors[0].framed, stream);
    stream[first - 3] ^= 0x01; /* flip one payload bit: the CRC no longer matches */
    n = first;
    n += unhex(vectors[3].framed, stream + n);
    struct utvm_decoder d;
    utvm_decoder_init(&d, buf, sizeof(buf));
    ASSERT_EQ(decode_all(&d, stream, n, got, lens, 4), 1);
    ASSERT_EQ(lens[0], 6);
    ASSERT_EQ(d.n_bad_crc, 1);
    ASSERT_EQ(d.n_packets, 1);
}

static void test_decoder_drops_a_packet_cut_short_by_a_new_start(void)
{
    uint8_t stream[128], got[128], buf[64];
    size_t lens[4];
    size_t n = unhex(vectors[3].framed, stream);
    n = 8; /* FF FD, the length, two payload bytes: then a new packet begins */
    n += unhex(vectors[0].framed, stream + n);
    struct utvm_decoder d;
    utvm_decoder_init(&d, buf, sizeof(buf));
    ASSERT_EQ(decode_all(&d, stream, n, got, lens, 4), 1);
    ASSERT_EQ(lens[0], 4);
    ASSERT_MEM_EQ(got, "\x2a\x00\x00\x01", 4);
    ASSERT_EQ(d.n_cut, 1);
}

static void test_decoder_drops_an_invalid_escape_and_takes_the_next(void)
{
    uint8_t stream[128], got[128], buf[64];
    size_t lens[4];
    size_t n = unhex("fffd04000000ff41", stream); /* FF 41 is no escape */
    n += unhex(vectors[2].framed, stream + n);
    struct utvm_decoder d;
    utvm_decoder_init(&d, buf, sizeof(buf));
    ASSERT_EQ(decode_all(&d, stream, n, got, lens, 4), 1);
    ASSERT_EQ(lens[0], 0);
    ASSERT_EQ(d.n_bad_escape, 1);
}

static void test_decoder_walks_past_an_oversize_packet_without_storing_it(void)
{
    /* payload "ff fd ..." escaped as FF FF FD: stored or not, it must not restart framing */
    uint8_t payload[40], stream[256], got[128], buf[8];
    size_t lens[4], len = 0, n = 0;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i % 2 ? 0xFD : 0xFF);
    ASSERT_EQ_FATAL(utvm_encode(payload, sizeof(payload), stream, sizeof(stream), &len,
                                NULL), 0);
    n = len;
    n += unhex(vectors[0].framed, stream + n);
    struct utvm_decoder d;
    utvm_decoder_init(&d, buf, sizeof(buf));
    ASSERT_EQ(decode_all(&d, stream, n, got, lens, 4), 1);
    ASSERT_EQ(lens[0], 4);
    ASSERT_EQ(d.n_oversize, 1);
    ASSERT_EQ(d.n_cut, 0);
}

static void test_start_session_init_is_the_nonce_header_and_version_byte(void)
{
    uint8_t out[32], want[32];
    size_t len = 0, wn = unhex(vectors[0].framed, want);
    struct err e = {0};
    ASSERT_OK_FATAL(utvm_encode_start_session_init(0x2a, out, sizeof(out), &len, &e), &e);
    ASSERT_EQ(len, wn);
    ASSERT_MEM_EQ(out, want, wn);
    ASSERT_EQ(utvm_encode_start_session_init(0, out, sizeof(out), &len, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "nonce 0");
}

static void test_reply_check_accepts_a_good_reply_and_names_what_is_wrong_otherwise(void)
{
    uint8_t good[] = {0x2a, 0x9c, UTVM_MSG_START_SESSION_REPLY, 0x01};
    struct utvm_message m;
    uint8_t nonce = 0;
    struct err e = {0};
    ASSERT_OK_FATAL(utvm_parse_message(good, sizeof(good), &m, &e), &e);
    ASSERT_EQ(m.session_id, 0x9c2a);
    ASSERT_OK(utvm_check_start_session_reply(&m, 0x2a, &nonce, &e), &e);
    ASSERT_EQ(nonce, 0x9c);

    ASSERT_EQ(utvm_check_start_session_reply(&m, 0x2b, &nonce, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "initiator nonce 0x2a, sent 0x2b");
    uint8_t zero[] = {0x2a, 0x00, UTVM_MSG_START_SESSION_REPLY, 0x01};
    utvm_parse_message(zero, sizeof(zero), &m, NULL);
    ASSERT_EQ(utvm_check_start_session_reply(&m, 0x2a, &nonce, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "responder nonce 0");
    uint8_t version[] = {0x2a, 0x10, UTVM_MSG_START_SESSION_REPLY, 0x02};
    utvm_parse_message(version, sizeof(version), &m, NULL);
    ASSERT_EQ(utvm_check_start_session_reply(&m, 0x2a, &nonce, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "version");
    uint8_t type[] = {0x2a, 0x10, UTVM_MSG_LOG, 0x01};
    utvm_parse_message(type, sizeof(type), &m, NULL);
    ASSERT_EQ(utvm_check_start_session_reply(&m, 0x2a, &nonce, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "not StartSessionReply");
    ASSERT_EQ(utvm_parse_message(good, 2, &m, &e), ERR_INVALID);
}

/* A scripted device for utvm_handshake: answers a StartSessionInit with what `reply` says,
 * handing out its bytes three at a time so packets arrive in pieces. */
struct script {
    uint8_t out[512];
    size_t n_out, at;
    uint8_t got_nonce;
    int answer; /* 0: stay silent */
};

static ssize_t script_read(void *ctx, void *buf, size_t cap, int timeout_ms, struct err *err)
{
    struct script *s = ctx;
    if (s->at == s->n_out) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        return err_set(err, ERR_TIMEOUT, "nothing within %d ms", timeout_ms);
    }
    size_t n = s->n_out - s->at < 3 ? s->n_out - s->at : 3;
    n = n < cap ? n : cap;
    memcpy(buf, s->out + s->at, n);
    s->at += n;
    return (ssize_t)n;
}

static void script_append(struct script *s, uint16_t id, uint8_t type, const char *body)
{
    size_t len = 0;
    ASSERT_EQ_FATAL(utvm_encode_message(id, type, body, strlen(body), s->out + s->n_out,
                                        sizeof(s->out) - s->n_out, &len, NULL), 0);
    s->n_out += len;
}

static int script_write(void *ctx, const void *data, size_t n, int timeout_ms, struct err *err)
{
    struct script *s = ctx;
    uint8_t buf[64];
    struct utvm_decoder d;
    size_t used = 0;
    (void)timeout_ms;
    (void)err;
    utvm_decoder_init(&d, buf, sizeof(buf));
    ASSERT_EQ_FATAL(utvm_decoder_feed(&d, data, n, &used), 1);
    ASSERT_TRUE_FATAL(d.len == 4 && buf[2] == UTVM_MSG_START_SESSION_INIT && buf[3] == 1);
    s->got_nonce = buf[0];
    if (!s->answer)
        return 0;
    const char *text = "#microtvm-qemu:host_driven:riscv32-virt:picolibc\n";
    memcpy(s->out + s->n_out, text, strlen(text));
    s->n_out += strlen(text);
    s->out[s->n_out++] = 0xFE;
    script_append(s, 0, UTVM_MSG_TERMINATE_SESSION, "");
    script_append(s, 0, UTVM_MSG_LOG, "hello");
    script_append(s, (uint16_t)(s->got_nonce | 0x77 << 8), UTVM_MSG_START_SESSION_REPLY, "\x01");
    return 0;
}

static void test_handshake_skips_text_terminate_and_log_and_returns_the_session(void)
{
    struct script s = {.answer = 1};
    struct utvm_io io = {script_read, script_write, &s};
    struct utvm_handshake_result r;
    struct err e = {0};
    ASSERT_OK_FATAL(utvm_handshake(&io, 0x5a, 2000, &r, &e), &e);
    ASSERT_EQ(s.got_nonce, 0x5a);
    ASSERT_EQ(r.session_id, 0x775a);
    ASSERT_EQ(r.responder_nonce, 0x77);
    ASSERT_EQ(r.n_terminate, 1);
    ASSERT_EQ(r.n_log, 1);
    ASSERT_EQ(r.n_dropped, 0);
}

static void test_handshake_times_out_with_a_message_when_the_device_is_silent(void)
{
    struct script s = {.answer = 0};
    struct utvm_io io = {script_read, script_write, &s};
    struct utvm_handshake_result r;
    struct err e = {0};
    ASSERT_EQ(utvm_handshake(&io, 0x5a, 30, &r, &e), ERR_TIMEOUT);
    ASSERT_STR_CONTAINS(e.msg, "no StartSessionReply within 30 ms");
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("utvm_rpc", NULL, NULL);
    CU_ADD_TEST(s, test_crc_matches_the_published_ccitt_false_check_value);
    CU_ADD_TEST(s, test_encode_produces_the_independently_computed_frames);
    CU_ADD_TEST(s, test_encode_doubles_every_ff_including_length_and_crc);
    CU_ADD_TEST(s, test_encode_rejects_a_buffer_too_small_and_says_how_much_is_needed);
    CU_ADD_TEST(s, test_decoder_returns_each_vector_payload_even_fed_byte_by_byte);
    CU_ADD_TEST(s, test_decoder_skips_boot_text_and_filler_outside_packets);
    CU_ADD_TEST(s, test_decoder_resyncs_after_garbage_between_packets);
    CU_ADD_TEST(s, test_decoder_drops_a_packet_with_a_bad_crc_and_takes_the_next);
    CU_ADD_TEST(s, test_decoder_drops_a_packet_cut_short_by_a_new_start);
    CU_ADD_TEST(s, test_decoder_drops_an_invalid_escape_and_takes_the_next);
    CU_ADD_TEST(s, test_decoder_walks_past_an_oversize_packet_without_storing_it);
    CU_ADD_TEST(s, test_start_session_init_is_the_nonce_header_and_version_byte);
    CU_ADD_TEST(s, test_reply_check_accepts_a_good_reply_and_names_what_is_wrong_otherwise);
    CU_ADD_TEST(s, test_handshake_skips_text_terminate_and_log_and_returns_the_session);
    CU_ADD_TEST(s, test_handshake_times_out_with_a_message_when_the_device_is_silent);
    return TEST_RUN;
}
