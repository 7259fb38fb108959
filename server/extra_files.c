/*
 * extra_files_tar: files a user adds to a generated project, as TVM's Zephyr and Arduino
 * templates take them (headers under include/, sources under src/, which the firmware build
 * puts on the include path and compiles). The archive is untrusted: it may only ADD files.
 * A member that would replace or shadow what the template or generate_project made (the build
 * system, the launcher TVM runs, the machine file that names QEMU and the compiler, the
 * firmware, the model, the CRT, the records) is refused by name before anything is placed, so a
 * refused archive leaves the project as it was. Links are refused too: a link that is harmless
 * where it was unpacked can resolve elsewhere once placed.
 *
 * The archive is unpacked (by proj__extract, with its own safety checks) into a hidden
 * directory in the project, every entry is checked, and only then are its top-level entries
 * renamed into place (RENAME_NOREPLACE: nothing existing is ever overwritten).
 */
#include "project_internal.h"

#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Top-level names the project owns, present now or written after the extra files. */
static const char *const reserved[] = {
    "CMakeLists.txt", "project.cmake", RECORD_FILE, "boards.json",
    "launch_microtvm_api_server.sh", "microtvm-qemu-server", "machines", "firmware",
    "model", "model.tar", "crt", "build", "flash",
};

/* Where a header in extra include/ could shadow one the firmware build finds: the include
 * directories of firmware/CMakeLists.txt and its cmake/ fragments, relative to the project. */
static const char *const header_dirs[] = {
    "firmware/include", "firmware/compat", "firmware/platform", "firmware/aot",
    "firmware/board", "firmware/uart", "crt/include", "model/codegen/host/include",
    "model/runtime/include",
};

static bool is_reserved(const char *top, size_t len)
{
    if (top[0] == '.') /* the server's own staging and lock names start with a dot */
        return true;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (strlen(reserved[i]) == len && strncmp(reserved[i], top, len) == 0)
            return true;
    return false;
}

static int refuse(const char *rel, const char *why, struct err *err)
{
    return err_set(err, ERR_INVALID, "member %.200s %s; extra files may only add files (headers "
                   "under include/, sources under src/, anything else under a new name)", rel,
                   why);
}

/* Checks one entry of the unpacked tree (rel: its path in the archive). A directory the
 * project owns is only noted in *owned_dir (when empty): a file inside it names the problem
 * better, and check_tree refuses the directory itself when none does. */
static int check_entry(const char *project, const char *rel, const struct stat *st,
                       char *owned_dir, size_t owned_sz, struct err *err)
{
    char path[PATH_MAX * 2];
    struct stat there;
    size_t top = strcspn(rel, "/");
    if (S_ISLNK(st->st_mode))
        return refuse(rel, "is a symbolic link", err);
    if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
        return refuse(rel, "is not a regular file or a directory", err);
    if (is_reserved(rel, top) && S_ISDIR(st->st_mode)) {
        if (!owned_dir[0])
            snprintf(owned_dir, owned_sz, "%s", rel);
        return 0;
    }
    if (is_reserved(rel, top))
        return refuse(rel, rel[top] ? "is inside a directory the project owns" :
                                      "would replace a file the project owns", err);
    snprintf(path, sizeof path, "%s/%s", project, rel);
    if (lstat(path, &there) == 0 && !(S_ISDIR(there.st_mode) && S_ISDIR(st->st_mode)))
        return refuse(rel, "would replace a file of the project", err);
    if (S_ISREG(st->st_mode) && strncmp(rel, "include/", 8) == 0) {
        const char *hdr = rel + 8;
        if (strcmp(hdr, "board_config.h") == 0 || strcmp(hdr, "board_memory.ld") == 0)
            return refuse(rel, "would shadow a header the firmware build generates", err);
        for (size_t i = 0; i < sizeof header_dirs / sizeof header_dirs[0]; i++) {
            snprintf(path, sizeof path, "%s/%s/%s", project, header_dirs[i], hdr);
            if (lstat(path, &there) == 0) {
                char why[PATH_MAX];
                snprintf(why, sizeof why, "would shadow the project's %.200s/%.200s",
                         header_dirs[i], hdr);
                return refuse(rel, why, err);
            }
        }
    }
    return 0;
}

struct check {
    const char *project;
    char owned_dir[PATH_MAX]; /* the first directory the project owns met, when any */
};

static int check_one(const struct fs_entry *e, void *ctx, struct err *err)
{
    struct check *c = ctx;
    return check_entry(c->project, e->rel, e->st, c->owned_dir, sizeof c->owned_dir, err);
}

/* Checks every entry under staging against the project (fs_walk: iterative, so the archive's
 * depth cannot exhaust the server's stack). */
static int check_tree(const char *staging, const char *project, struct err *err)
{
    struct check c = {.project = project};
    int rc = fs_walk(staging, FS_MAX_DEPTH, check_one, &c, err);
    if (rc == 0 && c.owned_dir[0])
        rc = refuse(c.owned_dir, "is a directory the project owns", err);
    return rc;
}

/* Renames the top-level entries of staging into project, never over anything. */
static int place(const char *staging, const char *project, struct err *err)
{
    DIR *d = opendir(staging);
    if (!d)
        return err_errno(err, "%s", staging);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char from[PATH_MAX * 2], to[PATH_MAX * 2];
        snprintf(from, sizeof from, "%s/%s", staging, e->d_name);
        snprintf(to, sizeof to, "%s/%s", project, e->d_name);
        if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
            rc = errno == EEXIST ? refuse(e->d_name, "would replace a file of the project", err)
                                 : err_errno(err, "%s", to);
    }
    closedir(d);
    return rc;
}

int proj__add_extra_files(const char *archive, const char *project_dir, struct err *err)
{
    char staging[PATH_MAX];
    int rc = fs_join(staging, sizeof staging, project_dir, ".extra-files", err);
    if (rc == 0)
        rc = proj__extract(archive, staging, err);
    if (rc == 0)
        rc = check_tree(staging, project_dir, err);
    if (rc == 0)
        rc = place(staging, project_dir, err);
    fs_remove_tree(staging, NULL);
    return rc;
}
