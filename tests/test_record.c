/*
 * The project record (common/record.h): what generate_project writes reads back the same, a
 * value missing from the top level comes from the call's options, a directory without a record
 * or with a broken one is named with the fix, and record_require names what is missing.
 */
#include "record.h"

#include "asserts.h"
#include "fs.h"
#include "runner.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[] = "/tmp/mtq-test-record-XXXXXX";

static int make_dir(void)
{
    return mkdtemp(dir) ? 0 : 1;
}

static int remove_dir(void)
{
    return fs_remove_tree(dir, NULL) == 0 ? 0 : 1;
}

static void put_record(const char *text)
{
    char path[PATH_MAX];
    struct err err = {0};
    ASSERT_EQ_FATAL(fs_join(path, sizeof path, dir, RECORD_FILE, &err), 0);
    ASSERT_EQ_FATAL(fs_write_file(path, text, strlen(text), &err), 0);
}

static void test_record_reads_back_what_it_wrote(void)
{
    struct err err = {0};
    struct project_record w = {.warning_as_error = true, .workspace_bytes = 4096,
                               .compile_definitions = "A=1;B", .has_crt = true,
                               .aot_demo = true};
    snprintf(w.project_type, sizeof w.project_type, "aot_standalone");
    snprintf(w.board, sizeof w.board, "mps2-an385");
    snprintf(w.libc, sizeof w.libc, "newlib");
    snprintf(w.opt_level, sizeof w.opt_level, "s");
    cJSON *opts = cJSON_Parse("{\"project_type\": \"aot_standalone_demo\", \"verbose\": true}");
    struct record_extras x = {.options = opts, .model = cJSON_CreateObject(),
                              .crt_source = "crt"};
    ASSERT_EQ_FATAL(record_write(dir, &w, &x, &err), 0);
    cJSON_Delete(opts);
    struct project_record r;
    ASSERT_EQ_FATAL(record_read(&r, dir, &err), 0);
    ASSERT_STR_EQ(r.project_type, "aot_standalone");
    ASSERT_STR_EQ(r.board, "mps2-an385");
    ASSERT_STR_EQ(r.libc, "newlib");
    ASSERT_STR_EQ(r.opt_level, "s");
    ASSERT_STR_EQ(r.cmsis_path, "");
    ASSERT_STR_EQ(r.compile_definitions, "A=1;B");
    ASSERT_EQ(r.workspace_bytes, 4096);
    ASSERT_TRUE(r.warning_as_error && r.has_crt && r.aot_demo && r.has_model);
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.options, "verbose")));
    const char *const build[] = {"project_type", "board", "libc", "opt_level", NULL};
    ASSERT_EQ(record_require(&r, build, &err), 0);
    /* a changed tree goes back to the same file */
    cJSON_ReplaceItemInObjectCaseSensitive(r.root, "libc", cJSON_CreateString("picolibc"));
    ASSERT_EQ(record_save(&r, &err), 0);
    record_close(&r);
    ASSERT_EQ_FATAL(record_read(&r, dir, &err), 0);
    ASSERT_STR_EQ(r.libc, "picolibc");
    record_close(&r);
}

static void test_record_takes_a_missing_value_from_the_calls_options(void)
{
    struct err err = {0};
    struct project_record r;
    put_record("{\"board\": \"riscv32-virt\", \"options\": {\"project_type\": \"echo\", "
               "\"board\": \"ignored\", \"deterministic\": false}}");
    ASSERT_EQ_FATAL(record_read(&r, dir, &err), 0);
    ASSERT_STR_EQ(r.board, "riscv32-virt"); /* the top level wins */
    ASSERT_STR_EQ(r.project_type, "echo");
    ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.options, "deterministic")));
    const char *const libc[] = {"libc", NULL};
    ASSERT_EQ(record_require(&r, libc, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "project.json: libc: want a string");
    ASSERT_STR_CONTAINS(err.msg, "generate the project again");
    record_close(&r);
    /* no "options" object: the record itself holds them */
    put_record("{\"board\": \"riscv32-virt\", \"gdbserver_port\": 1234}");
    ASSERT_EQ_FATAL(record_read(&r, dir, &err), 0);
    ASSERT_TRUE(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r.options, "gdbserver_port")));
    record_close(&r);
}

static void test_record_names_a_missing_or_broken_record(void)
{
    struct err err = {0};
    struct project_record r;
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/none", dir);
    ASSERT_EQ_FATAL(fs_mkdir_p(sub, &err), 0);
    ASSERT_EQ(record_read(&r, sub, &err), ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "not a generated project (no project.json)");
    record_close(&r);
    put_record("{\"board\": ");
    ASSERT_EQ(record_read(&r, dir, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "project.json: bad JSON at byte");
    record_close(&r);
    put_record("[1, 2]");
    ASSERT_EQ(record_read(&r, dir, &err), ERR_INVALID);
    record_close(&r);
    put_record("{\"libc\": \"a-libc-name-longer-than-the-field\"}");
    ASSERT_EQ(record_read(&r, dir, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "libc: too long");
    record_close(&r);
}

static void test_record_keeps_the_link_and_refuses_one_it_does_not_know(void)
{
    struct err err = {0};
    struct project_record r;
    put_record("{\"board\": \"mps2-an385\"}"); /* made before the link option existed */
    ASSERT_EQ_FATAL(record_read(&r, dir, &err), 0);
    ASSERT_STR_EQ(r.link, "uart");
    record_close(&r);
    put_record("{\"link\": \"fast\"}");
    ASSERT_EQ_FATAL(record_read(&r, dir, &err), 0);
    ASSERT_STR_EQ(r.link, "fast");
    cJSON *same = cJSON_Parse("{\"link\": \"fast\"}");
    cJSON *other = cJSON_Parse("{\"link\": \"uart\"}");
    ASSERT_EQ(record_check_link(&r, same, &err), 0);
    ASSERT_EQ(record_check_link(&r, NULL, &err), 0);
    ASSERT_EQ(record_check_link(&r, other, &err), ERR_OPTION);
    ASSERT_STR_CONTAINS(err.msg, "option link: 'uart' differs from the 'fast'");
    cJSON_Delete(same);
    cJSON_Delete(other);
    record_close(&r);
    put_record("{\"link\": \"a-link-name-longer-than-the-field\"}");
    ASSERT_EQ(record_read(&r, dir, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "link 'a-link-name-longer-than-the-field' is not uart or fast");
    record_close(&r);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("record", make_dir, remove_dir);
    CU_ADD_TEST(s, test_record_reads_back_what_it_wrote);
    CU_ADD_TEST(s, test_record_takes_a_missing_value_from_the_calls_options);
    CU_ADD_TEST(s, test_record_names_a_missing_or_broken_record);
    CU_ADD_TEST(s, test_record_keeps_the_link_and_refuses_one_it_does_not_know);
    return TEST_RUN;
}
