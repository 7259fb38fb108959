/*
 * The fast link's word copy (firmware/include/link_copy.h), run on the host in both of its
 * modes: words at any address (what Cortex-M does) and words only when both ends are aligned
 * (what RISC-V does). On the host link_copy itself is memcpy, so these tests are what checks
 * the loop the boards run; the e2e fast-link tests check it on the boards.
 */
#include "link_copy.h"

#include "asserts.h"
#include "runner.h"

#include <stdint.h>
#include <string.h>

#define AREA 4200
#define GUARD 0xa5

/* A pattern no shift of itself matches: a byte off anywhere shows. */
static void fill(uint8_t *p, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7u + (i >> 8) * 13u + salt);
}

/* Copies n bytes from src + so to dst + do in the given mode; counts copies that are not
 * memcpy's, and bytes written outside [d_off, d_off + n). */
static size_t copy_errors(size_t so, size_t d_off, size_t n, int unaligned_ok)
{
    static _Alignas(16) uint8_t src[AREA], dst[AREA], want[AREA];
    fill(src, sizeof src, (unsigned)(so + n));
    memset(dst, GUARD, sizeof dst);
    memset(want, GUARD, sizeof want);
    memcpy(want + d_off, src + so, n);
    link_copy_words(dst + d_off, src + so, n, unaligned_ok);
    return memcmp(dst, want, sizeof dst) != 0;
}

static void check_all_offsets_and_short_lengths(int unaligned_ok)
{
    size_t errors = 0;
    for (size_t so = 0; so < 8; so++)
        for (size_t d_off = 0; d_off < 8; d_off++)
            for (size_t n = 0; n <= 70; n++)
                errors += copy_errors(so, d_off, n, unaligned_ok);
    ASSERT_EQ(errors, 0);
}

static void test_words_at_any_address_copy_every_offset_and_length_exactly(void)
{
    check_all_offsets_and_short_lengths(1);
}

static void test_aligned_only_words_copy_every_offset_and_length_exactly(void)
{
    check_all_offsets_and_short_lengths(0);
}

/* A frame's payload and a whole receive span, misaligned as the link's rings leave them. */
static void test_frame_sized_copies_are_exact_in_both_modes(void)
{
    static const size_t sizes[] = {1984, 2022, 2048, 4095, 4096};
    size_t errors = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int mode = 0; mode < 2; mode++) {
            errors += copy_errors(2, 0, sizes[i], mode);
            errors += copy_errors(0, 3, sizes[i], mode);
            errors += copy_errors(4, 4, sizes[i], mode);
            errors += copy_errors(1, 5, sizes[i] - 1, mode);
        }
    ASSERT_EQ(errors, 0);
}

static void test_link_copy_is_an_exact_copy_on_the_host(void)
{
    uint8_t a[300], b[300];
    fill(a, sizeof a, 9);
    memset(b, 0, sizeof b);
    link_copy(b + 1, a + 3, 250);
    ASSERT_TRUE(memcmp(b + 1, a + 3, 250) == 0);
    ASSERT_EQ(b[0], 0);
    ASSERT_EQ(b[251], 0);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("link_copy", NULL, NULL);
    CU_ADD_TEST(s, test_words_at_any_address_copy_every_offset_and_length_exactly);
    CU_ADD_TEST(s, test_aligned_only_words_copy_every_offset_and_length_exactly);
    CU_ADD_TEST(s, test_frame_sized_copies_are_exact_in_both_modes);
    CU_ADD_TEST(s, test_link_copy_is_an_exact_copy_on_the_host);
    return TEST_RUN;
}
