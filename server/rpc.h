/*
 * JSON-RPC 2.0 framing for the Project API (PROJECT_API.md section 2): one request per line on
 * the read fd, one reply per line on the write fd. The lines are read by common/line_reader.h
 * (bounded to RPC_MAX_LINE, so a huge line cannot exhaust memory); this module validates a
 * request's envelope, builds replies and writes them. It knows nothing of the eight methods:
 * api.c does.
 *
 * Ownership: a struct rpc_request owns its parsed tree (rpc_request_close). cJSON values passed
 * to rpc_make_* as "taken" are freed by the call, also when it fails.
 */
#ifndef MTQ_RPC_H
#define MTQ_RPC_H

#include "err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* JSON-RPC error codes, the only ones TVM's client accepts (PROJECT_API.md section 6). */
enum rpc_code {
    RPC_PARSE_ERROR = -32700,
    RPC_INVALID_REQUEST = -32600,
    RPC_METHOD_NOT_FOUND = -32601,
    RPC_INVALID_PARAMS = -32602,
    RPC_INTERNAL_ERROR = -32603,
    RPC_SERVER_ERROR = -32000,
};

/* The longest request line served: 64 MiB. write_transport data is base85 (5/4 of the bytes)
 * and TVM writes packets of a few KiB, so this is far above any real request. */
#define RPC_MAX_LINE ((size_t)64 << 20)

/* Requests nested deeper than this are refused before cJSON sees them (a Project API request
 * is at most 4 levels deep; cJSON's own limit, CJSON_NESTING_LIMIT, is 1000). */
#define RPC_MAX_DEPTH 64

/* A validated request. id is NULL when the request had no usable id (replies then carry null).
 * params is an object (an empty one when the request had none). */
struct rpc_request {
    cJSON *root;
    const cJSON *id;
    const char *method;
    const cJSON *params;
};

/* Parses and validates one request line (len bytes; line need not be NUL-terminated).
 * Returns 0, or RPC_PARSE_ERROR / RPC_INVALID_REQUEST with err->msg saying what is wrong and
 * where (a byte offset for JSON errors). On failure req->id still holds the request's id when
 * it had a valid one, so the error reply can echo it; call rpc_request_close either way. */
int rpc_parse_request(const char *line, size_t len, struct rpc_request *req, struct err *err);

/* Frees the request's tree; accepts NULL and a request whose parse failed. */
void rpc_request_close(struct rpc_request *req);

/* Checks that text is UTF-8 JSON text without raw control characters (other than tab and CR)
 * and nested at most max_depth deep. Returns 0 or RPC_PARSE_ERROR with the byte offset. */
int rpc_check_text(const char *text, size_t len, int max_depth, struct err *err);

/* {"jsonrpc": "2.0", "id": id (copied; NULL means null), "result": result (taken; NULL means
 * null)}. Returns NULL only when out of memory. */
cJSON *rpc_make_result(const cJSON *id, cJSON *result);

/* {"jsonrpc": "2.0", "id": ..., "error": {"code", "message", "data": data (taken; NULL means
 * null)}}. message is made valid UTF-8 (a cut multi-byte character becomes '?'). Returns NULL
 * only when out of memory. */
cJSON *rpc_make_error(const cJSON *id, int code, const char *message, cJSON *data);

/* Replaces every byte that is not part of a valid UTF-8 sequence with '?', in place, so a
 * message cut at a byte limit still makes a valid reply. */
void rpc_utf8_sanitize(char *s);

/* Prints reply as one line (control characters escaped, so no raw '\n' inside) and writes all
 * of it and a '\n' to fd, retrying on EINTR and partial writes. Returns 0; ERR_CLOSED when the
 * reader is gone (EPIPE: the caller should shut down); another -errno with *err. */
int rpc_write_reply(int fd, const cJSON *reply, struct err *err);

/* Names a JSON value's type for messages: "a string", "a number", "a boolean", "null", "an
 * array", "an object" (NULL: "nothing"). */
const char *rpc_type_name(const cJSON *v);

/* Prints v unformatted into out (size outsz), cut with "..." when longer, so a message can quote
 * the offending value without growing without bound. */
void rpc_preview(const cJSON *v, char *out, size_t outsz);

#endif
