/*
 * Errors as values: a code and a one-line message, filled by whoever knows the fact.
 * Every call that can fail takes `struct err *err` last, returns a negative code (or NULL)
 * and fills *err only when it fails. Callers add context with err_prefix; only main() and
 * the server's dispatcher report an error. err may be NULL (the message is then dropped).
 */
#ifndef MTQ_ERR_H
#define MTQ_ERR_H

#include <stddef.h>

enum err_code {
    ERR_OK = 0,
    ERR_INVALID = -1000, /* bad input: a file, an archive, a value we were handed */
    ERR_PARAMS,          /* bad JSON-RPC params: becomes -32602 */
    ERR_TIMEOUT,         /* nothing arrived in time: becomes IoTimeoutError */
    ERR_CLOSED,          /* the transport or the board is gone: TransportClosedError */
    ERR_STATE,           /* a call out of order: build before generate, read before open */
    ERR_BUSY,            /* the board is in use by another server */
    ERR_TOOL,            /* an external tool (compiler, cmake, QEMU) failed */
    ERR_INTERNAL,        /* a bug or an impossible state */
    ERR_OPTION,          /* a bad project option value: -32000 like ERR_INVALID, not -32602
                          * (tvmc prints only ServerErrors; others end in a traceback) */
};

#define ERR_MSG_MAX 512
#define ERR_DETAIL_MAX 4096

struct err {
    int code;                  /* an ERR_* value, or -errno */
    char msg[ERR_MSG_MAX];     /* one line, no '\n' */
    char detail[ERR_DETAIL_MAX]; /* optional, multi-line: a command and its last output lines */
};

/* Clears *e (code 0, empty message and detail). */
void err_clear(struct err *e);

/* Sets code and message; returns code, so `return err_set(...)` reads naturally. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets code -errno and the message followed by ": strerror(errno)"; returns -errno. */
int err_errno(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prepends "context: " to the message; keeps the code; returns the code. */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Replaces the detail text (truncated to fit, keeping its end: the last lines matter most). */
void err_set_detail(struct err *e, const char *text, size_t len);

#endif
