/*
 * The declared options and their normalization: TVM's Python API sends native JSON values,
 * tvmc sends strings; both must come out the same, and every bad value must be refused with a
 * message naming the option, the value and what would be accepted.
 */
#include "options.h"

#include "asserts.h"
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char machines[] = "/tmp/mtq-test-options-XXXXXX";
static char empty_dir[] = "/tmp/mtq-test-options-empty-XXXXXX";
static struct opt_table *table;

static int touch(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("{}\n", f);
    return fclose(f);
}

static int suite_init(void)
{
    if (!mkdtemp(machines) || !mkdtemp(empty_dir))
        return -1;
    /* only *.json names are boards; their content is not read for the option table */
    if (touch(machines, "beta.json") || touch(machines, "alpha.json") ||
        touch(machines, "README.md"))
        return -1;
    struct err err = {0};
    table = opt_table_new(machines, &err);
    return table ? 0 : -1;
}

static int suite_clean(void)
{
    char path[512];
    const char *names[] = {"beta.json", "alpha.json", "README.md"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", machines, names[i]);
        unlink(path);
    }
    rmdir(machines);
    rmdir(empty_dir);
    opt_table_free(table);
    return 0;
}

/* Normalizes JSON text; returns the normalized object or NULL with *err filled. */
static cJSON *norm(const struct opt_table *t, const char *json, struct err *err)
{
    cJSON *in = cJSON_Parse(json);
    ASSERT_NOT_NULL_FATAL(in);
    cJSON *out = NULL;
    int rc = opt_normalize(t, in, &out, err);
    cJSON_Delete(in);
    ASSERT_TRUE(rc == 0 ? out != NULL : rc == err->code);
    return rc == 0 ? out : NULL;
}

/* Expects option name of the normalized json to print as want. */
static void expect_value(const char *json, const char *name, const char *want)
{
    struct err err = {0};
    cJSON *out = norm(table, json, &err);
    if (!out)
        fprintf(stderr, "\n%s: %s\n", json, err.msg);
    ASSERT_NOT_NULL_FATAL(out);
    char *got = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(out, name));
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n%s: %s is %s, want %s\n", json, name, got, want);
    ASSERT_STR_EQ(got, want);
    free(got);
    cJSON_Delete(out);
}

/* Expects json to be refused with ERR_OPTION (ERR_PARAMS when it is not even an object) and a
 * message containing want. */
static void expect_error_in(const struct opt_table *t, const char *json, const char *want)
{
    struct err err = {0};
    cJSON *out = norm(t, json, &err);
    ASSERT_NULL(out);
    cJSON_Delete(out);
    ASSERT_EQ(err.code, json[0] == '{' ? ERR_OPTION : ERR_PARAMS);
    if (!strstr(err.msg, want))
        fprintf(stderr, "\n%s: want \"%s\" in \"%s\"\n", json, want, err.msg);
    ASSERT_STR_CONTAINS(err.msg, want);
}

#define BAD(json, want) expect_error_in(table, json, want)

static const char *const contract_names[] = {
    "verbose", "project_type", "board", "cmsis_path", "warning_as_error", "compile_definitions",
    "extra_files_tar", "workspace_size_bytes", "libc", "opt_level", "deterministic",
    "gdbserver_port", "session_start_timeout_sec", "session_established_timeout_sec",
    "build_timeout_s", "link", "serial_number"};
#define N_CONTRACT (sizeof contract_names / sizeof contract_names[0])

static bool is_method_list(const cJSON *v)
{
    if (cJSON_IsNull(v))
        return true;
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
        return false;
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsString(e))
            return false;
        const char *s = e->valuestring;
        if (strcmp(s, "generate_project") && strcmp(s, "build") && strcmp(s, "flash") &&
            strcmp(s, "open_transport"))
            return false;
    }
    return true;
}

static void test_options_describes_exactly_the_contract_options_with_all_seven_keys(void)
{
    static const char *const keys[] = {"name", "choices", "default", "type",
                                       "required", "optional", "help"};
    cJSON *all = opt_describe(table);
    ASSERT_TRUE_FATAL(cJSON_IsArray(all));
    ASSERT_EQ(cJSON_GetArraySize(all), (int)N_CONTRACT);
    size_t i = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, all) {
        ASSERT_EQ(cJSON_GetArraySize(o), 7);
        for (size_t k = 0; k < 7; k++)
            ASSERT_NOT_NULL(cJSON_GetObjectItemCaseSensitive(o, keys[k]));
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
        ASSERT_TRUE(i < N_CONTRACT && cJSON_IsString(name) &&
                    strcmp(name->valuestring, contract_names[i]) == 0);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
        ASSERT_TRUE(cJSON_IsString(type) && (!strcmp(type->valuestring, "bool") ||
                                             !strcmp(type->valuestring, "str") ||
                                             !strcmp(type->valuestring, "int")));
        const cJSON *help = cJSON_GetObjectItemCaseSensitive(o, "help");
        ASSERT_TRUE(cJSON_IsString(help) && strlen(help->valuestring) > 20);
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(o, "required");
        const cJSON *opt = cJSON_GetObjectItemCaseSensitive(o, "optional");
        ASSERT_TRUE(is_method_list(req) && is_method_list(opt));
        ASSERT_TRUE(!cJSON_IsNull(req) || !cJSON_IsNull(opt)); /* TVM asserts one is given */
        const cJSON *choices = cJSON_GetObjectItemCaseSensitive(o, "choices");
        ASSERT_TRUE(cJSON_IsNull(choices) || cJSON_IsArray(choices));
        i++;
    }
    char *text = cJSON_PrintUnformatted(all);
    /* the values a person relies on */
    ASSERT_STR_CONTAINS(text, "{\"name\":\"board\",\"choices\":[\"alpha\",\"beta\"],"
                              "\"default\":null,\"type\":\"str\",\"required\":"
                              "[\"generate_project\"],\"optional\":null");
    ASSERT_STR_CONTAINS(text, "{\"name\":\"project_type\",\"choices\":[\"host_driven\","
                              "\"aot_standalone\",\"echo\",\"aot_standalone_demo\"],"
                              "\"default\":null,\"type\":\"str\",\"required\":"
                              "[\"generate_project\"]");
    /* compile-time options default to null: TVM fills every declared default into every call,
     * and a filled-in default must not override what generate_project recorded */
    ASSERT_STR_CONTAINS(text, "{\"name\":\"libc\",\"choices\":[\"picolibc\",\"newlib\","
                              "\"newlib-nano\"],\"default\":null");
    ASSERT_STR_CONTAINS(text, "{\"name\":\"opt_level\",\"choices\":[\"0\",\"1\",\"2\","
                              "\"3\",\"s\",\"g\"],\"default\":null");
    ASSERT_STR_CONTAINS(text, "{\"name\":\"deterministic\",\"choices\":null,"
                              "\"default\":true,\"type\":\"bool\"");
    ASSERT_STR_CONTAINS(text, "{\"name\":\"verbose\",\"choices\":null,"
                              "\"default\":false,\"type\":\"bool\"");
    free(text);
    cJSON_Delete(all);
}

static void test_options_reads_board_choices_from_the_real_machines_directory(void)
{
    struct err err = {0};
    struct opt_table *t = opt_table_new(MTQ_SOURCE_DIR "/machines", &err);
    ASSERT_NOT_NULL_FATAL(t);
    size_t n = 0;
    char *const *boards = opt_table_boards(t, &n);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found = found || strcmp(boards[i], "mps2-an385") == 0;
    ASSERT_TRUE(found);
    opt_table_free(t);
}

static void test_options_normalizes_nothing_to_every_option_null(void)
{
    cJSON *out = NULL;
    struct err err = {0};
    ASSERT_OK_FATAL(opt_normalize(table, NULL, &out, &err), &err);
    ASSERT_EQ(cJSON_GetArraySize(out), (int)N_CONTRACT);
    for (size_t i = 0; i < N_CONTRACT; i++)
        ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(out, contract_names[i])));
    cJSON_Delete(out);
    /* null and "" mean unset, as TVM fills undeclared defaults with null */
    expect_value("{\"board\": null, \"verbose\": \"\", \"gdbserver_port\": \"\"}", "board", "null");
    expect_value("{\"verbose\": \"\"}", "verbose", "null");
    expect_value("{\"gdbserver_port\": \" \"}", "gdbserver_port", "null");
}

static void test_options_accepts_booleans_natively_and_as_tvmc_strings(void)
{
    const char *yes[] = {"true", "\"true\"", "\"True\"", "\"YES\"", "\"1\"", "1"};
    const char *no[] = {"false", "\"false\"", "\"no\"", "\"0\"", "0", "\"FALSE\""};
    char json[64];
    for (size_t i = 0; i < 6; i++) {
        snprintf(json, sizeof json, "{\"verbose\": %s}", yes[i]);
        expect_value(json, "verbose", "true");
        snprintf(json, sizeof json, "{\"deterministic\": %s}", no[i]);
        expect_value(json, "deterministic", "false");
    }
}

static void test_options_refuses_a_value_that_is_not_a_boolean(void)
{
    BAD("{\"verbose\": \"maybe\"}", "option verbose: \"maybe\" is not a boolean (want true or "
                                    "false, or one of the strings \"true\", \"false\", \"yes\", "
                                    "\"no\", \"1\", \"0\")");
    BAD("{\"deterministic\": 2}", "option deterministic: 2 is not a boolean");
    BAD("{\"warning_as_error\": [true]}", "option warning_as_error: [true] is not a boolean");
    BAD("{\"verbose\": {}}", "option verbose: {} is not a boolean");
}

static void test_options_accepts_integers_natively_and_as_decimal_strings(void)
{
    expect_value("{\"workspace_size_bytes\": 1024}", "workspace_size_bytes", "1024");
    expect_value("{\"workspace_size_bytes\": \"1024\"}", "workspace_size_bytes", "1024");
    expect_value("{\"workspace_size_bytes\": \" 42 \"}", "workspace_size_bytes", "42");
    expect_value("{\"gdbserver_port\": \"+1234\"}", "gdbserver_port", "1234");
    expect_value("{\"session_start_timeout_sec\": 0}", "session_start_timeout_sec", "0");
    expect_value("{\"workspace_size_bytes\": 4294967295}", "workspace_size_bytes", "4294967295");
}

static void test_options_refuses_an_unparsable_or_out_of_range_integer(void)
{
    BAD("{\"workspace_size_bytes\": \"12abc\"}",
        "option workspace_size_bytes: \"12abc\" is not a decimal integer (want an integer from 0 "
        "to 4294967295, as a number or a string of digits)");
    BAD("{\"workspace_size_bytes\": \"0x10\"}", "\"0x10\" is not a decimal integer");
    BAD("{\"workspace_size_bytes\": \"99999999999999999999\"}",
        "\"99999999999999999999\" is not a decimal integer");
    BAD("{\"workspace_size_bytes\": 1.5}",
        "option workspace_size_bytes: 1.5 is not an integer (want an integer from 0 to "
        "4294967295)");
    BAD("{\"workspace_size_bytes\": -1}",
        "option workspace_size_bytes: -1 is out of range (want an integer from 0 to 4294967295)");
    BAD("{\"gdbserver_port\": 70000}",
        "option gdbserver_port: 70000 is out of range (want an integer from 1 to 65535)");
    BAD("{\"gdbserver_port\": \"0\"}", "option gdbserver_port: 0 is out of range");
    BAD("{\"session_established_timeout_sec\": true}",
        "option session_established_timeout_sec: true is a boolean, not an integer");
    BAD("{\"session_start_timeout_sec\": \"-\"}", "\"-\" is not a decimal integer");
}

static void test_options_refuses_build_file_syntax_in_paths_and_definitions_by_name(void)
{
    /* a newline in cmsis_path would become a rule in build.ninja (docs/SECURITY.md) */
    BAD("{\"cmsis_path\": \"/opt/x\\nrule r\\n  command = id\"}",
        "option cmsis_path: \"/opt/x\\x0arule r\\x0a  command = id\" holds \\x0a (character 7)");
    BAD("{\"extra_files_tar\": \"/tmp/a$(id).tar\"}", "option extra_files_tar: ");
    BAD("{\"extra_files_tar\": \"/tmp/a\\\"b.tar\"}", "holds '\"'");
    BAD("{\"cmsis_path\": \"/opt/a;b\"}", "holds ';'");
    BAD("{\"compile_definitions\": [\"X=a`id`\"]}", "option compile_definitions: \"X=a`id`\" holds '`'");
    BAD("{\"compile_definitions\": [\"X=a\\u007fb\"]}", "holds \\x7f");
    struct err err = {0};
    ASSERT_OK(opt_check_build_text(ERR_OPTION, "option cmsis_path", "/opt/CMSIS 5/x-y_z.1",
                                   &err), &err);
    ASSERT_EQ(opt_check_build_text(ERR_PARAMS, "project_dir", "/tmp/p\tq", &err), ERR_PARAMS);
    ASSERT_STR_CONTAINS(err.msg, "project_dir: \"/tmp/p\\x09q\" holds \\x09");
}

static void test_options_checks_strings_against_their_choices(void)
{
    expect_value("{\"board\": \"beta\"}", "board", "\"beta\"");
    expect_value("{\"project_type\": \"echo\"}", "project_type", "\"echo\"");
    expect_value("{\"libc\": \"newlib-nano\"}", "libc", "\"newlib-nano\"");
    expect_value("{\"opt_level\": \"s\"}", "opt_level", "\"s\"");
    expect_value("{\"cmsis_path\": \"/opt/CMSIS_5\"}", "cmsis_path", "\"/opt/CMSIS_5\"");
    BAD("{\"board\": \"gamma\"}", "option board: \"gamma\" is not one of: alpha, beta");
    BAD("{\"board\": \"Alpha\"}", "option board: \"Alpha\" is not one of: alpha, beta");
    BAD("{\"board\": 5}", "option board: 5 is a number, not a string (want one of: alpha, beta)");
    BAD("{\"libc\": \"musl\"}",
        "option libc: \"musl\" is not one of: picolibc, newlib, newlib-nano");
    BAD("{\"project_type\": \"zephyr\"}",
        "option project_type: \"zephyr\" is not one of: host_driven, aot_standalone, echo, "
        "aot_standalone_demo");
    BAD("{\"opt_level\": 2}",
        "option opt_level: 2 is a number, not a string (want one of: 0, 1, 2, 3, s, g)");
    BAD("{\"cmsis_path\": false}", "option cmsis_path: false is a boolean, not a string");
    BAD("{\"extra_files_tar\": [\"a.tar\"]}",
        "option extra_files_tar: [\"a.tar\"] is an array, not a string");
}

/* link is one word of two: nothing else (a path, a chardev spec, a host:port) gets past
 * normalization to the server's link table or QEMU's command line (docs/SECURITY.md). */
static void test_options_takes_only_uart_or_fast_as_the_link(void)
{
    expect_value("{\"link\": \"fast\"}", "link", "\"fast\"");
    expect_value("{\"link\": \"uart\"}", "link", "\"uart\"");
    expect_value("{\"link\": \"\"}", "link", "null");
    static const char *const hostile[] = {
        "{\"link\": \"FAST\"}", "{\"link\": \"fast \"}", "{\"link\": \"virtio_serial\"}",
        "{\"link\": \"socket,id=link0,path=/tmp/x\"}", "{\"link\": \"/dev/ttyS0\"}",
        "{\"link\": \"tcp:10.0.0.1:4444\"}", "{\"link\": \"fast,fd=0\"}"};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
        BAD(hostile[i], "is not one of: uart, fast");
    BAD("{\"link\": 1}", "option link: 1 is a number, not a string (want one of: uart, fast)");
    BAD("{\"link\": [\"fast\"]}", "option link: [\"fast\"] is an array, not a string");
    struct options o;
    opt_get(NULL, &o);
    ASSERT_STR_EQ(o.link, "uart");
    struct err err = {0};
    cJSON *out = norm(table, "{\"link\": \"fast\"}", &err);
    ASSERT_TRUE_FATAL(out != NULL);
    opt_get(out, &o);
    ASSERT_STR_EQ(o.link, "fast");
    cJSON_Delete(out);
}

static void test_options_normalizes_compile_definitions_to_a_list(void)
{
    expect_value("{\"compile_definitions\": \"A B=1  -DC=x\"}", "compile_definitions",
                 "[\"A\",\"B=1\",\"C=x\"]");
    expect_value("{\"compile_definitions\": [\"-DX=1\", \" Y \", \"MSG=hello world\"]}",
                 "compile_definitions", "[\"X=1\",\"Y\",\"MSG=hello world\"]");
    expect_value("{\"compile_definitions\": []}", "compile_definitions", "null");
    expect_value("{\"compile_definitions\": \"  \"}", "compile_definitions", "null");
    BAD("{\"compile_definitions\": \"1A\"}",
        "option compile_definitions: \"1A\" is not a definition (want NAME or NAME=VALUE, NAME "
        "a C identifier, no ';' in VALUE)");
    BAD("{\"compile_definitions\": [\"A=1;B=2\"]}", "\"A=1;B=2\" is not a definition");
    BAD("{\"compile_definitions\": \"-D\"}", "\"\" is not a definition");
    BAD("{\"compile_definitions\": [1]}",
        "option compile_definitions: list item 1 is a number (want strings such as "
        "\"NAME=VALUE\")");
    BAD("{\"compile_definitions\": {}}",
        "option compile_definitions: {} is an object (want a string of space-separated "
        "NAME[=VALUE] or a list of them)");
}

/* AutoTVM: TVM's AutoTvmModuleLoader puts the tracker's device key in serial_number and hands the
 * same options to generate, build, flash and open: any string is taken, at every method. */
static void test_options_accepts_any_serial_number_at_every_method(void)
{
    expect_value("{\"serial_number\": \"micro:mps2-an385\"}", "serial_number",
                 "\"micro:mps2-an385\"");
    expect_value("{\"serial_number\": \"0672FF49 5049 7867\"}", "serial_number",
                 "\"0672FF49 5049 7867\"");
    expect_value("{\"serial_number\": \"a;b$c\"}", "serial_number", "\"a;b$c\"");
    cJSON *all = opt_describe(table), *d;
    const cJSON *serial = NULL;
    cJSON_ArrayForEach(d, all) {
        if (!strcmp(cJSON_GetObjectItem(d, "name")->valuestring, "serial_number"))
            serial = d;
    }
    ASSERT_NOT_NULL_FATAL(serial);
    ASSERT_STR_EQ(cJSON_GetObjectItem(serial, "type")->valuestring, "str");
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(serial, "optional")), 4);
    ASSERT_STR_CONTAINS(cJSON_GetObjectItem(serial, "help")->valuestring, "ignored");
    cJSON_Delete(all);
}

static void test_options_refuses_an_undeclared_or_repeated_name(void)
{
    BAD("{\"boards\": \"alpha\"}",
        "unknown option \"boards\" (declared options: verbose, project_type, board, cmsis_path, "
        "warning_as_error, compile_definitions, extra_files_tar, workspace_size_bytes, libc, "
        "opt_level, deterministic, gdbserver_port, session_start_timeout_sec, "
        "session_established_timeout_sec, build_timeout_s, link, serial_number)");
    BAD("{\"Verbose\": true}", "unknown option \"Verbose\"");
    BAD("{\"verbose\": true, \"verbose\": false}", "option verbose is given twice");
    BAD("[]", "options must be an object, not an array");
}

static void test_options_requires_project_type_and_board_for_generate_project(void)
{
    struct err err = {0};
    cJSON *out = norm(table, "{\"board\": \"alpha\"}", &err);
    ASSERT_NOT_NULL_FATAL(out);
    ASSERT_EQ(opt_require(table, out, OPT_GENERATE, &err), ERR_OPTION);
    ASSERT_STR_EQ(err.msg, "generate_project needs option project_type (one of: "
                           "host_driven, aot_standalone, echo, "
                           "aot_standalone_demo)");
    ASSERT_OK(opt_require(table, out, OPT_BUILD, &err), &err);
    cJSON_Delete(out);
    out = norm(table, "{\"project_type\": \"echo\"}", &err);
    ASSERT_EQ(opt_require(table, out, OPT_GENERATE, &err), ERR_OPTION);
    ASSERT_STR_EQ(err.msg, "generate_project needs option board (one of: alpha, beta)");
    cJSON_Delete(out);
    out = norm(table, "{\"project_type\": \"echo\", \"board\": \"beta\"}", &err);
    ASSERT_OK(opt_require(table, out, OPT_GENERATE, &err), &err);
    cJSON_Delete(out);
}

static void test_options_without_boards_says_none_are_installed(void)
{
    struct err err = {0};
    struct opt_table *t = opt_table_new(empty_dir, &err);
    ASSERT_NOT_NULL_FATAL(t);
    expect_error_in(t, "{\"board\": \"alpha\"}",
                    "option board: \"alpha\": no boards are installed (the machines directory "
                    "has no *.json files)");
    cJSON *all = opt_describe(t);
    const cJSON *board = cJSON_GetArrayItem(all, 2);
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(board, "choices")));
    cJSON *none = cJSON_CreateObject(), *out = NULL;
    ASSERT_OK(opt_normalize(t, none, &out, &err), &err);
    ASSERT_EQ(opt_require(t, out, OPT_GENERATE, &err), ERR_OPTION);
    ASSERT_STR_CONTAINS(err.msg, "generate_project needs option project_type");
    cJSON_Delete(out);
    cJSON_Delete(none);
    cJSON_Delete(all);
    opt_table_free(t);
    t = opt_table_new("/nonexistent/machines", &err);
    ASSERT_NOT_NULL(t);
    opt_table_free(t);
}

static void test_options_gives_c_values_with_defaults_applied(void)
{
    struct options o;
    opt_get(NULL, &o);
    ASSERT_TRUE(!o.verbose && o.deterministic && !o.warning_as_error);
    ASSERT_STR_EQ(o.libc, "picolibc");
    ASSERT_STR_EQ(o.opt_level, "2");
    ASSERT_STR_EQ(o.board, "");
    ASSERT_EQ(o.workspace_size_bytes, -1);
    ASSERT_EQ(o.gdbserver_port, -1);
    ASSERT_EQ(o.session_start_timeout_sec, -1);
    ASSERT_EQ(o.session_established_timeout_sec, -1);
    ASSERT_EQ(o.n_compile_definitions, 0);

    struct err err = {0};
    cJSON *out = norm(table,
                      "{\"verbose\": \"yes\", \"board\": \"alpha\", \"project_type\": "
                      "\"aot_standalone\", \"libc\": \"newlib\", \"opt_level\": \"s\", "
                      "\"workspace_size_bytes\": \"65536\", \"deterministic\": \"false\", "
                      "\"gdbserver_port\": 1234, \"session_start_timeout_sec\": \"10\", "
                      "\"session_established_timeout_sec\": 0, \"compile_definitions\": "
                      "\"A B=2\", \"cmsis_path\": \"/c\", \"extra_files_tar\": \"/x.tar\", "
                      "\"warning_as_error\": true}",
                      &err);
    ASSERT_NOT_NULL_FATAL(out);
    opt_get(out, &o);
    ASSERT_TRUE(o.verbose && !o.deterministic && o.warning_as_error);
    ASSERT_STR_EQ(o.board, "alpha");
    ASSERT_STR_EQ(o.project_type, "aot_standalone");
    ASSERT_STR_EQ(o.libc, "newlib");
    ASSERT_STR_EQ(o.opt_level, "s");
    ASSERT_EQ(o.workspace_size_bytes, 65536);
    ASSERT_EQ(o.gdbserver_port, 1234);
    ASSERT_EQ(o.session_start_timeout_sec, 10);
    ASSERT_EQ(o.session_established_timeout_sec, 0);
    ASSERT_STR_EQ(o.compile_definitions, "A;B=2");
    ASSERT_EQ(o.n_compile_definitions, 2);
    ASSERT_STR_EQ(o.cmsis_path, "/c");
    ASSERT_STR_EQ(o.extra_files_tar, "/x.tar");
    cJSON_Delete(out);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("options", suite_init, suite_clean);
    CU_ADD_TEST(s, test_options_describes_exactly_the_contract_options_with_all_seven_keys);
    CU_ADD_TEST(s, test_options_reads_board_choices_from_the_real_machines_directory);
    CU_ADD_TEST(s, test_options_normalizes_nothing_to_every_option_null);
    CU_ADD_TEST(s, test_options_accepts_booleans_natively_and_as_tvmc_strings);
    CU_ADD_TEST(s, test_options_refuses_a_value_that_is_not_a_boolean);
    CU_ADD_TEST(s, test_options_accepts_integers_natively_and_as_decimal_strings);
    CU_ADD_TEST(s, test_options_refuses_an_unparsable_or_out_of_range_integer);
    CU_ADD_TEST(s, test_options_checks_strings_against_their_choices);
    CU_ADD_TEST(s, test_options_takes_only_uart_or_fast_as_the_link);
    CU_ADD_TEST(s, test_options_refuses_build_file_syntax_in_paths_and_definitions_by_name);
    CU_ADD_TEST(s, test_options_normalizes_compile_definitions_to_a_list);
    CU_ADD_TEST(s, test_options_accepts_any_serial_number_at_every_method);
    CU_ADD_TEST(s, test_options_refuses_an_undeclared_or_repeated_name);
    CU_ADD_TEST(s, test_options_requires_project_type_and_board_for_generate_project);
    CU_ADD_TEST(s, test_options_without_boards_says_none_are_installed);
    CU_ADD_TEST(s, test_options_gives_c_values_with_defaults_applied);
    return TEST_RUN;
}
