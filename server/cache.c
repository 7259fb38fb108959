/*
 * The firmware caches: the parts of a firmware that depend on neither the model nor the
 * project are compiled once per configuration and shared by every project on the host.
 * Two kinds: the board layer (libmtq_board.a: board, libc, flags and the firmware sources;
 * firmware/CMakeLists.txt links it through MTQ_PREBUILT_BOARD_LIB) and, for host_driven, TVM's
 * C runtime (libmtq_crt.a: the same plus the CRT tree's content; firmware/cmake/host_driven.cmake
 * links it through MTQ_PREBUILT_CRT_LIB), which is the slow part of a host_driven build.
 * Entries live under $MTQ_CACHE_DIR, else $XDG_CACHE_HOME/microtvm-qemu, else
 * ~/.cache/microtvm-qemu, named by a 64-bit FNV-1a hash of everything that goes into the
 * library. Writers take an flock per entry and build in a temporary directory renamed into
 * place, so concurrent builds neither collide nor see half an entry; an entry whose library is
 * missing or is no archive (a crash, a truncated file) is built again. The cache is an
 * optimization: the caller builds without it whenever anything here fails.
 */
#include "project_internal.h"

#include "fs.h"
#include "log.h"
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bumped when the entry layout or the way entries are built changes. */
#define CACHE_FORMAT "mtq-board-cache-1"
#define CACHE_FORMAT_CRT "mtq-crt-cache-1"

/* What tells the two kinds of entry apart. */
struct kind {
    const char *what;        /* for messages: "board layer" */
    const char *prefix;      /* of the entry's name: "" or "crt-" */
    const char *lib;         /* the library the entry holds */
    const char *target;      /* the Ninja target that makes it */
    const char *switch_file; /* the firmware file that must know switch_var, under the project */
    const char *switch_var;  /* the CMake variable that links a prebuilt library */
};

static const struct kind BOARD = {"board layer", "", "libmtq_board.a", "mtq_board",
                                  "firmware/CMakeLists.txt", "MTQ_PREBUILT_BOARD_LIB"};
static const struct kind CRT = {"CRT", "crt-", "libmtq_crt.a", "mtq_crt",
                                "firmware/cmake/host_driven.cmake", "MTQ_PREBUILT_CRT_LIB"};

int proj__cache_root(char *out, size_t outsz, struct err *err)
{
    const char *dir = getenv("MTQ_CACHE_DIR");
    int n;
    if (dir && dir[0]) {
        n = snprintf(out, outsz, "%s", dir);
    } else if ((dir = getenv("XDG_CACHE_HOME")) && dir[0] == '/') {
        n = snprintf(out, outsz, "%s/microtvm-qemu", dir);
    } else if ((dir = getenv("HOME")) && dir[0] == '/') {
        n = snprintf(out, outsz, "%s/.cache/microtvm-qemu", dir);
    } else {
        return err_set(err, ERR_INVALID, "no cache directory: set MTQ_CACHE_DIR or HOME");
    }
    if (n < 0 || (size_t)n >= outsz)
        return err_set(err, ERR_INVALID, "cache directory path too long");
    return 0;
}

uint64_t proj__fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    return proj__fnv1a(h, s, strlen(s) + 1); /* the NUL separates fields */
}

static int hash_file(uint64_t *h, const char *path, struct err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return err_errno(err, "%s", path);
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = err_errno(err, "%s", path);
            close(fd);
            return rc;
        }
        *h = proj__fnv1a(*h, buf, (size_t)n);
    }
    close(fd);
    return 0;
}

struct hash_walk {
    uint64_t *h;
    const char *rel; /* the tree's name in the key: "firmware" */
};

static int hash_entry(const struct fs_entry *e, void *ctx, struct err *err)
{
    struct hash_walk *w = ctx;
    char sub[PATH_MAX];
    int rc = fs_join(sub, sizeof sub, w->rel, e->rel, err);
    if (rc < 0)
        return rc;
    /* The compiler follows links and the key would not: a project whose firmware/ holds one
     * could store a tampered library under a clean project's key. Such a project builds
     * without the cache (ERR_STATE: the caller builds in the project). */
    if (S_ISLNK(e->st->st_mode))
        return err_set(err, ERR_STATE, "%s is a symbolic link; a project with links in the "
                       "cached sources builds without the shared cache", sub);
    if (S_ISDIR(e->st->st_mode)) {
        *w->h = hash_str(*w->h, sub);
    } else if (S_ISREG(e->st->st_mode)) {
        *w->h = hash_str(*w->h, sub);
        rc = hash_file(w->h, e->path, err);
    }
    return rc;
}

/* Every file's relative name and content, in a fixed (sorted) order; ERR_STATE at a link. */
static int hash_tree(uint64_t *h, const char *dir, const char *rel, struct err *err)
{
    struct hash_walk w = {h, rel};
    return fs_walk(dir, FS_MAX_DEPTH, hash_entry, &w, err);
}

/* The compiler itself (path, size, mtime): a toolchain upgrade must not link objects from the
 * old one. A missing compiler is an error when required, else hashed as absent. */
static int hash_compiler(uint64_t *h, const char *prog, bool required, struct err *err)
{
    char path[PATH_MAX], stamp[PATH_MAX + 64];
    struct stat st;
    if (!spawn_find(prog, path, sizeof path) || stat(path, &st) < 0) {
        if (required)
            return err_set(err, ERR_TOOL, "%s not found in PATH", prog);
        *h = hash_str(*h, prog);
        return 0;
    }
    snprintf(stamp, sizeof stamp, "%s:%lld:%lld", path, (long long)st.st_size,
             (long long)st.st_mtime);
    *h = hash_str(*h, stamp);
    return 0;
}

/* What both kinds of entry depend on: the settings that change object code, the machine file
 * (CPU flags) and the board's compilers. */
static int hash_common(uint64_t *h, const char *format, const char *project_dir,
                       const struct project_record *s, struct err *err)
{
    *h = hash_str(*h, format);
    *h = hash_str(*h, s->board);
    *h = hash_str(*h, s->libc);
    *h = hash_str(*h, s->opt_level);
    *h = hash_str(*h, s->compile_definitions ? s->compile_definitions : "");

    char path[PATH_MAX];
    proj__pathf(path, sizeof path, "%s/machines/%s.json", project_dir, s->board);
    int rc = hash_file(h, path, err);
    if (rc < 0)
        return rc;
    struct machine *m = calloc(1, sizeof *m);
    if (!m)
        return err_set(err, -ENOMEM, "out of memory");
    if ((rc = mach_load(m, path, err)) == 0) {
        char cc[MACH_NAME_MAX + 8];
        snprintf(cc, sizeof cc, "%sgcc", m->cc_prefix);
        rc = hash_compiler(h, cc, true, err);
        /* the CRT's RPC server is C++; boards without g++ never get that far */
        snprintf(cc, sizeof cc, "%sg++", m->cc_prefix);
        if (rc == 0 && !strcmp(format, CACHE_FORMAT_CRT))
            rc = hash_compiler(h, cc, false, err);
    }
    free(m);
    return rc;
}

int proj__cache_key(const char *project_dir, const struct project_record *s, char key[17],
                    struct err *err)
{
    uint64_t h = PROJ_FNV_SEED;
    int rc = hash_common(&h, CACHE_FORMAT, project_dir, s, err);
    if (rc < 0)
        return rc;
    h = hash_str(h, s->warning_as_error ? "Werror" : "");
    /* the board layer holds the transport's link driver (firmware/link/): a fast-link project
     * must never link a UART layer. Not in the CRT's key: the CRT never sees the link. */
    h = hash_str(h, s->link[0] ? s->link : "uart");
    char path[PATH_MAX];
    proj__pathf(path, sizeof path, "%s/firmware", project_dir);
    if ((rc = hash_tree(&h, path, "firmware", err)) < 0)
        return rc;
    snprintf(key, 17, "%016" PRIx64, h);
    return 0;
}

int proj__cache_crt_key(const char *project_dir, const struct project_record *s, char key[17],
                        struct err *err)
{
    /* Not the whole firmware/ tree: the CRT library is made from the CRT, our platform headers
     * (crt_config.h, cxx/) and the flags the CMake files set, so an edit to an app or a board
     * driver keeps the entry. The CRT is compiled with -w, so warning_as_error is not in it. */
    static const char *const parts[] = {"firmware/platform", "firmware/cmake", "crt"};
    uint64_t h = PROJ_FNV_SEED;
    char path[PATH_MAX];
    int rc = hash_common(&h, CACHE_FORMAT_CRT, project_dir, s, err);
    proj__pathf(path, sizeof path, "%s/firmware/CMakeLists.txt", project_dir);
    if (rc == 0) {
        h = hash_str(h, "firmware/CMakeLists.txt");
        rc = hash_file(&h, path, err);
    }
    for (size_t i = 0; rc == 0 && i < sizeof parts / sizeof parts[0]; i++) {
        proj__pathf(path, sizeof path, "%s/%s", project_dir, parts[i]);
        h = hash_str(h, parts[i]);
        rc = hash_tree(&h, path, parts[i], err);
    }
    if (rc < 0)
        return rc;
    snprintf(key, 17, "%016" PRIx64, h);
    return 0;
}

/* True when the project's firmware build can link a prebuilt library of this kind. */
static bool takes_prebuilt(const char *project_dir, const struct kind *k)
{
    char path[PATH_MAX], *text = NULL;
    proj__pathf(path, sizeof path, "%s/%s", project_dir, k->switch_file);
    if (fs_read_file(path, 1u << 20, &text, NULL, NULL) < 0)
        return false;
    bool yes = strstr(text, k->switch_var) != NULL;
    free(text);
    return yes;
}

/* What CMake found out about the compilers while building an entry (CMakeFiles/<version>/
 * CMake{C,ASM,CXX}Compiler.cmake: identification, ABI, implicit directories) is kept in the
 * entry as cmake-<version>/, so that a project linking the entry loads it instead of running
 * CMake's compiler identification again (firmware/project/CMakeLists.txt, host_driven.cmake).
 * It comes from the same compilers and flags the entry's key covers; the version in the name
 * keeps another CMake from reading it. Best effort: a project without it identifies as usual. */
static void keep_compiler_facts(const char *bdir, const char *odir)
{
    static const char *const langs[] = {"C", "ASM", "CXX"};
    char files[PATH_MAX], ver[PATH_MAX];
    proj__pathf(files, sizeof files, "%s/CMakeFiles", bdir);
    struct dirent **ents = NULL;
    int n = scandir(files, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char from[PATH_MAX], to[PATH_MAX];
        const char *name = ents[i]->d_name;
        proj__pathf(from, sizeof from, "%s/%s/CMakeCCompiler.cmake", files, name);
        if (name[0] >= '0' && name[0] <= '9' && fs_exists(from)) {
            proj__pathf(ver, sizeof ver, "%s/cmake-%s", odir, name);
            for (size_t l = 0; l < 3 && fs_mkdir_p(ver, NULL) == 0; l++) {
                proj__pathf(from, sizeof from, "%s/%s/CMake%sCompiler.cmake", files, name,
                            langs[l]);
                proj__pathf(to, sizeof to, "%s/CMake%sCompiler.cmake", ver, langs[l]);
                if (fs_exists(from))
                    (void)fs_copy_file(from, to, NULL);
            }
        }
        free(ents[i]);
    }
    free(ents);
}

/* Builds the library of kind k for s into tmp/build and copies it to tmp/out/<lib>. */
static int build_entry(const char *project_dir, const struct project_record *s,
                       const struct kind *k, const char *tmp, int log_fd, bool verbose,
                       int timeout_s, struct err *err)
{
    char src[PATH_MAX], bdir[PATH_MAX], odir[PATH_MAX], lib[PATH_MAX], out[PATH_MAX];
    char d_machine[PATH_MAX + 32], d_libc[64], d_opt[32], d_werr[48], d_defs[8192];
    char d_type[48], d_crt[PATH_MAX + 32], d_link[32];
    proj__pathf(src, sizeof src, "%s/firmware", project_dir);
    proj__pathf(bdir, sizeof bdir, "%s/build", tmp);
    proj__pathf(odir, sizeof odir, "%s/out", tmp);
    snprintf(d_machine, sizeof d_machine, "-DMTQ_MACHINE_FILE=%s/machines/%s.json", project_dir,
             s->board);
    snprintf(d_libc, sizeof d_libc, "-DMTQ_LIBC=%s", s->libc);
    snprintf(d_opt, sizeof d_opt, "-DMTQ_OPT_LEVEL=%s", s->opt_level);
    snprintf(d_werr, sizeof d_werr, "-DMTQ_WARNING_AS_ERROR=%s",
             s->warning_as_error && k == &BOARD ? "ON" : "OFF");
    if ((size_t)snprintf(d_defs, sizeof d_defs, "-DMTQ_COMPILE_DEFINITIONS=%s",
                         s->compile_definitions ? s->compile_definitions : "") >= sizeof d_defs)
        return err_set(err, ERR_INVALID, "compile_definitions too long for the cache");
    /* The board library does not depend on the project type: echo, which needs no model or
     * CRT. The CRT library needs host_driven and the project's CRT, but no model. */
    snprintf(d_type, sizeof d_type, "-DMTQ_PROJECT_TYPE=%s", k == &CRT ? "host_driven" : "echo");
    snprintf(d_crt, sizeof d_crt, "-DMTQ_CRT_DIR=%s/crt", project_dir);
    snprintf(d_link, sizeof d_link, "-DMTQ_LINK=%s",
             k == &BOARD && s->link[0] ? s->link : "uart");
    const char *configure[] = {"cmake", "-S", src, "-B", bdir, "-G", "Ninja", d_type,
                               d_machine, d_libc, d_opt, d_werr, d_defs, d_link,
                               k == &CRT ? d_crt : NULL, NULL};
    const char *build[] = {"ninja", "-C", bdir, k->target, NULL};
    int status = 0;
    int rc = proj__run_limited(configure, tmp, log_fd, verbose, timeout_s, &status,
                               err);
    if (rc == 0 && status != 0)
        rc = err_set(err, ERR_TOOL, "cmake for the cached %s exited with %d", k->what, status);
    if (rc == 0)
        rc = proj__run_limited(build, tmp, log_fd, verbose, timeout_s, &status, err);
    if (rc == 0 && status != 0)
        rc = err_set(err, ERR_TOOL, "ninja %s for the cache exited with %d", k->target, status);
    proj__pathf(lib, sizeof lib, "%s/%s", bdir, k->lib);
    proj__pathf(out, sizeof out, "%s/%s", odir, k->lib);
    if (rc == 0 && !fs_exists(lib))
        rc = err_set(err, ERR_TOOL, "%s: not produced by the firmware build", lib);
    if (rc == 0)
        rc = fs_mkdir_p(odir, err);
    if (rc == 0)
        rc = fs_copy_file(lib, out, err);
    if (rc == 0)
        keep_compiler_facts(bdir, odir);
    return rc;
}

/* True when path is a library the linker can take: a regular file (no link) that starts as
 * every ar archive does. Anything else in its place is rebuilt, not handed to the linker,
 * which would fail every build of that configuration until the cache was cleared by hand. */
static bool entry_complete(const char *path)
{
    static const char ar_magic[] = "!<arch>\n";
    char head[sizeof ar_magic - 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    bool ok = read(fd, head, sizeof head) == (ssize_t)sizeof head &&
              memcmp(head, ar_magic, sizeof head) == 0;
    close(fd);
    return ok;
}

/* Finds or builds the entry of kind k named by key (see proj__cache_board). */
static int cache_get(const char *project_dir, const struct project_record *s,
                     const struct kind *k, const char *key, int log_fd, bool verbose,
                     int timeout_s, char **lib, bool *hit, struct err *err)
{
    char root[PATH_MAX - 200], name[180], entry[PATH_MAX], path[PATH_MAX];
    char tmp[PATH_MAX] = "";
    int lock = -1;
    int rc = proj__cache_root(root, sizeof root, err);
    if (rc < 0)
        return rc;
    snprintf(name, sizeof name, "%s%s-%s-O%s-%s", k->prefix, s->board, s->libc, s->opt_level,
             key);
    proj__pathf(entry, sizeof entry, "%s/%s", root, name);
    proj__pathf(path, sizeof path, "%s/%s", entry, k->lib);
    if (entry_complete(path))
        goto found;

    if ((rc = fs_mkdir_p(root, err)) < 0)
        goto out;
    char lock_path[PATH_MAX];
    proj__pathf(lock_path, sizeof lock_path, "%s/%s.lock", root, name);
    if ((lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0) {
        rc = err_errno(err, "%s", lock_path);
        goto out;
    }
    while (flock(lock, LOCK_EX) < 0) {
        if (errno != EINTR) {
            rc = err_errno(err, "flock %s", lock_path);
            goto out;
        }
    }
    if (entry_complete(path)) /* another build made it while we waited */
        goto found;
    proj__pathf(tmp, sizeof tmp, "%s/.tmp-%s-XXXXXX", root, name);
    if (!mkdtemp(tmp)) {
        rc = err_errno(err, "%s", tmp);
        tmp[0] = '\0';
        goto out;
    }
    if ((rc = build_entry(project_dir, s, k, tmp, log_fd, verbose, timeout_s, err)) < 0)
        goto out;
    char out_dir[PATH_MAX];
    proj__pathf(out_dir, sizeof out_dir, "%s/out", tmp);
    fs_remove_tree(entry, NULL); /* an incomplete entry: no library, or a broken one */
    if (rename(out_dir, entry) < 0) {
        rc = err_errno(err, "%s", entry);
        goto out;
    }
    log_debug("%s cache: built %s", k->what, entry);
    goto made;
found:
    *hit = true;
made:
    if (!(*lib = strdup(path)))
        rc = err_set(err, -ENOMEM, "out of memory");
out:
    if (tmp[0])
        fs_remove_tree(tmp, NULL);
    if (lock >= 0)
        close(lock); /* releases the flock */
    return rc;
}

int proj__cache_board(const char *project_dir, const struct project_record *s, int log_fd,
                      bool verbose, int timeout_s, char **lib, bool *hit, struct err *err)
{
    char key[17];
    *lib = NULL;
    *hit = false;
    if (!takes_prebuilt(project_dir, &BOARD))
        return err_set(err, ERR_STATE, "firmware/CMakeLists.txt has no MTQ_PREBUILT_BOARD_LIB");
    int rc = proj__cache_key(project_dir, s, key, err);
    if (rc < 0)
        return rc;
    return cache_get(project_dir, s, &BOARD, key, log_fd, verbose, timeout_s, lib, hit, err);
}

int proj__cache_crt(const char *project_dir, const struct project_record *s, int log_fd,
                    bool verbose, int timeout_s, char **lib, bool *hit, struct err *err)
{
    char key[17], crt[PATH_MAX];
    *lib = NULL;
    *hit = false;
    proj__pathf(crt, sizeof crt, "%s/crt", project_dir);
    if (strcmp(s->project_type, "host_driven") != 0 || !fs_is_dir(crt))
        return err_set(err, ERR_STATE, "no CRT to cache: not a host_driven project with crt/");
    if (!takes_prebuilt(project_dir, &CRT))
        return err_set(err, ERR_STATE, "firmware/cmake/host_driven.cmake has no "
                       "MTQ_PREBUILT_CRT_LIB");
    int rc = proj__cache_crt_key(project_dir, s, key, err);
    if (rc < 0)
        return rc;
    return cache_get(project_dir, s, &CRT, key, log_fd, verbose, timeout_s, lib, hit, err);
}
