/*
 * Sizes of TVM's C runtime (CRT) for our emulated boards, read by every CRT source file
 * (they #include "crt_config.h"). TVM generates a default copy when it builds its own CRT
 * (cmake/utils/CRTConfig.cmake in TVM 0.18); ours differs where the boards allow it: they have
 * megabytes of RAM, and host-to-device UART traffic is the slow part (QEMU_NOTES.md), so fewer,
 * larger packets are worth a few KiB of heap.
 */
#ifndef MTQ_CRT_CONFIG_H
#define MTQ_CRT_CONFIG_H

/* Errors only: each log line is an RPC packet on the UART, which would slow time_evaluator
 * loops and show up between measurements. */
#define TVM_CRT_LOG_LEVEL 0 /* TVM_CRT_LOG_LEVEL_ERROR in tvm/runtime/crt/logging.h */

/* No extra graph-executor tracing (it prints with printf, which has no host reader here). */
#define TVM_CRT_DEBUG 0

/* Tensors of up to 6 dimensions, as TVM's default: covers NCHWc layouts. Each NDArray
 * reserves this many int64 for its shape. */
#define TVM_CRT_MAX_NDIM 6

/* Arguments of a generated function (the AOT executor checks it). Fused operators with many
 * inputs (concatenations) exceed TVM's default of 10; 20 costs nothing until used. */
#define TVM_CRT_MAX_ARGS 20

/* The registry of global functions: the CRT registers about seven names (system lib, module
 * lookup, time evaluator, max packet size, random fill, graph and AOT executor create), some
 * 210 bytes of names plus a pointer each; 1 KiB leaves room for functions firmware adds. */
#define TVM_CRT_GLOBAL_FUNC_REGISTRY_SIZE_BYTES 1024

/* Module handles live at once: the system lib plus one per executor the host creates (graph,
 * AOT, and a re-created one during AutoTVM). */
#define TVM_CRT_MAX_REGISTERED_MODULES 4

/* The largest RPC packet, and the receive buffer the RPC server allocates from our heap. The
 * host asks the device for it (tvm.rpc.server.GetCRTMaxPacketSize) and splits tensor uploads
 * to fit, so a bigger packet means fewer round trips over the slow host-to-device direction.
 * 8 KiB is what TVM chose for its Arduino boards; ours have far more RAM. */
#define TVM_CRT_MAX_PACKET_SIZE_BYTES 8192

/* Longest dtype string ("float32", "uint8x4"), function name and parameter name. Function
 * names carry the model name prefix (tvmgen_<model>_fused_...), so allow long ones. */
#define TVM_CRT_MAX_STRLEN_DLTYPE 10
#define TVM_CRT_MAX_STRLEN_FUNCTION_NAME 120
#define TVM_CRT_MAX_STRLEN_PARAM_NAME 80

#endif
