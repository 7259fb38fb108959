/*
 * Test support for aot_standalone firmware driven the way TVM drives it: a project server
 * (tests/support/rpc_client.h) for generate_project, build, flash and the transport, and the
 * firmware's line protocol (firmware/README.md) on top of read_transport / write_transport.
 * Also runs a host reference program (<model>_host_ref, same protocol on stdin/stdout) and
 * parses `run%` replies, so a test can compare a board's bytes with the host's.
 *
 * Ownership: options objects passed in are taken; strings handed out are the caller's (free).
 * Errors: a method that answered with a JSON-RPC error fails with ERR_TOOL, the error's
 * message in err->msg and its data.traceback in err->detail.
 */
#ifndef MTQ_TEST_AOT_SESSION_H
#define MTQ_TEST_AOT_SESSION_H

#include "err.h"
#include "rpc_client.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AOT_CALL_MS 60000   /* a Project API call that takes longer means the server is stuck */
#define AOT_MAX_OUTPUTS 4
#define AOT_HEX_MAX 1024    /* room for an output tensor of 511 bytes as hex */

struct aot_session {
    struct rpc_client c;
    bool spawned;           /* c holds a server not yet reaped */
    char pending[8192];     /* transport bytes read but not yet handed out as lines */
    size_t len;
};

/* One `run%` reply, parsed. */
struct aot_run {
    int n_outputs;
    char output_line[AOT_MAX_OUTPUTS][AOT_HEX_MAX + 128]; /* the whole "output:..." line */
    char output_hex[AOT_MAX_OUTPUTS][AOT_HEX_MAX];        /* its last field */
    char error_line[256];   /* "error:run: ..." or "" */
    bool have_stats;
    uint64_t ticks, hz, ns, instret, workspace;
    long rc;
    int n_ops;            /* "op:" lines (per-operator counts) */
    char ops_text[4096];  /* those lines, each ending in '\n' (truncated if longer) */
};

/* Spawns the server in template_dir and calls generate_project with the MLF mlf_tar ("" for
 * none), project_dir and options (taken: {"project_type": ..., "board": ..., ...}), then ends
 * that server with EOF (it must exit 0). Blocks for the generation (about a second). */
int aot_generate(const char *template_dir, const char *mlf_tar, const char *project_dir,
                 cJSON *options, struct err *err);

/* Spawns project_dir's server (*s is initialized here; call aot_session_end or
 * aot_session_kill afterwards, whatever this returns). */
int aot_session_start(struct aot_session *s, const char *project_dir, struct err *err);

/* Calls method with {"options": options} (options taken; NULL means {}), or with params as
 * they are for close_transport (which takes none). Returns 0 when the reply is a result. */
int aot_session_call(struct aot_session *s, const char *method, cJSON *options,
                     struct err *err);

/* Reads the next line the board sent (without its '\n') into line (cap bytes, NUL-ended),
 * waiting at most timeout_ms in total. ERR_TIMEOUT when no whole line came in time,
 * ERR_INVALID when a line does not fit, ERR_CLOSED when the transport closed. */
int aot_session_read_line(struct aot_session *s, int timeout_ms, char *line, size_t cap,
                          struct err *err);

/* write_transport of text's bytes (all of them, or an error). */
int aot_session_write(struct aot_session *s, const char *text, struct err *err);

/* Sends cmd (which must end with '%') and reads its whole reply into reply (cap bytes; lines
 * joined with '\n', no trailing '\n'): one line, or for info% and run% every line up to and
 * including "done" (an "error:" line also ends an info% reply). timeout_ms bounds the reply. */
int aot_session_command(struct aot_session *s, const char *cmd, int timeout_ms, char *reply,
                        size_t cap, struct err *err);

/* Ends the server with EOF: it must exit with status 0 within 10 s. Reaps it either way.
 * Accepts a session never started or already ended. */
int aot_session_end(struct aot_session *s, struct err *err);

/* Kills (SIGKILL) and reaps the server if one runs: cleanup after a failed test. */
void aot_session_kill(struct aot_session *s);

/* The pid of the server (-1 when none): its children are its QEMUs. */
long aot_session_pid(const struct aot_session *s);

/* Parses a run% reply (as aot_session_command returns it): the output lines, an error line,
 * the stats line (unknown keys ignored). ERR_INVALID naming what is wrong when it lacks stats
 * or "done", or a line is not of the protocol. */
int aot_parse_run(const char *reply, struct aot_run *r, struct err *err);

/* Runs program with input on its stdin (then EOF) and returns all it wrote to stdout in *out
 * (heap, NUL-ended). It must exit 0 within timeout_ms, else it is killed and ERR_TIMEOUT or
 * ERR_TOOL returned. */
int aot_host_run(const char *program, const char *input, int timeout_ms, char **out,
                 struct err *err);

#endif
