/*
 * A LIFO (stack) allocator over one caller-owned block of memory: what TVM's AOT model code needs
 * for its intermediate tensors, which it frees newest first (TVM's own CRT stack allocator has
 * the same rule). No heap, constant time, and the peak use is recorded so a run can report how
 * much workspace the model really needed.
 */
#ifndef MTQ_AOT_ARENA_H
#define MTQ_AOT_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* Every block starts at a multiple of this; 16 covers every scalar and SIMD type on our boards. */
#define AOT_ARENA_ALIGN 16u
/* Bytes of bookkeeping in front of each block (the previous top and the previous newest block). */
#define AOT_ARENA_HEADER 16u

/* Caller-owned; all fields are private to arena.c except for reading them in tests. */
struct aot_arena {
    uintptr_t base;      /* first usable byte */
    size_t size;         /* usable bytes from base */
    size_t top;          /* bytes in use (offset of the first free byte) */
    size_t peak;         /* largest top seen since init or the last reset */
    void *newest;        /* the newest live block, or NULL */
    size_t live;         /* number of live blocks */
    uint64_t failed;     /* size of the last request that did not fit, or 0 */
};

/* Makes an empty arena over [mem, mem + size). mem need not be aligned. */
void aot_arena_init(struct aot_arena *a, void *mem, size_t size);

/* Returns n bytes aligned to AOT_ARENA_ALIGN, or NULL when they do not fit (then records n in
 * a->failed); n == 0 still returns a distinct block. Worst-case cost of a block:
 * n + AOT_ARENA_HEADER + AOT_ARENA_ALIGN - 1 bytes. */
void *aot_arena_alloc(struct aot_arena *a, uint64_t n);

/* Frees p, which must be the newest live block: returns 0, or -1 (nothing changes) when p is
 * NULL, not from this arena, or not the newest. */
int aot_arena_free(struct aot_arena *a, void *p);

/* Forgets every block (after a run that failed half-way and freed nothing) and the peak and
 * failure records. */
void aot_arena_reset(struct aot_arena *a);

#endif
