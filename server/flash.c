/*
 * The board's life (session.h): flash keeps the built firmware as the project's flash
 * image (flash/firmware.elf) and powers the board on halted; open_transport boots it (or, in a
 * fresh server process, as tvmc starts one per command, powers on the flashed image first), waits
 * for the firmware's banner and hands it over as the first bytes; close_transport and shutdown
 * stop QEMU. A board lock (board_lock.c) keeps two servers off one board; the bytes themselves
 * go through transport.c.
 * Choices worth knowing: open_transport on an open transport reboots the board (a fresh banner
 * comes first again); one whose deterministic or gdbserver_port differ from what flash powered
 * on restarts it with the new ones. With gdbserver_port the CPU waits for a debugger's continue,
 * so open_transport waits for the banner without a time limit (SIGTERM still ends the wait) and
 * says so in the log. A board that dies mid-session is reaped at once and its lock released;
 * reads still return what it sent before, then TransportClosedError naming how QEMU ended.
 * With link=fast QEMU also gets the board's fast link on a socketpair
 * (fast_link.c); the banner still comes on the UART, then the link must say it is up
 * (LINK_UP_MARKER) before open_transport returns, the link carries the transport, and the UART
 * goes to the server's stderr (uart_forward.c).
 */
#include "session_internal.h"

#include "../firmware/include/link.h" /* LINK_UP_MARKER: one definition for both sides */
#include "emu.h"
#include "fast_link.h"
#include "fs.h"
#include "log.h"
#include "machine.h"
#include "record.h"
#include "uart_forward.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a board start needs, from the call's options or else what generate_project recorded. */
struct settings {
    char board[MACH_NAME_MAX];
    bool deterministic;
    int gdb_port;        /* 0: none */
    int start_sec;       /* -1: our default */
    int established_sec; /* -1: our default */
    char link[8];        /* "uart" or "fast": what the firmware was built for */
};

struct session {
    struct emu *emu;         /* the powered board (halted until open); NULL when off */
    bool open;               /* open_transport succeeded and close_transport has not come */
    struct sess__link link;  /* the UART; its fd is -1 while no board runs */
    struct sess__lock lock;  /* held exactly while emu is set */
    char gone_why[ERR_MSG_MAX]; /* how the board went away mid-session, for every later call */
    char gone_detail[ERR_DETAIL_MAX];
    struct machine machine;  /* the board's machine file, loaded at power-on */
    struct settings powered; /* what the running emu was started with */
    struct fast_link fast;   /* link=fast: the board's fast link while it runs; closed else */
    struct uart_forward *uart_fwd; /* link=fast, transport open: the UART to stderr */
};

static struct session *session_get(struct server *srv, struct err *err)
{
    if (srv->session)
        return srv->session;
    struct session *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    sess__link_init(&s->link, 0);
    fast_link_init(&s->fast);
    s->lock.fd = -1;
    srv->session = s;
    return s;
}

static int project_path(const struct server *srv, const char *rel, char *out, size_t size,
                        struct err *err)
{
    return fs_join(out, size, srv->dir, rel, err);
}

static int refuse_template(const struct server *srv, const char *method, struct err *err)
{
    if (!srv->is_template)
        return 0;
    return err_set(err, ERR_STATE, "%s: %s is the template, which has no board; call "
                   "generate_project, then %s through the server in the project it made",
                   method, srv->dir, method);
}

/* The value of name: the call's option if set, else the one recorded in project.json. */
static const cJSON *pick(const cJSON *options, const cJSON *saved, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(options, name);
    if (v && !cJSON_IsNull(v))
        return v;
    v = cJSON_GetObjectItemCaseSensitive(saved, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

static int int_setting(const cJSON *options, const cJSON *saved, const char *name)
{
    const cJSON *v = pick(options, saved, name);
    if (cJSON_IsNumber(v))
        return (int)v->valuedouble;
    if (cJSON_IsString(v)) /* project.json from a tvmc-style call keeps what normalization made */
        return atoi(v->valuestring);
    return -1;
}

static int read_settings(const struct server *srv, const cJSON *options, struct settings *st,
                         struct err *err)
{
    struct project_record r;
    memset(st, 0, sizeof *st);
    int rc = record_read(&r, srv->dir, err);
    if (rc == 0)
        rc = record_require(&r, (const char *const[]){"board", NULL}, err);
    if (rc < 0)
        goto out;
    snprintf(st->board, sizeof st->board, "%s", r.board);
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(options, "board");
    if (cJSON_IsString(asked) && strcmp(asked->valuestring, st->board) != 0) {
        rc = err_set(err, ERR_OPTION, "board \"%s\": this project was generated and built for "
                     "%s; generate a new project for that board", asked->valuestring, st->board);
        goto out;
    }
    const cJSON *det = pick(options, r.options, "deterministic");
    st->deterministic = !cJSON_IsFalse(det);
    int port = int_setting(options, r.options, "gdbserver_port");
    st->gdb_port = port > 0 ? port : 0;
    st->start_sec = int_setting(options, r.options, "session_start_timeout_sec");
    st->established_sec = int_setting(options, r.options, "session_established_timeout_sec");
    snprintf(st->link, sizeof st->link, "%s", r.link);
    rc = record_check_link(&r, options, err);
out:
    record_close(&r);
    return rc;
}

/* Puts the last lines of <proj>/qemu.log into err->detail (QEMU's own words on a failure). */
static void add_qemu_log(const struct server *srv, struct err *err)
{
    char path[PATH_MAX], tail[2048];
    if (!err || project_path(srv, "qemu.log", path, sizeof path, NULL) < 0)
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof tail ? size - (off_t)sizeof tail : 0;
    ssize_t n = pread(fd, tail, sizeof tail, from);
    close(fd);
    char detail[sizeof tail + 64];
    int len = snprintf(detail, sizeof detail, "last lines of %s:\n%.*s", path,
                       (int)(n > 0 ? n : 0), tail);
    if (n > 0)
        err_set_detail(err, detail, (size_t)len < sizeof detail ? (size_t)len : sizeof detail - 1);
}

static bool emu_gone(void *ctx)
{
    return !emu_is_running(ctx);
}

void sess__link_attach(struct sess__link *l, int fd, struct emu *e)
{
    l->fd = fd;
    l->exit_fd = emu_exit_fd(e);
    l->gone = emu_gone;
    l->gone_ctx = e;
    l->dead = false;
}

/* Stops QEMU and forgets the link; the lock is kept only when keep_lock (a re-flash or reopen
 * that boots again at once, so no other server slips in between). */
static void board_off(struct session *s, bool keep_lock)
{
    uart_forward_stop(s->uart_fwd, NULL, 0);
    s->uart_fwd = NULL;
    fast_link_close(&s->fast);
    emu_free(s->emu);
    s->emu = NULL;
    s->link.fd = -1;
    s->link.exit_fd = -1;
    s->link.dead = false;
    sess__rx_close(&s->link.rx);
    if (!keep_lock)
        sess__lock_release(&s->lock);
}

/* The board died under us (QEMU killed, crashed, or the firmware exited): note how, reap it,
 * let go of the lock. The receive buffer stays, so reads still get what it sent. */
static void board_gone(struct server *srv, struct session *s)
{
    if (!s->emu)
        return;
    char how[256] = "hung up", uart[256];
    /* a fast link's socket hangs up a moment before its QEMU can be reaped: wait for that */
    struct pollfd exit_p = {.fd = emu_exit_fd(s->emu), .events = POLLIN};
    if (emu_poll_exit(s->emu, NULL) != 1 && exit_p.fd >= 0)
        poll(&exit_p, 1, 1000);
    if (emu_poll_exit(s->emu, NULL) == 1)
        emu_describe_exit(s->emu, how, sizeof how);
    uart_forward_stop(s->uart_fwd, uart, sizeof uart);
    s->uart_fwd = NULL;
    snprintf(s->gone_why, sizeof s->gone_why, "the board's QEMU (pid %ld) ended: %s%s%.200s%s; "
             "call open_transport to boot it again", (long)emu_pid(s->emu), how,
             uart[0] ? " (its UART's last line: " : "", uart, uart[0] ? ")" : "");
    struct err e = {0};
    add_qemu_log(srv, &e);
    snprintf(s->gone_detail, sizeof s->gone_detail, "%s", e.detail);
    log_warn("%s", s->gone_why);
    fast_link_close(&s->fast);
    emu_free(s->emu);
    s->emu = NULL;
    s->link.fd = -1;
    s->link.exit_fd = -1;
    s->link.dead = true;
    sess__lock_release(&s->lock);
}

/* Takes the lock and starts QEMU halted with the flash image. */
static int power_on(struct server *srv, struct session *s, const struct settings *st,
                    struct err *err)
{
    char image[PATH_MAX], lock[PATH_MAX], log_path[PATH_MAX];
    struct emu_config c;
    int rc = project_path(srv, RECORD_FLASHED_ELF, image, sizeof image, err);
    if (rc == 0)
        rc = project_path(srv, "flash/board.lock", lock, sizeof lock, err);
    if (rc == 0)
        rc = project_path(srv, "qemu.log", log_path, sizeof log_path, err);
    if (rc == 0)
        rc = sess__lock_take(&s->lock, lock, err);
    if (rc == 0)
        rc = mach_load_by_name(&s->machine, srv->machines_dir, st->board, err);
    if (rc == 0)
        rc = fast_link_check_board(&s->machine, st->link, srv->machines_dir, err);
    if (rc == 0 && !strcmp(st->link, "fast"))
        rc = fast_link_open(&s->fast, fast_link_kind_find(s->machine.fast_link_kind), err);
    if (rc < 0)
        goto out;
    emu_config_init(&c);
    c.machine = &s->machine;
    c.image = image;
    c.log_path = log_path;
    c.deterministic = st->deterministic;
    c.gdb_port = st->gdb_port;
    if (s->fast.kind) {
        c.link_fd = s->fast.qemu_fd;
        c.link_args = s->fast.kind->qemu_args;
    }
    if (!(s->emu = emu_start(&c, err))) {
        rc = err && err->code ? err->code : ERR_TOOL;
        err_prefix(err, "powering on the %s board", st->board);
        goto out;
    }
    if (s->fast.kind && (rc = fast_link_start(&s->fast, emu_exit_fd(s->emu), err)) < 0) {
        err_prefix(err, "powering on the %s board", st->board);
        goto out;
    }
    sess__lock_note(&s->lock, emu_pid(s->emu));
    s->powered = *st;
    log_debug("board %s powered on (QEMU pid %ld, %s, %s link, halted)", st->board,
              (long)emu_pid(s->emu), st->deterministic ? "deterministic" : "real time",
              st->link);
out:
    if (rc < 0)
        board_off(s, false);
    return rc;
}

int sess_flash(struct server *srv, const cJSON *options, struct err *err)
{
    char built[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX], image[PATH_MAX], lock[PATH_MAX];
    struct settings st;
    struct session *s = NULL;
    int rc = refuse_template(srv, "flash", err);
    if (rc == 0)
        rc = project_path(srv, RECORD_BUILT_ELF, built, sizeof built, err);
    if (rc == 0 && !fs_exists(built))
        rc = err_set(err, ERR_STATE, "nothing to flash: build the project first (microtvm-qemu "
                     "build DIR or the build method); %s does not exist", built);
    if (rc == 0)
        rc = read_settings(srv, options, &st, err);
    if (rc == 0 && !(s = session_get(srv, err)))
        rc = -ENOMEM;
    if (rc == 0)
        rc = project_path(srv, "flash", dir, sizeof dir, err);
    if (rc == 0)
        rc = project_path(srv, "flash/.firmware.elf.tmp", tmp, sizeof tmp, err);
    if (rc == 0)
        rc = project_path(srv, RECORD_FLASHED_ELF, image, sizeof image, err);
    if (rc == 0)
        rc = project_path(srv, "flash/board.lock", lock, sizeof lock, err);
    if (rc < 0)
        return rc;
    /* a board of ours that runs is stopped first; the lock stays ours throughout */
    if (s->emu)
        log_debug("re-flash: stopping the running board");
    board_off(s, true);
    s->open = false;
    s->gone_why[0] = '\0';
    /* the lock before the image: never overwrite the flash of a board another server runs */
    if ((rc = fs_mkdir_p(dir, err)) < 0 || (rc = sess__lock_take(&s->lock, lock, err)) < 0)
        goto out;
    if ((rc = fs_copy_file(built, tmp, err)) < 0)
        goto out;
    if (rename(tmp, image) < 0) { /* atomic: a later server never boots half an image */
        rc = err_errno(err, "%s -> %s", tmp, image);
        unlink(tmp);
        goto out;
    }
    rc = power_on(srv, s, &st, err);
out:
    if (rc < 0)
        board_off(s, false);
    return rc;
}

/* open_transport failing because QEMU died is a failed boot, not TVM's "transport closed" */
static int closed_to_tool(int rc, struct err *err)
{
    if (rc != ERR_CLOSED)
        return rc;
    if (err)
        err->code = ERR_TOOL;
    return ERR_TOOL;
}

/* What the UART holds now (after the banner: a link driver's complaint), its last line into
 * out (or ""). Never waits. */
static void uart_now(struct session *s, char *out, size_t outsz)
{
    char buf[512];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 &&
           (r = read(emu_uart_fd(s->emu), buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    const char *last = strrchr(buf, '\n');
    last = last ? last + 1 : buf;
    size_t k = 0;
    for (; *last && k + 1 < outsz; last++) /* printable only: it goes into messages */
        out[k++] = *last >= 0x20 && *last < 0x7f ? *last : '?';
    if (outsz)
        out[k] = '\0';
}

/* link=fast, after the banner: the firmware's link_init must bring the link up and say so with
 * LINK_UP_MARKER as the link's first line (firmware/include/link.h), which is taken out of the
 * stream; from then on the transport is the link (the banner stays its first bytes) and the
 * UART goes to stderr. A firmware that never does fails within SESS_BANNER_SEC, saying so. */
static int fast_link_up(struct server *srv, struct session *s, const struct settings *st,
                        struct err *err)
{
    static const char marker[] = LINK_UP_MARKER;
    const char *label = s->fast.kind->label;
    size_t banner = sess__rx_len(&s->link.rx);
    char uart[200];
    s->link.fd = s->fast.stream_fd;
    if (s->fast.adapter) {
        /* an adapter (the LAN9118's frame relay) still delivers the board's last bytes after
         * QEMU has exited, then hangs the stream up: the stream's end says the board is gone,
         * QEMU's exit would say it too early and lose them */
        s->link.exit_fd = -1;
        s->link.gone = NULL;
    }
    ssize_t end = sess__link_wait_for(&s->link, banner, "\n", banner + SESS_BANNER_MAX,
                                      st->gdb_port ? -1.0 : SESS_BANNER_SEC, err);
    int rc = end < 0 ? (int)end : 0;
    if (rc == 0) {
        const uint8_t *line = s->link.rx.data + s->link.rx.head + banner;
        if ((size_t)end - banner == sizeof marker - 1 &&
            memcmp(line, marker, sizeof marker - 1) == 0)
            sess__rx_cut(&s->link.rx, banner, sizeof marker - 1);
        else
            rc = ERR_INVALID;
    }
    if (rc == ERR_TIMEOUT) {
        uart_now(s, uart, sizeof uart);
        rc = err_set(err, ERR_TOOL, "the firmware printed its banner but never brought up the "
                     "fast link (%s) within %g s; is build/firmware.elf built for link=fast "
                     "(generate with link=fast, then build and flash)?%s%s%s", label,
                     SESS_BANNER_SEC, uart[0] ? " Its UART said: \"" : "", uart,
                     uart[0] ? "\"" : "");
        add_qemu_log(srv, err);
    } else if (rc == ERR_CLOSED && s->link.dead) {
        uart_now(s, uart, sizeof uart);
        board_gone(srv, s);
        rc = err_set(err, ERR_TOOL, "the board stopped while bringing up its fast link (%s): "
                     "%s%s%s%s", label, s->gone_why, uart[0] ? " Its UART said: \"" : "", uart,
                     uart[0] ? "\"" : "");
        err_set_detail(err, s->gone_detail, strlen(s->gone_detail));
        s->gone_why[0] = '\0';
    } else if (rc == ERR_INVALID) {
        rc = err_set(err, ERR_TOOL, "the fast link's (%s) first line is not the link-up line "
                     "(%.*s); is build/firmware.elf ours?", label, (int)sizeof marker - 2,
                     marker);
    }
    if (rc < 0)
        return rc;
    if ((rc = uart_forward_start(emu_uart_fd(s->emu), st->board, &s->uart_fwd, err)) < 0)
        return err_prefix(err, "open_transport");
    log_debug("fast link (%s) up on %s", label, st->board);
    return 0;
}

int sess_open(struct server *srv, const cJSON *options, struct sess_timeouts *out,
               struct err *err)
{
    char image[PATH_MAX];
    struct settings st;
    struct session *s = NULL;
    int rc = refuse_template(srv, "open_transport", err);
    if (rc == 0)
        rc = read_settings(srv, options, &st, err);
    if (rc == 0)
        rc = project_path(srv, RECORD_FLASHED_ELF, image, sizeof image, err);
    if (rc == 0 && !(s = session_get(srv, err)))
        rc = -ENOMEM;
    if (rc < 0)
        return rc;
    /* an open transport, a board that died while halted, or one flash powered on with other
     * settings (deterministic, gdbserver_port) boots afresh; the lock stays ours */
    if (s->open || (s->emu && (!emu_is_running(s->emu) ||
                               s->powered.deterministic != st.deterministic ||
                               s->powered.gdb_port != st.gdb_port)))
        board_off(s, true);
    s->open = false;
    s->gone_why[0] = '\0';
    s->gone_detail[0] = '\0';
    if (!s->emu) {
        if (!fs_exists(image)) {
            sess__lock_release(&s->lock);
            return err_set(err, ERR_STATE, "the board has not been flashed: call flash first "
                           "(%s does not exist)", image);
        }
        if ((rc = power_on(srv, s, &st, err)) < 0)
            return rc;
    }
    if (st.gdb_port)
        log_warn("the board waits for a debugger on tcp port %d (gdb: target remote :%d, then "
                 "continue); open_transport returns after the firmware's banner, with no time "
                 "limit", st.gdb_port, st.gdb_port);
    if ((rc = emu_run(s->emu, err)) < 0) {
        rc = closed_to_tool(rc, err);
        err_prefix(err, "starting the board's CPU");
        goto out;
    }
    sess__link_attach(&s->link, emu_uart_fd(s->emu), s->emu);
    s->link.request_fd = srv->request_fd;
    s->link.reply_fd = srv->reply_fd;
    s->link.stop = srv->stop;
    ssize_t banner = sess__link_wait_for(&s->link, 0, "\n", SESS_BANNER_MAX,
                                         st.gdb_port ? -1.0 : SESS_BANNER_SEC, err);
    rc = banner < 0 ? (int)banner : 0;
    if (rc == ERR_TIMEOUT) {
        rc = err_set(err, ERR_TOOL, "the firmware printed no banner within %g s (%zu bytes "
                     "came); is " RECORD_BUILT_ELF " made for %s? see %s/qemu.log",
                     SESS_BANNER_SEC, sess__rx_len(&s->link.rx), st.board, srv->dir);
        add_qemu_log(srv, err);
    } else if (rc == ERR_CLOSED && s->link.dead) {
        board_gone(srv, s);
        rc = err_set(err, ERR_TOOL, "the board stopped while booting: %s", s->gone_why);
        err_set_detail(err, s->gone_detail, strlen(s->gone_detail));
        s->gone_why[0] = '\0';
    } else if (rc == ERR_INVALID) {
        rc = err_set(err, ERR_TOOL, "the firmware's first %d bytes hold no banner line "
                     "(#microtvm-qemu:...\\n); is " RECORD_BUILT_ELF " ours?", SESS_BANNER_MAX);
    }
    if (rc < 0)
        goto out;
    /* the firmware has enabled its receiver: wake QEMU's main loop so it watches the pty
     * (QEMU_NOTES.md "Input can stall for good at boot") */
    if ((rc = emu_wake(s->emu, err)) < 0) {
        rc = closed_to_tool(rc, err);
        err_prefix(err, "waking the board after its banner");
        goto out;
    }
    if (s->fast.kind && (rc = fast_link_up(srv, s, &st, err)) < 0)
        goto out;
    s->open = true;
    out->retry = SESS_RETRY_SEC;
    out->start = st.start_sec >= 0 ? st.start_sec : SESS_START_SEC;
    out->established = st.established_sec >= 0 ? st.established_sec : SESS_ESTABLISHED_SEC;
    log_debug("transport open on %s (QEMU pid %ld)", st.board, (long)emu_pid(s->emu));
out:
    if (rc < 0)
        board_off(s, false);
    return rc;
}

/* A link error as the session reports it: a board that died says how, once for good. */
static int link_error(struct server *srv, struct session *s, int rc, struct err *err)
{
    if (rc != ERR_CLOSED || !s->link.dead)
        return rc;
    board_gone(srv, s);
    err_set(err, ERR_CLOSED, "%s", s->gone_why);
    err_set_detail(err, s->gone_detail, strlen(s->gone_detail));
    return rc;
}

int sess_read(struct server *srv, uint8_t *buf, size_t n, double timeout_sec, size_t *got,
               struct err *err)
{
    struct session *s = srv->session;
    *got = 0;
    if (!s || !s->open)
        return err_set(err, ERR_CLOSED, "the transport is not open: call open_transport first");
    int rc = sess__link_read(&s->link, buf, n, timeout_sec, got, err);
    return rc < 0 ? link_error(srv, s, rc, err) : 0;
}

int sess_write(struct server *srv, const uint8_t *data, size_t n, double timeout_sec,
                struct err *err)
{
    struct session *s = srv->session;
    if (!s || !s->open)
        return err_set(err, ERR_CLOSED, "the transport is not open: call open_transport first");
    int rc = sess__link_write(&s->link, data, n, timeout_sec, err);
    return rc < 0 ? link_error(srv, s, rc, err) : 0;
}

int sess_close(struct server *srv, struct err *err)
{
    (void)err; /* closing always succeeds: emu_stop kills what does not quit */
    struct session *s = srv->session;
    if (!s)
        return 0;
    if (s->emu)
        log_debug("close_transport: stopping the board (QEMU pid %ld)", (long)emu_pid(s->emu));
    board_off(s, false);
    s->open = false;
    s->gone_why[0] = '\0';
    s->gone_detail[0] = '\0';
    return 0;
}

void sess_shutdown(struct server *srv)
{
    if (!srv || !srv->session)
        return;
    sess_close(srv, NULL);
    sess__link_close(&srv->session->link);
    free(srv->session);
    srv->session = NULL;
}

pid_t sess__qemu_pid(const struct server *srv)
{
    return srv->session && srv->session->emu ? emu_pid(srv->session->emu) : -1;
}
