/*
 * What the application knows about the model: its tensors and how to run it. The firmware does
 * not know tensor names at compile time of its own sources, so the CMake fragment generates the
 * implementation (aot_model.c in the build directory) from the MLF's metadata.json: one static
 * buffer per tensor and a call of tvmgen_<module>_run with the structs filled. The app is thus
 * the same for every model.
 */
#ifndef MTQ_AOT_MODEL_H
#define MTQ_AOT_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct aot_tensor {
    const char *name;   /* as in metadata.json (may contain ':') */
    const char *dtype;  /* TVM's dtype string: "int8", "uint8", "float32", ... */
    size_t size;        /* bytes */
    void *data;         /* a static buffer of size bytes, 16-byte aligned */
};

/* The module name from metadata.json ("default" for TVM's default). */
extern const char aot_model_name[];
/* Workspace bytes metadata.json asks for (TVM's own figure, without allocator overhead). */
extern const size_t aot_model_workspace_bytes;

/* Inputs and outputs in metadata order; each array ends with an entry whose name is NULL. */
extern const struct aot_tensor aot_model_inputs[];
extern const size_t aot_model_num_inputs;
extern const struct aot_tensor aot_model_outputs[];
extern const size_t aot_model_num_outputs;

/* Sets every input to its default: the bytes of include/mtq_default_input.h when the project
 * has one, else zeros. */
void aot_model_load_defaults(void);

/* Runs the model once on the current inputs (tvmgen_<module>_run); returns its status, 0 = ok. */
int32_t aot_model_run(void);

#endif
