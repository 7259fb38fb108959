/*
 * The server context (server.h): finds the directory the server binary lives in, which TVM
 * made the working directory too, and reads what depends on it once at start.
 */
#include "server.h"

#include "fs.h"
#include "log.h"
#include "record.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int server_init(struct server *srv, const char *dir, struct err *err)
{
    memset(srv, 0, sizeof *srv);
    srv->request_fd = srv->reply_fd = -1;
    srv->verbosity = log_get_level();
    char exe[PATH_MAX];
    if (!dir) {
        /* the binary's own directory, not cwd: TVM sets cwd to it, but a person running the
         * server by hand may not */
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n < 0)
            return err_errno(err, "/proc/self/exe");
        exe[n] = '\0';
        dir = dirname(exe);
    }
    if (!realpath(dir, srv->dir))
        return err_errno(err, "%s", dir);
    int rc = fs_join(srv->machines_dir, sizeof srv->machines_dir, srv->dir, "machines", err);
    if (rc < 0)
        return rc;
    char project_json[PATH_MAX];
    rc = fs_join(project_json, sizeof project_json, srv->dir, RECORD_FILE, err);
    if (rc < 0)
        return rc;
    srv->is_template = !fs_exists(project_json);
    if (!(srv->options = opt_table_new(srv->machines_dir, err)))
        return err_set(err, -ENOMEM, "out of memory");
    return 0;
}

void server_close(struct server *srv)
{
    if (!srv)
        return;
    opt_table_free(srv->options);
    srv->options = NULL;
}
