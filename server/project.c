/*
 * generate_project and build as the API layer sees them: the server's context in, the work
 * done by generate.c and build.c (project_internal.h), which the unit tests call directly.
 */
#include "project.h"

#include "log.h"
#include "project_internal.h"

int proj_generate(struct server *srv, const char *mlf_path, const char *crt_dir,
                  const char *project_dir, const cJSON *options, struct err *err)
{
    /* the server's own directory is the template: a generated project can serve as one too,
     * for the one board it carries */
    return proj__generate(srv->dir, mlf_path, crt_dir, project_dir, options, err);
}

int proj_build(struct server *srv, const cJSON *options, struct err *err)
{
    if (srv->is_template)
        return err_set(err, ERR_STATE, "build: %s is the template, not a project; call "
                       "generate_project and build with the server in the directory it made",
                       srv->dir);
    struct options opt;
    opt_get(cJSON_IsObject(options) ? options : NULL, &opt);
    bool verbose = opt.verbose || log_get_level() >= LOG_DEBUG;
    int rc = proj__apply_build_options(srv->dir, cJSON_IsObject(options) ? options : NULL, err);
    return rc < 0 ? rc : proj__build_limited(srv->dir, verbose, opt.build_timeout_s, NULL, err);
}
