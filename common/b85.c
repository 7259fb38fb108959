/*
 * base85 (RFC 1924 alphabet), bit-compatible with Python's base64.b85encode/b85decode, which is
 * what TVM's client uses for transport data. Each big-endian 4-byte group becomes 5 digits; a
 * final short group is zero-padded to encode and '~'-padded to decode, and the padding dropped.
 */
#include "b85.h"


static const char alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

/* The digit each ASCII character stands for, or -1 (bytes >= 0x80 are never digits). Generated
 * from the alphabet above with a one-line Python loop over enumerate(alphabet). */
static const signed char digits[128] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, 62, -1, 63, 64, 65, 66, -1, 67, 68, 69, 70, -1, 71, -1, -1,
     0,  1,  2,  3,  4,  5,  6,  7,  8,  9, -1, 72, 73, 74, 75, 76,
    77, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
    25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, -1, -1, -1, 78, 79,
    80, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50,
    51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 81, 82, 83, 84, -1,
};

static int digit_of(unsigned char c)
{
    return c < 128 ? digits[c] : -1;
}

size_t b85_encoded_len(size_t n)
{
    size_t rest = n % 4;
    return n / 4 * 5 + (rest ? rest + 1 : 0);
}

size_t b85_decoded_len(size_t len)
{
    size_t rest = len % 5;
    return len / 5 * 4 + (rest > 1 ? rest - 1 : 0);
}

size_t b85_encode(const void *data, size_t n, char *out)
{
    const uint8_t *in = data;
    char *p = out;
    for (size_t i = 0; i < n; i += 4) {
        size_t k = n - i < 4 ? n - i : 4;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++)
            v = v << 8 | (j < k ? in[i + j] : 0);
        char group[5];
        for (int j = 4; j >= 0; j--) {
            group[j] = alphabet[v % 85];
            v /= 85;
        }
        /* a short group of k bytes keeps only its k+1 most significant digits */
        size_t keep = k == 4 ? 5 : k + 1;
        for (size_t j = 0; j < keep; j++)
            *p++ = group[j];
    }
    return (size_t)(p - out);
}

int b85_decode(const char *text, size_t len, void *out, size_t *got, struct err *err)
{
    if (len % 5 == 1)
        return err_set(err, ERR_PARAMS,
                       "bad base85: a dangling single character at position %zu (a final "
                       "group needs 2 to 5 characters)", len - 1);
    uint8_t *p = out;
    for (size_t i = 0; i < len; i += 5) {
        size_t k = len - i < 5 ? len - i : 5;
        uint64_t v = 0;
        for (size_t j = 0; j < 5; j++) {
            int d = 84; /* '~' pads a short final group, as Python does */
            if (j < k) {
                unsigned char c = (unsigned char)text[i + j];
                if ((d = digit_of(c)) < 0) {
                    if (c >= 0x21 && c < 0x7f)
                        return err_set(err, ERR_PARAMS,
                                       "bad base85 character '%c' at position %zu", c, i + j);
                    return err_set(err, ERR_PARAMS,
                                   "bad base85 character 0x%02x at position %zu", c, i + j);
                }
            }
            v = v * 85 + (uint64_t)d;
        }
        if (v > UINT32_MAX)
            return err_set(err, ERR_PARAMS,
                           "bad base85: the group at position %zu is worth more than 2^32-1", i);
        size_t keep = k == 5 ? 4 : k - 1;
        for (size_t j = 0; j < keep; j++)
            *p++ = (uint8_t)(v >> (24 - 8 * j));
    }
    *got = (size_t)(p - (uint8_t *)out);
    return 0;
}
