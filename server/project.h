/*
 * generate_project and build (the server's part of issue 3): turn a Model Library Format
 * archive into a self-contained project directory (CONTRACTS.md "Generated project layout"),
 * and build its firmware with CMake for the board's toolchain.
 * Options are the object opt_normalize made (every declared option present, null if unset).
 */
#ifndef MTQ_PROJECT_H
#define MTQ_PROJECT_H

#include "err.h"
#include "server.h"

#include <cjson/cJSON.h>

/* Creates project_dir (which must not exist) from the template srv lives in, the MLF at
 * mlf_path and the standalone CRT at crt_dir. Failures: ERR_PARAMS for bad arguments or
 * options, ERR_INVALID for a bad MLF, -errno for file errors, each naming the path. */
int proj_generate(struct server *srv, const char *mlf_path, const char *crt_dir,
                  const char *project_dir, const cJSON *options, struct err *err);

/* Builds the firmware of the generated project srv lives in, into <dir>/build. A compiler
 * failure is ERR_TOOL with the command and its last output lines in err->detail. */
int proj_build(struct server *srv, const cJSON *options, struct err *err);

#endif
