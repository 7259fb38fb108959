/*
 * The Project API client: see client.h. The launch mirrors TVM's client (PROJECT_API.md
 * section 1): two pipes, their numbers on the launcher's command line, the project directory
 * as cwd. One request is in flight at a time, so a reply is simply the next line we read.
 */
#include "client.h"

#include "b85.h"
#include "fs.h"
#include "line_reader.h"
#include "log.h"
#include "mono.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MTQ_VERSION
#define MTQ_VERSION "0.0.0"
#endif

/* A reply larger than this is a broken server, not a big read: read_transport asks for KiBs. */
#define MAX_REPLY_BYTES (64u << 20)

struct cli_client {
    pid_t pid;          /* -1 once reaped */
    int status;         /* wait status, valid once pid is -1 */
    int to_fd;          /* requests: our end of the server's read fd */
    int from_fd;        /* replies: our end of the server's write fd */
    long next_id;       /* TVM's ids count from 1 */
    int last_rpc_code;
    double deadline;    /* CLOCK_MONOTONIC seconds; 0: calls wait as long as it takes */
    bool timed_out;     /* a reply may still be in flight: no further calls */
    struct line_reader replies; /* what the server sent past the last reply line */
};

/* Waits up to timeout_ms for the server to exit; true when it has been reaped. */
static bool reap(struct cli_client *c, int timeout_ms)
{
    if (c->pid > 0 && spawn_reap(c->pid, timeout_ms, &c->status)) {
        if (c->status < 0)
            c->status = 0; /* reaped behind our back: no status to report */
        c->pid = -1;
    }
    return c->pid < 0;
}

int cli_client_start(const char *dir, bool debug, struct cli_client **out, struct err *err)
{
    int rc = 0;
    int req[2] = {-1, -1}, rep[2] = {-1, -1};
    struct cli_client *c = NULL;
    char launcher[PATH_MAX], py[PATH_MAX], rfd[16], wfd[16];

    if (snprintf(launcher, sizeof launcher, "%s/launch_microtvm_api_server.sh", dir) >=
            (int)sizeof launcher ||
        snprintf(py, sizeof py, "%s/microtvm_api_server.py", dir) >= (int)sizeof py)
        return err_set(err, ERR_INVALID, "%s: path too long", dir);
    if (access(launcher, F_OK) < 0)
        return err_errno(err, "%s", launcher);
    if (access(launcher, X_OK) < 0)
        return err_errno(err, "%s: cannot execute it (is it chmod +x?)", launcher);

    if (!(c = calloc(1, sizeof *c))) {
        rc = err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    c->pid = -1;
    c->to_fd = c->from_fd = -1;
    c->next_id = 1;
    if (spawn_pipe(req, err) < 0 || spawn_pipe(rep, err) < 0) {
        rc = err->code;
        goto fail;
    }
    snprintf(rfd, sizeof rfd, "%d", req[0]);
    snprintf(wfd, sizeof wfd, "%d", rep[1]);
    char *argv[] = {launcher, py, "--read-fd", rfd, "--write-fd", wfd, debug ? "--debug" : NULL,
                    NULL};
    /* Like TVM's subprocess.Popen (close_fds), the server gets stdin, stdout, stderr and its two
     * pipe ends, nothing we inherited; our stderr is its stdout too. The server must not
     * outlive us: EOF on its read fd stops it, and the death signal covers a crash of ours. */
    const struct spawn_fd keep[] = {{req[0], req[0]}, {rep[1], rep[1]}};
    struct spawn_opts o = {.path = launcher, .argv = argv, .cwd = dir,
                           .stdio = {SPAWN_INHERIT, STDERR_FILENO, SPAWN_INHERIT},
                           .keep = keep, .n_keep = 2};
    pid_t pid = -1;
    enum spawn_step failed = SPAWN_OK;
    if ((rc = spawn_start(&o, &pid, &failed, err)) < 0) {
        errno = -rc; /* the child's step failed with an errno; the rest keeps spawn's message */
        if (failed != SPAWN_OK)
            rc = err_errno(err, "%s: cannot start it", launcher);
        goto fail;
    }
    c->pid = pid;
    close(req[0]);
    close(rep[1]);
    req[0] = rep[1] = -1;
    c->to_fd = req[1];
    c->from_fd = rep[0];
    line_reader_init(&c->replies, c->from_fd, MAX_REPLY_BYTES);
    log_debug("started %s (pid %d, fds %s/%s)", launcher, (int)pid, rfd, wfd);
    *out = c;
    return 0;

fail:
    for (int i = 0; i < 2; i++) {
        if (req[i] >= 0)
            close(req[i]);
        if (rep[i] >= 0)
            close(rep[i]);
    }
    if (c && c->pid > 0)
        reap(c, 5000);
    free(c);
    return rc;
}

int cli_client_pid(const struct cli_client *c)
{
    return c ? (int)c->pid : -1;
}

void cli_client_set_deadline(struct cli_client *c, double deadline)
{
    c->deadline = deadline;
}

int cli_client_last_rpc_code(const struct cli_client *c)
{
    return c ? c->last_rpc_code : 0;
}

int cli_client_close(struct cli_client *c, int timeout_ms, struct err *err)
{
    int rc = 0;
    if (!c)
        return 0;
    if (c->to_fd >= 0)
        close(c->to_fd); /* EOF on the server's read fd: it stops its board and exits */
    c->to_fd = -1;
    if (!reap(c, timeout_ms)) {
        log_warn("the server (pid %d) did not exit within %d ms of EOF; stopping it",
                 (int)c->pid, timeout_ms);
        kill(c->pid, SIGTERM);
        if (!reap(c, 2000)) {
            kill(c->pid, SIGKILL);
            reap(c, 60000);
        }
        rc = err_set(err, ERR_TOOL, "the server did not exit within %d ms of EOF on its read fd",
                     timeout_ms);
    } else if (!(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)) {
        char how[128];
        spawn_describe_status(c->status, how, sizeof how);
        rc = err_set(err, ERR_TOOL, "the server %s", how);
    }
    if (c->from_fd >= 0)
        close(c->from_fd);
    line_reader_close(&c->replies);
    free(c);
    return rc;
}

/* The server closed its end or died: name what happened to it. */
static int server_gone(struct cli_client *c, const char *method, struct err *err)
{
    char how[128] = "closed its reply pipe";
    if (reap(c, 5000))
        spawn_describe_status(c->status, how, sizeof how);
    return err_set(err, ERR_CLOSED, "%s: the server %s without answering (its messages, if any, "
                   "are above; rerun with -v for its debug log)", method, how);
}

/* Reads one reply line: *line (valid until the next read) and its length without the '\n'. */
static int read_line(struct cli_client *c, char **line, size_t *line_len, const char *method,
                     struct err *err)
{
    for (;;) {
        enum line_take t = line_reader_take(&c->replies, line, line_len);
        if (t == LINE_TAKE_LINE)
            return 0;
        if (t == LINE_TAKE_TOO_LONG)
            return err_set(err, ERR_INTERNAL, "%s: the reply is over %u bytes without a newline",
                           method, MAX_REPLY_BYTES);
        if (c->deadline > 0) {
            double left = c->deadline - mono_now_s();
            struct pollfd p = {.fd = c->from_fd, .events = POLLIN};
            int r = left > 0 ? poll(&p, 1, (int)(left * 1000) + 1) : 0;
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return err_errno(err, "%s: waiting for the reply", method);
            if (r == 0) {
                c->timed_out = true;
                return err_set(err, ERR_TIMEOUT, "%s: no reply within the time limit", method);
            }
        }
        int n = line_reader_fill(&c->replies, err);
        if (n == -EINTR)
            continue;
        if (n < 0) {
            errno = -n;
            return err_errno(err, "%s: reading the reply", method);
        }
        if (n == 0)
            return server_gone(c, method, err);
    }
}

/* Turns a JSON-RPC error object into *err (see client.h for the mapping). */
static int rpc_error(struct cli_client *c, const char *method, const cJSON *e, struct err *err)
{
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(e, "message");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
    const cJSON *tb = cJSON_IsObject(data) ? cJSON_GetObjectItemCaseSensitive(data, "traceback")
                                           : NULL;
    if (!cJSON_IsNumber(code) || !cJSON_IsString(message))
        return err_set(err, ERR_INTERNAL, "%s: the server sent a malformed error object", method);
    c->last_rpc_code = code->valueint;
    const char *msg = message->valuestring;
    const char *trace = cJSON_IsString(tb) ? tb->valuestring : "";
    int kind = ERR_INTERNAL;
    if (code->valueint == -32000 && strcmp(msg, "IoTimeoutError") == 0)
        kind = ERR_TIMEOUT;
    else if (code->valueint == -32000 && strcmp(msg, "TransportClosedError") == 0)
        kind = ERR_CLOSED;
    else if (code->valueint == -32000)
        kind = ERR_TOOL;
    else if (code->valueint == -32602)
        kind = ERR_PARAMS;

    /* "calling method build" says nothing the caller does not know: the diagnosis is the
     * traceback's first line, the rest (command, compiler lines) goes to the detail. */
    size_t first = strcspn(trace, "\n");
    size_t mlen = strlen(method);
    if (strncmp(msg, "calling method", 14) == 0 && first > 0) {
        bool named = first > mlen && strncmp(trace, method, mlen) == 0 && trace[mlen] == ':';
        err_set(err, kind, "%s%s%.*s", named ? "" : method, named ? "" : ": ", (int)first, trace);
        trace += first + (trace[first] == '\n');
    } else if (kind == ERR_TIMEOUT) {
        err_set(err, kind, "%s: nothing arrived in time (IoTimeoutError)", method);
    } else if (kind == ERR_CLOSED) {
        err_set(err, kind, "%s: the transport is closed (TransportClosedError)", method);
    } else if (strncmp(msg, method, mlen) == 0 && msg[mlen] == ':') {
        err_set(err, kind, "%s", msg); /* already names the method */
    } else {
        err_set(err, kind, "%s: %s", method, msg);
    }
    log_debug("%s: JSON-RPC error %d", method, code->valueint);
    if (*trace)
        err_set_detail(err, trace, strlen(trace));
    return kind;
}

int cli_client_call(struct cli_client *c, const char *method, cJSON *params, cJSON **result,
                    struct err *err)
{
    int rc = 0;
    char *text = NULL;
    cJSON *req = NULL, *reply = NULL;
    char *line = NULL;
    size_t line_len = 0;

    c->last_rpc_code = 0;
    if (!params)
        params = cJSON_CreateObject();
    if (c->to_fd < 0 || c->timed_out) {
        cJSON_Delete(params);
        return err_set(err, ERR_STATE, "%s: the client is %s", method,
                       c->timed_out ? "unusable after a timed-out call" : "closed");
    }
    long id = c->next_id++;
    if (!(req = cJSON_CreateObject()) || !params ||
        !cJSON_AddStringToObject(req, "jsonrpc", "2.0") ||
        !cJSON_AddStringToObject(req, "method", method)) {
        cJSON_Delete(params);
        rc = err_set(err, -ENOMEM, "%s: out of memory", method);
        goto out;
    }
    cJSON_AddItemToObject(req, "params", params);
    if (!cJSON_AddNumberToObject(req, "id", (double)id) || !(text = cJSON_PrintUnformatted(req))) {
        rc = err_set(err, -ENOMEM, "%s: out of memory", method);
        goto out;
    }
    /* cJSON escapes control characters inside strings, so the request is one line */
    size_t tlen = strlen(text);
    text[tlen] = '\n'; /* overwrite the NUL; we pass the length, not a string */
    log_debug("-> %.*s", (int)(tlen < 300 ? tlen : 300), text);
    if ((rc = fs_write_all(c->to_fd, text, tlen + 1, err)) == ERR_CLOSED) {
        rc = server_gone(c, method, err);
        goto out;
    }
    if (rc < 0) {
        err_prefix(err, "%s: writing the request", method);
        goto out;
    }
    if ((rc = read_line(c, &line, &line_len, method, err)) < 0)
        goto out;
    log_debug("<- %.*s", (int)(line_len < 300 ? line_len : 300), line);

    const char *end = NULL;
    reply = cJSON_ParseWithLengthOpts(line, line_len, &end, 0);
    ptrdiff_t bad_at = end ? end - line : 0;
    if (!reply) {
        rc = err_set(err, ERR_INTERNAL, "%s: the server's reply is not JSON (at byte %td)",
                     method, bad_at);
        goto out;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, "jsonrpc");
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(reply, "id");
    if (!cJSON_IsObject(reply) || !cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0) {
        rc = err_set(err, ERR_INTERNAL, "%s: the server's reply is not a JSON-RPC 2.0 object",
                     method);
        goto out;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    if (e && cJSON_IsObject(e) && cJSON_IsNull(rid)) {
        /* id null: the server could not read our request at all */
        rc = rpc_error(c, method, e, err);
        goto out;
    }
    if (!cJSON_IsNumber(rid) || rid->valuedouble != (double)id) {
        rc = err_set(err, ERR_INTERNAL, "%s: the reply's id does not match the request's (%ld)",
                     method, id);
        goto out;
    }
    if (e) {
        rc = cJSON_IsObject(e) ? rpc_error(c, method, e, err)
                               : err_set(err, ERR_INTERNAL, "%s: the reply's error is not an "
                                         "object", method);
        goto out;
    }
    cJSON *r = cJSON_DetachItemFromObjectCaseSensitive(reply, "result");
    if (!r) {
        rc = err_set(err, ERR_INTERNAL, "%s: the reply has neither result nor error", method);
        goto out;
    }
    if (result)
        *result = r;
    else
        cJSON_Delete(r);
out:
    free(text);
    cJSON_Delete(req);
    cJSON_Delete(reply);
    return rc;
}

int cli_server_info_query(struct cli_client *c, cJSON **info, struct err *err)
{
    cJSON *params = cJSON_CreateObject();
    cJSON *r = NULL;
    /* TVM sends its own version; we are not TVM, and the server only records it */
    if (params && !cJSON_AddStringToObject(params, "tvm_version", MTQ_VERSION)) {
        cJSON_Delete(params);
        params = NULL;
    }
    if (!params)
        return err_set(err, -ENOMEM, "out of memory");
    int rc = cli_client_call(c, "server_info_query", params, &r, err);
    if (rc < 0)
        return rc;
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(r, "protocol_version");
    const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(r, "is_template");
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(r, "project_options");
    if (!cJSON_IsObject(r) || !cJSON_IsNumber(pv) || !cJSON_IsBool(tmpl) || !cJSON_IsArray(opts)) {
        cJSON_Delete(r);
        return err_set(err, ERR_INTERNAL, "server_info_query: the reply lacks protocol_version, "
                       "is_template or project_options");
    }
    if (pv->valueint != 1) {
        int got = pv->valueint;
        cJSON_Delete(r);
        return err_set(err, ERR_INVALID, "server_info_query: the server speaks protocol version "
                       "%d, this client speaks 1", got);
    }
    *info = r;
    return 0;
}

/* Wraps options (taken) as {"options": ...} plus nothing else. */
static cJSON *options_params(cJSON *options)
{
    cJSON *p = cJSON_CreateObject();
    if (!options)
        options = cJSON_CreateObject();
    if (!p || !options) {
        cJSON_Delete(p);
        cJSON_Delete(options);
        return NULL;
    }
    cJSON_AddItemToObject(p, "options", options);
    return p;
}

int cli_generate_project(struct cli_client *c, const char *mlf_path, const char *crt_dir,
                         const char *project_dir, cJSON *options, struct err *err)
{
    cJSON *p = options_params(options);
    if (!p || !cJSON_AddStringToObject(p, "model_library_format_path", mlf_path ? mlf_path : "") ||
        !cJSON_AddStringToObject(p, "standalone_crt_dir", crt_dir ? crt_dir : "") ||
        !cJSON_AddStringToObject(p, "project_dir", project_dir)) {
        cJSON_Delete(p);
        return err_set(err, -ENOMEM, "out of memory");
    }
    return cli_client_call(c, "generate_project", p, NULL, err);
}

static int options_call(struct cli_client *c, const char *method, cJSON *options, cJSON **result,
                        struct err *err)
{
    cJSON *p = options_params(options);
    if (!p)
        return err_set(err, -ENOMEM, "out of memory");
    return cli_client_call(c, method, p, result, err);
}

int cli_build(struct cli_client *c, cJSON *options, struct err *err)
{
    return options_call(c, "build", options, NULL, err);
}

int cli_flash(struct cli_client *c, cJSON *options, struct err *err)
{
    return options_call(c, "flash", options, NULL, err);
}

int cli_open_transport(struct cli_client *c, cJSON *options, struct cli_timeouts *t,
                       struct err *err)
{
    cJSON *r = NULL;
    int rc = options_call(c, "open_transport", options, &r, err);
    if (rc < 0)
        return rc;
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(r, "timeouts");
    const cJSON *retry = cJSON_GetObjectItemCaseSensitive(to, "session_start_retry_timeout_sec");
    const cJSON *start = cJSON_GetObjectItemCaseSensitive(to, "session_start_timeout_sec");
    const cJSON *est = cJSON_GetObjectItemCaseSensitive(to, "session_established_timeout_sec");
    if (!cJSON_IsNumber(retry) || !cJSON_IsNumber(start) || !cJSON_IsNumber(est)) {
        cJSON_Delete(r);
        return err_set(err, ERR_INTERNAL, "open_transport: the reply lacks a timeout");
    }
    if (t) {
        t->session_start_retry_timeout_sec = retry->valuedouble;
        t->session_start_timeout_sec = start->valuedouble;
        t->session_established_timeout_sec = est->valuedouble;
    }
    cJSON_Delete(r);
    return 0;
}

int cli_close_transport(struct cli_client *c, struct err *err)
{
    return cli_client_call(c, "close_transport", NULL, NULL, err);
}

static cJSON *timeout_value(double timeout_sec)
{
    return timeout_sec < 0 ? cJSON_CreateNull() : cJSON_CreateNumber(timeout_sec);
}

int cli_read_transport(struct cli_client *c, void *buf, size_t n, double timeout_sec,
                       size_t *got, struct err *err)
{
    cJSON *p = cJSON_CreateObject(), *r = NULL;
    cJSON *to = timeout_value(timeout_sec);
    if (!p || !to || !cJSON_AddNumberToObject(p, "n", (double)n)) {
        cJSON_Delete(p);
        cJSON_Delete(to);
        return err_set(err, -ENOMEM, "out of memory");
    }
    cJSON_AddItemToObject(p, "timeout_sec", to);
    int rc = cli_client_call(c, "read_transport", p, &r, err);
    if (rc < 0)
        return rc;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(r, "data");
    if (!cJSON_IsString(data)) {
        rc = err_set(err, ERR_INTERNAL, "read_transport: the reply has no data string");
        goto out;
    }
    size_t text_len = strlen(data->valuestring);
    if (b85_decoded_len(text_len) > n) {
        rc = err_set(err, ERR_INTERNAL, "read_transport: the server sent more than the %zu bytes "
                     "asked for", n);
        goto out;
    }
    if ((rc = b85_decode(data->valuestring, text_len, buf, got, err)) < 0) {
        err_prefix(err, "read_transport: the reply's data");
        goto out;
    }
    if (*got == 0)
        rc = err_set(err, ERR_INTERNAL, "read_transport: the server returned no bytes and no "
                     "IoTimeoutError");
out:
    cJSON_Delete(r);
    return rc;
}

int cli_write_transport(struct cli_client *c, const void *data, size_t len, double timeout_sec,
                        struct err *err)
{
    cJSON *p = cJSON_CreateObject();
    cJSON *to = timeout_value(timeout_sec);
    char *text = malloc(b85_encoded_len(len) + 1);
    int rc = 0;
    if (!p || !to || !text) {
        cJSON_Delete(to);
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    size_t tlen = b85_encode(data, len, text);
    text[tlen] = '\0';
    if (!cJSON_AddStringToObject(p, "data", text)) {
        cJSON_Delete(to);
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    cJSON_AddItemToObject(p, "timeout_sec", to);
    rc = cli_client_call(c, "write_transport", p, NULL, err);
    p = NULL; /* taken by the call */
out:
    cJSON_Delete(p);
    free(text);
    return rc;
}

const cJSON *cli_info_option(const cJSON *info, const char *name)
{
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(info, "project_options");
    const cJSON *o;
    cJSON_ArrayForEach(o, opts) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return o;
    }
    return NULL;
}
