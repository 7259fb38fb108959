/*
 * The demo's MLF tar (cli/mlftar.h): read back with libarchive, it has TVM's layout ("./"
 * first, "./"-prefixed names, directories before their contents, sorted, owner root) and the
 * fixture's bytes; trees that are not an MLF, or hold a symlink, are refused.
 */
#include "mlftar.h"

#include <CUnit/Basic.h>
#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXTURE MTQ_SOURCE_DIR "/tests/fixtures/mlf/digits_int8"

static char tmpdir[] = "/tmp/mtq-test-cli-mlftar-XXXXXX";

static int suite_init(void)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

static void test_the_tar_has_tvms_layout_and_the_fixtures_bytes(void)
{
    char tar[PATH_MAX];
    struct err e;
    snprintf(tar, sizeof tar, "%s/model.tar", tmpdir);
    CU_ASSERT_EQUAL_FATAL(cli_mlf_tar(FIXTURE, tar, &e), 0);

    struct archive *ar = archive_read_new();
    archive_read_support_format_tar(ar);
    CU_ASSERT_EQUAL_FATAL(archive_read_open_filename(ar, tar, 10240), ARCHIVE_OK);
    struct archive_entry *ent;
    char prev[PATH_MAX] = "";
    size_t n = 0;
    bool saw_metadata = false, saw_source = false;
    while (archive_read_next_header(ar, &ent) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(ent);
        if (n == 0)
            CU_ASSERT_STRING_EQUAL(name, "./");
        CU_ASSERT(strncmp(name, "./", 2) == 0);
        CU_ASSERT(strcmp(prev, name) < 0); /* sorted: parents come first */
        CU_ASSERT_EQUAL(archive_entry_uid(ent), 0);
        CU_ASSERT_STRING_EQUAL(archive_entry_uname(ent), "root");
        if (!strcmp(name, "./metadata.json")) {
            saw_metadata = true;
            char path[PATH_MAX], *want = NULL, *got = NULL;
            snprintf(path, sizeof path, "%s/metadata.json", FIXTURE);
            FILE *f = fopen(path, "rb");
            struct stat st;
            CU_ASSERT_FATAL(f && stat(path, &st) == 0);
            want = malloc((size_t)st.st_size);
            got = malloc((size_t)st.st_size + 1);
            CU_ASSERT_EQUAL(fread(want, 1, (size_t)st.st_size, f), (size_t)st.st_size);
            fclose(f);
            CU_ASSERT_EQUAL(archive_entry_size(ent), st.st_size);
            CU_ASSERT_EQUAL(archive_read_data(ar, got, (size_t)st.st_size + 1), st.st_size);
            CU_ASSERT(memcmp(want, got, (size_t)st.st_size) == 0);
            free(want);
            free(got);
        }
        saw_source |= strncmp(name, "./codegen/host/src/", 19) == 0 &&
                      archive_entry_filetype(ent) == AE_IFREG;
        snprintf(prev, sizeof prev, "%s", name);
        n++;
    }
    CU_ASSERT(saw_metadata && saw_source);
    CU_ASSERT(n > 4);
    archive_read_free(ar);
}

static void test_a_tree_without_metadata_or_with_a_symlink_is_refused(void)
{
    char dir[PATH_MAX], tar[PATH_MAX], link[PATH_MAX + 16], meta[PATH_MAX + 16];
    struct err e;
    snprintf(dir, sizeof dir, "%s/tree", tmpdir);
    snprintf(tar, sizeof tar, "%s/bad.tar", tmpdir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    CU_ASSERT_EQUAL(cli_mlf_tar(dir, tar, &e), ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "no metadata.json"));
    snprintf(meta, sizeof meta, "%s/metadata.json", dir);
    FILE *f = fopen(meta, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{}", f);
    fclose(f);
    snprintf(link, sizeof link, "%s/escape", dir);
    CU_ASSERT_EQUAL_FATAL(symlink("/etc/passwd", link), 0);
    CU_ASSERT_EQUAL(cli_mlf_tar(dir, tar, &e), ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "escape: not a regular file or directory"));
    CU_ASSERT(access(tar, F_OK) < 0); /* no half-written tar is left */
}

int main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("cli_mlftar", suite_init, suite_clean);
    CU_ADD_TEST(s, test_the_tar_has_tvms_layout_and_the_fixtures_bytes);
    CU_ADD_TEST(s, test_a_tree_without_metadata_or_with_a_symlink_is_refused);
    if (CU_get_error() != CUE_SUCCESS)
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return bad != 0;
}
