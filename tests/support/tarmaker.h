/*
 * Test support: small tar archives written at run time (the repository keeps no binary tars),
 * for the tests of how the server unpacks models and extra files (test_extract,
 * e2e_bad_input). Every libarchive step is an assertion of the test that writes the tar.
 */
#ifndef MTQ_TEST_TARMAKER_H
#define MTQ_TEST_TARMAKER_H

#include <stddef.h>

/* One member: a regular file (AE_IFREG: content, or a hard link to the member hardlink
 * names), a directory (AE_IFDIR), a symbolic link (AE_IFLNK to symlink) or a device
 * (AE_IFCHR). Files are mode 0644, directories 0755. */
struct tar_member {
    const char *name;
    unsigned type;
    const char *content;
    const char *symlink;
    const char *hardlink;
};

/* Writes an uncompressed pax tar of the n members to path; failing to open path ends the
 * test (a FATAL assertion), any later step fails it. */
void tar_write(const char *path, const struct tar_member *m, size_t n);

#endif
