/*
 * The JSON-RPC layer: the envelope check with every error's code and message, and reply
 * writing (one line, all bytes, EPIPE as "client gone"). Its lines are read by
 * common/line_reader.c (tests/test_line_reader.c).
 */
#include "rpc.h"

#include "asserts.h"
#include "runner.h"
#include "mono.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the envelope ---- */

/* Parses text expecting failure with code and a message containing want; returns whether the
 * failed request still had a usable id. */
static int expect_bad(const char *text, size_t len, int code, const char *want)
{
    struct rpc_request req;
    struct err err = {0};
    int rc = rpc_parse_request(text, len, &req, &err);
    ASSERT_EQ(rc, code);
    if (!strstr(err.msg, want))
        fprintf(stderr, "\n%s: want \"%s\" in \"%s\"\n", text, want, err.msg);
    ASSERT_STR_CONTAINS(err.msg, want);
    int had_id = req.id != NULL;
    rpc_request_close(&req);
    return had_id;
}

#define BAD(text, code, want) expect_bad(text, strlen(text), code, want)

static void test_rpc_rejects_text_that_is_not_json_with_the_byte_offset(void)
{
    BAD("", RPC_PARSE_ERROR, "empty request line");
    BAD("   \t", RPC_PARSE_ERROR, "empty request line");
    /* cJSON reports where it gave up, which is the bad byte or the one after it */
    BAD("{", RPC_PARSE_ERROR, "not valid JSON: syntax error near byte 0");
    BAD("{\"jsonrpc\": \"2.0\", \"id\": 1,, }", RPC_PARSE_ERROR, "syntax error near byte 28");
    BAD("{\"jsonrpc\": tru}", RPC_PARSE_ERROR, "syntax error near byte 12");
    BAD("hello", RPC_PARSE_ERROR, "syntax error near byte 0");
    BAD("{} {}", RPC_PARSE_ERROR, "text after its JSON value, at byte 3");
}

static void test_rpc_rejects_invalid_utf8_and_raw_control_characters(void)
{
    BAD("{\"method\": \"a\x80\"}", RPC_PARSE_ERROR, "not valid UTF-8: bad byte 0x80 at byte 13");
    /* an overlong form, a surrogate, a code point above U+10FFFF, a sequence cut short */
    BAD("{\"method\": \"\xc0\xaf\"}", RPC_PARSE_ERROR, "bad byte 0xc0 at byte 12");
    BAD("{\"method\": \"\xed\xa0\x80\"}", RPC_PARSE_ERROR, "bad byte 0xed at byte 12");
    BAD("{\"method\": \"\xf5\x80\x80\x80\"}", RPC_PARSE_ERROR, "bad byte 0xf5");
    BAD("{\"method\": \"\xe2\x82\"}", RPC_PARSE_ERROR, "bad byte 0xe2 at byte 12");
    BAD("{\"method\": \"a\tb\"}", RPC_PARSE_ERROR,
        "raw control character 0x09 inside a string at byte 13");
    expect_bad("{\"id\":1}\0", 9, RPC_PARSE_ERROR, "control character 0x00 at byte 8");
    /* valid multi-byte text passes this check (and then fails for another reason) */
    BAD("[\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"]", RPC_INVALID_REQUEST, "not an array");
}

static void test_rpc_rejects_deep_nesting_without_recursing(void)
{
    size_t n = 100000;
    char *deep = malloc(n + 1);
    ASSERT_NOT_NULL_FATAL(deep);
    memset(deep, '[', n);
    deep[n] = '\0';
    BAD(deep, RPC_PARSE_ERROR, "nested deeper than 64 levels at byte 64");
    /* brackets inside strings do not count */
    memset(deep, ' ', n);
    memcpy(deep, "{\"id\":1,\"method\":\"", 18);
    memset(deep + 18, '[', 200);
    strcpy(deep + 218, "\",\"jsonrpc\":\"2.0\"}");
    struct rpc_request req;
    struct err err = {0};
    ASSERT_OK(rpc_parse_request(deep, strlen(deep), &req, &err), &err);
    rpc_request_close(&req);
    free(deep);
}

static void test_rpc_rejects_a_request_that_is_not_an_object_with_id_null(void)
{
    ASSERT_FALSE(BAD("[]", RPC_INVALID_REQUEST, "request must be a JSON object, not an array"));
    ASSERT_FALSE(BAD("42", RPC_INVALID_REQUEST, "not a number"));
    ASSERT_FALSE(BAD("\"x\"", RPC_INVALID_REQUEST, "not a string"));
    ASSERT_FALSE(BAD("null", RPC_INVALID_REQUEST, "not null"));
}

static void test_rpc_rejects_a_missing_or_wrong_id_with_id_null(void)
{
    ASSERT_FALSE(BAD("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{}}", RPC_INVALID_REQUEST,
                     "request has no \"id\" (notifications are not supported"));
    ASSERT_FALSE(BAD("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1.5}", RPC_INVALID_REQUEST,
                     "\"id\" must be an integer, a string or null, not a number (1.5)"));
    ASSERT_FALSE(BAD("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":[1]}", RPC_INVALID_REQUEST,
                     "not an array ([1])"));
    ASSERT_FALSE(BAD("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":true}", RPC_INVALID_REQUEST,
                     "not a boolean (true)"));
    ASSERT_FALSE(BAD("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1e300}", RPC_INVALID_REQUEST,
                     "\"id\" must be an integer"));
    ASSERT_FALSE(BAD("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":1,\"id\":2}",
                     RPC_INVALID_REQUEST, "request has member \"id\" twice"));
}

static void test_rpc_rejects_a_bad_envelope_and_keeps_the_id_for_the_reply(void)
{
    ASSERT_TRUE(BAD("{\"jsonrpc\":\"1.0\",\"method\":\"m\",\"id\":7}", RPC_INVALID_REQUEST,
                    "\"jsonrpc\" must be \"2.0\", not \"1.0\""));
    ASSERT_TRUE(BAD("{\"method\":\"m\",\"id\":7}", RPC_INVALID_REQUEST,
                    "\"jsonrpc\" must be \"2.0\", not nothing"));
    ASSERT_TRUE(BAD("{\"jsonrpc\":2.0,\"method\":\"m\",\"id\":\"x\"}", RPC_INVALID_REQUEST,
                    "\"jsonrpc\" must be \"2.0\", not 2"));
    ASSERT_TRUE(BAD("{\"jsonrpc\":\"2.0\",\"id\":7}", RPC_INVALID_REQUEST,
                    "request has no \"method\""));
    ASSERT_TRUE(BAD("{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":7}", RPC_INVALID_REQUEST,
                    "\"method\" must be a string, not a number"));
    ASSERT_TRUE(BAD("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[1],\"id\":7}",
                    RPC_INVALID_REQUEST,
                    "\"params\" must be an object (named parameters), not an array"));
    ASSERT_TRUE(BAD("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":\"x\",\"id\":null}",
                    RPC_INVALID_REQUEST, "\"params\" must be an object"));
    ASSERT_TRUE(BAD("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"param\":{},\"id\":7}",
                    RPC_INVALID_REQUEST,
                    "unexpected member \"param\" (allowed: jsonrpc, method, params, id)"));
}

/* A request with a few hundred thousand members is refused at once: the duplicate check once
 * compared every pair of members, which took hours for the millions a 64 MiB line holds. */
static void test_rpc_refuses_a_very_wide_request_in_linear_time(void)
{
    size_t n = 300000, cap = n * 16 + 64, used = 0;
    char *text = malloc(cap);
    ASSERT_NOT_NULL_FATAL(text);
    used += (size_t)snprintf(text, cap, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"");
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(text + used, cap - used, ",\"m%zu\":0", i);
    snprintf(text + used, cap - used, "}");
    double t0 = mono_now_s();
    BAD(text, RPC_INVALID_REQUEST, "unexpected member \"m0\"");
    double secs = mono_now_s() - t0;
    if (secs >= 10)
        fprintf(stderr, "\n%zu members took %.1f s\n", n, secs);
    ASSERT_LT(secs, 10); /* quadratic: ~10^10 comparisons, minutes; linear: well under 1 s */
    free(text);
}

static void test_rpc_accepts_a_valid_request_and_takes_missing_params_as_empty(void)
{
    const char *text = "{\"jsonrpc\": \"2.0\", \"method\": \"close_transport\", \"id\": 3}\r";
    struct rpc_request req;
    struct err err = {0};
    ASSERT_OK_FATAL(rpc_parse_request(text, strlen(text), &req, &err), &err);
    ASSERT_STR_EQ(req.method, "close_transport");
    ASSERT_TRUE(cJSON_IsNumber(req.id) && req.id->valuedouble == 3);
    ASSERT_TRUE(cJSON_IsObject(req.params) && req.params->child == NULL);
    rpc_request_close(&req);

    text = "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{\"n\":1},\"id\":\"abc\"}";
    ASSERT_OK_FATAL(rpc_parse_request(text, strlen(text), &req, &err), &err);
    ASSERT_TRUE(cJSON_IsString(req.id) && strcmp(req.id->valuestring, "abc") == 0);
    ASSERT_NOT_NULL(cJSON_GetObjectItemCaseSensitive(req.params, "n"));
    rpc_request_close(&req);
}

/* ---- replies ---- */

static char *print(const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    ASSERT_NOT_NULL_FATAL(s);
    return s;
}

static void test_rpc_builds_results_and_errors_echoing_the_id(void)
{
    cJSON *id = cJSON_CreateNumber(12);
    cJSON *r = rpc_make_result(id, cJSON_CreateString("ok"));
    char *s = print(r);
    ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":\"ok\"}");
    free(s);
    cJSON_Delete(r);
    r = rpc_make_result(NULL, NULL);
    s = print(r);
    ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":null}");
    free(s);
    cJSON_Delete(r);
    r = rpc_make_error(id, RPC_METHOD_NOT_FOUND, "x: no such method", NULL);
    s = print(r);
    ASSERT_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":12,\"error\":{\"code\":-32601,"
                     "\"message\":\"x: no such method\",\"data\":null}}");
    free(s);
    cJSON_Delete(r);
    cJSON_Delete(id);
}

static void test_rpc_makes_a_cut_multibyte_message_valid_utf8(void)
{
    char msg[] = "caf\xc3\xa9 \xe2\x82 end \xff";
    rpc_utf8_sanitize(msg);
    ASSERT_STR_EQ(msg, "caf\xc3\xa9 ?? end ?");
    cJSON *r = rpc_make_error(NULL, RPC_SERVER_ERROR, "cut \xe2\x82", NULL);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring, "cut ??");
    cJSON_Delete(r);
}

/* Reads everything from fd until EOF into a heap string. */
static char *slurp(int fd)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

static void test_rpc_writes_a_reply_as_one_line_with_control_characters_escaped(void)
{
    int p[2];
    ASSERT_EQ_FATAL(pipe(p), 0);
    cJSON *data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "traceback", "line one\nline two\r\x01\t");
    cJSON *r = rpc_make_error(NULL, RPC_SERVER_ERROR, "calling method build", data);
    struct err err = {0};
    ASSERT_OK(rpc_write_reply(p[1], r, &err), &err);
    close(p[1]);
    char *text = slurp(p[0]);
    close(p[0]);
    ASSERT_NOT_NULL_FATAL(text);
    char *nl = strchr(text, '\n');
    ASSERT_TRUE(nl != NULL && nl[1] == '\0'); /* one '\n', at the end */
    ASSERT_STR_CONTAINS(text, "line one\\nline two\\r\\u0001\\t");
    cJSON *back = cJSON_Parse(text);
    ASSERT_NOT_NULL(back);
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(r);
}

static void test_rpc_writes_a_large_reply_completely_through_a_pipe(void)
{
    int p[2];
    ASSERT_EQ_FATAL(pipe(p), 0);
    size_t n = (size_t)3 << 20; /* far more than a pipe holds: many partial writes */
    char *big = malloc(n + 1);
    ASSERT_NOT_NULL_FATAL(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 26);
    big[n] = '\0';
    pid_t pid = fork();
    ASSERT_GE_FATAL(pid, 0);
    if (pid == 0) {
        close(p[0]);
        cJSON *r = rpc_make_result(NULL, cJSON_CreateString(big));
        struct err err = {0};
        _exit(rpc_write_reply(p[1], r, &err) == 0 ? 0 : 1);
    }
    close(p[1]);
    char *text = slurp(p[0]);
    close(p[0]);
    int status = -1;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_NOT_NULL_FATAL(text);
    cJSON *back = cJSON_Parse(text);
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(back, "result");
    ASSERT_TRUE(cJSON_IsString(res) && strcmp(res->valuestring, big) == 0);
    cJSON_Delete(back);
    free(text);
    free(big);
}

static void test_rpc_reports_a_closed_reader_as_err_closed(void)
{
    int p[2];
    ASSERT_EQ_FATAL(pipe(p), 0);
    close(p[0]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    cJSON *r = rpc_make_result(NULL, NULL);
    struct err err = {0};
    ASSERT_EQ(rpc_write_reply(p[1], r, &err), ERR_CLOSED);
    ASSERT_STR_EQ(err.msg, "the client closed its end of the reply pipe");
    signal(SIGPIPE, old);
    cJSON_Delete(r);
    close(p[1]);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("rpc", NULL, NULL);
    CU_ADD_TEST(s, test_rpc_rejects_text_that_is_not_json_with_the_byte_offset);
    CU_ADD_TEST(s, test_rpc_rejects_invalid_utf8_and_raw_control_characters);
    CU_ADD_TEST(s, test_rpc_rejects_deep_nesting_without_recursing);
    CU_ADD_TEST(s, test_rpc_rejects_a_request_that_is_not_an_object_with_id_null);
    CU_ADD_TEST(s, test_rpc_rejects_a_missing_or_wrong_id_with_id_null);
    CU_ADD_TEST(s, test_rpc_rejects_a_bad_envelope_and_keeps_the_id_for_the_reply);
    CU_ADD_TEST(s, test_rpc_refuses_a_very_wide_request_in_linear_time);
    CU_ADD_TEST(s, test_rpc_accepts_a_valid_request_and_takes_missing_params_as_empty);
    CU_ADD_TEST(s, test_rpc_builds_results_and_errors_echoing_the_id);
    CU_ADD_TEST(s, test_rpc_makes_a_cut_multibyte_message_valid_utf8);
    CU_ADD_TEST(s, test_rpc_writes_a_reply_as_one_line_with_control_characters_escaped);
    CU_ADD_TEST(s, test_rpc_writes_a_large_reply_completely_through_a_pipe);
    CU_ADD_TEST(s, test_rpc_reports_a_closed_reader_as_err_closed);
    return TEST_RUN;
}
