/*
 * `run`: runs an aot_standalone project's model on its emulated board and reports the
 * outputs and the exact virtual time, as text or as one JSON object (docs/RESULTS.md lists
 * its fields). With --baseline it compares the count (instructions where the board counts
 * them, else timer ticks) with an earlier run's and can fail CI on a regression (exit 3).
 * Everything happens through the project's server: flash when needed, open_transport, the
 * line protocol over read/write_transport, close_transport.
 */
#include "baseline.h"
#include "elfsize.h"
#include "ops.h"
#include "report.h"
#include "fs.h"
#include "internal.h"
#include "log.h"
#include "mono.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_SEC 120.0
#define TEXT_VALUES_MAX 32 /* values per output in the text report; --json has them all */
#define TEXT_OPS_MAX 8      /* operators in the text report */

static const struct cli_opt run_opts[] = {
    {"input", 'i', "NAME=FILE", true, "an input's raw bytes; FILE alone: the next input not "
     "named"},
    {"json", 0, NULL, false, "print one JSON object (fields: docs/RESULTS.md)"},
    {"timeout", 0, "SEC", false, "bound the whole run (default 120)"},
    {"baseline", 0, "FILE", false, "compare the count with an earlier 'run --json' output"},
    {"max-regression", 0, "PCT", false, "with --baseline: exit 3 when the count grew by more "
     "than PCT percent"},
    {"report", 0, "FILE", false, "write a self-contained HTML page of the per-operator "
     "counts (against --baseline too)"},
    {"option", 'o', "NAME=VALUE", true, "a project option for flash and open_transport"},
};

/* One --input: the file's bytes and which input they are for (resolved after info%). */
struct input_arg {
    const char *text;  /* as given */
    const char *name;  /* NAME of NAME=FILE (points into name_buf), or NULL */
    char name_buf[CLI_AOT_NAME_MAX];
    const char *path;  /* the file */
    char *data;
    size_t len;
    long index;        /* the tensor, once resolved */
};

/* Reads the --input files: "NAME=FILE" when the text has a '=' and the part after it names a
 * file; else the whole text is a file. Which tensor a name means is decided after info%. */
static int read_inputs(struct input_arg *in, size_t n, struct err *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(in[i].text, '=');
        in[i].path = in[i].text;
        in[i].index = -1;
        if (eq && eq != in[i].text && fs_exists(eq + 1) && !fs_exists(in[i].text) &&
            (size_t)(eq - in[i].text) < sizeof in[i].name_buf) {
            snprintf(in[i].name_buf, sizeof in[i].name_buf, "%.*s", (int)(eq - in[i].text),
                     in[i].text);
            in[i].name = in[i].name_buf;
            in[i].path = eq + 1;
        }
        if (!fs_exists(in[i].path))
            return err_set(err, ERR_INVALID, "--input %s: no such file; give NAME=FILE or FILE "
                           "(the tensor's raw bytes)", in[i].text);
        if (fs_is_dir(in[i].path))
            return err_set(err, ERR_INVALID, "--input %s: a directory; give a file of the "
                           "tensor's raw bytes", in[i].text);
        if (fs_read_file(in[i].path, 1u << 30, &in[i].data, &in[i].len, err) < 0)
            return err_prefix(err, "--input %s", in[i].text);
    }
    return 0;
}

/* Assigns each --input to a tensor: named ones by name, the rest in index order. */
static int resolve_inputs(struct input_arg *in, size_t n, const struct cli_aot_model *m,
                          struct err *err)
{
    bool taken[CLI_AOT_MAX_TENSORS] = {false};
    for (size_t i = 0; i < n; i++) {
        if (!in[i].name)
            continue;
        for (size_t k = 0; k < m->n_inputs; k++)
            if (!strcmp(m->inputs[k].name, in[i].name))
                in[i].index = (long)k;
        if (in[i].index < 0) {
            char names[512] = "";
            size_t used = 0;
            for (size_t k = 0; k < m->n_inputs && used < sizeof names; k++)
                used += (size_t)snprintf(names + used, sizeof names - used, "%s'%s'",
                                         k ? ", " : "", m->inputs[k].name);
            return err_set(err, ERR_INVALID, "--input %s: the model has no input '%s'; its "
                           "inputs: %s", in[i].text, in[i].name, names);
        }
        if (taken[in[i].index])
            return err_set(err, ERR_INVALID, "--input %s: input '%s' is given twice",
                           in[i].text, in[i].name);
        taken[in[i].index] = true;
    }
    size_t next = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i].name)
            continue;
        while (next < m->n_inputs && taken[next])
            next++;
        if (next == m->n_inputs)
            return err_set(err, ERR_INVALID, "--input %s: more input files than the model's "
                           "%zu input%s", in[i].text, m->n_inputs, m->n_inputs == 1 ? "" : "s");
        in[i].index = (long)next;
        taken[next] = true;
    }
    return 0;
}

static double ns_to_ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* The outputs as {name: {index, dtype, bytes, elements, values, hex}}. */
static cJSON *outputs_json(const struct cli_aot_result *r)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < r->n_outputs; i++) {
        const struct cli_aot_output *out = &r->outputs[i];
        cJSON *t = cJSON_CreateObject();
        if (!t || !cJSON_AddItemToObject(o, out->t.name, t)) {
            cJSON_Delete(t);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddNumberToObject(t, "index", (double)out->t.index);
        cJSON_AddStringToObject(t, "dtype", out->t.dtype);
        cJSON_AddNumberToObject(t, "bytes", (double)out->t.bytes);
        size_t es = cli_aot_dtype_size(out->t.dtype);
        if (es) {
            cJSON_AddNumberToObject(t, "elements", (double)(out->t.bytes / es));
            cJSON *vals = cJSON_AddArrayToObject(t, "values");
            for (size_t k = 0; vals && k < out->t.bytes / es; k++) {
                char v[64];
                cli_aot_format_value(out->t.dtype, out->data, out->t.bytes, k, v, sizeof v);
                /* raw numbers keep 64-bit integers exact; JSON has no nan or inf */
                bool finite = strcmp(v, "nan") && strcmp(v, "inf") && strcmp(v, "-inf");
                cJSON_AddItemToArray(vals, finite ? cJSON_CreateRaw(v) : cJSON_CreateNull());
            }
        } else {
            cJSON_AddNullToObject(t, "elements");
            cJSON_AddNullToObject(t, "values");
        }
        char *hex = malloc(2 * out->t.bytes + 1);
        if (hex) {
            for (size_t k = 0; k < out->t.bytes; k++)
                snprintf(hex + 2 * k, 3, "%02x", out->data[k]);
            hex[2 * out->t.bytes] = '\0';
            cJSON_AddStringToObject(t, "hex", hex);
            free(hex);
        }
    }
    return o;
}

/* Everything run reports, as the JSON object of docs/RESULTS.md. */
static cJSON *result_json(const char *dir, const struct cli__project *p,
                          const struct cli_aot_banner *b, const struct cli_aot_model *m,
                          const struct input_arg *in, size_t n_in,
                          const struct cli_aot_result *r, const struct cli_elf_sizes *sz,
                          bool have_sizes)
{
    cJSON *o = cJSON_CreateObject(), *x;
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "schema", 1);
    cJSON_AddStringToObject(o, "project_dir", dir);
    cJSON_AddStringToObject(o, "board", b->board);
    cJSON_AddStringToObject(o, "project_type", b->project_type);
    cJSON_AddStringToObject(o, "libc", b->libc);
    cJSON_AddStringToObject(o, "model", m->module);
    if ((x = cJSON_AddObjectToObject(o, "inputs")))
        for (size_t i = 0; i < m->n_inputs; i++) {
            cJSON *t = cJSON_CreateObject();
            if (!t || !cJSON_AddItemToObject(x, m->inputs[i].name, t)) {
                cJSON_Delete(t);
                break;
            }
            cJSON_AddNumberToObject(t, "index", (double)i);
            cJSON_AddStringToObject(t, "dtype", m->inputs[i].dtype);
            cJSON_AddNumberToObject(t, "bytes", (double)m->inputs[i].bytes);
            const char *src = "default";
            for (size_t k = 0; k < n_in; k++)
                if (in[k].index == (long)i)
                    src = in[k].path;
            cJSON_AddStringToObject(t, "source", src);
        }
    cJSON_AddItemToObject(o, "outputs", outputs_json(r));
    long am = r->n_outputs ? cli_aot_argmax(r->outputs[0].t.dtype, r->outputs[0].data,
                                            r->outputs[0].t.bytes) : -1;
    if (am >= 0)
        cJSON_AddNumberToObject(o, "argmax", (double)am);
    else
        cJSON_AddNullToObject(o, "argmax");
    const struct cli_aot_stats *s = &r->stats;
    if ((x = cJSON_AddObjectToObject(o, "stats"))) {
        cJSON_AddNumberToObject(x, "ticks", (double)s->ticks);
        cJSON_AddNumberToObject(x, "hz", (double)s->hz);
        cJSON_AddNumberToObject(x, "virtual_ns", (double)s->ns);
        cJSON_AddNumberToObject(x, "virtual_ms", ns_to_ms(s->ns));
        if (s->instret)
            cJSON_AddNumberToObject(x, "instructions", (double)s->instret);
        else
            cJSON_AddNullToObject(x, "instructions");
        cJSON_AddNumberToObject(x, "workspace_peak_bytes", (double)s->workspace);
        cJSON_AddNumberToObject(x, "arena_bytes", (double)m->arena);
        cJSON_AddNumberToObject(x, "rc", (double)s->rc);
    }
    if ((x = cJSON_AddObjectToObject(o, "count"))) {
        cJSON_AddStringToObject(x, "metric", s->instret ? "instructions" : "ticks");
        cJSON_AddNumberToObject(x, "value", (double)(s->instret ? s->instret : s->ticks));
    }
    cJSON_AddItemToObject(o, "operators", cli_ops_json(r, s->instret));
    if (have_sizes && (x = cJSON_AddObjectToObject(o, "firmware"))) {
        cJSON_AddStringToObject(x, "path", p->flashed_elf);
        cJSON_AddNumberToObject(x, "text", (double)sz->text);
        cJSON_AddNumberToObject(x, "data", (double)sz->data);
        cJSON_AddNumberToObject(x, "bss", (double)sz->bss);
    } else if (!have_sizes) {
        cJSON_AddNullToObject(o, "firmware");
    }
    return o;
}

static void print_text(const struct cli_aot_banner *b, const struct cli_aot_model *m,
                       const struct cli_aot_result *r, const struct cli_elf_sizes *sz,
                       bool have_sizes)
{
    const struct cli_aot_stats *s = &r->stats;
    printf("board         %s (%s), model '%s'\n", b->board, b->libc, m->module);
    for (size_t i = 0; i < r->n_outputs; i++) {
        const struct cli_aot_output *o = &r->outputs[i];
        size_t es = cli_aot_dtype_size(o->t.dtype);
        size_t n = es ? o->t.bytes / es : 0;
        printf("output %-6zu '%s' %s[%zu]:", i, o->t.name, o->t.dtype, es ? n : o->t.bytes);
        if (!es) {
            printf(" (bytes)");
            for (size_t k = 0; k < o->t.bytes && k < TEXT_VALUES_MAX; k++)
                printf(" %02x", o->data[k]);
            n = o->t.bytes;
        }
        for (size_t k = 0; es && k < n && k < TEXT_VALUES_MAX; k++) {
            char v[64];
            cli_aot_format_value(o->t.dtype, o->data, o->t.bytes, k, v, sizeof v);
            printf(" %s", v);
        }
        if (n > TEXT_VALUES_MAX)
            printf(" ... (%zu more; --json has them all)", n - TEXT_VALUES_MAX);
        printf("\n");
        long am = i == 0 ? cli_aot_argmax(o->t.dtype, o->data, o->t.bytes) : -1;
        if (am >= 0)
            printf("argmax        %ld\n", am);
    }
    printf("virtual time  %" PRIu64 " ns (%.3f ms)\n", s->ns, ns_to_ms(s->ns));
    printf("ticks         %" PRIu64 " at %" PRIu64 " Hz\n", s->ticks, s->hz);
    if (s->instret)
        printf("instructions  %" PRIu64 "\n", s->instret);
    else
        printf("instructions  not counted on this board (the ticks are the count)\n");
    printf("workspace     %" PRIu64 " B peak, of a %" PRIu64 " B arena\n", s->workspace,
           m->arena);
    if (have_sizes)
        printf("firmware      text %" PRIu64 " B, data %" PRIu64 " B, bss %" PRIu64 " B\n",
               sz->text, sz->data, sz->bss);
}

static int run_run(const struct cli_ctx *ctx, const struct cli_command *cmd,
                   const struct cli_args *a)
{
    struct err err;
    struct cli_client *client = NULL;
    struct cli__board board = {0};
    struct cli__project proj;
    struct cli_aot_result result = {0};
    struct input_arg *in = NULL;
    cJSON *info = NULL, *options = NULL, *flash_options = NULL, *baseline = NULL, *out = NULL;
    char dir[PATH_MAX];
    double t0 = mono_now_s(), timeout = DEFAULT_TIMEOUT_SEC, max_pct = -1;
    bool json = cli__opt(cmd, a, "json") != NULL, regressed = false;
    const char *timeout_arg = cli__opt(cmd, a, "timeout");
    const char *base_path = cli__opt(cmd, a, "baseline");
    const char *pct_arg = cli__opt(cmd, a, "max-regression");
    const char *report_path = cli__opt(cmd, a, "report");
    int rc = 0;
    err_clear(&err);

    /* Usage first: nothing starts before the command line makes sense. */
    size_t n_o = 0, n_in = 0;
    const char *const *o_texts = cli__opt_all(cmd, a, "option", &n_o);
    const char *const *in_texts = cli__opt_all(cmd, a, "input", &n_in);
    for (size_t i = 0; i < n_o; i++) {
        char name[64];
        const char *value;
        if (cli_option_split(o_texts[i], name, sizeof name, &value, &err) < 0)
            return cli__usage_error(ctx, "run ", &err);
    }
    if (timeout_arg) {
        char *end = NULL;
        timeout = strtod(timeout_arg, &end);
        if (end == timeout_arg || *end || !(timeout > 0) || !isfinite(timeout)) {
            err_set(&err, ERR_INVALID, "--timeout '%s': want a number of seconds > 0",
                    timeout_arg);
            return cli__usage_error(ctx, "run ", &err);
        }
    }
    if (pct_arg && !base_path) {
        err_set(&err, ERR_INVALID, "--max-regression needs --baseline FILE (an earlier "
                "'run --json' output to compare with)");
        return cli__usage_error(ctx, "run ", &err);
    }
    if (pct_arg && cli_parse_percent(pct_arg, &max_pct, &err) < 0)
        return cli__usage_error(ctx, "run ", &err);
    double deadline = t0 + timeout;

    if (!(in = calloc(n_in ? n_in : 1, sizeof *in))) {
        rc = err_set(&err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_in; i++)
        in[i].text = in_texts[i];
    if ((rc = read_inputs(in, n_in, &err)) < 0)
        goto out;
    if (base_path && (rc = cli_baseline_load(base_path, &baseline, &err)) < 0)
        goto out;

    if ((rc = cli__abs_path(a->pos[0], dir, sizeof dir, &err)) < 0)
        goto out;
    if ((rc = cli__open_server(ctx, dir, false, &client, &info, &err)) < 0)
        goto out;
    if ((rc = cli__project_read(dir, &proj, &err)) < 0)
        goto out;
    if (strcmp(proj.project_type, "aot_standalone") != 0) {
        rc = err_set(&err, ERR_INVALID, "%s is a%s %s project; run needs an aot_standalone "
                     "project (the model runs on the board by itself and reports its outputs "
                     "and time): create one with '%s create DIR --type aot_standalone --mlf "
                     "MODEL.tar --board %s'", a->pos[0],
                     strchr("aeiou", proj.project_type[0]) ? "n" : "", proj.project_type,
                     ctx->prog, proj.board[0] ? proj.board : "BOARD");
        goto out;
    }
    if (!proj.built) {
        rc = err_set(&err, ERR_STATE, "%s has no firmware yet; build it first: %s build %s",
                     a->pos[0], ctx->prog, a->pos[0]);
        goto out;
    }
    if (!(options = cli_options_json(o_texts, n_o, info, &err)) ||
        !(flash_options = cli_options_json(o_texts, n_o, info, &err))) {
        rc = err.code;
        goto out;
    }
    cli_client_set_deadline(client, deadline);
    if (!proj.flashed_current) {
        cli__progress(ctx, "flashing %s first (%s)", a->pos[0],
                      proj.flashed ? "the flashed image is not the current build"
                                   : "it was built but not flashed");
        rc = cli_flash(client, flash_options, &err);
        flash_options = NULL; /* taken */
        if (rc < 0)
            goto out;
    }
    cli__progress(ctx, "powering on %s and running the model", proj.board);
    rc = cli__board_open(client, options, deadline, &board, &err);
    options = NULL; /* taken */
    if (rc < 0)
        goto out;
    const struct cli_aot_model *m = cli_aot_model_of(board.session);
    const struct cli_aot_banner *b = cli_aot_banner_of(board.session);
    if ((rc = resolve_inputs(in, n_in, m, &err)) < 0)
        goto out;
    for (size_t i = 0; i < n_in; i++)
        if ((rc = cli_aot_set_input(board.session, (size_t)in[i].index, in[i].data, in[i].len,
                                    &err)) < 0) {
            err_prefix(&err, "--input %s", in[i].text);
            goto out;
        }
    if ((rc = cli_aot_run(board.session, &result, &err)) < 0)
        goto out;
    if (result.error[0]) {
        rc = err_set(&err, ERR_INVALID, "the model's run failed on the board: %s",
                     result.error);
        goto out;
    }
    struct cli_aot_banner banner = *b;
    struct cli_aot_model *model = malloc(sizeof *model);
    if (!model) {
        rc = err_set(&err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    *model = *m;
    rc = cli__board_close(&board, 0, &err);
    rc = cli__close_server(client, rc, &err);
    client = NULL;
    if (rc < 0) {
        free(model);
        goto out;
    }

    struct cli_elf_sizes sz = {0};
    struct err size_err;
    bool have_sizes = cli_elf_sizes(proj.flashed_elf, &sz, &size_err) == 0;
    if (!have_sizes)
        log_warn("no firmware sizes: %s", size_err.msg);
    out = result_json(dir, &proj, &banner, model, in, n_in, &result, &sz, have_sizes);
    if (!out) {
        free(model);
        rc = err_set(&err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    struct cli_baseline_cmp cmp;
    if (baseline && (rc = cli_baseline_compare(baseline, out, max_pct, &cmp, &err)) < 0) {
        free(model);
        goto out;
    }
    double wall_ms = (mono_now_s() - t0) * 1000.0;
    cJSON *changes = baseline ? cli_ops_compare(baseline, out) : NULL;
    if (json) {
        cJSON_AddNumberToObject(out, "host_wall_ms", round(wall_ms * 10) / 10);
        cJSON *cmp_json = baseline ? cli_baseline_json(&cmp, base_path) : NULL;
        if (cmp_json && changes)
            cJSON_AddItemReferenceToObject(cmp_json, "operators", changes);
        if (cmp_json)
            cJSON_AddItemToObject(out, "baseline", cmp_json);
        char *text = cJSON_Print(out);
        if (text)
            printf("%s\n", text);
        free(text);
    } else {
        print_text(&banner, model, &result, &sz, have_sizes);
        printf("host wall     %.2f s\n", wall_ms / 1000.0);
        cli_ops_print_top(stdout, out, TEXT_OPS_MAX);
    }
    if (baseline) {
        char limit[64] = "";
        if (max_pct >= 0)
            snprintf(limit, sizeof limit, ", limit +%g%%: %s", max_pct,
                     cmp.regressed ? "REGRESSION" : "ok");
        /* with --json, stdout is the object alone */
        FILE *f = json ? stderr : stdout;
        fprintf(f, "%sbaseline      %s %" PRIu64 " -> %" PRIu64 " (%+.2f%%)%s\n",
                json ? "microtvm-qemu: " : "", cmp.after.metric, cmp.before.value,
                cmp.after.value, cmp.change_percent, limit);
        cli_ops_print_changes(f, changes, model->module, TEXT_OPS_MAX);
        regressed = cmp.regressed;
    }
    if (report_path && (rc = cli_report_write(report_path, out, baseline, &err)) < 0) {
        cJSON_Delete(changes);
        free(model);
        goto out;
    }
    if (report_path)
        fprintf(stderr, "microtvm-qemu: report written to %s\n", report_path);
    cJSON_Delete(changes);
    free(model);
out:
    rc = cli__board_close(&board, rc, &err);
    if (client)
        rc = cli__close_server(client, rc, &err);
    if (rc < 0)
        cli__report(ctx, &err);
    cli_aot_result_close(&result);
    for (size_t i = 0; in && i < n_in; i++)
        free(in[i].data);
    free(in);
    cJSON_Delete(out);
    cJSON_Delete(baseline);
    cJSON_Delete(options);
    cJSON_Delete(flash_options);
    cJSON_Delete(info);
    return rc < 0 ? CLI_EXIT_FAIL : regressed ? CLI_EXIT_REGRESSION : CLI_EXIT_OK;
}

const struct cli_command cli__cmd_run = {
    .name = "run",
    .synopsis = "PROJECT_DIR",
    .summary = "run an aot_standalone project's model; print outputs and virtual time",
    .description =
        "Powers on the project's board (flashing the current build first if needed),\n"
        "sends the inputs, runs the model once and prints its outputs (values decoded\n"
        "by dtype; argmax of the first), the virtual time in ns and ms, timer ticks and\n"
        "rate, the instructions it retired (exact on every board), the workspace\n"
        "peak, the firmware's size and the top operators by their own instructions.\n"
        "In deterministic mode (the default) these counts are identical on every run\n"
        "and every host.\n"
        "Inputs are files of the tensor's raw bytes, exactly its size, in the board's\n"
        "(little-endian) order: --input input=img.bin, or --input img.bin for the\n"
        "inputs not named, in order. Without --input the firmware's own input is used.\n"
        "Regression check (CI):\n"
        "  microtvm-qemu run P --json > base.json           (once)\n"
        "  microtvm-qemu run P --baseline base.json --max-regression 2\n"
        "compares the count (instructions, else ticks), prints the change and the\n"
        "operators that changed, and exits 3 when the total grew by more than 2 percent.\n"
        "--report FILE writes the same as an HTML page with bars (docs/RESULTS.md).\n",
    .opts = run_opts,
    .n_opts = sizeof run_opts / sizeof run_opts[0],
    .min_pos = 1,
    .max_pos = 1,
    .run = run_run,
};
