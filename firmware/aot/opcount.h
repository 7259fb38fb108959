/*
 * Per-operator instruction counts for aot_standalone: the model's generated sources are compiled
 * with -finstrument-functions (cmake/aot_standalone.cmake, MTQ_OPERATOR_COUNTS), so every
 * function in them calls the hooks in opcount.c on entry and exit. The hooks count calls and
 * inclusive and self instructions per function, and keep their own instructions out of every
 * count: what they spend is measured (board_instret around their work) plus a fixed part
 * calibrated once against a function compiled both ways (probe.c). Without instrumentation
 * (the host reference, MTQ_OPERATOR_COUNTS=OFF) no hook runs and the table stays empty.
 */
#ifndef MTQ_AOT_OPCOUNT_H
#define MTQ_AOT_OPCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct aot_op {
    const char *name;   /* from the generated name table, or NULL (then only fn is known) */
    const void *fn;     /* the function's address */
    uint64_t calls;
    uint64_t inclusive; /* instructions from its entry to its return, callees included */
    uint64_t self;      /* the same less what its instrumented callees count */
};

/* Measures the hooks' fixed cost (call once at start-up, before any run). */
void aot_ops_calibrate(void);

/* Empties the table and zeroes the hidden count: call just before a run. */
void aot_ops_reset(void);

/* Instructions the hooks spent since aot_ops_reset: subtract from a run's total. */
uint64_t aot_ops_hidden(void);

/* The table in first-call order; *n entries. *lost counts calls that did not fit (the table
 * or the call depth was full): their instructions are in their callers' self counts. */
const struct aot_op *aot_ops_table(size_t *n, uint64_t *lost);

/* The generated name table (aot_model.c): functions of the model's sources by address. */
struct aot_op_name {
    const void *fn;
    const char *name;
};
extern const struct aot_op_name aot_op_names[];
extern const size_t aot_op_num_names;

#endif
