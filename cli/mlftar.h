/*
 * Writes a Model Library Format tar from an MLF directory tree, laid out as TVM's exporter
 * (Python's tarfile) writes one: members "./", "./metadata.json", "./codegen/...", each
 * directory before its contents, names sorted, owner root. `demo` uses it to hand the bundled
 * sample model (kept as a tree) to generate_project exactly as TVM users hand theirs.
 */
#ifndef MTQ_CLI_MLFTAR_H
#define MTQ_CLI_MLFTAR_H

#include "err.h"

/* Tars dir's tree into out_tar (created or overwritten). Regular files and directories only:
 * anything else (a symlink, a device) fails with ERR_INVALID naming it. dir must have a
 * metadata.json (else ERR_INVALID: not an MLF). */
int cli_mlf_tar(const char *dir, const char *out_tar, struct err *err);

#endif
