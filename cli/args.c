/*
 * Argument parsing: see args.h. Hand-written rather than getopt_long because getopt keeps
 * its state in globals (optind), which the unit tests would have to reset between runs, and
 * because every message here names the command, so a usage error says where to look.
 */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int cli_args_index(const struct cli_opt *opts, size_t n_opts, const char *name)
{
    for (size_t i = 0; i < n_opts; i++)
        if (strcmp(opts[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int short_index(const struct cli_opt *opts, size_t n_opts, char c)
{
    for (size_t i = 0; i < n_opts; i++)
        if (opts[i].short_name == c)
            return (int)i;
    return -1;
}

/* Records one occurrence of option i; value is "" for a flag. */
static int record(const char *cmd, const struct cli_opt *o, int i, const char *value,
                  struct cli_args *out, struct err *err)
{
    if (o->repeat) {
        if (out->n_many[i] == CLI_MAX_REPEAT)
            return err_set(err, ERR_INVALID, "%s: --%s given more than %d times", cmd, o->name,
                           CLI_MAX_REPEAT);
        out->many[i][out->n_many[i]++] = value;
    } else if (out->value[i] && strcmp(out->value[i], value) != 0) {
        return err_set(err, ERR_INVALID, "%s: --%s given twice ('%s' and '%s'); give it once", cmd,
                       o->name, out->value[i], value);
    }
    out->value[i] = value;
    return 0;
}

int cli_args_parse(const char *cmd, const struct cli_opt *opts, size_t n_opts, size_t min_pos,
                   size_t max_pos, const char *pos_names, int argc, char **argv,
                   struct cli_args *out, struct err *err)
{
    memset(out, 0, sizeof *out);
    if (n_opts > CLI_MAX_OPTS || max_pos > CLI_MAX_POS)
        return err_set(err, ERR_INTERNAL, "%s: too many options declared", cmd);
    bool options_done = false;
    for (int k = 0; k < argc; k++) {
        const char *a = argv[k];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            if (out->n_pos == max_pos)
                return err_set(err, ERR_INVALID, "%s: unexpected argument '%s'%s", cmd, a,
                               max_pos ? " (too many arguments)" : " (it takes none)");
            out->pos[out->n_pos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        int i;
        const char *value = NULL;
        char name[64];
        if (a[1] == '-') { /* --name, --name=value, --name value */
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            if (len >= sizeof name)
                return err_set(err, ERR_INVALID, "%s: unknown option '%.40s...'", cmd, a);
            memcpy(name, a + 2, len);
            name[len] = '\0';
            if (eq)
                value = eq + 1;
            if (strcmp(name, "help") == 0 || strcmp(name, "verbose") == 0) {
                if (eq)
                    return err_set(err, ERR_INVALID, "%s: --%s takes no value", cmd, name);
                if (name[0] == 'h') {
                    out->help = true;
                    return 0;
                }
                out->verbose = true;
                continue;
            }
            i = cli_args_index(opts, n_opts, name);
            if (i < 0)
                return err_set(err, ERR_INVALID, "%s: unknown option '--%s'", cmd, name);
        } else { /* -x, -xVALUE, -x VALUE */
            if (a[1] == 'h' && a[2] == '\0') {
                out->help = true;
                return 0;
            }
            if (a[1] == 'v' && a[2] == '\0') {
                out->verbose = true;
                continue;
            }
            i = short_index(opts, n_opts, a[1]);
            if (i < 0)
                return err_set(err, ERR_INVALID, "%s: unknown option '%s'", cmd, a);
            snprintf(name, sizeof name, "%s", opts[i].name);
            if (a[2] != '\0') {
                if (!opts[i].metavar)
                    return err_set(err, ERR_INVALID, "%s: unknown option '%s' (-%c takes no "
                                   "value)", cmd, a, a[1]);
                value = a + 2;
            }
        }
        const struct cli_opt *o = &opts[i];
        if (!o->metavar) {
            if (value)
                return err_set(err, ERR_INVALID, "%s: --%s takes no value", cmd, o->name);
            value = "";
        } else if (!value) {
            if (k + 1 == argc)
                return err_set(err, ERR_INVALID, "%s: --%s needs a value (%s)", cmd, o->name,
                               o->metavar);
            value = argv[++k];
        }
        int rc = record(cmd, o, i, value, out, err);
        if (rc < 0)
            return rc;
    }
    if (out->n_pos < min_pos)
        return err_set(err, ERR_INVALID, "%s: missing %s", cmd,
                       pos_names && *pos_names ? pos_names : "arguments");
    return 0;
}

int cli_option_split(const char *text, char *name, size_t namesz, const char **value,
                     struct err *err)
{
    const char *eq = strchr(text, '=');
    if (!eq)
        return err_set(err, ERR_INVALID, "-o '%s': want name=value, e.g. -o opt_level=3", text);
    size_t len = (size_t)(eq - text);
    if (len == 0)
        return err_set(err, ERR_INVALID, "-o '%s': the name before '=' is empty; want name=value",
                       text);
    if (len >= namesz || len > 63)
        return err_set(err, ERR_INVALID, "-o '%.40s...': the name is too long", text);
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)text[i]) && text[i] != '_')
            return err_set(err, ERR_INVALID, "-o '%s': '%.*s' is not an option name (letters, "
                           "digits and '_' only)", text, (int)len, text);
    memcpy(name, text, len);
    name[len] = '\0';
    *value = eq + 1;
    return 0;
}

/* "a, b, c": the names a ServerInfo declares, for messages. */
static void declared_names(const cJSON *info, char *out, size_t outsz)
{
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(info, "project_options");
    const cJSON *o;
    size_t used = 0;
    out[0] = '\0';
    cJSON_ArrayForEach(o, opts) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "name");
        if (!cJSON_IsString(n))
            continue;
        int w = snprintf(out + used, outsz - used, "%s%s", used ? ", " : "", n->valuestring);
        if (w < 0 || (size_t)w >= outsz - used)
            break;
        used += (size_t)w;
    }
}

cJSON *cli_options_json(const char *const *texts, size_t n, const cJSON *info, struct err *err)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj) {
        err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        char name[64];
        const char *value;
        if (cli_option_split(texts[i], name, sizeof name, &value, err) < 0)
            goto fail;
        if (cJSON_GetObjectItemCaseSensitive(obj, name)) {
            err_set(err, ERR_INVALID, "-o %s given twice; give each option once", name);
            goto fail;
        }
        if (info) {
            const cJSON *opts = cJSON_GetObjectItemCaseSensitive(info, "project_options");
            const cJSON *o, *found = NULL;
            cJSON_ArrayForEach(o, opts) {
                const cJSON *on = cJSON_GetObjectItemCaseSensitive(o, "name");
                if (cJSON_IsString(on) && strcmp(on->valuestring, name) == 0)
                    found = o;
            }
            if (!found) {
                char names[1024];
                declared_names(info, names, sizeof names);
                err_set(err, ERR_INVALID, "-o %s: the server has no such option; it has: %s",
                        name, names);
                goto fail;
            }
        }
        if (!cJSON_AddStringToObject(obj, name, value)) {
            err_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
    }
    return obj;
fail:
    cJSON_Delete(obj);
    return NULL;
}
