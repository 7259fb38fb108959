/*
 * `serial`: a console on the board's UART through the Project API transport (open_transport,
 * then write_transport for what we read on stdin and read_transport for what the board sends).
 * The calls are synchronous, so the loop alternates: forward a little input, then wait briefly
 * (READ_WAIT_SEC) for output. Keystrokes reach the board within that wait; piped input is
 * written in small chunks with reads between them, so the board's replies never pile up in
 * the pty while we are still writing.
 */
#include "command.h"
#include "fs.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define ESCAPE_BYTE 0x1d      /* Ctrl-]: leaves the console, as telnet's escape does */
#define READ_WAIT_SEC 0.05    /* how long one read_transport waits for the board */
#define DRAIN_QUIET_SEC 0.5   /* after EOF on stdin: stop once the board is quiet this long */
#define WRITE_CHUNK 256       /* bytes per write_transport */
#define WRITE_TIMEOUT_SEC 10.0

/* The one global the signal handler may touch (STYLE.md): which signal asked us to stop. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* One read_transport: passes what arrived to stdout. *quiet is set when nothing came. */
static int pump_output(struct cli_client *c, double wait, bool *quiet, struct err *err)
{
    unsigned char buf[4096];
    size_t got = 0;
    int rc = cli_read_transport(c, buf, sizeof buf, wait, &got, err);
    *quiet = rc == ERR_TIMEOUT;
    if (rc == ERR_TIMEOUT) {
        err_clear(err);
        return 0;
    }
    if (rc == ERR_CLOSED)
        return err_set(err, ERR_CLOSED, "the board's UART closed (the emulator stopped; rerun "
                       "with -v for the server's log)");
    if (rc < 0)
        return rc;
    if ((rc = fs_write_all(STDOUT_FILENO, buf, got, err)) < 0)
        return err_prefix(err, "writing the board's output to stdout");
    return 0;
}

/* The session: returns 0 when it ended normally (escape, EOF), < 0 with *err otherwise. */
static int console(struct cli_client *c, bool tty, struct err *err)
{
    unsigned char pending[4096];
    size_t npending = 0, off = 0;
    bool stdin_open = true, quiet = false, leave = false;
    int rc = 0;
    double quiet_for = 0;

    while (!stop_signal) {
        if (stdin_open && off == npending && !leave) {
            struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
            int r = poll(&p, 1, 0);
            if (r > 0) {
                ssize_t n = read(STDIN_FILENO, pending, sizeof pending);
                if (n < 0 && errno != EINTR && errno != EAGAIN)
                    return err_errno(err, "reading stdin");
                if (n == 0)
                    stdin_open = false; /* EOF: drain what the board still sends, then stop */
                if (n > 0) {
                    off = 0;
                    npending = (size_t)n;
                    unsigned char *esc = tty ? memchr(pending, ESCAPE_BYTE, npending) : NULL;
                    if (esc) {
                        npending = (size_t)(esc - pending);
                        leave = true;
                    }
                }
            }
        }
        if (off < npending) {
            size_t chunk = npending - off < WRITE_CHUNK ? npending - off : WRITE_CHUNK;
            if ((rc = cli_write_transport(c, pending + off, chunk, WRITE_TIMEOUT_SEC, err)) < 0)
                return rc == ERR_CLOSED ? err_set(err, ERR_CLOSED, "the board's UART closed "
                                                  "(the emulator stopped)") : rc;
            off += chunk;
        }
        if (leave && off == npending)
            return 0;
        bool busy = off < npending;
        if ((rc = pump_output(c, busy ? 0 : READ_WAIT_SEC, &quiet, err)) < 0)
            return rc;
        if (!stdin_open && off == npending) {
            quiet_for = quiet ? quiet_for + READ_WAIT_SEC : 0;
            if (quiet_for >= DRAIN_QUIET_SEC)
                return 0;
        }
    }
    return err_set(err, ERR_INVALID, "stopped by %s", strsignal(stop_signal));
}

static const struct cli_opt serial_opts[] = {
    {"option", 'o', "NAME=VALUE", true, "a project option for open_transport"},
};

/* The signals that end the session, as caught while it runs. */
struct caught_signals {
    struct sigaction old_int, old_term, old_hup;
};

/* No SA_RESTART: a signal must interrupt a blocked read so the loop sees the flag. */
static void catch_signals(struct caught_signals *c)
{
    struct sigaction sa;
    stop_signal = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &c->old_int);
    sigaction(SIGTERM, &sa, &c->old_term);
    sigaction(SIGHUP, &sa, &c->old_hup);
}

static void restore_signals(const struct caught_signals *c)
{
    sigaction(SIGINT, &c->old_int, NULL);
    sigaction(SIGTERM, &c->old_term, NULL);
    sigaction(SIGHUP, &c->old_hup, NULL);
}

/* Switches the terminal on stdin to raw mode, keeping its settings in *saved. */
static int raw_terminal(struct termios *saved, struct err *err)
{
    if (tcgetattr(STDIN_FILENO, saved) < 0)
        return err_errno(err, "stdin: reading the terminal's settings");
    struct termios t = *saved;
    cfmakeraw(&t);
    /* the board ends lines with "\n" alone: let the terminal add the "\r" */
    t.c_oflag |= OPOST | ONLCR;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) < 0)
        return err_errno(err, "stdin: switching the terminal to raw mode");
    return 0;
}

/* The console on an open transport, with the signals caught and a terminal in raw mode;
 * both are restored on every way out. */
static int attend(const struct cli_ctx *ctx, struct cli_client *client, struct err *err)
{
    struct caught_signals caught;
    struct termios saved;
    bool tty = isatty(STDIN_FILENO);
    int rc = 0;
    catch_signals(&caught);
    if (tty && (rc = raw_terminal(&saved, err)) < 0)
        goto out;
    if (tty)
        cli__progress(ctx, "connected to the board's UART; Ctrl-] leaves");
    rc = console(client, tty, err);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (rc == 0)
            fputc('\n', stderr);
    }
out:
    restore_signals(&caught);
    return rc;
}

/* close_transport: its failure counts only when the session went well and the board had not
 * already closed the UART itself. */
static int close_transport(struct cli_client *client, int rc, struct err *err)
{
    struct err close_err;
    err_clear(&close_err);
    if (cli_close_transport(client, &close_err) < 0 && rc == 0 && close_err.code != ERR_CLOSED) {
        *err = close_err;
        rc = close_err.code;
    }
    return rc;
}

static int run_serial(const struct cli_ctx *ctx, const struct cli_command *cmd,
                      const struct cli_args *a)
{
    struct err err;
    struct cli_client *client = NULL;
    cJSON *info = NULL, *options = NULL;
    char dir[PATH_MAX];
    int rc;
    if ((rc = cli__check_options(ctx, cmd, a)) != 0)
        return rc;
    err_clear(&err);
    if ((rc = cli__open_project(ctx, a->pos[0], dir, sizeof dir, &client, &info, &err)) < 0)
        goto out;
    if (!(options = cli__user_options(cmd, a, info, &err))) {
        rc = err.code;
        goto out;
    }
    cli__progress(ctx, "powering on the board of %s", dir);
    rc = cli_open_transport(client, options, NULL, &err);
    options = NULL; /* taken */
    if (rc == 0)
        rc = close_transport(client, attend(ctx, client, &err), &err);
out:
    cJSON_Delete(options);
    cJSON_Delete(info);
    return cli__finish(ctx, client, rc, &err);
}

const struct cli_command cli__cmd_serial = {
    .name = "serial",
    .synopsis = "PROJECT_DIR",
    .summary = "an interactive console on the board's UART (open_transport)",
    .description =
        "Powers on the flashed board through the project's server (open_transport) and\n"
        "connects the terminal to its UART (or its fast link, for a project generated\n"
        "with -o link=fast): what you type goes to the board, what it sends is printed,\n"
        "starting with its banner line. On a terminal, input is raw\n"
        "(Ctrl-C goes to the board too) and Ctrl-] leaves. With stdin a pipe or file,\n"
        "its bytes are sent as they are and the session ends once stdin reaches EOF and\n"
        "the board has been quiet for half a second, e.g.\n"
        "  printf 'hello' | microtvm-qemu serial PROJECT_DIR\n"
        "The terminal's settings are restored on every way out.\n",
    .opts = serial_opts,
    .n_opts = sizeof serial_opts / sizeof serial_opts[0],
    .min_pos = 1,
    .max_pos = 1,
    .run = run_serial,
};
