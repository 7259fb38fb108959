/*
 * Fuzz target "b85": common/b85.c, the encoding of transport data. Each input is used twice:
 * as text, decoded into a buffer of exactly b85_decoded_len bytes and compared with a slow
 * reference decoder written from PROJECT_API.md section 5 (accept and reject alike); and as
 * bytes, encoded into exactly b85_encoded_len characters and decoded back to the same bytes.
 */
#include "b85.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

static void die(const char *what)
{
    fprintf(stderr, "fuzz_b85: %s\n", what);
    abort();
}

/* The reference: pad with '~' to a multiple of 5, decode each group with strchr over the
 * alphabet, refuse a group above 2^32-1, drop as many bytes as were padded. A lone final
 * character is refused, as b85.h says. Returns the byte count, or -1 when the text is bad. */
static long ref_decode(const uint8_t *text, size_t len, uint8_t *out)
{
    if (len % 5 == 1)
        return -1;
    size_t pad = (5 - len % 5) % 5, n = 0;
    for (size_t i = 0; i < len + pad; i += 5) {
        uint64_t v = 0;
        for (size_t j = i; j < i + 5; j++) {
            const char *c = j < len ? (text[j] ? strchr(alphabet, text[j]) : NULL) : &alphabet[84];
            if (!c)
                return -1;
            v = v * 85 + (uint64_t)(c - alphabet);
        }
        if (v > 0xffffffffu)
            return -1;
        for (int k = 3; k >= 0; k--, v >>= 8)
            out[n + (size_t)k] = (uint8_t)v;
        n += 4;
    }
    return (long)(n - pad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* as text */
    size_t cap = b85_decoded_len(size);
    uint8_t *out = malloc(cap ? cap : 1);
    uint8_t *ref = malloc(cap + 4);
    if (!out || !ref)
        die("out of memory");
    size_t got = 0;
    struct err err = {0};
    int rc = b85_decode((const char *)data, size, cap ? out : NULL, &got, &err);
    long want = ref_decode(data, size, ref);
    if ((rc == 0) != (want >= 0))
        die(rc == 0 ? "decode accepted text the reference refuses"
                    : "decode refused text the reference accepts");
    if (rc == 0) {
        if (got != (size_t)want || got != cap || memcmp(out, ref, got) != 0)
            die("decode differs from the reference");
        if (size % 5 == 0) { /* whole groups have one spelling: encoding gives the text back */
            char *again = malloc(size ? size : 1);
            if (!again)
                die("out of memory");
            if (b85_encode(out, got, again) != size || memcmp(again, data, size) != 0)
                die("encode(decode(text)) != text for whole groups");
            free(again);
        }
    } else if (err.code != ERR_PARAMS || !err.msg[0] || strchr(err.msg, '\n')) {
        die("a refusal without ERR_PARAMS and a one-line message");
    }
    free(ref);
    free(out);

    /* as bytes */
    size_t tlen = b85_encoded_len(size);
    char *text = malloc(tlen ? tlen : 1);
    uint8_t *back = malloc(size ? size : 1);
    if (!text || !back)
        die("out of memory");
    if (b85_encode(data, size, text) != tlen)
        die("encode wrote other than b85_encoded_len characters");
    for (size_t i = 0; i < tlen; i++)
        if (!memchr(alphabet, text[i], sizeof alphabet - 1))
            die("encode wrote a character outside the alphabet");
    if (b85_decoded_len(tlen) != size)
        die("b85_decoded_len(b85_encoded_len(n)) != n");
    got = 0;
    if (b85_decode(text, tlen, size ? back : NULL, &got, &err) != 0 || got != size ||
        memcmp(back, data, size) != 0)
        die("decode(encode(bytes)) != bytes");
    free(back);
    free(text);
    return 0;
}
