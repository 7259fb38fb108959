/*
 * Internals of flash and the transport (session.h is the public face): the byte link between
 * the server and a board (transport.c), the board lock (board_lock.c), and the board's life
 * (flash.c). The link knows only fds, so its unit tests drive it with a test-double device
 * (a pty or socketpair standing in for QEMU, a pipe standing in for QEMU's exit).
 *
 * Timeouts are in seconds as TVM sends them: < 0 waits forever, 0 polls once, > 0 waits at most
 * that long. Ownership: every struct here is caller-owned (_init/_close); fds inside belong to
 * whoever opened them unless a comment says otherwise.
 */
#ifndef MTQ_SESSION_INTERNAL_H
#define MTQ_SESSION_INTERNAL_H

#include "err.h"
#include "server.h"
#include "session.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- the host-side receive buffer (transport.c) ---- */

/* What the board sent that nobody has read yet: filled while a write waits for room (the echo
 * firmware stops reading while its output is not drained, so a writer that does not read
 * deadlocks), served first by every read. A linear buffer: data is [head, tail); it grows by
 * doubling from SESS_RX_INITIAL up to max bytes. */
#define SESS_RX_INITIAL (64u * 1024u)
#define SESS_RX_MAX (64u * 1024u * 1024u)

struct sess__rx {
    uint8_t *data;
    size_t head, tail, cap;
    size_t max; /* the most it may hold; SESS_RX_MAX unless a test lowers it */
};

/* Empty buffer that allocates on first use; accepts a zeroed struct too. */
void sess__rx_init(struct sess__rx *rx, size_t max);
/* Frees the memory; the buffer is empty and usable again. Accepts NULL. */
void sess__rx_close(struct sess__rx *rx);
/* Bytes waiting. */
size_t sess__rx_len(const struct sess__rx *rx);
/* Moves up to n bytes to dst; returns how many. */
size_t sess__rx_take(struct sess__rx *rx, uint8_t *dst, size_t n);
/* Reads what fd has now (one read) into the buffer, growing it as needed. Returns the number
 * of bytes read (0: nothing there, EAGAIN), ERR_CLOSED at EOF/EIO, -ENOMEM, or ERR_STATE when
 * the buffer already holds max bytes ("the board sent more than N MiB that nobody read"). */
ssize_t sess__rx_fill(struct sess__rx *rx, int fd, struct err *err);
/* Removes the n bytes at index from (relative to head; fewer if the buffer ends first); the
 * bytes after them move up. */
void sess__rx_cut(struct sess__rx *rx, size_t from, size_t n);
/* The index (relative to head) where the first delim (a non-empty string) at or after index
 * from starts, or -1. */
ssize_t sess__rx_find(const struct sess__rx *rx, size_t from, const char *delim);

/* ---- the link (transport.c) ---- */

/* One open byte stream to a board. fd: the device (non-blocking; the pty master); exit_fd: an
 * fd that becomes readable when the device is gone for good (QEMU's pidfd), or -1, in which case
 * gone() is asked every 50 ms while waiting. stop: the server's stop flag (SIGTERM/SIGINT) or
 * NULL; while set, waits end early with ERR_CLOSED. request_fd, reply_fd: the client's pipes
 * (-1: not watched); a wait ends with ERR_CLOSED when the client closed the request pipe (with
 * nothing left unread in it) or the reply pipe, so a client that died never leaves a server
 * waiting forever on a silent board. No fd is owned by the link. */
struct sess__link {
    int fd;
    int exit_fd;
    int request_fd;
    int reply_fd;
    bool (*gone)(void *ctx);
    void *gone_ctx;
    volatile sig_atomic_t *stop;
    bool dead;           /* the device was seen gone: nothing more will come */
    struct sess__rx rx;
};

/* A closed link (all fds -1) with an empty receive buffer of at most rx_max
 * bytes (0: SESS_RX_MAX). */
void sess__link_init(struct sess__link *l, size_t rx_max);

/* Opens l on a running board (flash.c): fd, a device of e (its UART's pty master, emu_uart_fd),
 * with e's exit (its pidfd, or emu_is_running) as the sign that the device is gone for good.
 * The client's pipes and the stop flag are left as they are. Tests and benchmarks that start a
 * board themselves talk to it through this too. */
struct emu;
void sess__link_attach(struct sess__link *l, int fd, struct emu *e);
/* Frees the receive buffer; the link is closed. Accepts NULL. */
void sess__link_close(struct sess__link *l);

/* Reads 1..n bytes into buf: first what the receive buffer holds, then the device. Waits for
 * the first byte at most timeout_sec. ERR_TIMEOUT: nothing in time; ERR_CLOSED: the link is
 * closed or the device is gone and everything it sent has been read (l->dead is then set). */
int sess__link_read(struct sess__link *l, uint8_t *buf, size_t n, double timeout_sec,
                    size_t *got, struct err *err);

/* Writes all n bytes within timeout_sec, draining what the board sends meanwhile into the
 * receive buffer. ERR_TIMEOUT (the message says how many went), ERR_CLOSED (device gone; l->dead
 * set), ERR_STATE (the receive buffer hit its bound). */
int sess__link_write(struct sess__link *l, const uint8_t *data, size_t n, double timeout_sec,
                     struct err *err);

/* Waits until the receive buffer holds delim (a non-empty string; "\n" for a line) at or after
 * index from (0, or past bytes left alone: the fast link's link-up line follows the UART's
 * banner), reading the device into it, and returns how many bytes the buffer holds up to and
 * including that first delim (> 0): read that many to take exactly them; the bytes stay in the
 * buffer until read. For the boot banner and line replies. Errors as sess__link_read;
 * ERR_INVALID when the buffer reached limit bytes without delim. */
ssize_t sess__link_wait_for(struct sess__link *l, size_t from, const char *delim, size_t limit,
                            double timeout_sec, struct err *err);

/* ---- the board lock (board_lock.c) ---- */

/* Held (flock LOCK_EX) by the one server that owns a running board of a project. The file
 * names the holder: "server <pid> qemu <pid>\n". The kernel drops the lock when the holder
 * dies, so a killed server never leaves a stale lock. */
struct sess__lock {
    int fd; /* -1 when not held */
};

/* Takes the lock at path (created 0644 if missing) without waiting. ERR_BUSY "board in use by
 * another server (pid N); close it or wait" when another process holds it. Taking a lock
 * already held by this struct is a no-op. */
int sess__lock_take(struct sess__lock *lk, const char *path, struct err *err);
/* Rewrites the file's content with our pid and qemu_pid (0: none). Best effort. */
void sess__lock_note(struct sess__lock *lk, pid_t qemu_pid);
/* Releases the lock (the file stays). Idempotent. */
void sess__lock_release(struct sess__lock *lk);
/* Reads the pids a lock file names (either may be NULL): 0 on success, ERR_INVALID if the file
 * cannot be read or parsed. */
int sess__lock_read(const char *path, pid_t *server_pid, pid_t *qemu_pid, struct err *err);

/* ---- the board (flash.c) ---- */

/* The defaults open_transport returns (PROJECT_API.md section 4): the board is up when open
 * returns, so one retry per second is plenty; the start reply comes within milliseconds; a model
 * running under emulation (icount costs 1.35-1.5x) may take long. */
#define SESS_RETRY_SEC 1.0
#define SESS_START_SEC 10.0
#define SESS_ESTABLISHED_SEC 120.0
/* How long open_transport waits for the firmware's banner after cont. Boot takes ~0.1 s; the
 * margin is for a heavily loaded CI host (an ASan run at load average 18 once needed > 5 s). */
#define SESS_BANNER_SEC 10.0
/* The longest banner line we accept. */
#define SESS_BANNER_MAX 256

/* QEMU's pid for the board this server runs, or -1 (for tests). */
pid_t sess__qemu_pid(const struct server *srv);

#endif
