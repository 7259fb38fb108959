/*
 * Our own minimal stand-in for TVM's <tvm/runtime/c_runtime_api.h>: only what model code that
 * TVM generates for the AOT executor with the C interface (--unpacked-api) refers to. It exists
 * so such a model builds when its Model Library Format carries no runtime/include (no CRT
 * runtime was asked for); when the MLF has runtime/include, TVM's own header is used instead.
 * Written from scratch for interoperability; no text of TVM's headers is copied. The names and
 * signatures are TVM's public C ABI (TVM's include/tvm/runtime/c_runtime_api.h documents them).
 */
#ifndef TVM_RUNTIME_C_RUNTIME_API_H_
#define TVM_RUNTIME_C_RUNTIME_API_H_

#include <stddef.h>
#include <stdint.h>

/* Generated code marks every function TVM_DLL; on a bare-metal static link it means nothing. */
#ifndef TVM_DLL
#define TVM_DLL
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Records the message of the last failure; the firmware reports it after a failed run. */
TVM_DLL void TVMAPISetLastError(const char *msg);

/* Returns the message recorded by TVMAPISetLastError, or "" when none was. */
TVM_DLL const char *TVMGetLastError(void);

#ifdef __cplusplus
}
#endif

#endif
