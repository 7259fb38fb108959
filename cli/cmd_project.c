/*
 * The commands that make and change a project, each one Project API call on a server started
 * the way TVM starts it: `create` (the template's server, generate_project), `build` and
 * `flash` (the project's own server). -o name=value passes a project option; only the options
 * given are sent, and the server fills in the defaults it declares.
 */
#include "command.h"
#include "fs.h"
#include "log.h"
#include "machine.h"
#include "mono.h"
#include "record.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets options[key] = value unless -o already gave a different one (a usage error). */
static int set_flag_option(cJSON *options, const char *key, const char *flag, const char *value,
                           struct err *err)
{
    const cJSON *had = cJSON_GetObjectItemCaseSensitive(options, key);
    if (had) {
        if (cJSON_IsString(had) && strcmp(had->valuestring, value) == 0)
            return 0;
        return err_set(err, ERR_INVALID, "create: --%s %s and -o %s=%s disagree; give one", flag,
                       value, key, cJSON_IsString(had) ? had->valuestring : "?");
    }
    if (!cJSON_AddStringToObject(options, key, value))
        return err_set(err, ERR_INTERNAL, "out of memory");
    return 0;
}

/* ---- create ---- */

static const struct cli_opt create_opts[] = {
    {"mlf", 'm', "MODEL.tar", false, "the Model Library Format tar (not needed for --type echo)"},
    {"board", 'b', "BOARD", false, "the board ('microtvm-qemu machines' lists them)"},
    {"type", 't', "TYPE", false,
     "project type: host_driven, aot_standalone, aot_standalone_demo or echo"},
    {"crt", 0, "DIR", false, "TVM's standalone C runtime (host_driven projects)"},
    {"option", 'o', "NAME=VALUE", true, "a project option, e.g. -o libc=newlib -o opt_level=s"},
};

/* What create was asked, and the absolute paths the server gets (its cwd is the template). */
struct create_request {
    const char *project, *board, *type, *mlf_arg, *crt_arg; /* as given */
    char dir[PATH_MAX], tdir[PATH_MAX], mlf[PATH_MAX], crt[PATH_MAX];
};

/* Usage first: nothing starts before the command line makes sense. Returns 0, or
 * CLI_EXIT_USAGE once the problem is printed. */
static int parse_create(const struct cli_ctx *ctx, const struct cli_command *cmd,
                        const struct cli_args *a, struct create_request *r)
{
    struct err err;
    err_clear(&err);
    *r = (struct create_request){
        .project = a->pos[0],
        .board = cli__opt(cmd, a, "board"),
        .type = cli__opt(cmd, a, "type"),
        .mlf_arg = cli__opt(cmd, a, "mlf"),
        .crt_arg = cli__opt(cmd, a, "crt"),
    };
    if (!r->board || !r->type) {
        err_set(&err, ERR_INVALID, "create: --%s is required (%s)", !r->board ? "board" : "type",
                !r->board ? "'microtvm-qemu machines' lists the boards"
                          : "host_driven, aot_standalone, aot_standalone_demo or echo");
        return cli__usage_error(ctx, "create ", &err);
    }
    if (!r->mlf_arg && strcmp(r->type, "echo") != 0) {
        err_set(&err, ERR_INVALID, "create: --mlf MODEL.tar is required for --type %s (only "
                "echo needs no model)", r->type);
        return cli__usage_error(ctx, "create ", &err);
    }
    return cli__check_options(ctx, cmd, a);
}

/* Makes every path absolute and checks what must exist: the model, the runtime, the
 * template, and the board's name (so a typo costs no server start and the message lists the
 * boards; the server validates it again, as TVM callers do not pass this way). */
static int resolve_create(struct create_request *r, struct err *err)
{
    int rc;
    if ((rc = cli__abs_path(r->project, r->dir, sizeof r->dir, err)) < 0 ||
        (r->mlf_arg && (rc = cli__abs_path(r->mlf_arg, r->mlf, sizeof r->mlf, err)) < 0) ||
        (r->crt_arg && (rc = cli__abs_path(r->crt_arg, r->crt, sizeof r->crt, err)) < 0))
        return rc;
    if (r->mlf_arg && !fs_exists(r->mlf))
        return err_set(err, ERR_INVALID, "--mlf %s: no such file; give the .tar that TVM's "
                       "export_model_library_format wrote", r->mlf_arg);
    if (r->crt_arg && !fs_is_dir(r->crt))
        return err_set(err, ERR_INVALID, "--crt %s: no such directory; give TVM's "
                       "standalone_crt directory (tvm.micro.get_standalone_crt_dir())",
                       r->crt_arg);
    if ((rc = cli__template_dir(r->tdir, sizeof r->tdir, err)) < 0)
        return rc;
    struct machine *m = NULL;
    rc = cli__machine_load(r->tdir, r->board, &m, err);
    free(m);
    return rc < 0 ? err_prefix(err, "--board %s", r->board) : 0;
}

/* The one Project API call each command here makes. */
enum call { CALL_GENERATE, CALL_BUILD, CALL_FLASH };

/* The act: the server of dir (the template's for CALL_GENERATE), the -o options (with
 * create's --board and --type added), one call; *sec is how long from the call to the
 * server's stop, as the user waits for both. r is create's request (CALL_GENERATE only). */
static int call_server(const struct cli_ctx *ctx, const struct cli_command *cmd,
                       const struct cli_args *a, const char *dir, enum call call,
                       const struct create_request *r, double *sec, struct err *err)
{
    struct cli_client *client = NULL;
    cJSON *info = NULL, *options = NULL;
    int rc;
    if (call == CALL_GENERATE)
        cli__progress(ctx, "starting the template's server (%s)", dir);
    if ((rc = cli__open_server(ctx, dir, call == CALL_GENERATE, &client, &info, err)) < 0)
        goto out;
    if (!(options = cli__user_options(cmd, a, info, err))) {
        rc = err->code;
        goto out;
    }
    if (call == CALL_GENERATE &&
        ((rc = set_flag_option(options, "board", "board", r->board, err)) < 0 ||
         (rc = set_flag_option(options, "project_type", "type", r->type, err)) < 0))
        goto out;
    if (call == CALL_GENERATE)
        cli__progress(ctx, "generating %s project for %s in %s", r->type, r->board, r->dir);
    else
        cli__progress(ctx, "%s %s", call == CALL_FLASH ? "flashing" : "building", dir);
    double t0 = mono_now_s();
    rc = call == CALL_GENERATE ? cli_generate_project(client, r->mlf, r->crt, r->dir, options, err)
         : call == CALL_FLASH  ? cli_flash(client, options, err)
                               : cli_build(client, options, err);
    options = NULL; /* taken */
    rc = cli__close_server(client, rc, err);
    client = NULL;
    *sec = mono_now_s() - t0;
out:
    if (client)
        rc = cli__close_server(client, rc, err);
    cJSON_Delete(options);
    cJSON_Delete(info);
    return rc;
}

static int run_create(const struct cli_ctx *ctx, const struct cli_command *cmd,
                      const struct cli_args *a)
{
    struct create_request req;
    struct err err;
    double sec = 0;
    int rc = parse_create(ctx, cmd, a, &req);
    if (rc != 0)
        return rc;
    err_clear(&err);
    if ((rc = resolve_create(&req, &err)) == 0 &&
        (rc = call_server(ctx, cmd, a, req.tdir, CALL_GENERATE, &req, &sec, &err)) == 0) {
        cli__progress(ctx, "created %s in %.1f s; next: %s build %s", req.dir, sec, ctx->prog,
                      req.project);
        printf("%s\n", req.dir);
    }
    return cli__finish(ctx, NULL, rc, &err);
}

const struct cli_command cli__cmd_create = {
    .name = "create",
    .synopsis = "PROJECT_DIR --board BOARD --type TYPE [--mlf MODEL.tar]",
    .summary = "generate a project for a board from a model (generate_project)",
    .description =
        "Starts the template's server and calls generate_project, as TVM's\n"
        "tvm.micro.generate_project does. PROJECT_DIR must not exist yet. Types:\n"
        "  aot_standalone  the model runs by itself on the board ('run' reports outputs\n"
        "                  and virtual time); needs --mlf\n"
        "  host_driven     TVM drives the model over the UART (CRT RPC server); needs\n"
        "                  --mlf, and --crt unless the MLF carries its own runtime/\n"
        "  echo            no model: the board echoes every byte ('serial' to try it)\n"
        "Project options (-o): libc, opt_level, workspace_size_bytes, compile_definitions,\n"
        "deterministic, ... ('info' on a project shows the values it recorded).\n"
        "Prints PROJECT_DIR's absolute path on stdout.\n",
    .opts = create_opts,
    .n_opts = sizeof create_opts / sizeof create_opts[0],
    .min_pos = 1,
    .max_pos = 1,
    .run = run_create,
};

/* ---- build and flash: one method on the project's server ---- */

static const struct cli_opt project_opts[] = {
    {"option", 'o', "NAME=VALUE", true, "a project option for this call, e.g. -o verbose=true"},
};

static int run_method(const struct cli_ctx *ctx, const struct cli_command *cmd,
                      const struct cli_args *a, bool flash)
{
    struct err err;
    char dir[PATH_MAX], elf[PATH_MAX];
    double sec = 0;
    int rc;
    err_clear(&err);
    if ((rc = cli__check_options(ctx, cmd, a)) != 0)
        return rc;
    if ((rc = cli__abs_path(a->pos[0], dir, sizeof dir, &err)) == 0 &&
        (rc = call_server(ctx, cmd, a, dir, flash ? CALL_FLASH : CALL_BUILD, NULL, &sec,
                          &err)) == 0 &&
        (rc = fs_join(elf, sizeof elf, dir, flash ? RECORD_FLASHED_ELF : RECORD_BUILT_ELF,
                      &err)) == 0) {
        if (flash)
            cli__progress(ctx, "flashed in %.1f s", sec);
        else
            cli__progress(ctx, "built in %.1f s; next: %s flash %s", sec, ctx->prog, a->pos[0]);
        printf("%s\n", elf);
    }
    return cli__finish(ctx, NULL, rc, &err);
}

static int run_build(const struct cli_ctx *ctx, const struct cli_command *cmd,
                     const struct cli_args *a)
{
    return run_method(ctx, cmd, a, false);
}

static int run_flash(const struct cli_ctx *ctx, const struct cli_command *cmd,
                     const struct cli_args *a)
{
    return run_method(ctx, cmd, a, true);
}

const struct cli_command cli__cmd_build = {
    .name = "build",
    .synopsis = "PROJECT_DIR",
    .summary = "build a project's firmware (build)",
    .description = "Starts the project's server and calls build: CMake and Ninja with the\n"
                   "board's cross toolchain, into PROJECT_DIR/build/. Only what changed is\n"
                   "rebuilt. Prints the firmware's path on stdout.\n",
    .opts = project_opts,
    .n_opts = sizeof project_opts / sizeof project_opts[0],
    .min_pos = 1,
    .max_pos = 1,
    .run = run_build,
};

const struct cli_command cli__cmd_flash = {
    .name = "flash",
    .synopsis = "PROJECT_DIR",
    .summary = "program the emulated board with the built firmware (flash)",
    .description = "Starts the project's server and calls flash: the built image becomes\n"
                   "PROJECT_DIR/" RECORD_FLASHED_ELF ", the image the board boots from then on\n"
                   "('serial' and 'run' power it on). Prints that path on stdout.\n",
    .opts = project_opts,
    .n_opts = sizeof project_opts / sizeof project_opts[0],
    .min_pos = 1,
    .max_pos = 1,
    .run = run_flash,
};
