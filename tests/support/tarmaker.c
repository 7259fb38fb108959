/* Test support: tar archives of a few members (see tarmaker.h). */
#include "tarmaker.h"

#include "asserts.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

void tar_write(const char *path, const struct tar_member *m, size_t n)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    ASSERT_EQ_FATAL(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_filetype(e, m[i].type);
        archive_entry_set_perm(e, m[i].type == AE_IFDIR ? 0755 : 0644);
        size_t len = m[i].content ? strlen(m[i].content) : 0;
        if (m[i].type == AE_IFREG && !m[i].hardlink)
            archive_entry_set_size(e, (la_int64_t)len);
        if (m[i].symlink)
            archive_entry_set_symlink(e, m[i].symlink);
        if (m[i].hardlink)
            archive_entry_set_hardlink(e, m[i].hardlink);
        ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
        if (len && !m[i].hardlink)
            ASSERT_EQ(archive_write_data(a, m[i].content, len), (la_ssize_t)len);
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}
