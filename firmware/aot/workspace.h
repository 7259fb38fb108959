/*
 * The firmware's one workspace arena, MTQ_WORKSPACE_BYTES large (set by the CMake fragment from
 * the project's workspace_size_bytes), behind TVM's TVMBackendAllocWorkspace and
 * TVMBackendFreeWorkspace, plus what a run needs to report when the model ran out of it.
 */
#ifndef MTQ_AOT_WORKSPACE_H
#define MTQ_AOT_WORKSPACE_H

#include <stddef.h>
#include <stdint.h>

/* Empties the arena and clears the last error message; called before every run. */
void aot_workspace_reset(void);

/* Usable bytes in the arena. */
size_t aot_workspace_size(void);

/* Most bytes in use at once since the last reset (headers and alignment included). */
size_t aot_workspace_peak(void);

/* Size of the last request that did not fit since the last reset, or 0. */
uint64_t aot_workspace_failed_request(void);

/* Live blocks: 0 after a run that freed what it allocated. */
size_t aot_workspace_live(void);

#endif
