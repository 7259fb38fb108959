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

/* Creates project_dir (which must not exist) from the template srv lives in, the MLF at
 * mlf_path and the standalone CRT at crt_dir. Failures: ERR_PARAMS for bad arguments or
 * options, ERR_INVALID for a bad MLF, -errno for file errors, each naming the path. */
int proj_generate(struct server *srv, const char *mlf_path, const char *crt_dir,
                  const char *project_dir, const cJSON *options, struct err *err);

/* Builds the firmware of the generated project srv lives in, into <dir>/build. A compiler
 * failure is ERR_TOOL with the command and its last output lines in err->detail. */
int proj_build(struct server *srv, const cJSON *options, struct err *err);

/* Reads <project_dir>/project.json, the record generate_project leaves (options, board, type,
 * the model's facts), into *root (caller frees with cJSON_Delete). No record: ERR_STATE saying
 * the directory is not a generated project; a record that is not a JSON object: ERR_INVALID
 * with the byte offset. */
int proj_read_record(const char *project_dir, cJSON **root, struct err *err);

/* The link the project's firmware is built for (record: its project.json) into out ("uart" or
 * "fast"), checked against the link option of a later call (options, normalized; NULL or an
 * unset link agrees with anything). ERR_OPTION naming both values and the fix when they
 * differ; ERR_INVALID for a record with another value. */
int proj_link_of(const cJSON *record, const cJSON *options, char *out, size_t outsz,
                 struct err *err);

#endif
