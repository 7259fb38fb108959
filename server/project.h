/*
 * generate_project and build, the server's half of a project's life before the board: turn a
 * Model Library Format archive into a self-contained project directory (docs/PROTOCOL.md "The
 * generated project"), and build its firmware with CMake for the board's toolchain.
 * Options are the object opt_normalize made (every declared option present, null if unset).
 */
#ifndef MTQ_PROJECT_H
#define MTQ_PROJECT_H

#include "err.h"
#include "server.h"

#include <cjson/cJSON.h>

/* generate_project (generate.c): creates project_dir (which must not exist) from the template
 * in template_dir (the launcher, the server, machines/ and firmware/; the server's own
 * directory), the MLF at mlf_path ("" or NULL for an echo project) and the standalone CRT at
 * crt_dir ("" or NULL). options is the normalized options object (missing keys and nulls take
 * their defaults). Failures: ERR_PARAMS for bad arguments, ERR_OPTION for bad options,
 * ERR_INVALID for a bad MLF, -errno for file errors, each naming the path. On failure the
 * partly created project directory is removed. */
int proj_generate(const char *template_dir, const char *mlf_path, const char *crt_dir,
                  const char *project_dir, const cJSON *options, struct err *err);

/* build (build.c): applies the options given to build (build_options.c), then builds the
 * firmware of the generated project srv lives in, into <dir>/build, each step limited by the
 * build_timeout_s option. ERR_STATE in the template. A compiler failure is ERR_TOOL with the
 * command and its last output lines in err->detail. */
int proj_build(struct server *srv, const cJSON *options, struct err *err);

#endif
