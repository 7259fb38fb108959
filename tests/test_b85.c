/*
 * base85 must match Python's base64.b85encode/b85decode byte for byte: TVM's client decodes
 * read_transport data and encodes write_transport data with them (PROJECT_API.md section 5).
 */
#include "b85.h"

#include "asserts.h"
#include "runner.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct vector {
    const char *bytes;
    size_t n;
    const char *text;
};

#define V(b, t) {b, sizeof(b) - 1, t}

/* The vectors of PROJECT_API.md section 5. */
static const struct vector doc_vectors[] = {
    V("\xff\xfd", "|NQ"),         V("\x13\xcd", "6U_"),
    V("\x66\x6f\x6f\x1b", "W^ZpB"), V("\x00", "00"),
    V("\x00\x00\x00\x00", "00000"), V("\x01\x02\xff", "0RsO"),
    V("\x00\x01\xff\xfd", "00IB~"), V("", ""),
    V("\xff\xff\xff\xff", "|NsC0"),
};

/* Produced by Python 3 with:
 *   r = random.Random(2024)
 *   for n in [1,2,3,4,5,7,8,13,31,64]:
 *       b = bytes(r.randrange(256) for _ in range(n)); print(b.hex(), base64.b85encode(b))
 */
static const struct vector python_vectors[] = {
    V("\xf0", "@B"),
    V("\x5d\x9b", "U7G"),
    V("\x66\xd1\x87", "X3>W"),
    V("\x7d\xff\xb5\xd4", "egC!8"),
    V("\x6f\x9e\xa9\x26\x69", "Z=R_pX#"),
    V("\xef\x4b\x6c\xd2\x1d\xb2\xd5", "?@Mgb9kSH"),
    V("\xee\x3f\x47\xa7\xc7\xa9\xb0\x66", "?mtJT$EmPp"),
    V("\xa6\xda\xd4\xa2\x6d\xd0\x75\x68\x14\x73\x09\x84\xa3", "rrOk^ZP0aS6mtoLqW"),
    V("\xd7\x39\xa9\x76\x78\xed\xbb\x45\x67\xbc\xfc\x48\x86\xc6\xac\xab\xee\x56\x43\xa9\x69"
      "\x21\x32\x58\x02\x4d\xe0\x78\xb3\x75\x29",
      "*Ey+nc<sAIXT1DKhQ_R`?p8yoX(2LL0!`p}vvnx"),
    V("\x64\x91\x7a\xec\x86\xf6\xdf\xd4\x66\x24\x9a\x9a\x8e\x45\x80\x33\xfd\x6f\x64\xc6\x5a"
      "\x72\xa3\xb5\x17\xc1\x25\x3c\x75\x1c\x40\x6b\x2c\x58\x78\xf9\x54\x52\x2c\x40\x35\x0f"
      "\x37\x5c\xa1\x00\x3e\x8f\x0e\x5d\x1f\x35\x6b\x6a\x61\xec\x5f\xf2\xa0\x8b\xe8\xe0\x6f"
      "\xcc",
      "WRZI8hW6joW+a-Ljzxeo{cmK(T5_Yc7r`YwbsRuzELeE?R8lNJH4isjp#VOQ4qYELYieQaU-F=f=-_Y6"),
};

/* An independent reference encoder, written the slow, obvious way: the value of each zero-padded
 * group, its digits by dividing by powers of 85 from the top, the alphabet looked up by strchr's
 * counterpart. It shares no code with b85.c. */
static const char ref_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

static void ref_encode(const uint8_t *in, size_t n, char *out)
{
    static const uint64_t pow85[5] = {52200625, 614125, 7225, 85, 1};
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint8_t g[4] = {0, 0, 0, 0};
        size_t k = 0;
        for (; k < 4 && i + k < n; k++)
            g[k] = in[i + k];
        uint64_t v = (uint64_t)g[0] * 16777216 + (uint64_t)g[1] * 65536 + g[2] * 256u + g[3];
        for (size_t d = 0; d < (k == 4 ? 5 : k + 1); d++)
            out[o++] = ref_alphabet[(v / pow85[d]) % 85];
    }
    out[o] = '\0';
}

static void check_vector(const struct vector *v)
{
    char text[256];
    size_t len = b85_encode(v->bytes, v->n, text);
    ASSERT_EQ(len, strlen(v->text));
    ASSERT_EQ(len, b85_encoded_len(v->n));
    text[len] = '\0';
    ASSERT_STR_EQ(text, v->text);

    uint8_t bytes[256];
    size_t got = 12345;
    struct err err = {0};
    ASSERT_EQ(b85_decoded_len(strlen(v->text)), v->n);
    ASSERT_OK(b85_decode(v->text, strlen(v->text), bytes, &got, &err), &err);
    ASSERT_EQ(got, v->n);
    ASSERT_MEM_EQ(bytes, v->bytes, v->n);
}

static void test_b85_encodes_and_decodes_the_documented_vectors(void)
{
    for (size_t i = 0; i < sizeof doc_vectors / sizeof doc_vectors[0]; i++)
        check_vector(&doc_vectors[i]);
}

static void test_b85_matches_python_on_random_bytes(void)
{
    for (size_t i = 0; i < sizeof python_vectors / sizeof python_vectors[0]; i++)
        check_vector(&python_vectors[i]);
}

static void test_b85_round_trips_random_data_and_agrees_with_the_reference(void)
{
    uint64_t state = 0x9e3779b97f4a7c15ull; /* xorshift: reproducible without a seed file */
    enum { MAX = 1029 };
    uint8_t *data = malloc(MAX), *back = malloc(MAX);
    char *text = malloc(b85_encoded_len(MAX) + 1), *ref = malloc(b85_encoded_len(MAX) + 1);
    ASSERT_TRUE_FATAL(data && back && text && ref);
    for (size_t round = 0; round < 400; round++) {
        size_t n = round < 40 ? round : (size_t)(state % MAX);
        for (size_t i = 0; i < n; i++) {
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            /* bias towards 0x00 and 0xff: zero groups and the largest digits are edge cases */
            data[i] = (state & 7) == 0 ? 0 : (state & 7) == 1 ? 0xff : (uint8_t)(state >> 24);
        }
        size_t len = b85_encode(data, n, text);
        text[len] = '\0';
        ref_encode(data, n, ref);
        ASSERT_STR_EQ(text, ref);
        size_t got = 0;
        struct err err = {0};
        ASSERT_OK(b85_decode(text, len, back, &got, &err), &err);
        ASSERT_EQ(got, n);
        ASSERT_MEM_EQ(back, data, n);
    }
    free(data), free(back), free(text), free(ref);
}

/* Decodes text expecting failure with a message containing want. */
static void expect_error(const char *text, size_t len, const char *want)
{
    uint8_t out[64];
    size_t got = 0;
    struct err err = {0};
    ASSERT_LE_FATAL(b85_decoded_len(len), sizeof out);
    ASSERT_EQ(b85_decode(text, len, out, &got, &err), ERR_PARAMS);
    ASSERT_STR_CONTAINS(err.msg, want);
}

static void test_b85_rejects_a_character_outside_the_alphabet_naming_its_position(void)
{
    expect_error("0000\"", 5, "bad base85 character '\"' at position 4");
    expect_error("ab.cd", 5, "bad base85 character '.' at position 2");
    expect_error("00000 0000", 10, "bad base85 character 0x20 at position 5");
    expect_error("00\xc3\xa9", 4, "bad base85 character 0xc3 at position 2");
    expect_error("000\0", 4, "bad base85 character 0x00 at position 3");
}

static void test_b85_rejects_a_dangling_single_character(void)
{
    expect_error("0", 1, "dangling single character at position 0");
    expect_error("000000", 6, "dangling single character at position 5");
}

static void test_b85_rejects_a_group_above_two_to_the_32(void)
{
    expect_error("|NsC1", 5, "group at position 0 is worth more than 2^32-1");
    expect_error("00000~~~~~", 10, "group at position 5 is worth more than 2^32-1");
    /* a short final group is padded with '~', as Python does, so "~~" overflows too */
    expect_error("~~", 2, "group at position 0 is worth more than 2^32-1");
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("b85", NULL, NULL);
    CU_ADD_TEST(s, test_b85_encodes_and_decodes_the_documented_vectors);
    CU_ADD_TEST(s, test_b85_matches_python_on_random_bytes);
    CU_ADD_TEST(s, test_b85_round_trips_random_data_and_agrees_with_the_reference);
    CU_ADD_TEST(s, test_b85_rejects_a_character_outside_the_alphabet_naming_its_position);
    CU_ADD_TEST(s, test_b85_rejects_a_dangling_single_character);
    CU_ADD_TEST(s, test_b85_rejects_a_group_above_two_to_the_32);
    return TEST_RUN;
}
