/*
 * The server's one context: where it lives, whether that is a template or a generated project,
 * and the state the methods share. No globals (STYLE.md): main() owns one struct server and
 * hands it to every call.
 */
#ifndef MTQ_SERVER_H
#define MTQ_SERVER_H

#include "err.h"
#include "options.h"

#include <limits.h>
#include <signal.h>
#include <stdbool.h>

struct session; /* owned by flash.c (the transport: QEMU, the pty, QMP) */

struct server {
    char dir[PATH_MAX];          /* the template or project directory: where the binary lives */
    char machines_dir[PATH_MAX]; /* <dir>/machines */
    bool is_template;            /* no <dir>/project.json: generate_project is the only work */
    int verbosity;               /* main()'s log level: LOG_INFO, or LOG_DEBUG for --debug */
    struct opt_table *options;   /* the declared options, board choices from machines_dir */
    /* set by main's SIGTERM/SIGINT handler; long waits (builds, QEMU start) may poll it and
     * give up early. NULL when nobody handles signals (tests). */
    volatile sig_atomic_t *stop;
    /* the client's request and reply pipes (main sets them; -1 in tests): long waits on the
     * board end when the client has closed either, so a dead client never leaves us waiting */
    int request_fd, reply_fd;
    struct session *session;     /* NULL until flash.c makes one; freed by sess_shutdown */
};

/* Fills *srv for the server living in dir (NULL: the directory of /proc/self/exe, resolved
 * with realpath). Reads the machines directory for the board choices. Call server_close after,
 * also when this fails. */
int server_init(struct server *srv, const char *dir, struct err *err);

/* Frees what server_init allocated (not the session: sess_shutdown does that first). Accepts
 * NULL. */
void server_close(struct server *srv);

#endif
