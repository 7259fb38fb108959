/*
 * Safe tar extraction for model.tar and extra_files_tar. The archives come from users and
 * from TVM (whose tarfile writes "./" before every member), and land inside a project that a
 * person or CI later builds, so nothing may escape the destination: each member's path and
 * link target is checked here first, with a message naming the rule, and libarchive's
 * ARCHIVE_EXTRACT_SECURE_* flags are a second line of defence. Work happens in a temporary
 * directory that is renamed into place only when everything succeeded.
 * Links: a symbolic link must name a regular file inside, through real directories only (no
 * chains, no links to directories), and the rule is checked again where the files finally sit,
 * after the rename or the merge, so no re-rooting can turn a dangling link into an escape.
 * Caps (docs/SECURITY.md): expanded bytes, members, depth and per-member size (sparse members
 * count by their apparent size), each raised by an environment variable of the operator's.
 */
#include "project_internal.h"

#include "fs.h"
#include "log.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The caps, their defaults and the variables that raise them. Generous: a real MLF for a
 * 4 MiB-flash board is tens of MB and a few hundred files, TVM's CRT is 8 directories deep. */
struct cap {
    const char *env;
    unsigned long long def, max;
};
static const struct cap CAP_BYTES = {"MTQ_EXTRACT_MAX_BYTES", 256ull << 20, 1ull << 40};
static const struct cap CAP_MEMBER_BYTES = {"MTQ_EXTRACT_MAX_MEMBER_BYTES", 64ull << 20,
                                            1ull << 40};
static const struct cap CAP_MEMBERS = {"MTQ_EXTRACT_MAX_MEMBERS", 20000, 10000000};
static const struct cap CAP_DEPTH = {"MTQ_EXTRACT_MAX_DEPTH", 32, FS_MAX_DEPTH};

/* The cap's value: its variable when that is a positive decimal within the cap's max, else
 * the default (a bad value is logged, never fatal: the default is the safe side). */
static unsigned long long cap_value(const struct cap *c)
{
    const char *v = getenv(c->env);
    if (!v || !*v)
        return c->def;
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x == 0 || x > c->max || v[0] == '-') {
        log_warn("%s=%s: not a number from 1 to %llu; using %llu", c->env, v, c->max, c->def);
        return c->def;
    }
    return x;
}

/* The limits one extraction runs under, read once. */
struct caps {
    unsigned long long bytes, member_bytes, members, depth;
};

static void caps_read(struct caps *c)
{
    c->bytes = cap_value(&CAP_BYTES);
    c->member_bytes = cap_value(&CAP_MEMBER_BYTES);
    c->members = cap_value(&CAP_MEMBERS);
    c->depth = cap_value(&CAP_DEPTH);
}

/* The archive's basename, for messages: "model.tar: ../evil: ..." */
static const char *label_of(const char *archive)
{
    const char *slash = strrchr(archive, '/');
    return slash ? slash + 1 : archive;
}

/* Drops leading "./" (and extra slashes after it) and trailing slashes into out; returns out.
 * The result is "" for the archive's root directory. */
static char *normalize(const char *path, char *out, size_t outsz)
{
    while (path[0] == '.' && path[1] == '/') {
        path += 2;
        while (*path == '/')
            path++;
    }
    if (!strcmp(path, "."))
        path = "";
    snprintf(out, outsz, "%s", path);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    return out;
}

/* Lexical depth below the destination after walking path's components from depth start;
 * returns -1 as soon as a '..' climbs above the destination. */
static int walk_depth(int start, const char *path)
{
    int depth = start;
    const char *p = path;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (--depth < 0)
                return -1;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        p += n;
        while (*p == '/')
            p++;
    }
    return depth;
}

static bool has_dotdot(const char *path)
{
    const char *p = path;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p += n;
        while (*p == '/')
            p++;
    }
    return false;
}

/* Checks a member's own path (raw is as stored, rel normalized). */
static int check_path(const char *label, const char *raw, const char *rel, struct err *err)
{
    if (raw[0] == '/')
        return err_set(err, ERR_INVALID,
                       "%s: %s: member has an absolute path; rebuild the archive with relative "
                       "paths",
                       label, raw);
    if (has_dotdot(rel))
        return err_set(err, ERR_INVALID,
                       "%s: %s: member escapes the project directory; rebuild the archive "
                       "without '..'",
                       label, raw);
    return 0;
}

/* A symbolic link's target is resolved from the directory that holds the link. */
static int check_symlink(const char *label, const char *raw, const char *rel,
                         const char *target, struct err *err)
{
    int dir_depth = walk_depth(0, rel) - 1; /* components of rel's directory */
    if (target[0] == '/' || walk_depth(dir_depth < 0 ? 0 : dir_depth, target) < 0)
        return err_set(err, ERR_INVALID,
                       "%s: %s: symbolic link to '%s' points outside the project directory; "
                       "put the file itself in the archive",
                       label, raw, target);
    return 0;
}

static int check_hardlink(const char *label, const char *raw, const char *target,
                          struct err *err)
{
    char rel[PATH_MAX];
    normalize(target, rel, sizeof rel);
    if (target[0] == '/' || has_dotdot(rel) || !rel[0])
        return err_set(err, ERR_INVALID,
                       "%s: %s: hard link to '%s' points outside the project directory; "
                       "put the file itself in the archive",
                       label, raw, target);
    return 0;
}

static int check_type(const char *label, const char *raw, mode_t type, struct err *err)
{
    const char *what = NULL;
    switch (type) {
    case AE_IFREG:
    case AE_IFDIR:
    case AE_IFLNK:
        return 0;
    case AE_IFCHR:
    case AE_IFBLK:
        what = "a device file";
        break;
    case AE_IFIFO:
        what = "a FIFO";
        break;
    case AE_IFSOCK:
        what = "a socket";
        break;
    default:
        what = "of an unknown kind";
        break;
    }
    return err_set(err, ERR_INVALID,
                   "%s: %s: member is %s; archives for a project may hold only files, "
                   "directories and links inside it",
                   label, raw, what);
}

/* Holds a member to the caps: its depth, its apparent size (a sparse member counts in full:
 * whoever copies it later may not keep the holes) and the running total. */
static int check_size(const char *label, const char *raw, const char *rel,
                      struct archive_entry *e, const struct caps *caps,
                      unsigned long long *total, struct err *err)
{
    int depth = rel[0] ? walk_depth(0, rel) : 0; /* -1 ('..' out) is check_path's to refuse */
    if (depth > 0 && (unsigned long long)depth > caps->depth)
        return err_set(err, ERR_INVALID, "%s: member nested deeper than %llu directories, the "
                       "cap (raise %s if this archive is genuine): %.100s", label, caps->depth,
                       CAP_DEPTH.env, raw);
    la_int64_t size = archive_entry_size(e);
    if (size < 0)
        size = 0;
    if ((unsigned long long)size > caps->member_bytes)
        return err_set(err, ERR_INVALID, "%s: %s: %lld bytes, more than the %llu a member may "
                       "have (raise %s if this archive is genuine)", label, raw,
                       (long long)size, caps->member_bytes, CAP_MEMBER_BYTES.env);
    *total += (unsigned long long)size;
    if (*total > caps->bytes)
        return err_set(err, ERR_INVALID, "%s: expands to more than %llu bytes, the cap, at %s "
                       "(raise %s if this archive is genuine)", label, caps->bytes, raw,
                       CAP_BYTES.env);
    return 0;
}

/* Copies one member's data; a short read means the archive was cut off. */
static int copy_data(struct archive *in, struct archive *out, const char *label,
                     const char *raw, la_int64_t declared, struct err *err)
{
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r = archive_read_data_block(in, &buf, &size, &offset);
        if (r == ARCHIVE_EOF)
            return 0;
        if (r < ARCHIVE_WARN)
            return err_set(err, ERR_INVALID,
                           "%s: %s: truncated or corrupt archive (%s); create the archive again",
                           label, raw, archive_error_string(in));
        /* the header's size was checked against the caps: no data may land beyond it */
        if (offset < 0 || (la_int64_t)size > declared || offset > declared - (la_int64_t)size)
            return err_set(err, ERR_INVALID, "%s: %s: data beyond the member's declared size; "
                           "create the archive again", label, raw);
        if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN)
            return err_set(err, ERR_INVALID, "%s: %s: cannot write: %s", label, raw,
                           archive_error_string(out));
    }
}

/* Reads only the headers and holds them to the caps, so that a bomb is refused before a single
 * byte of it reaches the disk. Read errors are left to the extraction pass, which reports
 * them in full (and checks the caps again: the file could change between the passes). */
static int prescan(const char *archive, const char *label, const struct caps *caps,
                   struct err *err)
{
    struct archive *in = archive_read_new();
    if (!in)
        return err_set(err, -ENOMEM, "%s: out of memory", label);
    archive_read_support_format_tar(in);
    archive_read_support_filter_all(in);
    int rc = 0;
    unsigned long long members = 0, total = 0;
    struct archive_entry *e;
    if (archive_read_open_filename(in, archive, 65536) == ARCHIVE_OK) {
        while (rc == 0 && archive_read_next_header(in, &e) >= ARCHIVE_WARN) {
            char rel[PATH_MAX];
            const char *name = archive_entry_pathname(e);
            if (++members > caps->members)
                rc = err_set(err, ERR_INVALID, "%s: more than %llu members, the cap; a real "
                             "model has a few hundred (raise %s if this archive is genuine)",
                             label, caps->members, CAP_MEMBERS.env);
            else if (name)
                rc = check_size(label, name, normalize(name, rel, sizeof rel), e, caps, &total,
                                err);
        }
    }
    archive_read_free(in);
    return rc;
}

/* Extracts every member of archive under dir (an existing, empty directory). */
static int extract_members(const char *archive, const char *dir, struct err *err)
{
    const char *label = label_of(archive);
    int rc = 0;
    struct archive *in = archive_read_new();
    struct archive *out = archive_write_disk_new();
    if (!in || !out) {
        rc = err_set(err, -ENOMEM, "%s: out of memory", label);
        goto out;
    }
    archive_read_support_format_tar(in);
    archive_read_support_filter_all(in);
    /* the second line of defence, should a check above ever miss a case. Not
     * SECURE_NOABSOLUTEPATHS: members are written to absolute paths under dir (the server
     * cannot chdir, its cwd is shared), and dir itself is a realpath, free of '..' and links. */
    archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                            ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    struct stat st;
    if (stat(archive, &st) < 0) {
        rc = err_errno(err, "%s", archive);
        goto out;
    }
    if (archive_read_open_filename(in, archive, 65536) != ARCHIVE_OK) {
        rc = err_set(err, ERR_INVALID, "%s: not a readable tar archive (%s)", label,
                     archive_error_string(in));
        goto out;
    }
    size_t members = 0;
    unsigned long long total = 0;
    struct caps caps;
    caps_read(&caps);
    if ((rc = prescan(archive, label, &caps, err)) < 0)
        goto out;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            if (members == 0)
                rc = err_set(err, ERR_INVALID, "%s: not a readable tar archive (%s)", label,
                             archive_error_string(in));
            else
                rc = err_set(err, ERR_INVALID,
                             "%s: truncated or corrupt archive (%s); create the archive again",
                             label, archive_error_string(in));
            goto out;
        }
        if (++members > caps.members) {
            rc = err_set(err, ERR_INVALID, "%s: more than %llu members, the cap; a real model "
                         "has a few hundred (raise %s if this archive is genuine)", label,
                         caps.members, CAP_MEMBERS.env);
            goto out;
        }
        /* copied: the entry's own string changes when its pathname is rewritten below */
        const char *name = archive_entry_pathname(e);
        if (!name) {
            rc = err_set(err, ERR_INVALID, "%s: member %zu has no usable name", label, members);
            goto out;
        }
        char raw[PATH_MAX], rel[PATH_MAX];
        if ((size_t)snprintf(raw, sizeof raw, "%s", name) >= sizeof raw) {
            rc = err_set(err, ERR_INVALID, "%s: member %zu: name too long", label, members);
            goto out;
        }
        normalize(raw, rel, sizeof rel);
        if ((rc = check_path(label, raw, rel, err)) < 0 ||
            (rc = check_size(label, raw, rel, e, &caps, &total, err)) < 0)
            goto out;
        const char *hard = archive_entry_hardlink(e);
        char hard_copy[PATH_MAX];
        if (hard) { /* a hard link's type is whatever its target is: no type check */
            snprintf(hard_copy, sizeof hard_copy, "%s", hard);
            hard = hard_copy;
            if ((rc = check_hardlink(label, raw, hard, err)) < 0)
                goto out;
        } else if ((rc = check_type(label, raw, archive_entry_filetype(e), err)) < 0) {
            goto out;
        }
        if (archive_entry_filetype(e) == AE_IFLNK &&
            (rc = check_symlink(label, raw, rel, archive_entry_symlink(e) ?
                                archive_entry_symlink(e) : "", err)) < 0)
            goto out;
        if (!rel[0])
            continue; /* the archive's own root, "./" */

        char full[PATH_MAX];
        if ((rc = fs_join(full, sizeof full, dir, rel, err)) < 0)
            goto out;
        archive_entry_copy_pathname(e, full);
        if (hard) {
            char hrel[PATH_MAX], hfull[PATH_MAX];
            normalize(hard, hrel, sizeof hrel);
            if ((rc = fs_join(hfull, sizeof hfull, dir, hrel, err)) < 0)
                goto out;
            archive_entry_copy_hardlink(e, hfull);
        }
        /* readable and writable by us whatever the archive says: a 0500 directory would stop
         * its own members, and nobody needs set-id bits in a firmware project */
        mode_t perm = archive_entry_perm(e);
        if (archive_entry_filetype(e) == AE_IFDIR)
            archive_entry_set_perm(e, 0755);
        else
            archive_entry_set_perm(e, (perm & 0111) ? 0755 : 0644);
        if (archive_write_header(out, e) < ARCHIVE_WARN) {
            rc = err_set(err, ERR_INVALID, "%s: %s: cannot extract: %s", label, raw,
                         archive_error_string(out));
            goto out;
        }
        if (archive_entry_size(e) > 0 &&
            (rc = copy_data(in, out, label, raw, archive_entry_size(e), err)) < 0)
            goto out;
        if (archive_write_finish_entry(out) < ARCHIVE_WARN) {
            rc = err_set(err, ERR_INVALID, "%s: %s: cannot extract: %s", label, raw,
                         archive_error_string(out));
            goto out;
        }
    }
    if (members == 0) {
        rc = err_set(err, ERR_INVALID, "%s: empty archive", label);
        goto out;
    }
out:
    if (out) {
        if (archive_write_close(out) < ARCHIVE_WARN && rc == 0)
            rc = err_set(err, ERR_INVALID, "%s: cannot finish extraction: %s", label,
                         archive_error_string(out));
        archive_write_free(out);
    }
    if (in)
        archive_read_free(in);
    return rc;
}

/* Resolves target from the directory of the link at rel, lexically, into out (relative to the
 * root, normalized); -1 when it climbs above the root or does not fit. */
static int resolve_lexically(const char *rel, const char *target, char *out, size_t outsz)
{
    char buf[2 * PATH_MAX];
    const char *slash = strrchr(rel, '/');
    int n = slash ? snprintf(buf, sizeof buf, "%.*s/%s", (int)(slash - rel), rel, target)
                  : snprintf(buf, sizeof buf, "%s", target);
    if (n < 0 || (size_t)n >= sizeof buf || target[0] == '/')
        return -1;
    size_t used = 0;
    out[0] = '\0';
    for (char *save = NULL, *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!strcmp(c, "."))
            continue;
        if (!strcmp(c, "..")) {
            if (used == 0)
                return -1;
            char *last = strrchr(out, '/');
            used = last ? (size_t)(last - out) : 0;
            out[used] = '\0';
            continue;
        }
        int w = snprintf(out + used, outsz - used, "%s%s", used ? "/" : "", c);
        if (w < 0 || (size_t)w >= outsz - used)
            return -1;
        used += (size_t)w;
    }
    return 0;
}

struct link_check {
    const char *label;
    const char *root;
};

/* A link is plainly inside when its target, resolved from where it sits, is a regular file
 * inside the root reached through real directories only: no escape, no dangling link (which
 * could come alive once moved), no link to a directory, no chain through another link. */
static int check_one_link(const struct fs_entry *e, void *ctx, struct err *err)
{
    const struct link_check *c = ctx;
    if (!S_ISLNK(e->st->st_mode))
        return 0;
    char target[PATH_MAX], rel[PATH_MAX], path[PATH_MAX];
    ssize_t n = readlink(e->path, target, sizeof target - 1);
    if (n < 0)
        return err_errno(err, "%s", e->path);
    target[n] = '\0';
    if (resolve_lexically(e->rel, target, rel, sizeof rel) == 0 && !rel[0])
        return err_set(err, ERR_INVALID, "%s: %s: symbolic link to '%s' names a directory; "
                       "links may name files only", c->label, e->rel, target);
    if (resolve_lexically(e->rel, target, rel, sizeof rel) < 0)
        return err_set(err, ERR_INVALID, "%s: %s: symbolic link to '%s' resolves outside the "
                       "project directory; put the file itself in the archive", c->label,
                       e->rel, target);
    /* every component but the last must be a real directory, the last a real file */
    size_t len = strlen(rel);
    for (size_t i = 0; i <= len; i++) {
        if (rel[i] != '/' && rel[i] != '\0')
            continue;
        struct stat st;
        int rc = snprintf(path, sizeof path, "%s/%.*s", c->root, (int)i, rel);
        if (rc < 0 || (size_t)rc >= sizeof path)
            return err_set(err, ERR_INVALID, "%s: %s: path too long", c->label, e->rel);
        bool last = rel[i] == '\0';
        if (lstat(path, &st) < 0)
            return err_set(err, ERR_INVALID, "%s: %s: symbolic link to '%s' leads to nothing "
                           "there; a link must name a file in the archive", c->label, e->rel,
                           target);
        if (S_ISLNK(st.st_mode))
            return err_set(err, ERR_INVALID, "%s: %s: symbolic link to '%s' goes through "
                           "another link (%.*s); links may not chain: put the file itself in "
                           "the archive", c->label, e->rel, target, (int)i, rel);
        if (!last && !S_ISDIR(st.st_mode))
            return err_set(err, ERR_INVALID, "%s: %s: symbolic link to '%s' leads to nothing "
                           "there; a link must name a file in the archive", c->label, e->rel,
                           target);
        if (last && !S_ISREG(st.st_mode))
            return err_set(err, ERR_INVALID, "%s: %s: symbolic link to '%s' is not a regular "
                           "file; links may name files only", c->label, e->rel, target);
    }
    return 0;
}

int proj__check_links(const char *label, const char *root, struct err *err)
{
    char real[PATH_MAX];
    if (!realpath(root, real))
        return err_errno(err, "%s", root);
    struct link_check c = {label, real};
    return fs_walk(real, FS_MAX_DEPTH, check_one_link, &c, err);
}

/* Makes "<parent of dest>/.<name of dest>.XXXXXX" and extracts into it. */
static int extract_to_temp(const char *archive, const char *dest, char *tmp, size_t tmpsz,
                           struct err *err)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", dest);
    char *base = basename(copy);
    char copy2[PATH_MAX];
    snprintf(copy2, sizeof copy2, "%s", dest);
    char *parent = dirname(copy2);
    if ((size_t)snprintf(tmp, tmpsz, "%s/.%s.XXXXXX", parent, base) >= tmpsz)
        return err_set(err, ERR_INVALID, "%s: path too long", dest);
    if (!mkdtemp(tmp)) {
        int rc = err_errno(err, "%s", tmp);
        tmp[0] = '\0';
        return rc;
    }
    char real[PATH_MAX];
    int rc = realpath(tmp, real) ? 0 : err_errno(err, "%s", tmp);
    if (rc == 0)
        rc = extract_members(archive, real, err);
    if (rc == 0)
        rc = proj__check_links(label_of(archive), real, err);
    return rc;
}

int proj__extract(const char *archive, const char *dest, struct err *err)
{
    if (fs_exists(dest))
        return err_set(err, ERR_INVALID, "%s: already exists; extract into a new directory",
                       dest);
    char tmp[PATH_MAX] = "";
    int rc = extract_to_temp(archive, dest, tmp, sizeof tmp, err);
    if (rc == 0 && rename(tmp, dest) < 0)
        rc = err_errno(err, "%s", dest);
    if (rc < 0 && tmp[0])
        fs_remove_tree(tmp, NULL);
    /* again where the files now sit (the rule judges from the final place) */
    if (rc == 0 && (rc = proj__check_links(label_of(archive), dest, err)) < 0)
        fs_remove_tree(dest, NULL);
    return rc;
}
