/*
 * Options given to build: honoured, not ignored. `tvmc micro build --project-option opt_level=0`
 * and TVM's Python API (which sends the generate_project options again with every build) both
 * land here. A compile option whose value differs from what the project records replaces it in
 * project.json and project.cmake, so build reconfigures and rebuilds what it affects, and later
 * builds keep it. Options that shape the project itself (project_type, board, extra_files_tar,
 * link) cannot change after generate_project: a different value is refused by name; the same
 * value, as TVM's Python API resends it, is fine.
 */
#include "project_internal.h"

#include "fs.h"
#include "log.h"
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Options fixed at generate_project: the recorded value is in project.json's "options". */
static const char *const fixed[] = {"project_type", "board", "extra_files_tar"};

static int refuse_changed(const cJSON *record, const cJSON *given, struct err *err)
{
    const cJSON *recorded = cJSON_GetObjectItemCaseSensitive(record, "options");
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(given, fixed[i]);
        if (!cJSON_IsString(v))
            continue; /* unset: keeps what generate_project made */
        const cJSON *was = cJSON_GetObjectItemCaseSensitive(recorded, fixed[i]);
        if (!cJSON_IsString(was) || strcmp(was->valuestring, v->valuestring) != 0)
            return err_set(err, ERR_OPTION, "option %s: '%.200s' differs from the '%.200s' this "
                           "project was generated with; it is fixed at generate_project "
                           "(generate a new project to change it)", fixed[i], v->valuestring,
                           cJSON_IsString(was) ? was->valuestring : "");
    }
    return 0;
}

/* Sets record[key] (and record.options[key], what `info` shows) to value, which is taken. */
static int put(cJSON *record, const char *key, cJSON *value, struct err *err)
{
    cJSON *copy = value ? cJSON_Duplicate(value, 1) : NULL;
    cJSON *opts = cJSON_GetObjectItemCaseSensitive(record, "options");
    bool ok = value && copy;
    if (ok)
        ok = cJSON_HasObjectItem(record, key)
                 ? cJSON_ReplaceItemInObjectCaseSensitive(record, key, value)
                 : cJSON_AddItemToObject(record, key, value);
    if (!ok)
        cJSON_Delete(value);
    if (ok && cJSON_IsObject(opts)) {
        ok = cJSON_HasObjectItem(opts, key)
                 ? cJSON_ReplaceItemInObjectCaseSensitive(opts, key, copy)
                 : cJSON_AddItemToObject(opts, key, copy);
        copy = ok ? NULL : copy;
    }
    cJSON_Delete(copy);
    return ok ? 0 : err_set(err, -ENOMEM, "project.json: out of memory");
}

/* The compile options of o that differ from s: applied to s and record; *changed counts them. */
static int apply(const cJSON *given, const struct options *o, const struct machine *board,
                 struct project_record *s, cJSON *record, int *changed, struct err *err)
{
    int rc = 0;
    const cJSON *v;
    if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(given, "libc")) &&
        strcmp(o->libc, s->libc) != 0) {
        if ((rc = proj__check_libc(board, o->libc, err)) < 0)
            return rc;
        snprintf(s->libc, sizeof s->libc, "%s", o->libc);
        rc = put(record, "libc", cJSON_CreateString(o->libc), err);
        ++*changed;
    }
    if (rc == 0 && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(given, "opt_level")) &&
        strcmp(o->opt_level, s->opt_level) != 0) {
        snprintf(s->opt_level, sizeof s->opt_level, "%s", o->opt_level);
        rc = put(record, "opt_level", cJSON_CreateString(o->opt_level), err);
        ++*changed;
    }
    if (rc == 0 && cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(given, "warning_as_error")) &&
        o->warning_as_error != s->warning_as_error) {
        s->warning_as_error = o->warning_as_error;
        rc = put(record, "warning_as_error", cJSON_CreateBool(o->warning_as_error), err);
        ++*changed;
    }
    if (rc == 0 && cJSON_IsArray(v = cJSON_GetObjectItemCaseSensitive(given,
                                                                       "compile_definitions")) &&
        strcmp(o->compile_definitions, s->compile_definitions) != 0) {
        if ((rc = proj__check_definitions(o->compile_definitions, err)) < 0)
            return rc;
        char *copy = strdup(o->compile_definitions);
        if (!copy)
            return err_set(err, -ENOMEM, "build: out of memory");
        free(s->compile_definitions);
        s->compile_definitions = copy;
        rc = put(record, "compile_definitions", cJSON_Duplicate(v, 1), err);
        ++*changed;
    }
    if (rc == 0 && o->workspace_size_bytes >= 0 &&
        (uint64_t)o->workspace_size_bytes != s->workspace_bytes) {
        if ((rc = proj__check_workspace(board, (uint64_t)o->workspace_size_bytes,
                                        " (workspace_size_bytes)", err)) < 0)
            return rc;
        s->workspace_bytes = (uint64_t)o->workspace_size_bytes;
        rc = put(record, "workspace_size_bytes", cJSON_CreateNumber((double)s->workspace_bytes),
                 err);
        ++*changed;
    }
    if (rc == 0 && o->cmsis_path[0]) {
        char real[PATH_MAX];
        if ((rc = proj__check_cmsis_path(o->cmsis_path, real, sizeof real, err)) < 0)
            return rc;
        if (strcmp(real, s->cmsis_path) != 0) {
            snprintf(s->cmsis_path, sizeof s->cmsis_path, "%s", real);
            rc = put(record, "cmsis_path", cJSON_CreateString(real), err);
            ++*changed;
        }
    }
    return rc;
}

int proj__apply_build_options(const char *project_dir, const cJSON *given, struct err *err)
{
    struct project_record s = {0};
    struct machine *board = calloc(1, sizeof *board);
    char path[PATH_MAX];
    int changed = 0, rc = 0;
    struct options o;
    if (!board)
        return err_set(err, -ENOMEM, "build: out of memory");
    opt_get(cJSON_IsObject(given) ? given : NULL, &o);
    if ((rc = record_read(&s, project_dir, err)) < 0 ||
        (rc = record_require(&s, PROJ_BUILD_KEYS, err)) < 0 ||
        (rc = refuse_changed(s.root, given, err)) < 0 ||
        (rc = record_check_link(&s, given, err)) < 0)
        goto out;
    proj__pathf(path, sizeof path, "%s/machines/%s.json", project_dir, s.board);
    if ((rc = mach_load(board, path, err)) < 0 ||
        (rc = apply(given, &o, board, &s, s.root, &changed, err)) < 0 || changed == 0)
        goto out;
    /* project.json first: project.cmake, written last, is newer than the configure stamp */
    if ((rc = record_save(&s, err)) < 0 ||
        (rc = proj__write_project_cmake(project_dir, &s, err)) < 0)
        goto out;
    log_info("build: %d option%s given at build replace%s what the project recorded "
             "(libc %s, -O%s, workspace %llu bytes): reconfiguring", changed,
             changed == 1 ? "" : "s", changed == 1 ? "s" : "", s.libc, s.opt_level,
             (unsigned long long)s.workspace_bytes);
out:
    record_close(&s);
    free(board);
    return rc;
}
