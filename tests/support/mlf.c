/*
 * MLF fixtures for tests (mlf.h): where they are, and tars of them in the shape TVM's exporter
 * writes ("./"-prefixed members, the root itself a member), made by the command line's writer
 * (cli/mlftar.c) so the server's extraction is tested on what TVM and our demo send.
 */
#include "mlf.h"

#include "mlftar.h"

#include <stdio.h>
#include <sys/stat.h>

/* The demo's writer is the one TVM-shaped tar writer there is: tests use it too, so what the
 * tests feed the server is exactly what users of `demo` feed it. */
int mlf_make_tar(const char *fixture_dir, const char *out_tar, struct err *err)
{
    return cli_mlf_tar(fixture_dir, out_tar, err);
}

int mlf_fixture_path(const char *name, char *out, size_t outsz, struct err *err)
{
    int n = snprintf(out, outsz, "%s/tests/fixtures/mlf/%s", MTQ_SOURCE_DIR, name);
    if (n < 0 || (size_t)n >= outsz)
        return err_set(err, ERR_INVALID, "fixture %s: path does not fit in %zu bytes", name,
                       outsz);
    struct stat st;
    if (stat(out, &st) != 0)
        return err_errno(err, "fixture %s: %s", name, out);
    return 0;
}

int mlf_shared_fixture(const char *name, char *out, size_t outsz, struct err *err)
{
    int n = snprintf(out, outsz, "%s/../shared/fixtures/tvm-0.18/%s", MTQ_SOURCE_DIR, name);
    if (n < 0 || (size_t)n >= outsz)
        return err_set(err, ERR_INVALID, "shared fixture %s: path too long", name);
    struct stat st;
    if (stat(out, &st) != 0)
        return err_set(err, ERR_STATE, "%s is absent (no ../shared beside the source tree): "
                       "the cases with TVM 0.18's own archives are skipped", out);
    return 0;
}
