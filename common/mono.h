/*
 * Monotonic time (CLOCK_MONOTONIC) and the deadlines every blocking call is bounded by, so a
 * wait survives wall-clock changes and a stuck peer costs a timeout, never a hang. Timeouts are
 * in milliseconds (a negative one waits forever) unless a name says seconds.
 */
#ifndef MTQ_MONO_H
#define MTQ_MONO_H

#include <stdint.h>

/* Now, in nanoseconds of CLOCK_MONOTONIC. */
int64_t mono_now_ns(void);

/* Now, in milliseconds of CLOCK_MONOTONIC. */
int64_t mono_now_ms(void);

/* Now, in seconds of CLOCK_MONOTONIC (for wall times and deadlines kept as doubles). */
double mono_now_s(void);

/* The deadline (mono_now_ms time) for a timeout that starts now; a negative timeout gives -1
 * (never). */
int64_t mono_deadline(int timeout_ms);

/* Milliseconds left until deadline, as a poll() timeout: -1 for never, 0 once passed. */
int mono_left_ms(int64_t deadline);

#endif
