/* Tests for common/fs.c: reading, writing, copying and removing trees, and sweeping what
 * killed processes left behind. */
#include "fs.h"

#include "asserts.h"
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/mtq-test-fs-XXXXXX";

static int make_dir(void)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void)
{
    return fs_remove_tree(dir, NULL);
}

static void path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void test_fs_writes_then_reads_back_the_same_bytes(void)
{
    char p[256];
    path(p, sizeof p, "data.bin");
    const char data[] = "a\0b\nc";
    struct err err = {0};
    ASSERT_OK(fs_write_file(p, data, sizeof data, &err), &err);
    char *text = NULL;
    size_t len = 0;
    ASSERT_OK(fs_read_file(p, 0, &text, &len, &err), &err);
    ASSERT_EQ(len, sizeof data);
    ASSERT_TRUE(text && memcmp(text, data, sizeof data) == 0 && text[len] == '\0');
    free(text);
}

static void test_fs_refuses_a_file_over_the_size_limit_naming_it(void)
{
    char p[256];
    path(p, sizeof p, "big.txt");
    struct err err = {0};
    ASSERT_OK(fs_write_file(p, "0123456789", 10, &err), &err);
    char *text = NULL;
    ASSERT_EQ(fs_read_file(p, 4, &text, NULL, &err), ERR_INVALID);
    ASSERT_NULL(text);
    ASSERT_STR_CONTAINS(err.msg, "big.txt: 10 bytes, more than the 4 allowed");
}

static void test_fs_reading_a_missing_file_names_the_path_and_errno(void)
{
    struct err err = {0};
    char *text = NULL;
    ASSERT_EQ(fs_read_file("/nonexistent/mtq", 0, &text, NULL, &err), -ENOENT);
    ASSERT_STR_EQ(err.msg, "/nonexistent/mtq: No such file or directory");
}

static void test_fs_copies_a_tree_and_removes_it_without_following_links(void)
{
    char src[256], dst[256], outside[256], sub[384], file[512], link[512];
    struct err err = {0};
    path(src, sizeof src, "src");
    path(dst, sizeof dst, "dst");
    path(outside, sizeof outside, "outside.txt");
    snprintf(sub, sizeof sub, "%s/a/b", src);
    ASSERT_OK(fs_mkdir_p(sub, &err), &err);
    snprintf(file, sizeof file, "%s/f.txt", sub);
    ASSERT_OK(fs_write_file(file, "x", 1, &err), &err);
    ASSERT_OK(fs_copy_tree(src, dst, &err), &err);
    snprintf(file, sizeof file, "%s/a/b/f.txt", dst);
    ASSERT_TRUE(fs_exists(file));

    /* a link inside the tree: removing the tree must not touch what it points to */
    ASSERT_OK(fs_write_file(outside, "keep", 4, &err), &err);
    snprintf(link, sizeof link, "%s/link", dst);
    ASSERT_EQ(symlink(outside, link), 0);
    ASSERT_OK(fs_remove_tree(dst, &err), &err);
    ASSERT_FALSE(fs_exists(dst));
    ASSERT_TRUE(fs_exists(outside));

    /* and copying refuses links rather than following them */
    snprintf(link, sizeof link, "%s/link", src);
    ASSERT_EQ(symlink(outside, link), 0);
    ASSERT_EQ(fs_copy_tree(src, dst, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "is a symbolic link");
}

/* walks keep their own stack, so a hostile archive's depth cannot overflow ours */
static void test_fs_walks_and_removes_a_deep_tree_without_recursion(void)
{
    char root[256], deep[PATH_MAX], copy[300];
    struct err err = {0};
    path(root, sizeof root, "deep");
    snprintf(deep, sizeof deep, "%s", root);
    ASSERT_OK_FATAL(fs_mkdir_p(root, &err), &err);
    for (int i = 0; i < FS_MAX_DEPTH + 10; i++) {
        strcat(deep, "/d");
        ASSERT_EQ_FATAL(mkdir(deep, 0755), 0);
    }
    path(copy, sizeof copy, "deep_copy");
    ASSERT_EQ(fs_copy_tree(root, copy, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "nested deeper than 256 directories");
    ASSERT_OK(fs_remove_tree(copy, &err), &err);
    ASSERT_OK(fs_remove_tree(root, &err), &err);
    ASSERT_FALSE(fs_exists(root));
}

static void test_fs_copy_keeps_a_sparse_file_sparse_and_never_writes_through_a_link(void)
{
    char from[256], to[256], target[256];
    struct err err = {0};
    path(from, sizeof from, "sparse.bin");
    path(to, sizeof to, "sparse_copy.bin");
    int fd = open(from, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE_FATAL(fd, 0);
    ASSERT_EQ(pwrite(fd, "end", 3, (16 << 20) - 3), 3); /* 16 MiB, one block of data */
    close(fd);
    ASSERT_OK(fs_copy_file(from, to, &err), &err);
    struct stat st;
    ASSERT_EQ_FATAL(stat(to, &st), 0);
    ASSERT_EQ(st.st_size, 16 << 20);
    ASSERT_LT(st.st_blocks * 512, (1 << 20)); /* not 16 MiB on disk */
    char *text = NULL;
    ASSERT_OK_FATAL(fs_read_file(to, 0, &text, NULL, &err), &err);
    ASSERT_EQ(memcmp(text + (16 << 20) - 3, "end", 3), 0);
    free(text);
    unlink(to);
    path(target, sizeof target, "link_target.txt");
    ASSERT_OK(fs_write_file(target, "keep", 4, &err), &err);
    ASSERT_EQ_FATAL(symlink(target, to), 0);
    ASSERT_EQ(fs_copy_file(from, to, &err), -ELOOP);
    ASSERT_OK_FATAL(fs_read_file(target, 0, &text, NULL, &err), &err);
    ASSERT_STR_EQ(text, "keep");
    free(text);
    unlink(to);
    unlink(from);
}

/* All of a write larger than a pipe holds goes through a non-blocking pipe while a child reads;
 * a pipe nobody reads any more is ERR_CLOSED, not our death by SIGPIPE. */
static void test_fs_write_all_waits_for_room_and_reports_a_gone_reader(void)
{
    enum { BIG = 1 << 20 };
    int p[2];
    struct err err = {0};
    ASSERT_TRUE_FATAL(pipe2(p, O_CLOEXEC) == 0);
    ASSERT_TRUE_FATAL(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    pid_t pid = fork();
    ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0) {
        close(p[1]);
        static char sink[65536];
        size_t total = 0;
        ssize_t n;
        while ((n = read(p[0], sink, sizeof sink)) > 0)
            total += (size_t)n;
        _exit(total == BIG ? 0 : 1);
    }
    close(p[0]);
    char *big = calloc(1, BIG);
    ASSERT_TRUE_FATAL(big != NULL);
    ASSERT_EQ(fs_write_all(p[1], big, BIG, &err), 0);
    close(p[1]);
    int status = -1;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(big);

    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    ASSERT_TRUE_FATAL(pipe2(p, O_CLOEXEC) == 0);
    close(p[0]);
    ASSERT_EQ(fs_write_all(p[1], "x", 1, &err), ERR_CLOSED);
    ASSERT_STR_EQ(err.msg, "write: the reading end is closed");
    close(p[1]);
    signal(SIGPIPE, old);
}

static void test_fs_join_refuses_a_path_that_does_not_fit(void)
{
    char out[8];
    struct err err = {0};
    ASSERT_OK(fs_join(out, sizeof out, "abc/", "de", &err), &err);
    ASSERT_STR_EQ(out, "abc/de");
    ASSERT_EQ(fs_join(out, sizeof out, "abcd", "efgh", &err), ERR_INVALID);
}

static void test_fs_sweeps_only_entries_of_dead_owners_with_the_prefix(void)
{
    pid_t dead = fork();
    ASSERT_GE_FATAL(dead, 0);
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char gone[512], alive[512], other[512], short_suffix[512], inner[600];
    snprintf(gone, sizeof gone, "%s/mtq-%ld-Ab12Cd", dir, (long)dead);
    snprintf(alive, sizeof alive, "%s/mtq-%ld-Ab12Cd", dir, (long)getpid());
    snprintf(other, sizeof other, "%s/other-%ld-Ab12Cd", dir, (long)dead);
    snprintf(short_suffix, sizeof short_suffix, "%s/mtq-%ld-Ab", dir, (long)dead);
    struct err err = {0};
    ASSERT_OK(fs_mkdir_p(gone, &err), &err);
    snprintf(inner, sizeof inner, "%s/qmp.sock", gone);
    ASSERT_OK(fs_write_file(inner, "", 0, &err), &err);
    ASSERT_OK(fs_mkdir_p(alive, &err), &err);
    ASSERT_OK(fs_mkdir_p(other, &err), &err);
    ASSERT_OK(fs_mkdir_p(short_suffix, &err), &err);

    fs_sweep_dead_owners(dir, "mtq-");
    ASSERT_FALSE(fs_exists(gone));
    ASSERT_TRUE(fs_exists(alive));        /* its owner (we) still runs */
    ASSERT_TRUE(fs_exists(other));        /* another prefix */
    ASSERT_TRUE(fs_exists(short_suffix)); /* not a mkdtemp name */
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("fs", make_dir, remove_dir);
    CU_ADD_TEST(s, test_fs_writes_then_reads_back_the_same_bytes);
    CU_ADD_TEST(s, test_fs_refuses_a_file_over_the_size_limit_naming_it);
    CU_ADD_TEST(s, test_fs_reading_a_missing_file_names_the_path_and_errno);
    CU_ADD_TEST(s, test_fs_copies_a_tree_and_removes_it_without_following_links);
    CU_ADD_TEST(s, test_fs_walks_and_removes_a_deep_tree_without_recursion);
    CU_ADD_TEST(s, test_fs_copy_keeps_a_sparse_file_sparse_and_never_writes_through_a_link);
    CU_ADD_TEST(s, test_fs_write_all_waits_for_room_and_reports_a_gone_reader);
    CU_ADD_TEST(s, test_fs_join_refuses_a_path_that_does_not_fit);
    CU_ADD_TEST(s, test_fs_sweeps_only_entries_of_dead_owners_with_the_prefix);
    return TEST_RUN;
}
