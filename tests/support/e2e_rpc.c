/* JSON-RPC conveniences for end-to-end tests (e2e_rpc.h), shared by the hardening tests. */
#include "e2e_rpc.h"

#include "asserts.h"
#include "b85.h"
#include "fs.h"
#include "mono.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>

bool e2e_spawn(struct rpc_client *c, const char *dir)
{
    struct err err = {0};
    if (rpc_client_spawn(c, dir, false, &err) < 0) {
        fprintf(stderr, "\n    spawn %s: %s\n", dir, err.msg);
        return false;
    }
    return true;
}

/* Sends method with params (JSON text) without waiting; returns the id used. */
long e2e_send_call(struct rpc_client *c, const char *method, const char *params)
{
    struct err err = {0};
    long id = c->next_id++;
    char *line = NULL;
    /* no CUnit assertion here: suite_init uses this too, outside any test */
    if (asprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":%ld,\"method\":\"%s\",\"params\":%s}",
                 id, method, params) < 0)
        return -1;
    int rc = rpc_client_send_line(c, line, &err);
    if (rc < 0)
        fprintf(stderr, "\n    sending %s: %s\n", method, err.msg);
    free(line);
    return rc < 0 ? -1 : id;
}

/* Calls method; the whole reply (caller frees), or NULL when none came within E2E_CALL_MS. */
cJSON *e2e_call(struct rpc_client *c, const char *method, const char *params)
{
    struct err err = {0};
    cJSON *reply = NULL;
    if (e2e_send_call(c, method, params) < 0)
        return NULL;
    if (rpc_client_read_reply(c, c->call_ms > 0 ? c->call_ms : E2E_CALL_MS, &reply, &err) < 0) {
        fprintf(stderr, "\n    %s: no reply: %s\n", method, err.msg);
        return NULL;
    }
    return reply;
}

const char *e2e_message_of(const cJSON *reply)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(reply, "error"), "message");
    return cJSON_IsString(m) ? m->valuestring : "";
}

const char *e2e_traceback_of(const cJSON *reply)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "data"),
                                                      "traceback");
    return cJSON_IsString(t) ? t->valuestring : "";
}

/* Calls method and expects a result. */
bool e2e_call_ok(struct rpc_client *c, const char *method, const char *params)
{
    cJSON *reply = e2e_call(c, method, params);
    bool ok = reply && cJSON_HasObjectItem(reply, "result");
    if (reply && !ok)
        fprintf(stderr, "\n    %s: %s\n    %s\n", method, e2e_message_of(reply),
                e2e_traceback_of(reply));
    cJSON_Delete(reply);
    return ok;
}

/* Calls method and expects an error whose message is msg and whose traceback holds want
 * (may be NULL). */
void e2e_call_fails(struct rpc_client *c, const char *method, const char *params,
                       const char *msg, const char *want)
{
    cJSON *reply = e2e_call(c, method, params);
    ASSERT_NOT_NULL_FATAL(reply);
    bool ok = !strcmp(e2e_message_of(reply), msg) &&
              (!want || strstr(e2e_traceback_of(reply), want));
    if (!ok)
        fprintf(stderr, "\n    %s: got \"%s\" / %s\n    want \"%s\" / %s\n", method,
                e2e_message_of(reply), e2e_traceback_of(reply), msg, want ? want : "");
    ASSERT_TRUE(ok);
    cJSON_Delete(reply);
}

int e2e_read(struct rpc_client *c, size_t n, const char *timeout, uint8_t *buf, size_t *got,
             char *msg, size_t msgsz)
{
    char params[96];
    snprintf(params, sizeof params, "{\"n\":%zu,\"timeout_sec\":%s}", n, timeout);
    cJSON *reply = e2e_call(c, "read_transport", params);
    *got = 0;
    msg[0] = '\0';
    int rc = -1;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(reply, "result"), "data");
    if (cJSON_IsString(data)) {
        size_t len = strlen(data->valuestring);
        uint8_t *tmp = malloc(b85_decoded_len(len) + 1);
        if (!tmp) {
            cJSON_Delete(reply);
            return -1;
        }
        /* fewer than 1 or more than n bytes break the method's contract: a bad reply */
        rc = b85_decode(data->valuestring, len, tmp, got, NULL) < 0 || *got < 1 || *got > n
                 ? -1 : 0;
        if (*got > n)
            *got = n;
        memcpy(buf, tmp, *got);
        free(tmp);
    } else if (reply) {
        snprintf(msg, msgsz, "%s", e2e_message_of(reply));
        rc = 1;
    }
    cJSON_Delete(reply);
    return rc;
}

/* The write_transport params for n bytes (heap; NULL when out of memory). */
char *e2e_write_params(const uint8_t *data, size_t n, const char *timeout)
{
    char *text = malloc(b85_encoded_len(n) + 1), *params = NULL;
    if (!text)
        return NULL;
    text[b85_encode(data, n, text)] = '\0';
    if (asprintf(&params, "{\"data\":\"%s\",\"timeout_sec\":%s}", text, timeout) < 0)
        params = NULL;
    free(text);
    return params;
}

/* Reads until want bytes came or a read fails; returns how many. */
size_t e2e_read_n(struct rpc_client *c, uint8_t *buf, size_t want, char *msg, size_t msgsz)
{
    size_t all = 0, got = 0;
    while (all < want && e2e_read(c, want - all, "10", buf + all, &got, msg, msgsz) == 0)
        all += got;
    return all;
}

bool e2e_banner_first(struct rpc_client *c, const char *banner)
{
    uint8_t buf[256];
    char msg[128];
    if (strlen(banner) > sizeof buf)
        return false;
    size_t n = e2e_read_n(c, buf, strlen(banner), msg, sizeof msg);
    bool ok = n == strlen(banner) && memcmp(buf, banner, n) == 0;
    if (!ok)
        fprintf(stderr, "\n    banner: got %zu bytes \"%.*s\" (%s)\n", n, (int)n, buf, msg);
    return ok;
}

/* Writes n random bytes and reads them back (main thread only: it asserts). */
bool e2e_echo_random(struct rpc_client *c, size_t n)
{
    uint8_t *out = malloc(n), *in = malloc(n);
    ASSERT_TRUE_FATAL(out && in && getrandom(out, n, 0) == (ssize_t)n);
    for (size_t i = 0; i < n; i++)
        if (out[i] == 'R') /* reset_on_r.c resets on it */
            out[i] = 'r';
    char *params = e2e_write_params(out, n, "60");
    ASSERT_NOT_NULL_FATAL(params);
    char msg[128] = "";
    size_t got = 0, at = 0;
    bool ok = e2e_call_ok(c, "write_transport", params) &&
              (got = e2e_read_n(c, in, n, msg, sizeof msg)) == n && memcmp(in, out, n) == 0;
    while (at < got && in[at] == out[at])
        at++;
    if (!ok)
        fprintf(stderr, "\n    echo of %zu bytes failed: %zu came, first difference at %zu (%s)\n",
                n, got, at, msg);
    free(params);
    free(out);
    free(in);
    return ok;
}

/* Ends a server with EOF; true when it exited 0 in time. */
bool e2e_close_server(struct rpc_client *c)
{
    struct err err = {0};
    int status = -1;
    int rc = rpc_client_close(c, 15000, &status, &err);
    if (rc < 0)
        fprintf(stderr, "\n    closing the server: %s\n", err.msg);
    return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int e2e_make_echo_project(const char *proj, const char *board, const char *app)
{
    return e2e_make_echo_project_with(proj, board, app, "");
}

int e2e_make_echo_project_with(const char *proj, const char *board, const char *app,
                               const char *options)
{
    struct rpc_client c;
    if (!e2e_spawn(&c, MTQ_TEMPLATE_DIR))
        return -1;
    char *params = NULL;
    if (asprintf(&params, "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":\"\","
                 "\"project_dir\":\"%s\",\"options\":{\"project_type\":\"echo\",\"board\":"
                 "\"%s\"%s%s}}", proj, board, options[0] ? "," : "", options) < 0) {
        rpc_client_kill(&c);
        return -1;
    }
    bool ok = e2e_call_ok(&c, "generate_project", params);
    free(params);
    ok = e2e_close_server(&c) && ok;
    if (ok && app) {
        char from[PATH_MAX], to[PATH_MAX + 32];
        snprintf(from, sizeof from, "%s/tests/fixtures/%s%s", MTQ_SOURCE_DIR,
                 strchr(app, '/') ? "" : "faulty_firmware/", app);
        snprintf(to, sizeof to, "%s/firmware/apps/echo.c", proj);
        ok = fs_copy_file(from, to, NULL) == 0;
    }
    if (ok && e2e_spawn(&c, proj)) {
        ok = e2e_call_ok(&c, "build", "{\"options\":{}}");
        ok = e2e_close_server(&c) && ok;
    }
    return ok ? 0 : -1;
}
