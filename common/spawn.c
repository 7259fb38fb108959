/*
 * Starting programs (see spawn.h), the way libuv's uv_spawn does it: every fd the child must
 * not have closes at exec, signals are blocked across fork so none of our handlers ever runs in
 * the child, and the child only makes async-signal-safe calls until exec, reporting a failure
 * as {step, errno} over a close-on-exec pipe (EOF on it means exec succeeded).
 */
#include "spawn.h"

#include "fs.h"
#include "mono.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#define CLOSE_RANGE_CLOEXEC_FLAG 4u /* <linux/close_range.h>, Linux 5.11 */

/* What the child does, worked out in the parent: fd from[i] becomes fd to[i]. */
struct plan {
    const struct spawn_opts *o;
    int from[3 + SPAWN_KEEP_MAX];
    int to[3 + SPAWN_KEEP_MAX];
    size_t n;
    int top;    /* the highest target: the child parks fds above it */
    int report; /* the pipe's write end */
    pid_t parent;
};

/* In the child: every fd above stderr closes at exec, including those our own caller let us
 * inherit (a test runner's log, TVM's pipes). close_range (Linux 5.11) or, without it, fcntl on
 * the first 4096. */
static void close_all_on_exec(void)
{
    if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC_FLAG) == 0)
        return;
    for (int fd = 3; fd < 4096; fd++)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* In the child: a close-on-exec copy of every fd to place, above every target, so that no
 * target overwrites a source still to be moved (a swap of 3 and 4 works); then every other fd
 * closes at exec. */
static int park_fds(const struct plan *p, int parked[])
{
    for (size_t i = 0; i < p->n; i++)
        if ((parked[i] = fcntl(p->from[i], F_DUPFD_CLOEXEC, p->top + 1)) < 0)
            return -1;
    close_all_on_exec();
    return 0;
}

/* In the child: dup2 of the parked copies whose targets are stdio (below 3) or the kept fds
 * (3 and up) into place; dup2 clears close-on-exec on the target only. */
static int place_fds(const struct plan *p, const int parked[], bool kept)
{
    for (size_t i = 0; i < p->n; i++)
        if ((p->to[i] > 2) == kept && dup2(parked[i], p->to[i]) < 0)
            return -1;
    return 0;
}

/* In the child: only async-signal-safe calls until exec. Never returns. */
static void run_child(const struct plan *p)
{
    const struct spawn_opts *o = p->o;
    int step = SPAWN_FAILED_FDS;
    int report = p->report;
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* spawn.h says why SIGKILL */
    if (getppid() != p->parent)       /* the parent died before prctl took effect */
        _exit(127);
    if (report <= p->top && (report = fcntl(report, F_DUPFD_CLOEXEC, p->top + 1)) < 0)
        _exit(127); /* no way to tell the parent: it sees EOF, then exit status 127 */
    int parked[3 + SPAWN_KEEP_MAX];
    if (park_fds(p, parked) < 0 || place_fds(p, parked, false) < 0)
        goto fail;
    step = SPAWN_FAILED_CWD;
    if (o->cwd && chdir(o->cwd) < 0)
        goto fail;
    /* the program must not inherit our ignored signals (SIGPIPE ignored by a server) or our
     * mask; handlers reset at exec anyway, but not while the hook runs */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &dfl, NULL); /* fails harmlessly for SIGKILL, SIGSTOP and glibc's own */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    step = SPAWN_FAILED_HOOK;
    if (o->hook) {
        int rc = o->hook(o->hook_ctx);
        if (rc < 0) {
            errno = -rc;
            goto fail;
        }
    }
    /* the kept fds only now: the hook may still use an fd of its own at one of their numbers
     * (QEMU's Landlock ruleset, perhaps at 3), which the copy made before keeps apart */
    step = SPAWN_FAILED_FDS;
    if (place_fds(p, parked, true) < 0)
        goto fail;
    step = SPAWN_FAILED_EXEC;
    execv(o->path, o->argv);
fail:;
    int msg[2] = {step, errno};
    ssize_t w = write(report, msg, sizeof msg);
    (void)w;
    _exit(127);
}

/* Checks o and works out the fd moves; devnull is the fd to use for SPAWN_DEVNULL. */
static int make_plan(const struct spawn_opts *o, int devnull, struct plan *p, struct err *err)
{
    memset(p, 0, sizeof *p);
    p->o = o;
    p->top = 2;
    for (int i = 0; i < 3; i++) {
        if (o->stdio[i] == SPAWN_INHERIT)
            continue;
        p->from[p->n] = o->stdio[i] == SPAWN_DEVNULL ? devnull : o->stdio[i];
        p->to[p->n++] = i;
    }
    if (o->n_keep > SPAWN_KEEP_MAX)
        return err_set(err, ERR_INVALID, "spawn %s: %zu fds to keep, at most %d", o->path,
                       o->n_keep, SPAWN_KEEP_MAX);
    for (size_t k = 0; k < o->n_keep; k++) {
        const struct spawn_fd *f = &o->keep[k];
        if (f->from < 0 || f->to < 3)
            return err_set(err, ERR_INVALID, "spawn %s: cannot keep fd %d as fd %d (stdin, "
                           "stdout and stderr are set through stdio)", o->path, f->from, f->to);
        for (size_t j = 0; j < k; j++)
            if (o->keep[j].to == f->to)
                return err_set(err, ERR_INVALID, "spawn %s: two fds kept as fd %d", o->path,
                               f->to);
        p->from[p->n] = f->from;
        p->to[p->n++] = f->to;
        if (f->to > p->top)
            p->top = f->to;
    }
    for (size_t i = 0; i < p->n; i++)
        if (p->from[i] < 0)
            return err_set(err, ERR_INVALID, "spawn %s: stdio[%d] is %d, not an fd", o->path,
                           p->to[i], p->from[i]);
    return 0;
}

static int child_failed(const struct spawn_opts *o, int step, int child_errno, struct err *err)
{
    errno = child_errno;
    switch (step) {
    case SPAWN_FAILED_FDS:
        return err_errno(err, "cannot run %s: setting up its stdin, stdout, stderr and kept fds",
                         o->path);
    case SPAWN_FAILED_CWD:
        return err_errno(err, "cannot run %s in %s", o->path, o->cwd);
    case SPAWN_FAILED_HOOK:
        return err_errno(err, "cannot run %s: preparing it just before exec", o->path);
    default:
        return err_errno(err, "cannot run %s", o->path);
    }
}

int spawn_start(const struct spawn_opts *o, pid_t *pid, enum spawn_step *failed,
                struct err *err)
{
    int devnull = -1, report[2] = {-1, -1}, rc = 0;
    struct plan p;
    *pid = -1;
    if (failed)
        *failed = SPAWN_OK;
    if (!o || !o->path || !o->argv || !o->argv[0])
        return err_set(err, ERR_INVALID, "spawn: a path and an argv are required");
    bool want_null = false;
    for (int i = 0; i < 3; i++)
        want_null |= o->stdio[i] == SPAWN_DEVNULL;
    if (want_null && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
        return err_errno(err, "spawn %s: opening /dev/null", o->path);
    if ((rc = make_plan(o, devnull, &p, err)) < 0)
        goto out;
    if (pipe2(report, O_CLOEXEC) < 0) {
        rc = err_errno(err, "spawn %s: pipe2", o->path);
        goto out;
    }
    p.report = report[1];
    p.parent = getpid();
    /* no handler of ours may run in the child before it resets them: block all across fork */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child == 0)
        run_child(&p);
    int fork_errno = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (child < 0) {
        errno = fork_errno;
        rc = err_errno(err, "spawn %s: fork", o->path);
        goto out;
    }
    setpgid(child, child); /* also here, so a kill of the group right after fork cannot miss */
    close(report[1]);
    report[1] = -1;
    int msg[2] = {0, 0};
    ssize_t r;
    do
        r = read(report[0], msg, sizeof msg);
    while (r < 0 && errno == EINTR);
    if (r == (ssize_t)sizeof msg) {
        spawn_reap(child, -1, NULL); /* it _exits right after writing */
        if (failed)
            *failed = (enum spawn_step)msg[0];
        rc = child_failed(o, msg[0], msg[1], err);
        goto out;
    }
    *pid = child;
out:
    if (devnull >= 0)
        close(devnull);
    for (int i = 0; i < 2; i++)
        if (report[i] >= 0)
            close(report[i]);
    return rc;
}

/* Copies from to every fd of to until EOF; false when the deadline (-1: none) passed first. */
static bool pump(int from, const int *to, size_t n, int64_t deadline)
{
    char buf[8192];
    for (;;) {
        int left = mono_left_ms(deadline);
        if (left == 0)
            return false;
        struct pollfd pfd = {.fd = from, .events = POLLIN};
        int r = poll(&pfd, 1, left);
        if (r < 0 && errno != EINTR)
            return true; /* cannot wait on it: treat as the end, the exit status still tells */
        if (r <= 0)
            continue; /* EINTR, or the deadline, which the next round checks */
        ssize_t got = read(from, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return true;
        /* a full disk must not stop the run: the exit status still tells */
        for (size_t i = 0; i < n; i++)
            if (to[i] >= 0)
                (void)fs_write_all(to[i], buf, (size_t)got, NULL);
    }
}

int spawn_run(const struct spawn_opts *o, const int *copy_to, size_t n_copy, int timeout_ms,
              int *status, enum spawn_step *failed, struct err *err)
{
    int out[2] = {-1, -1};
    pid_t pid = -1;
    if (spawn_pipe(out, err) < 0)
        return err_prefix(err, "spawn %s", o->path);
    struct spawn_opts run = *o;
    run.stdio[1] = run.stdio[2] = out[1];
    int rc = spawn_start(&run, &pid, failed, err);
    close(out[1]);
    if (rc < 0) {
        close(out[0]);
        return rc;
    }
    int64_t deadline = timeout_ms > 0 ? mono_deadline(timeout_ms) : -1;
    bool in_time = pump(out[0], copy_to, n_copy, deadline);
    close(out[0]);
    int ws = 0;
    /* the output may end (closed by the program) long before the program does */
    if (!in_time || !spawn_reap(pid, mono_left_ms(deadline), &ws)) {
        spawn_kill_group(pid);
        spawn_reap(pid, -1, NULL);
        return err_set(err, ERR_TIMEOUT, "%s: still running after %d ms; stopped it and every "
                       "process of its group", o->path, timeout_ms);
    }
    *status = ws < 0 ? 127 : WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return 0;
}

/* fd itself when above stderr, else a close-on-exec copy above it (fd is then closed). */
static int above_stdio(int fd)
{
    if (fd > 2)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int e = errno;
    close(fd);
    errno = e;
    return moved;
}

int spawn_pipe(int fds[2], struct err *err)
{
    fds[0] = fds[1] = -1;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return err_errno(err, "pipe2");
    p[0] = above_stdio(p[0]);
    p[1] = above_stdio(p[1]);
    if (p[0] < 0 || p[1] < 0) {
        int rc = err_errno(err, "pipe2: moving its ends above stderr");
        if (p[0] >= 0)
            close(p[0]);
        if (p[1] >= 0)
            close(p[1]);
        return rc;
    }
    fds[0] = p[0];
    fds[1] = p[1];
    return 0;
}

void spawn_kill_group(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

bool spawn_reap(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = mono_deadline(timeout_ms);
    int pidfd = -1;
    bool reaped = false;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(pid, &st, timeout_ms < 0 ? 0 : WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) {
            if (status)
                *status = r == pid ? st : -1;
            reaped = true;
            break;
        }
        if (r < 0 && errno == EINTR)
            continue;
        int left = mono_left_ms(deadline);
        if (r < 0 || left == 0)
            break;
        /* wake when it exits (a pidfd), or look again in 10 ms */
        if (pidfd < 0)
            pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd >= 0) {
            struct pollfd p = {.fd = pidfd, .events = POLLIN};
            poll(&p, 1, left);
        } else {
            usleep(1000u * (unsigned)(left > 10 ? 10 : left));
        }
    }
    if (pidfd >= 0)
        close(pidfd);
    return reaped;
}

const char *spawn_describe_status(int status, char *out, size_t n)
{
    if (status < 0)
        snprintf(out, n, "exited");
    else if (WIFEXITED(status))
        snprintf(out, n, "exited with code %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, n, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, n, "stopped (status 0x%x)", (unsigned)status);
    return out;
}

bool spawn_find(const char *prog, char *out, size_t outsz)
{
    char cand[PATH_MAX];
    if (strchr(prog, '/')) {
        if (access(prog, X_OK) != 0 || (size_t)snprintf(cand, sizeof cand, "%s", prog) >=
                                           sizeof cand)
            return false;
        if (out)
            snprintf(out, outsz, "%s", cand);
        return true;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        if (len > 0 && (size_t)snprintf(cand, sizeof cand, "%.*s/%s", (int)len, p, prog) <
                           sizeof cand &&
            access(cand, X_OK) == 0) {
            if (out)
                snprintf(out, outsz, "%s", cand);
            return true;
        }
        p += len;
        if (*p == ':')
            p++;
    }
    return false;
}
