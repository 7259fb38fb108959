/*
 * Reads a Model Library Format's metadata.json: the facts generate_project needs (modules,
 * executors, the main function's workspace, the inputs and outputs) and which parts of the
 * archive are present. Two layouts exist (facts read from TVM's model_library_format.py):
 * version 5 (TVM 0.8) keeps one module's fields at the top level (model_name, executors,
 * style, memory.functions.main[]) without inputs or outputs; version 7 (TVM 0.9 to 0.18) nests
 * them per module under modules.<name> and adds inputs/outputs to memory.functions.main[].
 * An operator library (tvm.build + export_model_library_format, what AutoTVM's micro builder
 * sends) has no modules key in any version: style "operator", model_name, executors [] and
 * memory {<function>: [{size_bytes, shape, dtype, input_binding}, ...]} sit at the top level.
 */
#include "project_internal.h"

#include "fs.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* metadata.json of a real model is a few kB; this bounds a hostile one */
#define MLF_META_MAX (16u << 20)
/* inputs (or outputs) of one function: far more than any real model */
#define MLF_TENSORS_MAX 4096

/* The object member key of obj, or an ERR_INVALID naming label and path.key. */
static cJSON *want(const cJSON *obj, const char *key, const char *label, const char *path,
                   int type, const char *type_name, struct err *err)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || !(v->type & type)) {
        err_set(err, ERR_INVALID, "%s: %s%s%s: %s%s", label, path, path[0] ? "." : "", key,
                v ? "want " : "missing; want ", type_name);
        return NULL;
    }
    return v;
}

/* Names and dtypes from metadata.json end up in generated C (aot_model.c) and CMake; they must
 * be what TVM writes, never syntax: a module name is a C identifier's characters, a dtype a
 * short lowercase word with digits ("int8", "float32", "float16x4"), a tensor name printable
 * with no quote, backslash or '?' (trigraphs). Refused by name, with the field's path. */
static bool plain(const char *s, const char *extra, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!(s[n] >= 'a' && s[n] <= 'z') && !(s[n] >= 'A' && s[n] <= 'Z') &&
            !(s[n] >= '0' && s[n] <= '9') && !strchr(extra, s[n]))
            return false;
    return n > 0 && n < max;
}

static bool is_dtype(const char *s)
{
    size_t k = 0;
    while (s[k] >= 'a' && s[k] <= 'z')
        k++;
    if (k == 0)
        return false;
    while ((s[k] >= '0' && s[k] <= '9') || s[k] == 'x')
        k++;
    return s[k] == '\0' && k < 32;
}

static int check_text(const char *label, const char *path, const char *what, const char *value,
                      bool ok, struct err *err)
{
    if (ok)
        return 0;
    char shown[80];
    size_t k = 0;
    for (const char *q = value; *q && k + 5 < sizeof shown; q++)
        k += (size_t)snprintf(shown + k, sizeof shown - k,
                              (unsigned char)*q < 0x20 || *q == 0x7f ? "\\x%02x" : "%c",
                              (unsigned char)*q);
    return err_set(err, ERR_INVALID, "%s: %s: %s \"%s\" is not one TVM writes (want %s); export "
                   "the model again", label, path, what, shown,
                   !strcmp(what, "dtype") ? "a word such as int8 or float32"
                   : !strcmp(what, "module name") ? "letters, digits and _"
                   : "letters, digits and _ . : / - or space");
}

static int read_tensors(const cJSON *obj, struct proj_tensor **out, size_t *n,
                        const char *label, const char *path, struct err *err)
{
    *out = NULL;
    *n = 0;
    if (!obj)
        return 0;
    if (!cJSON_IsObject(obj))
        return err_set(err, ERR_INVALID, "%s: %s: want an object of name -> {size, dtype}",
                       label, path);
    size_t count = (size_t)cJSON_GetArraySize(obj);
    if (count == 0)
        return 0;
    if (count > MLF_TENSORS_MAX) /* real models have a handful; each costs generated code */
        return err_set(err, ERR_INVALID, "%s: %s: %zu tensors, more than the %d a model may "
                       "have", label, path, count, MLF_TENSORS_MAX);
    struct proj_tensor *t = calloc(count, sizeof *t);
    if (!t)
        return err_set(err, -ENOMEM, "%s: out of memory", label);
    size_t i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, obj) {
        char sub[512];
        snprintf(sub, sizeof sub, "%s.%s", path, item->string);
        const cJSON *size = want(item, "size", label, sub, cJSON_Number, "a number", err);
        const cJSON *dtype = size ? want(item, "dtype", label, sub, cJSON_String, "a string",
                                         err) : NULL;
        if (!size || !dtype) {
            free(t);
            return err ? err->code : ERR_INVALID;
        }
        /* bounded like the workspace: converting a double past UINT64_MAX (1e20, or the
         * inf that 1e999 parses to) to an integer is undefined behaviour */
        if (size->valuedouble < 0 || size->valuedouble > 1e15) {
            free(t);
            return err_set(err, ERR_INVALID, "%s: %s.size: want a size in bytes, not %g", label,
                           sub, size->valuedouble);
        }
        if (check_text(label, sub, "tensor name", item->string,
                       plain(item->string, "_.:/- ", sizeof t[i].name), err) < 0 ||
            check_text(label, sub, "dtype", dtype->valuestring, is_dtype(dtype->valuestring),
                       err) < 0) {
            free(t);
            return err->code;
        }
        snprintf(t[i].name, sizeof t[i].name, "%s", item->string);
        snprintf(t[i].dtype, sizeof t[i].dtype, "%s", dtype->valuestring);
        t[i].size = (uint64_t)size->valuedouble;
        i++;
    }
    *out = t;
    *n = i;
    return 0;
}

/* An operator library's memory: one array of argument buffers per function. Each buffer needs
 * a size_bytes and a dtype; the functions and their arguments go to the module. */
static int read_operator_memory(struct proj_module *mod, const cJSON *memory, const char *label,
                                const char *path, struct err *err)
{
    size_t count = (size_t)cJSON_GetArraySize(memory);
    if (count == 0)
        return 0;
    if (!(mod->functions = calloc(count, sizeof *mod->functions)))
        return err_set(err, -ENOMEM, "%s: out of memory", label);
    const cJSON *fn;
    cJSON_ArrayForEach(fn, memory) {
        struct proj_function *f = &mod->functions[mod->n_functions++];
        char p[512];
        snprintf(p, sizeof p, "%s%smemory.%s", path, path[0] ? "." : "", fn->string);
        snprintf(f->name, sizeof f->name, "%s", fn->string);
        if (!cJSON_IsArray(fn))
            return err_set(err, ERR_INVALID, "%s: %s: want an array of the function's buffers",
                           label, p);
        size_t n = (size_t)cJSON_GetArraySize(fn);
        if (n && !(f->args = calloc(n, sizeof *f->args)))
            return err_set(err, -ENOMEM, "%s: out of memory", label);
        const cJSON *buf;
        cJSON_ArrayForEach(buf, fn) {
            char sub[600];
            snprintf(sub, sizeof sub, "%s[%zu]", p, f->n_args);
            const cJSON *size = want(buf, "size_bytes", label, sub, cJSON_Number, "a number",
                                     err);
            const cJSON *dtype = size ? want(buf, "dtype", label, sub, cJSON_String, "a string",
                                             err) : NULL;
            if (!dtype)
                return err->code;
            if (size->valuedouble < 0 || size->valuedouble > 1e15)
                return err_set(err, ERR_INVALID, "%s: %s.size_bytes: want a size in bytes, not "
                               "%g", label, sub, size->valuedouble);
            struct proj_tensor *t = &f->args[f->n_args++];
            const cJSON *binding = cJSON_GetObjectItemCaseSensitive(buf, "input_binding");
            snprintf(t->name, sizeof t->name, "%s", cJSON_IsString(binding) ?
                     binding->valuestring : "");
            snprintf(t->dtype, sizeof t->dtype, "%s", dtype->valuestring);
            t->size = (uint64_t)size->valuedouble;
        }
    }
    return 0;
}

/* Fills one module from the object holding executors/style/memory (the root in v5, the
 * module's entry in v7); path is where that object sits, for messages. */
static int read_module(struct proj_module *mod, const cJSON *obj, const char *name,
                       const char *label, const char *path, struct err *err)
{
    if (check_text(label, path[0] ? path : "model_name", "module name", name,
                   plain(name, "_", sizeof mod->name), err) < 0)
        return err->code;
    snprintf(mod->name, sizeof mod->name, "%s", name);
    const cJSON *ex = want(obj, "executors", label, path, cJSON_Array, "an array", err);
    if (!ex)
        return err->code;
    const cJSON *first = cJSON_GetArrayItem(ex, 0);
    if (first && !cJSON_IsString(first))
        return err_set(err, ERR_INVALID, "%s: %s%sexecutors[0]: want a string", label, path,
                       path[0] ? "." : "");
    snprintf(mod->executor, sizeof mod->executor, "%s", first ? first->valuestring : "");
    const cJSON *style = cJSON_GetObjectItemCaseSensitive(obj, "style");
    snprintf(mod->style, sizeof mod->style, "%s",
             cJSON_IsString(style) ? style->valuestring : "");

    char p[512];
    const cJSON *memory = want(obj, "memory", label, path, cJSON_Object, "an object", err);
    if (!memory)
        return err->code;
    /* an operator library (tvm.build) has per-function buffers, no functions.main */
    if (!strcmp(mod->style, "operator"))
        return read_operator_memory(mod, memory, label, path, err);
    snprintf(p, sizeof p, "%s%smemory", path, path[0] ? "." : "");
    const cJSON *funcs = want(memory, "functions", label, p, cJSON_Object, "an object", err);
    if (!funcs)
        return err->code;
    snprintf(p, sizeof p, "%s%smemory.functions", path, path[0] ? "." : "");
    const cJSON *main_list = want(funcs, "main", label, p, cJSON_Array, "an array", err);
    if (!main_list)
        return err->code;
    /* one entry per device; the CPU (device 1) is ours, else the first one */
    const cJSON *main_fn = NULL, *entry;
    cJSON_ArrayForEach(entry, main_list) {
        const cJSON *dev = cJSON_GetObjectItemCaseSensitive(entry, "device");
        if (!main_fn || (cJSON_IsNumber(dev) && dev->valuedouble == 1))
            main_fn = entry;
    }
    if (!main_fn)
        return 0; /* nothing runs on a device: no workspace */
    snprintf(p, sizeof p, "%s%smemory.functions.main[0]", path, path[0] ? "." : "");
    if (!cJSON_IsObject(main_fn))
        return err_set(err, ERR_INVALID, "%s: %s: want an object", label, p);
    const cJSON *ws = want(main_fn, "workspace_size_bytes", label, p, cJSON_Number, "a number",
                           err);
    if (!ws)
        return err->code;
    if (ws->valuedouble < 0 || ws->valuedouble > 1e15)
        return err_set(err, ERR_INVALID, "%s: %s.workspace_size_bytes: %g is not a size", label,
                       p, ws->valuedouble);
    mod->workspace_bytes = (uint64_t)ws->valuedouble;
    char tp[600];
    snprintf(tp, sizeof tp, "%s.inputs", p);
    int rc = read_tensors(cJSON_GetObjectItemCaseSensitive(main_fn, "inputs"), &mod->inputs,
                          &mod->n_inputs, label, tp, err);
    snprintf(tp, sizeof tp, "%s.outputs", p);
    if (rc == 0)
        rc = read_tensors(cJSON_GetObjectItemCaseSensitive(main_fn, "outputs"), &mod->outputs,
                          &mod->n_outputs, label, tp, err);
    return rc;
}

int proj__mlf_parse(struct proj_mlf *mlf, const char *text, size_t len, const char *label,
                    struct err *err)
{
    struct err local; /* the checks below read err->code back */
    if (!err)
        err = &local;
    memset(mlf, 0, sizeof *mlf);
    int rc = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        rc = err_set(err, ERR_INVALID, "%s: not valid JSON (error at byte %td); export the model "
                     "again with tvm.micro.export_model_library_format", label,
                     end ? end - text : (ptrdiff_t)0);
        goto out;
    }
    if (!cJSON_IsObject(root)) {
        rc = err_set(err, ERR_INVALID, "%s: want a JSON object at the top level", label);
        goto out;
    }
    const cJSON *ver = want(root, "version", label, "", cJSON_Number, "a number", err);
    if (!ver) {
        rc = err->code;
        goto out;
    }
    if (ver->valuedouble != 5 && ver->valuedouble != 7) {
        rc = err_set(err, ERR_INVALID, "%s: version %g is not supported; this server reads MLF "
                     "versions 5 and 7 (TVM 0.8 to 0.18)", label, ver->valuedouble);
        goto out;
    }
    mlf->version = (int)ver->valuedouble;
    const cJSON *style = cJSON_GetObjectItemCaseSensitive(root, "style");
    bool top_level_operator = cJSON_IsString(style) && !strcmp(style->valuestring, "operator") &&
                              !cJSON_HasObjectItem(root, "modules");
    if (mlf->version == 5 || top_level_operator) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "model_name");
        if (!(mlf->modules = calloc(1, sizeof *mlf->modules))) {
            rc = err_set(err, -ENOMEM, "%s: out of memory", label);
            goto out;
        }
        mlf->n_modules = 1;
        rc = read_module(&mlf->modules[0], root,
                         cJSON_IsString(name) ? name->valuestring : "default", label, "", err);
        goto out;
    }
    const cJSON *mods = want(root, "modules", label, "", cJSON_Object, "an object", err);
    if (!mods) {
        rc = err->code;
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(mods);
    if (n == 0) {
        rc = err_set(err, ERR_INVALID, "%s: modules: empty; the archive holds no model", label);
        goto out;
    }
    if (!(mlf->modules = calloc(n, sizeof *mlf->modules))) {
        rc = err_set(err, -ENOMEM, "%s: out of memory", label);
        goto out;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, mods) {
        char path[300];
        snprintf(path, sizeof path, "modules.%s", m->string);
        if (!cJSON_IsObject(m)) {
            rc = err_set(err, ERR_INVALID, "%s: %s: want an object", label, path);
            goto out;
        }
        rc = read_module(&mlf->modules[mlf->n_modules++], m, m->string, label, path, err);
        if (rc < 0)
            goto out;
    }
out:
    cJSON_Delete(root);
    if (rc < 0)
        proj__mlf_close(mlf);
    return rc;
}

int proj__mlf_read(struct proj_mlf *mlf, const char *model_dir, struct err *err)
{
    memset(mlf, 0, sizeof *mlf);
    char path[PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    int rc = fs_join(path, sizeof path, model_dir, "metadata.json", err);
    if (rc < 0)
        return rc;
    if (!fs_exists(path))
        return err_set(err, ERR_INVALID, "%s: missing; is this a Model Library Format archive "
                       "(tvm.micro.export_model_library_format)?", "metadata.json");
    if ((rc = fs_read_file(path, MLF_META_MAX, &text, &len, err)) < 0)
        return rc;
    rc = proj__mlf_parse(mlf, text, len, "metadata.json", err);
    free(text);
    if (rc < 0)
        return rc;
    char sub[PATH_MAX];
    if (fs_join(sub, sizeof sub, model_dir, "codegen/host/src", NULL) == 0)
        mlf->has_host_src = fs_is_dir(sub);
    if (fs_join(sub, sizeof sub, model_dir, "codegen/host/lib", NULL) == 0)
        mlf->has_host_lib = fs_is_dir(sub);
    if (fs_join(sub, sizeof sub, model_dir, "runtime", NULL) == 0)
        mlf->has_runtime = fs_is_dir(sub);
    return 0;
}

uint64_t proj__mlf_workspace(const struct proj_mlf *mlf)
{
    uint64_t most = 0;
    for (size_t i = 0; i < mlf->n_modules; i++)
        if (mlf->modules[i].workspace_bytes > most)
            most = mlf->modules[i].workspace_bytes;
    return most;
}

bool proj__mlf_is_operator(const struct proj_mlf *mlf)
{
    return mlf->n_modules > 0 && !strcmp(mlf->modules[0].style, "operator");
}

bool proj__mlf_has_executor(const struct proj_mlf *mlf, const char *executor)
{
    for (size_t i = 0; i < mlf->n_modules; i++)
        if (!strcmp(mlf->modules[i].executor, executor))
            return true;
    return false;
}

static cJSON *tensors_json(const struct proj_tensor *t, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(arr, o)) {
            cJSON_Delete(o);
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddStringToObject(o, "name", t[i].name);
        cJSON_AddNumberToObject(o, "size", (double)t[i].size);
        cJSON_AddStringToObject(o, "dtype", t[i].dtype);
    }
    return arr;
}

/* An operator library's functions and their argument buffers, added to mj as "functions". */
static bool functions_json(cJSON *mj, const struct proj_module *m)
{
    cJSON *arr = cJSON_AddArrayToObject(mj, "functions");
    for (size_t i = 0; arr && i < m->n_functions; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON *args = tensors_json(m->functions[i].args, m->functions[i].n_args);
        if (!f || !args || !cJSON_AddItemToArray(arr, f)) {
            cJSON_Delete(f);
            cJSON_Delete(args);
            return false;
        }
        cJSON_AddStringToObject(f, "name", m->functions[i].name);
        cJSON_AddItemToObject(f, "args", args);
    }
    return arr != NULL;
}

cJSON *proj__mlf_to_json(const struct proj_mlf *mlf)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *mods = cJSON_AddArrayToObject(o, "modules");
    if (!mods) {
        cJSON_Delete(o);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "version", mlf->version);
    cJSON_AddBoolToObject(o, "has_host_src", mlf->has_host_src);
    cJSON_AddBoolToObject(o, "has_host_lib", mlf->has_host_lib);
    cJSON_AddBoolToObject(o, "has_runtime", mlf->has_runtime);
    cJSON_AddNumberToObject(o, "workspace_size_bytes", (double)proj__mlf_workspace(mlf));
    for (size_t i = 0; i < mlf->n_modules; i++) {
        const struct proj_module *m = &mlf->modules[i];
        cJSON *mj = cJSON_CreateObject();
        if (!mj || !cJSON_AddItemToArray(mods, mj)) {
            cJSON_Delete(mj);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddStringToObject(mj, "name", m->name);
        cJSON_AddStringToObject(mj, "executor", m->executor);
        cJSON_AddStringToObject(mj, "style", m->style);
        cJSON_AddNumberToObject(mj, "workspace_size_bytes", (double)m->workspace_bytes);
        cJSON *in = tensors_json(m->inputs, m->n_inputs);
        cJSON *out = tensors_json(m->outputs, m->n_outputs);
        if (!in || !out) {
            cJSON_Delete(in);
            cJSON_Delete(out);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(mj, "inputs", in);
        cJSON_AddItemToObject(mj, "outputs", out);
        if (!strcmp(m->style, "operator") && !functions_json(mj, m)) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

/* One "name|dtype|size" list of a kind; the names and dtypes were validated by the parser, so
 * none holds a quote, '$', ';' or '|' (CMake's list and our field separators). */
static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct proj_tensor *)a)->name, ((const struct proj_tensor *)b)->name);
}

/* In name order (byte-wise), the order CMake's string(JSON MEMBER) gives, so a tensor keeps
 * the index it had when the firmware's CMake read metadata.json itself. */
static int tensors_cmake(FILE *f, const char *var, const struct proj_tensor *t, size_t n)
{
    struct proj_tensor *sorted = n ? malloc(n * sizeof *sorted) : NULL;
    if (n && !sorted)
        return -1;
    if (n)
        memcpy(sorted, t, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_name);
    fprintf(f, "set(%s \"", var);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s|%s|%" PRIu64, i ? ";" : "", sorted[i].name, sorted[i].dtype,
                sorted[i].size);
    fprintf(f, "\")\n");
    free(sorted);
    return 0;
}

int proj__mlf_write_tensors(const struct proj_mlf *mlf, const char *path, struct err *err)
{
    if (mlf->version != 7 || mlf->n_modules != 1)
        return 0; /* the firmware's CMake reads metadata.json and names the problem */
    const struct proj_module *m = &mlf->modules[0];
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return err_set(err, -ENOMEM, "%s: out of memory", path);
    fprintf(f, "# Written by generate_project from model/metadata.json (read once, in linear "
               "time):\n# the model's main function for firmware/aot/model_table.cmake.\n");
    fprintf(f, "set(MTQ_AOT_MODULE \"%s\")\nset(MTQ_AOT_WORKSPACE %" PRIu64 ")\n", m->name,
            m->workspace_bytes);
    bool ok = tensors_cmake(f, "MTQ_AOT_INPUTS", m->inputs, m->n_inputs) == 0 &&
              tensors_cmake(f, "MTQ_AOT_OUTPUTS", m->outputs, m->n_outputs) == 0;
    int rc = fclose(f) == 0 && ok ? 0 : err_set(err, -ENOMEM, "%s: out of memory", path);
    if (rc == 0)
        rc = fs_write_file(path, text, len, err);
    free(text);
    return rc;
}

void proj__mlf_close(struct proj_mlf *mlf)
{
    if (!mlf)
        return;
    for (size_t i = 0; mlf->modules && i < mlf->n_modules; i++) {
        free(mlf->modules[i].inputs);
        free(mlf->modules[i].outputs);
        for (size_t f = 0; mlf->modules[i].functions && f < mlf->modules[i].n_functions; f++)
            free(mlf->modules[i].functions[f].args);
        free(mlf->modules[i].functions);
    }
    free(mlf->modules);
    memset(mlf, 0, sizeof *mlf);
}
