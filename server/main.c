/*
 * microtvm-qemu-server: the Project API server TVM starts through launch_microtvm_api_server.sh
 * (PROJECT_API.md section 1). Serves JSON-RPC requests from --read-fd one at a time, replies on
 * --write-fd, logs on stderr, and exits 0 when the request pipe reaches EOF (or the reply pipe's
 * reader is gone) after stopping everything it started. Bad input never ends it.
 */
#include "api.h"
#include "fs.h"
#include "line_reader.h"
#include "log.h"
#include "rpc.h"
#include "server.h"
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROGRAM "microtvm-qemu-server"

/* The signal that asked us to stop, 0 until one does. Global because a signal handler can reach
 * nothing else (STYLE.md's one allowed exception); the handler only stores it. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " PROGRAM " [SERVER.py] --read-fd N --write-fd M [--debug]\n"
            "\n"
            "The microTVM Project API server of microtvm-qemu. TVM starts it through\n"
            "launch_microtvm_api_server.sh in a template or generated project directory and\n"
            "speaks JSON-RPC 2.0 to it: one request per line on fd N, one reply per line on\n"
            "fd M. It exits when fd N reaches end of file. The first argument, the path of a\n"
            "Python server TVM would otherwise run, is ignored.\n"
            "\n"
            "  --read-fd N    the file descriptor requests arrive on\n"
            "  --write-fd M   the file descriptor replies go to\n"
            "  --debug        log every request and step to stderr\n"
            "  --help         print this and exit\n");
}

/* A file-descriptor argument: a decimal number naming an open descriptor. */
static int parse_fd(const char *opt, const char *text, int *fd)
{
    char *end = NULL;
    errno = 0;
    long v = text ? strtol(text, &end, 10) : -1;
    if (!text || !*text || *end || errno || v < 0 || v > INT_MAX) {
        fprintf(stderr, PROGRAM ": %s wants a file descriptor number, not \"%s\" (try --help)\n",
                opt, text ? text : "");
        return -1;
    }
    if (fcntl((int)v, F_GETFD) < 0) {
        fprintf(stderr, PROGRAM ": %s %ld: not an open file descriptor\n", opt, v);
        return -1;
    }
    *fd = (int)v;
    return 0;
}

struct args {
    int read_fd, write_fd;
    int debug;
};

/* Returns 0 to run, 1 when --help was printed, -1 on a bad argument (already reported). */
static int parse_args(int argc, char **argv, struct args *a)
{
    a->read_fd = a->write_fd = -1;
    a->debug = 0;
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(arg, "--debug") == 0) {
            a->debug = 1;
        } else if (strcmp(arg, "--read-fd") == 0 || strcmp(arg, "--write-fd") == 0) {
            if (parse_fd(arg, i + 1 < argc ? argv[i + 1] : NULL,
                         arg[2] == 'r' ? &a->read_fd : &a->write_fd) < 0)
                return -1;
            i++;
        } else if (strncmp(arg, "--read-fd=", 10) == 0) {
            if (parse_fd("--read-fd", arg + 10, &a->read_fd) < 0)
                return -1;
        } else if (strncmp(arg, "--write-fd=", 11) == 0) {
            if (parse_fd("--write-fd", arg + 11, &a->write_fd) < 0)
                return -1;
        } else if (arg[0] != '-' && positional++ == 0) {
            /* TVM passes <dir>/microtvm_api_server.py first, even when it does not exist */
        } else {
            fprintf(stderr, PROGRAM ": unexpected argument \"%s\" (try --help)\n", arg);
            return -1;
        }
    }
    if (a->read_fd < 0 || a->write_fd < 0) {
        fprintf(stderr, PROGRAM ": --read-fd and --write-fd are both required (try --help)\n");
        return -1;
    }
    return 0;
}

/* Waits until fd is readable or a stop signal came; returns true when instead the reader of
 * reply_fd is gone (no reply can reach anyone: a client that closed it will not be back). The
 * signals are blocked from the flag test until ppoll, which unblocks them atomically, so one
 * arriving in between cannot be missed. */
static bool wait_readable(int fd, int reply_fd)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    bool gone = false;
    if (!stop_signal) {
        /* events 0 on the reply pipe: only its POLLERR (no reader left) is reported */
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = reply_fd, .events = 0}};
        if (ppoll(p, 2, NULL, &old) > 0 && !p[0].revents && (p[1].revents & (POLLERR | POLLHUP)))
            gone = true;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return gone;
}

/* Sends a reply; returns 0, 1 when the client is gone, -1 on another write error (logged). */
static int send_reply(int fd, cJSON *reply)
{
    struct err err = {0};
    if (!reply) {
        /* out of memory building the reply: a fixed line keeps the client from waiting */
        static const char line[] = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
                                   "\"message\":\"out of memory\",\"data\":null}}\n";
        int rc = fs_write_all(fd, line, sizeof line - 1, &err);
        return rc == ERR_CLOSED ? 1 : rc < 0 ? -1 : 0;
    }
    if (log_get_level() >= LOG_DEBUG) {
        char shown[300];
        rpc_preview(reply, shown, sizeof shown);
        log_debug("reply: %s", shown);
    }
    int rc = rpc_write_reply(fd, reply, &err);
    cJSON_Delete(reply);
    if (rc == ERR_CLOSED) {
        log_info("%s; stopping", err.msg);
        return 1;
    }
    if (rc < 0) {
        log_error("%s", err.msg);
        return -1;
    }
    return 0;
}

/* Serves requests until EOF, a stop signal, or the client's going. Returns the exit status. */
static int serve(struct server *srv, int read_fd, int write_fd)
{
    struct line_reader rd;
    line_reader_init(&rd, read_fd, RPC_MAX_LINE);
    int status = 0;
    while (!stop_signal) {
        char *line = NULL;
        size_t len = 0;
        enum line_take t = line_reader_take(&rd, &line, &len);
        if (t != LINE_TAKE_NEED_MORE) {
            cJSON *reply;
            if (t == LINE_TAKE_LINE) {
                log_debug("request: %.300s", line);
                reply = api_serve_line(srv, line, len);
            } else {
                char msg[160];
                snprintf(msg, sizeof msg, "request line longer than %zu bytes; skipped up to "
                         "its end", rd.max_line);
                log_warn("%s", msg);
                reply = rpc_make_error(NULL, RPC_INVALID_REQUEST, msg, NULL);
            }
            int rc = send_reply(write_fd, reply);
            if (rc != 0) {
                status = rc > 0 ? 0 : 1;
                break;
            }
            continue;
        }
        if (rd.eof) {
            log_debug("end of the request pipe; stopping");
            break;
        }
        if (wait_readable(read_fd, write_fd)) {
            log_info("the client closed the reply pipe; stopping");
            break;
        }
        if (stop_signal)
            break;
        struct err err = {0};
        int rc = line_reader_fill(&rd, &err);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN) {
            log_error("%s", err.msg);
            status = 1;
            break;
        }
    }
    line_reader_close(&rd);
    return status;
}

int main(int argc, char **argv)
{
    log_set_program(PROGRAM);
    struct args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    /* info by default: one line per generate and build (with the firmware's sizes) is what a
     * TVM user reads in the terminal; per-byte transport detail stays at debug */
    log_set_level(a.debug ? LOG_DEBUG : LOG_INFO);
    /* the compiler and QEMU must not inherit the pipes: a child holding the reply pipe would
     * keep TVM from seeing EOF when we exit, one holding the request pipe would hide TVM's */
    fcntl(a.read_fd, F_SETFD, FD_CLOEXEC);
    fcntl(a.write_fd, F_SETFD, FD_CLOEXEC);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read or wait returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed reply pipe shows up as EPIPE, handled as "client gone" */

    struct server srv;
    struct err err = {0};
    if (server_init(&srv, NULL, &err) < 0) {
        log_error("cannot start: %s", err.msg);
        server_close(&srv);
        return 1;
    }
    srv.stop = &stop_signal;
    srv.request_fd = a.read_fd;
    srv.reply_fd = a.write_fd;
    log_debug("serving %s %s (fds %d, %d)", srv.is_template ? "template" : "project", srv.dir,
              a.read_fd, a.write_fd);
    int status = serve(&srv, a.read_fd, a.write_fd);
    sess_shutdown(&srv);
    server_close(&srv);
    if (stop_signal) {
        int sig = stop_signal;
        log_info("stopped by signal %d", sig);
        /* die of the same signal, so whoever sent it sees it worked */
        signal(sig, SIG_DFL);
        raise(sig);
    }
    return status;
}
