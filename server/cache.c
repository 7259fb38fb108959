/*
 * The board-layer cache: libmtq_board.a depends only on the board, the libc, the flags and
 * the firmware sources, so it is compiled once per such combination and shared by every
 * project on the host (firmware/CMakeLists.txt links it through MTQ_PREBUILT_BOARD_LIB).
 * Entries live under $MTQ_CACHE_DIR, else $XDG_CACHE_HOME/microtvm-qemu, else
 * ~/.cache/microtvm-qemu, named by a 64-bit FNV-1a hash of everything that goes into the
 * library. Writers take an flock per entry and build in a temporary directory renamed into
 * place, so concurrent builds neither collide nor see half an entry. The cache is an
 * optimization: the caller builds without it whenever anything here fails.
 */
#include "project_internal.h"

#include "fs.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* snprintf for paths: a path cut short by PATH_MAX then fails to open, naming itself. */
static void pathf(char *out, size_t outsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void pathf(char *out, size_t outsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, outsz, fmt, ap);
    va_end(ap);
}

/* Bumped when the entry layout or the way entries are built changes. */
#define CACHE_FORMAT "mtq-board-cache-1"

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
    int fd = open(path, O_RDONLY | O_CLOEXEC);
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

/* Every file's relative name and content, in a fixed (sorted) order. */
static int hash_tree(uint64_t *h, const char *dir, const char *rel, struct err *err)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        return err_errno(err, "%s", dir);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        if (rc == 0 && strcmp(name, ".") && strcmp(name, "..")) {
            char path[PATH_MAX], sub[PATH_MAX];
            struct stat st;
            rc = fs_join(path, sizeof path, dir, name, err);
            if (rc == 0)
                rc = fs_join(sub, sizeof sub, rel, name, err);
            if (rc == 0 && lstat(path, &st) < 0)
                rc = err_errno(err, "%s", path);
            if (rc == 0 && S_ISDIR(st.st_mode)) {
                *h = hash_str(*h, sub);
                rc = hash_tree(h, path, sub, err);
            } else if (rc == 0 && S_ISREG(st.st_mode)) {
                *h = hash_str(*h, sub);
                rc = hash_file(h, path, err);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int proj__cache_key(const char *project_dir, const struct proj_settings *s, char key[17],
                    struct err *err)
{
    uint64_t h = hash_str(PROJ_FNV_SEED, CACHE_FORMAT);
    h = hash_str(h, s->board);
    h = hash_str(h, s->libc);
    h = hash_str(h, s->opt_level);
    h = hash_str(h, s->compile_definitions ? s->compile_definitions : "");
    h = hash_str(h, s->warning_as_error ? "Werror" : "");

    char path[PATH_MAX];
    pathf(path, sizeof path, "%s/machines/%s.json", project_dir, s->board);
    int rc = hash_file(&h, path, err);
    if (rc < 0)
        return rc;
    /* the compiler itself: a toolchain upgrade must not link objects from the old one */
    struct machine *m = calloc(1, sizeof *m);
    if (!m)
        return err_set(err, -ENOMEM, "out of memory");
    if ((rc = mach_load(m, path, err)) == 0) {
        char cc[MACH_NAME_MAX + 8], cc_path[PATH_MAX];
        struct stat st;
        snprintf(cc, sizeof cc, "%sgcc", m->cc_prefix);
        if (!proj__which(cc, cc_path, sizeof cc_path) || stat(cc_path, &st) < 0) {
            rc = err_set(err, ERR_TOOL, "%s not found in PATH", cc);
        } else {
            char stamp[PATH_MAX + 64];
            snprintf(stamp, sizeof stamp, "%s:%lld:%lld", cc_path, (long long)st.st_size,
                     (long long)st.st_mtime);
            h = hash_str(h, stamp);
        }
    }
    free(m);
    if (rc < 0)
        return rc;
    pathf(path, sizeof path, "%s/firmware", project_dir);
    if ((rc = hash_tree(&h, path, "firmware", err)) < 0)
        return rc;
    snprintf(key, 17, "%016" PRIx64, h);
    return 0;
}

/* True when the project's firmware build can link a prebuilt board library. */
static bool takes_prebuilt(const char *project_dir)
{
    char path[PATH_MAX], *text = NULL;
    pathf(path, sizeof path, "%s/firmware/CMakeLists.txt", project_dir);
    if (fs_read_file(path, 1u << 20, &text, NULL, NULL) < 0)
        return false;
    bool yes = strstr(text, "MTQ_PREBUILT_BOARD_LIB") != NULL;
    free(text);
    return yes;
}

/* Builds the board library for s into tmp/build and moves it to tmp/out/libmtq_board.a. */
static int build_entry(const char *project_dir, const struct proj_settings *s, const char *tmp,
                       int log_fd, bool verbose, struct err *err)
{
    char src[PATH_MAX], bdir[PATH_MAX], odir[PATH_MAX], lib[PATH_MAX], out[PATH_MAX];
    char d_machine[PATH_MAX + 32], d_libc[64], d_opt[32], d_werr[48], d_defs[8192];
    pathf(src, sizeof src, "%s/firmware", project_dir);
    pathf(bdir, sizeof bdir, "%s/build", tmp);
    pathf(odir, sizeof odir, "%s/out", tmp);
    snprintf(d_machine, sizeof d_machine, "-DMTQ_MACHINE_FILE=%s/machines/%s.json", project_dir,
             s->board);
    snprintf(d_libc, sizeof d_libc, "-DMTQ_LIBC=%s", s->libc);
    snprintf(d_opt, sizeof d_opt, "-DMTQ_OPT_LEVEL=%s", s->opt_level);
    snprintf(d_werr, sizeof d_werr, "-DMTQ_WARNING_AS_ERROR=%s",
             s->warning_as_error ? "ON" : "OFF");
    if ((size_t)snprintf(d_defs, sizeof d_defs, "-DMTQ_COMPILE_DEFINITIONS=%s",
                         s->compile_definitions ? s->compile_definitions : "") >= sizeof d_defs)
        return err_set(err, ERR_INVALID, "compile_definitions too long for the cache");
    /* echo: the board library does not depend on the project type, and echo needs no model */
    const char *configure[] = {"cmake", "-S", src, "-B", bdir, "-G", "Ninja",
                               "-DMTQ_PROJECT_TYPE=echo", d_machine, d_libc, d_opt, d_werr,
                               d_defs, NULL};
    const char *build[] = {"ninja", "-C", bdir, "mtq_board", NULL};
    int status = 0;
    int rc = proj__run(configure, tmp, log_fd, verbose, &status, err);
    if (rc == 0 && status != 0)
        rc = err_set(err, ERR_TOOL, "cmake for the cached board layer exited with %d", status);
    if (rc == 0)
        rc = proj__run(build, tmp, log_fd, verbose, &status, err);
    if (rc == 0 && status != 0)
        rc = err_set(err, ERR_TOOL, "ninja mtq_board for the cache exited with %d", status);
    pathf(lib, sizeof lib, "%s/libmtq_board.a", bdir);
    pathf(out, sizeof out, "%s/libmtq_board.a", odir);
    if (rc == 0 && !fs_exists(lib))
        rc = err_set(err, ERR_TOOL, "%s: not produced by the firmware build", lib);
    if (rc == 0)
        rc = fs_mkdir_p(odir, err);
    if (rc == 0)
        rc = fs_copy_file(lib, out, err);
    return rc;
}

int proj__cache_board(const char *project_dir, const struct proj_settings *s, int log_fd,
                      bool verbose, char **lib, bool *hit, struct err *err)
{
    *lib = NULL;
    *hit = false;
    if (!takes_prebuilt(project_dir))
        return err_set(err, ERR_STATE, "firmware/CMakeLists.txt has no MTQ_PREBUILT_BOARD_LIB");
    char root[PATH_MAX - 200], key[17], name[160], entry[PATH_MAX], path[PATH_MAX];
    char tmp[PATH_MAX] = "";
    int lock = -1;
    int rc = proj__cache_root(root, sizeof root, err);
    if (rc == 0)
        rc = proj__cache_key(project_dir, s, key, err);
    if (rc < 0)
        return rc;
    snprintf(name, sizeof name, "%s-%s-O%s-%s", s->board, s->libc, s->opt_level, key);
    pathf(entry, sizeof entry, "%s/%s", root, name);
    pathf(path, sizeof path, "%s/libmtq_board.a", entry);
    if (fs_exists(path))
        goto found;

    if ((rc = fs_mkdir_p(root, err)) < 0)
        goto out;
    char lock_path[PATH_MAX];
    pathf(lock_path, sizeof lock_path, "%s/%s.lock", root, name);
    if ((lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        rc = err_errno(err, "%s", lock_path);
        goto out;
    }
    while (flock(lock, LOCK_EX) < 0) {
        if (errno != EINTR) {
            rc = err_errno(err, "flock %s", lock_path);
            goto out;
        }
    }
    if (fs_exists(path)) /* another build made it while we waited */
        goto found;
    pathf(tmp, sizeof tmp, "%s/.tmp-%s-XXXXXX", root, name);
    if (!mkdtemp(tmp)) {
        rc = err_errno(err, "%s", tmp);
        tmp[0] = '\0';
        goto out;
    }
    if ((rc = build_entry(project_dir, s, tmp, log_fd, verbose, err)) < 0)
        goto out;
    char out_dir[PATH_MAX];
    pathf(out_dir, sizeof out_dir, "%s/out", tmp);
    fs_remove_tree(entry, NULL); /* a partial entry from a crash has no library in it */
    if (rename(out_dir, entry) < 0) {
        rc = err_errno(err, "%s", entry);
        goto out;
    }
    log_debug("board cache: built %s", entry);
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
