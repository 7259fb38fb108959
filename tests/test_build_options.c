/*
 * server/build_options.c: options given to build change the project (project.json and
 * project.cmake) or are refused by name; the same values TVM's Python API resends change
 * nothing. Echo projects generated from the built template (MTQ_TEMPLATE_DIR) into a mkdtemp
 * directory; no compiler runs here (e2e_build checks the rebuilt firmware).
 */
#include "project_internal.h"

#include "asserts.h"
#include "fs.h"
#include "normalized.h"
#include "options.h"
#include "runner.h"

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
    table = normalized_table();
    return table ? 0 : -1;
}

static int suite_clean(void)
{
    opt_table_free(table);
    return fs_remove_tree(tmpdir, NULL);
}

static cJSON *options(const char *json)
{
    return normalized_options(table, json);
}

/* A fresh echo project named name, generated with json's options; its path goes to dir. */
static void make_project_with(const char *name, const char *json, char *dir, size_t dirsz)
{
    snprintf(dir, dirsz, "%s/%s", tmpdir, name);
    cJSON *o = options(json);
    struct err err = {0};
    int rc = proj_generate(MTQ_TEMPLATE_DIR, "", "", dir, o, &err);
    if (rc < 0)
        fprintf(stderr, "\ngenerate: %s\n", err.msg);
    ASSERT_EQ_FATAL(rc, 0);
    cJSON_Delete(o);
}

/* A fresh echo project named name; its path goes to dir. */
static void make_project(const char *name, char *dir, size_t dirsz)
{
    make_project_with(name, generate_json, dir, dirsz);
}

static char *slurp(const char *dir, const char *rel)
{
    char p[PATH_MAX * 2], *text = NULL;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    ASSERT_EQ(fs_read_file(p, 0, &text, NULL, NULL), 0);
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
    ASSERT_OK(apply(dir, "{\"opt_level\": \"0\", \"warning_as_error\": \"true\", "
                         "\"compile_definitions\": \"A=1 -DB\", \"libc\": \"newlib\", "
                         "\"workspace_size_bytes\": \"8192\"}", &err), &err);
    char *cmake = slurp(dir, "project.cmake");
    ASSERT_STR_CONTAINS(cmake, "set(MTQ_OPT_LEVEL \"0\")");
    ASSERT_STR_CONTAINS(cmake, "set(MTQ_WARNING_AS_ERROR ON)");
    ASSERT_STR_CONTAINS(cmake, "set(MTQ_COMPILE_DEFINITIONS \"A=1;B\")");
    ASSERT_STR_CONTAINS(cmake, "set(MTQ_LIBC \"newlib\")");
    ASSERT_STR_CONTAINS(cmake, "set(MTQ_WORKSPACE_BYTES 8192)");
    free(cmake);
    struct project_record s = {0};
    ASSERT_OK(record_read(&s, dir, &err), &err);
    ASSERT_STR_EQ(s.opt_level, "0");
    ASSERT_STR_EQ(s.libc, "newlib");
    ASSERT_TRUE(s.warning_as_error);
    ASSERT_EQ(s.workspace_bytes, 8192);
    ASSERT_STR_EQ(s.compile_definitions, "A=1;B");
    record_close(&s);
    /* a later build without them keeps them */
    ASSERT_OK(apply(dir, "{}", &err), &err);
    cmake = slurp(dir, "project.cmake");
    ASSERT_STR_CONTAINS(cmake, "set(MTQ_OPT_LEVEL \"0\")");
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
    ASSERT_EQ(stat(path, &before), 0);
    usleep(20000);
    struct err err = {0};
    ASSERT_OK(apply(dir, generate_json, &err), &err);
    ASSERT_EQ(stat(path, &after), 0);
    ASSERT_TRUE(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
}

static void expect_refused_with(const char *dir, const char *json, int code, const char *want)
{
    struct err err = {0};
    ASSERT_EQ(apply(dir, json, &err), code);
    if (!strstr(err.msg, want))
        fprintf(stderr, "\n%s: want \"%s\" in \"%s\"\n", json, want, err.msg);
    ASSERT_STR_CONTAINS(err.msg, want);
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
    ASSERT_STR_CONTAINS(cmake, "set(MTQ_BOARD \"mps2-an385\")");
    ASSERT_STR_CONTAINS(cmake, "set(MTQ_CMSIS_PATH \"\")");
    free(cmake);
}

/* The link is recorded at generate (project.json, project.cmake's MTQ_LINK for the firmware's
 * CMake), fixed at build, and part of the board layer's cache key (a fast-link firmware must
 * never link a UART board layer), though not of the CRT's, which never sees it. */
static void test_the_link_is_recorded_fixed_at_build_and_in_the_board_cache_key(void)
{
    char fast[PATH_MAX], uart[PATH_MAX];
    make_project_with("link-fast", "{\"project_type\": \"echo\", \"board\": "
                      "\"riscv32-virt\", \"link\": \"fast\"}", fast, sizeof fast);
    make_project_with("link-uart", "{\"project_type\": \"echo\", \"board\": "
                      "\"riscv32-virt\"}", uart, sizeof uart);
    char *cmake = slurp(fast, "project.cmake");
    ASSERT_STR_CONTAINS(cmake, "set(MTQ_LINK \"fast\")");
    free(cmake);
    cmake = slurp(uart, "project.cmake");
    ASSERT_STR_CONTAINS(cmake, "set(MTQ_LINK \"uart\")");
    free(cmake);
    struct project_record sf = {0}, su = {0};
    struct err err = {0};
    ASSERT_EQ(record_read(&sf, fast, &err), 0);
    ASSERT_EQ(record_read(&su, uart, &err), 0);
    ASSERT_STR_EQ(sf.link, "fast");
    ASSERT_STR_EQ(su.link, "uart");
    expect_refused(fast, "{\"link\": \"uart\"}", "option link: 'uart' differs from the 'fast'");
    expect_refused(uart, "{\"link\": \"fast\"}", "generate the project again with link=fast");
    ASSERT_EQ(apply(fast, "{\"link\": \"fast\"}", &err), 0); /* the same: fine */
    char kf[17], ku[17], cf[17], cu[17];
    if (proj__cache_key(fast, &sf, kf, &err) == 0) { /* needs the RISC-V compiler on PATH */
        ASSERT_EQ(proj__cache_key(uart, &su, ku, &err), 0);
        ASSERT_STR_NE(kf, ku);
        char crt[PATH_MAX + 8];
        snprintf(crt, sizeof crt, "%s/crt", fast); /* the same (empty) CRT in both */
        ASSERT_EQ(fs_mkdir_p(crt, &err), 0);
        snprintf(crt, sizeof crt, "%s/crt", uart);
        ASSERT_EQ(fs_mkdir_p(crt, &err), 0);
        ASSERT_EQ(proj__cache_crt_key(fast, &sf, cf, &err), 0);
        ASSERT_EQ(proj__cache_crt_key(uart, &su, cu, &err), 0);
        ASSERT_STR_EQ(cf, cu);
    } else {
        fprintf(stderr, "\n    cache keys not compared: %s\n", err.msg);
    }
    record_close(&sf);
    record_close(&su);
}

/* Every template board has a fast link now (the refusal of a board without one, and its
 * message, is test_fast_link's, on a fixture machine file): generate takes link=fast on the
 * mps2 boards (their LAN9118) and records it. */
static void test_generate_takes_a_fast_link_on_an_mps2_board(void)
{
    char dir[PATH_MAX];
    make_project_with("lan9118-fast", "{\"project_type\": \"echo\", \"board\": "
                      "\"mps2-an505\", \"link\": \"fast\"}", dir, sizeof dir);
    struct project_record st = {0};
    struct err err = {0};
    ASSERT_EQ_FATAL(record_read(&st, dir, &err), 0);
    ASSERT_STR_EQ(st.link, "fast");
    record_close(&st);
}

static void test_a_cmsis_path_given_at_build_is_resolved_and_recorded(void)
{
    char dir[PATH_MAX], cmsis[PATH_MAX + 8], json[PATH_MAX + 64];
    make_project("cmsis", dir, sizeof dir);
    snprintf(cmsis, sizeof cmsis, "%s/cmsis-root", tmpdir);
    ASSERT_EQ(mkdir(cmsis, 0755), 0);
    snprintf(json, sizeof json, "{\"cmsis_path\": \"%s/../cmsis-root/.\"}", cmsis);
    struct err err = {0};
    ASSERT_OK(apply(dir, json, &err), &err);
    struct project_record s = {0};
    ASSERT_OK(record_read(&s, dir, &err), &err);
    char real[PATH_MAX];
    ASSERT_NOT_NULL(realpath(cmsis, real));
    ASSERT_STR_EQ(s.cmsis_path, real);
    record_close(&s);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("build_options", suite_init, suite_clean);
    CU_ADD_TEST(s, test_compile_options_given_at_build_replace_what_generate_recorded);
    CU_ADD_TEST(s, test_the_options_generate_had_change_nothing);
    CU_ADD_TEST(s, test_options_fixed_at_generate_or_bad_for_the_board_are_refused_by_name);
    CU_ADD_TEST(s, test_a_cmsis_path_given_at_build_is_resolved_and_recorded);
    CU_ADD_TEST(s, test_the_link_is_recorded_fixed_at_build_and_in_the_board_cache_key);
    CU_ADD_TEST(s, test_generate_takes_a_fast_link_on_an_mps2_board);
    return TEST_RUN;
}
