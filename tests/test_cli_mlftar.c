/*
 * The demo's MLF tar (cli/mlftar.h): read back with libarchive, it has TVM's layout ("./"
 * first, "./"-prefixed names, directories before their contents, sorted, owner root) and the
 * fixture's bytes; trees that are not an MLF, or hold a symlink, are refused.
 */
#include "mlftar.h"

#include "asserts.h"
#include "runner.h"

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
    ASSERT_OK_FATAL(cli_mlf_tar(FIXTURE, tar, &e), &e);

    struct archive *ar = archive_read_new();
    archive_read_support_format_tar(ar);
    ASSERT_EQ_FATAL(archive_read_open_filename(ar, tar, 10240), ARCHIVE_OK);
    struct archive_entry *ent;
    char prev[PATH_MAX] = "";
    size_t n = 0;
    bool saw_metadata = false, saw_source = false;
    while (archive_read_next_header(ar, &ent) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(ent);
        if (n == 0)
            ASSERT_STR_EQ(name, "./");
        ASSERT_STRN_EQ(name, "./", 2);
        ASSERT_LT(strcmp(prev, name), 0); /* sorted: parents come first */
        ASSERT_EQ(archive_entry_uid(ent), 0);
        ASSERT_STR_EQ(archive_entry_uname(ent), "root");
        if (!strcmp(name, "./metadata.json")) {
            saw_metadata = true;
            char path[PATH_MAX], *want = NULL, *got = NULL;
            snprintf(path, sizeof path, "%s/metadata.json", FIXTURE);
            FILE *f = fopen(path, "rb");
            struct stat st;
            ASSERT_TRUE_FATAL(f && stat(path, &st) == 0);
            want = malloc((size_t)st.st_size);
            got = malloc((size_t)st.st_size + 1);
            ASSERT_EQ(fread(want, 1, (size_t)st.st_size, f), (size_t)st.st_size);
            fclose(f);
            ASSERT_EQ(archive_entry_size(ent), st.st_size);
            ASSERT_EQ(archive_read_data(ar, got, (size_t)st.st_size + 1), st.st_size);
            ASSERT_MEM_EQ(want, got, (size_t)st.st_size);
            free(want);
            free(got);
        }
        saw_source |= strncmp(name, "./codegen/host/src/", 19) == 0 &&
                      archive_entry_filetype(ent) == AE_IFREG;
        snprintf(prev, sizeof prev, "%s", name);
        n++;
    }
    ASSERT_TRUE(saw_metadata && saw_source);
    ASSERT_GT(n, 4);
    archive_read_free(ar);
}

static void test_a_tree_without_metadata_or_with_a_symlink_is_refused(void)
{
    char dir[PATH_MAX], tar[PATH_MAX], link[PATH_MAX + 16], meta[PATH_MAX + 16];
    struct err e;
    snprintf(dir, sizeof dir, "%s/tree", tmpdir);
    snprintf(tar, sizeof tar, "%s/bad.tar", tmpdir);
    ASSERT_EQ_FATAL(mkdir(dir, 0700), 0);
    ASSERT_EQ(cli_mlf_tar(dir, tar, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "no metadata.json");
    snprintf(meta, sizeof meta, "%s/metadata.json", dir);
    FILE *f = fopen(meta, "w");
    ASSERT_NOT_NULL_FATAL(f);
    fputs("{}", f);
    fclose(f);
    snprintf(link, sizeof link, "%s/escape", dir);
    ASSERT_EQ_FATAL(symlink("/etc/passwd", link), 0);
    ASSERT_EQ(cli_mlf_tar(dir, tar, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "escape: not a regular file or directory");
    ASSERT_LT(access(tar, F_OK), 0); /* no half-written tar is left */
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("cli_mlftar", suite_init, suite_clean);
    CU_ADD_TEST(s, test_the_tar_has_tvms_layout_and_the_fixtures_bytes);
    CU_ADD_TEST(s, test_a_tree_without_metadata_or_with_a_symlink_is_refused);
    return TEST_RUN;
}
