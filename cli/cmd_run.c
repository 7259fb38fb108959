/*
 * `run`: runs an aot_standalone project's model on its emulated board and reports the
 * outputs and the exact virtual time, as text or as one JSON object (docs/RESULTS.md lists
 * its fields). With --baseline it compares the count (instructions where the board counts
 * them, else timer ticks) with an earlier run's and can fail CI on a regression (exit 3).
 * Everything happens through the project's server: flash when needed, open_transport, the
 * line protocol over read/write_transport, close_transport.
 */
#include "baseline.h"
#include "command.h"
#include "elfsize.h"
#include "fs.h"
#include "log.h"
#include "mono.h"
#include "ops.h"
#include "report.h"

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

/* What the command line asks for, checked before anything starts. */
struct run_request {
    const char *project;         /* PROJECT_DIR as given, for messages */
    const char *const *o_texts;  /* -o NAME=VALUE, for flash and open_transport */
    size_t n_o;
    const char *const *in_texts; /* --input */
    size_t n_in;
    bool json;
    double started, deadline;  /* CLOCK_MONOTONIC seconds */
    const char *baseline_path; /* --baseline, or NULL */
    double max_pct;            /* --max-regression, or -1: no limit */
    const char *report_path;   /* --report, or NULL */
};

/* What the run reads first and what the board reported: all of it outlives the board. */
struct run_state {
    struct input_arg *in; /* one per --input */
    size_t n_in;
    cJSON *baseline;      /* --baseline's run, or NULL */
    char dir[PATH_MAX];   /* the project, absolute */
    struct cli__project proj;
    struct cli_aot_banner banner;
    struct cli_aot_model *model; /* heap (some 40 KiB); NULL until the board answered */
    struct cli_aot_result result;
};

static void run_state_close(struct run_state *s)
{
    cli_aot_result_close(&s->result);
    for (size_t i = 0; s->in && i < s->n_in; i++)
        free(s->in[i].data);
    free(s->in);
    free(s->model);
    cJSON_Delete(s->baseline);
}

/* Parses and checks the arguments: 0, or CLI_EXIT_USAGE once the problem is printed. */
static int parse_request(const struct cli_ctx *ctx, const struct cli_command *cmd,
                         const struct cli_args *a, struct run_request *r)
{
    struct err err;
    const char *timeout_arg = cli__opt(cmd, a, "timeout");
    const char *pct_arg = cli__opt(cmd, a, "max-regression");
    double timeout = DEFAULT_TIMEOUT_SEC;
    err_clear(&err);
    *r = (struct run_request){
        .project = a->pos[0],
        .json = cli__opt(cmd, a, "json") != NULL,
        .started = mono_now_s(),
        .baseline_path = cli__opt(cmd, a, "baseline"),
        .max_pct = -1,
        .report_path = cli__opt(cmd, a, "report"),
    };
    r->o_texts = cli__opt_all(cmd, a, "option", &r->n_o);
    r->in_texts = cli__opt_all(cmd, a, "input", &r->n_in);
    int rc = cli__check_options(ctx, cmd, a);
    if (rc != 0)
        return rc;
    if (timeout_arg) {
        char *end = NULL;
        timeout = strtod(timeout_arg, &end);
        if (end == timeout_arg || *end || !(timeout > 0) || !isfinite(timeout)) {
            err_set(&err, ERR_INVALID, "--timeout '%s': want a number of seconds > 0",
                    timeout_arg);
            return cli__usage_error(ctx, "run ", &err);
        }
    }
    if (pct_arg && !r->baseline_path) {
        err_set(&err, ERR_INVALID, "--max-regression needs --baseline FILE (an earlier "
                "'run --json' output to compare with)");
        return cli__usage_error(ctx, "run ", &err);
    }
    if (pct_arg && cli_parse_percent(pct_arg, &r->max_pct, &err) < 0)
        return cli__usage_error(ctx, "run ", &err);
    r->deadline = r->started + timeout;
    return 0;
}

/* Reads what the run needs before any server starts: the --input files and the baseline. */
static int read_files(const struct run_request *r, struct run_state *s, struct err *err)
{
    if (!(s->in = calloc(r->n_in ? r->n_in : 1, sizeof *s->in)))
        return err_set(err, ERR_INTERNAL, "out of memory");
    s->n_in = r->n_in;
    for (size_t i = 0; i < r->n_in; i++)
        s->in[i].text = r->in_texts[i];
    int rc = read_inputs(s->in, s->n_in, err);
    if (rc == 0 && r->baseline_path)
        rc = cli_baseline_load(r->baseline_path, &s->baseline, err);
    return rc;
}

/* Refuses a project run cannot run: another type, or no firmware yet. */
static int check_project(const struct cli_ctx *ctx, const char *project,
                         const struct cli__project *p, struct err *err)
{
    if (strcmp(p->project_type, "aot_standalone") != 0)
        return err_set(err, ERR_INVALID, "%s is a%s %s project; run needs an aot_standalone "
                       "project (the model runs on the board by itself and reports its outputs "
                       "and time): create one with '%s create DIR --type aot_standalone --mlf "
                       "MODEL.tar --board %s'", project,
                       strchr("aeiou", p->project_type[0]) ? "n" : "", p->project_type,
                       ctx->prog, p->board[0] ? p->board : "BOARD");
    if (!p->built)
        return err_set(err, ERR_STATE, "%s has no firmware yet; build it first: %s build %s",
                       project, ctx->prog, project);
    return 0;
}

/* Flashes the current build when the board would otherwise boot an older one (or none). */
static int flash_if_stale(const struct cli_ctx *ctx, const struct run_request *r,
                          struct cli_client *client, const cJSON *info,
                          const struct cli__project *p, struct err *err)
{
    if (p->flashed_current)
        return 0;
    cJSON *options = cli_options_json(r->o_texts, r->n_o, info, err);
    if (!options)
        return err->code;
    cli__progress(ctx, "flashing %s first (%s)", r->project,
                  p->flashed ? "the flashed image is not the current build"
                             : "it was built but not flashed");
    return cli_flash(client, options, err); /* takes options */
}

/* On an open board: sends the --input tensors, runs the model once, keeps what it said. */
static int run_model(struct cli__board *board, struct run_state *s, struct err *err)
{
    const struct cli_aot_model *m = cli_aot_model_of(board->session);
    int rc = resolve_inputs(s->in, s->n_in, m, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < s->n_in; i++)
        if ((rc = cli_aot_set_input(board->session, (size_t)s->in[i].index, s->in[i].data,
                                    s->in[i].len, err)) < 0)
            return err_prefix(err, "--input %s", s->in[i].text);
    if ((rc = cli_aot_run(board->session, &s->result, err)) < 0)
        return rc;
    if (s->result.error[0])
        return err_set(err, ERR_INVALID, "the model's run failed on the board: %s",
                       s->result.error);
    if (!(s->model = malloc(sizeof *s->model)))
        return err_set(err, ERR_INTERNAL, "out of memory");
    *s->model = *m;
    s->banner = *cli_aot_banner_of(board->session);
    return 0;
}

/* The act: the project's server, flash when needed, power on, run, power off, close. */
static int run_on_board(const struct cli_ctx *ctx, const struct run_request *r,
                        struct run_state *s, struct err *err)
{
    struct cli_client *client = NULL;
    struct cli__board board = {0};
    cJSON *info = NULL, *options = NULL;
    int rc;
    if ((rc = cli__open_project(ctx, r->project, s->dir, sizeof s->dir, &client, &info, err)) < 0)
        goto out;
    if ((rc = cli__project_read(s->dir, &s->proj, err)) < 0 ||
        (rc = check_project(ctx, r->project, &s->proj, err)) < 0)
        goto out;
    if (!(options = cli_options_json(r->o_texts, r->n_o, info, err))) {
        rc = err->code;
        goto out;
    }
    cli_client_set_deadline(client, r->deadline);
    if ((rc = flash_if_stale(ctx, r, client, info, &s->proj, err)) < 0)
        goto out;
    cli__progress(ctx, "powering on %s and running the model", s->proj.board);
    rc = cli__board_open(client, options, r->deadline, &board, err);
    options = NULL; /* taken */
    if (rc == 0)
        rc = run_model(&board, s, err);
out:
    rc = cli__board_close(&board, rc, err);
    if (client)
        rc = cli__close_server(client, rc, err);
    cJSON_Delete(options);
    cJSON_Delete(info);
    return rc;
}

/* The baseline's lines: on stdout, or on stderr with --json (stdout is the object alone). */
static void print_baseline(const struct run_request *r, const struct cli_baseline_cmp *cmp,
                           const cJSON *changes, const char *module)
{
    char limit[64] = "";
    if (r->max_pct >= 0)
        snprintf(limit, sizeof limit, ", limit +%g%%: %s", r->max_pct,
                 cmp->regressed ? "REGRESSION" : "ok");
    FILE *f = r->json ? stderr : stdout;
    fprintf(f, "%sbaseline      %s %" PRIu64 " -> %" PRIu64 " (%+.2f%%)%s\n",
            r->json ? "microtvm-qemu: " : "", cmp->after.metric, cmp->before.value,
            cmp->after.value, cmp->change_percent, limit);
    cli_ops_print_changes(f, changes, module, TEXT_OPS_MAX);
}

/* The report: text or --json, the baseline's comparison, the HTML page. */
static int report_run(const struct run_request *r, const struct run_state *s, bool *regressed,
                      struct err *err)
{
    struct cli_elf_sizes sz = {0};
    struct err size_err;
    struct cli_baseline_cmp cmp;
    cJSON *changes = NULL;
    bool have_sizes = cli_elf_sizes(s->proj.flashed_elf, &sz, &size_err) == 0;
    if (!have_sizes)
        log_warn("no firmware sizes: %s", size_err.msg);
    cJSON *out = result_json(s->dir, &s->proj, &s->banner, s->model, s->in, s->n_in,
                             &s->result, &sz, have_sizes);
    if (!out)
        return err_set(err, ERR_INTERNAL, "out of memory");
    int rc = 0;
    if (s->baseline &&
        (rc = cli_baseline_compare(s->baseline, out, r->max_pct, &cmp, err)) < 0)
        goto out;
    double wall_ms = (mono_now_s() - r->started) * 1000.0;
    changes = s->baseline ? cli_ops_compare(s->baseline, out) : NULL;
    if (r->json) {
        cJSON_AddNumberToObject(out, "host_wall_ms", round(wall_ms * 10) / 10);
        cJSON *cmp_json = s->baseline ? cli_baseline_json(&cmp, r->baseline_path) : NULL;
        if (cmp_json && changes)
            cJSON_AddItemReferenceToObject(cmp_json, "operators", changes);
        if (cmp_json)
            cJSON_AddItemToObject(out, "baseline", cmp_json);
        char *text = cJSON_Print(out);
        if (text)
            printf("%s\n", text);
        free(text);
    } else {
        print_text(&s->banner, s->model, &s->result, &sz, have_sizes);
        printf("host wall     %.2f s\n", wall_ms / 1000.0);
        cli_ops_print_top(stdout, out, TEXT_OPS_MAX);
    }
    if (s->baseline) {
        print_baseline(r, &cmp, changes, s->model->module);
        *regressed = cmp.regressed;
    }
    if (r->report_path &&
        (rc = cli_report_write(r->report_path, out, s->baseline, err)) == 0)
        fprintf(stderr, "microtvm-qemu: report written to %s\n", r->report_path);
out:
    cJSON_Delete(changes);
    cJSON_Delete(out);
    return rc;
}

static int run_run(const struct cli_ctx *ctx, const struct cli_command *cmd,
                   const struct cli_args *a)
{
    struct run_request req;
    struct run_state state = {0};
    struct err err;
    bool regressed = false;
    int rc = parse_request(ctx, cmd, a, &req);
    if (rc != 0)
        return rc; /* usage first: nothing starts before the command line makes sense */
    err_clear(&err);
    if ((rc = read_files(&req, &state, &err)) == 0 &&
        (rc = run_on_board(ctx, &req, &state, &err)) == 0)
        rc = report_run(&req, &state, &regressed, &err);
    run_state_close(&state);
    int status = cli__finish(ctx, NULL, rc, &err);
    return status == CLI_EXIT_OK && regressed ? CLI_EXIT_REGRESSION : status;
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
