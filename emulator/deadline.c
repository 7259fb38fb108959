/*
 * Deadlines for the emulator's blocking calls (deadline.h). Every wait in emu.c and qmp.c
 * is a poll() bounded by one of these, so a stuck QEMU costs a timeout, never a hang.
 */
#include "deadline.h"

#include <time.h>

int64_t emu__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t emu__deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : emu__now_ms() + timeout_ms;
}

int emu__left_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - emu__now_ms();
    return left <= 0 ? 0 : (int)left;
}
