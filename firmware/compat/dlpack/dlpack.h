/*
 * Stand-in for DLPack's header, used only when the model's MLF carries no runtime/include
 * (no CRT runtime was asked for). TVM's tvm.micro.testing.utils.create_header_file writes
 * `#include <dlpack/dlpack.h>` at the top of the input_data.h / output_data.h it makes for
 * aot_standalone_demo, yet those headers use only the fixed-width types below. When the MLF
 * has runtime/include, its own dlpack/dlpack.h is found instead.
 */
#ifndef MTQ_COMPAT_DLPACK_H
#define MTQ_COMPAT_DLPACK_H

#include <stddef.h>
#include <stdint.h>

#endif
