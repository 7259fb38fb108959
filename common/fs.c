/* File-system helpers: see fs.h. Plain POSIX, no recursion limits beyond the path length. */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_read_file(const char *path, size_t max_bytes, char **out, size_t *len, struct err *err)
{
    int rc = 0;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, "%s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = err_errno(err, "%s", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = err_set(err, ERR_INVALID, "%s: not a regular file", path);
        goto out;
    }
    if (max_bytes && (size_t)st.st_size > max_bytes) {
        rc = err_set(err, ERR_INVALID, "%s: %lld bytes, more than the %zu allowed", path,
                     (long long)st.st_size, max_bytes);
        goto out;
    }
    size_t cap = (size_t)st.st_size + 1, used = 0;
    if (!(buf = malloc(cap))) {
        rc = err_set(err, -ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        if (used + 1 == cap) { /* the file grew while we read it */
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                rc = err_set(err, -ENOMEM, "%s: out of memory", path);
                goto out;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_errno(err, "%s", path);
            goto out;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buf[used] = '\0';
    *out = buf;
    buf = NULL;
    if (len)
        *len = used;
out:
    free(buf);
    close(fd);
    return rc;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int fs_write_file(const char *path, const void *data, size_t len, struct err *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return err_set(err, ERR_INVALID, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_errno(err, "%s", tmp);
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        int rc = err_errno(err, "%s", tmp);
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int rc = err_errno(err, "%s", path);
        unlink(tmp);
        return rc;
    }
    return 0;
}

int fs_mkdir_p(const char *path, struct err *err)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return err_set(err, ERR_INVALID, "'%s': not a usable directory path", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return err_errno(err, "%s", buf);
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        return err_errno(err, "%s", buf);
    if (!fs_is_dir(buf))
        return err_set(err, ERR_INVALID, "%s: exists and is not a directory", buf);
    return 0;
}

int fs_remove_tree(const char *path, struct err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : err_errno(err, "%s", path);
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 && errno != ENOENT ? err_errno(err, "%s", path) : 0;
    DIR *d = opendir(path);
    if (!d)
        return err_errno(err, "%s", path);
    int rc = 0;
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d))) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
            continue;
        char child[PATH_MAX];
        rc = fs_join(child, sizeof child, path, ent->d_name, err);
        if (rc == 0)
            rc = fs_remove_tree(child, err);
    }
    closedir(d);
    if (rc == 0 && rmdir(path) < 0 && errno != ENOENT)
        rc = err_errno(err, "%s", path);
    return rc;
}

int fs_copy_file(const char *from, const char *to, struct err *err)
{
    int in = -1, out = -1, rc = 0;
    struct stat st;
    if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0 || fstat(in, &st) < 0) {
        rc = err_errno(err, "%s", from);
        goto out;
    }
    if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777)) < 0) {
        rc = err_errno(err, "%s", to);
        goto out;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_errno(err, "%s", from);
            goto out;
        }
        if (n == 0)
            break;
        if (write_all(out, buf, (size_t)n) < 0) {
            rc = err_errno(err, "%s", to);
            goto out;
        }
    }
    if (fchmod(out, st.st_mode & 07777) < 0)
        rc = err_errno(err, "%s", to);
out:
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0 && rc == 0)
        rc = err_errno(err, "%s", to);
    return rc;
}

int fs_copy_tree(const char *from, const char *to, struct err *err)
{
    struct stat st;
    if (lstat(from, &st) < 0)
        return err_errno(err, "%s", from);
    if (S_ISLNK(st.st_mode))
        return err_set(err, ERR_INVALID, "%s: is a symbolic link; refusing to copy it", from);
    if (S_ISREG(st.st_mode))
        return fs_copy_file(from, to, err);
    if (!S_ISDIR(st.st_mode))
        return err_set(err, ERR_INVALID, "%s: not a regular file or directory", from);
    int rc = fs_mkdir_p(to, err);
    if (rc < 0)
        return rc;
    DIR *d = opendir(from);
    if (!d)
        return err_errno(err, "%s", from);
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d))) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
            continue;
        char a[PATH_MAX], b[PATH_MAX];
        rc = fs_join(a, sizeof a, from, ent->d_name, err);
        if (rc == 0)
            rc = fs_join(b, sizeof b, to, ent->d_name, err);
        if (rc == 0)
            rc = fs_copy_tree(a, b, err);
    }
    closedir(d);
    return rc;
}

void fs_sweep_dead_owners(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t plen = strlen(prefix);
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (strncmp(ent->d_name, prefix, plen) != 0)
            continue;
        char *end = NULL;
        errno = 0;
        long pid = strtol(ent->d_name + plen, &end, 10);
        if (errno || pid <= 0 || end == ent->d_name + plen || *end != '-' || strlen(end) != 7)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive, or not ours to judge */
        char path[PATH_MAX];
        if (fs_join(path, sizeof path, dir, ent->d_name, NULL) == 0)
            fs_remove_tree(path, NULL);
    }
    closedir(d);
}

bool fs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

bool fs_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int fs_join(char *out, size_t outsz, const char *a, const char *b, struct err *err)
{
    size_t la = strlen(a);
    const char *sep = (la && a[la - 1] == '/') ? "" : "/";
    if ((size_t)snprintf(out, outsz, "%s%s%s", a, sep, b) >= outsz)
        return err_set(err, ERR_INVALID, "%s/%s: path too long", a, b);
    return 0;
}
