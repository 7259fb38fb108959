/*
 * The eight Project API methods (PROJECT_API.md section 3): parameter checks with exact names,
 * option normalization, the calls into project.h and session.h, and the mapping of their
 * errors to JSON-RPC errors (section 6). One request in, one reply out.
 *
 * Ownership: replies returned are the caller's (cJSON_Delete).
 */
#ifndef MTQ_API_H
#define MTQ_API_H

#include "rpc.h"
#include "server.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* The protocol version server_info_query reports; TVM refuses any other. */
#define API_PROTOCOL_VERSION 1

/* The most bytes one read_transport returns: a larger n is served as this much, since partial
 * reads are normal and allocating what a client asks for is not. */
#define API_READ_MAX ((size_t)1 << 20)

/* Serves one validated request and returns its reply (a result, or an error whose code and
 * message follow PROJECT_API.md section 6). NULL only when out of memory. */
cJSON *api_call(struct server *srv, const struct rpc_request *req);

/* Serves one request line: parses it (rpc_parse_request) and answers an envelope error, or calls
 * api_call. NULL only when out of memory. */
cJSON *api_serve_line(struct server *srv, const char *line, size_t len);

/* The JSON-RPC error reply for a failed method: ERR_PARAMS -> -32602 with msg; ERR_TIMEOUT ->
 * -32000 "IoTimeoutError"; ERR_CLOSED -> -32000 "TransportClosedError"; anything else -> -32000
 * "calling method <method>" with data {"traceback": "<msg>\n<detail>"}. */
cJSON *api_error_reply(const cJSON *id, const char *method, const struct err *e);

#endif
