/*
 * The LIFO workspace allocator (arena.h). Each block is preceded by a small header that remembers
 * the arena's top and newest block before it, so a free restores both and a free of anything but
 * the newest block is caught instead of corrupting the stack.
 */
#include "arena.h"

struct header {
    size_t prev_top;
    void *prev_newest;
};

_Static_assert(sizeof(struct header) <= AOT_ARENA_HEADER, "arena header does not fit");

void aot_arena_init(struct aot_arena *a, void *mem, size_t size)
{
    uintptr_t start = (uintptr_t)mem;
    uintptr_t aligned = (start + (AOT_ARENA_ALIGN - 1)) & ~(uintptr_t)(AOT_ARENA_ALIGN - 1);
    a->base = aligned;
    a->size = size > aligned - start ? size - (aligned - start) : 0;
    aot_arena_reset(a);
}

void aot_arena_reset(struct aot_arena *a)
{
    a->top = 0;
    a->peak = 0;
    a->newest = NULL;
    a->live = 0;
    a->failed = 0;
}

void *aot_arena_alloc(struct aot_arena *a, uint64_t n)
{
    /* Offsets from base (which is aligned), so the header lands on an aligned address too. */
    size_t payload = (a->top + AOT_ARENA_HEADER + (AOT_ARENA_ALIGN - 1)) &
                     ~(size_t)(AOT_ARENA_ALIGN - 1);
    if (payload > a->size || n > (uint64_t)(a->size - payload)) {
        a->failed = n ? n : 1;
        return NULL;
    }
    void *p = (void *)(a->base + payload);
    struct header *h = (struct header *)(a->base + payload - AOT_ARENA_HEADER);
    h->prev_top = a->top;
    h->prev_newest = a->newest;
    a->top = payload + (size_t)n;
    if (a->top > a->peak)
        a->peak = a->top;
    a->newest = p;
    a->live++;
    return p;
}

int aot_arena_free(struct aot_arena *a, void *p)
{
    if (p == NULL || p != a->newest)
        return -1;
    const struct header *h = (const struct header *)((uintptr_t)p - AOT_ARENA_HEADER);
    a->top = h->prev_top;
    a->newest = h->prev_newest;
    a->live--;
    return 0;
}
