/*
 * The commands that make and change a project, each one Project API call on a server started
 * the way TVM starts it: `create` (the template's server, generate_project), `build` and
 * `flash` (the project's own server). -o name=value passes a project option; only the options
 * given are sent, and the server fills in the defaults it declares.
 */
#include "fs.h"
#include "internal.h"
#include "log.h"
#include "machine.h"
#include "mono.h"
#include "record.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Builds the options object from the command's -o values, checked against the server's. */
static cJSON *user_options(const struct cli_command *cmd, const struct cli_args *a,
                           const cJSON *info, struct err *err)
{
    size_t n = 0;
    const char *const *texts = cli__opt_all(cmd, a, "option", &n);
    return cli_options_json(texts, n, info, err);
}

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

static int run_create(const struct cli_ctx *ctx, const struct cli_command *cmd,
                      const struct cli_args *a)
{
    struct err err;
    struct cli_client *client = NULL;
    cJSON *info = NULL, *options = NULL;
    char dir[PATH_MAX], tdir[PATH_MAX], mlf[PATH_MAX] = "", crt[PATH_MAX] = "";
    const char *board = cli__opt(cmd, a, "board"), *type = cli__opt(cmd, a, "type");
    const char *mlf_arg = cli__opt(cmd, a, "mlf"), *crt_arg = cli__opt(cmd, a, "crt");
    int rc = 0;
    err_clear(&err);

    /* Usage first: nothing starts before the command line makes sense. */
    if (!board || !type) {
        err_set(&err, ERR_INVALID, "create: --%s is required (%s)", !board ? "board" : "type",
                !board ? "'microtvm-qemu machines' lists the boards"
                       : "host_driven, aot_standalone, aot_standalone_demo or echo");
        return cli__usage_error(ctx, "create ", &err);
    }
    if (!mlf_arg && strcmp(type, "echo") != 0) {
        err_set(&err, ERR_INVALID, "create: --mlf MODEL.tar is required for --type %s (only "
                "echo needs no model)", type);
        return cli__usage_error(ctx, "create ", &err);
    }
    size_t n_o = 0;
    const char *const *o_texts = cli__opt_all(cmd, a, "option", &n_o);
    for (size_t i = 0; i < n_o; i++) {
        char name[64];
        const char *value;
        if (cli_option_split(o_texts[i], name, sizeof name, &value, &err) < 0)
            return cli__usage_error(ctx, "create ", &err);
    }

    /* The server's cwd is the template, so every path we hand it must be absolute. */
    if ((rc = cli__abs_path(a->pos[0], dir, sizeof dir, &err)) < 0 ||
        (mlf_arg && (rc = cli__abs_path(mlf_arg, mlf, sizeof mlf, &err)) < 0) ||
        (crt_arg && (rc = cli__abs_path(crt_arg, crt, sizeof crt, &err)) < 0))
        goto out;
    if (mlf_arg && !fs_exists(mlf)) {
        rc = err_set(&err, ERR_INVALID, "--mlf %s: no such file; give the .tar that TVM's "
                     "export_model_library_format wrote", mlf_arg);
        goto out;
    }
    if (crt_arg && !fs_is_dir(crt)) {
        rc = err_set(&err, ERR_INVALID, "--crt %s: no such directory; give TVM's standalone_crt "
                     "directory (tvm.micro.get_standalone_crt_dir())", crt_arg);
        goto out;
    }
    if ((rc = cli__template_dir(tdir, sizeof tdir, &err)) < 0)
        goto out;
    /* The board's name is checked here too, so a typo costs no server start and the message
     * lists the boards; the server validates it again (TVM callers do not pass this way). */
    char mdir[PATH_MAX];
    struct machine *m = calloc(1, sizeof *m);
    rc = !m ? err_set(&err, ERR_INTERNAL, "out of memory")
            : fs_join(mdir, sizeof mdir, tdir, "machines", &err) < 0
                ? err.code
                : mach_load_by_name(m, mdir, board, &err);
    free(m);
    if (rc < 0) {
        err_prefix(&err, "--board %s", board);
        goto out;
    }

    cli__progress(ctx, "starting the template's server (%s)", tdir);
    if ((rc = cli__open_server(ctx, tdir, true, &client, &info, &err)) < 0)
        goto out;
    if (!(options = user_options(cmd, a, info, &err))) {
        rc = err.code;
        goto out;
    }
    if ((rc = set_flag_option(options, "board", "board", board, &err)) < 0 ||
        (rc = set_flag_option(options, "project_type", "type", type, &err)) < 0)
        goto out;

    cli__progress(ctx, "generating %s project for %s in %s", type, board, dir);
    double t0 = mono_now_s();
    rc = cli_generate_project(client, mlf, crt, dir, options, &err);
    options = NULL; /* taken */
    rc = cli__close_server(client, rc, &err);
    client = NULL;
    if (rc < 0)
        goto out;
    cli__progress(ctx, "created %s in %.1f s; next: %s build %s", dir, mono_now_s() - t0, ctx->prog,
                  a->pos[0]);
    printf("%s\n", dir);
out:
    if (rc < 0)
        cli__report(ctx, &err);
    if (client)
        cli__close_server(client, rc, &err);
    cJSON_Delete(options);
    cJSON_Delete(info);
    return rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
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
    struct cli_client *client = NULL;
    cJSON *info = NULL, *options = NULL;
    char dir[PATH_MAX], elf[PATH_MAX];
    int rc = 0;
    err_clear(&err);

    size_t n_o = 0;
    const char *const *o_texts = cli__opt_all(cmd, a, "option", &n_o);
    for (size_t i = 0; i < n_o; i++) {
        char name[64];
        const char *value;
        if (cli_option_split(o_texts[i], name, sizeof name, &value, &err) < 0)
            return cli__usage_error(ctx, flash ? "flash " : "build ", &err);
    }
    if ((rc = cli__abs_path(a->pos[0], dir, sizeof dir, &err)) < 0)
        goto out;
    if ((rc = cli__open_server(ctx, dir, false, &client, &info, &err)) < 0)
        goto out;
    if (!(options = user_options(cmd, a, info, &err))) {
        rc = err.code;
        goto out;
    }
    cli__progress(ctx, "%s %s", flash ? "flashing" : "building", dir);
    double t0 = mono_now_s();
    rc = flash ? cli_flash(client, options, &err) : cli_build(client, options, &err);
    options = NULL; /* taken */
    rc = cli__close_server(client, rc, &err);
    client = NULL;
    if (rc < 0)
        goto out;
    if ((rc = fs_join(elf, sizeof elf, dir, flash ? RECORD_FLASHED_ELF : RECORD_BUILT_ELF,
                      &err)) < 0)
        goto out;
    if (flash)
        cli__progress(ctx, "flashed in %.1f s", mono_now_s() - t0);
    else
        cli__progress(ctx, "built in %.1f s; next: %s flash %s", mono_now_s() - t0, ctx->prog,
                      a->pos[0]);
    printf("%s\n", elf);
out:
    if (rc < 0)
        cli__report(ctx, &err);
    if (client)
        cli__close_server(client, rc, &err);
    cJSON_Delete(options);
    cJSON_Delete(info);
    return rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
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
