/*
 * RISC-V entry. QEMU's virt reset code jumps to the start of RAM (where the linker script puts
 * .text.start) in machine mode, with a0 = hart id and a1 = the device tree near the top of
 * RAM (the machine file's ram region ends below it). Only what C cannot do happens here: park
 * every hart but 0, set gp for linker relaxation, set sp, point traps at the C fault handler.
 */
    .section .text.start, "ax"
    .globl _start
_start:
    csrr    t0, mhartid
    bnez    t0, park
    .option push
    .option norelax             /* gp itself must not be computed relative to gp */
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    la      t0, board__trap
    csrw    mtvec, t0
    tail    board__start
park:
    wfi
    j       park
