/*
 * QEMU's confinement (confine.h). The Landlock ABI is spelt out here rather than taken from
 * <linux/landlock.h>: Debian 12's headers stop at ABI 2, the kernels it runs on go further, and
 * every later field is only used when the kernel reports the ABI that has it.
 */
#include "confine.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* The kernel's UAPI values (include/uapi/linux/landlock.h). */
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT 2
#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_REMOVE_FILE (1ull << 5)
#define LL_FS_MAKE_SOCK (1ull << 9)
#define LL_FS_ABI1 ((1ull << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER (1ull << 13)      /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)   /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15)  /* ABI 5 */
#define LL_NET_BIND_TCP (1ull << 0)   /* ABI 4 */
#define LL_NET_CONNECT_TCP (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ull << 1)

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net; /* ABI 4 */
    uint64_t scoped;             /* ABI 6 */
};

struct ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port {
    uint64_t allowed_access;
    uint64_t port;
};

/* What may be granted on a file (not a directory) in a path_beneath rule. */
#define LL_FILE_RIGHTS (LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | \
                        LL_FS_IOCTL_DEV)

int confine_landlock_abi(void)
{
    long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
    return v > 0 ? (int)v : 0;
}

static uint64_t handled_fs(int abi)
{
    uint64_t fs = LL_FS_ABI1;
    if (abi >= 2)
        fs |= LL_FS_REFER;
    if (abi >= 3)
        fs |= LL_FS_TRUNCATE;
    if (abi >= 5)
        fs |= LL_FS_IOCTL_DEV;
    return fs;
}

/* Allows access beneath fd (masked to what the ABI handles and, for a file, to file rights). */
static int add_path_fd(int ruleset, int fd, uint64_t access, int abi)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    access &= handled_fs(abi);
    if (!S_ISDIR(st.st_mode))
        access &= LL_FILE_RIGHTS;
    struct ll_path_beneath rule = {.allowed_access = access, .parent_fd = fd};
    if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &rule, 0) < 0)
        return -errno;
    return 0;
}

/* Adds every path of list; a path that does not exist is skipped. */
static int add_paths(struct confine *c, const char *const *list, uint64_t access,
                     struct err *err)
{
    for (size_t i = 0; list && list[i]; i++) {
        int fd = open(list[i], O_PATH | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
            continue;
        if (fd < 0)
            return err_errno(err, "confining QEMU: opening %s", list[i]);
        int rc = add_path_fd(c->ruleset, fd, access, c->abi);
        close(fd);
        if (rc < 0) {
            errno = -rc;
            return err_errno(err, "confining QEMU: a Landlock rule for %s", list[i]);
        }
    }
    return 0;
}

int confine_prepare(struct confine *c, const struct confine_spec *s, struct err *err)
{
    c->ruleset = -1;
    c->abi = confine_landlock_abi();
    if (c->abi == 0) {
        log_debug("this kernel has no Landlock (or it is disabled): QEMU runs with its seccomp "
                  "sandbox, no new privileges and rlimits, but unrestricted file access");
        return 0;
    }
    struct ll_ruleset_attr attr = {.handled_access_fs = handled_fs(c->abi)};
    size_t size = sizeof attr.handled_access_fs;
    if (c->abi >= 4) {
        attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
        size = 2 * sizeof(uint64_t);
    }
    if (c->abi >= 6) {
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
        size = sizeof attr;
    }
    long fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (fd < 0)
        return err_errno(err, "confining QEMU: creating a Landlock ruleset (ABI %d)", c->abi);
    c->ruleset = (int)fd; /* the kernel makes it close-on-exec */
    const uint64_t read = LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR;
    const uint64_t rw = LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV;
    const char *const sockdir[] = {s->socket_dir, NULL};
    int rc = add_paths(c, s->read_trees, read, err);
    if (rc == 0)
        rc = add_paths(c, s->read_files, LL_FS_READ_FILE, err);
    if (rc == 0)
        rc = add_paths(c, s->rw_files, rw, err);
    if (rc == 0 && s->socket_dir)
        rc = add_paths(c, sockdir, LL_FS_MAKE_SOCK | LL_FS_REMOVE_FILE, err);
    if (rc == 0 && c->abi >= 4 && s->tcp_bind_port > 0) {
        struct ll_net_port port = {.allowed_access = LL_NET_BIND_TCP,
                                   .port = (uint64_t)s->tcp_bind_port};
        if (syscall(SYS_landlock_add_rule, c->ruleset, LL_RULE_NET_PORT, &port, 0) < 0)
            rc = err_errno(err, "confining QEMU: allowing tcp port %d", s->tcp_bind_port);
    }
    if (rc < 0)
        confine_release(c);
    return rc;
}

/* Lowers a limit to at most max (never raises one that is already lower). */
static int lower_limit(int resource, rlim_t max)
{
    struct rlimit l;
    if (getrlimit(resource, &l) < 0)
        return -errno;
    if (l.rlim_max == RLIM_INFINITY || l.rlim_max > max)
        l.rlim_max = max;
    if (l.rlim_cur == RLIM_INFINITY || l.rlim_cur > l.rlim_max)
        l.rlim_cur = l.rlim_max;
    return setrlimit(resource, &l) < 0 ? -errno : 0;
}

int confine_apply(const struct confine *c)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return -errno;
    int rc = lower_limit(RLIMIT_CORE, 0);
    if (rc == 0)
        rc = lower_limit(RLIMIT_FSIZE, CONFINE_FSIZE_MAX);
    if (rc < 0)
        return rc;
    /* best effort: a parent under valgrind may not lower its (virtualised) fd limit, and
     * the bound is a backstop, not a wall (Landlock and seccomp are) */
    (void)lower_limit(RLIMIT_NOFILE, CONFINE_NOFILE);
    if (c->ruleset < 0)
        return 0;
    /* glib and QEMU read a few of their own /proc entries; opened here, "self" is the child */
    int self = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (self >= 0) {
        rc = add_path_fd(c->ruleset, self, LL_FS_READ_FILE | LL_FS_READ_DIR, c->abi);
        close(self);
        if (rc < 0)
            return rc;
    }
    if (syscall(SYS_landlock_restrict_self, c->ruleset, 0) < 0)
        return -errno;
    return 0;
}

void confine_release(struct confine *c)
{
    if (c && c->ruleset >= 0)
        close(c->ruleset);
    if (c)
        c->ruleset = -1;
}
