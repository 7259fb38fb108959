/*
 * The fast link's copy: the byte moves between the link's buffers (its rings, its frames and
 * virtqueue buffers, the application's buffer). Not the C library's memcpy: picolibc as Debian
 * builds it copies one byte per loop, four instructions a byte, and under icount instructions
 * are time; the link copies every byte four times on its way through the board. This copies a
 * word at a time, four words per loop, wherever the CPU allows it: any alignment on Cortex-M
 * (ARMv7-M loads and stores words at any address), aligned buffers elsewhere.
 * Header-only, freestanding C (the host's tests run it too).
 */
#ifndef MTQ_LINK_COPY_H
#define MTQ_LINK_COPY_H

#include <stddef.h>
#include <stdint.h>

/* A word that may sit at any address and alias anything: the compiler emits a plain word load
 * where the target allows unaligned words, so it is used only there. */
typedef uint32_t __attribute__((may_alias, aligned(1))) link__any_word;
typedef uint32_t __attribute__((may_alias)) link__word;

#if defined(__ARM_FEATURE_UNALIGNED)
#define LINK_COPY_UNALIGNED 1
#else
#define LINK_COPY_UNALIGNED 0
#endif

/* Copies n bytes from src to dst (not overlapping) by words when both addresses allow it:
 * unaligned_ok says the CPU loads and stores words at any address (LINK_COPY_UNALIGNED); else
 * words only when both are word-aligned, bytes otherwise. */
static inline void link_copy_words(void *dst, const void *src, size_t n, int unaligned_ok)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (unaligned_ok) {
        for (; n >= 16u; n -= 16u, d += 16, s += 16) {
            uint32_t a = *(const link__any_word *)s, b = *(const link__any_word *)(s + 4);
            uint32_t c = *(const link__any_word *)(s + 8), e = *(const link__any_word *)(s + 12);
            *(link__any_word *)d = a;
            *(link__any_word *)(d + 4) = b;
            *(link__any_word *)(d + 8) = c;
            *(link__any_word *)(d + 12) = e;
        }
        for (; n >= 4u; n -= 4u, d += 4, s += 4)
            *(link__any_word *)d = *(const link__any_word *)s;
    } else if ((((uintptr_t)d | (uintptr_t)s) & 3u) == 0) {
        for (; n >= 16u; n -= 16u, d += 16, s += 16) {
            uint32_t a = *(const link__word *)s, b = *(const link__word *)(s + 4);
            uint32_t c = *(const link__word *)(s + 8), e = *(const link__word *)(s + 12);
            *(link__word *)d = a;
            *(link__word *)(d + 4) = b;
            *(link__word *)(d + 8) = c;
            *(link__word *)(d + 12) = e;
        }
        for (; n >= 4u; n -= 4u, d += 4, s += 4)
            *(link__word *)d = *(const link__word *)s;
    }
    while (n--)
        *d++ = *s++;
}

/* The link's copy: by words on the boards, the C library's on the host (which is fast there,
 * and lets the sanitizers see every copy). */
static inline void link_copy(void *dst, const void *src, size_t n)
{
#if defined(__arm__) || defined(__riscv)
    link_copy_words(dst, src, n, LINK_COPY_UNALIGNED);
#else
    __builtin_memcpy(dst, src, n);
#endif
}

#endif
