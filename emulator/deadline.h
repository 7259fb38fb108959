/*
 * Deadlines for the emulator's blocking calls (deadline.c), shared by its own files, not part of
 * its API. Time is CLOCK_MONOTONIC in milliseconds, so deadlines survive wall-clock changes.
 */
#ifndef MTQ_EMULATOR_DEADLINE_H
#define MTQ_EMULATOR_DEADLINE_H

#include <stdint.h>

/* Now, in milliseconds of CLOCK_MONOTONIC. */
int64_t emu__now_ms(void);

/* The deadline for a timeout that starts now; a negative timeout gives -1 (never). */
int64_t emu__deadline(int timeout_ms);

/* Milliseconds left until deadline, as a poll() timeout: -1 for never, 0 once passed. */
int emu__left_ms(int64_t deadline);

#endif
