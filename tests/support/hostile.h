/*
 * The hostile corpus (tests/fixtures/hostile/README.md, docs/SECURITY.md): archives built at run
 * time, never stored, each the smallest input that reproduced one attack on the server. The
 * builders write into a scratch directory the test owns.
 */
#ifndef MTQ_TEST_HOSTILE_H
#define MTQ_TEST_HOSTILE_H

#include "tarmaker.h"

#include <stdbool.h>
#include <stddef.h>

/* A minimal, valid version 7 AOT metadata.json with one module and one tensor each way. */
extern const char HOSTILE_META[];

/* An MLF whose metadata.json and one source are good, plus the extra members. */
bool hostile_mlf(const char *path, const struct tar_member *extra, size_t n);

/* An MLF with a directory nested depth levels deep ("d/d/d/...", one file at the bottom). */
bool hostile_deep_mlf(const char *path, int depth);

/* An MLF with count empty files (the member-count bomb), gzip-compressed. */
bool hostile_many_mlf(const char *path, int count);

/* Makes depth nested directories under dir ("d/d/..."): a leftover staging tree. */
bool hostile_deep_tree(const char *dir, int depth);

#endif
