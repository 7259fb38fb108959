/*
 * The fast links the server can drive (link=fast; machines/README.md): one row per machine-file
 * fast_link.kind, saying which socket pair carries the link, what QEMU is told (always on fd 3,
 * QEMU's end of that pair: nothing on a path, no network, no listening socket), and how the
 * server's end becomes the session's one non-blocking byte stream (the host adapter). Adding a
 * kind is adding a row here plus its firmware driver (firmware/link/<kind>.c).
 *
 * Ownership: a struct fast_link is caller-owned (fast_link_open / fast_link_close); its fds are
 * its own. Not thread-safe; an adapter may run a thread of its own behind stream_fd.
 */
#ifndef MTQ_FAST_LINK_H
#define MTQ_FAST_LINK_H

#include "err.h"
#include "machine.h"

#include <stddef.h>

/* One kind of fast link. */
struct fast_link_kind {
    const char *name;             /* the machine file's fast_link.kind: "virtio_serial" */
    const char *label;            /* for people and messages: "virtio-serial" */
    int sock_type;                /* the socketpair's type: SOCK_STREAM or SOCK_DGRAM */
    const char *const *qemu_args; /* NULL-terminated; they name the link's fd as fd=3 */
    /* Makes the session's byte stream (*stream_fd, non-blocking, close-on-exec) out of the
     * server's end of the pair (sock_fd, which it takes) once QEMU runs; exit_fd becomes
     * readable when QEMU exits. NULL: the identity (the server's end is the stream). */
    int (*adapter_start)(int sock_fd, int exit_fd, int *stream_fd, void **adapter,
                         struct err *err);
    /* Ends what adapter_start started (joins its thread) and closes the fds it owns, not
     * *stream_fd, which is the session's (fast_link_close closes it). Accepts NULL. */
    void (*adapter_stop)(void *adapter);
};

/* The i-th row of the table, NULL past its end (for tests that check every kind). */
const struct fast_link_kind *fast_link_kind_at(size_t i);

/* The row for a machine file's fast_link.kind; NULL when this server cannot drive that kind
 * (callers then refuse link=fast for the board, saying the kind is not available yet). */
const struct fast_link_kind *fast_link_kind_find(const char *name);

/* Checks that board m can be built for link ("uart" or "fast"): every board has the UART; a
 * fast link needs the machine file's fast_link and a row here for its kind. ERR_OPTION
 * otherwise, naming the boards in machines_dir (may be NULL) that have one this server
 * drives, or saying the board's kind is not available yet. */
int fast_link_check_board(const struct machine *m, const char *link, const char *machines_dir,
                          struct err *err);

/* One board's link: the socket pair and, once started, the session's stream. */
struct fast_link {
    const struct fast_link_kind *kind; /* NULL when closed */
    int qemu_fd;   /* QEMU's end: give it to emu_config.link_fd; closed by fast_link_start */
    int sock_fd;   /* the server's end, until the adapter takes it */
    int stream_fd; /* the session's byte stream once started; -1 before */
    void *adapter; /* the adapter's state; NULL for the identity */
};

/* A closed link (all fds -1), for structs that may never be opened. */
void fast_link_init(struct fast_link *l);

/* Makes the socket pair for kind k (close-on-exec both; the server's end non-blocking, with
 * buffers large enough that QEMU's writes rarely have to wait). -errno on failure. */
int fast_link_open(struct fast_link *l, const struct fast_link_kind *k, struct err *err);

/* Call once QEMU has started with qemu_fd (emu_start): closes our copy of QEMU's end, so QEMU's
 * exit hangs the stream up, and starts the adapter. On failure the link is closed. */
int fast_link_start(struct fast_link *l, int exit_fd, struct err *err);

/* Stops the adapter and closes every fd; the link is closed. Idempotent; accepts NULL. */
void fast_link_close(struct fast_link *l);

#endif
