/*
 * server/build_options.c: options given to build change the project (project.json and
 * project.cmake) or are refused by name; the same values TVM's Python API resends change
 * nothing. Echo projects generated from the built template (MTQ_TEMPLATE_DIR) into a mkdtemp
 * directory; no compiler runs here (e2e_build checks the rebuilt firmware).
 */
#include "project_internal.h"

#include "fs.h"
#include "options.h"

#include <CUnit/Basic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];
static struct opt_table *table;
static const char *const generate_json =
    "{\"project_type\": \"echo\", \"board\": \"mps2-an385\", \"opt_level\": \"2\"}";

static int suite_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_build_options.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    table = opt_table_new(MTQ_TEMPLATE_DIR "/machines", NULL);
    return table ? 0 : -1;
}

static int suite_clean(void)
{
    opt_table_free(table);
    return fs_remove_tree(tmpdir, NULL);
}

static cJSON *options(const char *json)
{
    cJSON *in = cJSON_Parse(json), *out = NULL;
    struct err err = {0};
    CU_ASSERT_PTR_NOT_NULL(in);
    if (opt_normalize(table, in, &out, &err) < 0)
        fprintf(stderr, "\nopt_normalize: %s\n", err.msg);
    cJSON_Delete(in);
    CU_ASSERT_PTR_NOT_NULL(out);
    return out;
}

/* A fresh echo project named name; its path goes to dir. */
static void make_project(const char *name, char *dir, size_t dirsz)
{
    snprintf(dir, dirsz, "%s/%s", tmpdir, name);
    cJSON *o = options(generate_json);
    struct err err = {0};
    int rc = proj_generate(MTQ_TEMPLATE_DIR, "", "", dir, o, &err);
    if (rc < 0)
        fprintf(stderr, "\ngenerate: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    cJSON_Delete(o);
}

static char *slurp(const char *dir, const char *rel)
{
    char p[PATH_MAX * 2], *text = NULL;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    CU_ASSERT_EQUAL(fs_read_file(p, 0, &text, NULL, NULL), 0);
    return text ? text : strdup("");
}

static int apply(const char *dir, const char *json, struct err *err)
{
    cJSON *o = options(json);
    int rc = proj__apply_build_options(dir, o, err);
    cJSON_Delete(o);
    return rc;
}

static void test_compile_options_given_at_build_replace_what_generate_recorded(void)
{
    char dir[PATH_MAX];
    make_project("changed", dir, sizeof dir);
    struct err err = {0};
    CU_ASSERT_EQUAL(apply(dir, "{\"opt_level\": \"0\", \"warning_as_error\": \"true\", "
                               "\"compile_definitions\": \"A=1 -DB\", \"libc\": \"newlib\", "
                               "\"workspace_size_bytes\": \"8192\"}", &err), 0);
    char *cmake = slurp(dir, "project.cmake");
    CU_ASSERT_PTR_NOT_NULL(strstr(cmake, "set(MTQ_OPT_LEVEL \"0\")"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cmake, "set(MTQ_WARNING_AS_ERROR ON)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cmake, "set(MTQ_COMPILE_DEFINITIONS \"A=1;B\")"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cmake, "set(MTQ_LIBC \"newlib\")"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cmake, "set(MTQ_WORKSPACE_BYTES 8192)"));
    free(cmake);
    struct project_record s = {0};
    CU_ASSERT_EQUAL(record_read(&s, dir, &err), 0);
    CU_ASSERT_STRING_EQUAL(s.opt_level, "0");
    CU_ASSERT_STRING_EQUAL(s.libc, "newlib");
    CU_ASSERT(s.warning_as_error);
    CU_ASSERT_EQUAL(s.workspace_bytes, 8192);
    CU_ASSERT_STRING_EQUAL(s.compile_definitions, "A=1;B");
    record_close(&s);
    /* a later build without them keeps them */
    CU_ASSERT_EQUAL(apply(dir, "{}", &err), 0);
    cmake = slurp(dir, "project.cmake");
    CU_ASSERT_PTR_NOT_NULL(strstr(cmake, "set(MTQ_OPT_LEVEL \"0\")"));
    free(cmake);
}

/* TVM's Python API sends the generate_project options again with every build: no change, so
 * no reconfigure (project.cmake is not rewritten). */
static void test_the_options_generate_had_change_nothing(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    make_project("same", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/project.cmake", dir);
    struct stat before, after;
    CU_ASSERT_EQUAL(stat(path, &before), 0);
    usleep(20000);
    struct err err = {0};
    CU_ASSERT_EQUAL(apply(dir, generate_json, &err), 0);
    CU_ASSERT_EQUAL(stat(path, &after), 0);
    CU_ASSERT(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
              before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
}

static void expect_refused_with(const char *dir, const char *json, int code, const char *want)
{
    struct err err = {0};
    CU_ASSERT_EQUAL(apply(dir, json, &err), code);
    if (!strstr(err.msg, want))
        fprintf(stderr, "\n%s: want \"%s\" in \"%s\"\n", json, want, err.msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
}

static void expect_refused(const char *dir, const char *json, const char *want)
{
    expect_refused_with(dir, json, ERR_OPTION, want);
}

static void test_options_fixed_at_generate_or_bad_for_the_board_are_refused_by_name(void)
{
    char dir[PATH_MAX];
    make_project("refused", dir, sizeof dir);
    expect_refused(dir, "{\"board\": \"mps2-an505\"}",
                   "option board: 'mps2-an505' differs from the 'mps2-an385' this project was "
                   "generated with; it is fixed at generate_project");
    expect_refused(dir, "{\"project_type\": \"aot_standalone\"}", "option project_type");
    expect_refused(dir, "{\"extra_files_tar\": \"/tmp/x.tar\"}", "option extra_files_tar");
    expect_refused(dir, "{\"cmsis_path\": \"/no/such/cmsis\"}",
                   "option cmsis_path: /no/such/cmsis: No such file or directory");
    /* a cmsis_path holding build-file syntax never gets this far: opt_normalize refuses it
     * (test_options_refuses_build_file_syntax_in_paths_and_definitions_by_name) */
    expect_refused_with(dir, "{\"workspace_size_bytes\": 4000000000}", ERR_INVALID,
                        "does not fit mps2-an385");
    /* nothing was changed by the refusals */
    char *cmake = slurp(dir, "project.cmake");
    CU_ASSERT_PTR_NOT_NULL(strstr(cmake, "set(MTQ_BOARD \"mps2-an385\")"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cmake, "set(MTQ_CMSIS_PATH \"\")"));
    free(cmake);
}

static void test_a_cmsis_path_given_at_build_is_resolved_and_recorded(void)
{
    char dir[PATH_MAX], cmsis[PATH_MAX + 8], json[PATH_MAX + 64];
    make_project("cmsis", dir, sizeof dir);
    snprintf(cmsis, sizeof cmsis, "%s/cmsis-root", tmpdir);
    CU_ASSERT_EQUAL(mkdir(cmsis, 0755), 0);
    snprintf(json, sizeof json, "{\"cmsis_path\": \"%s/../cmsis-root/.\"}", cmsis);
    struct err err = {0};
    CU_ASSERT_EQUAL(apply(dir, json, &err), 0);
    struct project_record s = {0};
    CU_ASSERT_EQUAL(record_read(&s, dir, &err), 0);
    char real[PATH_MAX];
    CU_ASSERT_PTR_NOT_NULL(realpath(cmsis, real));
    CU_ASSERT_STRING_EQUAL(s.cmsis_path, real);
    record_close(&s);
}

int main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("build_options", suite_init, suite_clean);
    CU_ADD_TEST(s, test_compile_options_given_at_build_replace_what_generate_recorded);
    CU_ADD_TEST(s, test_the_options_generate_had_change_nothing);
    CU_ADD_TEST(s, test_options_fixed_at_generate_or_bad_for_the_board_are_refused_by_name);
    CU_ADD_TEST(s, test_a_cmsis_path_given_at_build_is_resolved_and_recorded);
    if (CU_get_error() != CUE_SUCCESS) /* a failed setup would run nothing and "pass" */
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry(); /* only after reading the counts: it clears them */
    return bad != 0;
}
