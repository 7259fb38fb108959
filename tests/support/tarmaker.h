/*
 * Test support: tar archives written at run time (the repository keeps no binary tars), for
 * the tests of how the server unpacks models and extra files (test_extract, e2e_bad_input)
 * and for the hostile corpus (hostile.h). One writer for all of them.
 */
#ifndef MTQ_TEST_TARMAKER_H
#define MTQ_TEST_TARMAKER_H

#include <stdbool.h>
#include <stddef.h>

/* One member: a regular file (AE_IFREG: content; or, content NULL, size bytes of zeros, of
 * which with sparse only the first 4 KiB are data and the rest a hole; or a hard link to the
 * member hardlink names), a directory (AE_IFDIR), a symbolic link (AE_IFLNK to symlink) or a
 * device (AE_IFCHR). Files are mode 0644, directories 0755. */
struct tar_member {
    const char *name;
    unsigned type;
    const char *content;
    const char *symlink;
    const char *hardlink;
    long long size;
    bool sparse;
};

/* Writes a pax tar (gzip-compressed when gz) of the n members to path; false on a libarchive
 * failure, which it prints. */
bool tar_write_archive(const char *path, const struct tar_member *m, size_t n, bool gz);

/* tar_write_archive, uncompressed, as an assertion: a failure ends the test. */
void tar_write(const char *path, const struct tar_member *m, size_t n);

#endif
