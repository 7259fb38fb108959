/*
 * Monotonic time and deadlines (see mono.h). Every wait in the emulator, the server and the
 * command line is a poll() bounded by one of these.
 */
#include "mono.h"

#include <time.h>

int64_t mono_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t mono_now_ms(void)
{
    return mono_now_ns() / 1000000;
}

double mono_now_s(void)
{
    return (double)mono_now_ns() / 1e9;
}

int64_t mono_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : mono_now_ms() + timeout_ms;
}

int mono_left_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - mono_now_ms();
    return left <= 0 ? 0 : (int)left;
}
