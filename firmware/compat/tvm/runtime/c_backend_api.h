/*
 * Our own minimal stand-in for TVM's <tvm/runtime/c_backend_api.h>: the workspace calls that
 * AOT model code makes for intermediate tensors. See c_runtime_api.h beside this file for why it
 * exists; the firmware's workspace arena (firmware/aot/workspace.c) implements both functions.
 */
#ifndef TVM_RUNTIME_C_BACKEND_API_H_
#define TVM_RUNTIME_C_BACKEND_API_H_

#include "c_runtime_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns nbytes of scratch memory, or NULL when the workspace is exhausted (the generated code
 * then returns -1). The dtype hints say what will be stored there; device_type is 1 (CPU). */
TVM_DLL void *TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                                       int dtype_code_hint, int dtype_bits_hint);

/* Gives back memory from TVMBackendAllocWorkspace, newest first; returns 0, or non-zero for a
 * pointer that is not the newest live allocation. */
TVM_DLL int TVMBackendFreeWorkspace(int device_type, int device_id, void *ptr);

#ifdef __cplusplus
}
#endif

#endif
