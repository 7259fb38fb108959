/*
 * The project record (see record.h). The key names of project.json live here and nowhere
 * else: generate_project writes through record_write, build, flash and the command line read
 * through record_read.
 */
#include "record.h"

#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const record_links[] = {"uart", "fast", NULL};

/* A string value: the top level's, else the call's options', else NULL. */
static const char *str_of(const struct project_record *r, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->root, key);
    if (!cJSON_IsString(v))
        v = cJSON_GetObjectItemCaseSensitive(r->options, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int copy_str(const struct project_record *r, const char *key, char *out, size_t outsz,
                    struct err *err)
{
    const char *v = str_of(r, key);
    if ((size_t)snprintf(out, outsz, "%s", v ? v : "") >= outsz)
        return err_set(err, ERR_INVALID, "%s: %s: too long; generate the project again",
                       r->path, key);
    return 0;
}

/* link: one of record_links; a record made before the option existed has none and is a UART
 * project. */
static int read_link(struct project_record *r, struct err *err)
{
    const char *v = str_of(r, "link");
    if (!v)
        v = record_links[0];
    for (size_t i = 0; record_links[i]; i++)
        if (strcmp(v, record_links[i]) == 0) {
            snprintf(r->link, sizeof r->link, "%s", v);
            return 0;
        }
    return err_set(err, ERR_INVALID, "%s: link '%.40s' is not uart or fast; generate the "
                   "project again", r->path, v);
}

/* compile_definitions: the recorded array joined with ';' into a heap string. */
static char *join_definitions(const cJSON *defs)
{
    size_t len = 1;
    const cJSON *d;
    cJSON_ArrayForEach(d, defs)
        if (cJSON_IsString(d))
            len += strlen(d->valuestring) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    size_t used = 0;
    cJSON_ArrayForEach(d, defs) {
        if (!cJSON_IsString(d))
            continue;
        used += (size_t)snprintf(s + used, len - used, "%s%s", used ? ";" : "", d->valuestring);
    }
    return s;
}

int record_read(struct project_record *r, const char *project_dir, struct err *err)
{
    char *text = NULL;
    size_t len = 0;
    const char *end = NULL;
    memset(r, 0, sizeof *r);
    int rc = fs_join(r->path, sizeof r->path, project_dir, RECORD_FILE, err);
    if (rc == 0 && !fs_exists(r->path))
        rc = err_set(err, ERR_STATE, "%s: not a generated project (no " RECORD_FILE "); call "
                     "generate_project (microtvm-qemu create) first and work in the project it "
                     "made", project_dir);
    if (rc == 0)
        rc = fs_read_file(r->path, RECORD_MAX_BYTES, &text, &len, err);
    if (rc == 0 && (!(r->root = cJSON_ParseWithLengthOpts(text, len, &end, 0)) ||
                    !cJSON_IsObject(r->root)))
        rc = err_set(err, ERR_INVALID, "%s: bad JSON at byte %td; generate the project again",
                     r->path, end ? end - text : (ptrdiff_t)0);
    free(text);
    if (rc < 0)
        return rc;
    r->options = cJSON_GetObjectItemCaseSensitive(r->root, "options");
    if (!cJSON_IsObject(r->options))
        r->options = r->root;
    if ((rc = copy_str(r, "project_type", r->project_type, sizeof r->project_type, err)) < 0 ||
        (rc = copy_str(r, "board", r->board, sizeof r->board, err)) < 0 ||
        (rc = copy_str(r, "libc", r->libc, sizeof r->libc, err)) < 0 ||
        (rc = copy_str(r, "opt_level", r->opt_level, sizeof r->opt_level, err)) < 0 ||
        (rc = copy_str(r, "cmsis_path", r->cmsis_path, sizeof r->cmsis_path, err)) < 0 ||
        (rc = read_link(r, err)) < 0)
        return rc;
    const cJSON *ws = cJSON_GetObjectItemCaseSensitive(r->root, "workspace_size_bytes");
    r->workspace_bytes = cJSON_IsNumber(ws) && ws->valuedouble > 0 ? (uint64_t)ws->valuedouble
                                                                   : 0;
    r->warning_as_error = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->root,
                                                                        "warning_as_error"));
    r->has_crt = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->root, "crt"));
    r->has_model = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r->root, "model"));
    r->aot_demo = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->root, "aot_demo"));
    r->compile_definitions =
        join_definitions(cJSON_GetObjectItemCaseSensitive(r->root, "compile_definitions"));
    if (!r->compile_definitions)
        return err_set(err, -ENOMEM, "%s: out of memory", r->path);
    return 0;
}

void record_close(struct project_record *r)
{
    if (!r)
        return;
    free(r->compile_definitions);
    r->compile_definitions = NULL;
    cJSON_Delete(r->root);
    r->root = NULL;
    r->options = NULL;
}

int record_require(const struct project_record *r, const char *const keys[], struct err *err)
{
    for (size_t i = 0; keys[i]; i++) {
        const char *v = !strcmp(keys[i], "project_type") ? r->project_type
                        : !strcmp(keys[i], "board")      ? r->board
                        : !strcmp(keys[i], "libc")       ? r->libc
                        : !strcmp(keys[i], "opt_level")  ? r->opt_level
                                                         : NULL;
        if (!v || !v[0])
            return err_set(err, ERR_INVALID, "%s: %s: want a string, recorded by "
                           "generate_project; generate the project again", r->path, keys[i]);
    }
    return 0;
}

int record_check_link(const struct project_record *r, const cJSON *options, struct err *err)
{
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(options, "link");
    if (!cJSON_IsString(asked) || strcmp(asked->valuestring, r->link) == 0)
        return 0;
    return err_set(err, ERR_OPTION, "option link: '%.40s' differs from the '%s' this project was "
                   "generated and built for (the firmware speaks one link); pass link=%s, or "
                   "generate the project again with link=%.40s", asked->valuestring, r->link,
                   r->link, asked->valuestring);
}

static int write_json(const char *path, const cJSON *root, struct err *err)
{
    char *text = cJSON_Print(root);
    if (!text)
        return err_set(err, -ENOMEM, RECORD_FILE ": out of memory");
    int rc = fs_write_file(path, text, strlen(text), err);
    free(text);
    return rc;
}

int record_write(const char *project_dir, const struct project_record *r,
                 const struct record_extras *x, struct err *err)
{
    int rc = 0;
    char path[PATH_MAX];
    cJSON *o = cJSON_CreateObject();
    cJSON *opts = x->options ? cJSON_Duplicate(x->options, 1) : cJSON_CreateObject();
    cJSON *model = x->model ? x->model : cJSON_CreateNull();
    cJSON *defs = cJSON_CreateArray();
    char *list = strdup(r->compile_definitions ? r->compile_definitions : "");
    if (!o || !opts || !model || !defs || !list) {
        cJSON_Delete(opts);
        cJSON_Delete(model);
        cJSON_Delete(defs);
        rc = err_set(err, -ENOMEM, RECORD_FILE ": out of memory");
        goto out;
    }
    for (char *save = NULL, *d = strtok_r(list, ";", &save); d; d = strtok_r(NULL, ";", &save))
        cJSON_AddItemToArray(defs, cJSON_CreateString(d));
    cJSON_AddStringToObject(o, "generated_by", "microtvm-qemu-server");
    cJSON_AddStringToObject(o, "project_type", r->project_type);
    cJSON_AddStringToObject(o, "board", r->board);
    cJSON_AddStringToObject(o, "libc", r->libc);
    cJSON_AddStringToObject(o, "opt_level", r->opt_level);
    cJSON_AddStringToObject(o, "link", r->link[0] ? r->link : record_links[0]);
    cJSON_AddNumberToObject(o, "workspace_size_bytes", (double)r->workspace_bytes);
    cJSON_AddBoolToObject(o, "warning_as_error", r->warning_as_error);
    cJSON_AddItemToObject(o, "compile_definitions", defs);
    cJSON_AddStringToObject(o, "cmsis_path", r->cmsis_path);
    cJSON_AddBoolToObject(o, "crt", r->has_crt);
    cJSON_AddBoolToObject(o, "aot_demo", r->aot_demo);
    cJSON_AddStringToObject(o, "crt_source", x->crt_source ? x->crt_source : "");
    cJSON_AddItemToObject(o, "model", model);
    cJSON_AddItemToObject(o, "options", opts);
    if ((rc = fs_join(path, sizeof path, project_dir, RECORD_FILE, err)) == 0)
        rc = write_json(path, o, err);
out:
    free(list);
    cJSON_Delete(o);
    return rc;
}

int record_save(const struct project_record *r, struct err *err)
{
    return write_json(r->path, r->root, err);
}
