/*
 * Test support: an end-to-end test's scratch directory, and the environment that keeps what
 * the servers and QEMUs it starts write inside it: their QMP sockets in <workdir>/run (as
 * $XDG_RUNTIME_DIR, so a test can see that none is left behind) and their firmware build
 * cache in <workdir>/cache (as $MTQ_CACHE_DIR, never the user's ~/.cache).
 */
#ifndef MTQ_TEST_SCRATCH_H
#define MTQ_TEST_SCRATCH_H

#include <stddef.h>

/* mkdtemp(workdir) (a "/tmp/...-XXXXXX" template, rewritten in place), then <workdir>/run
 * (mode 0700, as $XDG_RUNTIME_DIR must be) and the two variables above. rundir and cache, when
 * not NULL, receive the two paths. Returns 0, or -1 with errno set; the caller removes workdir
 * (fs_remove_tree) once it exists, also after a failure. */
int scratch_make(char *workdir, char *rundir, size_t rundir_size, char *cache,
                 size_t cache_size);

#endif
