/*
 * `demo`: the README's main job. The bundled sample model (an int8 digit classifier, copied
 * next to the template at build time) becomes an MLF tar, then for each board an
 * aot_standalone project is created, built, flashed and run on the sample images, exactly
 * as a TVM user would through the Project API. The table at the end shows that every board
 * predicts the same digits, and what each costs in exact virtual time.
 */
#include "command.h"
#include "elfsize.h"
#include "fs.h"
#include "log.h"
#include "machine.h"
#include "mlftar.h"
#include "mono.h"
#include "ops.h"
#include "record.h"
#include "report.h"

#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_BOARD "mps2-an385"
#define RUN_TIMEOUT_SEC 120.0 /* per board: boot and all samples */
#define MAX_SAMPLES 64

struct sample {
    unsigned char *input;
    size_t len;
    long label;
    char *output_hex; /* the generator's reference output */
};

/* One board's results: a table row. */
struct row {
    char board[64];
    bool ok;
    char error[ERR_MSG_MAX];
    size_t correct, exact, n;
    long predicted[MAX_SAMPLES];
    char metric[16];
    uint64_t count, ns;
    uint64_t flash_bytes;
    double build_sec, run_sec;
    cJSON *summary; /* the first sample's run as run --json has it, for --report (or NULL) */
};

static const struct cli_opt demo_opts[] = {
    {"board", 'b', "BOARD", false, "the board (default " DEFAULT_BOARD "; 'microtvm-qemu "
     "machines' lists them)"},
    {"all", 0, NULL, false, "every board, one after another"},
    {"link", 0, "LINK", false, "the transport: uart (the default) or fast, the board's fast link "
                               "('microtvm-qemu machines' lists the boards that have one)"},
    {"keep", 0, "DIR", false, "make the projects in DIR (new or empty) and keep them"},
    {"report", 0, "FILE", false, "write an HTML page of the first image's per-operator counts, "
     "a section per board"},
};

static void free_samples(struct sample *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].input);
        free(s[i].output_hex);
    }
}

/* Reads the sample images and their labels from the generator's JSON. */
static int read_samples(const char *path, struct sample *s, size_t *n, struct err *err)
{
    cJSON *j = NULL;
    int rc = cli__read_json(path, &j, err);
    if (rc < 0)
        return rc;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "samples"), *e;
    *n = 0;
    cJSON_ArrayForEach(e, arr) {
        const cJSON *hex = cJSON_GetObjectItemCaseSensitive(e, "input_hex");
        const cJSON *label = cJSON_GetObjectItemCaseSensitive(e, "label");
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(e, "output_hex");
        if (*n == MAX_SAMPLES)
            break;
        if (!cJSON_IsString(hex) || !cJSON_IsNumber(label) || !cJSON_IsString(ref)) {
            rc = err_set(err, ERR_INVALID, "%s: sample %zu lacks input_hex, label or "
                         "output_hex; rebuild (ninja) to copy it again", path, *n);
            break;
        }
        struct sample *x = &s[*n];
        if ((rc = cli_aot_hex_decode(hex->valuestring, strlen(hex->valuestring), &x->input,
                                     &x->len, err)) < 0) {
            err_prefix(err, "%s: sample %zu", path, *n);
            break;
        }
        x->label = (long)label->valuedouble;
        x->output_hex = strdup(ref->valuestring);
        (*n)++;
        if (!x->output_hex) {
            rc = err_set(err, ERR_INTERNAL, "out of memory");
            break;
        }
    }
    if (rc == 0 && *n == 0)
        rc = err_set(err, ERR_INVALID, "%s: no samples", path);
    cJSON_Delete(j);
    return rc;
}

static void hex_of(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
    out[2 * n] = '\0';
}

/* The fields of run --json a report needs: board, model, stats.instructions, operators. */
static cJSON *summary_of(const char *board, const struct cli_aot_model *m,
                         const struct cli_aot_result *res)
{
    cJSON *o = cJSON_CreateObject(), *st;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "board", board);
    cJSON_AddStringToObject(o, "model", m ? m->module : "");
    if ((st = cJSON_AddObjectToObject(o, "stats")))
        cJSON_AddNumberToObject(st, "instructions", (double)res->stats.instret);
    cJSON_AddItemToObject(o, "operators", cli_ops_json(res, res->stats.instret));
    return o;
}

/* --report: one section per board that ran. */
static int write_report(const char *path, const struct row *rows, size_t n, struct err *err)
{
    struct cli_report_section *s = calloc(n ? n : 1, sizeof *s);
    size_t k = 0;
    if (!s)
        return err_set(err, ERR_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (rows[i].ok && rows[i].summary)
            s[k++].run = rows[i].summary;
    int rc = cli_report_write_sections(path, "The sample model: instructions per operator, "
                                       "board by board", s, k, err);
    free(s);
    if (rc == 0)
        fprintf(stderr, "microtvm-qemu: report written to %s\n", path);
    return rc;
}

/* Runs every sample on an open board, filling the row's predictions and counts. */
static int run_samples(struct cli__board *b, const struct sample *s, size_t n, struct row *r,
                       struct err *err)
{
    struct cli_aot_result res = {0};
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if ((rc = cli_aot_set_input(b->session, 0, s[i].input, s[i].len, err)) < 0 ||
            (rc = cli_aot_run(b->session, &res, err)) < 0)
            return err_prefix(err, "sample %zu", i);
        if (res.error[0]) {
            rc = err_set(err, ERR_INVALID, "sample %zu: the model's run failed: %s", i,
                         res.error);
            cli_aot_result_close(&res);
            return rc;
        }
        const struct cli_aot_output *o = &res.outputs[0];
        r->predicted[i] = cli_aot_argmax(o->t.dtype, o->data, o->t.bytes);
        r->correct += r->predicted[i] == s[i].label;
        char *hex = malloc(2 * o->t.bytes + 1);
        if (hex) {
            hex_of(o->data, o->t.bytes, hex);
            r->exact += !strcmp(hex, s[i].output_hex);
            free(hex);
        }
        if (i == 0) {
            const struct cli_aot_stats *st = &res.stats;
            snprintf(r->metric, sizeof r->metric, "%s", st->instret ? "instructions" : "ticks");
            r->count = st->instret ? st->instret : st->ticks;
            r->ns = st->ns;
            r->summary = summary_of(r->board, cli_aot_model_of(b->session), &res);
        }
        cli_aot_result_close(&res);
    }
    r->n = n;
    return 0;
}

/* Create, build, flash and run on one board; the row records the outcome. */
static int demo_board(const struct cli_ctx *ctx, struct cli_client *tmpl, const char *work,
                      const char *tar, const char *link, const struct sample *s, size_t n,
                      struct row *r, struct err *err)
{
    char dir[PATH_MAX];
    struct cli_client *client = NULL;
    struct cli__board b = {0};
    cJSON *opts = NULL;
    const char *board = r->board;
    int rc = fs_join(dir, sizeof dir, work, board, err);
    if (rc < 0)
        return rc;

    cli__progress(ctx, "[%s] creating an aot_standalone project in %s", board, dir);
    if (!(opts = cJSON_CreateObject()) || !cJSON_AddStringToObject(opts, "board", board) ||
        !cJSON_AddStringToObject(opts, "project_type", "aot_standalone") ||
        (link && !cJSON_AddStringToObject(opts, "link", link)) ||
        (ctx->verbose && !cJSON_AddTrueToObject(opts, "verbose"))) {
        cJSON_Delete(opts);
        return err_set(err, ERR_INTERNAL, "out of memory");
    }
    if ((rc = cli_generate_project(tmpl, tar, "", dir, opts, err)) < 0)
        return rc;

    if ((rc = cli__open_server(ctx, dir, false, &client, NULL, err)) < 0)
        return rc;
    cli__progress(ctx, "[%s] building the firmware%s", board,
                  ctx->verbose ? "" : " (-v shows the compiler)");
    double t = mono_now_s();
    opts = cJSON_CreateObject();
    if (opts && ctx->verbose)
        cJSON_AddTrueToObject(opts, "verbose");
    if ((rc = cli_build(client, opts, err)) < 0)
        goto out;
    r->build_sec = mono_now_s() - t;
    cli__progress(ctx, "[%s] built in %.1f s; flashing", board, r->build_sec);
    if ((rc = cli_flash(client, NULL, err)) < 0)
        goto out;

    char elf[PATH_MAX];
    struct cli_elf_sizes sz;
    if ((rc = fs_join(elf, sizeof elf, dir, RECORD_FLASHED_ELF, err)) < 0 ||
        (rc = cli_elf_sizes(elf, &sz, err)) < 0)
        goto out;
    r->flash_bytes = sz.text + sz.data;

    cli__progress(ctx, "[%s] powering on and running %zu sample images", board, n);
    t = mono_now_s();
    if ((rc = cli__board_open(client, NULL, t + RUN_TIMEOUT_SEC, &b, err)) < 0)
        goto out;
    rc = run_samples(&b, s, n, r, err);
    rc = cli__board_close(&b, rc, err);
    r->run_sec = mono_now_s() - t;
out:
    rc = cli__board_close(&b, rc, err);
    rc = cli__close_server(client, rc, err);
    if (rc == 0)
        cli__progress(ctx, "[%s] %zu/%zu correct in %.1f s", board, r->correct, r->n,
                      r->run_sec);
    return rc;
}

static void print_table(const struct row *rows, size_t n_rows, const struct sample *s)
{
    printf("%-14s %-8s %-12s %-10s %-24s %-12s %-10s %-7s %s\n", "BOARD", "CORRECT",
           "FIRST", "BIT-EXACT", "COUNT", "VIRTUAL", "FIRMWARE", "BUILD", "RUN");
    for (size_t i = 0; i < n_rows; i++) {
        const struct row *r = &rows[i];
        if (!r->ok) {
            printf("%-14s FAILED: %s\n", r->board, r->error);
            continue;
        }
        char correct[32], first[32], exact[32], count[48], virt[32], fw[32], build[16],
            run[16];
        snprintf(correct, sizeof correct, "%zu/%zu", r->correct, r->n);
        snprintf(first, sizeof first, "%ld (label %ld)", r->predicted[0], s[0].label);
        snprintf(exact, sizeof exact, "%zu/%zu", r->exact, r->n);
        snprintf(count, sizeof count, "%" PRIu64 " %s", r->count, r->metric);
        snprintf(virt, sizeof virt, "%.4g ms", (double)r->ns / 1e6);
        snprintf(fw, sizeof fw, "%" PRIu64 " B", r->flash_bytes);
        snprintf(build, sizeof build, "%.1f s", r->build_sec);
        snprintf(run, sizeof run, "%.1f s", r->run_sec);
        printf("%-14s %-8s %-12s %-10s %-24s %-12s %-10s %-7s %s\n", r->board, correct, first,
               exact, count, virt, fw, build, run);
    }
}

/* Where the demo's inputs are: the template, its machines/ and the sample model beside it. */
struct demo_paths {
    char tdir[PATH_MAX];    /* <build>/template_project */
    char mdir[PATH_MAX];    /* its machines/ */
    char model[PATH_MAX];   /* <build>/demo/digits_int8, the MLF's contents */
    char samples[PATH_MAX]; /* <build>/demo/digits_int8_samples.json */
};

static int find_paths(struct demo_paths *p, struct err *err)
{
    char parent[PATH_MAX], data[PATH_MAX];
    int rc = cli__template_dir(p->tdir, sizeof p->tdir, err);
    if (rc < 0)
        return rc;
    /* <build>/template_project and <build>/demo are siblings (cli/CMakeLists.txt) */
    snprintf(parent, sizeof parent, "%s", p->tdir);
    snprintf(data, sizeof data, "%s/demo", dirname(parent));
    if ((rc = fs_join(p->model, sizeof p->model, data, "digits_int8", err)) < 0 ||
        (rc = fs_join(p->samples, sizeof p->samples, data, "digits_int8_samples.json",
                      err)) < 0 ||
        (rc = fs_join(p->mdir, sizeof p->mdir, p->tdir, "machines", err)) < 0)
        return rc;
    if (!fs_is_dir(p->model) || !fs_exists(p->samples))
        return err_set(err, ERR_INVALID, "no sample model at %s; build first: ninja -C %s "
                       "(it copies the sample model there)", data, parent);
    return 0;
}

/* The boards: all of the template's machines/, or the one --board names (checked here, so
 * a typo fails before anything is built). */
static int pick_boards(const char *mdir, bool all, const char *board_arg, char ***names,
                       size_t *n, struct err *err)
{
    if (all)
        return mach_list(mdir, names, n, err);
    const char *b = board_arg ? board_arg : DEFAULT_BOARD;
    struct machine *m = calloc(1, sizeof *m);
    int rc = m ? mach_load_by_name(m, mdir, b, err) : err_set(err, ERR_INTERNAL, "oom");
    free(m);
    if (rc < 0)
        return err_prefix(err, "--board %s", b);
    if (!(*names = calloc(1, sizeof **names)) || !((*names)[0] = strdup(b)))
        return err_set(err, ERR_INTERNAL, "out of memory");
    *n = 1;
    return 0;
}

/* The work directory: --keep's (new or empty), else a private temporary one (*made: the
 * caller removes it). */
static int make_work_dir(const char *keep, char *work, size_t worksz, bool *made,
                         struct err *err)
{
    if (keep) {
        int rc = cli__abs_path(keep, work, worksz, err);
        if (rc < 0)
            return rc;
        if (fs_exists(work) && (!fs_is_dir(work) || rmdir(work) < 0))
            return err_set(err, ERR_INVALID, "--keep %s: exists and is not an empty "
                           "directory; give a new or empty one", keep);
        return fs_mkdir_p(work, err);
    }
    snprintf(work, worksz, "/tmp/microtvm-qemu-demo-XXXXXX");
    if (!mkdtemp(work))
        return err_errno(err, "making a work directory in /tmp");
    *made = true;
    return 0;
}

/* One demo's data: the samples, a row per board, and whether any board failed. */
struct demo_run {
    struct sample *samples; /* MAX_SAMPLES of room */
    size_t n_samples;
    struct row *rows; /* n_boards of room, n_rows used */
    size_t n_boards, n_rows;
    bool failed;
};

/* The act: the sample model as an MLF tar in work, then every board in turn through the
 * template's server. A board that fails is reported, recorded in its row and skipped. */
static int run_boards(const struct cli_ctx *ctx, const struct demo_paths *p, const char *work,
                      const char *link, char *const *names, struct demo_run *d, struct err *err)
{
    char tar[PATH_MAX];
    struct cli_client *tmpl = NULL;
    int rc;
    if ((rc = fs_join(tar, sizeof tar, work, "digits_int8.tar", err)) < 0 ||
        (rc = cli_mlf_tar(p->model, tar, err)) < 0)
        return rc;
    cli__progress(ctx, "the sample model: %s (int8 digits, %zu images); work directory %s",
                  tar, d->n_samples, work);
    if ((rc = cli__open_server(ctx, p->tdir, true, &tmpl, NULL, err)) < 0)
        return rc;
    for (size_t i = 0; i < d->n_boards; i++) {
        struct row *r = &d->rows[d->n_rows++];
        struct err berr;
        err_clear(&berr);
        snprintf(r->board, sizeof r->board, "%s", names[i]);
        if (demo_board(ctx, tmpl, work, tar, link, d->samples, d->n_samples, r, &berr) < 0) {
            cli__report(ctx, &berr);
            snprintf(r->error, sizeof r->error, "%s", berr.msg);
            d->failed = true;
            continue;
        }
        r->ok = true;
    }
    return cli__close_server(tmpl, 0, err);
}

/* The report: the table, whether every board predicted the same (a difference fails the
 * demo), and where the projects were kept. */
static void report_demo(const struct cli_ctx *ctx, struct demo_run *d, const char *keep,
                        const char *work, const char *first_board)
{
    print_table(d->rows, d->n_rows, d->samples);
    /* The point of the demo: the same predictions everywhere. */
    const struct row *ref = NULL;
    bool same = true;
    size_t n_ok = 0;
    for (size_t i = 0; i < d->n_rows; i++) {
        if (!d->rows[i].ok)
            continue;
        n_ok++;
        if (!ref)
            ref = &d->rows[i];
        else if (memcmp(ref->predicted, d->rows[i].predicted, sizeof ref->predicted) != 0)
            same = false;
    }
    if (n_ok > 1)
        printf("same predictions on all %zu boards: %s\n", n_ok, same ? "yes" : "NO");
    if (!same)
        d->failed = true;
    if (keep)
        printf("projects kept in %s (try: %s run %s/%s)\n", work, ctx->prog, work,
               ref ? ref->board : first_board);
}

static void demo_run_close(struct demo_run *d)
{
    if (d->samples)
        free_samples(d->samples, d->n_samples);
    free(d->samples);
    for (size_t i = 0; d->rows && i < d->n_rows; i++)
        cJSON_Delete(d->rows[i].summary);
    free(d->rows);
}

static int run_demo(const struct cli_ctx *ctx, const struct cli_command *cmd,
                    const struct cli_args *a)
{
    struct err err;
    struct demo_paths paths;
    struct demo_run d = {0};
    char work[PATH_MAX] = "";
    char **names = NULL;
    bool made_work = false;
    const char *board_arg = cli__opt(cmd, a, "board"), *keep = cli__opt(cmd, a, "keep");
    const char *report = cli__opt(cmd, a, "report"), *link = cli__opt(cmd, a, "link");
    bool all = cli__opt(cmd, a, "all") != NULL;
    int rc;
    err_clear(&err);

    if (all && board_arg) {
        err_set(&err, ERR_INVALID, "demo: --board and --all exclude each other; give one");
        return cli__usage_error(ctx, "demo ", &err);
    }
    if ((rc = find_paths(&paths, &err)) < 0)
        goto out;
    if (!(d.samples = calloc(MAX_SAMPLES, sizeof *d.samples))) {
        rc = err_set(&err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    if ((rc = read_samples(paths.samples, d.samples, &d.n_samples, &err)) < 0 ||
        (rc = pick_boards(paths.mdir, all, board_arg, &names, &d.n_boards, &err)) < 0)
        goto out;
    if (!(d.rows = calloc(d.n_boards, sizeof *d.rows))) {
        rc = err_set(&err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    if ((rc = make_work_dir(keep, work, sizeof work, &made_work, &err)) < 0)
        goto out;
    rc = run_boards(ctx, &paths, work, link, names, &d, &err);
    if (d.n_rows) /* the boards ran, even when closing the template's server then failed */
        report_demo(ctx, &d, keep, work, names[0]);
    if (rc == 0 && report)
        rc = write_report(report, d.rows, d.n_rows, &err);
out:
    if (made_work) {
        struct err rm_err;
        if (fs_remove_tree(work, &rm_err) < 0)
            log_warn("could not remove %s: %s", work, rm_err.msg);
    }
    demo_run_close(&d);
    mach_free_names(names, d.n_boards);
    int status = cli__finish(ctx, NULL, rc, &err);
    return d.failed ? CLI_EXIT_FAIL : status;
}

const struct cli_command cli__cmd_demo = {
    .name = "demo",
    .synopsis = "",
    .summary = "build the bundled sample model for a board (or all) and run it",
    .description =
        "The whole path a TVM user takes, on the bundled sample model (an int8 digit\n"
        "classifier, 64 -> 32 -> 10): its MLF tar, then per board an aot_standalone\n"
        "project (create), its firmware (build), flash, and a run on ten held-out\n"
        "images, one per digit. Prints a table: correct predictions, the first image's\n"
        "prediction and label, outputs identical to the reference bit for bit, the\n"
        "exact instruction count and virtual time of one inference, the firmware's\n"
        "flash size, and the build and run wall times. --report FILE also writes an\n"
        "HTML page of the first image's per-operator counts, a section per board.\n"
        "--link fast runs the transport on the board's fast link (the server refuses\n"
        "it, saying which boards have one, for a board without). The\n"
        "projects live in a temporary directory, removed at the end unless --keep DIR.\n"
        "One progress line per step on stderr; -v adds the compiler's output.\n",
    .opts = demo_opts,
    .n_opts = sizeof demo_opts / sizeof demo_opts[0],
    .min_pos = 0,
    .max_pos = 0,
    .run = run_demo,
};
