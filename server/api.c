/*
 * Dispatch of the eight Project API methods. Each method's parameters are checked by name and
 * type before any work, so a client's mistake is a -32602 naming the parameter, never a crash
 * or a half-done action; the work itself lives in generate.c, build.c (project.h) and flash.c
 * (session.h: flash, transport).
 */
#include "api.h"

#include "b85.h"
#include "log.h"
#include "project.h"
#include "session.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a parameter must be. */
enum kind {
    K_STR,     /* a non-empty string */
    K_PATH,    /* a string, possibly empty: "" means none (echo has no model, most no CRT) */
    K_OPTIONS, /* an object of project options (null is taken as {}) */
    K_COUNT,   /* an integer >= 1 */
    K_TIMEOUT, /* null or a finite number >= 0 */
    K_DATA,    /* a string, possibly empty: base85 is checked when decoding it */
};

struct param {
    const char *name;
    enum kind kind;
};

struct method {
    const char *name;
    struct param params[4];
    size_t n_params;
    int (*fn)(struct server *srv, const cJSON *params, cJSON **result, struct err *err);
};

static const char *param_kind_text(enum kind k)
{
    switch (k) {
    case K_STR:
        return "a non-empty string";
    case K_PATH:
        return "a string (\"\" for none)";
    case K_OPTIONS:
        return "an object of project options";
    case K_COUNT:
        return "an integer >= 1";
    case K_TIMEOUT:
        return "null or a number >= 0";
    case K_DATA:
        return "a base85 string";
    }
    return "?";
}

static bool param_ok(enum kind k, const cJSON *v)
{
    switch (k) {
    case K_STR:
        return cJSON_IsString(v) && v->valuestring[0];
    case K_PATH:
        return cJSON_IsString(v);
    case K_OPTIONS:
        return cJSON_IsObject(v) || cJSON_IsNull(v);
    case K_COUNT:
        return cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble == floor(v->valuedouble);
    case K_TIMEOUT:
        return cJSON_IsNull(v) ||
               (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0);
    case K_DATA:
        return cJSON_IsString(v);
    }
    return false;
}

/* Checks params against m's list: no unknown, none missing, each of its kind. */
static int check_params(const struct method *m, const cJSON *params, struct err *err)
{
    char takes[160] = "";
    size_t used = 0;
    for (size_t i = 0; i < m->n_params; i++)
        used += (size_t)snprintf(takes + used, sizeof takes - used, "%s%s", i ? ", " : "",
                                 m->params[i].name);
    if (m->n_params == 0)
        snprintf(takes, sizeof takes, "no parameters");
    for (const cJSON *v = params->child; v; v = v->next) {
        bool known = false;
        for (size_t i = 0; i < m->n_params && !known; i++)
            known = strcmp(v->string, m->params[i].name) == 0;
        if (!known) {
            char shown[64];
            snprintf(shown, sizeof shown, "%s", v->string);
            return err_set(err, ERR_PARAMS, "%s: unexpected parameter \"%s\" (%s takes: %s)",
                           m->name, shown, m->name, takes);
        }
        for (const cJSON *w = v->next; w; w = w->next)
            if (strcmp(v->string, w->string) == 0)
                return err_set(err, ERR_PARAMS, "%s: parameter \"%s\" is given twice", m->name,
                               v->string);
    }
    for (size_t i = 0; i < m->n_params; i++) {
        const struct param *p = &m->params[i];
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, p->name);
        if (!v)
            return err_set(err, ERR_PARAMS, "%s: missing parameter \"%s\" (%s)", m->name,
                           p->name, param_kind_text(p->kind));
        if (!param_ok(p->kind, v)) {
            char shown[64];
            rpc_preview(v, shown, sizeof shown);
            return err_set(err, ERR_PARAMS, "%s: parameter \"%s\" must be %s, not %s", m->name,
                           p->name, param_kind_text(p->kind), shown);
        }
    }
    return 0;
}

/* Normalizes params.options, checks what method requires, and applies the verbose option to
 * this call's logging (api_call restores the server's level afterwards: verbose is per call,
 * as in TVM's reference servers). *out is the caller's. */
static int take_options(struct server *srv, const cJSON *params, enum opt_method method,
                        cJSON **out, struct err *err)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(params, "options");
    int rc = opt_normalize(srv->options, in, out, err);
    if (rc == 0)
        rc = opt_require(srv->options, *out, method, err);
    if (rc < 0) {
        cJSON_Delete(*out);
        *out = NULL;
        return rc;
    }
    struct options o;
    opt_get(*out, &o);
    log_set_level(o.verbose ? LOG_DEBUG : (enum log_level)srv->verbosity);
    return 0;
}

/* A timeout parameter as sess_* want it: < 0 blocks. */
static double timeout_of(const cJSON *params)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, "timeout_sec");
    return cJSON_IsNumber(v) ? v->valuedouble : -1.0;
}

static int oom(struct err *err)
{
    return err_set(err, -ENOMEM, "out of memory");
}

static int do_server_info_query(struct server *srv, const cJSON *params, cJSON **result,
                                struct err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, "tvm_version");
    log_debug("server_info_query from TVM %s", v->valuestring);
    char mlf[PATH_MAX + 16] = "";
    if (!srv->is_template)
        snprintf(mlf, sizeof mlf, "%s/model.tar", srv->dir);
    cJSON *info = cJSON_CreateObject();
    cJSON *opts = opt_describe(srv->options);
    if (!info || !opts || !cJSON_AddStringToObject(info, "platform_name", "qemu") ||
        !cJSON_AddBoolToObject(info, "is_template", srv->is_template) ||
        !cJSON_AddStringToObject(info, "model_library_format_path", mlf) ||
        !cJSON_AddItemToObject(info, "project_options", opts)) {
        cJSON_Delete(opts);
        cJSON_Delete(info);
        return oom(err);
    }
    if (!cJSON_AddNumberToObject(info, "protocol_version", API_PROTOCOL_VERSION)) {
        cJSON_Delete(info);
        return oom(err);
    }
    *result = info;
    return 0;
}

static int do_generate_project(struct server *srv, const cJSON *params, cJSON **result,
                               struct err *err)
{
    cJSON *options = NULL;
    int rc = take_options(srv, params, OPT_GENERATE, &options, err);
    /* the server's own directory is the template: a generated project can serve as one too,
     * for the one board it carries */
    if (rc == 0)
        rc = proj_generate(
            srv->dir,
            cJSON_GetObjectItemCaseSensitive(params, "model_library_format_path")->valuestring,
            cJSON_GetObjectItemCaseSensitive(params, "standalone_crt_dir")->valuestring,
            cJSON_GetObjectItemCaseSensitive(params, "project_dir")->valuestring, options, err);
    cJSON_Delete(options);
    *result = NULL;
    return rc;
}

static int do_build(struct server *srv, const cJSON *params, cJSON **result, struct err *err)
{
    cJSON *options = NULL;
    int rc = take_options(srv, params, OPT_BUILD, &options, err);
    if (rc == 0)
        rc = proj_build(srv, options, err);
    cJSON_Delete(options);
    *result = NULL;
    return rc;
}

static int do_flash(struct server *srv, const cJSON *params, cJSON **result, struct err *err)
{
    cJSON *options = NULL;
    int rc = take_options(srv, params, OPT_FLASH, &options, err);
    if (rc == 0)
        rc = sess_flash(srv, options, err);
    cJSON_Delete(options);
    *result = NULL;
    return rc;
}

static int do_open_transport(struct server *srv, const cJSON *params, cJSON **result,
                             struct err *err)
{
    cJSON *options = NULL;
    struct sess_timeouts t = {0};
    int rc = take_options(srv, params, OPT_OPEN, &options, err);
    if (rc == 0)
        rc = sess_open(srv, options, &t, err);
    cJSON_Delete(options);
    if (rc < 0)
        return rc;
    cJSON *res = cJSON_CreateObject();
    cJSON *to = cJSON_AddObjectToObject(res, "timeouts");
    if (!to || !cJSON_AddNumberToObject(to, "session_start_retry_timeout_sec", t.retry) ||
        !cJSON_AddNumberToObject(to, "session_start_timeout_sec", t.start) ||
        !cJSON_AddNumberToObject(to, "session_established_timeout_sec", t.established)) {
        cJSON_Delete(res);
        return oom(err);
    }
    *result = res;
    return 0;
}

static int do_close_transport(struct server *srv, const cJSON *params, cJSON **result,
                              struct err *err)
{
    (void)params;
    *result = NULL;
    return sess_close(srv, err);
}

static int do_read_transport(struct server *srv, const cJSON *params, cJSON **result,
                             struct err *err)
{
    /* TVM reads a few bytes at a time while it hunts for packet headers: serve those from the
     * stack, so the hot path allocates nothing but the reply itself */
    uint8_t small[4096];
    char small_text[sizeof small / 4 * 5 + 8];
    double want = cJSON_GetObjectItemCaseSensitive(params, "n")->valuedouble;
    size_t n = want >= (double)API_READ_MAX ? API_READ_MAX : (size_t)want;
    size_t got = 0;
    uint8_t *buf = n <= sizeof small ? small : malloc(n);
    char *text = NULL;
    cJSON *res = NULL;
    int rc = buf ? 0 : oom(err);
    if (rc == 0)
        rc = sess_read(srv, buf, n, timeout_of(params), &got, err);
    if (rc < 0)
        goto out;
    if (got > n) {
        rc = err_set(err, ERR_INTERNAL, "read_transport: the session returned %zu bytes for a "
                     "%zu-byte buffer", got, n);
        goto out;
    }
    size_t text_len = b85_encoded_len(got) + 1;
    text = text_len <= sizeof small_text ? small_text : malloc(text_len);
    if (!text) {
        rc = oom(err);
        goto out;
    }
    text[b85_encode(buf, got, text)] = '\0';
    if (!(res = cJSON_CreateObject()) || !cJSON_AddStringToObject(res, "data", text)) {
        rc = oom(err);
        goto out;
    }
    *result = res;
    res = NULL;
out:
    cJSON_Delete(res);
    if (text != small_text)
        free(text);
    if (buf != small)
        free(buf);
    return rc;
}

static int do_write_transport(struct server *srv, const cJSON *params, cJSON **result,
                              struct err *err)
{
    const char *text = cJSON_GetObjectItemCaseSensitive(params, "data")->valuestring;
    size_t len = strlen(text), n = 0;
    uint8_t *bytes = malloc(b85_decoded_len(len) + 1);
    *result = NULL;
    if (!bytes)
        return oom(err);
    int rc = b85_decode(text, len, bytes, &n, err);
    if (rc < 0)
        err_prefix(err, "write_transport: data");
    else
        rc = sess_write(srv, bytes, n, timeout_of(params), err);
    free(bytes);
    return rc;
}

static const struct method methods[] = {
    {"server_info_query", {{"tvm_version", K_STR}}, 1, do_server_info_query},
    {"generate_project",
     {{"model_library_format_path", K_PATH},
      {"standalone_crt_dir", K_PATH},
      {"project_dir", K_STR},
      {"options", K_OPTIONS}},
     4,
     do_generate_project},
    {"build", {{"options", K_OPTIONS}}, 1, do_build},
    {"flash", {{"options", K_OPTIONS}}, 1, do_flash},
    {"open_transport", {{"options", K_OPTIONS}}, 1, do_open_transport},
    {"close_transport", {{0}}, 0, do_close_transport},
    {"read_transport", {{"n", K_COUNT}, {"timeout_sec", K_TIMEOUT}}, 2, do_read_transport},
    {"write_transport", {{"data", K_DATA}, {"timeout_sec", K_TIMEOUT}}, 2, do_write_transport},
};

cJSON *api_error_reply(const cJSON *id, const char *method, const struct err *e)
{
    if (e->code == ERR_PARAMS)
        return rpc_make_error(id, RPC_INVALID_PARAMS, e->msg, NULL);
    const char *message = NULL;
    char generic[160];
    if (e->code == ERR_TIMEOUT)
        message = "IoTimeoutError";
    else if (e->code == ERR_CLOSED)
        message = "TransportClosedError";
    else {
        snprintf(generic, sizeof generic, "calling method %.100s", method);
        message = generic;
    }
    /* TVM prints data.traceback under the error: the whole diagnosis goes there. ERR_OPTION
     * (a bad option value) comes this way too, not as -32602: tvmc prints a -32000
     * ServerError and lets any other code end in a Python traceback. */
    size_t size = strlen(e->msg) + strlen(e->detail) + 2;
    char *tb = malloc(size);
    if (!tb)
        return NULL;
    snprintf(tb, size, "%s%s%s", e->msg, e->detail[0] ? "\n" : "", e->detail);
    rpc_utf8_sanitize(tb);
    cJSON *data = cJSON_CreateObject();
    if (!data || !cJSON_AddStringToObject(data, "traceback", tb)) {
        cJSON_Delete(data);
        free(tb);
        return NULL;
    }
    free(tb);
    return rpc_make_error(id, RPC_SERVER_ERROR, message, data);
}

cJSON *api_call(struct server *srv, const struct rpc_request *req)
{
    const struct method *m = NULL;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0] && !m; i++)
        if (strcmp(methods[i].name, req->method) == 0)
            m = &methods[i];
    if (!m) {
        char msg[256];
        snprintf(msg, sizeof msg, "%.100s%s: no such method (methods: server_info_query, "
                 "generate_project, build, flash, open_transport, close_transport, "
                 "read_transport, write_transport)", req->method,
                 strlen(req->method) > 100 ? "..." : "");
        return rpc_make_error(req->id, RPC_METHOD_NOT_FOUND, msg, NULL);
    }
    struct err err = {0};
    cJSON *result = NULL;
    int rc = check_params(m, req->params, &err);
    if (rc == 0)
        rc = m->fn(srv, req->params, &result, &err);
    /* verbose given to one call must not turn on debug logging for every later request (a
     * session's thousands of read_transport calls) */
    log_set_level((enum log_level)srv->verbosity);
    if (rc < 0) {
        log_debug("%s failed: %s", m->name, err.msg);
        return api_error_reply(req->id, m->name, &err);
    }
    return rpc_make_result(req->id, result);
}

cJSON *api_serve_line(struct server *srv, const char *line, size_t len)
{
    struct rpc_request req;
    struct err err = {0};
    cJSON *reply;
    int rc = rpc_parse_request(line, len, &req, &err);
    if (rc < 0) {
        log_debug("bad request: %s", err.msg);
        reply = rpc_make_error(req.id, rc, err.msg, NULL);
    } else {
        reply = api_call(srv, &req);
    }
    rpc_request_close(&req);
    return reply;
}
