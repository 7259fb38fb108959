/*
 * The commands that look rather than change: `machines` (the boards in the template),
 * `template-dir` (where TVM should point generate_project) and `info` (what a project is, how
 * big its firmware is and whether it is flashed). Text for people, --json for scripts.
 */
#include "elfsize.h"
#include "fs.h"
#include "internal.h"
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

static void hex(uint64_t v, char *out, size_t outsz)
{
    snprintf(out, outsz, "0x%08" PRIx64, v);
}

/* One board as JSON: the facts `machines --json` and `info --json` report. */
static cJSON *machine_json(const struct machine *m)
{
    char buf[32];
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
    if ((x = cJSON_AddObjectToObject(o, "flash"))) {
        hex(m->flash.base, buf, sizeof buf);
        cJSON_AddStringToObject(x, "base", buf);
        cJSON_AddNumberToObject(x, "size", (double)m->flash.size);
    }
    if ((x = cJSON_AddObjectToObject(o, "ram"))) {
        hex(m->ram.base, buf, sizeof buf);
        cJSON_AddStringToObject(x, "base", buf);
        cJSON_AddNumberToObject(x, "size", (double)m->ram.size);
    }
    if ((x = cJSON_AddObjectToObject(o, "uart"))) {
        cJSON_AddStringToObject(x, "kind", m->uart_kind);
        hex(m->uart_base, buf, sizeof buf);
        cJSON_AddStringToObject(x, "base", buf);
    }
    cJSON_AddStringToObject(o, "default_libc", m->n_libcs ? m->libcs[0] : "");
    if ((x = cJSON_AddArrayToObject(o, "libcs")))
        for (size_t i = 0; i < m->n_libcs; i++)
            cJSON_AddItemToArray(x, cJSON_CreateString(m->libcs[i]));
    cJSON_AddNumberToObject(o, "default_workspace_bytes", (double)m->default_workspace_bytes);
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

static int run_machines(const struct cli_ctx *ctx, const struct cli_command *cmd,
                        const struct cli_args *a)
{
    struct err err;
    char tdir[PATH_MAX], mdir[PATH_MAX];
    char **names = NULL;
    size_t n = 0;
    struct machine *ms = NULL;
    cJSON *arr = NULL;
    int rc;
    err_clear(&err);
    if ((rc = cli__template_dir(tdir, sizeof tdir, &err)) < 0 ||
        (rc = fs_join(mdir, sizeof mdir, tdir, "machines", &err)) < 0 ||
        (rc = mach_list(mdir, &names, &n, &err)) < 0)
        goto out;
    if (n == 0) {
        rc = err_set(&err, ERR_INVALID, "%s: no machine files (*.json); rebuild the template "
                     "(ninja)", mdir);
        goto out;
    }
    if (!(ms = calloc(n, sizeof *ms))) {
        rc = err_set(&err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = mach_load_by_name(&ms[i], mdir, names[i], &err)) < 0)
            goto out;

    if (cli__opt(cmd, a, "boards-json")) {
        if (!(arr = boards_json(ms, n)))
            rc = err_set(&err, ERR_INTERNAL, "out of memory");
        else
            rc = print_json(arr, &err);
        goto out;
    }
    if (cli__opt(cmd, a, "json")) {
        if (!(arr = cJSON_CreateArray())) {
            rc = err_set(&err, ERR_INTERNAL, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(arr, machine_json(&ms[i]));
        rc = print_json(arr, &err);
        goto out;
    }
    /* A table sized to its contents: name, arch, CPU, RAM, UART, default libc, description. */
    int w[6] = {4, 4, 3, 3, 4, 4};
    char cells[6][128];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], "NAME", w[1], "ARCH", w[2],
                   "CPU", w[3], "RAM", w[4], "UART", w[5], "LIBC", "DESCRIPTION");
        for (size_t i = 0; i < n; i++) {
            const struct machine *m = &ms[i];
            snprintf(cells[0], sizeof cells[0], "%s", m->name);
            snprintf(cells[1], sizeof cells[1], "%s", m->arch);
            snprintf(cells[2], sizeof cells[2], "%s", m->cpu);
            human_size(m->ram.size, cells[3], sizeof cells[3]);
            snprintf(cells[4], sizeof cells[4], "%s@0x%" PRIx64, m->uart_kind, m->uart_base);
            snprintf(cells[5], sizeof cells[5], "%s", m->n_libcs ? m->libcs[0] : "-");
            if (pass == 0) {
                for (int c = 0; c < 6; c++)
                    if ((int)strlen(cells[c]) > w[c])
                        w[c] = (int)strlen(cells[c]);
                continue;
            }
            printf("%-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", w[0], cells[0], w[1], cells[1],
                   w[2], cells[2], w[3], cells[3], w[4], cells[4], w[5], cells[5],
                   m->description);
        }
    }
    /* what a TVM user compiles for: boards.json's model, and the target tvmc takes */
    printf("\nTVM targets (boards.json \"model\"; pass the string to tvmc compile --target):\n");
    for (size_t i = 0; i < n; i++) {
        char target[160];
        mach_tvm_target(&ms[i], target, sizeof target);
        printf("%-*s  %-*s  --target \"%s\"\n", w[0], ms[i].name, 11, ms[i].tvm_model, target);
    }
out:
    if (rc < 0)
        cli__report(ctx, &err);
    cJSON_Delete(arr);
    free(ms);
    mach_free_names(names, n);
    return rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

const struct cli_command cli__cmd_machines = {
    .name = "machines",
    .synopsis = "",
    .summary = "list the emulated boards",
    .description = "Lists the boards of the template project (one machine file each in its\n"
                   "machines/ directory): name, architecture, CPU, RAM, UART (driver@address),\n"
                   "default C library. The name is what --board takes. Below the table, each\n"
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
    if (cli__template_dir(tdir, sizeof tdir, &err) < 0) {
        cli__report(ctx, &err);
        return CLI_EXIT_FAIL;
    }
    printf("%s\n", tdir);
    return CLI_EXIT_OK;
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

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void percent(uint64_t used, uint64_t of, char *out, size_t outsz)
{
    char total[32];
    human_size(of, total, sizeof total);
    if (of)
        snprintf(out, outsz, "%.1f%% of %s", 100.0 * (double)used / (double)of, total);
    else
        snprintf(out, outsz, "of an unknown size");
}

static int run_info(const struct cli_ctx *ctx, const struct cli_command *cmd,
                    const struct cli_args *a)
{
    struct err err;
    struct cli_client *client = NULL;
    cJSON *info = NULL, *out = NULL;
    struct project_record rec = {0};
    char dir[PATH_MAX], elf[PATH_MAX], flashed[PATH_MAX];
    struct machine *m = NULL;
    int rc;
    err_clear(&err);

    if ((rc = cli__abs_path(a->pos[0], dir, sizeof dir, &err)) < 0)
        goto out;
    if ((rc = cli__open_server(ctx, dir, false, &client, &info, &err)) < 0)
        goto out;
    rc = cli__close_server(client, 0, &err); /* all we need from it is the ServerInfo */
    client = NULL;
    if (rc < 0)
        goto out;

    /* project.json: what generate_project recorded (the server checked it is a project) */
    bool recorded = false;
    if ((rc = record_read(&rec, dir, &err)) == 0)
        recorded = true;
    else if (rc != ERR_STATE)
        goto out;
    err_clear(&err);
    rc = 0;
    const cJSON *opts = recorded ? rec.options : NULL;
    const char *board = rec.board[0] ? rec.board : NULL;
    /* the type as asked for: TVM's aot_standalone_demo is recorded as aot_standalone + aot_demo */
    const char *type = rec.aot_demo            ? "aot_standalone_demo"
                       : rec.project_type[0] ? rec.project_type
                                             : NULL;

    if (board) {
        char mdir[PATH_MAX];
        if (!(m = calloc(1, sizeof *m))) {
            rc = err_set(&err, ERR_INTERNAL, "out of memory");
            goto out;
        }
        if (fs_join(mdir, sizeof mdir, dir, "machines", &err) < 0 ||
            mach_load_by_name(m, mdir, board, &err) < 0) {
            log_debug("no board totals: %s", err.msg);
            free(m);
            m = NULL; /* sizes are still worth showing without the board's totals */
            err_clear(&err);
        }
    }

    struct cli_elf_sizes sz = {0};
    bool built = false, is_flashed = false, flashed_current = false;
    if ((rc = fs_join(elf, sizeof elf, dir, RECORD_BUILT_ELF, &err)) < 0 ||
        (rc = fs_join(flashed, sizeof flashed, dir, RECORD_FLASHED_ELF, &err)) < 0)
        goto out;
    if (fs_exists(elf)) {
        if ((rc = cli_elf_sizes(elf, &sz, &err)) < 0)
            goto out;
        built = true;
    }
    is_flashed = fs_exists(flashed);
    flashed_current = is_flashed && built && cli__same_file(elf, flashed);
    const char *mlf = json_str(info, "model_library_format_path");

    if (cli__opt(cmd, a, "json")) {
        cJSON *x;
        if (!(out = cJSON_CreateObject())) {
            rc = err_set(&err, ERR_INTERNAL, "out of memory");
            goto out;
        }
        cJSON_AddStringToObject(out, "project_dir", dir);
        const char *platform = json_str(info, "platform_name");
        cJSON_AddStringToObject(out, "platform_name", platform ? platform : "");
        cJSON_AddItemToObject(out, "board", board ? cJSON_CreateString(board) : cJSON_CreateNull());
        cJSON_AddItemToObject(out, "project_type",
                              type ? cJSON_CreateString(type) : cJSON_CreateNull());
        cJSON_AddItemToObject(out, "model_library_format_path",
                              mlf && *mlf ? cJSON_CreateString(mlf) : cJSON_CreateNull());
        cJSON_AddItemToObject(out, "options",
                              opts ? cJSON_Duplicate(opts, 1) : cJSON_CreateObject());
        if (m)
            cJSON_AddItemToObject(out, "machine", machine_json(m));
        if (built && (x = cJSON_AddObjectToObject(out, "firmware"))) {
            cJSON_AddStringToObject(x, "path", elf);
            cJSON_AddNumberToObject(x, "text", (double)sz.text);
            cJSON_AddNumberToObject(x, "data", (double)sz.data);
            cJSON_AddNumberToObject(x, "bss", (double)sz.bss);
            cJSON_AddNumberToObject(x, "flash_bytes", (double)(sz.text + sz.data));
            cJSON_AddNumberToObject(x, "ram_bytes", (double)(sz.data + sz.bss));
        } else {
            cJSON_AddNullToObject(out, "firmware");
        }
        cJSON_AddBoolToObject(out, "flashed", is_flashed);
        cJSON_AddBoolToObject(out, "flashed_is_current", flashed_current);
        rc = print_json(out, &err);
        goto out;
    }

    printf("project    %s\n", dir);
    if (m)
        printf("board      %s (%s, %s)\n", board, m->cpu, m->description);
    else
        printf("board      %s\n", board ? board : "(unknown: no project.json)");
    printf("type       %s\n", type ? type : "(unknown)");
    printf("model      %s\n", mlf && *mlf ? mlf : "none");
    if (opts) {
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
    if (built) {
        char f[64] = "", r[64] = "";
        if (m) {
            percent(sz.text + sz.data, m->flash.size, f, sizeof f);
            percent(sz.data + sz.bss, m->ram.size, r, sizeof r);
        }
        printf("firmware   text %" PRIu64 "  data %" PRIu64 "  bss %" PRIu64 "  (%s)\n", sz.text,
               sz.data, sz.bss, elf);
        if (m)
            printf("           flash %" PRIu64 " B (%s), RAM %" PRIu64 " B (%s) before heap "
                   "and stack\n", sz.text + sz.data, f, sz.data + sz.bss, r);
    } else {
        printf("firmware   not built (run '%s build %s')\n", ctx->prog, a->pos[0]);
    }
    if (!is_flashed)
        printf("flashed    no (run '%s flash %s')\n", ctx->prog, a->pos[0]);
    else if (flashed_current)
        printf("flashed    yes, the current build\n");
    else
        printf("flashed    yes, but not the current build (run '%s flash %s' again)\n", ctx->prog,
               a->pos[0]);
out:
    if (rc < 0)
        cli__report(ctx, &err);
    if (client)
        cli__close_server(client, rc, &err);
    cJSON_Delete(out);
    record_close(&rec);
    cJSON_Delete(info);
    free(m);
    return rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
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
