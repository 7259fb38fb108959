/*
 * A QEMU machine as a board: starts QEMU halted with a firmware image, owns its UART (a pty),
 * its QMP socket (in a private runtime directory) and its process, and guarantees that none of
 * them outlives the session: no zombie, no orphan QEMU, no socket or directory left behind.
 * Knows boards (struct machine) and QEMU, nothing of TVM.
 *
 * Ownership: emu_start returns a heap object owning the QEMU process, the pty and the runtime
 * directory; emu_free (or emu_stop then emu_free) releases all of it. Strings in the config are
 * copied; nothing passed in is kept. Not thread-safe: one thread drives one struct emu.
 *
 * Process notes for the caller: QEMU gets SIGKILL when the thread that called emu_start exits
 * (PR_SET_PDEATHSIG), so call it from a thread that lives as long as the session (main).
 * Do not set SIGCHLD to SIG_IGN (children would be reaped behind our back); a SIGCHLD handler
 * is fine. QEMU runs in its own process group, so a terminal's Ctrl-C reaches only the caller.
 *
 * Timeouts are in milliseconds; a negative timeout waits forever.
 */
#ifndef MTQ_EMU_H
#define MTQ_EMU_H

#include "err.h"
#include "machine.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Default for emu_config.start_timeout_ms: QEMU normally answers QMP within ~0.1 s. */
#define EMU_START_TIMEOUT_MS 10000

struct emu_config {
    const struct machine *machine; /* required: binary, -M, -m, extra args, RAM for the seed */
    const char *image;             /* required: the ELF given to -kernel */
    const char *log_path;          /* QEMU's stdout and stderr are appended here; NULL: a file
                                    * in the runtime directory, removed by emu_stop */
    const char *qemu_binary;       /* NULL: machine->qemu_binary, looked up on PATH */
    bool deterministic;            /* -icount shift=<machine icount_shift>,align=off,sleep=off
                                    * -rtc clock=vm */
    int gdb_port;                  /* > 0: -gdb tcp:127.0.0.1:<port>; see emu_run */
    bool fixed_seed;               /* true: use seed; false: a fresh random seed per start */
    uint64_t seed;                 /* the 64-bit boot seed written at ram end - 16 */
    int start_timeout_ms;          /* how long emu_start waits for QMP; 0: EMU_START_TIMEOUT_MS */
    const char *const *link_args;  /* NULL-terminated: an optional host link's QEMU arguments
                                    * (its -chardev, -device, -nic); NULL: the board has no
                                    * network (-nic none) */
    const char *const *link_files; /* NULL-terminated: files the link's QEMU side opens read and
                                    * write (a pty slave), at most EMU_LINK_FILES_MAX */
    int link_fd;                   /* -1 (emu_config_init): none; else an fd QEMU inherits as
                                    * fd 3 (and no other: every other fd closes at exec), which
                                    * link_args name ("fd=3"): the server's socketpair end of
                                    * a fast link. Not taken: the caller closes its copy. */
    const char *const *extra_args; /* NULL-terminated extra QEMU arguments, appended last */
};

#define EMU_LINK_FILES_MAX 4

struct emu;

/* Fills *c with the defaults: deterministic on, no gdb, random seed, EMU_START_TIMEOUT_MS,
 * no link fd (-1), everything else NULL/0. */
void emu_config_init(struct emu_config *c);

/* Starts QEMU halted (-S): the CPU does not run until emu_run. Blocks until QMP answers (about
 * 0.1 s) or QEMU dies, at most start_timeout_ms. Argv: the binary, -M, -m (if set), -sandbox
 * (seccomp: no exec, no privilege change), -nodefaults, -no-user-config, -display none,
 * -monitor none, -parallel none, -nic none (unless link_args), -S, -qmp on the runtime
 * directory's socket, the UART on our pty (-chardev serial,... -serial chardev:uart0; never
 * muxed with a monitor), for exit kind cmsdk_watchdog the status UART on a second pty and
 * -action watchdog=poweroff, -kernel, the machine's arguments, icount (deterministic), -gdb,
 * the seed loader, link_args, extra_args. Never semihosting. QEMU inherits stdio and, with
 * link_fd, that fd as its fd 3; nothing else. QEMU starts confined
 * (confine.h: no new privileges, rlimits, Landlock where the kernel has it).
 * The QMP socket lives in a private 0700 directory "mtq-<pid>-XXXXXX" made under
 * $XDG_RUNTIME_DIR (or /tmp when that is unset or too long for a socket path). Once QMP is
 * connected the socket is unlinked, and so is the directory when log_path is given; leftovers
 * of owners killed before that point are swept here (fs_sweep_dead_owners).
 * Errors: a missing binary (ERR_TOOL, naming it and the fix), a missing image (ERR_INVALID),
 * QEMU exiting or not answering (ERR_TOOL / ERR_TIMEOUT, with QEMU's last error line in msg
 * and its last lines in err->detail), SIGCHLD ignored by the caller (ERR_STATE).
 * On failure nothing is left: no process, no directory. */
struct emu *emu_start(const struct emu_config *config, struct err *err);

/* Lets the CPU run (QMP cont). With gdb_port > 0 it sends nothing and returns 0: the board stays
 * halted until the debugger continues it, so a debugger sees the firmware from its first
 * instruction (waiting for the banner then waits for that). Blocks up to ~2 s for QMP's answer.
 * ERR_CLOSED once QEMU has exited. */
int emu_run(struct emu *e, struct err *err);

/* Sends one query-status through QMP: any QMP command wakes QEMU's main loop, which is what
 * makes it start watching the pty again once the firmware has enabled its UART receiver
 * (QEMU_NOTES.md "Input can stall for good at boot"). Call it after the banner, after every
 * boot. Blocks up to ~2 s. */
int emu_wake(struct emu *e, struct err *err);

/* Resets the board (QMP system_reset): the firmware boots again from its first instruction and
 * prints a new banner; wait for it and call emu_wake again afterwards. Bytes already in the pty
 * stay there. Blocks up to ~2 s. */
int emu_reset(struct emu *e, struct err *err);

/* The pty master: non-blocking, close-on-exec, owned by e. The bytes on it are read and written
 * by the byte link (server/transport.c: the server's session, and tests and benchmarks that
 * start a board themselves), which waits on it and emu_exit_fd together: it never signals
 * QEMU's exit itself. */
int emu_uart_fd(const struct emu *e);

/* An fd that becomes readable when QEMU exits (a pidfd), owned by e; -1 if the kernel has no
 * pidfd_open, in which case poll emu_is_running now and then. */
int emu_exit_fd(const struct emu *e);

/* True while the QEMU process has not exited. Never blocks, never reaps (emu_stop does). */
bool emu_is_running(struct emu *e);

/* Non-blocking: 1 if QEMU has exited (*status, if not NULL, gets a waitpid-style status: use
 * WIFEXITED/WEXITSTATUS/WIFSIGNALED), 0 if it still runs. */
int emu_poll_exit(struct emu *e, int *status);

/* How the board ended, for messages, into out (returned): "the firmware exited with code 3" or
 * "the firmware faulted (exception pc=0x... cause=0x... extra=0x...) and exited with code 3"
 * when its status UART said so (exit kind cmsdk_watchdog; emu_poll_exit then gives that code
 * as QEMU's exit status), else QEMU's own end: "QEMU exited with code 1" (on sifive_test
 * boards the code is the firmware's), "QEMU was killed by signal 9 (Killed)", a power-off with
 * no status line on a board that has one (a watchdog fired); "QEMU is running"
 * while it runs. Never blocks. */
const char *emu_describe_exit(struct emu *e, char *out, size_t n);

/* QEMU's process id (also its process group id); -1 once emu_stop has reaped it. */
pid_t emu_pid(const struct emu *e);

/* The runtime directory (the default log); "" once it is removed: by emu_start when log_path was
 * given (nothing in it is needed once QMP is connected), else by emu_stop. */
const char *emu_runtime_dir(const struct emu *e);

/* Ends the session: QMP quit, waits up to ~1.5 s for QEMU to exit, then SIGKILLs its process
 * group; reaps it, closes the pty and QMP, removes the runtime directory. Idempotent; accepts
 * NULL. Blocks up to ~2 s. Returns QEMU's waitpid status (or -1 if it was already stopped or
 * never known); the exit code is informative only: stopping always succeeds. */
int emu_stop(struct emu *e);

/* emu_stop, then frees e; accepts NULL. */
void emu_free(struct emu *e);

#endif
