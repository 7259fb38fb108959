/*
 * The platform functions TVM's C runtime asks of a board (tvm/runtime/crt/platform.h in
 * TVM 0.18), on top of the board layer (board.h): abort, message formatting, a heap, a timer
 * that counts instructions (one per nanosecond), and random bytes that change at every reset.
 *
 * The heap is a first-fit free list over one static array of MTQ_WORKSPACE_BYTES (the
 * workspace_size_bytes option). Host-driven TVM allocates and frees all the time (every tensor
 * the host creates on the device, the RPC server's buffers, AutoTVM's repeated runs), so a
 * bump arena would run out; the CRT's own page allocator would tie this file to the CRT's
 * sources, while this one also serves the fake CRT (tests/fixtures/fake_crt) unchanged.
 * Blocks are 16-byte aligned, as TVM's Zephyr template (k_heap, 8 bytes) shows suffices.
 */
#include "board.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <tvm/runtime/crt/error_codes.h>
#include <tvm/runtime/crt/platform.h>

#ifndef MTQ_WORKSPACE_BYTES
#error "MTQ_WORKSPACE_BYTES is not set: firmware/cmake/host_driven.cmake defines it"
#endif

/* Exit code of a firmware that gave up because TVM's runtime called TVMPlatformAbort. */
#define PLATFORM_ABORT_EXIT_CODE 3

#define HEAP_ALIGN 16u
#define HEAP_USED 1u /* low bit of a block's size: the block is allocated */

/* A block: this header, then the caller's bytes. size counts both, a multiple of HEAP_ALIGN. */
struct block {
    size_t size;
    size_t magic; /* catches frees of pointers that never came from here */
} __attribute__((aligned(HEAP_ALIGN)));

#define HEAP_MAGIC ((size_t)0x7c3a5e91u)

static uint8_t heap[(MTQ_WORKSPACE_BYTES + HEAP_ALIGN - 1) / HEAP_ALIGN * HEAP_ALIGN]
    __attribute__((aligned(HEAP_ALIGN)));
static int heap_ready;

static uint64_t timer_start_insns;
static int timer_running;

static uint64_t random_state;
static int random_seeded;

static struct block *block_at(size_t offset)
{
    return (struct block *)(void *)(heap + offset);
}

static void heap_init(void)
{
    struct block *b = block_at(0);
    b->size = sizeof(heap);
    b->magic = HEAP_MAGIC;
    heap_ready = 1;
}

void __attribute__((noreturn)) TVMPlatformAbort(tvm_crt_error_t code)
{
    char line[64];
    /* plain text outside any RPC packet: the host's unframer skips it, a person reads it */
    int n = snprintf(line, sizeof(line), "\n#microtvm-qemu:abort:tvm-error:0x%08x\n",
                     (unsigned)code);
    uart_write(line, (size_t)n);
    board_exit(PLATFORM_ABORT_EXIT_CODE);
}

/* A failed assert() in the CRT (it has two) lands here, in place of the C library's version,
 * which calls abort() and with it raise(), kill() and getpid() that a bare-metal board has
 * not got. Same line format and exit as TVMPlatformAbort. */
void __assert_func(const char *file, int line, const char *func, const char *expr)
{
    char text[160];
    int n = snprintf(text, sizeof(text), "\n#microtvm-qemu:abort:assert:%s:%d:%s: %s\n", file,
                     line, func ? func : "", expr);
    uart_write(text, n < (int)sizeof(text) ? (size_t)n : sizeof(text) - 1);
    board_exit(PLATFORM_ABORT_EXIT_CODE);
}

size_t TVMPlatformFormatMessage(char *out_buf, size_t out_buf_size_bytes, const char *fmt,
                                va_list args)
{
    if (out_buf_size_bytes == 0)
        return 0;
    int n = vsnprintf(out_buf, out_buf_size_bytes, fmt, args);
    if (n < 0)
        return 0;
    /* vsnprintf returns the untruncated length; the CRT's TVMLogf indexes the buffer with the
     * result, so report only what is really there */
    return (size_t)n < out_buf_size_bytes ? (size_t)n : out_buf_size_bytes - 1;
}

tvm_crt_error_t TVMPlatformMemoryAllocate(size_t num_bytes, DLDevice dev, void **out_ptr)
{
    (void)dev;
    if (!heap_ready)
        heap_init();
    if (num_bytes > sizeof(heap))
        return kTvmErrorPlatformNoMemory;
    size_t need = sizeof(struct block) + (num_bytes + HEAP_ALIGN - 1) / HEAP_ALIGN * HEAP_ALIGN;
    for (size_t at = 0; at < sizeof(heap);) {
        struct block *b = block_at(at);
        if (!(b->size & HEAP_USED)) {
            /* merge the free blocks that follow: frees only mark, merging happens here */
            while (at + b->size < sizeof(heap) && !(block_at(at + b->size)->size & HEAP_USED))
                b->size += block_at(at + b->size)->size;
            if (b->size >= need) {
                if (b->size - need >= 2 * sizeof(struct block)) {
                    struct block *rest = block_at(at + need);
                    rest->size = b->size - need;
                    rest->magic = HEAP_MAGIC;
                    b->size = need;
                }
                b->size |= HEAP_USED;
                *out_ptr = b + 1;
                return kTvmErrorNoError;
            }
        }
        at += b->size & ~(size_t)HEAP_USED;
    }
    return kTvmErrorPlatformNoMemory;
}

tvm_crt_error_t TVMPlatformMemoryFree(void *ptr, DLDevice dev)
{
    (void)dev;
    if (ptr == NULL)
        return kTvmErrorNoError;
    uint8_t *p = ptr;
    struct block *b = (struct block *)ptr - 1;
    if (p < heap + sizeof(struct block) || p >= heap + sizeof(heap) ||
        (size_t)(p - heap) % HEAP_ALIGN != 0 || b->magic != HEAP_MAGIC || !(b->size & HEAP_USED))
        return kTvmErrorPlatformCheckFailure; /* not ours, or freed twice */
    b->size &= ~(size_t)HEAP_USED;
    return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStart(void)
{
    if (timer_running)
        return kTvmErrorPlatformTimerBadState;
    timer_running = 1;
    /* at a fixed phase of the board's clock: RISC-V's minstret needs none, but the Cortex-M
     * count comes from the timer, which timer_align restarts (board.h) */
    timer_align();
    timer_start_insns = board_instret();
    return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformTimerStop(double *elapsed_time_seconds)
{
    uint64_t now = board_instret();
    if (!timer_running)
        return kTvmErrorPlatformTimerBadState;
    timer_running = 0;
    /* One nanosecond per instruction retired, on every board: in deterministic mode the count
     * is exact (board.h), so time_evaluator gives the same result on every run and host, and
     * seconds * 1e9 is the instruction count (docs/RESULTS.md "host_driven"). Board time would
     * differ per board (64 ns per instruction on the MPS2 boards, 1 ns on RISC-V). */
    *elapsed_time_seconds = (double)(now - timer_start_insns) * 1e-9;
    return kTvmErrorNoError;
}

/* Nothing to settle before or after a measurement: no caches or clocks to reset under QEMU.
 * Defined so that the CRT's weak defaults are not silently what runs. */
tvm_crt_error_t TVMPlatformBeforeMeasurement(void)
{
    return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformAfterMeasurement(void)
{
    return kTvmErrorNoError;
}

/* splitmix64: one 64-bit state, every output bit depends on the seed. Not cryptographic, and
 * platform.h says it need not be; what matters is that the seed, board_entropy(), differs at
 * every boot and reset, so the RPC session nonce does too. */
static uint64_t random_next(void)
{
    uint64_t z = (random_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

tvm_crt_error_t TVMPlatformGenerateRandom(uint8_t *buffer, size_t num_bytes)
{
    if (!random_seeded) {
        random_state = board_entropy();
        random_seeded = 1;
    }
    for (size_t i = 0; i < num_bytes; i += 8) {
        uint64_t r = random_next();
        size_t n = num_bytes - i < 8 ? num_bytes - i : 8;
        memcpy(buffer + i, &r, n);
    }
    return kTvmErrorNoError;
}

tvm_crt_error_t TVMPlatformInitialize(void)
{
    if (!heap_ready)
        heap_init();
    timer_running = 0;
    return kTvmErrorNoError;
}
