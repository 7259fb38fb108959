/*
 * The project options the server declares (docs/PROTOCOL.md "Options" lists them) and their
 * normalization. TVM's Python API sends native JSON values and fills every declared option it
 * was not given with its default; tvmc sends every value as a string. Both normalize to one
 * shape: an object with every declared option present, null where unset, values of the declared
 * type (compile_definitions: an array of strings).
 *
 * Ownership: an opt_table is made by opt_table_new and freed by opt_table_free. cJSON values
 * returned are the caller's (cJSON_Delete); inputs are only read.
 */
#ifndef MTQ_OPTIONS_H
#define MTQ_OPTIONS_H

#include "err.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* The methods that take options, as bits for an option's required/optional sets. */
enum opt_method {
    OPT_GENERATE = 1 << 0, /* generate_project */
    OPT_BUILD = 1 << 1,
    OPT_FLASH = 1 << 2,
    OPT_OPEN = 1 << 3, /* open_transport */
};

/* The longest value a str option may have, and the most compile definitions. */
#define OPT_STR_MAX 4096
#define OPT_DEFS_MAX 64

struct opt_table;

/* Builds the table; board choices are the *.json names in machines_dir (a missing or empty
 * directory leaves board without choices, and any board value is then refused with a message
 * saying so). Returns NULL with *err only when out of memory. */
struct opt_table *opt_table_new(const char *machines_dir, struct err *err);

/* Frees the table; accepts NULL. */
void opt_table_free(struct opt_table *t);

/* The board names found (sorted); *n gets their count. Owned by the table. */
char *const *opt_table_boards(const struct opt_table *t, size_t *n);

/* The project_options array of server_info_query: one object per option with all seven keys
 * (name, choices, default, type, required, optional, help). NULL when out of memory. */
cJSON *opt_describe(const struct opt_table *t);

/* Normalizes in (an object, or NULL/null for none) into *out: every declared option present,
 * null where unset or given as null or "". Bools accept true/false, 0/1 and the strings
 * true/false/1/0/yes/no (any case); ints accept integral numbers and decimal strings; str
 * options want strings; compile_definitions also takes a list, a string is split on whitespace,
 * a leading -D is dropped, and each must be NAME or NAME=VALUE. Fails with ERR_PARAMS and a
 * message naming the option, the value and what would be accepted (an undeclared name, a wrong
 * type, an unparsable or out-of-range number, a value outside the choices). */
int opt_normalize(const struct opt_table *t, const cJSON *in, cJSON **out, struct err *err);

/* Checks that normalized has every option the method requires (OPT_GENERATE: project_type and
 * board); ERR_PARAMS listing the option's choices otherwise. */
int opt_require(const struct opt_table *t, const cJSON *normalized, enum opt_method method,
                struct err *err);

/* The normalized options as C values, defaults applied; "unset" marks are noted per field. */
struct options {
    bool verbose;                         /* default false */
    char project_type[32];                /* "" when unset */
    char board[64];                       /* "" when unset */
    char cmsis_path[OPT_STR_MAX];         /* "" when unset */
    bool warning_as_error;                /* default false */
    char compile_definitions[OPT_STR_MAX]; /* ;-separated NAME[=VALUE] list, "" when none */
    size_t n_compile_definitions;
    char extra_files_tar[OPT_STR_MAX];    /* "" when unset */
    long long workspace_size_bytes;       /* -1 when unset (the board's default applies) */
    char libc[16];                        /* default "picolibc" */
    char opt_level[2];                    /* default "2" */
    bool deterministic;                   /* default true */
    int gdbserver_port;                   /* -1 when unset (no gdbserver) */
    int session_start_timeout_sec;        /* -1 when unset */
    int session_established_timeout_sec;  /* -1 when unset */
    int build_timeout_s;                  /* -1 when unset (the build's default applies) */
    char link[8];                         /* "uart" (default) or "fast" */
};

/* Checks a value that will reach a build file (project.cmake, build.ninja) or a command line:
 * fails with code (ERR_OPTION for an option, ERR_PARAMS for a method's parameter) and a message
 * starting "<what>: " (e.g. "option cmsis_path") when it holds a control character, a quote, a
 * backslash, '$', '`' or ';' (what CMake and Ninja would take as syntax). opt_normalize applies
 * it to every free-text option and to compile definitions' values. */
int opt_check_build_text(int code, const char *what, const char *value, struct err *err);

/* Fills *o from an object opt_normalize produced (NULL: all defaults). Never fails on such an
 * object: normalization already bounded every length and range. */
void opt_get(const cJSON *normalized, struct options *o);

#endif
