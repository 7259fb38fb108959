/*
 * QEMU's lifetime as a board (see emu.h). The process is started by spawn_start (common/spawn.h:
 * every fd but stdio closed at exec, signals at their defaults, exec failure reported over a
 * CLOEXEC pipe), confined just before exec; it gets SIGKILL when we die and lives in its own
 * process group, so neither a crash of ours nor a stray child of QEMU's outlives us.
 * We never reap QEMU before emu_stop (waitid WNOWAIT), so its pid and group cannot be reused
 * while we may still signal them.
 */
#include "emu.h"

#include "confine.h"
#include "fs.h"
#include "log.h"
#include "mono.h"
#include "qemu_argv.h"
#include "spawn.h"
#include "uart_pty.h"
#include "qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A QMP command on a live QEMU answers in about a millisecond; 2 s means it is wedged. */
#define CMD_TIMEOUT_MS 2000
/* emu_stop: how long quit may take before SIGKILL. */
#define QUIT_WAIT_MS 1500
#define INSTALL_HINT "install qemu-system-arm and qemu-system-misc (scripts/install-deps.sh)"

struct emu {
    pid_t pid;          /* QEMU, also its process group; -1 once reaped */
    int pidfd;          /* readable when QEMU exits; -1 if unsupported */
    bool exited;        /* seen exiting (not reaped yet while pid > 0) */
    int status;         /* waitpid-style status once exited */
    bool gdb;           /* the debugger, not emu_run, lets the CPU run */
    struct pty pty;
    struct pty status_uart; /* the exit status UART (exit kind cmsdk_watchdog); fds -1 otherwise */
    bool fw_exit;       /* the status UART said how the firmware ended (fw_code, fw_fault) */
    int fw_code;
    char fw_fault[160]; /* its fault line without the prefix, "" when none */
    struct qmp *qmp;
    char rundir[108];   /* private 0700 directory: QMP socket, default log */
    char sock[108];     /* sun_path is 108 bytes */
    char log_path[PATH_MAX];
    off_t log_from;     /* where this run's output starts in the log */
    char binary[64];    /* basename of QEMU's binary, for messages */
};

void emu_config_init(struct emu_config *c)
{
    memset(c, 0, sizeof *c);
    c->deterministic = true;
    c->start_timeout_ms = EMU_START_TIMEOUT_MS;
    c->link_fd = -1;
}

/* ---- process state ---- */

static void read_status(struct emu *e);

/* Records QEMU's exit if it happened; never reaps, never blocks. */
static bool check_exit(struct emu *e)
{
    if (e->exited || e->pid <= 0)
        return true;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r;
    do
        r = waitid(P_PID, (id_t)e->pid, &si, WEXITED | WNOHANG | WNOWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0) { /* ECHILD: someone reaped it (SIGCHLD ignored?): it is gone all the same */
        e->exited = true;
        e->status = -1;
        return true;
    }
    if (si.si_pid == 0)
        return false;
    e->exited = true;
    if (si.si_code == CLD_EXITED)
        e->status = (si.si_status & 0xff) << 8;
    else
        e->status = (si.si_status & 0x7f) | (si.si_code == CLD_DUMPED ? 0x80 : 0);
    read_status(e);
    return true;
}

/* ---- the firmware's exit status ---- */

#define STATUS_EXIT "#microtvm-qemu:exit:"
#define STATUS_FAULT "#microtvm-qemu:fault:"

/* Takes one status line: the exit code, or the fault report (printable bytes only). */
static void status_line(struct emu *e, const char *line, bool *got, int *code)
{
    size_t xl = strlen(STATUS_EXIT), fl = strlen(STATUS_FAULT);
    if (strncmp(line, STATUS_EXIT, xl) == 0 && line[xl] && strlen(line + xl) <= 3 &&
        strspn(line + xl, "0123456789") == strlen(line + xl)) {
        *got = true;
        *code = atoi(line + xl);
    } else if (strncmp(line, STATUS_FAULT, fl) == 0) {
        size_t n = 0;
        for (const char *p = line + fl; *p && n < sizeof e->fw_fault - 1; p++)
            e->fw_fault[n++] = *p >= 0x20 && *p < 0x7f ? *p : '?';
        e->fw_fault[n] = '\0';
    }
}

/* Once QEMU has ended: the status UART's last lines (board_exit on a board whose exit device
 * carries no code, firmware/board/exit_cmsdk_watchdog.c). A QEMU that ended with 0 after an
 * exit line ended because the firmware asked, so its status becomes the firmware's code; any
 * other end is QEMU's own. Only the last 512 bytes count, whatever else a firmware writes. */
static void read_status(struct emu *e)
{
    char buf[512], chunk[256];
    size_t n = 0;
    ssize_t r;
    if (e->status_uart.master < 0)
        return;
    while ((r = read(e->status_uart.master, chunk, sizeof chunk)) > 0 ||
           (r < 0 && errno == EINTR)) {
        size_t k = r > 0 ? (size_t)r : 0;
        if (n + k > sizeof buf - 1) { /* keep the newest bytes */
            size_t drop = n + k - (sizeof buf - 1);
            memmove(buf, buf + drop, n - drop);
            n -= drop;
        }
        memcpy(buf + n, chunk, k);
        n += k;
    }
    buf[n] = '\0';
    bool got = false;
    int code = 0;
    for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        status_line(e, line, &got, &code);
    }
    if (got && WIFEXITED(e->status) && WEXITSTATUS(e->status) == 0) {
        e->fw_exit = true;
        e->fw_code = code & 0xff;
        e->status = e->fw_code << 8;
    }
}

const char *emu_describe_exit(struct emu *e, char *out, size_t n)
{
    char how[128];
    if (!check_exit(e))
        snprintf(out, n, "QEMU is running");
    else if (e->fw_exit && e->fw_fault[0])
        snprintf(out, n, "the firmware faulted (%s) and exited with code %d", e->fw_fault,
                 e->fw_code);
    else if (e->fw_exit)
        snprintf(out, n, "the firmware exited with code %d", e->fw_code);
    else if (e->status_uart.master >= 0 && e->status == 0)
        snprintf(out, n, "QEMU exited with code 0 but the firmware gave no exit status (a "
                 "watchdog fired, or the firmware is not ours)");
    else {
        spawn_describe_status(e->status, how, sizeof how);
        snprintf(out, n, "QEMU %s", how);
    }
    return out;
}

/* Waits up to timeout_ms for QEMU to exit, without reaping it. */
static bool wait_exit(struct emu *e, int timeout_ms)
{
    int64_t deadline = mono_deadline(timeout_ms);
    while (!check_exit(e)) {
        int left = mono_left_ms(deadline);
        if (left == 0)
            return false;
        if (e->pidfd >= 0) {
            struct pollfd p = {.fd = e->pidfd, .events = POLLIN};
            poll(&p, 1, left);
        } else {
            usleep(1000u * (unsigned)(left > 10 || left < 0 ? 10 : left));
        }
    }
    return true;
}

/* ---- QEMU's log ---- */

/* Puts this run's QEMU output into err: its last lines into detail, and its last error line
 * ("qemu-system-arm: ...", QEMU's error_report format) or else its last line into msg. */
static void add_log_tail(struct emu *e, struct err *err)
{
    if (!err || !e->log_path[0])
        return;
    char tail[ERR_DETAIL_MAX];
    size_t n = 0;
    int fd = open(e->log_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end - (off_t)(sizeof tail - 1);
    if (from < e->log_from)
        from = e->log_from;
    if (end > from && lseek(fd, from, SEEK_SET) == from) {
        ssize_t r;
        while (n < sizeof tail - 1 && (r = read(fd, tail + n, sizeof tail - 1 - n)) > 0)
            n += (size_t)r;
    }
    close(fd);
    tail[n] = '\0';
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
        tail[--n] = '\0';
    if (n == 0)
        return;
    char prefix[80];
    snprintf(prefix, sizeof prefix, "%s:", e->binary);
    const char *best = NULL, *last = NULL;
    for (char *line = tail; line && *line;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            best = line;
        last = line;
        line = nl ? nl + 1 : NULL;
    }
    const char *pick = best ? best : last;
    size_t len = strcspn(pick, "\r\n");
    char msg[ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "%.200s: %.*s", err->msg, (int)(len > 300 ? 300 : len), pick);
    memcpy(err->msg, msg, sizeof msg);
    err_set_detail(err, tail, n);
}

/* ---- start-up helpers ---- */

/* Finds name on PATH (or takes it as a path if it has a '/'). */
static int find_binary(const char *name, char *out, size_t n, struct err *err)
{
    if (spawn_find(name, out, n))
        return 0;
    if (strchr(name, '/'))
        return err_set(err, ERR_TOOL, "QEMU binary %s is not an executable file: " INSTALL_HINT,
                       name);
    return err_set(err, ERR_TOOL, "%s not found on PATH: " INSTALL_HINT, name);
}

/* A private 0700 directory for the QMP socket: $XDG_RUNTIME_DIR if the socket path fits, else
 * /tmp. Nobody else can connect to QMP, and parallel boards never collide. The name holds our
 * pid so that a later start can sweep what a killed server left. */
static int make_rundir(struct emu *e, struct err *err)
{
    const char *bases[2] = {getenv("XDG_RUNTIME_DIR"), "/tmp"};
    for (int i = 0; i < 2; i++) {
        const char *b = bases[i];
        if (!b || !*b || !fs_is_dir(b))
            continue;
        /* "<base>/mtq-<pid>-XXXXXX/qmp.sock" must fit in sun_path */
        int n = snprintf(e->rundir, sizeof e->rundir, "%s/mtq-%ld-XXXXXX", b, (long)getpid());
        if (n < 0 || (size_t)n + strlen("/qmp.sock") >= sizeof e->sock) {
            e->rundir[0] = '\0';
            continue;
        }
        /* a server SIGKILLed between here and QMP's connection leaves its directory: the
         * next start anywhere sweeps those by their owner's pid */
        fs_sweep_dead_owners(b, "mtq-");
        if (!mkdtemp(e->rundir)) {
            e->rundir[0] = '\0';
            if (i == 1)
                return err_errno(err, "creating a runtime directory under /tmp");
            continue;
        }
        if (snprintf(e->sock, sizeof e->sock, "%s/qmp.sock", e->rundir) < (int)sizeof e->sock)
            return 0;
        rmdir(e->rundir); /* cannot happen: the length was checked above */
        e->rundir[0] = '\0';
    }
    return err_set(err, ERR_INTERNAL, "no usable runtime directory ($XDG_RUNTIME_DIR or /tmp)");
}

/* In the child just before exec (async-signal-safe): QEMU's confinement (confine.h). */
static int confine_hook(void *conf)
{
    return confine_apply(conf);
}

/* The fd a link hands QEMU (emu_config.link_fd): QEMU's command line names it fd=3. */
#define LINK_CHILD_FD 3

/* Starts QEMU: stdin /dev/null, stdout and stderr the log, link_fd (-1: none) as its fd 3,
 * confined before its first instruction. spawn_start puts the link at 3 only after the hook,
 * so the confinement's Landlock ruleset fd, wherever it is, is not overwritten first. */
static int spawn(struct emu *e, const char *bin, char *const argv[], int log_fd, int link_fd,
                 const struct confine *conf, struct err *err)
{
    struct spawn_fd link = {.from = link_fd, .to = LINK_CHILD_FD};
    struct spawn_opts o = {.path = bin, .argv = argv, .stdio = {SPAWN_DEVNULL, log_fd, log_fd},
                           .keep = &link, .n_keep = link_fd >= 0 ? 1 : 0,
                           .hook = confine_hook, .hook_ctx = (void *)conf};
    enum spawn_step failed = SPAWN_OK;
    int rc = spawn_start(&o, &e->pid, &failed, err);
    if (rc == 0) {
        e->pidfd = (int)syscall(SYS_pidfd_open, e->pid, 0);
        if (e->pidfd >= 0)
            fcntl(e->pidfd, F_SETFD, FD_CLOEXEC);
        return 0;
    }
    errno = -rc;
    if (failed == SPAWN_FAILED_HOOK)
        return err_errno(err, "confining %s before it starts (no new privileges, rlimits, "
                         "Landlock)", bin);
    if (failed == SPAWN_FAILED_EXEC && (rc == -ENOENT || rc == -EACCES))
        return err_set(err, ERR_TOOL, "cannot run %s (%s): " INSTALL_HINT, bin, strerror(-rc));
    return rc;
}

/* Connects to QMP, giving up early when QEMU exits (a bad -M dies in milliseconds). */
static int connect_qmp(struct emu *e, int timeout_ms, struct err *err)
{
    int64_t deadline = mono_deadline(timeout_ms);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", e->sock);
    for (;;) {
        if (check_exit(e)) {
            char how[128];
            spawn_describe_status(e->status, how, sizeof how);
            err_set(err, ERR_TOOL, "%s %s during start-up", e->binary, how);
            add_log_tail(e, err);
            return ERR_TOOL;
        }
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return err_errno(err, "QMP: socket");
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            e->qmp = qmp_open_fd(fd, mono_left_ms(deadline), err);
            if (e->qmp)
                return 0;
            if (wait_exit(e, 100)) { /* it died while greeting: say why */
                char how[128];
                spawn_describe_status(e->status, how, sizeof how);
                err_set(err, ERR_TOOL, "%s %s during start-up", e->binary, how);
                add_log_tail(e, err);
                return ERR_TOOL;
            }
            return err_prefix(err, "%s", e->binary);
        }
        int ce = errno;
        close(fd);
        if (ce != ENOENT && ce != ECONNREFUSED && ce != EINTR) {
            errno = ce;
            return err_errno(err, "QMP: connecting to %s", e->sock);
        }
        int left = mono_left_ms(deadline);
        if (left == 0) {
            err_set(err, ERR_TIMEOUT, "%s did not open its QMP socket within %d ms", e->binary,
                    timeout_ms);
            add_log_tail(e, err);
            return ERR_TIMEOUT;
        }
        /* wake at once if QEMU dies, else retry the socket in 5 ms */
        int slice = left < 0 || left > 5 ? 5 : left;
        if (e->pidfd >= 0) {
            struct pollfd p = {.fd = e->pidfd, .events = POLLIN};
            poll(&p, 1, slice);
        } else {
            usleep(1000u * (unsigned)slice);
        }
    }
}

/* What QEMU may read and write (confine.h): its binary, libraries and data, the image, its
 * ptys, sockets in the runtime directory, the gdb port. */
static int prepare_confinement(struct emu *e, const struct emu_config *c, const char *bin,
                               struct confine *conf, struct err *err)
{
    char bindir[PATH_MAX];
    snprintf(bindir, sizeof bindir, "%s", bin);
    char *slash = strrchr(bindir, '/');
    if (slash && slash != bindir)
        *slash = '\0';
    const char *trees[] = {"/usr", "/lib", "/lib64", "/etc/ld.so.cache", "/sys/devices/system",
                           "/dev/urandom", bindir, NULL};
    const char *image[] = {c->image, NULL};
    const char *rw[3 + EMU_LINK_FILES_MAX] = {e->pty.slave_path, NULL};
    size_t n = 1;
    if (e->status_uart.master >= 0)
        rw[n++] = e->status_uart.slave_path;
    for (size_t i = 0; c->link_files && c->link_files[i] && n < 2 + EMU_LINK_FILES_MAX; i++)
        rw[n++] = c->link_files[i];
    rw[n] = NULL;
    struct confine_spec spec = {.read_trees = trees, .read_files = image, .rw_files = rw,
                                .socket_dir = e->rundir, .tcp_bind_port = c->gdb_port};
    int rc = confine_prepare(conf, &spec, err);
    if (rc == 0 && conf->abi > 0)
        log_debug("QEMU confined: Landlock ABI %d, seccomp (-sandbox), no new privileges",
                  conf->abi);
    return rc;
}

/* Opens what the session gives QEMU: its log, the UART's pty and, where the exit device
 * carries no code, the status UART's. */
static int open_devices(struct emu *e, const struct emu_config *c, int *log_fd,
                        struct err *err)
{
    if (c->log_path)
        snprintf(e->log_path, sizeof e->log_path, "%s", c->log_path);
    else
        snprintf(e->log_path, sizeof e->log_path, "%s/qemu.log", e->rundir);
    *log_fd = open(e->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (*log_fd < 0)
        return err_errno(err, "opening QEMU's log %s", e->log_path);
    int rc = pty_open(&e->pty, err);
    if (rc == 0 && strcmp(c->machine->exit_kind, "cmsdk_watchdog") == 0)
        rc = pty_open(&e->status_uart, err);
    return rc;
}

struct emu *emu_start(const struct emu_config *c, struct err *err)
{
    struct emu__argv a = {.n = 0};
    struct confine conf = {.ruleset = -1};
    char bin[PATH_MAX];
    int log_fd = -1;
    int rc = 0;
    struct emu *e = calloc(1, sizeof *e);
    if (!e) {
        err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    e->pid = -1;
    e->pidfd = -1;
    e->pty.master = e->pty.slave = -1;
    e->status_uart.master = e->status_uart.slave = -1;
    if (!c || !c->machine || !c->image) {
        rc = err_set(err, ERR_INVALID, "emu_start: a machine and an image are required");
        goto out;
    }
    struct sigaction chld;
    if (sigaction(SIGCHLD, NULL, &chld) == 0 &&
        (chld.sa_handler == SIG_IGN || (chld.sa_flags & SA_NOCLDWAIT))) {
        /* the kernel would reap QEMU at once and we could no longer tell it is running */
        rc = err_set(err, ERR_STATE, "SIGCHLD is ignored in this process (SIG_IGN or "
                     "SA_NOCLDWAIT): restore SIG_DFL or a handler before starting QEMU");
        goto out;
    }
    e->gdb = c->gdb_port > 0;
    const char *name = c->qemu_binary ? c->qemu_binary : c->machine->qemu_binary;
    const char *base = strrchr(name, '/');
    snprintf(e->binary, sizeof e->binary, "%s", base ? base + 1 : name);
    if ((rc = find_binary(name, bin, sizeof bin, err)) < 0)
        goto out;
    if (access(c->image, R_OK) < 0) {
        rc = err_set(err, ERR_INVALID, "firmware image %s: %s", c->image, strerror(errno));
        goto out;
    }
    struct emu__paths paths = {.bin = bin, .qmp_sock = e->sock, .seed = c->seed};
    if (!c->fixed_seed && getrandom(&paths.seed, sizeof paths.seed, 0) != sizeof paths.seed) {
        rc = err_errno(err, "getrandom for the boot seed");
        goto out;
    }
    if ((rc = make_rundir(e, err)) < 0 || (rc = open_devices(e, c, &log_fd, err)) < 0)
        goto out;
    paths.uart_pty = e->pty.slave_path;
    paths.status_pty = e->status_uart.master >= 0 ? e->status_uart.slave_path : NULL;
    if ((rc = emu__build_argv(c, &paths, &a, err)) < 0 ||
        (rc = prepare_confinement(e, c, bin, &conf, err)) < 0)
        goto out;
    /* one header line per start, so the log says which run printed what */
    dprintf(log_fd, "== microtvm-qemu: starting:");
    for (size_t i = 0; i < a.n; i++)
        dprintf(log_fd, " %s", a.v[i]);
    dprintf(log_fd, "\n");
    e->log_from = lseek(log_fd, 0, SEEK_END);
    /* spawn_start places the link at 3 even from among 0..2 (a caller without stdio) */
    if ((rc = spawn(e, bin, a.v, log_fd, c->link_fd, &conf, err)) < 0)
        goto out;
    int timeout = c->start_timeout_ms == 0 ? EMU_START_TIMEOUT_MS : c->start_timeout_ms;
    rc = connect_qmp(e, timeout, err);
    if (rc == 0) {
        /* QMP serves one client and we hold the connection, so the socket's name is no longer
         * needed: dropping it now means even a SIGKILLed server leaves no socket behind, and
         * no directory either when the log lives elsewhere (the server's case). */
        unlink(e->sock);
        e->sock[0] = '\0';
        if (c->log_path && rmdir(e->rundir) == 0)
            e->rundir[0] = '\0';
    }
out:
    emu__argv_free(&a);
    confine_release(&conf);
    if (log_fd >= 0)
        close(log_fd);
    if (rc < 0) {
        emu_free(e);
        return NULL;
    }
    return e;
}

/* ---- running ---- */

static int closed_error(struct emu *e, struct err *err)
{
    char how[256];
    err_set(err, ERR_CLOSED, "%s", emu_describe_exit(e, how, sizeof how));
    add_log_tail(e, err);
    return ERR_CLOSED;
}

static int command(struct emu *e, const char *name, struct err *err)
{
    if (!e->qmp)
        return err_set(err, ERR_STATE, "%s: the board is stopped", name);
    if (check_exit(e))
        return closed_error(e, err);
    int rc = qmp_execute(e->qmp, name, NULL, CMD_TIMEOUT_MS, err);
    if (rc < 0 && wait_exit(e, rc == ERR_CLOSED ? 200 : 0))
        return closed_error(e, err);
    return rc;
}

int emu_run(struct emu *e, struct err *err)
{
    if (e->gdb)
        return 0;
    return command(e, "cont", err);
}

int emu_wake(struct emu *e, struct err *err)
{
    return command(e, "query-status", err);
}

int emu_reset(struct emu *e, struct err *err)
{
    return command(e, "system_reset", err);
}

/* ---- accessors ---- */

int emu_uart_fd(const struct emu *e)
{
    return e->pty.master;
}

int emu_exit_fd(const struct emu *e)
{
    return e->pidfd;
}

bool emu_is_running(struct emu *e)
{
    return !check_exit(e);
}

int emu_poll_exit(struct emu *e, int *status)
{
    if (!check_exit(e))
        return 0;
    if (status)
        *status = e->status;
    return 1;
}

pid_t emu_pid(const struct emu *e)
{
    return e->pid;
}

const char *emu_runtime_dir(const struct emu *e)
{
    return e->rundir;
}

/* ---- stopping ---- */

int emu_stop(struct emu *e)
{
    if (!e)
        return -1;
    int status = -1;
    if (e->pid > 0) {
        if (!check_exit(e) && e->qmp) {
            qmp_execute(e->qmp, "quit", NULL, 500, NULL); /* best effort: SIGKILL follows */
        }
        wait_exit(e, e->qmp ? QUIT_WAIT_MS : 0);
        /* the group: QEMU itself if quit failed, and anything it may have started. The
         * unreaped leader keeps the group id from being reused. */
        kill(-e->pid, SIGKILL);
        kill(e->pid, SIGKILL);
        int st = 0;
        pid_t r;
        do
            r = waitpid(e->pid, &st, 0);
        while (r < 0 && errno == EINTR);
        /* a firmware's exit said by its status UART stays what the caller sees */
        status = r == e->pid && !e->fw_exit ? st : e->status;
        e->exited = true;
        e->status = status;
        e->pid = -1;
    }
    if (e->pidfd >= 0)
        close(e->pidfd);
    e->pidfd = -1;
    qmp_close(e->qmp);
    e->qmp = NULL;
    pty_close(&e->pty);
    pty_close(&e->status_uart);
    if (e->rundir[0]) {
        fs_remove_tree(e->rundir, NULL);
        e->rundir[0] = '\0';
        e->sock[0] = '\0';
    }
    return status;
}

void emu_free(struct emu *e)
{
    if (!e)
        return;
    emu_stop(e);
    free(e);
}
