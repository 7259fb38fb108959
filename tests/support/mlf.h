/*
 * Model Library Format helpers for tests and the demo: build an MLF tar from a fixture
 * directory at run time (the repository keeps fixtures as trees, never as tars).
 */
#ifndef MTQ_TEST_MLF_H
#define MTQ_TEST_MLF_H

#include "err.h"

/* Writes an uncompressed tar of fixture_dir's tree to out_tar, the way TVM's exporter writes
 * one (Python's tarfile, pax format): members named "./", "./metadata.json",
 * "./codegen/host/src/default_lib0.c", ..., directories before their contents, names sorted,
 * owner root (uid and gid 0). Regular files and directories only: anything else is refused with
 * ERR_INVALID. out_tar is overwritten. Returns 0 or a negative code with *err filled. */
int mlf_make_tar(const char *fixture_dir, const char *out_tar, struct err *err);

/* The absolute path of a fixture under tests/fixtures/mlf/ (name "digits_int8", ...) in out
 * (size outsz); ERR_INVALID when it does not fit or does not exist. */
int mlf_fixture_path(const char *name, char *out, size_t outsz, struct err *err);

/* The path of an archive TVM 0.18 itself made, ../shared/fixtures/tvm-0.18/<name> beside the
 * source tree (CI has it; a clone may not): 0 with the path in out, or ERR_STATE when it is
 * absent, with err saying so (callers print it as their skip). */
int mlf_shared_fixture(const char *name, char *out, size_t outsz, struct err *err);

#endif
