/*
 * A microTVM Project API client: starts a project's (or template's) server the way TVM's
 * client does (PROJECT_API.md section 1) and speaks JSON-RPC 2.0 to it, one line per request,
 * integer ids from 1. The command line uses it for everything, so every command also exercises
 * the real protocol.
 *
 * Ownership: cJSON objects passed in as params are taken (freed by the call, success or not);
 * results handed out (*result, *info) belong to the caller, who frees them with cJSON_Delete.
 * Calls block without a time limit, as TVM's do (a build takes as long as it takes); they end
 * early only when the server exits, which is reported as an error naming its exit status.
 */
#ifndef MTQ_CLI_CLIENT_H
#define MTQ_CLI_CLIENT_H

#include "err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct cli_client;

/* Starts the server of the project or template in dir: execs <dir>/launch_microtvm_api_server.sh
 * with [launcher, <dir>/microtvm_api_server.py, --read-fd, N, --write-fd, M] (+ --debug when
 * debug), cwd dir, our stderr as its stderr and as its stdout too (so build output never mixes
 * with our results on stdout), through spawn_start: in its own process group (a terminal's
 * Ctrl-C reaches only us, and we close the server), SIGKILLed if we die. dir without a
 * launcher fails with ERR_INVALID naming the file. On success *out is a client to free with
 * cli_client_close. */
int cli_client_start(const char *dir, bool debug, struct cli_client **out, struct err *err);

/* Closes the request pipe, which tells the server to stop, and waits for it (up to
 * timeout_ms; then SIGTERM, and SIGKILL two seconds later). Returns 0 when it exited with
 * status 0, ERR_TOOL with the status otherwise. Accepts NULL (returns 0). err may be NULL. */
int cli_client_close(struct cli_client *c, int timeout_ms, struct err *err);

/* The server's pid (for tests and logs). */
int cli_client_pid(const struct cli_client *c);

/* Sends {method, params} and waits for the matching reply. params is taken (NULL sends {}).
 * On success *result (may be NULL to drop it) is the reply's result (JSON null included).
 * A JSON-RPC error becomes *err: -32000 IoTimeoutError -> ERR_TIMEOUT, TransportClosedError ->
 * ERR_CLOSED, -32602 -> ERR_PARAMS, other -32000 -> ERR_TOOL, the rest ERR_INTERNAL; msg is
 * "<method>: <message>" where a generic "calling method ..." message is replaced by the first
 * line of data.traceback, and detail holds the whole traceback. A reply that is not JSON-RPC,
 * or an id that does not match, is ERR_INTERNAL. */
int cli_client_call(struct cli_client *c, const char *method, cJSON *params, cJSON **result,
                    struct err *err);

/* Bounds every later call: once CLOCK_MONOTONIC passes deadline (seconds; 0: no bound), a
 * call still waiting for its reply fails with ERR_TIMEOUT, and the client refuses further
 * calls (ERR_STATE: a late reply would be taken for the next one's); close it. */
void cli_client_set_deadline(struct cli_client *c, double deadline);

/* The JSON-RPC error code of the last failed call's reply (0 when it failed for another
 * reason, e.g. the server exited). */
int cli_client_last_rpc_code(const struct cli_client *c);

/* server_info_query(tvm_version): *info is the ServerInfo object, checked to have
 * protocol_version 1, is_template (bool) and project_options (array). */
int cli_server_info_query(struct cli_client *c, cJSON **info, struct err *err);

/* generate_project. options is taken (NULL sends {}). Paths are passed unchanged: make them
 * absolute first, since the server's cwd is the template, not ours. */
int cli_generate_project(struct cli_client *c, const char *mlf_path, const char *crt_dir,
                         const char *project_dir, cJSON *options, struct err *err);

/* build and flash. options is taken (NULL sends {}). */
int cli_build(struct cli_client *c, cJSON *options, struct err *err);
int cli_flash(struct cli_client *c, cJSON *options, struct err *err);

/* The timeouts open_transport returns; a missing one is reported as an error. */
struct cli_timeouts {
    double session_start_retry_timeout_sec;
    double session_start_timeout_sec;
    double session_established_timeout_sec;
};

/* open_transport(options): options is taken; *t (may be NULL) receives the timeouts. */
int cli_open_transport(struct cli_client *c, cJSON *options, struct cli_timeouts *t,
                       struct err *err);
int cli_close_transport(struct cli_client *c, struct err *err);

/* read_transport(n, timeout_sec): timeout_sec < 0 sends null (block until a byte arrives).
 * On success *got is 1..n bytes copied to buf. Nothing in time is ERR_TIMEOUT, the board gone
 * ERR_CLOSED. */
int cli_read_transport(struct cli_client *c, void *buf, size_t n, double timeout_sec,
                       size_t *got, struct err *err);

/* write_transport(data, timeout_sec): all len bytes or an error; timeout_sec < 0 sends null. */
int cli_write_transport(struct cli_client *c, const void *data, size_t len, double timeout_sec,
                        struct err *err);

/* Finds the declared option name in a ServerInfo's project_options; NULL when not declared. */
const cJSON *cli_info_option(const cJSON *info, const char *name);

#endif
