/*
 * The C half of start-up, shared by every architecture: what picolibc's crt0.h does, without
 * its crt0 (our reset code owns the vector table and the stack). Then main(), then the one
 * exit path, so a main() that returns still ends QEMU with its code (QEMU_NOTES.md).
 */
#include "board.h"
#include "internal.h"

#include <string.h>

#ifdef BOARD_LIBC_PICOLIBC
#include <picotls.h>
#endif

int main(void);

_Noreturn void board__start(void)
{
    board__arch_init();
    /* .data's initial values sit in flash (the LMA); copy them to RAM. On RISC-V both are
     * RAM, and the copy is what lets system_reset restart from pristine values. */
    memcpy(__data_start, __data_load, (size_t)(__data_end - __data_start));
    memset(__bss_start, 0, (size_t)(__bss_end - __bss_start));
#ifdef BOARD_LIBC_PICOLIBC
    /* picolibc keeps errno and friends in thread-local storage. With one thread the linker
     * script lays .tdata/.tbss out in RAM as the TLS block itself (copied and zeroed above),
     * so pointing the thread pointer at it is all that is left. */
    _set_tls(__tls_base);
#endif
    for (board__init_fn *f = __init_array_start; f < __init_array_end; f++)
        (*f)();
    board_exit(main());
}
