/*
 * generate_project: turns a template, a Model Library Format archive and options into a
 * self-contained project directory (docs/PROTOCOL.md "The generated project"). Every check that
 * can fail on the caller's input runs before the directory is created, and any failure after
 * that removes the directory again, so a retry never meets a half-made project. The project is
 * made in a hidden sibling (".<name>.generating-<pid>-XXXXXX") and renamed into place at the
 * end, so even a server killed mid-way (SIGKILL: no cleanup possible) leaves no half project
 * under the name asked for, and the next generate beside it sweeps the dead one's staging.
 * project.json is written last: its presence is what makes a directory a generated project.
 */
#include "project_internal.h"

#include "fast_link.h"
#include "fs.h"
#include "log.h"
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the firmware keeps for itself at the top of RAM (firmware/CMakeLists.txt: the stack,
 * MTQ_STACK_BYTES, and the 16 bytes of docs/BOARD_CONTRACT.md "Board RAM reservations"), plus
 * a margin for .data, .bss and the libc's heap. The linker has the last word; this catches the
 * hopeless cases with a message instead of a linker error. */
#define GEN_STACK_BYTES 0x10000u
#define GEN_RESERVED_BYTES 16u
#define GEN_MARGIN_BYTES 0x4000u

/* A growing string; out of memory makes it "failed" and every later append a no-op. */
struct buf {
    char *s;
    size_t len, cap;
    bool failed;
};

static void buf_add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_add(struct buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* A CMake quoted argument: backslash, quote and dollar escaped. */
static void buf_add_cmake_str(struct buf *b, const char *s)
{
    buf_add(b, "\"");
    for (; *s; s++) {
        if (*s == '\\' || *s == '"' || *s == '$')
            buf_add(b, "\\%c", *s);
        else
            buf_add(b, "%c", *s);
    }
    buf_add(b, "\"");
}

/* Everything generate decides, before anything is written. */
struct plan {
    struct options opt;
    struct machine board;
    char project_dir[PATH_MAX];
    char mlf_path[PATH_MAX];        /* "" for none */
    char crt_from[PATH_MAX];        /* "" when the CRT comes from model/runtime or is not needed */
    bool crt_from_model;
    bool crt_needed;
    char cmsis_path[PATH_MAX];
    uint64_t workspace_bytes;
    bool workspace_from_option;
    bool aot_demo;                  /* asked for as aot_standalone_demo */
};

static bool is_blank(const char *s)
{
    return !s || !s[0];
}

/* path made absolute against the working directory (no symlink resolution: the parent of a
 * project directory may not exist yet). */
static int absolute(const char *path, char *out, size_t outsz, struct err *err)
{
    if (path[0] == '/') {
        if ((size_t)snprintf(out, outsz, "%s", path) >= outsz)
            return err_set(err, ERR_PARAMS, "%s: path too long", path);
        return 0;
    }
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return err_errno(err, "getcwd");
    return fs_join(out, outsz, cwd, path, err);
}

/* A standalone CRT has TVM's headers under include/tvm/runtime/crt (the firmware build checks
 * the rest); caught here so that a wrong directory fails generate_project, not a later build. */
static int check_crt(const char *dir, const char *what, struct err *err)
{
    char inc[PATH_MAX];
    int rc = fs_join(inc, sizeof inc, dir, "include/tvm/runtime/crt", err);
    if (rc == 0 && !fs_is_dir(inc))
        rc = err_set(err, ERR_INVALID, "%s %s has no include/tvm/runtime/crt: it is not TVM's "
                     "standalone C runtime; pass tvm.micro.get_standalone_crt_dir()", what, dir);
    return rc;
}

static int plan_paths(struct plan *p, const char *mlf_path, const char *crt_dir,
                      const char *project_dir, struct err *err)
{
    if (is_blank(project_dir))
        return err_set(err, ERR_PARAMS, "project_dir is empty; pass the directory to create");
    int rc = absolute(project_dir, p->project_dir, sizeof p->project_dir, err);
    if (rc < 0)
        return rc;
    size_t n = strlen(p->project_dir);
    while (n > 1 && p->project_dir[n - 1] == '/')
        p->project_dir[--n] = '\0';
    /* the project's path reaches build.ninja through CMake */
    if ((rc = opt_check_build_text(ERR_PARAMS, "project_dir", p->project_dir, err)) < 0)
        return rc;
    if (fs_exists(p->project_dir))
        return err_set(err, ERR_INVALID, "project_dir %s already exists; choose a new directory "
                       "or remove it first", p->project_dir);

    bool needs_model = strcmp(p->opt.project_type, "echo") != 0;
    if (is_blank(mlf_path)) {
        if (needs_model)
            return err_set(err, ERR_PARAMS, "project_type %s needs a model: pass "
                           "model_library_format_path (a tar from "
                           "tvm.micro.export_model_library_format)", p->opt.project_type);
    } else {
        if ((rc = absolute(mlf_path, p->mlf_path, sizeof p->mlf_path, err)) < 0)
            return rc;
        struct stat st;
        if (stat(p->mlf_path, &st) < 0)
            return err_errno(err, "model_library_format_path %s", p->mlf_path);
        if (!S_ISREG(st.st_mode))
            return err_set(err, ERR_INVALID, "model_library_format_path %s: not a file; pass "
                           "the .tar that export_model_library_format wrote", p->mlf_path);
    }

    p->crt_needed = !strcmp(p->opt.project_type, "host_driven");
    if (p->crt_needed && !is_blank(crt_dir)) {
        if ((rc = absolute(crt_dir, p->crt_from, sizeof p->crt_from, err)) < 0)
            return rc;
        if (!fs_is_dir(p->crt_from))
            return err_set(err, ERR_INVALID, "standalone_crt_dir %s is not a directory; pass "
                           "tvm.micro.get_standalone_crt_dir()", p->crt_from);
        if ((rc = check_crt(p->crt_from, "standalone_crt_dir", err)) < 0)
            return rc;
    }

    if (p->opt.cmsis_path[0] &&
        (rc = proj__check_cmsis_path(p->opt.cmsis_path, p->cmsis_path, sizeof p->cmsis_path,
                                     err)) < 0)
        return rc;
    if (p->opt.extra_files_tar[0] && !fs_exists(p->opt.extra_files_tar))
        return err_set(err, ERR_INVALID, "extra_files_tar %s does not exist",
                       p->opt.extra_files_tar);
    return proj__check_definitions(p->opt.compile_definitions, err);
}

int proj__check_definitions(const char *defs, struct err *err)
{
    for (const char *d = defs; *d; d++)
        if (*d == '\n' || *d == '"' || *d == '\\' || *d == '$')
            return err_set(err, ERR_OPTION, "compile_definitions: '%s' holds a character a "
                           "definition cannot carry (newline, quote, backslash or $)", defs);
    return 0;
}

int proj__check_libc(const struct machine *board, const char *libc, struct err *err)
{
    if (mach_has_libc(board, libc))
        return 0;
    char list[128] = "";
    for (size_t i = 0; i < board->n_libcs; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 board->libcs[i]);
    return err_set(err, ERR_OPTION, "libc %s is not available on %s; it has %s", libc,
                   board->name, list);
}

static int plan_board(struct plan *p, const char *template_dir, const cJSON *options,
                      struct err *err)
{
    /* project_type, board and opt_level were required and checked against their choices by
     * the option table (opt_normalize, opt_require) */
    /* TVM's Zephyr name: aot_standalone fed from include/tvm/input_data.h */
    if (!strcmp(p->opt.project_type, "aot_standalone_demo")) {
        snprintf(p->opt.project_type, sizeof p->opt.project_type, "aot_standalone");
        p->aot_demo = true;
    }
    char machines[PATH_MAX];
    int rc = fs_join(machines, sizeof machines, template_dir, "machines", err);
    if (rc == 0)
        rc = mach_load_by_name(&p->board, machines, p->opt.board, err);
    if (rc < 0)
        return rc;
    /* an unset libc means the board's own default rather than picolibc everywhere */
    const cJSON *libc = cJSON_GetObjectItemCaseSensitive(options, "libc");
    if ((!libc || cJSON_IsNull(libc)) && p->board.n_libcs > 0 &&
        !mach_has_libc(&p->board, p->opt.libc))
        snprintf(p->opt.libc, sizeof p->opt.libc, "%s", p->board.libcs[0]);
    if ((rc = proj__check_libc(&p->board, p->opt.libc, err)) < 0)
        return rc;
    /* the firmware is built for one link: a board without a fast link cannot have it */
    return fast_link_check_board(&p->board, p->opt.link, machines, err);
}

int proj__check_workspace(const struct machine *board, uint64_t bytes, const char *why,
                          struct err *err)
{
    uint64_t ram = board->ram.size;
    uint64_t kept = GEN_STACK_BYTES + GEN_RESERVED_BYTES + GEN_MARGIN_BYTES;
    uint64_t room = ram > kept ? ram - kept : 0;
    if (bytes > room)
        return err_set(err, ERR_INVALID, "workspace of %" PRIu64 " bytes%s does not fit %s: its "
                       "RAM is %" PRIu64 " bytes and at most %" PRIu64 " are left after the "
                       "stack and data; set workspace_size_bytes to %" PRIu64 " or less, or "
                       "choose a board with more RAM", bytes, why, board->name, ram, room, room);
    return 0;
}

/* A character that must not reach a build file through a path: CMake writes include
 * directories into build.ninja unescaped, so a newline there adds rules. */
int proj__check_cmsis_path(const char *value, char *out, size_t outsz, struct err *err)
{
    char real[PATH_MAX], shown[128];
    int rc = opt_check_build_text(ERR_OPTION, "option cmsis_path", value, err);
    if (rc < 0)
        return rc;
    snprintf(shown, sizeof shown, "%s", value);
    if (!realpath(value, real))
        return err_set(err, ERR_OPTION, "option cmsis_path: %s: %s; pass the root of a "
                       "CMSIS-NN or CMSIS_5 checkout", shown, strerror(errno));
    if (!fs_is_dir(real))
        return err_set(err, ERR_OPTION, "option cmsis_path: %s is not a directory; pass the "
                       "root of a CMSIS-NN or CMSIS_5 checkout", shown);
    /* a link can lead to a name the option itself did not hold */
    if ((rc = opt_check_build_text(ERR_OPTION, "option cmsis_path (resolved)", real, err)) < 0)
        return rc;
    if ((size_t)snprintf(out, outsz, "%s", real) >= outsz)
        return err_set(err, ERR_OPTION, "option cmsis_path: %s: path too long", shown);
    return 0;
}

/* The arena size: the option when given; otherwise what the firmware would pick by itself
 * (firmware/cmake/aot_standalone.cmake: twice the model's figure plus 1 KiB), and at least
 * the board's default for host_driven, whose CRT allocates more than the model's workspace. */
static int plan_workspace(struct plan *p, const struct proj_mlf *mlf, struct err *err)
{
    uint64_t model = mlf ? proj__mlf_workspace(mlf) : 0;
    if (p->opt.workspace_size_bytes >= 0) {
        p->workspace_bytes = (uint64_t)p->opt.workspace_size_bytes;
        p->workspace_from_option = true;
    } else if (!strcmp(p->opt.project_type, "aot_standalone")) {
        p->workspace_bytes = model * 2 + 1024;
    } else {
        p->workspace_bytes = p->board.default_workspace_bytes;
        if (model * 2 + 1024 > p->workspace_bytes && mlf)
            p->workspace_bytes = model * 2 + 1024;
    }
    int rc = proj__check_workspace(&p->board, p->workspace_bytes, p->workspace_from_option ?
                                   " (workspace_size_bytes)" :
                                   " (twice the model's workspace_size_bytes, plus 1 KiB)", err);
    if (rc < 0)
        return rc;
    if (mlf && p->workspace_bytes < model)
        log_warn("workspace_size_bytes %" PRIu64 " is less than the %" PRIu64 " bytes the "
                 "model asks for: inference will fail with 'workspace exhausted'",
                 p->workspace_bytes, model);
    return 0;
}

/* Copies what the template contributes: launcher, server, the one machine file, boards.json,
 * firmware. */
static int copy_template(const struct plan *p, const char *template_dir, struct err *err)
{
    static const char *const files[] = {"launch_microtvm_api_server.sh", "microtvm-qemu-server"};
    char from[PATH_MAX], to[PATH_MAX];
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof files / sizeof files[0]; i++) {
        rc = fs_join(from, sizeof from, template_dir, files[i], err);
        if (rc == 0)
            rc = fs_join(to, sizeof to, p->project_dir, files[i], err);
        if (rc == 0 && !fs_exists(from))
            rc = err_set(err, ERR_INVALID, "%s: missing from the template; rebuild the template "
                         "(ninja template_project)", from);
        if (rc == 0)
            rc = fs_copy_file(from, to, err);
    }
    char name[MACH_NAME_MAX + 16];
    snprintf(name, sizeof name, "machines/%s.json", p->board.name);
    if (rc == 0 && (rc = fs_join(to, sizeof to, p->project_dir, "machines", err)) == 0)
        rc = fs_mkdir_p(to, err);
    if (rc == 0 && (rc = fs_join(to, sizeof to, p->project_dir, name, err)) == 0)
        rc = fs_copy_file(p->board.path, to, err);
    if (rc == 0 && (rc = fs_join(from, sizeof from, template_dir, "firmware", err)) == 0 &&
        (rc = fs_join(to, sizeof to, p->project_dir, "firmware", err)) == 0)
        rc = fs_copy_tree(from, to, err);
    /* TVM's boards.json (board -> target model), for tools that read it from a project */
    if (rc == 0 && (rc = fs_join(from, sizeof from, template_dir, "boards.json", err)) == 0 &&
        fs_exists(from) && (rc = fs_join(to, sizeof to, p->project_dir, "boards.json", err)) == 0)
        rc = fs_copy_file(from, to, err);
    if (rc == 0 &&
        (rc = fs_join(from, sizeof from, template_dir, "firmware/project/CMakeLists.txt",
                      err)) == 0 &&
        (rc = fs_join(to, sizeof to, p->project_dir, "CMakeLists.txt", err)) == 0)
        rc = fs_copy_file(from, to, err);
    return rc;
}

/* model_tensors.cmake, for aot_standalone: the metadata read once here (linear), not per tensor
 * by CMake (quadratic in the tensors: a hostile metadata.json could stall the build). */
static int write_tensors(const struct plan *p, const struct proj_mlf *mlf, struct err *err)
{
    char path[PATH_MAX];
    int rc = fs_join(path, sizeof path, p->project_dir, "model_tensors.cmake", err);
    return rc < 0 ? rc : proj__mlf_write_tensors(mlf, path, err);
}

/* Whether generate wrote model_tensors.cmake (also asked when build rewrites project.cmake). */
static bool has_tensor_table(const char *project_dir)
{
    char path[PATH_MAX];
    struct err ignored;
    return fs_join(path, sizeof path, project_dir, "model_tensors.cmake", &ignored) == 0 &&
           fs_exists(path);
}

/* project.cmake: the firmware's configuration, paths relative to the project so that the
 * directory can be moved (firmware/project/CMakeLists.txt makes them absolute). */
int proj__write_project_cmake(const char *project_dir, const struct project_record *s,
                              struct err *err)
{
    struct buf b = {0};
    buf_add(&b, "# Written by generate_project (microtvm-qemu); read by CMakeLists.txt.\n"
                "# Paths are relative to this directory. Edit and rebuild: build reconfigures.\n");
    buf_add(&b, "set(MTQ_PROJECT_TYPE \"%s\")\n", s->project_type);
    buf_add(&b, "set(MTQ_BOARD \"%s\")\n", s->board);
    buf_add(&b, "set(MTQ_MACHINE_FILE \"machines/%s.json\")\n", s->board);
    buf_add(&b, "set(MTQ_LIBC \"%s\")\n", s->libc);
    buf_add(&b, "set(MTQ_OPT_LEVEL \"%s\")\n", s->opt_level);
    buf_add(&b, "set(MTQ_MODEL_DIR \"%s\")\n", s->has_model ? "model" : "");
    buf_add(&b, "set(MTQ_CRT_DIR \"%s\")\n", s->has_crt ? "crt" : "");
    buf_add(&b, "set(MTQ_WORKSPACE_BYTES %" PRIu64 ")\n", s->workspace_bytes);
    buf_add(&b, "set(MTQ_COMPILE_DEFINITIONS ");
    buf_add_cmake_str(&b, s->compile_definitions ? s->compile_definitions : "");
    buf_add(&b, ")\nset(MTQ_WARNING_AS_ERROR %s)\n", s->warning_as_error ? "ON" : "OFF");
    buf_add(&b, "set(MTQ_CMSIS_PATH ");
    buf_add_cmake_str(&b, s->cmsis_path);
    buf_add(&b, ")\nset(MTQ_AOT_DEMO %s)\n", s->aot_demo ? "ON" : "OFF");
    buf_add(&b, "set(MTQ_LINK \"%s\")\n", s->link[0] ? s->link : "uart");
    if (has_tensor_table(project_dir)) /* firmware/aot/model_table.cmake reads it, not the JSON */
        buf_add(&b, "set(MTQ_AOT_TABLE_FILE \"model_tensors.cmake\")\n");
    char path[PATH_MAX];
    int rc = b.failed ? err_set(err, -ENOMEM, "project.cmake: out of memory") : 0;
    if (rc == 0)
        rc = fs_join(path, sizeof path, project_dir, "project.cmake", err);
    if (rc == 0)
        rc = fs_write_file(path, b.s, b.len, err);
    free(b.s);
    return rc;
}

/* What the plan decided, as the project records it (compile_definitions points into p). */
static void plan_record(const struct plan *p, bool has_model, struct project_record *s)
{
    _Static_assert(sizeof s->board == MACH_NAME_MAX, "a board name fits the record");
    *s = (struct project_record){.warning_as_error = p->opt.warning_as_error,
                                 .workspace_bytes = p->workspace_bytes,
                                 .compile_definitions = (char *)p->opt.compile_definitions,
                                 .has_crt = p->crt_needed,
                                 .has_model = has_model,
                                 .aot_demo = p->aot_demo};
    snprintf(s->project_type, sizeof s->project_type, "%s", p->opt.project_type);
    snprintf(s->board, sizeof s->board, "%s", p->board.name);
    snprintf(s->libc, sizeof s->libc, "%s", p->opt.libc);
    snprintf(s->opt_level, sizeof s->opt_level, "%s", p->opt.opt_level);
    snprintf(s->cmsis_path, sizeof s->cmsis_path, "%s", p->cmsis_path);
    snprintf(s->link, sizeof s->link, "%s", p->opt.link);
}

static int write_project_cmake(const struct plan *p, bool has_model, struct err *err)
{
    struct project_record s;
    plan_record(p, has_model, &s);
    return proj__write_project_cmake(p->project_dir, &s, err);
}

static int write_project_json(const struct plan *p, const cJSON *options,
                              const struct proj_mlf *mlf, struct err *err)
{
    struct project_record r;
    plan_record(p, mlf != NULL, &r);
    struct record_extras x = {.options = options, .model = NULL,
                              .crt_source = !p->crt_needed      ? ""
                                            : p->crt_from_model ? "model/runtime"
                                                                : p->crt_from};
    if (mlf && !(x.model = proj__mlf_to_json(mlf)))
        return err_set(err, -ENOMEM, RECORD_FILE ": out of memory");
    return record_write(p->project_dir, &r, &x, err);
}

/* The MLF: copy, extract, read, and check it suits the project type. *mlf is filled. */
static int bring_model(struct plan *p, struct proj_mlf *mlf, struct err *err)
{
    char tar[PATH_MAX], dir[PATH_MAX];
    int rc = fs_join(tar, sizeof tar, p->project_dir, "model.tar", err);
    if (rc == 0)
        rc = fs_join(dir, sizeof dir, p->project_dir, "model", err);
    if (rc == 0)
        rc = fs_copy_file(p->mlf_path, tar, err);
    if (rc == 0)
        rc = proj__extract(tar, dir, err);
    if (rc == 0)
        rc = proj__mlf_read(mlf, dir, err);
    if (rc < 0)
        return rc;
    const char *type = p->opt.project_type;
    if (!strcmp(type, "aot_standalone") && proj__mlf_is_operator(mlf))
        return err_set(err, ERR_INVALID, "model.tar is an operator library (metadata.json style "
                       "\"operator\", from tvm.build): aot_standalone runs a whole model on "
                       "its own; generate it as host_driven (TVM calls the operator over RPC, as "
                       "AutoTVM does), or export a model from relay.build with "
                       "Executor(\"aot\", {\"interface-api\": \"c\"})");
    if (!strcmp(type, "aot_standalone") && !proj__mlf_has_executor(mlf, "aot"))
        return err_set(err, ERR_INVALID, "model.tar: aot_standalone needs a model built with "
                       "the AOT executor (metadata.json lists executors '%s'); build it with "
                       "Executor(\"aot\", {\"interface-api\": \"c\"}) or use host_driven",
                       mlf->n_modules ? mlf->modules[0].executor : "");
    if (strcmp(type, "echo") && !mlf->has_host_src && !mlf->has_host_lib)
        return err_set(err, ERR_INVALID, "model.tar: no codegen/host/src (and no "
                       "codegen/host/lib); was the model compiled for the c or llvm target?");
    return 0;
}

static int bring_crt(struct plan *p, const struct proj_mlf *mlf, struct err *err)
{
    char to[PATH_MAX], from[PATH_MAX];
    int rc = fs_join(to, sizeof to, p->project_dir, "crt", err);
    if (rc < 0)
        return rc;
    if (p->crt_from[0])
        return fs_copy_tree(p->crt_from, to, err);
    if (mlf && mlf->has_runtime) {
        p->crt_from_model = true;
        if ((rc = fs_join(from, sizeof from, p->project_dir, "model/runtime", err)) < 0 ||
            (rc = check_crt(from, "model.tar's runtime/", err)) < 0)
            return rc;
        return fs_copy_tree(from, to, err);
    }
    return err_set(err, ERR_INVALID, "host_driven needs TVM's standalone C runtime: pass "
                   "standalone_crt_dir (tvm.micro.get_standalone_crt_dir()), or export a model "
                   "whose MLF carries runtime/ (AOT executor with the crt runtime)");
}

/* Makes the hidden sibling a project is generated in: "<parent>/.<name>.generating-<pid>-XXXXXX",
 * creating the parent if needed, with the permissions a plain mkdir would give (mkdtemp's are
 * 0700). Staging left by a server that was killed mid-generate is swept first, by its pid. */
static int make_staging(const char *project_dir, char *out, size_t outsz, struct err *err)
{
    char a[PATH_MAX], b[PATH_MAX];
    snprintf(a, sizeof a, "%s", project_dir);
    snprintf(b, sizeof b, "%s", project_dir);
    const char *parent = dirname(a), *name = basename(b);
    int rc = fs_mkdir_p(parent, err);
    if (rc < 0)
        return rc;
    char prefix[NAME_MAX + 32];
    snprintf(prefix, sizeof prefix, ".%s.generating-", name);
    fs_sweep_dead_owners(parent, prefix);
    if ((size_t)snprintf(out, outsz, "%s/%s%ld-XXXXXX", parent, prefix, (long)getpid()) >= outsz)
        return err_set(err, ERR_PARAMS, "%s: path too long", project_dir);
    if (!mkdtemp(out))
        return err_errno(err, "%s", project_dir);
    mode_t mask = umask(0);
    umask(mask);
    chmod(out, 0777 & ~mask);
    return 0;
}

int proj_generate(const char *template_dir, const char *mlf_path, const char *crt_dir,
                   const char *project_dir, const cJSON *options, struct err *err)
{
    struct plan *p = calloc(1, sizeof *p);
    char final_dir[PATH_MAX], staging[PATH_MAX];
    struct proj_mlf mlf = {0};
    bool have_mlf = false, created = false;
    int rc = 0;
    if (!p)
        return err_set(err, -ENOMEM, "generate_project: out of memory");
    opt_get(cJSON_IsObject(options) ? options : NULL, &p->opt);

    if ((rc = plan_board(p, template_dir, options, err)) < 0 ||
        (rc = plan_paths(p, mlf_path, crt_dir, project_dir, err)) < 0)
        goto out;
    if (p->crt_needed && !p->crt_from[0] && !p->mlf_path[0]) {
        rc = bring_crt(p, NULL, err); /* fails with the message naming both ways to a CRT */
        goto out;
    }
    if (!p->mlf_path[0] && (rc = plan_workspace(p, NULL, err)) < 0)
        goto out;

    snprintf(final_dir, sizeof final_dir, "%s", p->project_dir);
    if ((rc = make_staging(p->project_dir, staging, sizeof staging, err)) < 0) {
        err_prefix(err, "project_dir");
        goto out;
    }
    snprintf(p->project_dir, sizeof p->project_dir, "%s", staging); /* everything goes there */
    created = true;
    if ((rc = copy_template(p, template_dir, err)) < 0)
        goto out;
    if (p->mlf_path[0]) {
        if ((rc = bring_model(p, &mlf, err)) < 0)
            goto out;
        have_mlf = true;
        if ((rc = plan_workspace(p, &mlf, err)) < 0)
            goto out;
    }
    if (p->crt_needed && (rc = bring_crt(p, have_mlf ? &mlf : NULL, err)) < 0)
        goto out;
    if (p->opt.extra_files_tar[0] &&
        (rc = proj__add_extra_files(p->opt.extra_files_tar, p->project_dir, err)) < 0) {
        err_prefix(err, "extra_files_tar");
        goto out;
    }
    if (have_mlf && !strcmp(p->opt.project_type, "aot_standalone") &&
        (rc = write_tensors(p, &mlf, err)) < 0)
        goto out;
    if (p->aot_demo) {
        char input[PATH_MAX];
        if ((rc = fs_join(input, sizeof input, p->project_dir, "include/tvm/input_data.h",
                          err)) == 0 && !fs_exists(input))
            rc = err_set(err, ERR_INVALID, "aot_standalone_demo takes its input from "
                         "include/tvm/input_data.h, as TVM's Zephyr demo does: give "
                         "extra_files_tar a tar holding it (tvm.micro.testing.utils."
                         "create_header_file writes one), or use aot_standalone");
        if (rc < 0)
            goto out;
    }
    if ((rc = write_project_cmake(p, have_mlf, err)) < 0 ||
        (rc = write_project_json(p, options, have_mlf ? &mlf : NULL, err)) < 0)
        goto out;
    /* NOREPLACE: a directory made under that name meanwhile is never overwritten */
    if (renameat2(AT_FDCWD, staging, AT_FDCWD, final_dir, RENAME_NOREPLACE) < 0) {
        rc = errno == EEXIST ? err_set(err, ERR_INVALID, "project_dir %s already exists; "
                                       "choose a new directory or remove it first", final_dir)
                             : err_errno(err, "project_dir: %s -> %s", staging, final_dir);
        goto out;
    }
    snprintf(p->project_dir, sizeof p->project_dir, "%s", final_dir);
    created = false;
    log_info("generated %s project for %s (%s, -O%s) in %s", p->opt.project_type,
             p->board.name, p->opt.libc, p->opt.opt_level, p->project_dir);
out:
    if (rc < 0 && created)
        fs_remove_tree(p->project_dir, NULL);
    proj__mlf_close(&mlf);
    free(p);
    return rc;
}
