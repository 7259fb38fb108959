/*
 * The commands that look rather than change: `machines` (the boards in the template),
 * `template-dir` (where TVM should point generate_project) and `info` (what a project is, how
 * big its firmware is and whether it is flashed). Text for people, --json for scripts.
 */
#include "command.h"
#include "elfsize.h"
#include "fs.h"
#include "jsonget.h"
#include "log.h"
#include "machine.h"
#include "record.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "4 MiB", "64 KiB", "1000 B": sizes as people read them; exact only when divisible. */
static void human_size(uint64_t n, char *out, size_t outsz)
{
    if (n && n % (1024 * 1024) == 0)
        snprintf(out, outsz, "%" PRIu64 " MiB", n / (1024 * 1024));
    else if (n && n % 1024 == 0)
        snprintf(out, outsz, "%" PRIu64 " KiB", n / 1024);
    else
        snprintf(out, outsz, "%" PRIu64 " B", n);
}

/* o[name] = {"kind": kind (left out when NULL), "base": "0x%08x"}: a memory region or a
 * device as machine_json reports it; the caller adds the rest. NULL when out of memory. */
static cJSON *add_placed(cJSON *o, const char *name, const char *kind, uint64_t base)
{
    char hex[32];
    cJSON *x = cJSON_AddObjectToObject(o, name);
    if (x && kind)
        cJSON_AddStringToObject(x, "kind", kind);
    snprintf(hex, sizeof hex, "0x%08" PRIx64, base);
    if (x)
        cJSON_AddStringToObject(x, "base", hex);
    return x;
}

/* One board as JSON: the facts `machines --json` and `info --json` report. */
static cJSON *machine_json(const struct machine *m)
{
    cJSON *o = cJSON_CreateObject(), *x;
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", m->name);
    cJSON_AddStringToObject(o, "description", m->description);
    cJSON_AddStringToObject(o, "arch", m->arch);
    cJSON_AddStringToObject(o, "cpu", m->cpu);
    char target[160];
    mach_tvm_target(m, target, sizeof target);
    cJSON_AddStringToObject(o, "tvm_model", m->tvm_model);
    cJSON_AddStringToObject(o, "tvm_target", target);
    cJSON_AddStringToObject(o, "qemu_binary", m->qemu_binary);
    cJSON_AddStringToObject(o, "qemu_machine", m->qemu_machine);
    if ((x = add_placed(o, "flash", NULL, m->flash.base)))
        cJSON_AddNumberToObject(x, "size", (double)m->flash.size);
    if ((x = add_placed(o, "ram", NULL, m->ram.base)))
        cJSON_AddNumberToObject(x, "size", (double)m->ram.size);
    add_placed(o, "uart", m->uart_kind, m->uart_base);
    cJSON_AddStringToObject(o, "default_libc", m->n_libcs ? m->libcs[0] : "");
    if ((x = cJSON_AddArrayToObject(o, "libcs")))
        for (size_t i = 0; i < m->n_libcs; i++)
            cJSON_AddItemToArray(x, cJSON_CreateString(m->libcs[i]));
    cJSON_AddNumberToObject(o, "default_workspace_bytes", (double)m->default_workspace_bytes);
    /* the transport's links: always the UART; the fast one where the machine file has it */
    if ((x = cJSON_AddArrayToObject(o, "links"))) {
        cJSON_AddItemToArray(x, cJSON_CreateString("uart"));
        if (mach_has_fast_link(m))
            cJSON_AddItemToArray(x, cJSON_CreateString("fast"));
    }
    if (mach_has_fast_link(m) &&
        (x = add_placed(o, "fast_link", m->fast_link_kind, m->fast_link_base)))
        cJSON_AddNumberToObject(x, "irq", m->fast_link_irq);
    return o;
}

/* TVM's boards.json: an object keyed by board, each with the keys TVM's own templates give
 * ("model" is what tvm.micro.testing.get_target reads), plus the full target string. */
static cJSON *boards_json(const struct machine *ms, size_t n)
{
    cJSON *all = cJSON_CreateObject();
    for (size_t i = 0; all && i < n; i++) {
        char target[160];
        mach_tvm_target(&ms[i], target, sizeof target);
        cJSON *b = cJSON_AddObjectToObject(all, ms[i].name);
        if (!b || !cJSON_AddStringToObject(b, "board", ms[i].name) ||
            !cJSON_AddStringToObject(b, "model", ms[i].tvm_model) ||
            !cJSON_AddBoolToObject(b, "is_qemu", true) ||
            !cJSON_AddBoolToObject(b, "fpu", mach_has_fpu(&ms[i])) ||
            !cJSON_AddStringToObject(b, "vid_hex", "") ||
            !cJSON_AddStringToObject(b, "pid_hex", "") ||
            !cJSON_AddStringToObject(b, "target", target)) {
            cJSON_Delete(all);
            return NULL;
        }
    }
    return all;
}

/* Prints JSON to stdout, one document and a newline. */
static int print_json(const cJSON *j, struct err *err)
{
    char *text = cJSON_Print(j);
    if (!text)
        return err_set(err, ERR_INTERNAL, "out of memory printing JSON");
    printf("%s\n", text);
    free(text);
    return 0;
}

/* ---- machines ---- */

static const struct cli_opt machines_opts[] = {
    {"json", 0, NULL, false, "print a JSON array instead of a table"},
    {"boards-json", 0, NULL, false, "print TVM's boards.json (board -> target model), as the "
                                    "template carries it"},
};

/* The boards of the template, one machine file each in its machines/: *ms (n of them) is the
 * caller's to free. No machine file at all is an error: the template is broken. */
static int load_machines(struct machine **ms, size_t *n, struct err *err)
{
    char tdir[PATH_MAX], mdir[PATH_MAX];
    char **names = NULL;
    int rc;
    *ms = NULL;
    *n = 0;
    if ((rc = cli__template_dir(tdir, sizeof tdir, err)) < 0 ||
        (rc = fs_join(mdir, sizeof mdir, tdir, "machines", err)) < 0 ||
        (rc = mach_list(mdir, &names, n, err)) < 0)
        goto out;
    if (*n == 0) {
        rc = err_set(err, ERR_INVALID, "%s: no machine files (*.json); rebuild the template "
                     "(ninja)", mdir);
        goto out;
    }
    if (!(*ms = calloc(*n, sizeof **ms))) {
        rc = err_set(err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < *n && rc == 0; i++)
        rc = mach_load_by_name(&(*ms)[i], mdir, names[i], err);
out:
    mach_free_names(names, *n);
    return rc;
}

/* The table for people, sized to its contents: name, arch, CPU, RAM, UART, default libc, the
 * transport's links (the link option's values), description; then each board's TVM target. */
static void print_machines(const struct machine *ms, size_t n)
{
    int w[7] = {4, 4, 3, 3, 4, 4, 5};
    char cells[7][128];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], "NAME", w[1], "ARCH",
                   w[2], "CPU", w[3], "RAM", w[4], "UART", w[5], "LIBC", w[6], "LINKS",
                   "DESCRIPTION");
        for (size_t i = 0; i < n; i++) {
            const struct machine *m = &ms[i];
            snprintf(cells[0], sizeof cells[0], "%s", m->name);
            snprintf(cells[1], sizeof cells[1], "%s", m->arch);
            snprintf(cells[2], sizeof cells[2], "%s", m->cpu);
            human_size(m->ram.size, cells[3], sizeof cells[3]);
            snprintf(cells[4], sizeof cells[4], "%s@0x%" PRIx64, m->uart_kind, m->uart_base);
            snprintf(cells[5], sizeof cells[5], "%s", m->n_libcs ? m->libcs[0] : "-");
            mach_links(m, cells[6], sizeof cells[6]);
            if (pass == 0) {
                for (int c = 0; c < 7; c++)
                    if ((int)strlen(cells[c]) > w[c])
                        w[c] = (int)strlen(cells[c]);
                continue;
            }
            printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], cells[0], w[1],
                   cells[1], w[2], cells[2], w[3], cells[3], w[4], cells[4], w[5], cells[5], w[6],
                   cells[6], m->description);
        }
    }
    /* what a TVM user compiles for: boards.json's model, and the target tvmc takes */
    printf("\nTVM targets (boards.json \"model\"; pass the string to tvmc compile --target):\n");
    for (size_t i = 0; i < n; i++) {
        char target[160];
        mach_tvm_target(&ms[i], target, sizeof target);
        printf("%-*s  %-*s  --target \"%s\"\n", w[0], ms[i].name, 11, ms[i].tvm_model, target);
    }
}

/* --json: an array of machine_json objects. */
static cJSON *machines_json(const struct machine *ms, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++)
        cJSON_AddItemToArray(arr, machine_json(&ms[i]));
    return arr;
}

static int run_machines(const struct cli_ctx *ctx, const struct cli_command *cmd,
                        const struct cli_args *a)
{
    struct err err;
    struct machine *ms = NULL;
    size_t n = 0;
    err_clear(&err);
    int rc = load_machines(&ms, &n, &err);
    bool boards = cli__opt(cmd, a, "boards-json") != NULL, json = cli__opt(cmd, a, "json");
    if (rc == 0 && (boards || json)) {
        cJSON *out = boards ? boards_json(ms, n) : machines_json(ms, n);
        rc = out ? print_json(out, &err) : err_set(&err, ERR_INTERNAL, "out of memory");
        cJSON_Delete(out);
    } else if (rc == 0) {
        print_machines(ms, n);
    }
    free(ms);
    return cli__finish(ctx, NULL, rc, &err);
}

const struct cli_command cli__cmd_machines = {
    .name = "machines",
    .synopsis = "",
    .summary = "list the emulated boards",
    .description = "Lists the boards of the template project (one machine file each in its\n"
                   "machines/ directory): name, architecture, CPU, RAM, UART (driver@address),\n"
                   "default C library, the transport's links (what the link option takes:\n"
                   "uart everywhere, fast where the board has a fast link). The name is what\n"
                   "--board takes. Below the table, each\n"
                   "board's TVM target model (boards.json) and the --target string to give\n"
                   "tvmc compile. --boards-json prints the template's boards.json.\n",
    .opts = machines_opts,
    .n_opts = sizeof machines_opts / sizeof machines_opts[0],
    .run = run_machines,
};

/* ---- template-dir ---- */

static int run_template_dir(const struct cli_ctx *ctx, const struct cli_command *cmd,
                            const struct cli_args *a)
{
    (void)cmd;
    (void)a;
    struct err err;
    char tdir[PATH_MAX];
    err_clear(&err);
    int rc = cli__template_dir(tdir, sizeof tdir, &err);
    if (rc == 0)
        printf("%s\n", tdir);
    return cli__finish(ctx, NULL, rc, &err);
}

const struct cli_command cli__cmd_template_dir = {
    .name = "template-dir",
    .synopsis = "",
    .summary = "print the template project's directory (for TVM's generate_project)",
    .description = "Prints the absolute path of the template project that this build assembled\n"
                   "(<build>/template_project). Give it to TVM:\n"
                   "  tvm.micro.generate_project(\"$(microtvm-qemu template-dir)\", ...)\n"
                   "  tvmc micro create PROJECT MODEL.tar template --template-dir DIR ...\n",
    .run = run_template_dir,
};

/* ---- info ---- */

static const struct cli_opt info_opts[] = {
    {"json", 0, NULL, false, "print one JSON object instead of text"},
};

static void percent(uint64_t used, uint64_t of, char *out, size_t outsz)
{
    char total[32];
    human_size(of, total, sizeof total);
    if (of)
        snprintf(out, outsz, "%.1f%% of %s", 100.0 * (double)used / (double)of, total);
    else
        snprintf(out, outsz, "of an unknown size");
}

/* What info reports about a project, all gathered before anything is printed. */
struct project_facts {
    char dir[PATH_MAX];     /* the project, absolute */
    char elf[PATH_MAX];     /* RECORD_BUILT_ELF */
    char flashed[PATH_MAX]; /* RECORD_FLASHED_ELF */
    cJSON *info;            /* the server's ServerInfo */
    struct project_record rec; /* project.json (zeroed when the project has none) */
    const cJSON *opts;      /* the options it records (in rec), or NULL */
    const char *board, *type, *mlf; /* in rec and info, or NULL */
    struct machine *m;      /* the board's machine file, or NULL when it cannot be read */
    struct cli_elf_sizes sz;
    bool built, is_flashed, flashed_current;
};

static void project_facts_close(struct project_facts *f)
{
    record_close(&f->rec);
    cJSON_Delete(f->info);
    free(f->m);
}

/* project.json: what generate_project recorded. A project without one (the server checked it
 * is a project) leaves f->rec zeroed and f->opts NULL. */
static int read_record(struct project_facts *f, struct err *err)
{
    int rc = record_read(&f->rec, f->dir, err);
    if (rc == ERR_STATE) {
        record_close(&f->rec);
        err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    f->opts = f->rec.options;
    f->board = f->rec.board[0] ? f->rec.board : NULL;
    /* the type as asked for: TVM's aot_standalone_demo is recorded as aot_standalone + aot_demo */
    f->type = f->rec.aot_demo ? "aot_standalone_demo"
              : f->rec.project_type[0] ? f->rec.project_type : NULL;
    return 0;
}

/* The board's machine file from the project's machines/, or NULL: sizes are still worth
 * showing without the board's totals. */
static struct machine *load_board(const char *dir, const char *board)
{
    struct err err;
    struct machine *m = NULL;
    if (cli__machine_load(dir, board, &m, &err) < 0)
        log_debug("no board totals: %s", err.msg);
    return m;
}

/* The firmware: built (and its sizes), flashed, and whether the flashed image is the build. */
static int firmware_state(struct project_facts *f, struct err *err)
{
    int rc;
    if ((rc = fs_join(f->elf, sizeof f->elf, f->dir, RECORD_BUILT_ELF, err)) < 0 ||
        (rc = fs_join(f->flashed, sizeof f->flashed, f->dir, RECORD_FLASHED_ELF, err)) < 0)
        return rc;
    if (fs_exists(f->elf)) {
        if ((rc = cli_elf_sizes(f->elf, &f->sz, err)) < 0)
            return rc;
        f->built = true;
    }
    f->is_flashed = fs_exists(f->flashed);
    f->flashed_current = f->is_flashed && f->built && cli__same_file(f->elf, f->flashed);
    return 0;
}

/* Asks the project's server for its ServerInfo, then reads what the project holds. */
static int gather_facts(const struct cli_ctx *ctx, const char *project,
                        struct project_facts *f, struct err *err)
{
    struct cli_client *client = NULL;
    int rc;
    if ((rc = cli__open_project(ctx, project, f->dir, sizeof f->dir, &client, &f->info, err)) < 0)
        return rc;
    /* all we need from the server is the ServerInfo */
    if ((rc = cli__close_server(client, 0, err)) < 0 ||
        (rc = read_record(f, err)) < 0)
        return rc;
    f->mlf = cli_json_str(f->info, "model_library_format_path");
    if (f->board)
        f->m = load_board(f->dir, f->board);
    return firmware_state(f, err);
}

/* info --json: one object. */
static cJSON *facts_json(const struct project_facts *f)
{
    cJSON *out = cJSON_CreateObject(), *x;
    if (!out)
        return NULL;
    cJSON_AddStringToObject(out, "project_dir", f->dir);
    const char *platform = cli_json_str(f->info, "platform_name");
    cJSON_AddStringToObject(out, "platform_name", platform ? platform : "");
    cJSON_AddItemToObject(out, "board", f->board ? cJSON_CreateString(f->board)
                                                 : cJSON_CreateNull());
    cJSON_AddItemToObject(out, "project_type", f->type ? cJSON_CreateString(f->type)
                                                       : cJSON_CreateNull());
    cJSON_AddItemToObject(out, "model_library_format_path",
                          f->mlf && *f->mlf ? cJSON_CreateString(f->mlf) : cJSON_CreateNull());
    cJSON_AddItemToObject(out, "options",
                          f->opts ? cJSON_Duplicate(f->opts, 1) : cJSON_CreateObject());
    if (f->m)
        cJSON_AddItemToObject(out, "machine", machine_json(f->m));
    if (f->built && (x = cJSON_AddObjectToObject(out, "firmware"))) {
        cJSON_AddStringToObject(x, "path", f->elf);
        cJSON_AddNumberToObject(x, "text", (double)f->sz.text);
        cJSON_AddNumberToObject(x, "data", (double)f->sz.data);
        cJSON_AddNumberToObject(x, "bss", (double)f->sz.bss);
        cJSON_AddNumberToObject(x, "flash_bytes", (double)(f->sz.text + f->sz.data));
        cJSON_AddNumberToObject(x, "ram_bytes", (double)(f->sz.data + f->sz.bss));
    } else {
        cJSON_AddNullToObject(out, "firmware");
    }
    cJSON_AddBoolToObject(out, "flashed", f->is_flashed);
    cJSON_AddBoolToObject(out, "flashed_is_current", f->flashed_current);
    return out;
}

/* The recorded options but board and project_type (shown on their own lines). */
static void print_options(const cJSON *opts)
{
    const cJSON *o;
    printf("options   ");
    cJSON_ArrayForEach(o, opts) {
        if (cJSON_IsNull(o) || strcmp(o->string, "board") == 0 ||
            strcmp(o->string, "project_type") == 0)
            continue;
        char *v = cJSON_IsString(o) ? NULL : cJSON_PrintUnformatted(o);
        printf(" %s=%s", o->string, v ? v : o->valuestring);
        free(v);
    }
    printf("\n");
}

/* The firmware's sizes (against the board's flash and RAM when known) and flash state. */
static void print_firmware(const struct cli_ctx *ctx, const char *project,
                           const struct project_facts *f)
{
    const struct cli_elf_sizes *sz = &f->sz;
    if (f->built) {
        char fl[64] = "", r[64] = "";
        if (f->m) {
            percent(sz->text + sz->data, f->m->flash.size, fl, sizeof fl);
            percent(sz->data + sz->bss, f->m->ram.size, r, sizeof r);
        }
        printf("firmware   text %" PRIu64 "  data %" PRIu64 "  bss %" PRIu64 "  (%s)\n",
               sz->text, sz->data, sz->bss, f->elf);
        if (f->m)
            printf("           flash %" PRIu64 " B (%s), RAM %" PRIu64 " B (%s) before heap "
                   "and stack\n", sz->text + sz->data, fl, sz->data + sz->bss, r);
    } else {
        printf("firmware   not built (run '%s build %s')\n", ctx->prog, project);
    }
    if (!f->is_flashed)
        printf("flashed    no (run '%s flash %s')\n", ctx->prog, project);
    else if (f->flashed_current)
        printf("flashed    yes, the current build\n");
    else
        printf("flashed    yes, but not the current build (run '%s flash %s' again)\n",
               ctx->prog, project);
}

/* info as text for people. */
static void print_facts(const struct cli_ctx *ctx, const char *project,
                        const struct project_facts *f)
{
    printf("project    %s\n", f->dir);
    if (f->m)
        printf("board      %s (%s, %s)\n", f->board, f->m->cpu, f->m->description);
    else
        printf("board      %s\n", f->board ? f->board : "(unknown: no project.json)");
    printf("type       %s\n", f->type ? f->type : "(unknown)");
    printf("model      %s\n", f->mlf && *f->mlf ? f->mlf : "none");
    if (f->opts)
        print_options(f->opts);
    print_firmware(ctx, project, f);
}

static int run_info(const struct cli_ctx *ctx, const struct cli_command *cmd,
                    const struct cli_args *a)
{
    struct err err;
    struct project_facts f = {0};
    err_clear(&err);
    int rc = gather_facts(ctx, a->pos[0], &f, &err);
    if (rc == 0 && cli__opt(cmd, a, "json")) {
        cJSON *out = facts_json(&f);
        rc = out ? print_json(out, &err) : err_set(&err, ERR_INTERNAL, "out of memory");
        cJSON_Delete(out);
    } else if (rc == 0) {
        print_facts(ctx, a->pos[0], &f);
    }
    project_facts_close(&f);
    return cli__finish(ctx, NULL, rc, &err);
}

const struct cli_command cli__cmd_info = {
    .name = "info",
    .synopsis = "PROJECT_DIR",
    .summary = "show a project's board, type, options, firmware size and flash state",
    .description = "Asks the project's server for its ServerInfo and reads the options it\n"
                   "recorded (project.json). Firmware sizes come from build/firmware.elf's\n"
                   "section headers (text, data, bss as `size` counts them); flashed means\n"
                   "flash/firmware.elf exists, and whether it is the current build.\n",
    .opts = info_opts,
    .n_opts = sizeof info_opts / sizeof info_opts[0],
    .min_pos = 1,
    .max_pos = 1,
    .run = run_info,
};
