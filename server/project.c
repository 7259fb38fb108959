/* Placeholder for generate_project and build, to be replaced in wave 2 (issue 3). */
#include "project.h"

int proj_generate(struct server *srv, const char *mlf_path, const char *crt_dir,
                  const char *project_dir, const cJSON *options, struct err *err)
{
    (void)srv, (void)mlf_path, (void)crt_dir, (void)project_dir, (void)options;
    return err_set(err, ERR_STATE, "generate_project: not built yet (issue 3)");
}

int proj_build(struct server *srv, const cJSON *options, struct err *err)
{
    (void)srv, (void)options;
    return err_set(err, ERR_STATE, "build: not built yet (issue 3)");
}
