/*
 * Bad input end to end (docs/RELIABILITY.md has the results): every kind of malformed request and
 * hostile file a client can hand the real server over its real pipes, started as TVM starts it. For
 * each: the reply is the right JSON-RPC error with a message naming the problem, the server keeps
 * serving (a server_info_query answers right after), and nothing is left behind (no project
 * directory, no extraction temp, no runtime directory). No QEMU or compiler runs here: the cases
 * fail before that, which is the point. Complements e2e_protocol.c (envelope errors, the 65 MiB
 * line).
 */
#include "asserts.h"
#include "fs.h"
#include "host_marks.h"
#include "mlf.h"
#include "qemu_procs.h"
#include "rpc_client.h"
#include "runner.h"
#include "tarmaker.h"
#include "scratch.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT_MS 20000

/* Suite fixtures (CUnit tests take no arguments): one scratch directory holding the archives
 * (tars/), the projects that must never appear (gen/), a private $XDG_RUNTIME_DIR (run/) and
 * the build cache; one template server serves every test, so "keeps serving" spans them all. */
static char workdir[] = "/tmp/mtq-e2e-bad-input-XXXXXX";
static char tars[sizeof workdir + 8], gen[sizeof workdir + 8], rundir[sizeof workdir + 8];
static struct rpc_client server;
static bool server_up;

/* ---- helpers ---- */

/* Sends one raw line, returns the parsed reply (fails the test fatally when none comes). */
static cJSON *send_raw(const char *line)
{
    struct err err = {0};
    cJSON *reply = NULL;
    ASSERT_OK_FATAL(rpc_client_send_line(&server, line, &err), &err);
    int rc = rpc_client_read_reply(&server, TIMEOUT_MS, &reply, &err);
    if (rc < 0)
        fprintf(stderr, "\n    after %.100s: %s\n", line, err.msg);
    ASSERT_EQ_FATAL(rc, 0);
    return reply;
}

static const char *error_field(const cJSON *reply, const char *name)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static const char *traceback_of(const cJSON *reply)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "data"),
                                                      "traceback");
    return cJSON_IsString(t) ? t->valuestring : "";
}

static int error_code(const cJSON *reply)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    return cJSON_IsNumber(c) ? c->valueint : 0;
}

/* Checks reply is an error with code, whose message (or, for -32000, traceback) holds want. */
static void expect(const cJSON *reply, int code, const char *want, const char *what)
{
    const char *msg = error_field(reply, "message");
    const char *text = code == -32000 ? traceback_of(reply) : msg;
    bool ok = error_code(reply) == code && strstr(text, want) != NULL;
    if (!ok)
        fprintf(stderr, "\n    %s: got %d \"%s\" %s\n    want %d \"%s\"\n", what,
                error_code(reply), msg, traceback_of(reply), code, want);
    ASSERT_EQ(error_code(reply), code);
    ASSERT_STR_CONTAINS(text, want);
    if (code == -32000) /* TVM's names, or the generic one with the diagnosis beside it */
        ASSERT_TRUE(strstr(msg, "calling method ") || !strcmp(msg, "TransportClosedError") ||
                    !strcmp(msg, "IoTimeoutError"));
    /* one line: a raw newline would break TVM's framing (the reply parsed, so it had none) */
    ASSERT_STR_NOT_CONTAINS(msg, "\n");
}

/* Sends "method" with params (JSON text) as request id 7 and checks the error. */
static void expect_call(const char *method, const char *params, int code, const char *want)
{
    char *line = NULL;
    ASSERT_GT_FATAL(asprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"%s\","
                                    "\"params\":%s}", method, params), 0);
    cJSON *reply = send_raw(line);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(reply, "id");
    ASSERT_TRUE(cJSON_IsNumber(id) && id->valueint == 7);
    expect(reply, code, want, line);
    cJSON_Delete(reply);
    free(line);
}

/* The server still answers a good request. */
static void still_serving(void)
{
    cJSON *reply = send_raw("{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"server_info_query\","
                            "\"params\":{\"tvm_version\":\"0.18.0\"}}");
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(reply, "result");
    ASSERT_TRUE(cJSON_IsObject(res) && cJSON_IsTrue(cJSON_GetObjectItem(res, "is_template")));
    cJSON_Delete(reply);
    ASSERT_TRUE(qemu_procs_alive(server.pid));
}

/* ---- archives (written at run time: the repository keeps no binary tars) ---- */


static const char GOOD_META[] =
    "{\"version\": 7, \"modules\": {\"default\": {\"executors\": [\"aot\"], \"style\": "
    "\"full-model\", \"target\": [\"c\"], \"memory\": {\"functions\": {\"main\": "
    "[{\"workspace_size_bytes\": 64, \"inputs\": {\"x\": {\"size\": 4, \"dtype\": \"int8\"}}, "
    "\"outputs\": {\"y\": {\"size\": 4, \"dtype\": \"int8\"}}}]}}}}}";

/* generate_project into gen/<name> with the given MLF (and extra_files_tar, may be NULL);
 * expects a -32000 whose traceback holds want, then checks nothing was left in gen/. */
static void expect_generate_refused(const char *name, const char *mlf, const char *extra,
                                    const char *project_type, const char *want)
{
    char proj[PATH_MAX], params[3 * PATH_MAX];
    snprintf(proj, sizeof proj, "%s/%s", gen, name);
    char extra_opt[PATH_MAX + 32] = "";
    if (extra)
        snprintf(extra_opt, sizeof extra_opt, ",\"extra_files_tar\":\"%s\"", extra);
    snprintf(params, sizeof params,
             "{\"model_library_format_path\":\"%s\",\"standalone_crt_dir\":\"\","
             "\"project_dir\":\"%s\",\"options\":{\"project_type\":\"%s\","
             "\"board\":\"mps2-an385\"%s}}",
             mlf ? mlf : "", proj, project_type, extra_opt);
    expect_call("generate_project", params, -32000, want);
    ASSERT_FALSE(fs_exists(proj));
    int left = host_marks_entries(gen);
    if (left != 0)
        fprintf(stderr, "\n    %s: %d entries left in %s\n", name, left, gen);
    ASSERT_EQ(left, 0);
    still_serving();
}

/* An MLF tar named name.tar in tars/ of the given members; returns its path in out. */
static void mlf_tar(const char *name, const struct tar_member *m, size_t n, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s.tar", tars, name);
    tar_write(out, m, n);
}

/* ---- JSON-RPC ---- */

static void test_a_request_that_is_a_number_string_or_null_is_an_invalid_request(void)
{
    static const char *const lines[] = {"42", "\"build\"", "null", "true", "-1e999"};
    static const char *const kinds[] = {"a number", "a string", "null", "a boolean", "a number"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        cJSON *r = send_raw(lines[i]);
        char want[64];
        snprintf(want, sizeof want, "request must be a JSON object, not %s", kinds[i]);
        expect(r, -32600, want, lines[i]);
        ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "id")));
        cJSON_Delete(r);
    }
    still_serving();
}

static void test_a_line_that_is_not_json_is_a_parse_error_naming_the_byte(void)
{
    cJSON *r = send_raw("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": build}");
    expect(r, -32700, "request is not valid JSON: syntax error near byte 38", "bare word");
    cJSON_Delete(r);
    r = send_raw("\x01\x02\x03 binary \xfe");
    ASSERT_EQ(error_code(r), -32700);
    cJSON_Delete(r);
    still_serving();
}

static void test_invalid_utf8_inside_a_parameter_is_a_parse_error(void)
{
    static const char *const bad[] = {"\xc3\x28", "\xed\xa0\x80" /* a surrogate */,
                                      "\xf8\x88\x80\x80\x80", "\xc0\xaf" /* overlong '/' */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[200];
        snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":"
                 "\"server_info_query\",\"params\":{\"tvm_version\":\"0.%s\"}}", bad[i]);
        cJSON *r = send_raw(line);
        expect(r, -32700, "not valid UTF-8", "invalid UTF-8");
        cJSON_Delete(r);
    }
    still_serving();
}

static void test_deep_nesting_inside_params_is_refused_without_a_crash(void)
{
    size_t depth = 100000;
    char *line = malloc(2 * depth + 200);
    ASSERT_NOT_NULL_FATAL(line);
    size_t n = (size_t)sprintf(line, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"build\","
                               "\"params\":{\"options\":");
    memset(line + n, '[', depth);
    n += depth;
    memset(line + n, ']', depth);
    n += depth;
    strcpy(line + n, "}}");
    cJSON *r = send_raw(line);
    expect(r, -32700, "nested deeper than", "deep nesting");
    cJSON_Delete(r);
    free(line);
    still_serving();
}

/* 100 MiB in one line: one error, then the next request is served; the server never holds the
 * whole line (e2e_protocol checks its peak memory at 65 MiB). */
static void test_a_100_mib_line_gets_one_error_and_the_server_serves_the_next(void)
{
    struct err err = {0};
    size_t chunk = (size_t)1 << 20;
    char *x = malloc(chunk);
    ASSERT_NOT_NULL_FATAL(x);
    memset(x, '{', chunk);
    for (int i = 0; i < 100; i++)
        ASSERT_OK_FATAL(rpc_client_send(&server, x, chunk, &err), &err);
    free(x);
    ASSERT_OK_FATAL(rpc_client_send_line(&server, "", &err), &err);
    cJSON *r = NULL;
    ASSERT_OK_FATAL(rpc_client_read_reply(&server, TIMEOUT_MS, &r, &err), &err);
    expect(r, -32600, "request line longer than", "100 MiB line");
    cJSON_Delete(r);
    still_serving();
}

struct param_case {
    const char *method, *params, *want;
};

/* Every parameter of every method: missing, of the wrong type, and one too many. */
static const struct param_case PARAM_CASES[] = {
    {"server_info_query", "{}", "server_info_query: missing parameter \"tvm_version\""},
    {"server_info_query", "{\"tvm_version\":5}",
     "parameter \"tvm_version\" must be a non-empty string"},
    {"server_info_query", "{\"tvm_version\":\"\"}",
     "parameter \"tvm_version\" must be a non-empty string"},
    {"server_info_query", "{\"tvm_version\":\"x\",\"colour\":1}",
     "server_info_query: unexpected parameter \"colour\" (server_info_query takes: tvm_version)"},
    {"generate_project",
     "{\"standalone_crt_dir\":\"\",\"project_dir\":\"/x\",\"options\":{}}",
     "missing parameter \"model_library_format_path\""},
    {"generate_project",
     "{\"model_library_format_path\":\"\",\"project_dir\":\"/x\",\"options\":{}}",
     "missing parameter \"standalone_crt_dir\""},
    {"generate_project",
     "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":\"\",\"options\":{}}",
     "missing parameter \"project_dir\""},
    {"generate_project",
     "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":\"\",\"project_dir\":\"/x\"}",
     "missing parameter \"options\""},
    {"generate_project",
     "{\"model_library_format_path\":7,\"standalone_crt_dir\":\"\",\"project_dir\":\"/x\","
     "\"options\":{}}",
     "parameter \"model_library_format_path\" must be a string"},
    {"generate_project",
     "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":[],\"project_dir\":\"/x\","
     "\"options\":{}}",
     "parameter \"standalone_crt_dir\" must be a string"},
    {"generate_project",
     "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":\"\",\"project_dir\":null,"
     "\"options\":{}}",
     "parameter \"project_dir\" must be a non-empty string"},
    {"generate_project",
     "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":\"\",\"project_dir\":\"/x\","
     "\"options\":\"board=mps2-an385\"}",
     "parameter \"options\" must be an object of project options"},
    {"generate_project",
     "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":\"\",\"project_dir\":\"/x\","
     "\"options\":{},\"force\":true}",
     "generate_project: unexpected parameter \"force\""},
    {"build", "{}", "build: missing parameter \"options\""},
    {"build", "{\"options\":[]}", "parameter \"options\" must be an object"},
    {"build", "{\"options\":{},\"clean\":true}", "build: unexpected parameter \"clean\""},
    {"flash", "{}", "flash: missing parameter \"options\""},
    {"flash", "{\"options\":1}", "parameter \"options\" must be an object"},
    {"flash", "{\"options\":{},\"port\":1}", "flash: unexpected parameter \"port\""},
    {"open_transport", "{}", "open_transport: missing parameter \"options\""},
    {"open_transport", "{\"options\":true}", "parameter \"options\" must be an object"},
    {"open_transport", "{\"options\":{},\"x\":1}", "open_transport: unexpected parameter \"x\""},
    {"close_transport", "{\"options\":{}}",
     "close_transport: unexpected parameter \"options\" (close_transport takes: no parameters)"},
    {"read_transport", "{\"timeout_sec\":null}", "read_transport: missing parameter \"n\""},
    {"read_transport", "{\"n\":8}", "read_transport: missing parameter \"timeout_sec\""},
    {"read_transport", "{\"n\":\"8\",\"timeout_sec\":null}",
     "parameter \"n\" must be an integer >= 1"},
    {"read_transport", "{\"n\":0,\"timeout_sec\":null}", "parameter \"n\" must be an integer >= 1"},
    {"read_transport", "{\"n\":-5,\"timeout_sec\":null}",
     "parameter \"n\" must be an integer >= 1"},
    {"read_transport", "{\"n\":2.5,\"timeout_sec\":null}",
     "parameter \"n\" must be an integer >= 1"},
    {"read_transport", "{\"n\":true,\"timeout_sec\":null}",
     "parameter \"n\" must be an integer >= 1"},
    {"read_transport", "{\"n\":8,\"timeout_sec\":-1}",
     "parameter \"timeout_sec\" must be null or a number >= 0"},
    {"read_transport", "{\"n\":8,\"timeout_sec\":\"1\"}",
     "parameter \"timeout_sec\" must be null or a number >= 0"},
    {"read_transport", "{\"n\":8,\"timeout_sec\":false}",
     "parameter \"timeout_sec\" must be null or a number >= 0"},
    {"read_transport", "{\"n\":8,\"timeout_sec\":1,\"flush\":1}",
     "read_transport: unexpected parameter \"flush\""},
    {"write_transport", "{\"timeout_sec\":null}", "write_transport: missing parameter \"data\""},
    {"write_transport", "{\"data\":\"\"}", "write_transport: missing parameter \"timeout_sec\""},
    {"write_transport", "{\"data\":255,\"timeout_sec\":null}",
     "parameter \"data\" must be a base85 string"},
    {"write_transport", "{\"data\":\"|NQ\",\"timeout_sec\":-0.5}",
     "parameter \"timeout_sec\" must be null or a number >= 0"},
    {"write_transport", "{\"data\":\"|NQ\",\"timeout_sec\":{}}",
     "parameter \"timeout_sec\" must be null or a number >= 0"},
    {"write_transport", "{\"data\":\"|NQ\",\"timeout_sec\":1,\"n\":3}",
     "write_transport: unexpected parameter \"n\""},
    /* base85 is checked before the transport: a bad one is the client's mistake, even closed */
    {"write_transport", "{\"data\":\"0000\\\"\",\"timeout_sec\":1}",
     "write_transport: data: bad base85 character '\"' at position 4"},
    {"write_transport", "{\"data\":\"00 00\",\"timeout_sec\":1}",
     "bad base85 character 0x20 at position 2"},
    {"write_transport", "{\"data\":\"000000\",\"timeout_sec\":1}",
     "write_transport: data: bad base85: a dangling single character at position 5"},
    {"write_transport", "{\"data\":\"|NsC1\",\"timeout_sec\":1}",
     "write_transport: data: bad base85: the group at position 0 is worth more than 2^32-1"},
    {"write_transport", "{\"data\":\"~~\",\"timeout_sec\":1}", "worth more than 2^32-1"},
    {"no_such_method", "{}", "no_such_method: no such method"},
};

static void test_every_parameter_missing_wrong_or_extra_is_named_in_a_32602(void)
{
    for (size_t i = 0; i < sizeof PARAM_CASES / sizeof PARAM_CASES[0]; i++) {
        const struct param_case *c = &PARAM_CASES[i];
        int code = strcmp(c->method, "no_such_method") ? -32602 : -32601;
        expect_call(c->method, c->params, code, c->want);
    }
    fprintf(stderr, "\n    %zu parameter cases", sizeof PARAM_CASES / sizeof PARAM_CASES[0]);
    still_serving();
}

/* A huge n is legal (TVM asks for what it wants): the server caps its buffer instead of trying
 * to allocate n bytes, and answers what the transport's state says. */
static void test_a_huge_n_is_capped_not_allocated(void)
{
    expect_call("read_transport", "{\"n\":1e18,\"timeout_sec\":0}", -32000,
                "the transport is not open: call open_transport first");
    expect_call("read_transport", "{\"n\":9007199254740993,\"timeout_sec\":null}", -32000,
                "the transport is not open: call open_transport first");
    still_serving();
}

static void test_options_of_the_wrong_type_or_out_of_their_choices_are_named(void)
{
    static const struct param_case cases[] = {
        {"build", "{\"options\":{\"verbose\":\"maybe\"}}", "option verbose"},
        {"build", "{\"options\":{\"verbose\":2}}", "option verbose"},
        {"build", "{\"options\":{\"libc\":5}}", "option libc"},
        {"build", "{\"options\":{\"libc\":\"musl\"}}",
         "option libc: \"musl\" is not one of: picolibc, newlib, newlib-nano"},
        {"build", "{\"options\":{\"opt_level\":\"4\"}}", "option opt_level"},
        {"build", "{\"options\":{\"workspace_size_bytes\":\"12abc\"}}",
         "option workspace_size_bytes: \"12abc\" is not a decimal integer"},
        {"build", "{\"options\":{\"workspace_size_bytes\":1.5}}",
         "option workspace_size_bytes"},
        {"build", "{\"options\":{\"workspace_size_bytes\":1e30}}",
         "option workspace_size_bytes"},
        {"open_transport", "{\"options\":{\"gdbserver_port\":\"-1\"}}",
         "option gdbserver_port"},
        {"open_transport", "{\"options\":{\"session_start_timeout_sec\":\"soon\"}}",
         "option session_start_timeout_sec"},
        {"flash", "{\"options\":{\"deterministic\":[]}}", "option deterministic"},
        {"flash", "{\"options\":{\"board\":7}}", "option board"},
        {"flash", "{\"options\":{\"board\":\"no-such-board\"}}",
         "option board: \"no-such-board\" is not one of: "},
        {"build", "{\"options\":{\"compile_definitions\":{\"A\":1}}}",
         "option compile_definitions"},
        {"build", "{\"options\":{\"colour\":\"red\"}}", "unknown option \"colour\""},
        {"generate_project",
         "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":\"\",\"project_dir\":\"/x\","
         "\"options\":{\"project_type\":\"blinky\",\"board\":\"mps2-an385\"}}",
         "option project_type: \"blinky\" is not one of"},
        {"generate_project",
         "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":\"\",\"project_dir\":\"/x\","
         "\"options\":{\"project_type\":\"echo\"}}",
         "generate_project needs option board (one of: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_call(cases[i].method, cases[i].params, -32000, cases[i].want);
    ASSERT_FALSE(fs_exists("/x"));
    still_serving();
}

/* ---- MLF and extra_files_tar ---- */

static void test_hostile_mlf_members_are_refused_and_leave_no_project(void)
{
    struct hostile {
        const char *name;
        struct tar_member m[3];
        size_t n;
        const char *want;
    } cases[] = {
        {"absolute", {{"./metadata.json", AE_IFREG, GOOD_META, NULL, NULL, 0, false},
                      {"/tmp/mtq-evil", AE_IFREG, "x", NULL, NULL, 0, false}}, 2,
         "/tmp/mtq-evil: member has an absolute path"},
        {"dotdot", {{"./metadata.json", AE_IFREG, GOOD_META, NULL, NULL, 0, false},
                    {"./codegen/../../evil", AE_IFREG, "x", NULL, NULL, 0, false}}, 2,
         "./codegen/../../evil: member escapes the project directory"},
        {"symlink", {{"./metadata.json", AE_IFREG, GOOD_META, NULL, NULL, 0, false},
                     {"./codegen", AE_IFLNK, NULL, "../../../etc", NULL, 0, false}}, 2,
         "./codegen: symbolic link to '../../../etc'"},
        {"symlink_abs", {{"./metadata.json", AE_IFREG, GOOD_META, NULL, NULL, 0, false},
                         {"./src", AE_IFLNK, NULL, "/etc", NULL, 0, false}}, 2,
         "./src: symbolic link to '/etc'"},
        {"hardlink", {{"./metadata.json", AE_IFREG, GOOD_META, NULL, NULL, 0, false},
                      {"./h", AE_IFREG, NULL, NULL, "../../etc/passwd", 0, false}}, 2,
         "./h: hard link to '../../etc/passwd'"},
        {"hardlink_abs", {{"./metadata.json", AE_IFREG, GOOD_META, NULL, NULL, 0, false},
                          {"./h", AE_IFREG, NULL, NULL, "/etc/passwd", 0, false}}, 2,
         "./h: hard link to '/etc/passwd'"},
        {"device", {{"./metadata.json", AE_IFREG, GOOD_META, NULL, NULL, 0, false},
                    {"./dev/null", AE_IFCHR, NULL, NULL, NULL, 0, false}}, 2,
         "./dev/null: member is a device file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tar[PATH_MAX];
        mlf_tar(cases[i].name, cases[i].m, cases[i].n, tar, sizeof tar);
        expect_generate_refused(cases[i].name, tar, NULL, "aot_standalone", cases[i].want);
    }
    ASSERT_FALSE(fs_exists("/tmp/mtq-evil"));
}

static void test_a_truncated_or_foreign_mlf_is_refused_and_leaves_no_project(void)
{
    char fixture[PATH_MAX], tar[PATH_MAX];
    struct err err = {0};
    ASSERT_OK_FATAL(mlf_fixture_path("digits_int8", fixture, sizeof fixture, &err), &err);
    snprintf(tar, sizeof tar, "%s/truncated.tar", tars);
    ASSERT_OK_FATAL(mlf_make_tar(fixture, tar, &err), &err);
    struct stat st;
    ASSERT_EQ_FATAL(stat(tar, &st), 0);
    ASSERT_EQ_FATAL(truncate(tar, st.st_size / 2 + 100), 0); /* inside a member's data */
    expect_generate_refused("truncated", tar, NULL, "aot_standalone",
                            "truncated or corrupt archive");
    snprintf(tar, sizeof tar, "%s/text.tar", tars);
    ASSERT_OK_FATAL(fs_write_file(tar, "just some text\n", 15, &err), &err);
    expect_generate_refused("text", tar, NULL, "aot_standalone", "not a readable tar archive");
    snprintf(tar, sizeof tar, "%s/empty.tar", tars);
    ASSERT_OK_FATAL(fs_write_file(tar, "", 0, &err), &err);
    expect_generate_refused("empty", tar, NULL, "aot_standalone", "model.tar");
    /* a directory where the tar should be, and a path that does not exist */
    expect_generate_refused("dir", tars, NULL, "aot_standalone", "not a file");
    snprintf(tar, sizeof tar, "%s/missing.tar", tars);
    expect_generate_refused("missing", tar, NULL, "aot_standalone", "No such file or directory");
}

static void test_a_bad_metadata_json_is_named_and_leaves_no_project(void)
{
    static const struct {
        const char *name, *meta, *want;
    } cases[] = {
        {"meta_missing", NULL, "metadata.json: missing"},
        {"meta_not_json", "{\"version\": 7,, }", "metadata.json: not valid JSON (error at byte "},
        {"meta_array", "[1, 2]", "want a JSON object at the top level"},
        {"meta_version", "{\"version\": 9, \"modules\": {}}", "version 9 is not supported"},
        {"meta_shape", "{\"version\": 7, \"modules\": []}",
         "metadata.json: modules: want an object"},
        {"meta_memory", "{\"version\": 7, \"modules\": {\"default\": {\"executors\": [\"aot\"]}}}",
         "modules.default.memory: missing; want an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tar_member m[2] = {
            {"./codegen/host/src/default_lib0.c", AE_IFREG, "int x;\n", NULL, NULL, 0, false},
            {"./metadata.json", AE_IFREG, cases[i].meta, NULL, NULL, 0, false},
        };
        char tar[PATH_MAX];
        mlf_tar(cases[i].name, m, cases[i].meta ? 2 : 1, tar, sizeof tar);
        expect_generate_refused(cases[i].name, tar, NULL, "aot_standalone", cases[i].want);
    }
}

static void test_a_hostile_extra_files_tar_is_refused_and_leaves_no_project(void)
{
    struct hostile {
        const char *name;
        struct tar_member m;
        const char *want;
    } cases[] = {
        {"x_absolute", {"/tmp/mtq-evil", AE_IFREG, "x", NULL, NULL, 0, false},
         "extra_files_tar: "},
        {"x_dotdot", {"../evil.c", AE_IFREG, "x", NULL, NULL, 0, false},
         "../evil.c: member escapes"},
        {"x_symlink", {"include", AE_IFLNK, NULL, "../..", NULL, 0, false},
         "include: symbolic link to '../..'"},
        {"x_hardlink", {"h", AE_IFREG, NULL, NULL, "/etc/shadow", 0, false},
         "h: hard link to '/etc/shadow'"},
        {"x_device", {"tty", AE_IFCHR, NULL, NULL, NULL, 0, false}, "tty: member is a device file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tar[PATH_MAX];
        mlf_tar(cases[i].name, &cases[i].m, 1, tar, sizeof tar);
        expect_generate_refused(cases[i].name, NULL, tar, "echo", cases[i].want);
    }
    char tar[PATH_MAX];
    snprintf(tar, sizeof tar, "%s/x_missing.tar", tars);
    expect_generate_refused("x_missing", NULL, tar, "echo", "extra_files_tar");
    ASSERT_FALSE(fs_exists("/tmp/mtq-evil"));
}

/* extra_files_tar may only add files (docs/SECURITY.md): each member that would replace or shadow
 * what the template or generate_project made is refused by name, the project is not created,
 * and the payload (which would touch a marker if it ever ran) never runs. */
static void test_extra_files_that_replace_or_shadow_the_project_are_refused_by_name(void)
{
    char marker[PATH_MAX], payload[PATH_MAX + 64];
    snprintf(marker, sizeof marker, "%s/ran", tars);
    snprintf(payload, sizeof payload, "execute_process(COMMAND touch %s)\n", marker);
    char script[PATH_MAX + 32];
    snprintf(script, sizeof script, "#!/bin/sh\ntouch %s\n", marker);
    struct hostile {
        const char *name;
        struct tar_member m;
        const char *want;
    } cases[] = {
        {"r_cmake", {"CMakeLists.txt", AE_IFREG, payload, NULL, NULL, 0, false},
         "member CMakeLists.txt would replace a file the project owns"},
        {"r_launcher", {"./launch_microtvm_api_server.sh", AE_IFREG, script, NULL, NULL, 0, false},
         "member launch_microtvm_api_server.sh would replace a file the project owns"},
        {"r_machine", {"machines/x.json", AE_IFREG, "{}", NULL, NULL, 0, false},
         "member machines/x.json is inside a directory the project owns"},
        {"r_fwcmake", {"firmware/cmake/toolchain.cmake", AE_IFREG, payload, NULL, NULL, 0, false},
         "member firmware/cmake/toolchain.cmake is inside a directory the project owns"},
        {"r_project_cmake", {"project.cmake", AE_IFREG, payload, NULL, NULL, 0, false},
         "member project.cmake would replace a file the project owns"},
        {"r_boards", {"boards.json", AE_IFREG, "{}", NULL, NULL, 0, false},
         "member boards.json would replace"},
        {"r_model", {"model/metadata.json", AE_IFREG, "{}", NULL, NULL, 0, false},
         "member model/metadata.json is inside a directory the project owns"},
        {"r_build", {"build/build.ninja", AE_IFREG, "x", NULL, NULL, 0, false},
         "member build/build.ninja is inside a directory the project owns"},
        {"r_shadow", {"include/board.h", AE_IFREG, "#error\n", NULL, NULL, 0, false},
         "member include/board.h would shadow the project's firmware/include/board.h"},
        {"r_generated", {"include/board_config.h", AE_IFREG, "#error\n", NULL, NULL, 0, false},
         "member include/board_config.h would shadow a header the firmware build generates"},
        {"r_hidden", {".extra-files", AE_IFREG, "x", NULL, NULL, 0, false},
         "member .extra-files"},
        {"r_link", {"src/x.c", AE_IFLNK, NULL, "y.c", NULL, 0, false}, "src/x.c: symbolic link"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tar[PATH_MAX];
        mlf_tar(cases[i].name, &cases[i].m, 1, tar, sizeof tar);
        expect_generate_refused(cases[i].name, NULL, tar, "echo", cases[i].want);
    }
    ASSERT_FALSE(fs_exists(marker));
}

static void test_a_project_dir_that_exists_or_cannot_be_made_is_refused(void)
{
    char dir[PATH_MAX], params[2 * PATH_MAX];
    snprintf(dir, sizeof dir, "%s/exists", gen);
    ASSERT_EQ_FATAL(fs_mkdir_p(dir, NULL), 0);
    snprintf(params, sizeof params,
             "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":\"\","
             "\"project_dir\":\"%s/\",\"options\":{\"project_type\":\"echo\","
             "\"board\":\"mps2-an385\"}}", dir);
    expect_call("generate_project", params, -32000, "already exists");
    ASSERT_EQ(host_marks_entries(dir), 0); /* untouched */
    rmdir(dir);
    /* under a regular file: mkdir fails with ENOTDIR (a root test process can write anywhere,
     * so permissions cannot make this fail) */
    char file[PATH_MAX];
    snprintf(file, sizeof file, "%s/a-file", gen);
    ASSERT_EQ_FATAL(fs_write_file(file, "x", 1, NULL), 0);
    snprintf(params, sizeof params,
             "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":\"\","
             "\"project_dir\":\"%s/proj\",\"options\":{\"project_type\":\"echo\","
             "\"board\":\"mps2-an385\"}}", file);
    expect_call("generate_project", params, -32000, "a-file: exists and is not a directory");
    unlink(file);
    ASSERT_EQ(host_marks_entries(gen), 0);
    still_serving();
}

/* ---- setup ---- */

static int suite_init(void)
{
    if (scratch_make(workdir, rundir, sizeof rundir, NULL, 0) < 0)
        return -1;
    snprintf(tars, sizeof tars, "%s/tars", workdir);
    snprintf(gen, sizeof gen, "%s/gen", workdir);
    if (fs_mkdir_p(tars, NULL) < 0 || fs_mkdir_p(gen, NULL) < 0)
        return -1;
    struct err err = {0};
    if (rpc_client_spawn(&server, MTQ_TEMPLATE_DIR, false, &err) < 0) {
        fprintf(stderr, "spawning the template's server: %s\n", err.msg);
        return -1;
    }
    server_up = true;
    return 0;
}

static int suite_clean(void)
{
    int bad = 0;
    if (server_up) {
        struct err err = {0};
        int status = -1;
        if (rpc_client_close(&server, TIMEOUT_MS, &status, &err) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fprintf(stderr, "e2e_bad_input: the server did not exit cleanly at EOF: %s\n",
                    err.msg);
            bad = 1;
        }
    }
    if (host_marks_entries(rundir) != 0) {
        fprintf(stderr, "e2e_bad_input: %s is not empty\n", rundir);
        bad = 1;
    }
    if (fs_remove_tree(workdir, NULL) < 0)
        bad = 1;
    return bad ? -1 : 0;
}

int test_register(void)
{
    if (!fs_exists(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh")) {
        printf("e2e_bad_input: skipped: no template at %s (build the template_project target)\n",
               MTQ_TEMPLATE_DIR);
        return TEST_SKIP;
    }
    CU_pSuite s = CU_add_suite("e2e_bad_input", suite_init, suite_clean);
    CU_ADD_TEST(s, test_a_request_that_is_a_number_string_or_null_is_an_invalid_request);
    CU_ADD_TEST(s, test_a_line_that_is_not_json_is_a_parse_error_naming_the_byte);
    CU_ADD_TEST(s, test_invalid_utf8_inside_a_parameter_is_a_parse_error);
    CU_ADD_TEST(s, test_deep_nesting_inside_params_is_refused_without_a_crash);
    CU_ADD_TEST(s, test_a_100_mib_line_gets_one_error_and_the_server_serves_the_next);
    CU_ADD_TEST(s, test_every_parameter_missing_wrong_or_extra_is_named_in_a_32602);
    CU_ADD_TEST(s, test_a_huge_n_is_capped_not_allocated);
    CU_ADD_TEST(s, test_options_of_the_wrong_type_or_out_of_their_choices_are_named);
    CU_ADD_TEST(s, test_hostile_mlf_members_are_refused_and_leave_no_project);
    CU_ADD_TEST(s, test_a_truncated_or_foreign_mlf_is_refused_and_leaves_no_project);
    CU_ADD_TEST(s, test_a_bad_metadata_json_is_named_and_leaves_no_project);
    CU_ADD_TEST(s, test_a_hostile_extra_files_tar_is_refused_and_leaves_no_project);
    CU_ADD_TEST(s, test_extra_files_that_replace_or_shadow_the_project_are_refused_by_name);
    CU_ADD_TEST(s, test_a_project_dir_that_exists_or_cannot_be_made_is_refused);
    return TEST_RUN;
}
