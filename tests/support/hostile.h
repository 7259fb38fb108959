/*
 * The hostile corpus (tests/fixtures/hostile/README.md, docs/SECURITY.md): archives built at run
 * time, never stored, each the smallest input that reproduced one attack on the server. The
 * builders write into a scratch directory the test owns.
 */
#ifndef MTQ_TEST_HOSTILE_H
#define MTQ_TEST_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>

/* One tar member: AE_IFREG (content, or size bytes of zeros when content is NULL; sparse: only
 * the first 4 KiB is data, the rest a hole), AE_IFDIR, or AE_IFLNK (link). */
struct hostile_member {
    const char *name;
    unsigned type;
    const char *content;
    const char *link;
    long long size;
    bool sparse;
};

/* A minimal, valid version 7 AOT metadata.json with one module and one tensor each way. */
extern const char HOSTILE_META[];

/* Writes a pax tar (gzip-compressed when gz) of the members to path; false on a libarchive
 * failure (printed). */
bool hostile_tar(const char *path, const struct hostile_member *m, size_t n, bool gz);

/* An MLF whose metadata.json and one source are good, plus the extra members. */
bool hostile_mlf(const char *path, const struct hostile_member *extra, size_t n);

/* An MLF with a directory nested depth levels deep ("d/d/d/...", one file at the bottom). */
bool hostile_deep_mlf(const char *path, int depth);

/* An MLF with count empty files (the member-count bomb), gzip-compressed. */
bool hostile_many_mlf(const char *path, int count);

/* Makes depth nested directories under dir ("d/d/..."): a leftover staging tree. */
bool hostile_deep_tree(const char *dir, int depth);

#endif
