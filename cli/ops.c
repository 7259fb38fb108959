/*
 * The per-operator counts of run --json (see ops.h). Self counts add up to the model's total
 * less what runs outside every instrumented function, so bars of self counts show where the
 * instructions go; inclusive counts are what a user compares per operator.
 */
#include "ops.h"

#include "jsonget.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BAR_WIDTH 30

static double percent(double part, double whole)
{
    return whole > 0 ? round(part * 100.0 / whole * 100) / 100 : 0;
}

cJSON *cli_ops_json(const struct cli_aot_result *r, uint64_t total)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < r->n_ops; i++) {
        const struct cli_aot_op *op = &r->ops[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "name", op->name);
        cJSON_AddNumberToObject(o, "calls", (double)op->calls);
        cJSON_AddNumberToObject(o, "instructions", (double)op->inclusive);
        cJSON_AddNumberToObject(o, "self_instructions", (double)op->self);
        cJSON_AddNumberToObject(o, "self_percent", percent((double)op->self, (double)total));
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

const cJSON *cli_ops_of(const cJSON *run)
{
    const cJSON *ops = cli_json_item(run, "operators");
    return cJSON_IsArray(ops) ? ops : NULL;
}

static const cJSON *find_op(const cJSON *ops, const char *name)
{
    const cJSON *op;
    cJSON_ArrayForEach(op, ops) {
        const cJSON *n = cli_json_item(op, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
            return op;
    }
    return NULL;
}

/* One entry of the comparison; either side may be NULL (an operator that came or went). */
static cJSON *change_of(const char *name, const cJSON *before, const cJSON *after)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    double b = cli_json_num(before, "instructions"), a = cli_json_num(after, "instructions");
    double sb = cli_json_num(before, "self_instructions"), sa = cli_json_num(after, "self_instructions");
    cJSON_AddStringToObject(o, "name", name);
    if (before)
        cJSON_AddNumberToObject(o, "before", b);
    else
        cJSON_AddNullToObject(o, "before");
    if (after)
        cJSON_AddNumberToObject(o, "after", a);
    else
        cJSON_AddNullToObject(o, "after");
    cJSON_AddNumberToObject(o, "change", a - b);
    if (before && b > 0)
        cJSON_AddNumberToObject(o, "change_percent", percent(a - b, b));
    else
        cJSON_AddNullToObject(o, "change_percent");
    cJSON_AddNumberToObject(o, "self_before", sb);
    cJSON_AddNumberToObject(o, "self_after", sa);
    cJSON_AddNumberToObject(o, "self_change", sa - sb);
    return o;
}

static int by_self_change(const void *x, const void *y)
{
    const cJSON *a = *(const cJSON *const *)x, *b = *(const cJSON *const *)y;
    double ca = fabs(cli_json_num(a, "self_change")), cb = fabs(cli_json_num(b, "self_change"));
    double ia = fabs(cli_json_num(a, "change")), ib = fabs(cli_json_num(b, "change"));
    if (ca != cb)
        return ca < cb ? 1 : -1;
    if (ia != ib)
        return ia < ib ? 1 : -1;
    return strcmp(cli_json_item(a, "name")->valuestring, cli_json_item(b, "name")->valuestring);
}

cJSON *cli_ops_compare(const cJSON *baseline, const cJSON *now)
{
    const cJSON *before = cli_ops_of(baseline), *after = cli_ops_of(now), *op;
    size_t n = (size_t)cJSON_GetArraySize(before) + (size_t)cJSON_GetArraySize(after), k = 0;
    cJSON **list = calloc(n ? n : 1, sizeof *list);
    cJSON *out = cJSON_CreateArray();
    if (!list || !out) {
        free(list);
        cJSON_Delete(out);
        return NULL;
    }
    cJSON_ArrayForEach(op, after) {
        const cJSON *name = cli_json_item(op, "name");
        if (cJSON_IsString(name) && k < n)
            list[k++] = change_of(name->valuestring, find_op(before, name->valuestring), op);
    }
    cJSON_ArrayForEach(op, before) {
        const cJSON *name = cli_json_item(op, "name");
        if (cJSON_IsString(name) && !find_op(after, name->valuestring) && k < n)
            list[k++] = change_of(name->valuestring, op, NULL);
    }
    size_t kept = 0;
    for (size_t i = 0; i < k; i++)
        if (list[i])
            list[kept++] = list[i];
    qsort(list, kept, sizeof *list, by_self_change);
    for (size_t i = 0; i < kept; i++)
        cJSON_AddItemToArray(out, list[i]);
    free(list);
    return out;
}

const char *cli_ops_short_name(const char *name, const char *module)
{
    size_t m = module ? strlen(module) : 0;
    if (!strncmp(name, "tvmgen_", 7) && m && !strncmp(name + 7, module, m) && name[7 + m] == '_' &&
        name[8 + m])
        return name + 8 + m;
    return name;
}

static void bar(FILE *f, double part, double whole)
{
    int n = whole > 0 ? (int)lround(part / whole * BAR_WIDTH) : 0;
    if (n == 0 && part > 0)
        n = 1; /* something is there */
    for (int i = 0; i < BAR_WIDTH; i++)
        fputc(i < n ? '#' : '.', f);
}

static int by_self(const void *x, const void *y)
{
    double a = cli_json_num(*(const cJSON *const *)x, "self_instructions");
    double b = cli_json_num(*(const cJSON *const *)y, "self_instructions");
    return a < b ? 1 : a > b ? -1 : 0;
}

void cli_ops_print_top(FILE *f, const cJSON *run, size_t top)
{
    const cJSON *ops = cli_ops_of(run), *op;
    const cJSON *module = cli_json_item(run, "model");
    const char *mod = cJSON_IsString(module) ? module->valuestring : NULL;
    double total = cli_json_num(cli_json_item(run, "stats"), "instructions");
    size_t n = (size_t)cJSON_GetArraySize(ops), k = 0;
    if (!n)
        return;
    const cJSON **list = calloc(n, sizeof *list);
    if (!list)
        return;
    cJSON_ArrayForEach(op, ops) list[k++] = op;
    qsort(list, k, sizeof *list, by_self);
    fprintf(f, "operators     %zu functions of the model, by their own instructions (of %.0f):\n",
            n, total);
    for (size_t i = 0; i < k && i < top; i++) {
        const char *name = cJSON_GetStringValue(cli_json_item(list[i], "name"));
        double self = cli_json_num(list[i], "self_instructions");
        fprintf(f, "  ");
        bar(f, self, total);
        fprintf(f, " %5.1f%% %10.0f  x%-4.0f %s\n", total > 0 ? self * 100 / total : 0, self,
                cli_json_num(list[i], "calls"), cli_ops_short_name(name ? name : "?", mod));
    }
    if (k > top)
        fprintf(f, "  ... %zu more (--json lists them all)\n", k - top);
    free(list);
}

void cli_ops_print_changes(FILE *f, const cJSON *changes, const char *module, size_t top)
{
    const cJSON *c;
    size_t shown = 0, changed = 0;
    cJSON_ArrayForEach(c, changes) {
        if (cli_json_num(c, "change") == 0 && cli_json_num(c, "self_change") == 0 &&
            !cJSON_IsNull(cli_json_item(c, "before")) && !cJSON_IsNull(cli_json_item(c, "after")))
            continue;
        changed++;
        if (shown == top)
            continue;
        if (shown++ == 0)
            fprintf(f, "operators     changed against the baseline (inclusive instructions):\n");
        const char *name = cJSON_GetStringValue(cli_json_item(c, "name"));
        name = cli_ops_short_name(name ? name : "?", module);
        if (cJSON_IsNull(cli_json_item(c, "before")))
            fprintf(f, "  new      %10.0f            %s\n", cli_json_num(c, "after"), name);
        else if (cJSON_IsNull(cli_json_item(c, "after")))
            fprintf(f, "  gone     %10.0f            %s\n", cli_json_num(c, "before"), name);
        else
            fprintf(f, "  %-6s %10.0f -> %-10.0f %+.0f (%+.2f%%; own %+.0f)  %s\n",
                    cli_json_num(c, "change") > 0 ? "grew" : cli_json_num(c, "change") < 0 ? "shrank" : "moved",
                    cli_json_num(c, "before"), cli_json_num(c, "after"), cli_json_num(c, "change"),
                    cli_json_num(c, "change_percent"), cli_json_num(c, "self_change"), name);
    }
    if (changed == 0 && cJSON_GetArraySize(changes) > 0)
        fprintf(f, "operators     none changed against the baseline\n");
    else if (changed > shown)
        fprintf(f, "  ... %zu more (--json lists them all)\n", changed - shown);
}
