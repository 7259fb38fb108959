/*
 * The -finstrument-functions hooks behind opcount.h. Each hook reads the instruction counter
 * first and last thing (a, b) and adds b - a, plus the calibrated fixed cost of a call's hooks,
 * to `hidden`; every count is taken on the corrected clock (counter - hidden), so the hooks'
 * own work is in no count. What stays is what instrumentation changes inside the functions
 * themselves (saving arguments around the hook calls): bench/bench_opcount.c measures it.
 * The model runs on one thread with no interrupts, so plain statics suffice.
 */
#include "opcount.h"

#include "board.h"
#include "probe.h"

#include <stdbool.h>
#include <string.h>

#define OPS_MAX 128  /* distinct functions; TVM's fused operators per model are far fewer */
#define DEPTH_MAX 32 /* AOT code nests two or three deep: run -> main -> operator */

struct frame {
    size_t op;         /* index in ops, or OPS_MAX when the table was full */
    uint64_t start;    /* corrected clock at entry */
    uint64_t children; /* inclusive counts of its instrumented callees */
};

static struct aot_op ops[OPS_MAX];
static size_t n_ops;
static struct frame stack[DEPTH_MAX];
static size_t depth;
static uint64_t hidden, lost;
static uint64_t fixed;  /* one call's hook instructions outside the measured parts */
static uint64_t inside; /* of the hooks' instructions, those inside the function's own window */

#define NO_HOOK __attribute__((no_instrument_function))

NO_HOOK static size_t op_index(const void *fn)
{
    for (size_t i = 0; i < n_ops; i++)
        if (ops[i].fn == fn)
            return i;
    if (n_ops == OPS_MAX)
        return OPS_MAX;
    memset(&ops[n_ops], 0, sizeof ops[n_ops]);
    ops[n_ops].fn = fn;
    return n_ops++;
}

NO_HOOK void __cyg_profile_func_enter(void *fn, void *call_site);
NO_HOOK void __cyg_profile_func_exit(void *fn, void *call_site);

NO_HOOK void __cyg_profile_func_enter(void *fn, void *call_site)
{
    uint64_t a = board_instret();
    (void)call_site;
    if (depth < DEPTH_MAX) {
        stack[depth].op = op_index(fn);
        stack[depth].start = a - hidden;
        stack[depth].children = 0;
    }
    depth++;
    uint64_t b = board_instret();
    hidden += b - a;
}

NO_HOOK void __cyg_profile_func_exit(void *fn, void *call_site)
{
    uint64_t a = board_instret();
    (void)fn;
    (void)call_site;
    if (depth > 0)
        depth--;
    if (depth < DEPTH_MAX) {
        struct frame *f = &stack[depth];
        uint64_t window = (a - hidden) - f->start;
        uint64_t incl = window > inside ? window - inside : 0;
        if (f->op < OPS_MAX) {
            struct aot_op *op = &ops[f->op];
            op->calls++;
            op->inclusive += incl;
            op->self += incl > f->children ? incl - f->children : 0;
        } else {
            lost++;
        }
        if (depth > 0)
            stack[depth - 1].children += incl;
    } else {
        lost++;
    }
    uint64_t b = board_instret();
    hidden += b - a + fixed;
}

void aot_ops_reset(void)
{
    n_ops = 0;
    depth = 0;
    hidden = 0;
    lost = 0;
}

uint64_t aot_ops_hidden(void)
{
    return hidden;
}

/* Instructions of one call of f, less what the hooks hid. */
static uint64_t measure(void (*f)(void))
{
    aot_ops_reset();
    timer_align();
    uint64_t i0 = board_instret();
    f();
    uint64_t i1 = board_instret();
    return i1 - i0 - hidden;
}

/* The empty probe costs its plain twin's instructions plus `fixed` per call; once that is
 * known, what a second call still counts inside its window is `inside`. Without hooks (the
 * host reference) both come out 0. */
void aot_ops_calibrate(void)
{
    fixed = inside = 0;
    uint64_t plain = measure(aot_probe_plain);
    uint64_t hooked = measure(aot_probe);
    fixed = hooked > plain ? hooked - plain : 0;
    (void)measure(aot_probe);
    inside = n_ops > 0 && ops[0].calls == 1 ? ops[0].inclusive : 0;
    aot_ops_reset();
}

const struct aot_op *aot_ops_table(size_t *n, uint64_t *lost_calls)
{
    for (size_t i = 0; i < n_ops; i++) {
        ops[i].name = NULL;
        for (size_t k = 0; k < aot_op_num_names; k++)
            if (aot_op_names[k].fn == ops[i].fn)
                ops[i].name = aot_op_names[k].name;
    }
    *n = n_ops;
    *lost_calls = lost;
    return ops;
}
