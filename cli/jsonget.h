/*
 * Reading fields of the JSON the command line handles (ServerInfo, project.json, run --json
 * objects): one lookup rule for every file, case-sensitive as STYLE.md asks, and a missing
 * or mistyped field reads as absent rather than failing, so callers choose their fallback.
 */
#ifndef MTQ_CLI_JSONGET_H
#define MTQ_CLI_JSONGET_H

#include <cjson/cJSON.h>

/* o[key], or NULL when o is NULL, not an object or has no such key. */
const cJSON *cli_json_item(const cJSON *o, const char *key);

/* o[key] as a number, or 0 when it is missing or not a number. */
double cli_json_num(const cJSON *o, const char *key);

/* o[key] as a string (owned by o), or NULL when it is missing or not a string. */
const char *cli_json_str(const cJSON *o, const char *key);

#endif
