/*
 * Two empty functions, alike but for the instrumentation hooks (probe.c), for opcount.c's
 * calibration.
 */
#ifndef MTQ_AOT_PROBE_H
#define MTQ_AOT_PROBE_H

void aot_probe(void);       /* instrumented like the model's functions */
void aot_probe_plain(void); /* never instrumented */

#endif
