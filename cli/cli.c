/*
 * The command line's entry point and the helpers the commands share: global options, the
 * command table, --help text, error reporting, finding the template, starting a server.
 * A new command is one cli_command in a cmd_*.c file plus one line in the table below.
 */
#include "cli.h"

#include "command.h"
#include "fs.h"
#include "log.h"
#include "machine.h"
#include "mono.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef MTQ_VERSION
#define MTQ_VERSION "0.0.0"
#endif

/* In the order `--help` lists them. */
static const struct cli_command *const commands[] = {
    &cli__cmd_machines, &cli__cmd_template_dir, &cli__cmd_create, &cli__cmd_build,
    &cli__cmd_flash,    &cli__cmd_run,          &cli__cmd_serial, &cli__cmd_info,
    &cli__cmd_demo,     &cli__cmd_report,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static void print_top_help(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [-v] COMMAND [ARGS...]\n"
            "\n"
            "Emulated microcontroller boards (QEMU) behind TVM's microTVM Project API. Every\n"
            "command talks to the project's server through the Project API, as TVM does.\n"
            "\n"
            "commands:\n",
            prog);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(f,
            "\n"
            "options:\n"
            "  -h, --help     show this help and exit (COMMAND --help: that command's help)\n"
            "  -v, --verbose  debug log, ours and the server's, on stderr\n"
            "      --version  print the version and exit\n"
            "\n"
            "exit status: 0 success, 1 failure, 2 usage error, 3 a regression beyond\n"
            "'run --max-regression'\n");
}

static void print_command_help(FILE *f, const char *prog, const struct cli_command *cmd)
{
    fprintf(f, "usage: %s %s [options]%s%s\n\n%s\n", prog, cmd->name, cmd->synopsis[0] ? " " : "",
            cmd->synopsis, cmd->summary);
    if (cmd->description[0])
        fprintf(f, "\n%s", cmd->description);
    fprintf(f, "\noptions:\n");
    for (size_t i = 0; i < cmd->n_opts; i++) {
        const struct cli_opt *o = &cmd->opts[i];
        char left[64];
        snprintf(left, sizeof left, "%c%c%c --%s%s%s", o->short_name ? '-' : ' ',
                 o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ', o->name,
                 o->metavar ? " " : "", o->metavar ? o->metavar : "");
        fprintf(f, "  %-26s %s%s\n", left, o->help, o->repeat ? " (repeatable)" : "");
    }
    fprintf(f, "  %-26s %s\n", "-h, --help", "show this help and exit");
    fprintf(f, "  %-26s %s\n", "-v, --verbose", "debug log, ours and the server's, on stderr");
}

const char *cli__opt(const struct cli_command *cmd, const struct cli_args *a, const char *name)
{
    int i = cli_args_index(cmd->opts, cmd->n_opts, name);
    assert(i >= 0);
    return a->value[i];
}

const char *const *cli__opt_all(const struct cli_command *cmd, const struct cli_args *a,
                                const char *name, size_t *n)
{
    int i = cli_args_index(cmd->opts, cmd->n_opts, name);
    assert(i >= 0);
    *n = a->n_many[i];
    return a->many[i];
}

int cli__template_dir(char *out, size_t outsz, struct err *err)
{
    char exe[PATH_MAX], guess[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return err_errno(err, "/proc/self/exe: cannot find this program's directory");
    exe[n] = '\0';
    char *bin = dirname(exe);
    snprintf(guess, sizeof guess, "%s/../template_project", bin);
    char resolved[PATH_MAX];
    char launcher[PATH_MAX + 40];
    if (!realpath(guess, resolved) ||
        (snprintf(launcher, sizeof launcher, "%s/launch_microtvm_api_server.sh", resolved),
         !fs_exists(launcher))) {
        /* bin is <build>/bin: name the build directory, the one command that makes it */
        char build[PATH_MAX];
        snprintf(build, sizeof build, "%s", bin);
        return err_set(err, ERR_INVALID, "no template project at %s; build first: ninja -C %s "
                       "(it assembles the template next to bin/)", guess, dirname(build));
    }
    if (strlen(resolved) >= outsz)
        return err_set(err, ERR_INVALID, "%s: path too long", resolved);
    strcpy(out, resolved);
    return 0;
}

void cli__report(const struct cli_ctx *ctx, const struct err *e)
{
    /* The server's report (traceback, compiler output) is for -v: its first line, the
     * diagnosis, is already in the message. */
    if (!ctx->verbose && e->detail[0]) {
        log_error("%s (-v shows the server's full report)", e->msg[0] ? e->msg : "failed");
        return;
    }
    log_error("%s", e->msg[0] ? e->msg : "failed (no message)");
    if (!e->detail[0])
        return;
    /* The detail is the compiler's or QEMU's last lines: show the end, where errors are. */
    enum { SHOWN = 20 };
    size_t lines = 0;
    for (const char *p = e->detail; *p; p++)
        lines += *p == '\n' && p[1] != '\0';
    lines++;
    const char *p = e->detail;
    if (!ctx->verbose && lines > SHOWN) {
        for (size_t skip = lines - SHOWN; skip; p++)
            skip -= *p == '\n';
        fprintf(stderr, "  ... (%zu earlier lines; -v shows them)\n", lines - SHOWN);
    }
    while (*p) {
        size_t len = strcspn(p, "\n");
        fprintf(stderr, "  %.*s\n", (int)len, p);
        p += len + (p[len] == '\n');
    }
}

int cli__usage_error(const struct cli_ctx *ctx, const char *cmd, const struct err *e)
{
    log_error("%s (see '%s %s--help')", e->msg, ctx->prog, cmd ? cmd : "");
    return CLI_EXIT_USAGE;
}

int cli__check_options(const struct cli_ctx *ctx, const struct cli_command *cmd,
                       const struct cli_args *a)
{
    struct err err;
    size_t n = 0;
    const char *const *texts = cli__opt_all(cmd, a, "option", &n);
    err_clear(&err);
    for (size_t i = 0; i < n; i++) {
        char name[64], hint[80];
        const char *value;
        if (cli_option_split(texts[i], name, sizeof name, &value, &err) < 0) {
            snprintf(hint, sizeof hint, "%s ", cmd->name);
            return cli__usage_error(ctx, hint, &err);
        }
    }
    return 0;
}

int cli__finish(const struct cli_ctx *ctx, struct cli_client *client, int rc, struct err *err)
{
    if (client)
        rc = cli__close_server(client, rc, err);
    if (rc < 0)
        cli__report(ctx, err);
    return rc < 0 ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

void cli__progress(const struct cli_ctx *ctx, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", ctx->prog, line);
}

bool cli__same_file(const char *a, const char *b)
{
    char *x = NULL, *y = NULL;
    size_t xl = 0, yl = 0;
    bool same = fs_read_file(a, 0, &x, &xl, NULL) == 0 && fs_read_file(b, 0, &y, &yl, NULL) == 0 &&
                xl == yl && memcmp(x, y, xl) == 0;
    free(x);
    free(y);
    return same;
}

int cli__read_json(const char *path, cJSON **out, struct err *err)
{
    char *text = NULL;
    size_t len = 0;
    const char *end = NULL;
    int rc = fs_read_file(path, 16u << 20, &text, &len, err);
    if (rc < 0)
        return rc;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!j)
        rc = err_set(err, ERR_INVALID, "%s: bad JSON at byte %td", path,
                     end ? end - text : (ptrdiff_t)0);
    free(text);
    *out = j;
    return rc;
}

int cli__abs_path(const char *path, char *out, size_t outsz, struct err *err)
{
    char resolved[PATH_MAX];
    if (!*path)
        return err_set(err, ERR_INVALID, "an empty path");
    if (realpath(path, resolved)) {
        if (strlen(resolved) >= outsz)
            return err_set(err, ERR_INVALID, "%s: path too long", path);
        strcpy(out, resolved);
        return 0;
    }
    if (errno != ENOENT)
        return err_errno(err, "%s", path);
    /* Not there yet (a project to create): resolve its parent, keep its own name. */
    char a[PATH_MAX], b[PATH_MAX];
    if (strlen(path) >= sizeof a)
        return err_set(err, ERR_INVALID, "%s: path too long", path);
    strcpy(a, path);
    strcpy(b, path);
    size_t len = strlen(b);
    while (len > 1 && b[len - 1] == '/')
        b[--len] = '\0';
    const char *base = basename(b);
    const char *parent = dirname(a);
    if (!realpath(parent, resolved))
        return err_errno(err, "%s: its parent directory %s", path, parent);
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return err_set(err, ERR_INVALID, "%s: not a usable name for a new directory", path);
    if (snprintf(out, outsz, "%s%s%s", resolved, strcmp(resolved, "/") ? "/" : "", base) >=
        (int)outsz)
        return err_set(err, ERR_INVALID, "%s: path too long", path);
    return 0;
}

int cli__open_server(const struct cli_ctx *ctx, const char *dir, bool want_template,
                     struct cli_client **client, cJSON **info, struct err *err)
{
    char launcher[PATH_MAX];
    cJSON *got = NULL;
    struct cli_client *c = NULL;
    int rc = 0;
    if (!fs_exists(dir))
        return err_set(err, ERR_INVALID, "%s: no such project directory; create one with '%s "
                       "create %s --board BOARD --type TYPE'", dir, ctx->prog, dir);
    if (!fs_is_dir(dir))
        return err_set(err, ERR_INVALID, "%s: not a directory; give a project directory made by "
                       "'%s create'", dir, ctx->prog);
    if ((rc = fs_join(launcher, sizeof launcher, dir, "launch_microtvm_api_server.sh", err)) < 0)
        return rc;
    if (!fs_exists(launcher))
        return err_set(err, ERR_INVALID, "%s: not a microtvm-qemu project (it has no "
                       "launch_microtvm_api_server.sh); create one with '%s create'", dir,
                       ctx->prog);
    if ((rc = cli_client_start(dir, ctx->verbose, &c, err)) < 0)
        return err_prefix(err, "starting the server of %s", dir);
    if ((rc = cli_server_info_query(c, &got, err)) < 0)
        goto fail;
    bool is_template = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(got, "is_template"));
    if (is_template && !want_template) {
        rc = err_set(err, ERR_INVALID, "%s is the template project, not a project; make one "
                     "from it with '%s create PROJECT_DIR ...'", dir, ctx->prog);
        goto fail;
    }
    if (!is_template && want_template) {
        rc = err_set(err, ERR_INVALID, "%s: its server says it is a generated project, not the "
                     "template; rebuild the template (ninja)", dir);
        goto fail;
    }
    *client = c;
    if (info)
        *info = got;
    else
        cJSON_Delete(got);
    return 0;
fail:
    cJSON_Delete(got);
    cli_client_close(c, 10000, NULL);
    return rc;
}

int cli__open_project(const struct cli_ctx *ctx, const char *project, char *dir, size_t dirsz,
                      struct cli_client **client, cJSON **info, struct err *err)
{
    int rc = cli__abs_path(project, dir, dirsz, err);
    return rc < 0 ? rc : cli__open_server(ctx, dir, false, client, info, err);
}

cJSON *cli__user_options(const struct cli_command *cmd, const struct cli_args *a,
                         const cJSON *info, struct err *err)
{
    size_t n = 0;
    const char *const *texts = cli__opt_all(cmd, a, "option", &n);
    return cli_options_json(texts, n, info, err);
}

int cli__machine_load(const char *dir, const char *board, struct machine **out, struct err *err)
{
    char mdir[PATH_MAX];
    struct machine *m = calloc(1, sizeof *m);
    int rc = !m ? err_set(err, ERR_INTERNAL, "out of memory")
                : fs_join(mdir, sizeof mdir, dir, "machines", err) < 0
                    ? err->code
                    : mach_load_by_name(m, mdir, board, err);
    if (rc < 0) {
        free(m);
        m = NULL;
    }
    *out = m;
    return rc;
}

int cli__close_server(struct cli_client *client, int rc, struct err *err)
{
    struct err close_err;
    err_clear(&close_err);
    /* generous: the server stops its QEMU through QMP before it exits */
    int crc = cli_client_close(client, 15000, &close_err);
    if (rc < 0) {
        if (crc < 0)
            log_debug("also: %s", close_err.msg);
        return rc;
    }
    if (crc < 0)
        *err = close_err;
    return crc;
}

/* Makes sure fds 0-2 are open, so a pipe we create never lands on one of them and is then
 * clobbered when the server's stdout is pointed at stderr. */
static void ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int nul = open("/dev/null", O_RDWR); /* takes the lowest free number: fd */
            if (nul > 2)
                close(nul);
        }
}

int cli_main(int argc, char **argv)
{
    struct cli_ctx ctx = {.prog = "microtvm-qemu", .verbose = false};
    struct err err;
    err_clear(&err);
    ensure_std_fds();
    /* A server that dies mid-request must become an error message, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    log_set_program(ctx.prog);
    log_set_level(LOG_WARN);

    int k = 1;
    for (; k < argc && argv[k][0] == '-'; k++) {
        const char *a = argv[k];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_top_help(stdout, ctx.prog);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--version") == 0) {
            printf("%s %s\n", ctx.prog, MTQ_VERSION);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            ctx.verbose = true;
            continue;
        }
        err_set(&err, ERR_INVALID, "unknown option '%s'", a);
        return cli__usage_error(&ctx, NULL, &err);
    }
    if (k == argc) {
        print_top_help(stderr, ctx.prog);
        log_error("no command given; pick one of the commands above");
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[k++];
    if (strcmp(name, "help") == 0) { /* `help CMD` is `CMD --help` */
        const struct cli_command *c = k < argc ? find_command(argv[k]) : NULL;
        if (k < argc && !c) {
            err_set(&err, ERR_INVALID, "help: unknown command '%s'", argv[k]);
            return cli__usage_error(&ctx, NULL, &err);
        }
        if (c)
            print_command_help(stdout, ctx.prog, c);
        else
            print_top_help(stdout, ctx.prog);
        return CLI_EXIT_OK;
    }
    const struct cli_command *cmd = find_command(name);
    if (!cmd) {
        char names[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < N_COMMANDS; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                     commands[i]->name);
        err_set(&err, ERR_INVALID, "unknown command '%s'; the commands are: %s", name, names);
        return cli__usage_error(&ctx, NULL, &err);
    }
    struct cli_args *args = calloc(1, sizeof *args); /* ~9 KiB: keep it off the stack */
    if (!args) {
        log_error("out of memory");
        return CLI_EXIT_FAIL;
    }
    int status;
    char pos_names[64];
    snprintf(pos_names, sizeof pos_names, "%.*s", (int)strcspn(cmd->synopsis, " "),
             cmd->synopsis);
    if (cli_args_parse(cmd->name, cmd->opts, cmd->n_opts, cmd->min_pos, cmd->max_pos, pos_names,
                       argc - k, argv + k, args, &err) < 0) {
        char hint[80];
        snprintf(hint, sizeof hint, "%s ", cmd->name);
        status = cli__usage_error(&ctx, hint, &err);
    } else if (args->help) {
        print_command_help(stdout, ctx.prog, cmd);
        status = CLI_EXIT_OK;
    } else {
        ctx.verbose = ctx.verbose || args->verbose;
        if (ctx.verbose)
            log_set_level(LOG_DEBUG);
        fflush(stdout);
        status = cmd->run(&ctx, cmd, args);
        fflush(stdout);
    }
    free(args);
    return status;
}
