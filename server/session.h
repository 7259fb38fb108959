/*
 * flash and the transport, the server's half of a board's life: power on the flashed image in
 * QEMU, tunnel the board's UART through a pty, and stop everything when the client goes.
 * Defined in flash.c (the board's life), on top of transport.c (the bytes) and board_lock.c (one
 * server per board); the session state hangs off srv->session. Options are the object
 * opt_normalize made.
 */
#ifndef MTQ_SESSION_H
#define MTQ_SESSION_H

#include "err.h"
#include "server.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* The timeouts open_transport hands TVM for its session handshake (PROJECT_API.md section 4). */
struct sess_timeouts {
    double retry;       /* session_start_retry_timeout_sec */
    double start;       /* session_start_timeout_sec */
    double established; /* session_established_timeout_sec */
};

/* Keeps the built firmware as the project's flash image and readies the board. */
int sess_flash(struct server *srv, const cJSON *options, struct err *err);

/* Starts the board (if needed) and opens the transport; *out gets the timeouts. */
int sess_open(struct server *srv, const cJSON *options, struct sess_timeouts *out,
              struct err *err);

/* Reads 1..n bytes into buf (*got), waiting at most timeout_sec for the first (< 0: block).
 * ERR_TIMEOUT when nothing came in time, ERR_CLOSED when the transport is not open or gone. */
int sess_read(struct server *srv, uint8_t *buf, size_t n, double timeout_sec, size_t *got,
              struct err *err);

/* Writes all n bytes within timeout_sec (< 0: block). ERR_TIMEOUT, ERR_CLOSED as above. */
int sess_write(struct server *srv, const uint8_t *data, size_t n, double timeout_sec,
               struct err *err);

/* Closes the transport; a no-op when nothing is open (idempotent). */
int sess_close(struct server *srv, struct err *err);

/* At EOF on the request pipe or on SIGTERM: stops everything the session started (QEMU) and
 * frees srv->session. Safe to call when nothing was started, and twice. */
void sess_shutdown(struct server *srv);

#endif
