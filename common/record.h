/*
 * The project record: project.json, which generate_project writes into every project it makes,
 * and the paths of a generated project that the server and the command line both know. One
 * reader with one set of fallbacks for every program: a value is taken from the record's top
 * level (what the server normalized), else from its "options" (what the call asked for), else
 * it is empty; a program checks what it needs with record_require.
 *
 * Ownership: record_read fills a caller-owned struct whose tree and strings record_close frees;
 * the pointers into the tree (options) live as long as the struct.
 */
#ifndef MTQ_RECORD_H
#define MTQ_RECORD_H

#include "err.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Paths inside a generated project (join them with fs_join). */
#define RECORD_FILE "project.json"
#define RECORD_BUILT_ELF "build/firmware.elf"   /* what build makes */
#define RECORD_FLASHED_ELF "flash/firmware.elf" /* what flash keeps and the board boots */

/* The links a project's firmware can be built for (the link option), NULL-terminated; the
 * first is the default. */
extern const char *const record_links[];

/* The longest project.json read: far above any real one. */
#define RECORD_MAX_BYTES (1u << 20)

struct project_record {
    char path[PATH_MAX];            /* <project_dir>/project.json, for messages */
    char project_type[32];          /* "" when not recorded (all strings alike) */
    char board[64];                 /* MACH_NAME_MAX */
    char libc[16];
    char opt_level[4];
    char cmsis_path[4096];          /* an absolute path (PATH_MAX), "" when none */
    bool warning_as_error;
    uint64_t workspace_bytes;
    char *compile_definitions;      /* heap, ';'-separated, "" when none */
    bool has_crt;                   /* crt/ exists */
    bool has_model;                 /* "model" is an object: model/ exists */
    bool aot_demo;                  /* aot_standalone asked for as aot_standalone_demo */
    char link[8];                   /* "uart" or "fast": the transport the firmware is built
                                     * for; "uart" when the record, made before the option
                                     * existed, has none */
    cJSON *root;                    /* the whole record */
    const cJSON *options;           /* the call's options as recorded: root's "options", or the
                                     * record itself when it has none */
};

/* Reads <project_dir>/project.json into *r. No record: ERR_STATE saying the directory is not a
 * generated project; not a JSON object: ERR_INVALID with the byte offset; a string longer than
 * its field or a link not in record_links: ERR_INVALID naming the key. Either way call record_close after. */
int record_read(struct project_record *r, const char *project_dir, struct err *err);

/* Frees what record_read allocated; accepts a zeroed or closed struct. */
void record_close(struct project_record *r);

/* 0 when every key of the NULL-terminated list ("project_type", "board", "libc", "opt_level")
 * was recorded as a non-empty string; else ERR_INVALID naming the first that was not and the
 * fix (generate the project again). */
int record_require(const struct project_record *r, const char *const keys[], struct err *err);

/* The record's link checked against the link option of a later call (options: the call's,
 * normalized; NULL or an unset link agrees with anything): the firmware speaks one link.
 * ERR_OPTION naming both values and the fix when they differ. */
int record_check_link(const struct project_record *r, const cJSON *options, struct err *err);

/* What generate_project records beside the record's fields: the call's options (copied), the
 * model's facts (taken; NULL records null) and where the CRT came from. */
struct record_extras {
    const cJSON *options;
    cJSON *model;
    const char *crt_source;
};

/* Writes <project_dir>/project.json from r's fields and x (a new record: r->root is not
 * used). Atomic (fs_write_file). */
int record_write(const char *project_dir, const struct project_record *r,
                 const struct record_extras *x, struct err *err);

/* Writes r->root back to r->path (after the caller changed it), atomically. */
int record_save(const struct project_record *r, struct err *err);

#endif
