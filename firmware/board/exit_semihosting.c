/*
 * board_exit() through Arm semihosting: SYS_EXIT_EXTENDED (0x20) with the
 * ADP_Stopped_ApplicationExit reason ends QEMU with any exit code (plain SYS_EXIT only gives
 * 0 or 1). Needs QEMU's -semihosting-config enable=on,target=native (the machine file's args);
 * without it the BKPT faults, the fault handler exits again and the core locks up, which makes
 * QEMU abort: a non-zero end rather than a hang.
 */
#include "board.h"

#include <stdint.h>

#define SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

_Noreturn void board_exit(int code)
{
    uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code};
    register uint32_t r0 __asm__("r0") = SYS_EXIT_EXTENDED;
    register uint32_t *r1 __asm__("r1") = block;
    for (;;)
        __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
}
