/*
 * What the command files (cmd_*.c) share: the command table entry, the context every command
 * gets, and helpers for the steps they have in common (finding the template, starting a
 * project's server, reporting an error). Not for use outside cli/.
 */
#ifndef MTQ_CLI_COMMAND_H
#define MTQ_CLI_COMMAND_H

#include "aot.h"
#include "args.h"
#include "cli.h"
#include "client.h"
#include "err.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* Set up once by cli_main, read by every command. */
struct cli_ctx {
    const char *prog; /* "microtvm-qemu" for messages */
    bool verbose;     /* -v: our debug log, and --debug for the server */
};

/* One subcommand. run returns an exit status (CLI_EXIT_*). */
struct cli_command {
    const char *name;
    const char *synopsis;    /* positional arguments for the usage line: "PROJECT_DIR" */
    const char *summary;     /* one line for the command list */
    const char *description; /* paragraphs for --help, each line ending in '\n' */
    const struct cli_opt *opts;
    size_t n_opts;
    size_t min_pos, max_pos;
    int (*run)(const struct cli_ctx *ctx, const struct cli_command *cmd,
               const struct cli_args *a);
};

extern const struct cli_command cli__cmd_machines, cli__cmd_template_dir, cli__cmd_info;
extern const struct cli_command cli__cmd_create, cli__cmd_build, cli__cmd_flash;
extern const struct cli_command cli__cmd_serial, cli__cmd_run, cli__cmd_demo, cli__cmd_report;

/* The value of the option named name in a, or NULL (an unknown name is a bug: asserts). */
const char *cli__opt(const struct cli_command *cmd, const struct cli_args *a, const char *name);

/* Every value of the repeatable option name, and their count. */
const char *const *cli__opt_all(const struct cli_command *cmd, const struct cli_args *a,
                                const char *name, size_t *n);

/* The template project: <directory of this executable>/../template_project, resolved to an
 * absolute path. Missing (or without a launcher): ERR_INVALID telling how to build it. */
int cli__template_dir(char *out, size_t outsz, struct err *err);

/* Prints "<prog>: error: <msg>" and the detail's last lines (all of them with -v) on stderr. */
void cli__report(const struct cli_ctx *ctx, const struct err *e);

/* Prints a usage error and the hint to run --help, one line; returns CLI_EXIT_USAGE. */
int cli__usage_error(const struct cli_ctx *ctx, const char *cmd, const struct err *e);

/* Checks the shape of every -o NAME=VALUE the command was given (cmd must declare "option"),
 * before anything starts: returns 0, or prints the usage error and returns CLI_EXIT_USAGE.
 * Whether the names are the server's options is checked later, against its ServerInfo. */
int cli__check_options(const struct cli_ctx *ctx, const struct cli_command *cmd,
                       const struct cli_args *a);

/* How every command ends: closes client when it is still open (NULL: none; a failure to
 * close counts only when rc is 0), reports the error when there is one, and returns the
 * exit status, CLI_EXIT_FAIL or CLI_EXIT_OK. */
int cli__finish(const struct cli_ctx *ctx, struct cli_client *client, int rc, struct err *err);

/* One progress line on stderr: "<prog>: <text>". */
void cli__progress(const struct cli_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Starts the server of an existing project (want_template false) or of the template (true)
 * and checks that its server_info_query answers is_template accordingly. On success the
 * caller owns *client (cli__close_server) and *info (cJSON_Delete; may pass NULL). A missing
 * or wrong directory fails with a message that names the fix. */
int cli__open_server(const struct cli_ctx *ctx, const char *dir, bool want_template,
                     struct cli_client **client, cJSON **info, struct err *err);

/* The start every command on an existing project shares: project (PROJECT_DIR as given)
 * made absolute into dir (dirsz bytes), then cli__open_server on it (want_template false),
 * with the same ownership of *client and *info. */
int cli__open_project(const struct cli_ctx *ctx, const char *project, char *dir, size_t dirsz,
                      struct cli_client **client, cJSON **info, struct err *err);

/* The options object of the command's -o values (cmd must declare "option"), checked against
 * the server's ServerInfo (cli_options_json): the caller owns it; NULL with *err on failure. */
cJSON *cli__user_options(const struct cli_command *cmd, const struct cli_args *a,
                         const cJSON *info, struct err *err);

struct machine;

/* Loads dir/machines/<board>.json into a new machine (*out, caller frees; NULL on failure). */
int cli__machine_load(const char *dir, const char *board, struct machine **out, struct err *err);

/* Closes the client; if it fails and *err is not yet set (rc == 0), fills it. Returns the
 * first failure: rc when rc < 0, else the close's result. */
int cli__close_server(struct cli_client *client, int rc, struct err *err);

/* True when both files can be read and hold the same bytes. */
bool cli__same_file(const char *a, const char *b);

/* Reads and parses a JSON file (up to 16 MiB) into *out (caller frees). */
int cli__read_json(const char *path, cJSON **out, struct err *err);

/* Resolves path to an absolute one without requiring it to exist (its parent must). */
int cli__abs_path(const char *path, char *out, size_t outsz, struct err *err);

/* ---- board.c: what run and demo share ---- */

/* A generated project's recorded facts (project.json) and the state of its firmware. */
struct cli__project {
    char project_type[32], board[64], libc[32];
    char built_elf[PATH_MAX], flashed_elf[PATH_MAX];
    bool built;           /* RECORD_BUILT_ELF exists */
    bool flashed;         /* RECORD_FLASHED_ELF exists */
    bool flashed_current; /* ... and is the current build */
};

/* Reads dir/project.json (record_read); a directory without one fails with ERR_STATE, one
 * without a project_type with ERR_INVALID, each naming the fix. */
int cli__project_read(const char *dir, struct cli__project *p, struct err *err);

/* An aot_standalone board powered on through its project's server (client not owned). */
struct cli__board {
    struct cli_client *client;
    struct cli_aot_session *session; /* banner and model known once open */
    bool open;                       /* the transport is open */
};

/* open_transport (options taken) and the protocol session's start (banner, info%), all
 * before deadline (CLOCK_MONOTONIC seconds); the client's calls are bounded by it too. On
 * failure too, call cli__board_close. */
int cli__board_open(struct cli_client *client, cJSON *options, double deadline,
                    struct cli__board *b, struct err *err);

/* Ends the session and closes the transport (which powers the board off). Returns rc when
 * rc < 0, else close_transport's result, filling *err then. Accepts a zeroed board. */
int cli__board_close(struct cli__board *b, int rc, struct err *err);

#endif
