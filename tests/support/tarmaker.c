/* Test support: tar archives (see tarmaker.h). */
#include "tarmaker.h"

#include "asserts.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <string.h>

/* A member's data: its content, or zeros (only the first 4 KiB of a sparse one). */
static bool add_data(struct archive *a, const struct tar_member *m, long long size)
{
    static const char zeros[65536];
    long long left = m->sparse ? 4096 : size;
    bool ok = true;
    while (ok && left > 0) {
        size_t n = left < (long long)sizeof zeros ? (size_t)left : sizeof zeros;
        const char *from = m->content ? m->content + (size - left) : zeros;
        ok = archive_write_data(a, from, n) == (la_ssize_t)n;
        left -= (long long)n;
    }
    return ok;
}

static bool add(struct archive *a, const struct tar_member *m)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, m->name);
    archive_entry_set_filetype(e, m->type);
    archive_entry_set_perm(e, m->type == AE_IFDIR ? 0755 : 0644);
    long long size = m->hardlink ? 0 : m->content ? (long long)strlen(m->content) : m->size;
    if (m->type == AE_IFREG && !m->hardlink)
        archive_entry_set_size(e, size);
    if (m->sparse)
        archive_entry_sparse_add_entry(e, 0, 4096);
    if (m->symlink)
        archive_entry_set_symlink(e, m->symlink);
    if (m->hardlink)
        archive_entry_set_hardlink(e, m->hardlink);
    bool ok = archive_write_header(a, e) == ARCHIVE_OK;
    if (ok && m->type == AE_IFREG && size > 0)
        ok = add_data(a, m, size);
    if (!ok)
        fprintf(stderr, "\n    tar: %s: %s\n", m->name, archive_error_string(a));
    archive_entry_free(e);
    return ok;
}

bool tar_write_archive(const char *path, const struct tar_member *m, size_t n, bool gz)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gz)
        archive_write_add_filter_gzip(a);
    bool ok = archive_write_open_filename(a, path) == ARCHIVE_OK;
    if (!ok)
        fprintf(stderr, "\n    tar: %s: %s\n", path, archive_error_string(a));
    for (size_t i = 0; ok && i < n; i++)
        ok = add(a, &m[i]);
    ok = archive_write_close(a) == ARCHIVE_OK && ok;
    archive_write_free(a);
    return ok;
}

void tar_write(const char *path, const struct tar_member *m, size_t n)
{
    ASSERT_TRUE_FATAL(tar_write_archive(path, m, n, false));
}
