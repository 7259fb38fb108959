/*
 * Tests for emulator/confine.c, in forked children (confinement cannot be undone): after
 * confine_apply a process has no new privileges, no core dumps, bounded files; and where the
 * kernel has Landlock it reads only its read trees and files, writes only its read-write
 * files, makes sockets only in its socket directory, makes no other file or directory, opens
 * no TCP connection and (ABI 6) signals nothing outside. Each child reports the first check
 * that failed by its exit code. Without Landlock the Landlock checks say "skipped" plainly.
 */
#include "confine.h"

#include "asserts.h"
#include "fs.h"
#include "runner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/mtq-test-confine-XXXXXX";
static char canary[64], image[64], rw[64], sockdir[64];

/* Runs fn in a child confined by spec; returns its exit code (0: every check passed). */
static int in_confined_child(const struct confine_spec *spec, int (*fn)(int abi))
{
    struct confine c;
    struct err err;
    err_clear(&err);
    if (confine_prepare(&c, spec, &err) < 0) {
        fprintf(stderr, "\n    %s\n", err.msg);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int rc = confine_apply(&c);
        _exit(rc < 0 ? 100 : fn(c.abi));
    }
    confine_release(&c);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool denied(int fd)
{
    if (fd >= 0) {
        close(fd);
        return false;
    }
    return errno == EACCES || errno == EPERM;
}

static int check_privileges(int abi)
{
    (void)abi;
    struct rlimit l;
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
        return 1;
    if (getrlimit(RLIMIT_CORE, &l) < 0 || l.rlim_cur != 0 || l.rlim_max != 0)
        return 2;
    if (getrlimit(RLIMIT_FSIZE, &l) < 0 || l.rlim_max > (rlim_t)CONFINE_FSIZE_MAX)
        return 3;
    if (getrlimit(RLIMIT_NOFILE, &l) < 0 || l.rlim_max > CONFINE_NOFILE)
        return 4;
    return 0;
}

static int check_files(int abi)
{
    if (abi == 0)
        return 0;
    int fd = open(image, O_RDONLY | O_CLOEXEC); /* a read file: read only */
    if (fd < 0)
        return 10;
    close(fd);
    if (!denied(open(image, O_WRONLY | O_CLOEXEC)))
        return 11;
    if (!denied(open(canary, O_RDONLY | O_CLOEXEC))) /* outside every rule */
        return 12;
    if (!denied(open(canary, O_WRONLY | O_TRUNC | O_CLOEXEC)))
        return 13;
    if ((fd = open(rw, O_RDWR | O_CLOEXEC)) < 0) /* a read-write file */
        return 14;
    if (write(fd, "x", 1) != 1)
        return 15;
    close(fd);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/new", dir);
    if (!denied(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)))
        return 16;
    if (mkdir(path, 0700) == 0 || (errno != EACCES && errno != EPERM))
        return 17;
    if (unlink(canary) == 0 || (errno != EACCES && errno != EPERM))
        return 18;
    snprintf(path, sizeof path, "%s/new", sockdir); /* files are not sockets */
    if (!denied(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)))
        return 19;
    if ((fd = open("/usr/bin/env", O_RDONLY | O_CLOEXEC)) < 0) /* a read tree */
        return 20;
    close(fd);
    return 0;
}

static int check_sockets(int abi)
{
    if (abi == 0)
        return 0;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(a.sun_path, sizeof a.sun_path, "%s/ok.sock", sockdir);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0)
        return 30;
    close(fd);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(a.sun_path, sizeof a.sun_path, "%s/no.sock", dir);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 || (errno != EACCES && errno != EPERM))
        return 31;
    close(fd);
    if (abi >= 4) {
        struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(9)};
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&in, sizeof in) == 0 || errno != EACCES)
            return 32;
        close(fd);
        in.sin_port = htons(0);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (bind(fd, (struct sockaddr *)&in, sizeof in) == 0 || errno != EACCES)
            return 33;
        close(fd);
    }
    if (abi >= 6 && (kill(getppid(), 0) == 0 || errno != EPERM))
        return 34;
    return 0;
}

static const char *const trees[] = {"/usr", "/lib", "/lib64", NULL};

static void run(int (*fn)(int abi), const char *what)
{
    const char *const reads[] = {image, NULL};
    const char *const rws[] = {rw, NULL};
    struct confine_spec spec = {.read_trees = trees, .read_files = reads, .rw_files = rws,
                                .socket_dir = sockdir};
    int rc = in_confined_child(&spec, fn);
    if (rc != 0)
        fprintf(stderr, "\n    %s: check %d failed\n", what, rc);
    ASSERT_EQ(rc, 0);
}

static void test_a_confined_child_has_no_new_privileges_and_bounded_limits(void)
{
    run(check_privileges, "privileges");
}

static void test_a_confined_child_touches_only_its_files(void)
{
    if (confine_landlock_abi() == 0)
        printf("skipped: this kernel has no Landlock ");
    run(check_files, "files");
    /* the canary outside is untouched */
    char *text = NULL;
    ASSERT_EQ(fs_read_file(canary, 0, &text, NULL, NULL), 0);
    ASSERT_STR_EQ(text ? text : "", "canary\n");
    free(text);
}

static void test_a_confined_child_makes_sockets_only_where_allowed_and_no_tcp(void)
{
    if (confine_landlock_abi() == 0)
        printf("skipped: this kernel has no Landlock ");
    else
        printf("Landlock ABI %d ", confine_landlock_abi());
    run(check_sockets, "sockets");
}

static int suite_init(void)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(canary, sizeof canary, "%s/canary", dir);
    snprintf(image, sizeof image, "%s/image.elf", dir);
    snprintf(rw, sizeof rw, "%s/rw", dir);
    snprintf(sockdir, sizeof sockdir, "%s/run", dir);
    if (fs_write_file(canary, "canary\n", 7, NULL) < 0 || fs_write_file(image, "ELF", 3, NULL) < 0 ||
        fs_write_file(rw, "", 0, NULL) < 0 || fs_mkdir_p(sockdir, NULL) < 0)
        return -1;
    return 0;
}

static int suite_clean(void)
{
    return fs_remove_tree(dir, NULL);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("confine", suite_init, suite_clean);
    CU_ADD_TEST(s, test_a_confined_child_has_no_new_privileges_and_bounded_limits);
    CU_ADD_TEST(s, test_a_confined_child_touches_only_its_files);
    CU_ADD_TEST(s, test_a_confined_child_makes_sockets_only_where_allowed_and_no_tcp);
    return TEST_RUN;
}
