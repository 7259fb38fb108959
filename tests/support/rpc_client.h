/*
 * A small Project API client for tests: starts a project's (or template's) server exactly as
 * TVM's client does (PROJECT_API.md section 1), sends raw request lines or JSON-RPC calls, reads
 * reply lines with a time limit, and reaps the server within a bounded time. Unlike cli/client.c
 * it never hides what the server sent: tests see every line, valid or not.
 *
 * Processes: the server is started with its parent-death signal set to SIGKILL, so a crashing
 * test leaves no server behind; rpc_client_close or rpc_client_kill reap it. Spawning ignores
 * SIGPIPE in the test process (a dead server must fail a write, not kill the test).
 * Ownership: lines and replies handed out are the caller's (free / cJSON_Delete); params passed
 * to rpc_client_call are taken.
 */
#ifndef MTQ_TEST_RPC_CLIENT_H
#define MTQ_TEST_RPC_CLIENT_H

#include "err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct rpc_client {
    pid_t pid;        /* the server (the launcher execs it, so the pid stays); -1 once reaped */
    int to_server;    /* our end of the request pipe; -1 once closed */
    int from_server;  /* our end of the reply pipe; -1 once closed */
    int server_read_fd, server_write_fd; /* the numbers passed as --read-fd / --write-fd */
    char *buf;        /* reply bytes read but not yet handed out */
    size_t len, cap;
    long next_id;     /* the id rpc_client_call uses next: 1, 2, ... as TVM does */
    int call_ms;      /* e2e_rpc.h's limit for one reply; 0 (as spawned): E2E_CALL_MS */
};

/* Starts <dir>/launch_microtvm_api_server.sh as TVM does: two pipes, argv = [launcher,
 * <dir>/microtvm_api_server.py, --read-fd, N, --write-fd, M] (+ --debug), cwd dir, only the
 * server's two pipe ends inherited, stdin/stdout/stderr ours. Fails with ERR_INVALID when the
 * launcher is missing, -errno (from the child, over a close-on-exec pipe) when exec fails. */
int rpc_client_spawn(struct rpc_client *c, const char *dir, bool debug, struct err *err);

/* Writes len raw bytes to the request pipe (all of them). A line needs its own '\n'. Returns 0,
 * ERR_CLOSED when the server no longer reads, -errno otherwise. */
int rpc_client_send(struct rpc_client *c, const void *bytes, size_t len, struct err *err);

/* rpc_client_send of line plus '\n'. */
int rpc_client_send_line(struct rpc_client *c, const char *line, struct err *err);

/* Reads the next reply line (without '\n') into *line (heap, NUL-terminated), waiting at most
 * timeout_ms (< 0: no limit). ERR_TIMEOUT when none came in time, ERR_CLOSED at EOF. */
int rpc_client_read_line(struct rpc_client *c, int timeout_ms, char **line, struct err *err);

/* rpc_client_read_line and cJSON_Parse: ERR_INVALID (with the line) when it is not JSON. */
int rpc_client_read_reply(struct rpc_client *c, int timeout_ms, cJSON **reply, struct err *err);

/* Sends {"jsonrpc":"2.0","method":method,"params":params,"id":next_id} (params taken; NULL sends
 * {}) and reads the reply within timeout_ms. *reply is the whole reply object, error or result;
 * a reply whose id differs is ERR_INVALID. */
int rpc_client_call(struct rpc_client *c, const char *method, cJSON *params, int timeout_ms,
                    cJSON **reply, struct err *err);

/* Closes the request pipe: the server sees EOF and should exit. Idempotent. */
void rpc_client_close_input(struct rpc_client *c);

/* Waits up to timeout_ms for the server to exit; *status (may be NULL) gets its wait status.
 * On timeout it is killed (SIGKILL), reaped, and ERR_TIMEOUT returned. */
int rpc_client_wait(struct rpc_client *c, int timeout_ms, int *status, struct err *err);

/* rpc_client_close_input, rpc_client_wait, then frees everything. Returns rpc_client_wait's
 * result; when the server exited, *status tells how. */
int rpc_client_close(struct rpc_client *c, int timeout_ms, int *status, struct err *err);

/* Kills (SIGKILL) and reaps the server if it still runs, and frees everything: for cleanup
 * after a failed test. Accepts a client already closed. */
void rpc_client_kill(struct rpc_client *c);

/* Reads a /proc/<pid>/status field in kB (e.g. "VmHWM"), or -1. For memory bounds in tests. */
long rpc_client_proc_kb(const struct rpc_client *c, const char *field);

#endif
