/*
 * Test support: the e2e tests' scratch directories (see scratch.h). One place decides where a
 * test's servers put their sockets and cache, so that no test can forget one and write into
 * the user's runtime directory or ~/.cache.
 */
#include "scratch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int scratch_make(char *workdir, char *rundir, size_t rundir_size, char *cache, size_t cache_size)
{
    char run[PATH_MAX], cached[PATH_MAX];
    if (!mkdtemp(workdir))
        return -1;
    if (snprintf(run, sizeof run, "%s/run", workdir) >= (int)sizeof run ||
        snprintf(cached, sizeof cached, "%s/cache", workdir) >= (int)sizeof cached ||
        (rundir && snprintf(rundir, rundir_size, "%s", run) >= (int)rundir_size) ||
        (cache && snprintf(cache, cache_size, "%s", cached) >= (int)cache_size)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdir(run, 0700) < 0 || setenv("XDG_RUNTIME_DIR", run, 1) < 0 ||
        setenv("MTQ_CACHE_DIR", cached, 1) < 0)
        return -1;
    return 0;
}
