/*
 * server/extract.c: safe tar extraction. Every archive here is written at run time with
 * libarchive (the repository keeps no binary tars), including the hostile ones: absolute
 * paths, '..', links out, device files, FIFOs, sockets, truncation.
 */
#include "project_internal.h"

#include "asserts.h"
#include "fs.h"
#include "host_marks.h"
#include "runner.h"
#include "tarmaker.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


static char tmpdir[64]; /* "/tmp/test_extract.XXXXXX" */

static int suite_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_extract.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    return fs_remove_tree(tmpdir, NULL);
}

/* A fresh, empty work directory per test: <tmpdir>/<name>. */
static void workdir(const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", tmpdir, name);
    fs_remove_tree(out, NULL);
    ASSERT_EQ_FATAL(fs_mkdir_p(out, NULL), 0);
}

static void assert_file(const char *path, const char *content)
{
    char *text = NULL;
    ASSERT_EQ_FATAL(fs_read_file(path, 0, &text, NULL, NULL), 0);
    ASSERT_STR_EQ(text, content);
    free(text);
}

/* Extracting a hostile archive fails with ERR_INVALID and a message holding each of the
 * expected pieces, and leaves nothing in the work directory but the archive. */
static void assert_refused(const char *name, const struct tar_member *m, size_t n,
                           const char *want1, const char *want2)
{
    char dir[PATH_MAX], tar[PATH_MAX + 16], dest[PATH_MAX + 16];
    workdir(name, dir, sizeof dir);
    snprintf(tar, sizeof tar, "%s/model.tar", dir);
    snprintf(dest, sizeof dest, "%s/model", dir);
    tar_write(tar, m, n);
    struct err err = {0};
    ASSERT_EQ(proj__extract(tar, dest, &err), ERR_INVALID);
    if (!strstr(err.msg, want1) || (want2 && !strstr(err.msg, want2)))
        fprintf(stderr, "\n%s: message was: %s\n", name, err.msg);
    ASSERT_STR_CONTAINS(err.msg, want1);
    if (want2)
        ASSERT_STR_CONTAINS(err.msg, want2);
    ASSERT_STR_CONTAINS(err.msg, "model.tar: ");
    ASSERT_FALSE(fs_exists(dest));
    ASSERT_EQ(host_marks_entries(dir), 1);
}

static const struct tar_member good_dot[] = {
    {"./", AE_IFDIR, NULL, NULL, NULL, 0, false},
    {"./metadata.json", AE_IFREG, "{\"version\": 7}", NULL, NULL, 0, false},
    {"./codegen/", AE_IFDIR, NULL, NULL, NULL, 0, false},
    {"./codegen/host/src/default_lib0.c", AE_IFREG, "int x;\n", NULL, NULL, 0, false},
    {"./codegen/link.c", AE_IFLNK, NULL, "host/src/default_lib0.c", NULL, 0, false},
    {"./codegen/hard.c", AE_IFREG, NULL, NULL, "./codegen/host/src/default_lib0.c", 0, false},
};

static void test_extract_accepts_members_with_a_leading_dot_slash(void)
{
    char dir[PATH_MAX], tar[PATH_MAX + 16], dest[PATH_MAX + 16], path[PATH_MAX * 2];
    workdir("good_dot", dir, sizeof dir);
    snprintf(tar, sizeof tar, "%s/model.tar", dir);
    snprintf(dest, sizeof dest, "%s/model", dir);
    tar_write(tar, good_dot, sizeof good_dot / sizeof good_dot[0]);
    struct err err = {0};
    ASSERT_OK_FATAL(proj__extract(tar, dest, &err), &err);
    snprintf(path, sizeof path, "%s/metadata.json", dest);
    assert_file(path, "{\"version\": 7}");
    snprintf(path, sizeof path, "%s/codegen/link.c", dest);
    assert_file(path, "int x;\n");
    snprintf(path, sizeof path, "%s/codegen/hard.c", dest);
    assert_file(path, "int x;\n");
    ASSERT_EQ(host_marks_entries(dir), 2); /* model.tar and model/, no temporary left */
}

static void test_extract_accepts_members_without_a_leading_dot_slash(void)
{
    static const struct tar_member m[] = {
        {"metadata.json", AE_IFREG, "{}", NULL, NULL, 0, false},
        {"codegen/host/src/a.c", AE_IFREG, "int a;\n", NULL, NULL, 0, false},
    };
    char dir[PATH_MAX], tar[PATH_MAX + 16], dest[PATH_MAX + 16], path[PATH_MAX * 2];
    workdir("good_plain", dir, sizeof dir);
    snprintf(tar, sizeof tar, "%s/model.tar", dir);
    snprintf(dest, sizeof dest, "%s/model", dir);
    tar_write(tar, m, 2);
    struct err err = {0};
    ASSERT_OK_FATAL(proj__extract(tar, dest, &err), &err);
    snprintf(path, sizeof path, "%s/codegen/host/src/a.c", dest);
    assert_file(path, "int a;\n");
}

static void test_extract_refuses_an_absolute_path(void)
{
    static const struct tar_member m[] = {
        {"metadata.json", AE_IFREG, "{}", NULL, NULL, 0, false},
        {"/tmp/evil", AE_IFREG, "x", NULL, NULL, 0, false},
    };
    assert_refused("abs", m, 2, "/tmp/evil: member has an absolute path", NULL);
}

static void test_extract_refuses_a_dotdot_component(void)
{
    static const struct tar_member m[] = {
        {"./metadata.json", AE_IFREG, "{}", NULL, NULL, 0, false},
        {"../evil", AE_IFREG, "x", NULL, NULL, 0, false},
    };
    assert_refused("dotdot", m, 2,
                   "model.tar: ../evil: member escapes the project directory; rebuild the "
                   "archive without '..'", NULL);
}

static void test_extract_refuses_dotdot_in_the_middle_of_a_path(void)
{
    static const struct tar_member m[] = {{"./a/../b", AE_IFREG, "x", NULL, NULL, 0, false}};
    assert_refused("dotdot_mid", m, 1, "./a/../b: member escapes", NULL);
}

static void test_extract_refuses_a_symlink_that_climbs_out(void)
{
    static const struct tar_member m[] = {
        {"codegen/up", AE_IFLNK, NULL, "../../etc", NULL, 0, false}};
    assert_refused("symlink_up", m, 1, "codegen/up: symbolic link to '../../etc'",
                   "outside the project directory");
}

static void test_extract_refuses_a_symlink_to_an_absolute_path(void)
{
    static const struct tar_member m[] = {
        {"passwd", AE_IFLNK, NULL, "/etc/passwd", NULL, 0, false}};
    assert_refused("symlink_abs", m, 1, "passwd: symbolic link to '/etc/passwd'", NULL);
}

static void test_extract_refuses_a_chain_of_symlinks_that_escapes(void)
{
    /* each link looks harmless as text; followed for real, t is the parent of the root */
    static const struct tar_member m[] = {
        {"s", AE_IFLNK, NULL, ".", NULL, 0, false},
        {"t", AE_IFLNK, NULL, "s/..", NULL, 0, false},
    };
    assert_refused("symlink_chain", m, 2, "s: symbolic link to '.' names a directory", NULL);
}

static void test_extract_refuses_a_link_that_chains_through_another(void)
{
    static const struct tar_member m[] = {
        {"a.c", AE_IFREG, "int a;\n", NULL, NULL, 0, false},
        {"b.c", AE_IFLNK, NULL, "a.c", NULL, 0, false},
        {"c.c", AE_IFLNK, NULL, "b.c", NULL, 0, false},
    };
    assert_refused("symlink_via", m, 3, "c.c: symbolic link to 'b.c' goes through another link",
                   NULL);
}

static void test_extract_refuses_a_dangling_link_that_could_come_alive_elsewhere(void)
{
    /* the re-rooting attack: dangling in the staging directory, alive once renamed */
    static const struct tar_member m[] = {
        {"u", AE_IFLNK, NULL, ".", NULL, 0, false},
        {"passwd", AE_IFLNK, NULL, "u/u/u/../model/../../../../../etc/passwd", NULL, 0, false},
    };
    assert_refused("reroot", m, 2, "model.tar: ", "symbolic link to");
    static const struct tar_member d[] = {{"x.h", AE_IFLNK, NULL, "missing/y.h", NULL, 0, false}};
    assert_refused("dangling", d, 1, "x.h: symbolic link to 'missing/y.h' leads to nothing",
                   NULL);
}

static void test_extract_refuses_a_link_to_a_directory(void)
{
    static const struct tar_member m[] = {
        {"inc/", AE_IFDIR, NULL, NULL, NULL, 0, false},
        {"alias", AE_IFLNK, NULL, "inc", NULL, 0, false},
    };
    assert_refused("dirlink", m, 2, "alias: symbolic link to 'inc' is not a regular file", NULL);
}

/* the caps on archives (docs/SECURITY.md), and the environment variables that move them */
static void test_extract_caps_members_and_depth_and_the_environment_moves_them(void)
{
    static const struct tar_member m[] = {
        {"a", AE_IFREG, "1", NULL, NULL, 0, false}, {"b", AE_IFREG, "2", NULL, NULL, 0, false},
        {"c", AE_IFREG, "3", NULL, NULL, 0, false},
        {"d/e/f/g.c", AE_IFREG, "4", NULL, NULL, 0, false},
    };
    setenv("MTQ_EXTRACT_MAX_MEMBERS", "3", 1);
    assert_refused("members", m, 4, "model.tar: more than 3 members, the cap",
                   "raise MTQ_EXTRACT_MAX_MEMBERS");
    unsetenv("MTQ_EXTRACT_MAX_MEMBERS");
    setenv("MTQ_EXTRACT_MAX_DEPTH", "3", 1);
    assert_refused("depth", m, 4, "member nested deeper than 3 directories", "d/e/f/g.c");
    setenv("MTQ_EXTRACT_MAX_BYTES", "3", 1);
    setenv("MTQ_EXTRACT_MAX_DEPTH", "4", 1);
    assert_refused("bytes", m, 4, "model.tar: expands to more than 3 bytes, the cap, at d/e/f/g.c",
                   "raise MTQ_EXTRACT_MAX_BYTES");
    unsetenv("MTQ_EXTRACT_MAX_BYTES");
    setenv("MTQ_EXTRACT_MAX_MEMBER_BYTES", "0", 1); /* not a cap: the default stands */
    char dir[PATH_MAX], tar[PATH_MAX + 16], dest[PATH_MAX + 16];
    workdir("raised", dir, sizeof dir);
    snprintf(tar, sizeof tar, "%s/model.tar", dir);
    snprintf(dest, sizeof dest, "%s/model", dir);
    tar_write(tar, m, 4);
    struct err err = {0};
    ASSERT_OK(proj__extract(tar, dest, &err), &err);
    unsetenv("MTQ_EXTRACT_MAX_DEPTH");
    unsetenv("MTQ_EXTRACT_MAX_MEMBER_BYTES");
}

static void test_extract_refuses_a_hard_link_out(void)
{
    static const struct tar_member m[] = {
        {"h", AE_IFREG, NULL, NULL, "../../etc/passwd", 0, false}};
    assert_refused("hardlink", m, 1, "h: hard link to '../../etc/passwd'", NULL);
}

static void test_extract_refuses_a_hard_link_to_an_absolute_path(void)
{
    static const struct tar_member m[] = {{"h", AE_IFREG, NULL, NULL, "/etc/passwd", 0, false}};
    assert_refused("hardlink_abs", m, 1, "h: hard link to '/etc/passwd'", NULL);
}

static void test_extract_refuses_device_files(void)
{
    static const struct tar_member c[] = {{"dev/null", AE_IFCHR, NULL, NULL, NULL, 0, false}};
    assert_refused("chr", c, 1, "dev/null: member is a device file", NULL);
    static const struct tar_member b[] = {{"dev/sda", AE_IFBLK, NULL, NULL, NULL, 0, false}};
    assert_refused("blk", b, 1, "dev/sda: member is a device file", NULL);
}

static void test_extract_refuses_a_fifo(void)
{
    static const struct tar_member m[] = {{"pipe", AE_IFIFO, NULL, NULL, NULL, 0, false}};
    assert_refused("fifo", m, 1, "pipe: member is a FIFO", NULL);
}

static void test_extract_reports_a_truncated_archive(void)
{
    char dir[PATH_MAX], tar[PATH_MAX + 16], dest[PATH_MAX + 16];
    workdir("truncated", dir, sizeof dir);
    snprintf(tar, sizeof tar, "%s/model.tar", dir);
    snprintf(dest, sizeof dest, "%s/model", dir);
    char *big = malloc(20000);
    ASSERT_NOT_NULL_FATAL(big);
    memset(big, 'x', 19999);
    big[19999] = '\0';
    struct tar_member m[] = {
        {"metadata.json", AE_IFREG, "{}", NULL, NULL, 0, false},
        {"codegen/host/src/big.c", AE_IFREG, big, NULL, NULL, 0, false},
    };
    tar_write(tar, m, 2);
    free(big);
    ASSERT_EQ(truncate(tar, 8192), 0); /* inside big.c's data */
    struct err err = {0};
    ASSERT_EQ(proj__extract(tar, dest, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "model.tar: ");
    ASSERT_STR_CONTAINS(err.msg, "truncated or corrupt archive");
    ASSERT_FALSE(fs_exists(dest));
    ASSERT_EQ(host_marks_entries(dir), 1);
}

static void test_extract_reports_a_file_that_is_not_a_tar(void)
{
    char dir[PATH_MAX], tar[PATH_MAX + 16], dest[PATH_MAX + 16];
    workdir("nottar", dir, sizeof dir);
    snprintf(tar, sizeof tar, "%s/model.tar", dir);
    snprintf(dest, sizeof dest, "%s/model", dir);
    const char text[] = "this is plainly not an archive, just a line of text\n";
    ASSERT_EQ_FATAL(fs_write_file(tar, text, sizeof text - 1, NULL), 0);
    struct err err = {0};
    ASSERT_EQ(proj__extract(tar, dest, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "model.tar: not a readable tar archive");
    ASSERT_FALSE(fs_exists(dest));
}

static void test_extract_refuses_an_existing_destination(void)
{
    char dir[PATH_MAX], tar[PATH_MAX + 16];
    workdir("exists", dir, sizeof dir);
    snprintf(tar, sizeof tar, "%s/model.tar", dir);
    tar_write(tar, good_dot, 2);
    struct err err = {0};
    ASSERT_EQ(proj__extract(tar, dir, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "already exists");
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("extract", suite_init, suite_clean);
    CU_ADD_TEST(s, test_extract_accepts_members_with_a_leading_dot_slash);
    CU_ADD_TEST(s, test_extract_accepts_members_without_a_leading_dot_slash);
    CU_ADD_TEST(s, test_extract_refuses_an_absolute_path);
    CU_ADD_TEST(s, test_extract_refuses_a_dotdot_component);
    CU_ADD_TEST(s, test_extract_refuses_dotdot_in_the_middle_of_a_path);
    CU_ADD_TEST(s, test_extract_refuses_a_symlink_that_climbs_out);
    CU_ADD_TEST(s, test_extract_refuses_a_symlink_to_an_absolute_path);
    CU_ADD_TEST(s, test_extract_refuses_a_chain_of_symlinks_that_escapes);
    CU_ADD_TEST(s, test_extract_refuses_a_link_that_chains_through_another);
    CU_ADD_TEST(s, test_extract_refuses_a_dangling_link_that_could_come_alive_elsewhere);
    CU_ADD_TEST(s, test_extract_refuses_a_link_to_a_directory);
    CU_ADD_TEST(s, test_extract_caps_members_and_depth_and_the_environment_moves_them);
    CU_ADD_TEST(s, test_extract_refuses_a_hard_link_out);
    CU_ADD_TEST(s, test_extract_refuses_a_hard_link_to_an_absolute_path);
    CU_ADD_TEST(s, test_extract_refuses_device_files);
    CU_ADD_TEST(s, test_extract_refuses_a_fifo);
    CU_ADD_TEST(s, test_extract_reports_a_truncated_archive);
    CU_ADD_TEST(s, test_extract_reports_a_file_that_is_not_a_tar);
    CU_ADD_TEST(s, test_extract_refuses_an_existing_destination);
    return TEST_RUN;
}
