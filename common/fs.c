/* File-system helpers: see fs.h. Plain POSIX. No tree walk recurses: trees come from archives
 * a user hands us, and a recursion as deep as an input's nesting would let a 50 kB tar of
 * nested directories overflow the stack (docs/SECURITY.md). Walks keep an explicit stack. */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
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

int fs_write_all(int fd, const void *data, size_t len, struct err *err)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) { /* a non-blocking fd: wait for room */
                struct pollfd pf = {.fd = fd, .events = POLLOUT};
                if (poll(&pf, 1, -1) < 0 && errno != EINTR)
                    return err_errno(err, "waiting to write");
                continue;
            }
            if (errno == EPIPE)
                return err_set(err, ERR_CLOSED, "write: the reading end is closed");
            return err_errno(err, "write");
        }
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
    /* NOFOLLOW: a link planted under the temporary's name must not redirect the write */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return err_errno(err, "%s", tmp);
    int rc = fs_write_all(fd, data, len, err);
    if (rc == 0 && fsync(fd) < 0)
        rc = err_errno(err, "fsync");
    if (rc < 0) {
        err_prefix(err, "%s", tmp);
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        rc = err_errno(err, "%s", path);
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

/* Drops the last component of path (which has more than base_len characters). */
static void strip_last(char *path, size_t base_len)
{
    char *slash = strrchr(path + base_len, '/');
    if (slash)
        *slash = '\0';
}

int fs_remove_tree(const char *path, struct err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : err_errno(err, "%s", path);
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 && errno != ENOENT ? err_errno(err, "%s", path) : 0;
    /* Iterative: go down into the first subdirectory found, deleting files on the way; an
     * empty directory is removed and the walk climbs back to its parent. */
    char cur[PATH_MAX];
    size_t base_len = strlen(path);
    if (base_len >= sizeof cur)
        return err_set(err, ERR_INVALID, "%s: path too long", path);
    memcpy(cur, path, base_len + 1);
    for (;;) {
        int fd = open(cur, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
            int rc = err_errno(err, "%s", cur);
            if (fd >= 0)
                close(fd);
            return rc;
        }
        bool descended = false;
        int rc = 0;
        struct dirent *ent;
        while (rc == 0 && !descended && (ent = readdir(d))) {
            if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
                continue;
            struct stat cst;
            if (fstatat(fd, ent->d_name, &cst, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT)
                    rc = err_errno(err, "%s/%s", cur, ent->d_name);
            } else if (S_ISDIR(cst.st_mode)) {
                size_t n = strlen(cur);
                if (n + 1 + strlen(ent->d_name) >= sizeof cur)
                    rc = err_set(err, ERR_INVALID, "%s/%s: path too long", cur, ent->d_name);
                else
                    snprintf(cur + n, sizeof cur - n, "/%s", ent->d_name);
                descended = rc == 0;
            } else if (unlinkat(fd, ent->d_name, 0) < 0 && errno != ENOENT) {
                rc = err_errno(err, "%s/%s", cur, ent->d_name);
            }
        }
        closedir(d);
        if (rc < 0)
            return rc;
        if (descended)
            continue;
        if (rmdir(cur) < 0 && errno != ENOENT)
            return err_errno(err, "%s", cur);
        if (strlen(cur) == base_len)
            return 0;
        strip_last(cur, base_len);
    }
}

/* Copies the bytes of in's data regions to the same offsets of out and sets out's size, so a
 * sparse file stays sparse (a 200 MB hole must not become 200 MB on disk). */
static int copy_data_regions(int in, int out, off_t size, const char *from, const char *to,
                             struct err *err)
{
    char buf[65536];
    off_t pos = 0;
    while (pos < size) {
        off_t data = lseek(in, pos, SEEK_DATA);
        if (data < 0 && errno == ENXIO)
            break; /* only a hole is left */
        if (data < 0)
            data = pos; /* no SEEK_DATA here: copy densely */
        off_t hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0)
            hole = size;
        if (lseek(in, data, SEEK_SET) < 0 || lseek(out, data, SEEK_SET) < 0)
            return err_errno(err, "%s", from);
        for (off_t left = hole - data; left > 0;) {
            ssize_t n = read(in, buf, left < (off_t)sizeof buf ? (size_t)left : sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return err_errno(err, "%s", from);
            if (n == 0)
                return err_set(err, ERR_INVALID, "%s: changed while being copied", from);
            int rc = fs_write_all(out, buf, (size_t)n, err);
            if (rc < 0)
                return err_prefix(err, "%s", to);
            left -= n;
        }
        pos = hole;
    }
    return ftruncate(out, size) < 0 ? err_errno(err, "%s", to) : 0;
}

int fs_copy_file(const char *from, const char *to, struct err *err)
{
    int in = -1, out = -1, rc = 0;
    struct stat st;
    if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0 || fstat(in, &st) < 0) {
        rc = err_errno(err, "%s", from);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = err_set(err, ERR_INVALID, "%s: not a regular file", from);
        goto out;
    }
    /* NOFOLLOW: never write through a link that sits where the copy goes */
    if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                    st.st_mode & 07777)) < 0) {
        rc = err_errno(err, "%s", to);
        goto out;
    }
    if ((rc = copy_data_regions(in, out, st.st_size, from, to, err)) < 0)
        goto out;
    if (fchmod(out, st.st_mode & 07777) < 0)
        rc = err_errno(err, "%s", to);
out:
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0 && rc == 0)
        rc = err_errno(err, "%s", to);
    return rc;
}

/* One entry fs_walk has yet to visit: its path relative to the root. */
struct pending {
    char **rel;
    size_t n, cap;
};

static int push(struct pending *p, const char *rel, struct err *err)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        char **bigger = realloc(p->rel, cap * sizeof *bigger);
        if (!bigger)
            return err_set(err, -ENOMEM, "out of memory walking a tree");
        p->rel = bigger;
        p->cap = cap;
    }
    if (!(p->rel[p->n] = strdup(rel)))
        return err_set(err, -ENOMEM, "out of memory walking a tree");
    p->n++;
    return 0;
}

/* Pushes the entries of root/rel in reverse name order, so they pop in name order. */
static int push_children(struct pending *p, const char *root, const char *rel, struct err *err)
{
    char dir[PATH_MAX];
    int rc = rel[0] ? fs_join(dir, sizeof dir, root, rel, err)
                    : (snprintf(dir, sizeof dir, "%s", root), 0);
    if (rc < 0)
        return rc;
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return err_errno(err, "%s", dir);
    for (int i = n - 1; i >= 0; i--) {
        const char *name = ents[i]->d_name;
        if (rc == 0 && strcmp(name, ".") && strcmp(name, "..")) {
            char child[PATH_MAX];
            rc = rel[0] ? fs_join(child, sizeof child, rel, name, err)
                        : (snprintf(child, sizeof child, "%s", name), 0);
            if (rc == 0)
                rc = push(p, child, err);
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

static int depth_of(const char *rel)
{
    int depth = 1;
    for (; *rel; rel++)
        depth += *rel == '/';
    return depth;
}

int fs_walk(const char *root, int max_depth, fs_visit_fn visit, void *ctx, struct err *err)
{
    struct pending p = {0};
    int rc = push_children(&p, root, "", err);
    while (rc == 0 && p.n > 0) {
        char *rel = p.rel[--p.n];
        char path[PATH_MAX];
        struct stat st;
        rc = fs_join(path, sizeof path, root, rel, err);
        if (rc == 0 && lstat(path, &st) < 0)
            rc = err_errno(err, "%s", path);
        struct fs_entry e = {path, rel, &st, depth_of(rel)};
        if (rc == 0 && e.depth > max_depth)
            rc = err_set(err, ERR_INVALID, "%.200s: nested deeper than %d directories (at "
                         "%.160s)", root, max_depth, rel);
        int v = rc == 0 ? visit(&e, ctx, err) : 0;
        if (v < 0)
            rc = v;
        else if (rc == 0 && v == 0 && S_ISDIR(st.st_mode))
            rc = push_children(&p, root, rel, err);
        free(rel);
    }
    while (p.n > 0)
        free(p.rel[--p.n]);
    free(p.rel);
    return rc;
}

static int copy_one(const struct fs_entry *e, void *ctx, struct err *err)
{
    char to[PATH_MAX];
    int rc = fs_join(to, sizeof to, ctx, e->rel, err);
    if (rc < 0)
        return rc;
    if (S_ISLNK(e->st->st_mode))
        return err_set(err, ERR_INVALID, "%s: is a symbolic link; refusing to copy it", e->path);
    if (S_ISREG(e->st->st_mode))
        return fs_copy_file(e->path, to, err);
    if (!S_ISDIR(e->st->st_mode))
        return err_set(err, ERR_INVALID, "%s: not a regular file or directory", e->path);
    if (mkdir(to, 0755) < 0 && errno != EEXIST)
        return err_errno(err, "%s", to);
    return 0;
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
    return fs_walk(from, FS_MAX_DEPTH, copy_one, (void *)to, err);
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
