/*
 * The declared project options and their normalization (see options.h). The table below is the
 * one place an option is described: server_info_query prints it, normalization enforces it, so
 * what TVM shows a user and what the server accepts cannot disagree.
 */
#include "options.h"

#include "machine.h"
#include "record.h"
#include "rpc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_type { T_BOOL, T_STR, T_INT };

static const char *const type_names[] = {"bool", "str", "int"};

/* What a declaration says beyond its type. */
enum decl_flag {
    D_BOARDS = 1u << 0,   /* the choices are the machine files' boards (opt_table_new) */
    D_IGNORED = 1u << 1,  /* accepted and dropped: any string, it reaches no build file */
};

struct decl {
    const char *name;
    enum opt_type type;
    unsigned flags;             /* enum decl_flag bits */
    const char *const *choices; /* NULL-terminated; NULL: any value, unless D_BOARDS */
    const char *default_json;   /* the default as JSON text; NULL: null */
    unsigned required, optional; /* enum opt_method bits */
    long long min, max;         /* the range of an int */
    const char *help;
};

static const char *const project_types[] = {"host_driven", "aot_standalone", "echo",
                                            "aot_standalone_demo", NULL};
static const char *const opt_levels[] = {"0", "1", "2", "3", "s", "g", NULL};

#define ALL (OPT_GENERATE | OPT_BUILD | OPT_FLASH | OPT_OPEN)
#define COMPILE (OPT_GENERATE | OPT_BUILD)
#define RUN (OPT_FLASH | OPT_OPEN)

static const struct decl decls[] = {
    {"verbose", T_BOOL, 0, NULL, "false", 0, ALL, 0, 0,
     "Log the steps of the call it is given with (commands run, the build tools' output, QEMU "
     "arguments) to the server's stderr; later calls are not affected."},
    {"project_type", T_STR, 0, project_types, NULL, OPT_GENERATE, 0, 0, 0,
     "What the firmware does: host_driven runs TVM's RPC server so TVM drives the model from "
     "the host; aot_standalone runs the model on the board by itself and reports outputs and "
     "timing; echo sends back every byte (transport tests); aot_standalone_demo (TVM's Zephyr "
     "name) is aot_standalone with input 0 taken from include/tvm/input_data.h in "
     "extra_files_tar and ties in infer%'s label going to the last index, as TVM's demo does."},
    {"board", T_STR, D_BOARDS, NULL, NULL, OPT_GENERATE, 0, 0, 0,
     "The emulated board: the name of a machine file in the template's machines/ directory."},
    {"cmsis_path", T_STR, 0, NULL, NULL, 0, COMPILE, 0, 0,
     "Path of a CMSIS-NN checkout or a CMSIS_5 root (CMSIS/NN, or CMSIS-NN beside it): its "
     "int8 kernels are compiled and linked into the firmware, for models partitioned with "
     "partition_for_cmsisnn (Cortex-M boards)."},
    {"warning_as_error", T_BOOL, 0, NULL, NULL, 0, COMPILE, 0, 0,
     "Treat compiler warnings in the firmware build as errors (unset: off, or what "
     "generate_project recorded)."},
    {"compile_definitions", T_STR, 0, NULL, NULL, 0, COMPILE, 0, 0,
     "Extra preprocessor definitions for the firmware: NAME or NAME=VALUE, separated by "
     "spaces (a list is accepted too; a leading -D is dropped)."},
    {"extra_files_tar", T_STR, 0, NULL, NULL, 0, OPT_GENERATE, 0, 0,
     "Path of a tar archive whose files are added to the generated project: include/ goes on "
     "the firmware's include path and src/*.c is compiled; a member that would replace or "
     "shadow a project file is refused."},
    {"workspace_size_bytes", T_INT, 0, NULL, NULL, 0, COMPILE, 0, 4294967295LL,
     "Bytes reserved for the model's workspace arena; unset means the board's default."},
    {"libc", T_STR, 0, mach_known_libcs, NULL, 0, COMPILE, 0, 0,
     "The C library the firmware links: picolibc (every board; used when unset), newlib or "
     "newlib-nano (Cortex-M boards only)."},
    {"opt_level", T_STR, 0, opt_levels, NULL, 0, COMPILE, 0, 0,
     "The compiler optimization level for the firmware: -O<level> (2 when unset)."},
    {"deterministic", T_BOOL, 0, NULL, "true", 0, RUN, 0, 0,
     "Run QEMU with a virtual clock tied to executed instructions (icount), so timings are "
     "the same on every run and every host; false runs as fast as the host allows."},
    {"gdbserver_port", T_INT, 0, NULL, NULL, 0, RUN, 1, 65535,
     "Start QEMU's gdbserver on this TCP port of localhost, to debug the firmware with gdb."},
    {"session_start_timeout_sec", T_INT, 0, NULL, NULL, 0, OPT_OPEN, 0, 86400,
     "Seconds TVM waits for the firmware's RPC session to start (0 waits forever); unset "
     "means the server's default."},
    {"session_established_timeout_sec", T_INT, 0, NULL, NULL, 0, OPT_OPEN, 0, 86400,
     "Seconds TVM waits for each reply once the session is up (0 waits forever); unset means "
     "the server's default."},
    {"build_timeout_s", T_INT, 0, NULL, NULL, 0, COMPILE, 1, 86400,
     "Seconds each build step (CMake configure, Ninja with its compilers) may run before it is "
     "stopped with everything it started; unset means 1800."},
    {"link", T_STR, 0, record_links, "\"uart\"", 0, ALL, 0, 0,
     "The transport's byte stream: uart (the board's UART, what real boards have; the default) "
     "or fast (the board's fast link: virtio-serial on the RISC-V boards, hundreds of times "
     "faster for tensors; the banner and aborts still come on the UART). Fixed when the project "
     "is generated: the firmware is built for one link, and later calls must agree."},
    {"serial_number", T_STR, D_IGNORED, NULL, NULL, 0, ALL, 0, 0,
     "Accepted and ignored: an emulated board has no serial number. TVM's "
     "AutoTvmModuleLoader sends the tracker's device key here."},
};

#define N_DECLS (sizeof decls / sizeof decls[0])

struct opt_table {
    char **boards;
    size_t n_boards;
};

struct opt_table *opt_table_new(const char *machines_dir, struct err *err)
{
    struct opt_table *t = calloc(1, sizeof *t);
    if (!t) {
        err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    struct err lerr = {0};
    if (machines_dir && mach_list(machines_dir, &t->boards, &t->n_boards, &lerr) < 0) {
        if (lerr.code == -ENOMEM) {
            err_set(err, -ENOMEM, "%s", lerr.msg);
            free(t);
            return NULL;
        }
        /* a server without boards still answers server_info_query; board values are then
         * refused, saying so */
        t->boards = NULL;
        t->n_boards = 0;
    }
    return t;
}

void opt_table_free(struct opt_table *t)
{
    if (!t)
        return;
    mach_free_names(t->boards, t->n_boards);
    free(t);
}

char *const *opt_table_boards(const struct opt_table *t, size_t *n)
{
    *n = t->n_boards;
    return t->boards;
}

/* The choices of decls[i] as a count and an accessor, hiding where board's come from. */
static size_t n_choices(const struct opt_table *t, size_t i)
{
    if (decls[i].flags & D_BOARDS)
        return t->n_boards;
    size_t n = 0;
    if (decls[i].choices)
        while (decls[i].choices[n])
            n++;
    return n;
}

static const char *choice(const struct opt_table *t, size_t i, size_t k)
{
    return decls[i].flags & D_BOARDS ? t->boards[k] : decls[i].choices[k];
}

static bool has_choices(size_t i)
{
    return (decls[i].flags & D_BOARDS) || decls[i].choices;
}

/* "a, b, c" into out, cut with "..." when it does not fit. */
static void list_choices(const struct opt_table *t, size_t i, char *out, size_t outsz)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < n_choices(t, i); k++) {
        int w = snprintf(out + used, outsz - used, "%s%s", k ? ", " : "", choice(t, i, k));
        if (w < 0 || (size_t)w >= outsz - used) {
            if (outsz > 4)
                memcpy(out + outsz - 4, "...", 4);
            return;
        }
        used += (size_t)w;
    }
}

static cJSON *method_list(unsigned bits)
{
    static const char *const names[] = {"generate_project", "build", "flash", "open_transport"};
    if (!bits)
        return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    for (size_t k = 0; a && k < 4; k++)
        if (bits & (1u << k) && !cJSON_AddItemToArray(a, cJSON_CreateString(names[k]))) {
            cJSON_Delete(a);
            return NULL;
        }
    return a;
}

cJSON *opt_describe(const struct opt_table *t)
{
    cJSON *all = cJSON_CreateArray();
    if (!all)
        return NULL;
    for (size_t i = 0; i < N_DECLS; i++) {
        const struct decl *d = &decls[i];
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(all, o))
            goto fail;
        cJSON *choices = NULL;
        if (has_choices(i) && n_choices(t, i) > 0) {
            choices = cJSON_CreateArray();
            for (size_t k = 0; choices && k < n_choices(t, i); k++)
                if (!cJSON_AddItemToArray(choices, cJSON_CreateString(choice(t, i, k)))) {
                    cJSON_Delete(choices);
                    choices = NULL;
                }
            if (!choices)
                goto fail;
        } else {
            choices = cJSON_CreateNull();
        }
        cJSON *def = d->default_json ? cJSON_Parse(d->default_json) : cJSON_CreateNull();
        if (!cJSON_AddStringToObject(o, "name", d->name) ||
            !cJSON_AddItemToObject(o, "choices", choices)) {
            cJSON_Delete(choices);
            cJSON_Delete(def);
            goto fail;
        }
        if (!def || !cJSON_AddItemToObject(o, "default", def)) {
            cJSON_Delete(def);
            goto fail;
        }
        cJSON *req = method_list(d->required), *opt = method_list(d->optional);
        if (!cJSON_AddStringToObject(o, "type", type_names[d->type]) || !req ||
            !cJSON_AddItemToObject(o, "required", req)) {
            cJSON_Delete(req);
            cJSON_Delete(opt);
            goto fail;
        }
        if (!opt || !cJSON_AddItemToObject(o, "optional", opt)) {
            cJSON_Delete(opt);
            goto fail;
        }
        if (!cJSON_AddStringToObject(o, "help", d->help))
            goto fail;
    }
    return all;
fail:
    cJSON_Delete(all);
    return NULL;
}

static int find_decl(const char *name)
{
    for (size_t i = 0; i < N_DECLS; i++)
        if (strcmp(decls[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int oom(struct err *err)
{
    return err_set(err, -ENOMEM, "out of memory normalizing options");
}

static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

/* Parses a bool; *out_null set for "" (unset). */
static int parse_bool(const struct decl *d, const cJSON *v, cJSON **out, struct err *err)
{
    static const char *const yes[] = {"true", "1", "yes"}, *const no[] = {"false", "0", "no"};
    char shown[96];
    if (cJSON_IsBool(v)) {
        *out = cJSON_CreateBool(cJSON_IsTrue(v));
        return *out ? 0 : oom(err);
    }
    if (cJSON_IsNumber(v) && (v->valuedouble == 0 || v->valuedouble == 1)) {
        *out = cJSON_CreateBool(v->valuedouble == 1);
        return *out ? 0 : oom(err);
    }
    if (cJSON_IsString(v)) {
        for (size_t k = 0; k < 3; k++) {
            if (strcasecmp(v->valuestring, yes[k]) == 0 || strcasecmp(v->valuestring, no[k]) == 0) {
                *out = cJSON_CreateBool(strcasecmp(v->valuestring, yes[k]) == 0);
                return *out ? 0 : oom(err);
            }
        }
    }
    rpc_preview(v, shown, sizeof shown);
    return err_set(err, ERR_OPTION,
                   "option %s: %s is not a boolean (want true or false, or one of the strings "
                   "\"true\", \"false\", \"yes\", \"no\", \"1\", \"0\")", d->name, shown);
}

static int parse_int(const struct decl *d, const cJSON *v, cJSON **out, struct err *err)
{
    char shown[96];
    long long x = 0;
    rpc_preview(v, shown, sizeof shown);
    if (cJSON_IsNumber(v)) {
        double f = v->valuedouble;
        if (f != floor(f) || fabs(f) > 9e15)
            return err_set(err, ERR_OPTION, "option %s: %s is not an integer (want an integer "
                           "from %lld to %lld)", d->name, shown, d->min, d->max);
        x = (long long)f;
    } else if (cJSON_IsString(v)) {
        const char *s = v->valuestring;
        while (isspace((unsigned char)*s))
            s++;
        char *end = NULL;
        errno = 0;
        long long y = strtoll(s, &end, 10);
        while (end && isspace((unsigned char)*end))
            end++;
        /* strtoll alone would take "0x10" as 0 and " 12abc" as 12: insist on digits only */
        bool digits = *s && (isdigit((unsigned char)*s) ||
                             ((*s == '-' || *s == '+') && isdigit((unsigned char)s[1])));
        if (!digits || !end || *end || errno == ERANGE)
            return err_set(err, ERR_OPTION, "option %s: %s is not a decimal integer (want an "
                           "integer from %lld to %lld, as a number or a string of digits)",
                           d->name, shown, d->min, d->max);
        x = y;
    } else {
        return err_set(err, ERR_OPTION, "option %s: %s is %s, not an integer (want an integer "
                       "from %lld to %lld)", d->name, shown, rpc_type_name(v), d->min, d->max);
    }
    if (x < d->min || x > d->max)
        return err_set(err, ERR_OPTION, "option %s: %lld is out of range (want an integer from "
                       "%lld to %lld)", d->name, x, d->min, d->max);
    *out = cJSON_CreateNumber((double)x);
    return *out ? 0 : oom(err);
}

/* One compile definition: trimmed by the caller, -D dropped here; NAME or NAME=VALUE, NAME a
 * C identifier, no ';' (it separates CMake list items) and no control characters. */
static int add_definition(const struct decl *d, const char *s, size_t len, cJSON *list,
                          struct err *err)
{
    if (len >= 2 && s[0] == '-' && s[1] == 'D') {
        s += 2;
        len -= 2;
    }
    char shown[96];
    snprintf(shown, sizeof shown, "%.*s", len > 80 ? 80 : (int)len, s);
    size_t k = 0;
    bool ok = len > 0 && (isalpha((unsigned char)s[0]) || s[0] == '_');
    while (ok && k < len && s[k] != '=') {
        ok = isalnum((unsigned char)s[k]) || s[k] == '_';
        k++;
    }
    for (size_t j = k; ok && j < len; j++)
        ok = s[j] != ';' && (unsigned char)s[j] >= 0x20;
    if (!ok)
        return err_set(err, ERR_OPTION, "option %s: \"%s\" is not a definition (want NAME or "
                       "NAME=VALUE, NAME a C identifier, no ';' in VALUE)", d->name, shown);
    char value[OPT_STR_MAX];
    snprintf(value, sizeof value, "%.*s", (int)len, s);
    char what[64];
    snprintf(what, sizeof what, "option %s", d->name);
    int vrc = opt_check_build_text(ERR_OPTION, what, value, err);
    if (vrc < 0)
        return vrc;
    if (cJSON_GetArraySize(list) >= OPT_DEFS_MAX)
        return err_set(err, ERR_OPTION, "option %s: more than %d definitions", d->name,
                       OPT_DEFS_MAX);
    char *copy = strndup(s, len);
    cJSON *item = copy ? cJSON_CreateString(copy) : NULL;
    free(copy);
    if (!item || !cJSON_AddItemToArray(list, item)) {
        cJSON_Delete(item);
        return oom(err);
    }
    return 0;
}

/* Splits a string on whitespace into definitions. */
static int split_definitions(const struct decl *d, const char *s, cJSON *list, struct err *err)
{
    while (*s) {
        while (isspace((unsigned char)*s))
            s++;
        const char *start = s;
        while (*s && !isspace((unsigned char)*s))
            s++;
        if (s > start) {
            int rc = add_definition(d, start, (size_t)(s - start), list, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static int parse_definitions(const struct decl *d, const cJSON *v, cJSON **out, struct err *err)
{
    char shown[96];
    int rc = 0;
    cJSON *list = cJSON_CreateArray();
    if (!list)
        return oom(err);
    if (cJSON_IsString(v)) {
        rc = split_definitions(d, v->valuestring, list, err);
    } else if (cJSON_IsArray(v)) {
        for (const cJSON *e = v->child; e && rc == 0; e = e->next) {
            if (!cJSON_IsString(e)) {
                rpc_preview(e, shown, sizeof shown);
                rc = err_set(err, ERR_OPTION, "option %s: list item %s is %s (want strings "
                             "such as \"NAME=VALUE\")", d->name, shown, rpc_type_name(e));
                break;
            }
            /* one list item is one definition: trim it, but keep inner spaces in VALUE */
            const char *s = e->valuestring;
            size_t len = strlen(s);
            while (len && isspace((unsigned char)*s))
                s++, len--;
            while (len && isspace((unsigned char)s[len - 1]))
                len--;
            if (len)
                rc = add_definition(d, s, len, list, err);
        }
    } else {
        rpc_preview(v, shown, sizeof shown);
        rc = err_set(err, ERR_OPTION, "option %s: %s is %s (want a string of space-separated "
                     "NAME[=VALUE] or a list of them)", d->name, shown, rpc_type_name(v));
    }
    if (rc < 0) {
        cJSON_Delete(list);
        return rc;
    }
    size_t total = 0;
    for (const cJSON *e = list->child; e; e = e->next)
        total += strlen(e->valuestring) + 1;
    if (total > OPT_STR_MAX) {
        cJSON_Delete(list);
        return err_set(err, ERR_OPTION, "option %s: the definitions add up to %zu bytes (at most "
                       "%d)", d->name, total - 1, OPT_STR_MAX - 1);
    }
    if (cJSON_GetArraySize(list) == 0) { /* nothing to define is the same as unset */
        cJSON_Delete(list);
        list = cJSON_CreateNull();
    }
    *out = list;
    return *out ? 0 : oom(err);
}

static int parse_str(const struct opt_table *t, size_t i, const cJSON *v, cJSON **out,
                     struct err *err)
{
    const struct decl *d = &decls[i];
    char shown[96], accepted[512];
    rpc_preview(v, shown, sizeof shown);
    if (!cJSON_IsString(v)) {
        if (has_choices(i)) {
            list_choices(t, i, accepted, sizeof accepted);
            return err_set(err, ERR_OPTION, "option %s: %s is %s, not a string (want one of: "
                           "%s)", d->name, shown, rpc_type_name(v), accepted);
        }
        return err_set(err, ERR_OPTION, "option %s: %s is %s, not a string", d->name, shown,
                       rpc_type_name(v));
    }
    if (strlen(v->valuestring) >= OPT_STR_MAX)
        return err_set(err, ERR_OPTION, "option %s: the value is %zu bytes long (at most %d)",
                       d->name, strlen(v->valuestring), OPT_STR_MAX - 1);
    if (has_choices(i)) {
        if (n_choices(t, i) == 0)
            return err_set(err, ERR_OPTION, "option %s: %s: no boards are installed (the "
                           "machines directory has no *.json files)", d->name, shown);
        bool found = false;
        for (size_t k = 0; k < n_choices(t, i) && !found; k++)
            found = strcmp(v->valuestring, choice(t, i, k)) == 0;
        if (!found) {
            list_choices(t, i, accepted, sizeof accepted);
            return err_set(err, ERR_OPTION, "option %s: %s is not one of: %s", d->name, shown,
                           accepted);
        }
    }
    /* a free-text value (a path) reaches build files and command lines; an ignored one is
     * only accepted and dropped, so any string (TVM's tracker keys) is fine there */
    if (!has_choices(i) && !(d->flags & D_IGNORED)) {
        char what[64];
        snprintf(what, sizeof what, "option %s", d->name);
        int rc = opt_check_build_text(ERR_OPTION, what, v->valuestring, err);
        if (rc < 0)
            return rc;
    }
    *out = cJSON_CreateString(v->valuestring);
    return *out ? 0 : oom(err);
}

int opt_check_build_text(int code, const char *what, const char *value, struct err *err)
{
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != 0x7f && !strchr("\"\\$`;", c))
            continue;
        char shown[96];
        size_t k = 0;
        for (const char *q = value; *q && k + 5 < sizeof shown; q++) /* the value, made visible */
            k += (size_t)snprintf(shown + k, sizeof shown - k,
                                  (unsigned char)*q < 0x20 || *q == 0x7f ? "\\x%02x" : "%c",
                                  (unsigned char)*q);
        char bad[8];
        snprintf(bad, sizeof bad, c < 0x20 || c == 0x7f ? "\\x%02x" : "'%c'", c);
        return err_set(err, code, "%s: \"%s\" holds %s (character %zu), which a "
                       "build file or command line cannot carry safely (no control characters, "
                       "quotes, backslash, $, ` or ;); rename it", what, shown, bad,
                       (size_t)(p - value) + 1);
    }
    return 0;
}

static const char *declared_names(char *out, size_t outsz)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_DECLS && used < outsz; i++) {
        int w = snprintf(out + used, outsz - used, "%s%s", i ? ", " : "", decls[i].name);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return out;
}

int opt_normalize(const struct opt_table *t, const cJSON *in, cJSON **out, struct err *err)
{
    int rc = 0;
    cJSON *res = NULL;
    char names[640];
    if (in && !cJSON_IsNull(in) && !cJSON_IsObject(in))
        return err_set(err, ERR_PARAMS, "options must be an object, not %s", rpc_type_name(in));
    if (!(res = cJSON_CreateObject()))
        return oom(err);
    cJSON *given[N_DECLS] = {0};
    for (const cJSON *v = in ? in->child : NULL; v; v = v->next) {
        int i = find_decl(v->string);
        if (i < 0) {
            char shown[80];
            snprintf(shown, sizeof shown, "%s", v->string);
            rc = err_set(err, ERR_OPTION, "unknown option \"%s\" (declared options: %s)", shown,
                         declared_names(names, sizeof names));
            goto out;
        }
        if (given[i]) {
            rc = err_set(err, ERR_OPTION, "option %s is given twice", decls[i].name);
            goto out;
        }
        given[i] = (cJSON *)v;
    }
    for (size_t i = 0; i < N_DECLS; i++) {
        const cJSON *v = given[i];
        cJSON *value = NULL;
        if (!v || cJSON_IsNull(v) || (cJSON_IsString(v) && is_blank(v->valuestring)))
            value = cJSON_CreateNull(); /* null and "" both mean "not set" */
        else if (decls[i].type == T_BOOL)
            rc = parse_bool(&decls[i], v, &value, err);
        else if (decls[i].type == T_INT)
            rc = parse_int(&decls[i], v, &value, err);
        else if (strcmp(decls[i].name, "compile_definitions") == 0)
            rc = parse_definitions(&decls[i], v, &value, err);
        else
            rc = parse_str(t, i, v, &value, err);
        if (rc < 0)
            goto out;
        if (!value || !cJSON_AddItemToObject(res, decls[i].name, value)) {
            cJSON_Delete(value);
            rc = oom(err);
            goto out;
        }
    }
    *out = res;
    res = NULL;
out:
    cJSON_Delete(res);
    return rc;
}

int opt_require(const struct opt_table *t, const cJSON *normalized, enum opt_method method,
                struct err *err)
{
    static const char *const names[] = {"generate_project", "build", "flash", "open_transport"};
    const char *mname = "?";
    for (size_t k = 0; k < 4; k++)
        if (method == 1u << k)
            mname = names[k];
    for (size_t i = 0; i < N_DECLS; i++) {
        if (!(decls[i].required & method))
            continue;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(normalized, decls[i].name);
        if (v && !cJSON_IsNull(v))
            continue;
        char accepted[512];
        if (has_choices(i) && n_choices(t, i) > 0) {
            list_choices(t, i, accepted, sizeof accepted);
            return err_set(err, ERR_OPTION, "%s needs option %s (one of: %s)", mname,
                           decls[i].name, accepted);
        }
        if (decls[i].flags & D_BOARDS)
            return err_set(err, ERR_OPTION, "%s needs option %s, but no boards are installed "
                           "(the machines directory has no *.json files)", mname,
                           decls[i].name);
        return err_set(err, ERR_OPTION, "%s needs option %s", mname, decls[i].name);
    }
    return 0;
}

/* Copies a normalized string option into out, or "" when unset. */
static void get_str(const cJSON *n, const char *name, char *out, size_t outsz, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(n, name);
    snprintf(out, outsz, "%s", cJSON_IsString(v) ? v->valuestring : def);
}

static bool get_bool(const cJSON *n, const char *name, bool def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(n, name);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static long long get_int(const cJSON *n, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(n, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

void opt_get(const cJSON *n, struct options *o)
{
    memset(o, 0, sizeof *o);
    o->verbose = get_bool(n, "verbose", false);
    get_str(n, "project_type", o->project_type, sizeof o->project_type, "");
    get_str(n, "board", o->board, sizeof o->board, "");
    get_str(n, "cmsis_path", o->cmsis_path, sizeof o->cmsis_path, "");
    o->warning_as_error = get_bool(n, "warning_as_error", false);
    const cJSON *defs = cJSON_GetObjectItemCaseSensitive(n, "compile_definitions");
    size_t used = 0;
    for (const cJSON *e = cJSON_IsArray(defs) ? defs->child : NULL; e; e = e->next) {
        int w = snprintf(o->compile_definitions + used, sizeof o->compile_definitions - used,
                         "%s%s", used ? ";" : "", e->valuestring);
        if (w < 0 || (size_t)w >= sizeof o->compile_definitions - used)
            break; /* cannot happen: opt_normalize bounds the total */
        used += (size_t)w;
        o->n_compile_definitions++;
    }
    get_str(n, "extra_files_tar", o->extra_files_tar, sizeof o->extra_files_tar, "");
    o->workspace_size_bytes = get_int(n, "workspace_size_bytes");
    get_str(n, "libc", o->libc, sizeof o->libc, "picolibc");
    get_str(n, "opt_level", o->opt_level, sizeof o->opt_level, "2");
    o->deterministic = get_bool(n, "deterministic", true);
    o->gdbserver_port = (int)get_int(n, "gdbserver_port");
    o->session_start_timeout_sec = (int)get_int(n, "session_start_timeout_sec");
    o->session_established_timeout_sec = (int)get_int(n, "session_established_timeout_sec");
    o->build_timeout_s = (int)get_int(n, "build_timeout_s");
    get_str(n, "link", o->link, sizeof o->link, "uart");
}
