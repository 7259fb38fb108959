/*
 * What g++ expects a C++ library to supply, for TVM's CRT on boards without one (see
 * cxx/README.md): the RPC server creates two objects with plain `new` at start-up, and abstract
 * classes need __cxa_pure_virtual. Memory comes from the same heap as everything else TVM
 * allocates; running out is fatal, since the CRT is built without exceptions.
 */
#include <stddef.h>

#include <tvm/runtime/crt/platform.h>

static void *allocate(size_t n)
{
    void *p = nullptr;
    DLDevice cpu = {kDLCPU, 0};
    if (TVMPlatformMemoryAllocate(n ? n : 1, cpu, &p) != kTvmErrorNoError)
        TVMPlatformAbort(kTvmErrorPlatformNoMemory);
    return p;
}

static void release(void *p)
{
    DLDevice cpu = {kDLCPU, 0};
    if (p != nullptr)
        TVMPlatformMemoryFree(p, cpu);
}

void *operator new(size_t n) { return allocate(n); }
void *operator new[](size_t n) { return allocate(n); }
void operator delete(void *p) noexcept { release(p); }
void operator delete[](void *p) noexcept { release(p); }
void operator delete(void *p, size_t) noexcept { release(p); }
void operator delete[](void *p, size_t) noexcept { release(p); }

/* Called if a pure virtual function is ever reached through a half-built object: a bug. */
extern "C" void __cxa_pure_virtual(void) { TVMPlatformAbort(kTvmErrorPlatformCheckFailure); }
