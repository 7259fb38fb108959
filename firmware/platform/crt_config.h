/*
 * Sizes of TVM's C runtime (CRT) for our emulated boards, read by every CRT source file
 * (they #include "crt_config.h"). TVM generates a default copy when it builds its own CRT
 * (cmake/utils/CRTConfig.cmake in TVM 0.18); ours differs where the boards allow it: they have
 * megabytes of RAM; the packet size, though, is bounded by TVM's host (see below).
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

/* The largest RPC packet. The device allocates a receive buffer of this size, and reports the
 * value to the host (tvm.rpc.server.GetCRTMaxPacketSize), which then cuts every transfer to
 * fit it in BOTH directions: uploads (CopyToRemote) and read-backs (CopyFromRemote), whose
 * reply carries the block plus 15 bytes of headers in one packet. But TVM's host receives
 * into a buffer of its own, fixed when libtvm was built: 2048 bytes in TVM 0.18 (the default
 * of cmake/utils/CRTConfig.cmake, also what TVM's crt template uses). A larger value here made
 * every read-back above 2033 bytes overflow the host's buffer, and TVM's unframer then lost
 * its place: the session timed out or failed "bytes_consumed <= pending_chunk_.size()".
 * So this must not exceed the host's buffer: 2048, TVM 0.18's (a smaller device value is
 * always safe with a larger host buffer). Uploads lose little from it: host-to-device time is
 * set by the UART's byte rate, not by the number of packets. */
#define TVM_CRT_MAX_PACKET_SIZE_BYTES 2048

/* Longest dtype string ("float32", "uint8x4"), function name and parameter name. Function
 * names carry the model name prefix (tvmgen_<model>_fused_...), so allow long ones. */
#define TVM_CRT_MAX_STRLEN_DLTYPE 10
#define TVM_CRT_MAX_STRLEN_FUNCTION_NAME 120
#define TVM_CRT_MAX_STRLEN_PARAM_NAME 80

#endif
