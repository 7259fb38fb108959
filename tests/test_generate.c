/*
 * server/generate.c: generate_project from the built template (MTQ_TEMPLATE_DIR) into mkdtemp
 * directories: the layout of echo, aot_standalone and host_driven projects, and every
 * rejection, each of which must leave no project directory behind.
 */
#include "project_internal.h"

#include "asserts.h"
#include "fs.h"
#include "normalized.h"
#include "mlf.h"
#include "options.h"
#include "runner.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];
static char digits_tar[PATH_MAX];
static struct opt_table *table;

static int suite_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_generate.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char fixture[PATH_MAX];
    snprintf(digits_tar, sizeof digits_tar, "%s/digits.tar", tmpdir);
    if (mlf_fixture_path("digits_int8", fixture, sizeof fixture, NULL) < 0 ||
        mlf_make_tar(fixture, digits_tar, NULL) < 0)
        return -1;
    table = normalized_table();
    return table ? 0 : -1;
}

static int suite_clean(void)
{
    opt_table_free(table);
    return fs_remove_tree(tmpdir, NULL);
}

/* Options as the server hands them over: normalized from a JSON text. */
static cJSON *options(const char *json)
{
    return normalized_options(table, json);
}

static void proj_path(const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", tmpdir, name);
}

static bool has(const char *dir, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return fs_exists(p);
}

static char *slurp(const char *dir, const char *rel)
{
    char p[PATH_MAX * 2], *text = NULL;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    if (fs_read_file(p, 0, &text, NULL, NULL) < 0)
        return NULL;
    return text;
}

/* generate fails with code and a message holding want, and no project directory remains. */
static void assert_refused(const char *name, const char *mlf, const char *crt, const char *json,
                           int code, const char *want, const char *want2)
{
    char dir[PATH_MAX];
    proj_path(name, dir, sizeof dir);
    cJSON *o = options(json);
    struct err err = {0};
    int rc = proj_generate(MTQ_TEMPLATE_DIR, mlf, crt, dir, o, &err);
    cJSON_Delete(o);
    ASSERT_EQ(rc, code);
    if (!strstr(err.msg, want) || (want2 && !strstr(err.msg, want2)))
        fprintf(stderr, "\n%s: message was: %s\n", name, err.msg);
    ASSERT_STR_CONTAINS(err.msg, want);
    if (want2)
        ASSERT_STR_CONTAINS(err.msg, want2);
    ASSERT_FALSE(fs_exists(dir));
}

static void test_generate_makes_an_echo_project_without_a_model(void)
{
    char dir[PATH_MAX];
    proj_path("echo", dir, sizeof dir);
    cJSON *o = options("{\"project_type\": \"echo\", \"board\": \"mps2-an385\"}");
    struct err err = {0};
    ASSERT_OK_FATAL(proj_generate(MTQ_TEMPLATE_DIR, "", "", dir, o, &err), &err);
    cJSON_Delete(o);
    ASSERT_TRUE(has(dir, "launch_microtvm_api_server.sh"));
    ASSERT_TRUE(has(dir, "microtvm-qemu-server"));
    ASSERT_EQ(access(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh", X_OK), 0);
    char launcher[PATH_MAX * 2];
    snprintf(launcher, sizeof launcher, "%s/launch_microtvm_api_server.sh", dir);
    ASSERT_EQ(access(launcher, X_OK), 0); /* TVM executes it directly */
    ASSERT_TRUE(has(dir, "machines/mps2-an385.json"));
    ASSERT_FALSE(has(dir, "machines/riscv32-virt.json")); /* only the chosen board */
    char *boards = slurp(dir, "boards.json"); /* TVM's board -> target model map */
    cJSON *bj = boards ? cJSON_Parse(boards) : NULL;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(bj, "mps2-an385"), "model");
    ASSERT_TRUE(cJSON_IsString(model) && strcmp(model->valuestring, "sam3x8e") == 0);
    cJSON_Delete(bj);
    free(boards);
    ASSERT_TRUE(has(dir, "firmware/CMakeLists.txt"));
    ASSERT_TRUE(has(dir, "CMakeLists.txt"));
    ASSERT_FALSE(has(dir, "model.tar"));
    ASSERT_FALSE(has(dir, "crt"));
    char *cm = slurp(dir, "project.cmake");
    ASSERT_NOT_NULL_FATAL(cm);
    ASSERT_STR_CONTAINS(cm, "set(MTQ_PROJECT_TYPE \"echo\")");
    ASSERT_STR_CONTAINS(cm, "set(MTQ_MACHINE_FILE \"machines/mps2-an385.json\")");
    ASSERT_STR_CONTAINS(cm, "set(MTQ_LIBC \"picolibc\")");
    ASSERT_STR_CONTAINS(cm, "set(MTQ_OPT_LEVEL \"2\")");
    ASSERT_STR_CONTAINS(cm, "set(MTQ_MODEL_DIR \"\")");
    ASSERT_STR_CONTAINS(cm, "set(MTQ_WORKSPACE_BYTES 1048576)"); /* board default */
    ASSERT_STR_NOT_CONTAINS(cm, tmpdir); /* no absolute paths: the project can move */
    free(cm);
    char *pj = slurp(dir, "project.json");
    cJSON *j = pj ? cJSON_Parse(pj) : NULL;
    ASSERT_NOT_NULL_FATAL(j);
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "board")->valuestring, "mps2-an385");
    ASSERT_STR_EQ(cJSON_GetObjectItem(j, "project_type")->valuestring, "echo");
    ASSERT_TRUE(cJSON_IsNull(cJSON_GetObjectItem(j, "model")));
    ASSERT_TRUE(cJSON_IsObject(cJSON_GetObjectItem(j, "options")));
    cJSON_Delete(j);
    free(pj);
}

static void test_generate_makes_an_aot_standalone_project(void)
{
    char dir[PATH_MAX];
    proj_path("aot", dir, sizeof dir);
    cJSON *o = options("{\"project_type\": \"aot_standalone\", \"board\": \"riscv32-virt\","
                       " \"opt_level\": \"s\", \"compile_definitions\": [\"-DFOO=1\", \"BAR\"],"
                       " \"warning_as_error\": true}");
    struct err err = {0};
    int rc = proj_generate(MTQ_TEMPLATE_DIR, digits_tar, "", dir, o, &err);
    if (rc < 0)
        fprintf(stderr, "\n%s\n", err.msg);
    ASSERT_EQ_FATAL(rc, 0);
    cJSON_Delete(o);
    ASSERT_TRUE(has(dir, "model.tar"));
    ASSERT_TRUE(has(dir, "model/metadata.json"));
    ASSERT_TRUE(has(dir, "model/codegen/host/src/default_lib0.c"));
    ASSERT_TRUE(has(dir, "machines/riscv32-virt.json"));
    char *cm = slurp(dir, "project.cmake");
    ASSERT_NOT_NULL_FATAL(cm);
    ASSERT_STR_CONTAINS(cm, "set(MTQ_MODEL_DIR \"model\")");
    ASSERT_STR_CONTAINS(cm, "set(MTQ_OPT_LEVEL \"s\")");
    ASSERT_STR_CONTAINS(cm, "set(MTQ_COMPILE_DEFINITIONS \"FOO=1;BAR\")");
    ASSERT_STR_CONTAINS(cm, "set(MTQ_WARNING_AS_ERROR ON)");
    /* twice the model's 160 bytes plus 1 KiB, as the firmware would choose */
    ASSERT_STR_CONTAINS(cm, "set(MTQ_WORKSPACE_BYTES 1344)");
    ASSERT_STR_CONTAINS(cm, "set(MTQ_AOT_TABLE_FILE \"model_tensors.cmake\")");
    free(cm);
    /* the tensors read once by the server, for model_table.cmake (linear in the tensors, so a
     * hostile metadata.json cannot stall the build) */
    char *mt = slurp(dir, "model_tensors.cmake");
    ASSERT_NOT_NULL_FATAL(mt);
    ASSERT_STR_CONTAINS(mt, "set(MTQ_AOT_MODULE \"default\")\n"
                            "set(MTQ_AOT_WORKSPACE 160)\n"
                            "set(MTQ_AOT_INPUTS \"input|int8|64\")\n"
                            "set(MTQ_AOT_OUTPUTS \"output|int8|10\")\n");
    free(mt);
    struct project_record s;
    ASSERT_OK_FATAL(record_read(&s, dir, &err), &err);
    ASSERT_STR_EQ(s.board, "riscv32-virt");
    ASSERT_STR_EQ(s.project_type, "aot_standalone");
    ASSERT_STR_EQ(s.compile_definitions, "FOO=1;BAR");
    ASSERT_EQ(s.workspace_bytes, 1344);
    ASSERT_TRUE(s.warning_as_error);
    record_close(&s);
    char *pj = slurp(dir, "project.json");
    cJSON *j = pj ? cJSON_Parse(pj) : NULL;
    ASSERT_NOT_NULL_FATAL(j);
    cJSON *model = cJSON_GetObjectItem(j, "model");
    ASSERT_EQ(cJSON_GetObjectItem(model, "version")->valueint, 7);
    ASSERT_EQ(cJSON_GetObjectItem(model, "workspace_size_bytes")->valueint, 160);
    cJSON_Delete(j);
    free(pj);
}

static void test_generate_takes_the_workspace_option_over_the_model(void)
{
    char dir[PATH_MAX];
    proj_path("ws", dir, sizeof dir);
    cJSON *o = options("{\"project_type\": \"aot_standalone\", \"board\": \"mps2-an385\","
                       " \"workspace_size_bytes\": \"8192\"}");
    struct err err = {0};
    ASSERT_OK_FATAL(proj_generate(MTQ_TEMPLATE_DIR, digits_tar, NULL, dir, o, &err), &err);
    cJSON_Delete(o);
    char *cm = slurp(dir, "project.cmake");
    ASSERT_TRUE(cm && strstr(cm, "set(MTQ_WORKSPACE_BYTES 8192)"));
    free(cm);
}

static void test_generate_brings_the_crt_for_host_driven(void)
{
    char dir[PATH_MAX], crt[PATH_MAX];
    proj_path("host", dir, sizeof dir);
    snprintf(crt, sizeof crt, "%s/tests/fixtures/fake_crt", MTQ_SOURCE_DIR);
    cJSON *o = options("{\"project_type\": \"host_driven\", \"board\": \"mps2-an385\"}");
    struct err err = {0};
    ASSERT_OK_FATAL(proj_generate(MTQ_TEMPLATE_DIR, digits_tar, crt, dir, o, &err), &err);
    cJSON_Delete(o);
    ASSERT_TRUE(has(dir, "crt/FAKE_CRT"));
    char *cm = slurp(dir, "project.cmake");
    ASSERT_TRUE(cm && strstr(cm, "set(MTQ_CRT_DIR \"crt\")"));
    free(cm);
}

static void test_generate_unpacks_extra_files_into_the_project(void)
{
    char dir[PATH_MAX], extra[PATH_MAX], json[PATH_MAX * 2];
    proj_path("extra", dir, sizeof dir);
    snprintf(extra, sizeof extra, "%s/extra.tar", tmpdir);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    ASSERT_EQ_FATAL(archive_write_open_filename(a, extra), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "./include/mtq_default_input.h");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 3);
    archive_write_header(a, e);
    archive_write_data(a, "/**", 3);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    snprintf(json, sizeof json, "{\"project_type\": \"echo\", \"board\": \"mps2-an385\","
             " \"extra_files_tar\": \"%s\"}", extra);
    cJSON *o = options(json);
    struct err err = {0};
    ASSERT_OK_FATAL(proj_generate(MTQ_TEMPLATE_DIR, "", "", dir, o, &err), &err);
    cJSON_Delete(o);
    ASSERT_TRUE(has(dir, "include/mtq_default_input.h"));
}

static void test_generate_refuses_an_existing_project_dir(void)
{
    char dir[PATH_MAX];
    proj_path("exists", dir, sizeof dir);
    ASSERT_EQ_FATAL(fs_mkdir_p(dir, NULL), 0);
    cJSON *o = options("{\"project_type\": \"echo\", \"board\": \"mps2-an385\"}");
    struct err err = {0};
    ASSERT_EQ(proj_generate(MTQ_TEMPLATE_DIR, "", "", dir, o, &err), ERR_INVALID);
    cJSON_Delete(o);
    ASSERT_STR_CONTAINS(err.msg, "already exists");
    ASSERT_STR_CONTAINS(err.msg, dir);
    ASSERT_TRUE(fs_is_dir(dir)); /* and it is left alone */
}

static void test_generate_refuses_an_unknown_board(void)
{
    /* the options layer already refuses names outside the choices; generate must too, for
     * callers that bypass it */
    char dir[PATH_MAX];
    proj_path("noboard", dir, sizeof dir);
    cJSON *o = cJSON_Parse("{\"project_type\": \"echo\", \"board\": \"pdp-11\"}");
    struct err err = {0};
    ASSERT_LT(proj_generate(MTQ_TEMPLATE_DIR, "", "", dir, o, &err), 0);
    cJSON_Delete(o);
    ASSERT_STR_CONTAINS(err.msg, "pdp-11");
    ASSERT_STR_CONTAINS(err.msg, "mps2-an385"); /* lists the boards there are */
    ASSERT_FALSE(fs_exists(dir));
}

static void test_generate_refuses_a_libc_the_board_lacks(void)
{
    assert_refused("nolibc", "", "", "{\"project_type\": \"echo\", \"board\": \"riscv32-virt\","
                   " \"libc\": \"newlib\"}", ERR_OPTION,
                   "libc newlib is not available on riscv32-virt; it has picolibc", NULL);
}

static void test_generate_refuses_aot_standalone_without_a_model(void)
{
    assert_refused("nomodel", "", "", "{\"project_type\": \"aot_standalone\","
                   " \"board\": \"mps2-an385\"}", ERR_PARAMS,
                   "project_type aot_standalone needs a model", "model_library_format_path");
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/no-such.tar", tmpdir);
    assert_refused("missingmodel", missing, "", "{\"project_type\": \"aot_standalone\","
                   " \"board\": \"mps2-an385\"}", -ENOENT, "no-such.tar", NULL);
}

static void test_generate_refuses_a_workspace_too_big_with_both_numbers(void)
{
    assert_refused("bigws", digits_tar, "", "{\"project_type\": \"aot_standalone\","
                   " \"board\": \"mps2-an385\", \"workspace_size_bytes\": 100000000}",
                   ERR_INVALID, "workspace of 100000000 bytes", "RAM is 16777216 bytes");
}

static void test_generate_refuses_host_driven_without_a_crt(void)
{
    assert_refused("nocrt", digits_tar, "", "{\"project_type\": \"host_driven\","
                   " \"board\": \"mps2-an385\"}", ERR_INVALID,
                   "host_driven needs TVM's standalone C runtime", "standalone_crt_dir");
    char missing[PATH_MAX];
    snprintf(missing, sizeof missing, "%s/no-crt", tmpdir);
    assert_refused("badcrt", digits_tar, missing, "{\"project_type\": \"host_driven\","
                   " \"board\": \"mps2-an385\"}", ERR_INVALID,
                   "standalone_crt_dir", "is not a directory");
}

static void test_generate_refuses_a_hostile_model_and_removes_the_project(void)
{
    char tar[PATH_MAX];
    snprintf(tar, sizeof tar, "%s/evil.tar", tmpdir);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    ASSERT_EQ_FATAL(archive_write_open_filename(a, tar), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, "./../evil");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 0);
    archive_write_header(a, e);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
    assert_refused("evil", tar, "", "{\"project_type\": \"aot_standalone\","
                   " \"board\": \"mps2-an385\"}", ERR_INVALID,
                   "model.tar: ./../evil: member escapes the project directory", NULL);
    ASSERT_FALSE(has(tmpdir, "evil"));
}

static void test_generate_refuses_a_graph_model_for_aot_standalone(void)
{
    char fixture[PATH_MAX], copy[PATH_MAX], meta[PATH_MAX * 2], tar[PATH_MAX];
    ASSERT_EQ_FATAL(mlf_fixture_path("digits_int8", fixture, sizeof fixture, NULL), 0);
    snprintf(copy, sizeof copy, "%s/graph_model", tmpdir);
    ASSERT_EQ_FATAL(fs_copy_tree(fixture, copy, NULL), 0);
    char *text = slurp(copy, "metadata.json");
    ASSERT_NOT_NULL_FATAL(text);
    char *aot = strstr(text, "\"aot\"");
    ASSERT_NOT_NULL_FATAL(aot);
    memcpy(aot, "\"gra\"", 5); /* any executor but aot */
    snprintf(meta, sizeof meta, "%s/metadata.json", copy);
    ASSERT_EQ(fs_write_file(meta, text, strlen(text), NULL), 0);
    free(text);
    snprintf(tar, sizeof tar, "%s/graph.tar", tmpdir);
    ASSERT_EQ_FATAL(mlf_make_tar(copy, tar, NULL), 0);
    assert_refused("graph", tar, "", "{\"project_type\": \"aot_standalone\","
                   " \"board\": \"mps2-an385\"}", ERR_INVALID,
                   "aot_standalone needs a model built with the AOT executor", NULL);
}

/* AutoTVM: an operator library (tvm.build, what AutoTVM's micro builder sends) becomes a
 * host_driven project whose project.json lists its functions; aot_standalone, which runs a whole
 * model by itself, refuses it naming the problem and the fix. */
static void test_generate_makes_a_host_driven_project_of_an_operator_library(void)
{
    char fixture[PATH_MAX], tar[PATH_MAX], dir[PATH_MAX], crt[PATH_MAX];
    ASSERT_EQ_FATAL(mlf_fixture_path("operator_add", fixture, sizeof fixture, NULL), 0);
    snprintf(tar, sizeof tar, "%s/operator_add.tar", tmpdir);
    ASSERT_EQ_FATAL(mlf_make_tar(fixture, tar, NULL), 0);
    snprintf(crt, sizeof crt, "%s/tests/fixtures/fake_crt", MTQ_SOURCE_DIR);
    proj_path("operator", dir, sizeof dir);
    cJSON *o = options("{\"project_type\": \"host_driven\", \"board\": \"riscv32-virt\"}");
    struct err err = {0};
    int rc = proj_generate(MTQ_TEMPLATE_DIR, tar, crt, dir, o, &err);
    cJSON_Delete(o);
    if (rc < 0)
        fprintf(stderr, "\n%s\n", err.msg);
    ASSERT_EQ_FATAL(rc, 0);
    ASSERT_TRUE(has(dir, "model/codegen/host/src/lib1.c"));
    char *record = slurp(dir, "project.json");
    ASSERT_NOT_NULL_FATAL(record);
    ASSERT_STR_CONTAINS(record, "\"style\":\t\"operator\"");
    ASSERT_STR_CONTAINS(record, "\"functions\":");
    free(record);
    assert_refused("operator_aot", tar, "", "{\"project_type\": \"aot_standalone\","
                   " \"board\": \"mps2-an385\"}", ERR_INVALID,
                   "model.tar is an operator library (metadata.json style \"operator\", from "
                   "tvm.build)", "generate it as host_driven");
}

/* The archives TVM 0.18 itself wrote (../shared/fixtures/tvm-0.18), each generated as the
 * project type it is for; the operator ones refused for aot_standalone. */
static void test_generate_takes_every_archive_tvm_0_18_writes(void)
{
    static const struct {
        const char *tar, *type;
    } cases[] = {
        {"operator_add.tar", "host_driven"}, {"autotvm_conv2d.tar", "host_driven"},
        {"graph_crt.tar", "host_driven"},    {"aot_crt.tar", "host_driven"},
        {"aot_c.tar", "aot_standalone"},
    };
    char crt[PATH_MAX];
    snprintf(crt, sizeof crt, "%s/tests/fixtures/fake_crt", MTQ_SOURCE_DIR);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tar[PATH_MAX], dir[PATH_MAX], json[128];
        struct err err = {0};
        if (mlf_shared_fixture(cases[i].tar, tar, sizeof tar, &err) < 0) {
            printf("\n  (skipped: %s)\n", err.msg);
            return;
        }
        char name[64];
        snprintf(name, sizeof name, "shared-%s", cases[i].tar);
        proj_path(name, dir, sizeof dir);
        snprintf(json, sizeof json, "{\"project_type\": \"%s\", \"board\": \"mps2-an385\"}",
                 cases[i].type);
        cJSON *o = options(json);
        int rc = proj_generate(MTQ_TEMPLATE_DIR, tar, crt, dir, o, &err);
        cJSON_Delete(o);
        if (rc < 0)
            fprintf(stderr, "\n%s as %s: %s\n", cases[i].tar, cases[i].type, err.msg);
        ASSERT_EQ(rc, 0);
        ASSERT_TRUE(has(dir, "project.json"));
        if (!strncmp(cases[i].tar, "operator", 8) || !strncmp(cases[i].tar, "autotvm", 7)) {
            snprintf(name, sizeof name, "shared-%s-aot", cases[i].tar);
            assert_refused(name, tar, "", "{\"project_type\": \"aot_standalone\","
                           " \"board\": \"mps2-an385\"}", ERR_INVALID,
                           "is an operator library", "host_driven");
        }
    }
}

/* The project is made in a hidden sibling and renamed into place, so a server killed
 * mid-way never leaves half a project under the name asked for; nothing else stays beside it. */
static void test_generate_renames_the_finished_project_into_place_and_leaves_no_staging(void)
{
    char parent[PATH_MAX], dir[PATH_MAX + 8], bad[PATH_MAX + 8];
    proj_path("staged/deeper", parent, sizeof parent); /* parents are made as needed */
    snprintf(dir, sizeof dir, "%s/p1", parent);
    snprintf(bad, sizeof bad, "%s/p2", parent);
    cJSON *o = options("{\"project_type\": \"echo\", \"board\": \"mps2-an385\"}");
    struct err err = {0};
    ASSERT_OK_FATAL(proj_generate(MTQ_TEMPLATE_DIR, "", "", dir, o, &err), &err);
    /* a failure after the staging directory exists (the MLF is not a tar) */
    char notar[PATH_MAX];
    snprintf(notar, sizeof notar, "%s/notar.tar", tmpdir);
    ASSERT_EQ_FATAL(fs_write_file(notar, "text", 4, NULL), 0);
    cJSON *o2 = options("{\"project_type\": \"aot_standalone\", \"board\": \"mps2-an385\"}");
    ASSERT_LT(proj_generate(MTQ_TEMPLATE_DIR, notar, "", bad, o2, &err), 0);
    cJSON_Delete(o);
    cJSON_Delete(o2);
    DIR *d = opendir(parent);
    ASSERT_NOT_NULL_FATAL(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            ASSERT_STR_EQ(e->d_name, "p1");
            n++;
        }
    closedir(d);
    ASSERT_EQ(n, 1);
    ASSERT_TRUE(has(dir, "project.json"));
    struct stat st;
    mode_t mask = umask(0);
    umask(mask);
    ASSERT_EQ_FATAL(stat(dir, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0777 & ~mask); /* as mkdir makes it, not mkdtemp's 0700 */
}

int test_register(void)
{
    if (!fs_exists(MTQ_TEMPLATE_DIR "/microtvm-qemu-server")) {
        printf("skipping: no template at %s (build the template_project target)\n",
               MTQ_TEMPLATE_DIR);
        return TEST_SKIP;
    }
    CU_pSuite s = CU_add_suite("generate", suite_init, suite_clean);
    CU_ADD_TEST(s, test_generate_makes_an_echo_project_without_a_model);
    CU_ADD_TEST(s, test_generate_makes_an_aot_standalone_project);
    CU_ADD_TEST(s, test_generate_takes_the_workspace_option_over_the_model);
    CU_ADD_TEST(s, test_generate_brings_the_crt_for_host_driven);
    CU_ADD_TEST(s, test_generate_unpacks_extra_files_into_the_project);
    CU_ADD_TEST(s, test_generate_refuses_an_existing_project_dir);
    CU_ADD_TEST(s, test_generate_refuses_an_unknown_board);
    CU_ADD_TEST(s, test_generate_refuses_a_libc_the_board_lacks);
    CU_ADD_TEST(s, test_generate_refuses_aot_standalone_without_a_model);
    CU_ADD_TEST(s, test_generate_refuses_a_workspace_too_big_with_both_numbers);
    CU_ADD_TEST(s, test_generate_refuses_host_driven_without_a_crt);
    CU_ADD_TEST(s, test_generate_refuses_a_hostile_model_and_removes_the_project);
    CU_ADD_TEST(s, test_generate_refuses_a_graph_model_for_aot_standalone);
    CU_ADD_TEST(s, test_generate_renames_the_finished_project_into_place_and_leaves_no_staging);
    CU_ADD_TEST(s, test_generate_makes_a_host_driven_project_of_an_operator_library);
    CU_ADD_TEST(s, test_generate_takes_every_archive_tvm_0_18_writes);
    return TEST_RUN;
}
