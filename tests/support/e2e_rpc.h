/*
 * JSON-RPC conveniences for end-to-end tests that drive real servers through rpc_client.h:
 * calls with a time limit, error fields, the transport's read and write with base85, echo
 * checks. Failures print what came to stderr, so a failing test says why. Functions marked
 * "asserts" use CUnit and belong on the test's main thread; the others are thread-safe.
 */
#ifndef MTQ_TEST_E2E_RPC_H
#define MTQ_TEST_E2E_RPC_H

#include "mono.h"
#include "rpc_client.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A reply slower than this means the server is stuck (a client's call_ms overrides it). */
#define E2E_CALL_MS 60000

/* Starts dir's server as TVM does; false (with the reason on stderr) if it could not. */
bool e2e_spawn(struct rpc_client *c, const char *dir);

/* Sends method with params (JSON text) without waiting; the id used, or -1. */
long e2e_send_call(struct rpc_client *c, const char *method, const char *params);

/* Calls method; the whole reply (caller frees), or NULL when none came within c->call_ms (or
 * E2E_CALL_MS). */
cJSON *e2e_call(struct rpc_client *c, const char *method, const char *params);

/* The error's message and data.traceback of a reply; "" when absent. */
const char *e2e_message_of(const cJSON *reply);
const char *e2e_traceback_of(const cJSON *reply);

/* Calls method and expects a result. */
bool e2e_call_ok(struct rpc_client *c, const char *method, const char *params);

/* Calls method and expects an error whose message is msg and whose traceback holds want (may be
 * NULL). Asserts. */
void e2e_call_fails(struct rpc_client *c, const char *method, const char *params,
                    const char *msg, const char *want);

/* read_transport(n, timeout as JSON text): 0 with 1..n bytes in buf (*got of them), 1 with an
 * error (its message in msg), -1 with no reply or a bad one. */
int e2e_read(struct rpc_client *c, size_t n, const char *timeout, uint8_t *buf, size_t *got,
             char *msg, size_t msgsz);

/* The write_transport params for n bytes (heap; NULL when out of memory). */
char *e2e_write_params(const uint8_t *data, size_t n, const char *timeout);

/* Reads until want bytes came or a read fails; returns how many. */
size_t e2e_read_n(struct rpc_client *c, uint8_t *buf, size_t want, char *msg, size_t msgsz);

/* True when the first bytes read are exactly banner. */
bool e2e_banner_first(struct rpc_client *c, const char *banner);

/* Writes n random bytes (never 'R': a test firmware resets on it) and reads them back. Asserts. */
bool e2e_echo_random(struct rpc_client *c, size_t n);

/* Ends a server with EOF; true when it exited 0 in time. */
bool e2e_close_server(struct rpc_client *c);

/* Generates an echo project for board at proj through the template's server, puts the faulty
 * app tests/fixtures/faulty_firmware/<app> (or tests/fixtures/<app> when app has a '/'; NULL:
 * none) in place of its echo app, and builds it through the project's server. 0, or -1 with the
 * reason on stderr. */
int e2e_make_echo_project(const char *proj, const char *board, const char *app);

/* The same, with more generate_project options: options is JSON members without braces
 * ("\"link\":\"fast\""), or "" for none. */
int e2e_make_echo_project_with(const char *proj, const char *board, const char *app,
                               const char *options);

#endif
