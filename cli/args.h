/*
 * Command-line parsing for the subcommands: a small table-driven parser (no getopt, so it
 * keeps no global state and can run many times in one test process) plus the -o name=value
 * project options. Every failure is ERR_INVALID with a message naming the bad argument; the
 * caller turns it into exit status 2.
 */
#ifndef MTQ_CLI_ARGS_H
#define MTQ_CLI_ARGS_H

#include "err.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define CLI_MAX_OPTS 16    /* options per command, -h and -v not counted */
#define CLI_MAX_POS 8      /* positional arguments per command (report takes several runs) */
#define CLI_MAX_REPEAT 64  /* values of one repeatable option (-o) */

/* One option of a command. -h/--help and -v/--verbose are built in and need no entry. */
struct cli_opt {
    const char *name;    /* long name without "--" */
    char short_name;     /* 0 when it has none */
    const char *metavar; /* NULL: a flag; else the value's name in --help ("DIR") */
    bool repeat;         /* may be given more than once; values collect in order */
    const char *help;
};

/* What cli_args_parse found. Pointers point into argv. */
struct cli_args {
    bool help;                                /* -h/--help: the rest was not parsed */
    bool verbose;                             /* -v/--verbose */
    const char *value[CLI_MAX_OPTS];          /* last value; "" for a flag; NULL: absent */
    const char *many[CLI_MAX_OPTS][CLI_MAX_REPEAT]; /* every value of a repeatable option */
    size_t n_many[CLI_MAX_OPTS];
    const char *pos[CLI_MAX_POS];
    size_t n_pos;
};

/* Parses argv[0..argc) (the command's own arguments, without its name) against opts.
 * Accepts --name VALUE, --name=VALUE, -x VALUE, -xVALUE, and "--" to end options; a lone "-"
 * is positional. Fails on an unknown option, a missing or unexpected value, a flag or
 * non-repeatable option given twice with different values, more positionals than max_pos or
 * fewer than min_pos (not checked when help was asked for). cmd names the command and
 * pos_names its positional arguments ("PROJECT_DIR") in messages. */
int cli_args_parse(const char *cmd, const struct cli_opt *opts, size_t n_opts, size_t min_pos,
                   size_t max_pos, const char *pos_names, int argc, char **argv,
                   struct cli_args *out, struct err *err);

/* Index of the option named name in opts, or -1. */
int cli_args_index(const struct cli_opt *opts, size_t n_opts, const char *name);

/* Splits "name=value": name must be 1..63 characters of [A-Za-z0-9_]; value may be empty.
 * Writes the name to name (size namesz) and points *value into text. */
int cli_option_split(const char *text, char *name, size_t namesz, const char **value,
                     struct err *err);

/* Builds the options object for a Project API call from -o texts: {"name": "value", ...},
 * values as strings, as tvmc sends them (the server parses and validates them). When info (a
 * ServerInfo) is given, every name must be one of its project_options (as TVM's client
 * checks), and the message lists them. A name given twice is an error. Returns a new object
 * (caller frees) or NULL with *err set. */
cJSON *cli_options_json(const char *const *texts, size_t n, const cJSON *info, struct err *err);

#endif
