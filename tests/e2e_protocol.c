/*
 * The protocol end to end: the template's launcher started exactly as TVM starts it, requests
 * over real pipes, replies read line by line. Checks ids, error shapes, server_info_query, that
 * bad input never ends the server, the transport calls before open_transport, the line limit,
 * signals, and a clean exit at EOF or when the client goes away.
 */
#include "rpc_client.h"

#include "asserts.h"
#include "runner.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT_MS 10000

static const char *template_dir = MTQ_TEMPLATE_DIR;

/* Starts the template's server; a failure to start fails the test fatally. */
static void start(struct rpc_client *c)
{
    struct err err = {0};
    int rc = rpc_client_spawn(c, template_dir, false, &err);
    if (rc < 0)
        fprintf(stderr, "\n%s\n", err.msg);
    ASSERT_EQ_FATAL(rc, 0);
}

/* Closes the request pipe and expects a clean exit (status 0) within the time limit. */
static void finish(struct rpc_client *c)
{
    struct err err = {0};
    int status = -1;
    int rc = rpc_client_close(c, TIMEOUT_MS, &status, &err);
    if (rc < 0)
        fprintf(stderr, "\n%s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static cJSON *reply_to_line(struct rpc_client *c, const char *line)
{
    struct err err = {0};
    cJSON *reply = NULL;
    ASSERT_OK_FATAL(rpc_client_send_line(c, line, &err), &err);
    int rc = rpc_client_read_reply(c, TIMEOUT_MS, &reply, &err);
    if (rc < 0)
        fprintf(stderr, "\nafter %.80s: %s\n", line, err.msg);
    ASSERT_EQ_FATAL(rc, 0);
    return reply;
}

/* Checks an error reply: id (NULL: null), code, a message containing want, and the data key. */
static void expect_error(const cJSON *reply, const cJSON *want_id, int code, const char *want)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, "jsonrpc");
    ASSERT_TRUE(cJSON_IsString(v) && strcmp(v->valuestring, "2.0") == 0);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "id");
    ASSERT_NOT_NULL(id);
    if (want_id) {
        ASSERT_TRUE(cJSON_Compare(id, want_id, 1));
    } else {
        ASSERT_TRUE(cJSON_IsNull(id));
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    ASSERT_TRUE_FATAL(cJSON_IsObject(e));
    ASSERT_NULL(cJSON_GetObjectItemCaseSensitive(reply, "result"));
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    ASSERT_TRUE_FATAL(cJSON_IsNumber(c) && cJSON_IsString(m));
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(e, "data");
    /* a -32000 "calling method X" carries the diagnosis in data.traceback */
    const cJSON *tb = cJSON_GetObjectItemCaseSensitive(data, "traceback");
    const char *text = code == -32000 && cJSON_IsString(tb) && !strstr(m->valuestring, want)
                           ? tb->valuestring : m->valuestring;
    if (c->valueint != code || !strstr(text, want))
        fprintf(stderr, "\ngot %d \"%s\", want %d \"%s\"\n", c->valueint, text, code, want);
    ASSERT_EQ(c->valueint, code);
    ASSERT_STR_CONTAINS(text, want);
    ASSERT_TRUE(cJSON_IsNull(data) || cJSON_IsObject(data));
}

static void bad_line(struct rpc_client *c, const char *line, const cJSON *id, int code,
                     const char *want)
{
    cJSON *r = reply_to_line(c, line);
    expect_error(r, id, code, want);
    cJSON_Delete(r);
}

static void test_e2e_server_info_query_describes_the_template(void)
{
    struct rpc_client c;
    start(&c);
    struct err err = {0};
    cJSON *params = cJSON_CreateObject(), *reply = NULL;
    cJSON_AddStringToObject(params, "tvm_version", "0.18.0");
    ASSERT_OK_FATAL(rpc_client_call(&c, "server_info_query", params, TIMEOUT_MS, &reply,
                                    &err), &err);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "id");
    ASSERT_TRUE(cJSON_IsNumber(id) && id->valueint == 1);
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(reply, "result");
    ASSERT_TRUE_FATAL(cJSON_IsObject(info));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(info, "protocol_version");
    ASSERT_TRUE(cJSON_IsNumber(v) && v->valueint == 1);
    v = cJSON_GetObjectItemCaseSensitive(info, "platform_name");
    ASSERT_TRUE(cJSON_IsString(v) && strcmp(v->valuestring, "qemu") == 0);
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "is_template")));
    v = cJSON_GetObjectItemCaseSensitive(info, "model_library_format_path");
    ASSERT_TRUE(cJSON_IsString(v) && v->valuestring[0] == '\0');
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(info, "project_options");
    ASSERT_TRUE_FATAL(cJSON_IsArray(opts));
    static const char *const keys[] = {"name", "choices", "default", "type",
                                       "required", "optional", "help"};
    /* the options every TVM template declares, which TVM's tests look for */
    static const char *const tvm_names[] = {"verbose", "project_type", "board", "cmsis_path",
                                            "warning_as_error", "compile_definitions",
                                            "extra_files_tar"};
    int found = 0, board_ok = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, opts) {
        for (size_t k = 0; k < 7; k++)
            ASSERT_NOT_NULL(cJSON_GetObjectItemCaseSensitive(o, keys[k]));
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        ASSERT_TRUE_FATAL(cJSON_IsString(name));
        for (size_t k = 0; k < 7; k++)
            found += strcmp(name->valuestring, tvm_names[k]) == 0;
        if (strcmp(name->valuestring, "board") == 0) {
            const cJSON *ch;
            cJSON_ArrayForEach(ch, cJSON_GetObjectItemCaseSensitive(o, "choices"))
                board_ok += cJSON_IsString(ch) && strcmp(ch->valuestring, "mps2-an385") == 0;
        }
    }
    ASSERT_EQ(found, 7);
    ASSERT_EQ(board_ok, 1);
    cJSON_Delete(reply);
    finish(&c);
}

static void test_e2e_server_answers_every_bad_request_and_keeps_serving(void)
{
    struct rpc_client c;
    start(&c);
    cJSON *id5 = cJSON_CreateNumber(5), *ids = cJSON_CreateString("s-1");
    bad_line(&c, "this is not json", NULL, -32700, "not valid JSON");
    bad_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"x\"", NULL, -32700, "syntax error");
    bad_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"\xff\"}", NULL, -32700,
             "not valid UTF-8");
    bad_line(&c, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
             NULL, -32700, "nested deeper than");
    bad_line(&c, "[1, 2]", NULL, -32600, "request must be a JSON object");
    bad_line(&c, "{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"build\",\"params\":{}}", id5, -32600,
             "\"jsonrpc\" must be \"2.0\"");
    bad_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":7,\"params\":{}}", id5, -32600,
             "\"method\" must be a string");
    bad_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"build\",\"params\":[]}", id5, -32600,
             "\"params\" must be an object");
    bad_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"build\",\"params\":{}}", NULL,
             -32600, "\"id\" must be an integer, a string or null");
    bad_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"method\":\"make\",\"params\":{}}", ids,
             -32601, "make: no such method");
    bad_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"build\",\"params\":{}}", id5, -32602,
             "build: missing parameter \"options\"");
    bad_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"build\",\"params\":{\"options\":"
                 "{\"libc\":\"musl\"}}}",
             id5, -32000, "option libc: \"musl\" is not one of: picolibc, newlib, newlib-nano");
    bad_line(&c, "", NULL, -32700, "empty request line");
    /* still serving, ids echoed */
    cJSON *r = reply_to_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"method\":"
                                 "\"server_info_query\",\"params\":{\"tvm_version\":\"x\"}}");
    ASSERT_TRUE(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(r, "id"), ids, 1));
    ASSERT_TRUE(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "result")));
    cJSON_Delete(r);
    cJSON_Delete(id5);
    cJSON_Delete(ids);
    finish(&c);
}

static void test_e2e_server_answers_pipelined_requests_in_order(void)
{
    struct rpc_client c;
    start(&c);
    struct err err = {0};
    const char *three = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"close_transport\"}\n"
                        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"}\n"
                        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"close_transport\","
                        "\"params\":{}}\n";
    ASSERT_OK_FATAL(rpc_client_send(&c, three, strlen(three), &err), &err);
    for (int i = 1; i <= 3; i++) {
        cJSON *r = NULL;
        ASSERT_OK_FATAL(rpc_client_read_reply(&c, TIMEOUT_MS, &r, &err), &err);
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
        ASSERT_TRUE(cJSON_IsNumber(id) && id->valueint == i);
        ASSERT_EQ(cJSON_GetObjectItemCaseSensitive(r, "error") != NULL, i == 2);
        cJSON_Delete(r);
    }
    finish(&c);
}

static void test_e2e_transport_before_open_is_transport_closed_error(void)
{
    struct rpc_client c;
    start(&c);
    struct err err = {0};
    cJSON *reply = NULL, *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "n", 128);
    cJSON_AddNullToObject(p, "timeout_sec");
    ASSERT_OK_FATAL(rpc_client_call(&c, "read_transport", p, TIMEOUT_MS, &reply, &err), &err);
    cJSON *id = cJSON_CreateNumber(1);
    expect_error(reply, id, -32000, "TransportClosedError");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring,
                  "TransportClosedError");
    cJSON_Delete(reply);
    cJSON_Delete(id);
    p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "data", "|NQ");
    cJSON_AddNumberToObject(p, "timeout_sec", 1);
    ASSERT_OK_FATAL(rpc_client_call(&c, "write_transport", p, TIMEOUT_MS, &reply, &err), &err);
    id = cJSON_CreateNumber(2);
    expect_error(reply, id, -32000, "TransportClosedError");
    cJSON_Delete(reply);
    cJSON_Delete(id);
    ASSERT_OK_FATAL(rpc_client_call(&c, "close_transport", NULL, TIMEOUT_MS, &reply, &err), &err);
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(reply, "result")));
    cJSON_Delete(reply);
    finish(&c);
}

/* A line of 65 MiB (over the 64 MiB limit) gets one error, the server keeps its memory bounded
 * (it must not buffer the whole line) and serves the next request. */
static void test_e2e_server_skips_a_line_over_64_mib_without_buffering_it(void)
{
    struct rpc_client c;
    start(&c);
    struct err err = {0};
    size_t chunk = (size_t)1 << 20;
    char *x = malloc(chunk);
    ASSERT_NOT_NULL_FATAL(x);
    memset(x, 'x', chunk);
    for (int i = 0; i < 65; i++)
        ASSERT_OK_FATAL(rpc_client_send(&c, x, chunk, &err), &err);
    free(x);
    ASSERT_OK_FATAL(rpc_client_send_line(&c, "", &err), &err);
    cJSON *r = NULL;
    ASSERT_OK_FATAL(rpc_client_read_reply(&c, TIMEOUT_MS, &r, &err), &err);
    expect_error(r, NULL, -32600, "request line longer than 67108864 bytes");
    cJSON_Delete(r);
    r = reply_to_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"close_transport\"}");
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "result")));
    cJSON_Delete(r);
    long hwm_kb = rpc_client_proc_kb(&c, "VmHWM");
    /* 64 MiB of buffer at most, plus the program. Under ASan the server's realloc copies and
     * its quarantine keeps freed blocks, so only a looser bound means anything there. */
#ifdef __SANITIZE_ADDRESS__
    long limit_kb = 256 * 1024;
#else
    long limit_kb = 100 * 1024;
#endif
    fprintf(stderr, " [server peak RSS %ld kB, limit %ld kB] ", hwm_kb, limit_kb);
    ASSERT_TRUE(hwm_kb > 0 && hwm_kb < limit_kb);
    finish(&c);
}

static void test_e2e_server_exits_cleanly_when_the_client_stops_reading(void)
{
    struct rpc_client c;
    start(&c);
    struct err err = {0};
    close(c.from_server);
    c.from_server = -1;
    /* the reply cannot be written: EPIPE means the client is gone, so the server stops */
    ASSERT_OK(rpc_client_send_line(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                                       "\"close_transport\"}", &err), &err);
    int status = -1;
    ASSERT_OK(rpc_client_wait(&c, TIMEOUT_MS, &status, &err), &err);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rpc_client_kill(&c);
}

static void test_e2e_server_stops_on_sigterm(void)
{
    struct rpc_client c;
    start(&c);
    struct err err = {0};
    cJSON *reply = NULL;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "tvm_version", "0.18.0");
    /* a reply proves the server is up and waiting for the next request */
    ASSERT_OK_FATAL(rpc_client_call(&c, "server_info_query", p, TIMEOUT_MS, &reply, &err), &err);
    cJSON_Delete(reply);
    ASSERT_EQ(kill(c.pid, SIGTERM), 0);
    int status = -1;
    ASSERT_OK(rpc_client_wait(&c, TIMEOUT_MS, &status, &err), &err);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    rpc_client_kill(&c);
}

/* Runs the launcher with args; returns its wait status and its stdout in out. */
static int run_launcher(const char *const *args, char *out, size_t outsz)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    char launcher[4096];
    snprintf(launcher, sizeof launcher, "%s/launch_microtvm_api_server.sh", template_dir);
    char *argv[8] = {launcher};
    for (int i = 0; args[i] && i < 6; i++)
        argv[i + 1] = (char *)args[i];
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2); /* the error text is checked by hand, not needed in test logs */
        close(p[0]);
        execv(launcher, argv);
        _exit(127);
    }
    close(p[1]);
    size_t used = 0;
    ssize_t n;
    while (used + 1 < outsz && (n = read(p[0], out + used, outsz - used - 1)) > 0)
        used += (size_t)n;
    out[used] = '\0';
    close(p[0]);
    int status = -1;
    waitpid(pid, &status, 0);
    return status;
}

static void test_e2e_server_prints_help_and_refuses_bad_arguments(void)
{
    char out[4096];
    const char *help[] = {"--help", NULL};
    int st = run_launcher(help, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    ASSERT_STR_CONTAINS(out, "usage: microtvm-qemu-server");
    ASSERT_STR_CONTAINS(out, "--read-fd N");
    const char *none[] = {"x.py", NULL};
    st = run_launcher(none, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    const char *word[] = {"x.py", "--read-fd", "three", "--write-fd", "1", NULL};
    st = run_launcher(word, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    const char *closed[] = {"x.py", "--read-fd", "987", "--write-fd", "1", NULL};
    st = run_launcher(closed, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    const char *unknown[] = {"x.py", "--read-fd", "0", "--write-fd", "1", "--fast", NULL};
    st = run_launcher(unknown, out, sizeof out);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    ASSERT_EQ(out[0], '\0'); /* errors go to stderr, never to stdout */
}

int test_register(void)
{
    char launcher[4096];
    snprintf(launcher, sizeof launcher, "%s/launch_microtvm_api_server.sh", template_dir);
    if (access(launcher, X_OK) != 0) {
        printf("e2e_protocol: skipped: no template at %s (build the template_project target)\n",
               template_dir);
        return TEST_SKIP;
    }
    CU_pSuite s = CU_add_suite("e2e_protocol", NULL, NULL);
    CU_ADD_TEST(s, test_e2e_server_info_query_describes_the_template);
    CU_ADD_TEST(s, test_e2e_server_answers_every_bad_request_and_keeps_serving);
    CU_ADD_TEST(s, test_e2e_server_answers_pipelined_requests_in_order);
    CU_ADD_TEST(s, test_e2e_transport_before_open_is_transport_closed_error);
    CU_ADD_TEST(s, test_e2e_server_skips_a_line_over_64_mib_without_buffering_it);
    CU_ADD_TEST(s, test_e2e_server_exits_cleanly_when_the_client_stops_reading);
    CU_ADD_TEST(s, test_e2e_server_stops_on_sigterm);
    CU_ADD_TEST(s, test_e2e_server_prints_help_and_refuses_bad_arguments);
    return TEST_RUN;
}
