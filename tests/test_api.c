/*
 * Dispatch of the eight methods, without real work: every parameter check (missing, extra,
 * wrong type, bad base85, bad options) with its code and message, server_info_query's content,
 * the id echo, and the mapping of work errors to TVM's error names.
 */
#include "api.h"

#include "asserts.h"
#include "log.h"
#include "runner.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char template_dir[] = "/tmp/mtq-test-api-XXXXXX";
static char machines[PATH_MAX - 64];
static struct server srv;

static int suite_init(void)
{
    if (!mkdtemp(template_dir))
        return -1;
    snprintf(machines, sizeof machines, "%s/machines", template_dir);
    if (mkdir(machines, 0755) < 0)
        return -1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/board-a.json", machines);
    FILE *f = fopen(path, "w");
    if (!f || fclose(f) != 0)
        return -1;
    struct err err = {0};
    return server_init(&srv, template_dir, &err);
}

static int suite_clean(void)
{
    char path[PATH_MAX];
    server_close(&srv);
    snprintf(path, sizeof path, "%s/board-a.json", machines);
    unlink(path);
    rmdir(machines);
    rmdir(template_dir);
    return 0;
}

/* Serves one request line and returns the parsed reply (asserting it prints as one line). */
static cJSON *serve(struct server *s, const char *line)
{
    cJSON *reply = api_serve_line(s, line, strlen(line));
    ASSERT_NOT_NULL_FATAL(reply);
    char *text = cJSON_PrintUnformatted(reply);
    ASSERT_TRUE(text && !strchr(text, '\n'));
    free(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, "jsonrpc");
    ASSERT_TRUE(cJSON_IsString(v) && strcmp(v->valuestring, "2.0") == 0);
    return reply;
}

/* Builds a request line for method with params (JSON text) and id 7. */
static cJSON *call(const char *method, const char *params)
{
    char line[4096];
    snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"%s\",\"params\":%s}",
             method, params);
    return serve(&srv, line);
}

/* Checks reply is an error with code and a message containing want; returns the error. */
static const cJSON *expect_error(const cJSON *reply, int code, const char *want)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    ASSERT_TRUE_FATAL(cJSON_IsObject(e));
    ASSERT_NULL(cJSON_GetObjectItemCaseSensitive(reply, "result"));
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    ASSERT_NOT_NULL(cJSON_GetObjectItemCaseSensitive(e, "data"));
    ASSERT_TRUE_FATAL(cJSON_IsNumber(c) && cJSON_IsString(m));
    /* a -32000 "calling method X" carries the diagnosis in data.traceback */
    const cJSON *tb = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "data"),
                                                       "traceback");
    const char *text = code == RPC_SERVER_ERROR && cJSON_IsString(tb) &&
                               !strstr(m->valuestring, want) ? tb->valuestring
                                                             : m->valuestring;
    if (c->valueint != code || !strstr(text, want))
        fprintf(stderr, "\ngot %d \"%s\", want %d \"%s\"\n", c->valueint, text, code, want);
    ASSERT_EQ(c->valueint, code);
    ASSERT_STR_CONTAINS(text, want);
    return e;
}

/* call + expect_error + free. */
static void bad_call(const char *method, const char *params, int code, const char *want)
{
    cJSON *r = call(method, params);
    expect_error(r, code, want);
    cJSON_Delete(r);
}

static void test_api_answers_server_info_query_for_a_template(void)
{
    cJSON *r = call("server_info_query", "{\"tvm_version\": \"0.18.0\"}");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
    ASSERT_TRUE(cJSON_IsNumber(id) && id->valueint == 7);
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(r, "result");
    ASSERT_TRUE_FATAL(cJSON_IsObject(info));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(info, "protocol_version");
    ASSERT_TRUE(cJSON_IsNumber(v) && v->valueint == 1);
    v = cJSON_GetObjectItemCaseSensitive(info, "platform_name");
    ASSERT_TRUE(cJSON_IsString(v) && strcmp(v->valuestring, "qemu") == 0);
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "is_template")));
    v = cJSON_GetObjectItemCaseSensitive(info, "model_library_format_path");
    ASSERT_TRUE(cJSON_IsString(v) && strcmp(v->valuestring, "") == 0);
    v = cJSON_GetObjectItemCaseSensitive(info, "project_options");
    ASSERT_TRUE(cJSON_IsArray(v) && cJSON_GetArraySize(v) == 17);
    char *text = cJSON_PrintUnformatted(v);
    ASSERT_STR_CONTAINS(text, "\"name\":\"board\",\"choices\":[\"board-a\"]");
    free(text);
    cJSON_Delete(r);
}

static void test_api_reports_a_generated_project_and_its_model_path(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/project.json", template_dir);
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL_FATAL(f);
    fputs("{}\n", f);
    fclose(f);
    struct server proj;
    struct err err = {0};
    ASSERT_OK_FATAL(server_init(&proj, template_dir, &err), &err);
    cJSON *r = serve(&proj, "{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"method\":\"server_info_query\","
                            "\"params\":{\"tvm_version\":\"0.18.0\"}}");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
    ASSERT_TRUE(cJSON_IsString(id) && strcmp(id->valuestring, "q") == 0);
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(r, "result");
    ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(info, "is_template")));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(info, "model_library_format_path");
    char want[PATH_MAX + 16], real[PATH_MAX];
    ASSERT_NOT_NULL_FATAL(realpath(template_dir, real));
    snprintf(want, sizeof want, "%s/model.tar", real);
    ASSERT_TRUE(cJSON_IsString(v) && strcmp(v->valuestring, want) == 0);
    cJSON_Delete(r);
    server_close(&proj);
    unlink(path);
}

static void test_api_refuses_bad_server_info_query_params(void)
{
    bad_call("server_info_query", "{}", RPC_INVALID_PARAMS,
             "server_info_query: missing parameter \"tvm_version\" (a non-empty string)");
    bad_call("server_info_query", "{\"tvm_version\": 18}", RPC_INVALID_PARAMS,
             "server_info_query: parameter \"tvm_version\" must be a non-empty string, not 18");
    bad_call("server_info_query", "{\"tvm_version\": \"0.18\", \"x\": 1}", RPC_INVALID_PARAMS,
             "server_info_query: unexpected parameter \"x\" (server_info_query takes: "
             "tvm_version)");
}

static void test_api_answers_an_unknown_method_with_32601(void)
{
    bad_call("flash_firmware", "{}", RPC_METHOD_NOT_FOUND, "flash_firmware: no such method");
    bad_call("Build", "{}", RPC_METHOD_NOT_FOUND, "Build: no such method");
}

static void test_api_refuses_bad_generate_project_params(void)
{
    bad_call("generate_project",
             "{\"standalone_crt_dir\": \"/c\", \"project_dir\": \"/p\", \"options\": {}}",
             RPC_INVALID_PARAMS,
             "generate_project: missing parameter \"model_library_format_path\"");
    bad_call("generate_project",
             "{\"model_library_format_path\": \"/m.tar\", \"project_dir\": \"/p\", "
             "\"options\": {}}",
             RPC_INVALID_PARAMS, "generate_project: missing parameter \"standalone_crt_dir\"");
    bad_call("generate_project",
             "{\"model_library_format_path\": \"/m.tar\", \"standalone_crt_dir\": \"/c\", "
             "\"options\": {}}",
             RPC_INVALID_PARAMS, "generate_project: missing parameter \"project_dir\"");
    bad_call("generate_project",
             "{\"model_library_format_path\": \"/m.tar\", \"standalone_crt_dir\": \"/c\", "
             "\"project_dir\": \"/p\"}",
             RPC_INVALID_PARAMS, "generate_project: missing parameter \"options\"");
    bad_call("generate_project",
             "{\"model_library_format_path\": \"/m.tar\", \"standalone_crt_dir\": \"/c\", "
             "\"project_dir\": \"\", \"options\": {}}",
             RPC_INVALID_PARAMS,
             "generate_project: parameter \"project_dir\" must be a non-empty string, not \"\"");
    bad_call("generate_project",
             "{\"model_library_format_path\": \"/m.tar\", \"standalone_crt_dir\": \"/c\", "
             "\"project_dir\": \"/p\", \"options\": []}",
             RPC_INVALID_PARAMS,
             "generate_project: parameter \"options\" must be an object of project options, "
             "not []");
    bad_call("generate_project",
             "{\"model_library_format_path\": \"/m.tar\", \"standalone_crt_dir\": \"/c\", "
             "\"project_dir\": \"/p\", \"options\": {}, \"board\": \"x\"}",
             RPC_INVALID_PARAMS, "generate_project: unexpected parameter \"board\"");
    bad_call("generate_project",
             "{\"model_library_format_path\": \"/m.tar\", \"standalone_crt_dir\": \"/c\", "
             "\"project_dir\": \"/p\", \"options\": {\"board\": \"board-b\"}}",
             RPC_SERVER_ERROR, "option board: \"board-b\" is not one of: board-a");
    bad_call("generate_project",
             "{\"model_library_format_path\": \"/m.tar\", \"standalone_crt_dir\": \"/c\", "
             "\"project_dir\": \"/p\", \"options\": {\"board\": \"board-a\"}}",
             RPC_SERVER_ERROR,
             "generate_project needs option project_type (one of: host_driven, aot_standalone, "
             "echo, aot_standalone_demo)");
    bad_call("generate_project",
             "{\"model_library_format_path\": \"/m.tar\", \"standalone_crt_dir\": \"/c\", "
             "\"project_dir\": \"/p\", \"options\": {\"project_type\": \"echo\"}}",
             RPC_SERVER_ERROR, "generate_project needs option board (one of: board-a)");
}

static void test_api_refuses_bad_build_flash_and_open_transport_params(void)
{
    static const char *const methods[] = {"build", "flash", "open_transport"};
    char want[160];
    for (size_t i = 0; i < 3; i++) {
        const char *m = methods[i];
        snprintf(want, sizeof want, "%s: missing parameter \"options\" (an object of project "
                 "options)", m);
        bad_call(m, "{}", RPC_INVALID_PARAMS, want);
        snprintf(want, sizeof want, "%s: parameter \"options\" must be an object of project "
                 "options, not \"verbose\"", m);
        bad_call(m, "{\"options\": \"verbose\"}", RPC_INVALID_PARAMS, want);
        snprintf(want, sizeof want, "%s: unexpected parameter \"option\" (%s takes: options)", m,
                 m);
        bad_call(m, "{\"options\": {}, \"option\": {}}", RPC_INVALID_PARAMS, want);
        bad_call(m, "{\"options\": {\"gdbserver_port\": \"port\"}}", RPC_SERVER_ERROR,
                 "option gdbserver_port: \"port\" is not a decimal integer");
        bad_call(m, "{\"options\": {\"colour\": true}}", RPC_SERVER_ERROR,
                 "unknown option \"colour\"");
    }
}

static void test_api_close_transport_takes_no_params_and_is_a_no_op_when_closed(void)
{
    cJSON *r = call("close_transport", "{}");
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "result")));
    ASSERT_NULL(cJSON_GetObjectItemCaseSensitive(r, "error"));
    cJSON_Delete(r);
    r = serve(&srv, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"close_transport\"}");
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "result")));
    cJSON_Delete(r);
    bad_call("close_transport", "{\"options\": {}}", RPC_INVALID_PARAMS,
             "close_transport: unexpected parameter \"options\" (close_transport takes: no "
             "parameters)");
}

static void test_api_refuses_bad_read_transport_params(void)
{
    bad_call("read_transport", "{\"timeout_sec\": null}", RPC_INVALID_PARAMS,
             "read_transport: missing parameter \"n\" (an integer >= 1)");
    bad_call("read_transport", "{\"n\": 0, \"timeout_sec\": null}", RPC_INVALID_PARAMS,
             "read_transport: parameter \"n\" must be an integer >= 1, not 0");
    bad_call("read_transport", "{\"n\": -5, \"timeout_sec\": null}", RPC_INVALID_PARAMS,
             "parameter \"n\" must be an integer >= 1, not -5");
    bad_call("read_transport", "{\"n\": 1.5, \"timeout_sec\": null}", RPC_INVALID_PARAMS,
             "parameter \"n\" must be an integer >= 1, not 1.5");
    bad_call("read_transport", "{\"n\": \"5\", \"timeout_sec\": null}", RPC_INVALID_PARAMS,
             "parameter \"n\" must be an integer >= 1, not \"5\"");
    bad_call("read_transport", "{\"n\": 5}", RPC_INVALID_PARAMS,
             "read_transport: missing parameter \"timeout_sec\" (null or a number >= 0)");
    bad_call("read_transport", "{\"n\": 5, \"timeout_sec\": -1}", RPC_INVALID_PARAMS,
             "parameter \"timeout_sec\" must be null or a number >= 0, not -1");
    bad_call("read_transport", "{\"n\": 5, \"timeout_sec\": \"1\"}", RPC_INVALID_PARAMS,
             "parameter \"timeout_sec\" must be null or a number >= 0, not \"1\"");
    bad_call("read_transport", "{\"n\": 5, \"timeout_sec\": 1e999}", RPC_INVALID_PARAMS,
             "parameter \"timeout_sec\" must be null or a number >= 0");
    bad_call("read_transport", "{\"n\": 5, \"timeout_sec\": 0, \"data\": \"\"}",
             RPC_INVALID_PARAMS, "read_transport: unexpected parameter \"data\" "
                                 "(read_transport takes: n, timeout_sec)");
}

static void test_api_refuses_bad_write_transport_params(void)
{
    bad_call("write_transport", "{\"timeout_sec\": null}", RPC_INVALID_PARAMS,
             "write_transport: missing parameter \"data\" (a base85 string)");
    bad_call("write_transport", "{\"data\": [1, 2], \"timeout_sec\": null}", RPC_INVALID_PARAMS,
             "write_transport: parameter \"data\" must be a base85 string, not [1,2]");
    bad_call("write_transport", "{\"data\": \"abc\\\"\", \"timeout_sec\": null}",
             RPC_INVALID_PARAMS,
             "write_transport: data: bad base85 character '\"' at position 3");
    bad_call("write_transport", "{\"data\": \"000000\", \"timeout_sec\": 1}", RPC_INVALID_PARAMS,
             "write_transport: data: bad base85: a dangling single character at position 5");
    bad_call("write_transport", "{\"data\": \"~~~~~\", \"timeout_sec\": 1}", RPC_INVALID_PARAMS,
             "write_transport: data: bad base85: the group at position 0 is worth more than "
             "2^32-1");
    bad_call("write_transport", "{\"data\": \"|NQ\", \"timeout_sec\": -0.5}", RPC_INVALID_PARAMS,
             "parameter \"timeout_sec\" must be null or a number >= 0, not -0.5");
    bad_call("write_transport", "{\"data\": \"|NQ\"}", RPC_INVALID_PARAMS,
             "write_transport: missing parameter \"timeout_sec\"");
}

static void test_api_answers_transport_calls_before_open_with_transport_closed(void)
{
    cJSON *r = call("read_transport", "{\"n\": 1e12, \"timeout_sec\": 0}");
    const cJSON *e = expect_error(r, RPC_SERVER_ERROR, "TransportClosedError");
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring,
                  "TransportClosedError");
    cJSON_Delete(r);
    r = call("write_transport", "{\"data\": \"|NQ\", \"timeout_sec\": null}");
    expect_error(r, RPC_SERVER_ERROR, "TransportClosedError");
    cJSON_Delete(r);
}

static void test_api_echoes_the_id_or_null_on_envelope_errors(void)
{
    cJSON *r = serve(&srv, "{\"jsonrpc\":\"1.0\",\"id\":\"abc\",\"method\":\"build\"}");
    expect_error(r, RPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\"");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id");
    ASSERT_TRUE(cJSON_IsString(id) && strcmp(id->valuestring, "abc") == 0);
    cJSON_Delete(r);
    r = serve(&srv, "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"build\"}");
    expect_error(r, RPC_INVALID_REQUEST, "\"id\" must be an integer");
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "id")));
    cJSON_Delete(r);
    r = serve(&srv, "not json");
    expect_error(r, RPC_PARSE_ERROR, "not valid JSON");
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "id")));
    cJSON_Delete(r);
    r = serve(&srv, "{\"jsonrpc\":\"2.0\",\"id\":-3,\"method\":\"nope\",\"params\":{}}");
    expect_error(r, RPC_METHOD_NOT_FOUND, "nope: no such method");
    id = cJSON_GetObjectItemCaseSensitive(r, "id");
    ASSERT_TRUE(cJSON_IsNumber(id) && id->valueint == -3);
    cJSON_Delete(r);
}

/* Maps one error and checks code, message and the traceback text. */
static void expect_mapping(int code, const char *msg, const char *detail, int want_code,
                           const char *want_message, const char *want_traceback)
{
    struct err e = {0};
    err_set(&e, code, "%s", msg);
    if (detail)
        err_set_detail(&e, detail, strlen(detail));
    cJSON *id = cJSON_CreateNumber(4);
    cJSON *r = api_error_reply(id, "build", &e);
    const cJSON *err = expect_error(r, want_code, want_message);
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(err, "message")->valuestring, want_message);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(err, "data");
    if (want_traceback) {
        const cJSON *tb = cJSON_GetObjectItemCaseSensitive(data, "traceback");
        ASSERT_TRUE(cJSON_IsString(tb) && strcmp(tb->valuestring, want_traceback) == 0);
    } else {
        ASSERT_TRUE(cJSON_IsNull(data));
    }
    cJSON_Delete(r);
    cJSON_Delete(id);
}

static void test_api_maps_work_errors_to_the_names_tvm_knows(void)
{
    expect_mapping(ERR_TIMEOUT, "no byte within 0.5 s", NULL, RPC_SERVER_ERROR, "IoTimeoutError",
                   "no byte within 0.5 s");
    expect_mapping(ERR_CLOSED, "QEMU exited with status 1", NULL, RPC_SERVER_ERROR,
                   "TransportClosedError", "QEMU exited with status 1");
    expect_mapping(ERR_PARAMS, "build: parameter \"options\" must be an object", NULL,
                   RPC_INVALID_PARAMS, "build: parameter \"options\" must be an object", NULL);
    /* tvmc prints a -32000's message; any other code ends in a Python traceback */
    expect_mapping(ERR_OPTION, "option x: bad", NULL, RPC_SERVER_ERROR, "calling method build",
                   "option x: bad");
    expect_mapping(ERR_TOOL, "build: cc failed", "$ cc -c a.c\na.c:1: error: x", RPC_SERVER_ERROR,
                   "calling method build", "build: cc failed\n$ cc -c a.c\na.c:1: error: x");
    expect_mapping(-2, "model.tar: No such file or directory", NULL, RPC_SERVER_ERROR,
                   "calling method build", "model.tar: No such file or directory");
    expect_mapping(ERR_STATE, "build: generate the project first", NULL, RPC_SERVER_ERROR,
                   "calling method build", "build: generate the project first");
}

/* verbose lasts for the call it came with (TVM's reference servers use it for that call's build
 * output): debug logging must not stay on for every later read_transport of a session. */
static void test_api_verbose_lasts_for_its_own_call_only(void)
{
    log_set_level(LOG_INFO);
    srv.verbosity = LOG_INFO;
    cJSON *r = call("build", "{\"options\": {\"verbose\": true}}");
    expect_error(r, RPC_SERVER_ERROR, "is the template, not a project");
    cJSON_Delete(r);
    ASSERT_EQ(log_get_level(), LOG_INFO);
    r = call("read_transport", "{\"n\": 4, \"timeout_sec\": 0}");
    ASSERT_EQ(log_get_level(), LOG_INFO);
    cJSON_Delete(r);
    /* a server started with --debug keeps it */
    srv.verbosity = LOG_DEBUG;
    r = call("flash", "{\"options\": {\"verbose\": false}}");
    ASSERT_EQ(log_get_level(), LOG_DEBUG);
    cJSON_Delete(r);
    srv.verbosity = LOG_INFO;
    log_set_level(LOG_INFO);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("api", suite_init, suite_clean);
    CU_ADD_TEST(s, test_api_answers_server_info_query_for_a_template);
    CU_ADD_TEST(s, test_api_reports_a_generated_project_and_its_model_path);
    CU_ADD_TEST(s, test_api_refuses_bad_server_info_query_params);
    CU_ADD_TEST(s, test_api_answers_an_unknown_method_with_32601);
    CU_ADD_TEST(s, test_api_refuses_bad_generate_project_params);
    CU_ADD_TEST(s, test_api_refuses_bad_build_flash_and_open_transport_params);
    CU_ADD_TEST(s, test_api_close_transport_takes_no_params_and_is_a_no_op_when_closed);
    CU_ADD_TEST(s, test_api_refuses_bad_read_transport_params);
    CU_ADD_TEST(s, test_api_refuses_bad_write_transport_params);
    CU_ADD_TEST(s, test_api_answers_transport_calls_before_open_with_transport_closed);
    CU_ADD_TEST(s, test_api_echoes_the_id_or_null_on_envelope_errors);
    CU_ADD_TEST(s, test_api_maps_work_errors_to_the_names_tvm_knows);
    CU_ADD_TEST(s, test_api_verbose_lasts_for_its_own_call_only);
    return TEST_RUN;
}
