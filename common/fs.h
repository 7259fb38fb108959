/*
 * Small file-system helpers the server, the command line and the tests share.
 * All return 0 or a negative code and fill *err with the path that failed.
 */
#ifndef MTQ_FS_H
#define MTQ_FS_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Reads a whole file into a NUL-terminated heap buffer (*out, caller frees); *len may be NULL.
 * Refuses files over max_bytes (0: no limit) with ERR_INVALID. */
int fs_read_file(const char *path, size_t max_bytes, char **out, size_t *len, struct err *err);

/* Writes len bytes to path through a temporary file and rename, so readers never see half. */
int fs_write_file(const char *path, const void *data, size_t len, struct err *err);

/* Writes all len bytes to fd, retrying on EINTR and partial writes and, on a non-blocking fd,
 * waiting for room. Returns 0; ERR_CLOSED when the fd is a pipe or socket whose reader is gone
 * (EPIPE: ignore SIGPIPE to see it); -errno otherwise. The message names the step, not the fd:
 * callers prefix what they write to. */
int fs_write_all(int fd, const void *data, size_t len, struct err *err);

/* mkdir -p, with mode 0755. */
int fs_mkdir_p(const char *path, struct err *err);

/* rm -rf; never follows symbolic links; a missing path is not an error. Iterative: any depth
 * whose path fits PATH_MAX. */
int fs_remove_tree(const char *path, struct err *err);

/* Copies a regular file, keeping its permission bits and its holes; never writes through a
 * symbolic link at to. */
int fs_copy_file(const char *from, const char *to, struct err *err);

/* Copies a directory tree (regular files and directories; symbolic links are refused, and so
 * is a tree nested deeper than FS_MAX_DEPTH). */
int fs_copy_tree(const char *from, const char *to, struct err *err);

/* The deepest nesting any walk accepts: far beyond a real source tree (TVM's CRT is 8 deep),
 * and it bounds the work and the memory a hostile tree can ask for. */
#define FS_MAX_DEPTH 256

/* One entry of a walk: its path (root joined), its path relative to the root, its lstat and its
 * depth (1 for the root's own entries). Valid during the visit only. */
struct fs_entry {
    const char *path;
    const char *rel;
    const struct stat *st;
    int depth;
};

/* Called by fs_walk per entry: returns 0 to go on (into a directory's entries), 1 to skip a
 * directory's entries, or a negative code (with *err filled) to stop the walk with it. */
typedef int (*fs_visit_fn)(const struct fs_entry *e, void *ctx, struct err *err);

/* Visits every entry below root (not root itself) in name order, a directory before its
 * entries, never following symbolic links, with an explicit stack instead of recursion.
 * An entry deeper than max_depth fails with ERR_INVALID naming it. */
int fs_walk(const char *root, int max_depth, fs_visit_fn visit, void *ctx, struct err *err);

/* Removes the entries of dir named "<prefix><pid>-<6 characters>" (what mkdtemp makes of
 * "<prefix><pid>-XXXXXX") whose pid no longer runs: what a process killed with SIGKILL could not
 * clean up itself. Entries of live processes and other names are left alone. Best effort:
 * returns nothing, never fails. */
void fs_sweep_dead_owners(const char *dir, const char *prefix);

bool fs_exists(const char *path);
bool fs_is_dir(const char *path);

/* Joins a and b with one '/' into out (size outsz); ERR_INVALID if it does not fit. */
int fs_join(char *out, size_t outsz, const char *a, const char *b, struct err *err);

#endif
