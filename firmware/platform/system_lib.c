/*
 * An empty system library, used only when no model is linked: the CRT refers to
 * TVMSystemLibEntryPoint (tvm/runtime/crt/module.h), which the model code TVM generates for
 * the CRT defines. Weak, so a model's definition replaces it; without a model the firmware
 * still links, and the host can open a session and find no functions in "runtime.SystemLib".
 */
#include <tvm/runtime/crt/module.h>

/* The registry's names blob: a u16 function count (0) and the terminating NUL. */
static const char no_names[3] = {0, 0, 0};
static const TVMFuncRegistry no_functions = {no_names, NULL};
static const TVMModule empty_system_lib = {&no_functions};

__attribute__((weak)) const TVMModule *TVMSystemLibEntryPoint(void)
{
    return &empty_system_lib;
}
