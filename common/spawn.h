/*
 * Starting a program: the one fork/exec path every host program uses (QEMU, the build's tools,
 * the command line's server), with one policy, as libuv's uv_spawn is one for all its callers.
 * In the child, between fork and exec, only async-signal-safe calls: its own process group,
 * the parent-death signal, stdin/stdout/stderr put at their numbers, every other fd closed at
 * exec, every signal at its default and none blocked, the caller's hook (QEMU's confinement),
 * the fds the caller keeps put at their numbers (after the hook, so they cannot overwrite an
 * fd the hook still needs), then exec. A failure there reaches the parent over a
 * close-on-exec pipe as the step and its errno, and the child is reaped before spawn returns.
 *
 * Ownership: nothing in the options is kept after the call; the fds named there stay the
 * caller's (spawn_start closes none of them). The child is the caller's to reap (spawn_reap,
 * or its own waitpid); spawn_run reaps its own.
 */
#ifndef MTQ_SPAWN_H
#define MTQ_SPAWN_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* stdio[i] values besides an fd of ours. */
#define SPAWN_INHERIT (-1) /* the child keeps ours */
#define SPAWN_DEVNULL (-2) /* /dev/null, opened read-write by spawn */

/* The most fds a spawn keeps beyond stdin, stdout and stderr. */
#define SPAWN_KEEP_MAX 8

/* An fd to keep: ours, from, becomes the child's fd number to (>= 3). from may equal to. */
struct spawn_fd {
    int from;
    int to;
};

struct spawn_opts {
    const char *path;        /* required: the program, a path (not searched on PATH:
                              * spawn_find does that) */
    char *const *argv;       /* required: NULL-terminated, argv[0] first */
    const char *cwd;         /* the child's working directory; NULL: ours */
    int stdio[3];            /* stdin, stdout, stderr: an fd of ours (any number, even another
                              * of the three), SPAWN_INHERIT or SPAWN_DEVNULL */
    const struct spawn_fd *keep; /* n_keep fds kept at given numbers; every other fd above
                                  * stderr is closed at exec, whatever its close-on-exec flag */
    size_t n_keep;
    /* In the child after everything above, just before exec; must be async-signal-safe.
     * Returns 0, or -errno to fail the start (reported as SPAWN_FAILED_HOOK). NULL: none. */
    int (*hook)(void *ctx);
    void *hook_ctx;
};

/* Which step of the child's start failed. */
enum spawn_step {
    SPAWN_OK = 0,
    SPAWN_FAILED_FDS,  /* opening /dev/null, putting an fd at its number */
    SPAWN_FAILED_CWD,  /* chdir to cwd */
    SPAWN_FAILED_HOOK, /* the caller's hook */
    SPAWN_FAILED_EXEC, /* execv: ENOENT, EACCES, ENOEXEC (a bad #! line gives ENOENT) */
};

/* Starts o->path. On success returns 0 with *pid the child, which leads its own process group
 * (so spawn_kill_group reaches all it starts) and gets SIGKILL when the thread that called
 * spawn_start ends: a child must never outlive us, and SIGKILL is the one signal it can neither
 * catch nor ignore nor delay; each of our children that starts children of its own (the server
 * its QEMU and its build) does so through here, so the rule holds down the whole tree.
 * On failure returns -errno of the failed step (ERR_INVALID for bad options), *failed (may be
 * NULL) names the step, err says "cannot run <path>: <what>: <strerror>", and no child is left.
 * Do not set SIGCHLD to SIG_IGN around it (the child would be reaped behind our back). */
int spawn_start(const struct spawn_opts *o, pid_t *pid, enum spawn_step *failed,
                struct err *err);

/* spawn_start with stdout and stderr through one pipe, copied to each fd of copy_to (n_copy
 * of them; -1 entries are skipped, write errors ignored) until the child and all that hold the
 * pipe close it, then reaped: *status gets its exit code, or 128 + the signal that killed it.
 * timeout_ms > 0 limits the whole run: past it the child's process group is killed (SIGKILL),
 * the child is reaped, and the call fails with ERR_TIMEOUT. Blocks until then. Errors of the
 * start as spawn_start. */
int spawn_run(const struct spawn_opts *o, const int *copy_to, size_t n_copy, int timeout_ms,
              int *status, enum spawn_step *failed, struct err *err);

/* A pipe (fds[0] reads, fds[1] writes), both ends close-on-exec and above stderr, so either
 * can be kept in a child at its own number even when our stdin, stdout or stderr are closed.
 * On failure both are -1. */
int spawn_pipe(int fds[2], struct err *err);

/* SIGKILL to pid's process group and to pid itself (it may not have made its group yet). */
void spawn_kill_group(pid_t pid);

/* Reaps pid, waiting at most timeout_ms (< 0: as long as it takes; 0: only looks). Returns
 * true with *status (may be NULL; waitpid's) once reaped, also when pid was no child of ours
 * any more (then *status is -1). */
bool spawn_reap(pid_t pid, int timeout_ms, int *status);

/* A waitpid status in words, into out (returned): "exited with code 3", "was killed by
 * signal 9 (Killed)", "stopped (status 0x...)"; a negative status (unknown) is "exited". */
const char *spawn_describe_status(int status, char *out, size_t n);

/* Finds prog on $PATH (default "/usr/local/bin:/usr/bin:/bin"), or takes it as a path when it
 * holds a '/'; true, with the path in out (may be NULL), when that is an executable file. */
bool spawn_find(const char *prog, char *out, size_t outsz);

#endif
