/*
 * MLF tars for tests (mlf.h), with libarchive. TVM's exporter adds its temporary directory as
 * "." with Python's tarfile, so every member name starts with "./" and the root itself is a
 * member; we write the same shape so the server's extraction is tested on what TVM sends.
 */
#include "mlf.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_file(struct archive *ar, const char *path, const char *name, const struct stat *st,
                    struct err *err)
{
    int rc = 0, fd = -1;
    struct archive_entry *e = archive_entry_new();
    if (e == NULL)
        return err_set(err, -ENOMEM, "%s: out of memory", path);
    archive_entry_copy_stat(e, st);
    archive_entry_set_pathname(e, name);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    if (archive_write_header(ar, e) != ARCHIVE_OK) {
        rc = err_set(err, ERR_INVALID, "%s: %s", path, archive_error_string(ar));
        goto out;
    }
    if (S_ISREG(st->st_mode)) {
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            rc = err_errno(err, "%s", path);
            goto out;
        }
        char buf[8192];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
            if (archive_write_data(ar, buf, (size_t)n) != n) {
                rc = err_set(err, ERR_INVALID, "%s: %s", path, archive_error_string(ar));
                goto out;
            }
        }
        if (n < 0)
            rc = err_errno(err, "%s", path);
    }
out:
    if (fd >= 0)
        close(fd);
    archive_entry_free(e);
    return rc;
}

/* Adds path as member name, then (for a directory) its entries in name order. */
static int add_tree(struct archive *ar, const char *path, const char *name, struct err *err)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return err_errno(err, "%s", path);
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return err_set(err, ERR_INVALID, "%s: not a regular file or directory; an MLF fixture "
                       "holds only those", path);
    int rc = add_file(ar, path, name, &st, err);
    if (rc < 0 || !S_ISDIR(st.st_mode))
        return rc;

    char **names = NULL;
    size_t count = 0, cap = 0;
    DIR *d = opendir(path);
    if (d == NULL)
        return err_errno(err, "%s", path);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(names, cap * sizeof(*names));
            if (grown == NULL) {
                rc = err_set(err, -ENOMEM, "%s: out of memory", path);
                goto out;
            }
            names = grown;
        }
        if ((names[count] = strdup(de->d_name)) == NULL) {
            rc = err_set(err, -ENOMEM, "%s: out of memory", path);
            goto out;
        }
        count++;
    }
    qsort(names, count, sizeof(*names), cmp_names);
    for (size_t i = 0; i < count && rc == 0; i++) {
        char *child_path = NULL, *child_name = NULL;
        if (asprintf(&child_path, "%s/%s", path, names[i]) < 0 ||
            asprintf(&child_name, "%s/%s", name, names[i]) < 0) {
            free(child_path);
            rc = err_set(err, -ENOMEM, "%s: out of memory", path);
            break;
        }
        rc = add_tree(ar, child_path, child_name, err);
        free(child_path);
        free(child_name);
    }
out:
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int mlf_make_tar(const char *fixture_dir, const char *out_tar, struct err *err)
{
    int rc = 0;
    struct archive *ar = archive_write_new();
    if (ar == NULL)
        return err_set(err, -ENOMEM, "%s: out of memory", out_tar);
    if (archive_write_set_format_pax_restricted(ar) != ARCHIVE_OK ||
        archive_write_open_filename(ar, out_tar) != ARCHIVE_OK) {
        rc = err_set(err, ERR_INVALID, "%s: %s", out_tar, archive_error_string(ar));
        goto out;
    }
    if ((rc = add_tree(ar, fixture_dir, ".", err)) < 0)
        goto out;
    if (archive_write_close(ar) != ARCHIVE_OK)
        rc = err_set(err, ERR_INVALID, "%s: %s", out_tar, archive_error_string(ar));
out:
    archive_write_free(ar);
    if (rc < 0)
        unlink(out_tar);
    return rc;
}

int mlf_fixture_path(const char *name, char *out, size_t outsz, struct err *err)
{
    int n = snprintf(out, outsz, "%s/tests/fixtures/mlf/%s", MTQ_SOURCE_DIR, name);
    if (n < 0 || (size_t)n >= outsz)
        return err_set(err, ERR_INVALID, "fixture %s: path does not fit in %zu bytes", name,
                       outsz);
    struct stat st;
    if (stat(out, &st) != 0)
        return err_errno(err, "fixture %s: %s", name, out);
    return 0;
}
