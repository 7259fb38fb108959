/*
 * Internals of generate_project and build (project.h is the public face, proj_*):
 * safe tar extraction, Model Library Format metadata, project generation, the firmware
 * build and the cache of board layers shared between projects. Declared here so the unit
 * tests can call each piece directly. Ownership: structs filled by a *_read or *_init call
 * are released with the matching *_close, which accepts a zeroed or already closed struct.
 */
#ifndef MTQ_PROJECT_INTERNAL_H
#define MTQ_PROJECT_INTERNAL_H

#include "err.h"
#include "project.h"
#include "machine.h"
#include "record.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- extract.c: safe tar extraction ---- */

/* Extracts the tar (plain or compressed) at archive into dest, which must not exist yet.
 * Refuses, with ERR_INVALID naming the archive's basename, the member and the rule: absolute
 * paths, '..' components, symbolic or hard links that point outside dest, device files, FIFOs,
 * sockets, and truncated or corrupt archives. Members may start with "./". Works in a
 * temporary sibling directory and renames it to dest at the end, so on failure nothing is
 * left behind. */
int proj__extract(const char *archive, const char *dest, struct err *err);

/* Checks every symbolic link under root (label names the archive in messages): each must name
 * a regular file inside root through real directories only. ERR_INVALID naming the link. */
int proj__check_links(const char *label, const char *root, struct err *err);

/* ---- extra_files.c: extra_files_tar ---- */

/* Unpacks archive (safely, as proj__extract) and adds its files to project_dir. It may only
 * add: a member that is a link, lies in a directory the project owns (machines/, firmware/,
 * model/, crt/, build/, flash/, a name starting with '.'), would replace a file (CMakeLists.txt,
 * the launcher, project.json, boards.json, ...) or, under include/, would shadow a header the
 * firmware build finds, fails with ERR_INVALID naming the member, and nothing is placed. */
int proj__add_extra_files(const char *archive, const char *project_dir, struct err *err);

/* ---- mlf.c: metadata.json of a Model Library Format archive ---- */

#define PROJ_NAME_MAX 128

struct proj_tensor {
    char name[PROJ_NAME_MAX];
    char dtype[32];
    uint64_t size; /* bytes */
};

/* One function of an operator library (tvm.build) and its argument buffers, in call order;
 * an argument's name is TVM's input_binding ("" when there is none). */
struct proj_function {
    char name[PROJ_NAME_MAX];
    struct proj_tensor *args;       /* heap; n_args entries */
    size_t n_args;
};

struct proj_module {
    char name[PROJ_NAME_MAX];       /* "default" unless the model was built with another */
    char executor[16];              /* "aot", "graph", or "" (an operator library) */
    char style[32];                 /* "full-model" or "operator" */
    uint64_t workspace_bytes;       /* main function's workspace_size_bytes (0 if none) */
    struct proj_tensor *inputs;     /* heap; n_inputs entries (version 7 only) */
    size_t n_inputs;
    struct proj_tensor *outputs;
    size_t n_outputs;
    struct proj_function *functions; /* heap; an operator library's functions, else NULL */
    size_t n_functions;
};

struct proj_mlf {
    int version;                    /* 5 or 7 */
    struct proj_module *modules;    /* heap; n_modules entries */
    size_t n_modules;
    bool has_host_src;              /* codegen/host/src/ exists */
    bool has_host_lib;              /* codegen/host/lib/ exists (LLVM objects) */
    bool has_runtime;               /* runtime/ exists: the MLF carries a standalone CRT */
};

/* Parses the text of a metadata.json (label names it in messages). ERR_INVALID for text that
 * is not JSON (with the byte offset), an unsupported version, or a wrong shape (with the
 * field's path, "modules.default.memory.functions.main: want an array"). */
int proj__mlf_parse(struct proj_mlf *mlf, const char *text, size_t len, const char *label,
                    struct err *err);

/* Reads <model_dir>/metadata.json and notes which parts of the MLF the directory carries. */
int proj__mlf_read(struct proj_mlf *mlf, const char *model_dir, struct err *err);

/* The largest main workspace of all modules. */
uint64_t proj__mlf_workspace(const struct proj_mlf *mlf);

/* True when the archive is an operator library (tvm.build): no executor, no whole model. */
bool proj__mlf_is_operator(const struct proj_mlf *mlf);

/* True when some module uses that executor ("aot" or "graph"). */
bool proj__mlf_has_executor(const struct proj_mlf *mlf, const char *executor);

/* The facts as a JSON object for project.json; NULL when out of memory. Caller deletes. */
cJSON *proj__mlf_to_json(const struct proj_mlf *mlf);

/* Writes path (model_tensors.cmake): the one module's name, workspace and "name|dtype|size"
 * lists of inputs and outputs as set() lines, which firmware/aot/model_table.cmake reads in
 * linear time instead of parsing metadata.json once per tensor. Writes nothing (and returns 0)
 * for a model the firmware cannot run standalone (not version 7, not one module): its CMake
 * then reads metadata.json and says why. */
int proj__mlf_write_tensors(const struct proj_mlf *mlf, const char *path, struct err *err);

void proj__mlf_close(struct proj_mlf *mlf);

/* ---- generate.c (proj_generate, project.h) ---- */

/* Fails (ERR_INVALID, with both figures and the fix) when a workspace arena of bytes cannot fit
 * the board's RAM beside the stack and data; why says where the figure came from. */
int proj__check_workspace(const struct machine *board, uint64_t bytes, const char *why,
                          struct err *err);

/* ERR_OPTION unless the board supports libc (the message lists those it has). */
int proj__check_libc(const struct machine *board, const char *libc, struct err *err);

/* ERR_OPTION when a ';'-separated compile_definitions list holds a character project.cmake
 * could not carry (newline, quote, backslash, $). */
int proj__check_definitions(const char *defs, struct err *err);

/* Checks a cmsis_path value and resolves it into out (an absolute path): an existing
 * directory whose name, given and resolved, has no control character and none of " \ $ ; `
 * (they would reach CMake's and Ninja's files). ERR_OPTION naming the option otherwise. */
int proj__check_cmsis_path(const char *value, char *out, size_t outsz, struct err *err);

/* (Re)writes <project_dir>/project.cmake from s: what generate decided, or build changed. */
int proj__write_project_cmake(const char *project_dir, const struct project_record *s,
                              struct err *err);

/* ---- build_options.c ---- */

/* Applies the options given to build (normalized; NULL for none) to a generated project:
 * a compile option (libc, opt_level, warning_as_error, compile_definitions,
 * workspace_size_bytes, cmsis_path) that differs from project.json replaces it there and in
 * project.cmake, for this and later builds; project_type, board, extra_files_tar and link
 * must equal what generate_project recorded (ERR_OPTION naming the option otherwise). */
int proj__apply_build_options(const char *project_dir, const cJSON *given, struct err *err);

/* ---- build.c ---- */

/* What a build needs project.json to have recorded (record_require). */
#define PROJ_BUILD_KEYS                                                                          \
    ((const char *const[]){"project_type", "board", "libc", "opt_level", NULL})

struct proj_sizes {
    uint64_t text, data, bss;
};

/* Each build step's time limit when build_timeout_s is unset. */
#define PROJ_BUILD_TIMEOUT_S 1800

/* The build itself (proj_build, for the API, applies the options first): configure (when
 * needed) and build <project_dir>/build/firmware.elf with CMake and Ninja. verbose echoes the
 * tools' output to stderr. Each step (configure, Ninja, the cache's builds) is limited to
 * timeout_s seconds (<= 0: PROJ_BUILD_TIMEOUT_S); a step over it is killed with its process
 * group and the build fails with ERR_TOOL saying so. A compiler error is ERR_TOOL with
 * "firmware build failed: <first error line>" and, in err->detail, the failing command and the
 * compiler's last lines. A second build of the same project while one runs fails at once with
 * ERR_BUSY ("build in progress"). sizes may be NULL. */
int proj__build(const char *project_dir, bool verbose, int timeout_s, struct proj_sizes *sizes,
                struct err *err);

/* Runs argv[0] (searched in PATH) in cwd with stdin /dev/null (spawn_run), appending its stdout
 * and stderr to log_fd (and to stderr when echo). *status gets the exit status (or
 * 128+signal). Fails when the program cannot be started (ERR_TOOL naming it when it is not on
 * PATH), and after timeout_s seconds (0: never), when it is stopped with its whole process
 * group (SIGKILL): ERR_TIMEOUT naming the limit (build reports it as ERR_TOOL). */
int proj__run_limited(const char *const argv[], const char *cwd, int log_fd, bool echo,
                      int timeout_s, int *status, struct err *err);

/* ---- cache.c: board layers and CRTs built once per configuration, shared by projects ---- */

/* The cache root: $MTQ_CACHE_DIR, else $XDG_CACHE_HOME/microtvm-qemu, else
 * ~/.cache/microtvm-qemu. ERR_INVALID when none of these can be formed. */
int proj__cache_root(char *out, size_t outsz, struct err *err);

/* 64-bit FNV-1a, continued from h (start with PROJ_FNV_SEED). */
#define PROJ_FNV_SEED 0xcbf29ce484222325ULL
uint64_t proj__fnv1a(uint64_t h, const void *data, size_t len);

/* The cache key of a project's board layer: a hash of the machine file, the settings that
 * change the object code, the compiler binary, and every file under firmware/ (and crt/ for
 * host_driven). Written as 16 hex digits to key. */
int proj__cache_key(const char *project_dir, const struct project_record *s, char key[17],
                    struct err *err);

/* Finds or builds the cached board library for a project. On success *lib holds its path
 * (an absolute path, heap, caller frees) and *hit whether it was already there. Returns
 * ERR_STATE when the project's firmware/CMakeLists.txt cannot take a prebuilt library (the
 * caller then builds everything in the project). Any other failure is the caller's cue to
 * warn and build without the cache: never a reason to fail a build. */
int proj__cache_board(const char *project_dir, const struct project_record *s, int log_fd,
                      bool verbose, int timeout_s, char **lib, bool *hit, struct err *err);

/* The cache key of a host_driven project's CRT library: the settings and compilers as for the
 * board layer, plus the content of crt/, firmware/platform/, firmware/cmake/ and
 * firmware/CMakeLists.txt (not the rest of firmware/: apps and drivers do not go into it). */
int proj__cache_crt_key(const char *project_dir, const struct project_record *s, char key[17],
                        struct err *err);

/* Like proj__cache_board, for libmtq_crt.a (linked through MTQ_PREBUILT_CRT_LIB). ERR_STATE
 * when the project is not host_driven, has no crt/, or its firmware/cmake/host_driven.cmake
 * cannot take a prebuilt CRT: the caller then builds the CRT in the project. */
int proj__cache_crt(const char *project_dir, const struct project_record *s, int log_fd,
                    bool verbose, int timeout_s, char **lib, bool *hit, struct err *err);

/* snprintf for paths: a path cut short by PATH_MAX then fails to open, naming itself, so
 * callers need not check the length twice. */
void proj__pathf(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
