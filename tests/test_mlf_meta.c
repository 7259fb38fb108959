/*
 * server/mlf.c: reading metadata.json of a Model Library Format, versions 5 (TVM 0.8) and 7
 * (TVM 0.9 to 0.18), from the fixtures in tests/fixtures/mlf/ and from texts written here to
 * hit each rejection.
 */
#include "project_internal.h"

#include "asserts.h"
#include "fs.h"
#include "runner.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static int suite_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_mlf_meta.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    return fs_remove_tree(tmpdir, NULL);
}

static int parse(struct proj_mlf *mlf, const char *text, struct err *err)
{
    return proj__mlf_parse(mlf, text, strlen(text), "metadata.json", err);
}

/* Parsing text fails with ERR_INVALID and a message containing want. */
static void assert_rejected(const char *text, const char *want)
{
    struct proj_mlf mlf;
    struct err err = {0};
    ASSERT_EQ(parse(&mlf, text, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, want);
    ASSERT_NULL(mlf.modules); /* nothing left to free after a failure */
}

/* Reads tests/fixtures/mlf/<name> into *mlf (the test closes it); a failure ends the test.
 * optional: a missing fixture skips the test (false, with a line saying so) instead. */
static bool read_fixture(const char *name, bool optional, struct proj_mlf *mlf)
{
    char dir[PATH_MAX];
    struct err err = {0};
    snprintf(dir, sizeof dir, "%s/tests/fixtures/mlf/%s", MTQ_SOURCE_DIR, name);
    if (optional && !fs_exists(dir)) {
        fprintf(stderr, "\n%s is missing; skipped\n", dir);
        return false;
    }
    ASSERT_OK_FATAL(proj__mlf_read(mlf, dir, &err), &err);
    return true;
}

static void test_mlf_reads_the_version_7_fixture(void)
{
    struct proj_mlf mlf;
    if (!read_fixture("digits_int8", true, &mlf))
        return;
    ASSERT_EQ(mlf.version, 7);
    ASSERT_EQ_FATAL(mlf.n_modules, 1);
    ASSERT_STR_EQ(mlf.modules[0].name, "default");
    ASSERT_STR_EQ(mlf.modules[0].executor, "aot");
    ASSERT_STR_EQ(mlf.modules[0].style, "full-model");
    ASSERT_EQ(mlf.modules[0].workspace_bytes, 160);
    ASSERT_EQ(proj__mlf_workspace(&mlf), 160);
    ASSERT_EQ_FATAL(mlf.modules[0].n_inputs, 1);
    ASSERT_STR_EQ(mlf.modules[0].inputs[0].name, "input");
    ASSERT_STR_EQ(mlf.modules[0].inputs[0].dtype, "int8");
    ASSERT_EQ(mlf.modules[0].inputs[0].size, 64);
    ASSERT_EQ_FATAL(mlf.modules[0].n_outputs, 1);
    ASSERT_EQ(mlf.modules[0].outputs[0].size, 10);
    ASSERT_TRUE(mlf.has_host_src);
    ASSERT_FALSE(mlf.has_runtime);
    ASSERT_TRUE(proj__mlf_has_executor(&mlf, "aot"));
    ASSERT_FALSE(proj__mlf_has_executor(&mlf, "graph"));
    proj__mlf_close(&mlf);
}

static void test_mlf_reads_the_version_5_fixture(void)
{
    struct proj_mlf mlf;
    if (!read_fixture("version5", true, &mlf))
        return;
    ASSERT_EQ(mlf.version, 5);
    ASSERT_EQ_FATAL(mlf.n_modules, 1);
    ASSERT_STR_EQ(mlf.modules[0].name, "default");
    ASSERT_STR_EQ(mlf.modules[0].executor, "aot");
    ASSERT_EQ(mlf.modules[0].workspace_bytes, 32);
    ASSERT_EQ(mlf.modules[0].n_inputs, 0); /* version 5 does not list tensors */
    ASSERT_TRUE(mlf.has_host_src);
    proj__mlf_close(&mlf);
}

static void test_mlf_parses_a_version_5_graph_model(void)
{
    const char *text =
        "{\"version\": 5, \"model_name\": \"mnist\", \"executors\": [\"graph\"],"
        " \"style\": \"full-model\", \"target\": {\"1\": \"c\"},"
        " \"memory\": {\"sids\": [], \"functions\": {\"operator_functions\": [],"
        " \"main\": [{\"device\": 1, \"workspace_size_bytes\": 4096}]}}}";
    struct proj_mlf mlf;
    struct err err = {0};
    ASSERT_OK_FATAL(parse(&mlf, text, &err), &err);
    ASSERT_STR_EQ(mlf.modules[0].name, "mnist");
    ASSERT_STR_EQ(mlf.modules[0].executor, "graph");
    ASSERT_EQ(mlf.modules[0].workspace_bytes, 4096);
    proj__mlf_close(&mlf);
}

static void test_mlf_takes_the_largest_workspace_of_several_modules(void)
{
    const char *text =
        "{\"version\": 7, \"modules\": {"
        " \"a\": {\"executors\": [\"aot\"], \"style\": \"full-model\", \"memory\": {\"functions\":"
        "  {\"main\": [{\"device\": 1, \"workspace_size_bytes\": 100, \"inputs\": {},"
        "   \"outputs\": {\"out\": {\"size\": 4, \"dtype\": \"float32\"}}}]}}},"
        " \"b\": {\"executors\": [\"aot\"], \"style\": \"full-model\", \"memory\": {\"functions\":"
        "  {\"main\": [{\"device\": 1, \"workspace_size_bytes\": 300}]}}}}}";
    struct proj_mlf mlf;
    struct err err = {0};
    ASSERT_OK_FATAL(parse(&mlf, text, &err), &err);
    ASSERT_EQ(mlf.n_modules, 2);
    ASSERT_EQ(proj__mlf_workspace(&mlf), 300);
    ASSERT_EQ(mlf.modules[0].n_outputs, 1);
    ASSERT_STR_EQ(mlf.modules[0].outputs[0].dtype, "float32");
    cJSON *j = proj__mlf_to_json(&mlf);
    ASSERT_NOT_NULL_FATAL(j);
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(j, "modules")), 2);
    ASSERT_EQ(cJSON_GetObjectItem(j, "workspace_size_bytes")->valuedouble, 300);
    cJSON_Delete(j);
    proj__mlf_close(&mlf);
}

/* What tvm.build + export_model_library_format write (TVM 0.18, the shape of
 * ../shared/fixtures/tvm-0.18/operator_add.tar): no modules key; style, model_name and a memory
 * map of function -> argument buffers at the top level. AutoTVM's micro builder sends these. */
static const char OPERATOR_TEXT[] =
    "{\"version\": 7, \"model_name\": \"default_function\","
    " \"export_datetime\": \"2026-12-02 05:24:38Z\", \"memory\": {\"default_function\": ["
    "{\"size_bytes\": 2048, \"shape\": [1, 8, 8, 8], \"dtype\": \"int32\", \"input_binding\": null},"
    " {\"size_bytes\": 288, \"shape\": [3, 3, 4, 8], \"dtype\": \"int8\", \"input_binding\": null},"
    " {\"size_bytes\": 256, \"shape\": [1, 8, 8, 4], \"dtype\": \"int8\","
    " \"input_binding\": \"data\"}]},"
    " \"target\": [\"c -keys=arm_cpu,cpu -device=arm_cpu -model=host\"], \"executors\": [],"
    " \"style\": \"operator\"}";

static void test_mlf_reads_an_operator_library_as_tvm_build_writes_it(void)
{
    struct proj_mlf mlf;
    struct err err = {0};
    ASSERT_OK_FATAL(parse(&mlf, OPERATOR_TEXT, &err), &err);
    ASSERT_EQ(mlf.version, 7);
    ASSERT_EQ_FATAL(mlf.n_modules, 1);
    ASSERT_TRUE(proj__mlf_is_operator(&mlf));
    ASSERT_FALSE(proj__mlf_has_executor(&mlf, "aot"));
    const struct proj_module *m = &mlf.modules[0];
    ASSERT_STR_EQ(m->name, "default_function");
    ASSERT_STR_EQ(m->executor, "");
    ASSERT_EQ(proj__mlf_workspace(&mlf), 0);
    ASSERT_EQ_FATAL(m->n_functions, 1);
    ASSERT_STR_EQ(m->functions[0].name, "default_function");
    ASSERT_EQ_FATAL(m->functions[0].n_args, 3);
    ASSERT_EQ(m->functions[0].args[0].size, 2048);
    ASSERT_STR_EQ(m->functions[0].args[0].dtype, "int32");
    ASSERT_STR_EQ(m->functions[0].args[0].name, ""); /* input_binding null */
    ASSERT_STR_EQ(m->functions[0].args[2].name, "data");
    cJSON *j = proj__mlf_to_json(&mlf);
    ASSERT_NOT_NULL_FATAL(j);
    cJSON *f0 = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(
        cJSON_GetObjectItem(j, "modules"), 0), "functions"), 0);
    ASSERT_STR_EQ(cJSON_GetObjectItem(f0, "name")->valuestring, "default_function");
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(f0, "args")), 3);
    cJSON_Delete(j);
    proj__mlf_close(&mlf);
}

static void test_mlf_reads_the_operator_fixture(void)
{
    struct proj_mlf mlf;
    if (!read_fixture("operator_add", false, &mlf))
        return;
    ASSERT_TRUE(proj__mlf_is_operator(&mlf));
    ASSERT_TRUE(mlf.has_host_src);
    ASSERT_STR_EQ(mlf.modules[0].name, "add");
    ASSERT_EQ_FATAL(mlf.modules[0].n_functions, 1);
    ASSERT_EQ(mlf.modules[0].functions[0].n_args, 3);
    ASSERT_EQ(mlf.modules[0].functions[0].args[1].size, 1);
    proj__mlf_close(&mlf);
}

static void test_mlf_names_the_field_of_a_wrong_operator_library(void)
{
    assert_rejected("{\"version\": 7, \"style\": \"operator\", \"executors\": [],"
                    " \"memory\": {\"add\": {}}}",
                    "metadata.json: memory.add: want an array of the function's buffers");
    assert_rejected("{\"version\": 7, \"style\": \"operator\", \"executors\": [],"
                    " \"memory\": {\"add\": [{\"size_bytes\": 2, \"dtype\": \"int8\"},"
                    " {\"dtype\": \"int8\"}]}}",
                    "metadata.json: memory.add[1].size_bytes: missing; want a number");
    assert_rejected("{\"version\": 7, \"style\": \"operator\", \"executors\": [],"
                    " \"memory\": {\"add\": [{\"size_bytes\": 1e999, \"dtype\": \"int8\"}]}}",
                    "memory.add[0].size_bytes: want a size in bytes");
    assert_rejected("{\"version\": 7, \"style\": \"operator\", \"executors\": []}",
                    "metadata.json: memory: missing; want an object");
    /* a full model still needs its modules: the operator reading is for style "operator" */
    assert_rejected("{\"version\": 7, \"style\": \"full-model\", \"executors\": [],"
                    " \"memory\": {}}", "metadata.json: modules: missing; want an object");
}

static void test_mlf_refuses_an_unknown_version_by_name(void)
{
    assert_rejected("{\"version\": 9, \"modules\": {}}",
                    "metadata.json: version 9 is not supported; this server reads MLF versions "
                    "5 and 7 (TVM 0.8 to 0.18)");
    assert_rejected("{\"version\": 6}", "version 6 is not supported");
}

static void test_mlf_refuses_a_missing_version(void)
{
    assert_rejected("{\"modules\": {}}", "metadata.json: version: missing; want a number");
    assert_rejected("{\"version\": \"7\"}", "metadata.json: version: want a number");
}

static void test_mlf_reports_bad_json_with_the_byte_offset(void)
{
    const char *text = "{\"version\": 7,, }";
    struct proj_mlf mlf;
    struct err err = {0};
    ASSERT_EQ(parse(&mlf, text, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "metadata.json: not valid JSON (error at byte ");
    const char *at = strstr(err.msg, "at byte ");
    ASSERT_NOT_NULL_FATAL(at);
    long off = strtol(at + 8, NULL, 10);
    ASSERT_TRUE(off >= 13 && off <= 15); /* at the second comma, where the text goes wrong */
    assert_rejected("[1, 2]", "want a JSON object at the top level");
}

static void test_mlf_names_the_field_of_a_wrong_shape(void)
{
    assert_rejected("{\"version\": 7, \"modules\": {\"default\": {\"executors\": [\"aot\"],"
                    " \"memory\": {\"functions\": {\"main\": {}}}}}}",
                    "metadata.json: modules.default.memory.functions.main: want an array");
    assert_rejected("{\"version\": 7, \"modules\": {\"default\": {\"executors\": [\"aot\"]}}}",
                    "modules.default.memory: missing; want an object");
    assert_rejected("{\"version\": 7, \"modules\": []}", "metadata.json: modules: want an object");
    assert_rejected("{\"version\": 7, \"modules\": {}}", "modules: empty");
    assert_rejected("{\"version\": 7, \"modules\": {\"m\": {\"executors\": [\"aot\"],"
                    " \"memory\": {\"functions\": {\"main\": [{\"workspace_size_bytes\": 1,"
                    " \"inputs\": {\"x\": {\"size\": \"64\", \"dtype\": \"int8\"}}}]}}}}}",
                    "modules.m.memory.functions.main[0].inputs.x.size: want a number");
    assert_rejected("{\"version\": 5, \"executors\": \"aot\"}", "executors: want an array");
    assert_rejected("{\"version\": 5, \"executors\": [], \"memory\": {\"functions\":"
                    " {\"main\": [{\"device\": 1}]}}}",
                    "memory.functions.main[0].workspace_size_bytes: missing");
}

/* Found by tests/fuzz/fuzz_mlf.c: a size past UINT64_MAX was converted to an integer, which
 * is undefined behaviour (UBSan: "inf is outside the range of representable values"). */
static void test_mlf_refuses_a_tensor_size_no_integer_can_hold(void)
{
    static const char *const sizes[] = {"1e20", "1e999", "-1"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"version\": 7, \"modules\": {\"m\": {\"executors\": [\"aot\"],"
                 " \"memory\": {\"functions\": {\"main\": [{\"workspace_size_bytes\": 1,"
                 " \"outputs\": {\"y\": {\"size\": %s, \"dtype\": \"int8\"}}}]}}}}}",
                 sizes[i]);
        assert_rejected(text, "modules.m.memory.functions.main[0].outputs.y.size: want a size "
                        "in bytes, not ");
    }
}

/* text from metadata.json (untrusted, docs/SECURITY.md) must never become C syntax */
static void test_mlf_refuses_names_and_dtypes_that_would_be_c_syntax(void)
{
    static const char *const cases[][4] = {
        {"x\\\"y", "y", "int8", "module name \"x\"y\" is not one TVM writes"},
        {"m", "y", "int8\\\"\\n#include \\\"/etc/hostname\\\"",
         "dtype \"int8\"\\x0a#include \"/etc/hostname\"\" is not one TVM writes"},
        {"m", "a\\\"b", "int8", "tensor name \"a\"b\" is not one TVM writes"},
        {"m", "q?\?/", "int8", "tensor name \"q?\?/\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"version\": 7, \"modules\": {\"%s\": {\"executors\": [\"aot\"],"
                 " \"memory\": {\"functions\": {\"main\": [{\"workspace_size_bytes\": 1,"
                 " \"outputs\": {\"%s\": {\"size\": 4, \"dtype\": \"%s\"}}}]}}}}}",
                 cases[i][0], cases[i][1], cases[i][2]);
        assert_rejected(text, cases[i][3]);
    }
    struct proj_mlf mlf = {0};
    struct err err = {0};
    ASSERT_OK(parse(&mlf, "{\"version\": 7, \"modules\": {\"default\": {\"executors\": "
                          "[\"aot\"], \"memory\": {\"functions\": {\"main\": [{"
                          "\"workspace_size_bytes\": 1, \"outputs\": {\"serving_default:0\": "
                          "{\"size\": 4, \"dtype\": \"float16x4\"}}}]}}}}}", &err), &err);
    proj__mlf_close(&mlf);
}

static void test_mlf_reports_a_missing_metadata_file(void)
{
    struct proj_mlf mlf;
    struct err err = {0};
    ASSERT_EQ(proj__mlf_read(&mlf, tmpdir, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "metadata.json: missing");
    ASSERT_STR_CONTAINS(err.msg, "export_model_library_format");
}

static void test_mlf_notes_the_runtime_a_model_carries(void)
{
    char path[PATH_MAX];
    const char *text = "{\"version\": 7, \"modules\": {\"default\": {\"executors\": [\"aot\"],"
                       " \"memory\": {\"functions\": {\"main\": []}}}}}";
    snprintf(path, sizeof path, "%s/metadata.json", tmpdir);
    ASSERT_EQ_FATAL(fs_write_file(path, text, strlen(text), NULL), 0);
    snprintf(path, sizeof path, "%s/runtime/include", tmpdir);
    ASSERT_EQ_FATAL(fs_mkdir_p(path, NULL), 0);
    struct proj_mlf mlf;
    struct err err = {0};
    ASSERT_OK_FATAL(proj__mlf_read(&mlf, tmpdir, &err), &err);
    ASSERT_TRUE(mlf.has_runtime);
    ASSERT_FALSE(mlf.has_host_src);
    proj__mlf_close(&mlf);
    proj__mlf_close(&mlf); /* closing twice is harmless */
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("mlf_meta", suite_init, suite_clean);
    CU_ADD_TEST(s, test_mlf_reads_the_version_7_fixture);
    CU_ADD_TEST(s, test_mlf_reads_the_version_5_fixture);
    CU_ADD_TEST(s, test_mlf_parses_a_version_5_graph_model);
    CU_ADD_TEST(s, test_mlf_takes_the_largest_workspace_of_several_modules);
    CU_ADD_TEST(s, test_mlf_reads_an_operator_library_as_tvm_build_writes_it);
    CU_ADD_TEST(s, test_mlf_reads_the_operator_fixture);
    CU_ADD_TEST(s, test_mlf_names_the_field_of_a_wrong_operator_library);
    CU_ADD_TEST(s, test_mlf_refuses_an_unknown_version_by_name);
    CU_ADD_TEST(s, test_mlf_refuses_a_missing_version);
    CU_ADD_TEST(s, test_mlf_reports_bad_json_with_the_byte_offset);
    CU_ADD_TEST(s, test_mlf_names_the_field_of_a_wrong_shape);
    CU_ADD_TEST(s, test_mlf_refuses_a_tensor_size_no_integer_can_hold);
    CU_ADD_TEST(s, test_mlf_refuses_names_and_dtypes_that_would_be_c_syntax);
    CU_ADD_TEST(s, test_mlf_reports_a_missing_metadata_file);
    CU_ADD_TEST(s, test_mlf_notes_the_runtime_a_model_carries);
    return TEST_RUN;
}
