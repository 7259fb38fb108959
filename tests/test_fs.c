/* Tests for common/fs.c: reading, writing, copying and removing trees, and sweeping what
 * killed processes left behind. */
#include "fs.h"

#include <CUnit/Basic.h>
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
    CU_ASSERT_EQUAL(fs_write_file(p, data, sizeof data, &err), 0);
    char *text = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(fs_read_file(p, 0, &text, &len, &err), 0);
    CU_ASSERT_EQUAL(len, sizeof data);
    CU_ASSERT(text && memcmp(text, data, sizeof data) == 0 && text[len] == '\0');
    free(text);
}

static void test_fs_refuses_a_file_over_the_size_limit_naming_it(void)
{
    char p[256];
    path(p, sizeof p, "big.txt");
    struct err err = {0};
    CU_ASSERT_EQUAL(fs_write_file(p, "0123456789", 10, &err), 0);
    char *text = NULL;
    CU_ASSERT_EQUAL(fs_read_file(p, 4, &text, NULL, &err), ERR_INVALID);
    CU_ASSERT_PTR_NULL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "big.txt: 10 bytes, more than the 4 allowed"));
}

static void test_fs_reading_a_missing_file_names_the_path_and_errno(void)
{
    struct err err = {0};
    char *text = NULL;
    CU_ASSERT_EQUAL(fs_read_file("/nonexistent/mtq", 0, &text, NULL, &err), -ENOENT);
    CU_ASSERT_STRING_EQUAL(err.msg, "/nonexistent/mtq: No such file or directory");
}

static void test_fs_copies_a_tree_and_removes_it_without_following_links(void)
{
    char src[256], dst[256], outside[256], sub[384], file[512], link[512];
    struct err err = {0};
    path(src, sizeof src, "src");
    path(dst, sizeof dst, "dst");
    path(outside, sizeof outside, "outside.txt");
    snprintf(sub, sizeof sub, "%s/a/b", src);
    CU_ASSERT_EQUAL(fs_mkdir_p(sub, &err), 0);
    snprintf(file, sizeof file, "%s/f.txt", sub);
    CU_ASSERT_EQUAL(fs_write_file(file, "x", 1, &err), 0);
    CU_ASSERT_EQUAL(fs_copy_tree(src, dst, &err), 0);
    snprintf(file, sizeof file, "%s/a/b/f.txt", dst);
    CU_ASSERT_TRUE(fs_exists(file));

    /* a link inside the tree: removing the tree must not touch what it points to */
    CU_ASSERT_EQUAL(fs_write_file(outside, "keep", 4, &err), 0);
    snprintf(link, sizeof link, "%s/link", dst);
    CU_ASSERT_EQUAL(symlink(outside, link), 0);
    CU_ASSERT_EQUAL(fs_remove_tree(dst, &err), 0);
    CU_ASSERT_FALSE(fs_exists(dst));
    CU_ASSERT_TRUE(fs_exists(outside));

    /* and copying refuses links rather than following them */
    snprintf(link, sizeof link, "%s/link", src);
    CU_ASSERT_EQUAL(symlink(outside, link), 0);
    CU_ASSERT_EQUAL(fs_copy_tree(src, dst, &err), ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is a symbolic link"));
}

/* issue 10, item 6: walks keep their own stack, so depth cannot overflow ours */
static void test_fs_walks_and_removes_a_deep_tree_without_recursion(void)
{
    char root[256], deep[PATH_MAX], copy[300];
    struct err err = {0};
    path(root, sizeof root, "deep");
    snprintf(deep, sizeof deep, "%s", root);
    CU_ASSERT_EQUAL_FATAL(fs_mkdir_p(root, &err), 0);
    for (int i = 0; i < FS_MAX_DEPTH + 10; i++) {
        strcat(deep, "/d");
        CU_ASSERT_EQUAL_FATAL(mkdir(deep, 0755), 0);
    }
    path(copy, sizeof copy, "deep_copy");
    CU_ASSERT_EQUAL(fs_copy_tree(root, copy, &err), ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nested deeper than 256 directories"));
    CU_ASSERT_EQUAL(fs_remove_tree(copy, &err), 0);
    CU_ASSERT_EQUAL(fs_remove_tree(root, &err), 0);
    CU_ASSERT_FALSE(fs_exists(root));
}

static void test_fs_copy_keeps_a_sparse_file_sparse_and_never_writes_through_a_link(void)
{
    char from[256], to[256], target[256];
    struct err err = {0};
    path(from, sizeof from, "sparse.bin");
    path(to, sizeof to, "sparse_copy.bin");
    int fd = open(from, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pwrite(fd, "end", 3, (16 << 20) - 3), 3); /* 16 MiB, one block of data */
    close(fd);
    CU_ASSERT_EQUAL(fs_copy_file(from, to, &err), 0);
    struct stat st;
    CU_ASSERT_EQUAL_FATAL(stat(to, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, 16 << 20);
    CU_ASSERT(st.st_blocks * 512 < (1 << 20)); /* not 16 MiB on disk */
    char *text = NULL;
    CU_ASSERT_EQUAL_FATAL(fs_read_file(to, 0, &text, NULL, &err), 0);
    CU_ASSERT_EQUAL(memcmp(text + (16 << 20) - 3, "end", 3), 0);
    free(text);
    unlink(to);
    path(target, sizeof target, "link_target.txt");
    CU_ASSERT_EQUAL(fs_write_file(target, "keep", 4, &err), 0);
    CU_ASSERT_EQUAL_FATAL(symlink(target, to), 0);
    CU_ASSERT_EQUAL(fs_copy_file(from, to, &err), -ELOOP);
    CU_ASSERT_EQUAL_FATAL(fs_read_file(target, 0, &text, NULL, &err), 0);
    CU_ASSERT_STRING_EQUAL(text, "keep");
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
    CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
    CU_ASSERT_FATAL(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
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
    CU_ASSERT_FATAL(big != NULL);
    CU_ASSERT_EQUAL(fs_write_all(p[1], big, BIG, &err), 0);
    close(p[1]);
    int status = -1;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(big);

    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
    close(p[0]);
    CU_ASSERT_EQUAL(fs_write_all(p[1], "x", 1, &err), ERR_CLOSED);
    CU_ASSERT_STRING_EQUAL(err.msg, "write: the reading end is closed");
    close(p[1]);
    signal(SIGPIPE, old);
}

static void test_fs_join_refuses_a_path_that_does_not_fit(void)
{
    char out[8];
    struct err err = {0};
    CU_ASSERT_EQUAL(fs_join(out, sizeof out, "abc/", "de", &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "abc/de");
    CU_ASSERT_EQUAL(fs_join(out, sizeof out, "abcd", "efgh", &err), ERR_INVALID);
}

static void test_fs_sweeps_only_entries_of_dead_owners_with_the_prefix(void)
{
    pid_t dead = fork();
    CU_ASSERT_FATAL(dead >= 0);
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char gone[512], alive[512], other[512], short_suffix[512], inner[600];
    snprintf(gone, sizeof gone, "%s/mtq-%ld-Ab12Cd", dir, (long)dead);
    snprintf(alive, sizeof alive, "%s/mtq-%ld-Ab12Cd", dir, (long)getpid());
    snprintf(other, sizeof other, "%s/other-%ld-Ab12Cd", dir, (long)dead);
    snprintf(short_suffix, sizeof short_suffix, "%s/mtq-%ld-Ab", dir, (long)dead);
    struct err err = {0};
    CU_ASSERT_EQUAL(fs_mkdir_p(gone, &err), 0);
    snprintf(inner, sizeof inner, "%s/qmp.sock", gone);
    CU_ASSERT_EQUAL(fs_write_file(inner, "", 0, &err), 0);
    CU_ASSERT_EQUAL(fs_mkdir_p(alive, &err), 0);
    CU_ASSERT_EQUAL(fs_mkdir_p(other, &err), 0);
    CU_ASSERT_EQUAL(fs_mkdir_p(short_suffix, &err), 0);

    fs_sweep_dead_owners(dir, "mtq-");
    CU_ASSERT_FALSE(fs_exists(gone));
    CU_ASSERT_TRUE(fs_exists(alive));        /* its owner (we) still runs */
    CU_ASSERT_TRUE(fs_exists(other));        /* another prefix */
    CU_ASSERT_TRUE(fs_exists(short_suffix)); /* not a mkdtemp name */
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
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
    if (CU_get_error() != CUE_SUCCESS)
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return bad != 0;
}
