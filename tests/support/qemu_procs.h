/*
 * Test support: finds QEMU processes a test may have left behind, by reading /proc. Tests end
 * with "no QEMU child of ours is alive", which catches leaks that a pid check alone would miss.
 */
#ifndef MTQ_TEST_QEMU_PROCS_H
#define MTQ_TEST_QEMU_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How many processes whose parent is `parent` have a command name starting "qemu-system"
 * (zombies included: an unreaped QEMU is a leak too). */
int qemu_procs_children(pid_t parent);

/* How many processes whose parent is `parent` there are, whatever their command (QEMU, a
 * compiler, CMake), zombies included; -1 when /proc cannot be read. */
int qemu_procs_all_children(pid_t parent);

/* How many processes other than this one and except (-1: none) have a command line that
 * contains needle (a test's scratch directory: QEMU's -kernel, CMake's -S, Ninja's -C, the
 * compiler's sources); the first one's "pid: command line" goes to first when not NULL.
 * Zombies of ours are reaped first (a subreaper's orphans come to it). */
int qemu_procs_mentioning(const char *needle, pid_t except, char *first, size_t firstsz);

/* True while pid exists (zombie included): kill(pid, 0) succeeds or fails with EPERM. */
bool qemu_procs_alive(pid_t pid);

/* pid's state letter from /proc/<pid>/stat ('R', 'S', 'Z' for a zombie...), or 0 when there is
 * no such process. */
char qemu_procs_state(pid_t pid);

/* True once pid, orphaned by its server's death, has ended, waiting up to timeout_ms. The
 * caller is the subreaper (PR_SET_CHILD_SUBREAPER), so the orphan is its to reap: it is reaped
 * here (a multi-threaded QEMU's leader shows 'Z' before its group has exited, and only then
 * can it be reaped). A pid that is not the caller's counts as ended once gone or a zombie. */
bool qemu_procs_orphan_ends(pid_t pid, int timeout_ms);

#endif
