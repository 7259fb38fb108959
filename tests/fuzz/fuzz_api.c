/*
 * Fuzz target "api": request lines through the server's real envelope validation (rpc.c), the
 * dispatch and parameter checks of the eight methods (api.c), option normalization
 * (options.c) and base85 (b85.c). An input is up to MAX_LINES '\n'-separated lines served in
 * order, so sequences such as open_transport, write_transport, read_transport are reachable.
 * Every reply must print as one line of valid UTF-8 JSON, carry exactly one of result and
 * error, use only the codes TVM accepts, and echo the request's id.
 *
 * The work behind the methods is replaced by TEST DOUBLES (the "Test doubles" section below):
 * this file defines every function project.h and session.h declare (the server library has
 * them in generate.c, build.c and flash.c), so the linker never takes those objects from
 * libmtq_server.a, and no input can create a file, start a
 * process or QEMU. The server context lives in a mkdtemp'd directory that is removed right
 * after server_init, which reads all it needs from it once.
 */
#include "api.h"
#include "log.h"
#include "project.h"
#include "rpc.h"
#include "server.h"
#include "session.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINES 8
#define FAKE_RX_MAX 4096

/* libFuzzer's entry points take no context: what lives across inputs is here. The server
 * context is set up once; the fake transport is reset before each input so that a run does
 * not depend on the inputs before it. */
static struct server srv;
static int null_fd = -1;   /* replies are also written out, to /dev/null */
static int report_fd = 2;  /* a copy of stderr that -close_fd_mask=2 leaves open */
static struct {
    bool open;
    uint8_t rx[FAKE_RX_MAX]; /* what the fake board "sent": the bytes written, echoed */
    size_t len;
} fake;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A broken property: say which, then crash so libFuzzer keeps the input. */
static void die(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dprintf(report_fd, "fuzz_api: %s\n", msg);
    abort();
}

/* ---- Test doubles for project.h's and session.h's functions (fuzzing only) ---- */

/* Options reach the work as a complete normalized object: check that, and read it as the real
 * code would. */
static void check_options(const cJSON *options)
{
    if (!cJSON_IsObject(options) || !cJSON_GetObjectItemCaseSensitive(options, "verbose"))
        die("a work method got options that are not normalized");
    struct options o;
    opt_get(options, &o);
}

int proj_generate(const char *template_dir, const char *mlf_path, const char *crt_dir,
                  const char *project_dir, const cJSON *options, struct err *err)
{
    (void)template_dir;
    check_options(options);
    if (!project_dir[0])
        die("generate_project reached the work with an empty project_dir");
    /* fail on request, with the client's text in msg and detail, as the real code quotes
     * paths: cut messages must still make valid replies */
    if (strstr(project_dir, "fail")) {
        err_set(err, ERR_TOOL, "generate_project: cannot create %s from %s", project_dir,
                mlf_path);
        err_set_detail(err, crt_dir, strlen(crt_dir));
        return ERR_TOOL;
    }
    return 0;
}

int proj_build(struct server *s, const cJSON *options, struct err *err)
{
    check_options(options);
    if (s->is_template)
        return err_set(err, ERR_STATE, "build: %s is the template, not a project", s->dir);
    return 0;
}

int sess_flash(struct server *s, const cJSON *options, struct err *err)
{
    (void)s;
    (void)err;
    check_options(options);
    return 0;
}

int sess_open(struct server *s, const cJSON *options, struct sess_timeouts *out,
              struct err *err)
{
    (void)s;
    (void)err;
    check_options(options);
    struct options o;
    opt_get(options, &o);
    out->retry = 1;
    out->start = o.session_start_timeout_sec < 0 ? 10 : o.session_start_timeout_sec;
    out->established = o.session_established_timeout_sec < 0 ? 10
                                                              : o.session_established_timeout_sec;
    fake.open = true;
    return 0;
}

static void check_timeout(double t)
{
    if (!(t == -1.0 || (isfinite(t) && t >= 0)))
        die("a transport call got timeout %g (want -1 or a finite number >= 0)", t);
}

int sess_read(struct server *s, uint8_t *buf, size_t n, double timeout_sec, size_t *got,
              struct err *err)
{
    (void)s;
    check_timeout(timeout_sec);
    if (n < 1 || n > API_READ_MAX)
        die("read_transport asked the session for %zu bytes", n);
    if (!fake.open)
        return err_set(err, ERR_CLOSED, "the transport is not open");
    if (fake.len == 0)
        return err_set(err, ERR_TIMEOUT, "nothing arrived within %g s", timeout_sec);
    size_t k = n < fake.len ? n : fake.len;
    memcpy(buf, fake.rx, k);
    memmove(fake.rx, fake.rx + k, fake.len - k);
    fake.len -= k;
    *got = k;
    return 0;
}

int sess_write(struct server *s, const uint8_t *data, size_t n, double timeout_sec,
               struct err *err)
{
    (void)s;
    check_timeout(timeout_sec);
    if (!fake.open)
        return err_set(err, ERR_CLOSED, "the transport is not open");
    size_t room = FAKE_RX_MAX - fake.len, k = n < room ? n : room;
    if (k)
        memcpy(fake.rx + fake.len, data, k);
    fake.len += k;
    return 0;
}

int sess_close(struct server *s, struct err *err)
{
    (void)s;
    (void)err;
    fake.open = false;
    fake.len = 0;
    return 0;
}

void sess_shutdown(struct server *s)
{
    (void)s;
    fake.open = false;
    fake.len = 0;
}

/* ---- The harness ---- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    report_fd = dup(2);
    if (report_fd < 0)
        report_fd = 2;
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    log_set_level(LOG_ERROR); /* server_init keeps this as the non-verbose level */

    /* a template directory whose machines/ is the source tree's, for real board choices */
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], link[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/mtq-fuzz-api-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir))
        die("mkdtemp %s failed", dir);
    snprintf(link, sizeof link, "%s/machines", dir);
    if (symlink(MTQ_SOURCE_DIR "/machines", link) < 0)
        die("symlink %s failed", link);
    struct err err = {0};
    int rc = server_init(&srv, dir, &err);
    unlink(link);
    rmdir(dir);
    if (rc < 0)
        die("server_init: %s", err.msg);
    size_t n = 0;
    opt_table_boards(srv.options, &n);
    if (n == 0)
        die("no boards found in %s/machines", MTQ_SOURCE_DIR);
    return 0;
}

static bool is_server_error_message(const char *m)
{
    return strcmp(m, "IoTimeoutError") == 0 || strcmp(m, "TransportClosedError") == 0 ||
           strncmp(m, "calling method ", 15) == 0;
}

/* Checks one reply against the request line it answers. */
static void check_reply(const cJSON *reply, const char *line, size_t len)
{
    if (!reply)
        die("no reply (out of memory?)");
    char *text = cJSON_PrintUnformatted(reply);
    if (!text)
        die("the reply does not print");
    size_t n = strlen(text);
    struct err err = {0};
    if (memchr(text, '\n', n))
        die("the reply has a raw newline: %s", text);
    if (rpc_check_text(text, n, RPC_MAX_DEPTH, &err) < 0)
        die("the reply is not clean JSON text (%s): %s", err.msg, text);
    const char *end = NULL;
    cJSON *back = cJSON_ParseWithOpts(text, &end, 1);
    if (!back)
        die("the reply does not parse back: %s", text);

    const cJSON *v = cJSON_GetObjectItemCaseSensitive(back, "jsonrpc");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0)
        die("the reply lacks jsonrpc 2.0: %s", text);
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(back, "result");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(back, "error");
    if (!result == !error)
        die("the reply must have exactly one of result and error: %s", text);
    if (error) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(error, "data");
        if (!cJSON_IsNumber(code) || !cJSON_IsString(msg) || !data)
            die("the error lacks code, message or data: %s", text);
        switch (code->valueint) {
        case RPC_PARSE_ERROR:
        case RPC_INVALID_REQUEST:
        case RPC_METHOD_NOT_FOUND:
        case RPC_INVALID_PARAMS:
        case RPC_INTERNAL_ERROR:
            break;
        case RPC_SERVER_ERROR:
            if (!is_server_error_message(msg->valuestring))
                die("a -32000 error with a message TVM does not expect: %s", text);
            if (!cJSON_IsNull(data) &&
                !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(data, "traceback")))
                die("a -32000 error whose data is not {traceback}: %s", text);
            break;
        default:
            die("an error code TVM does not accept: %s", text);
        }
        if (!msg->valuestring[0])
            die("an error with an empty message: %s", text);
    }

    /* the id: the request's when it had a valid one, else null */
    struct rpc_request req;
    rpc_parse_request(line, len, &req, &err);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(back, "id");
    if (!id)
        die("the reply has no id: %s", text);
    if (req.id ? !cJSON_Compare(id, req.id, 1) : !cJSON_IsNull(id))
        die("the reply does not echo the request's id: %s", text);
    rpc_request_close(&req);

    if (null_fd >= 0 && rpc_write_reply(null_fd, reply, &err) < 0)
        die("rpc_write_reply to /dev/null: %s", err.msg);
    cJSON_Delete(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sess_shutdown(&srv);
    /* the verbose option flips the level for the rest of a call; start each input quiet */
    log_set_level((enum log_level)srv.verbosity);
    /* a generated project's server differs (server_info_query, build): let the input pick */
    srv.is_template = size % 2 == 0;
    size_t at = 0;
    for (int i = 0; i < MAX_LINES && at <= size; i++) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) : size - at;
        if (!nl && len == 0 && i > 0)
            break;
        /* an exact-size copy, without a NUL: rpc_parse_request must not read past len */
        char *line = malloc(len ? len : 1);
        if (!line)
            die("out of memory");
        memcpy(line, data + at, len);
        cJSON *reply = api_serve_line(&srv, line, len);
        check_reply(reply, line, len);
        cJSON_Delete(reply);
        free(line);
        at += len + 1;
    }
    return 0;
}
