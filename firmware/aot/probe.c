/*
 * The calibration probe of opcount.c: one empty function compiled with -finstrument-functions
 * (cmake/aot_standalone.cmake instruments this file like the model's), and its twin without
 * the hooks. A call of each, measured, tells what one instrumented call costs beyond a plain one.
 */
#include "probe.h"

__attribute__((noinline)) void aot_probe(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline, no_instrument_function)) void aot_probe_plain(void)
{
    __asm__ volatile("" ::: "memory");
}
