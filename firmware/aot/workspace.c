/*
 * TVM's workspace and error calls for AOT model code, on one static arena (arena.h). Sized by
 * MTQ_WORKSPACE_BYTES at compile time: the firmware has no heap it could grow into, and a
 * request that does not fit returns NULL (the generated code then returns -1) and is recorded,
 * so the run reports how much was asked for instead of failing opaquely.
 */
#include "workspace.h"

#include "arena.h"
#include "tvm/runtime/c_backend_api.h"
#include "tvm/runtime/c_runtime_api.h"

#ifndef MTQ_WORKSPACE_BYTES
#error "MTQ_WORKSPACE_BYTES is not set: firmware/cmake/aot_standalone.cmake defines it"
#endif

/* Room for the blocks' alignment to start with (aot_arena_init aligns base). */
static uint8_t memory[(MTQ_WORKSPACE_BYTES) + AOT_ARENA_ALIGN];
static struct aot_arena arena;
static int arena_ready;
/* A copy, as TVM's own runtime keeps one: the caller's string may not outlive the call. */
static char last_error[96];

static struct aot_arena *get_arena(void)
{
    if (!arena_ready) {
        aot_arena_init(&arena, memory, MTQ_WORKSPACE_BYTES);
        arena_ready = 1;
    }
    return &arena;
}

void aot_workspace_reset(void)
{
    aot_arena_reset(get_arena());
    last_error[0] = '\0';
}

size_t aot_workspace_size(void)
{
    return get_arena()->size;
}

size_t aot_workspace_peak(void)
{
    return get_arena()->peak;
}

uint64_t aot_workspace_failed_request(void)
{
    return get_arena()->failed;
}

size_t aot_workspace_live(void)
{
    return get_arena()->live;
}

void *TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint)
{
    (void)device_type, (void)device_id, (void)dtype_code_hint, (void)dtype_bits_hint;
    void *p = aot_arena_alloc(get_arena(), nbytes);
    if (p == NULL)
        TVMAPISetLastError("workspace exhausted");
    return p;
}

int TVMBackendFreeWorkspace(int device_type, int device_id, void *ptr)
{
    (void)device_type, (void)device_id;
    if (aot_arena_free(get_arena(), ptr) != 0) {
        TVMAPISetLastError("workspace freed out of order (not the newest block)");
        return -1;
    }
    return 0;
}

void TVMAPISetLastError(const char *msg)
{
    size_t i = 0;
    for (; msg != NULL && msg[i] != '\0' && i < sizeof(last_error) - 1; i++)
        last_error[i] = msg[i];
    last_error[i] = '\0';
}

const char *TVMGetLastError(void)
{
    return last_error;
}
