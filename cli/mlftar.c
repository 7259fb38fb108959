/*
 * cli_mlf_tar (see mlftar.h) with libarchive: a pax tar like the one Python's tarfile writes
 * for tvm.micro.export_model_library_format, so the server's extraction sees what it sees
 * from TVM.
 */
#include "mlftar.h"

#include "fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Adds one member: its header, then a regular file's bytes. */
static int add_member(struct archive *ar, const char *path, const char *name,
                      const struct stat *st, struct err *err)
{
    int rc = 0, fd = -1;
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return err_set(err, -ENOMEM, "out of memory");
    archive_entry_copy_stat(e, st);
    archive_entry_set_pathname(e, name);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    if (S_ISREG(st->st_mode) && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = err_errno(err, "%s", path);
        goto out;
    }
    if (archive_write_header(ar, e) != ARCHIVE_OK) {
        rc = err_set(err, ERR_INVALID, "%s: %s", path, archive_error_string(ar));
        goto out;
    }
    char buf[65536];
    for (ssize_t n; fd >= 0 && (n = read(fd, buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = err_errno(err, "%s", path);
            goto out;
        }
        if (archive_write_data(ar, buf, (size_t)n) != n) {
            rc = err_set(err, ERR_INVALID, "%s: %s", path, archive_error_string(ar));
            goto out;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    archive_entry_free(e);
    return rc;
}

/* Adds path (member name) and, for a directory, its entries in sorted order. */
static int add_tree(struct archive *ar, const char *path, const char *name, struct err *err)
{
    struct stat st;
    struct dirent **entries = NULL;
    int n = 0, rc = 0;
    if (lstat(path, &st) < 0)
        return err_errno(err, "%s", path);
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return err_set(err, ERR_INVALID, "%s: not a regular file or directory; an MLF tree "
                       "holds only those", path);
    if ((rc = add_member(ar, path, name, &st, err)) < 0 || !S_ISDIR(st.st_mode))
        return rc;
    if ((n = scandir(path, &entries, NULL, alphasort)) < 0)
        return err_errno(err, "%s", path);
    for (int i = 0; i < n && rc == 0; i++) {
        const char *d = entries[i]->d_name;
        if (!strcmp(d, ".") || !strcmp(d, ".."))
            continue;
        char child[PATH_MAX], child_name[PATH_MAX];
        if (snprintf(child, sizeof child, "%s/%s", path, d) >= (int)sizeof child ||
            snprintf(child_name, sizeof child_name, "%s%s%s", name,
                     name[strlen(name) - 1] == '/' ? "" : "/", d) >= (int)sizeof child_name)
            rc = err_set(err, ERR_INVALID, "%s/%s: path too long", path, d);
        else
            rc = add_tree(ar, child, child_name, err);
    }
    for (int i = 0; i < n; i++)
        free(entries[i]);
    free(entries);
    return rc;
}

int cli_mlf_tar(const char *dir, const char *out_tar, struct err *err)
{
    char meta[PATH_MAX];
    int rc = fs_join(meta, sizeof meta, dir, "metadata.json", err);
    if (rc < 0)
        return rc;
    if (!fs_exists(meta))
        return err_set(err, ERR_INVALID, "%s: no metadata.json, so not a Model Library Format "
                       "tree", dir);
    struct archive *ar = archive_write_new();
    if (!ar)
        return err_set(err, -ENOMEM, "out of memory");
    if (archive_write_set_format_pax_restricted(ar) != ARCHIVE_OK ||
        archive_write_open_filename(ar, out_tar) != ARCHIVE_OK) {
        rc = err_set(err, ERR_INVALID, "%s: %s", out_tar, archive_error_string(ar));
        goto out;
    }
    rc = add_tree(ar, dir, "./", err);
    if (archive_write_close(ar) != ARCHIVE_OK && rc == 0)
        rc = err_set(err, ERR_INVALID, "%s: %s", out_tar, archive_error_string(ar));
out:
    archive_write_free(ar);
    if (rc < 0)
        unlink(out_tar);
    return rc;
}
