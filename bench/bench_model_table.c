/*
 * How long the firmware's CMake takes to configure an aot_standalone project whose model has N
 * inputs, a cost a hostile model could inflate: with the tensors the server wrote once
 * (model_tensors.cmake, linear) and with CMake reading metadata.json itself (string(JSON) per
 * tensor, quadratic). Prints {"tensors": N, "configure_s_table": x, "configure_s_json": y} per N.
 * Each figure is a whole configure (compiler checks included) in a fresh build directory.
 *   bench_model_table [N...]      (default: 100 500 2000)
 */
#include "fs.h"
#include "project_internal.h"
#include "mono.h"

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void add(struct archive *a, const char *name, const char *text)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)strlen(text));
    archive_write_header(a, e);
    archive_write_data(a, text, strlen(text));
    archive_entry_free(e);
}

/* An MLF of n int8 inputs and one output, with just enough C for a configure. */
static int make_mlf(const char *path, int n)
{
    cJSON *ins = cJSON_CreateObject();
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "in_%d", i);
        cJSON *t = cJSON_AddObjectToObject(ins, name);
        cJSON_AddNumberToObject(t, "size", 4);
        cJSON_AddStringToObject(t, "dtype", "int8");
    }
    char *insj = cJSON_PrintUnformatted(ins);
    char *meta = NULL;
    int rc = asprintf(&meta, "{\"version\": 7, \"modules\": {\"default\": {\"executors\": "
                      "[\"aot\"], \"style\": \"full-model\", \"memory\": {\"functions\": "
                      "{\"main\": [{\"workspace_size_bytes\": 64, \"inputs\": %s, \"outputs\": "
                      "{\"y\": {\"size\": 4, \"dtype\": \"int8\"}}}]}}}}}", insj);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (rc > 0 && archive_write_open_filename(a, path) == ARCHIVE_OK) {
        add(a, "./metadata.json", meta);
        add(a, "./codegen/host/src/default_lib0.c", "int x;\n");
        add(a, "./codegen/host/include/tvmgen_default.h", "struct tvmgen_default_inputs;\n");
        rc = archive_write_close(a) == ARCHIVE_OK ? 0 : -1;
    } else {
        rc = -1;
    }
    archive_write_free(a);
    free(meta);
    free(insj);
    cJSON_Delete(ins);
    return rc;
}

/* Seconds for one configure of proj into proj/<build>; negative when it failed. */
static double configure(const char *proj, const char *build)
{
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cmake -S '%s' -B '%s/%s' -G Ninja >/dev/null 2>&1", proj, proj,
             build);
    double t0 = mono_now_s();
    int rc = system(cmd);
    return rc == 0 ? mono_now_s() - t0 : -1;
}

int main(int argc, char **argv)
{
    static const int defaults[] = {100, 500, 2000};
    char dir[] = "/tmp/mtq-bench-table-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    int n_runs = argc > 1 ? argc - 1 : 3, rc = 0;
    for (int r = 0; r < n_runs && rc == 0; r++) {
        int n = argc > 1 ? atoi(argv[r + 1]) : defaults[r];
        char tar[PATH_MAX], proj[PATH_MAX], cm[PATH_MAX + 32], sed[2 * PATH_MAX];
        snprintf(tar, sizeof tar, "%s/m%d.tar", dir, n);
        snprintf(proj, sizeof proj, "%s/p%d", dir, n);
        struct err err = {0};
        cJSON *o = cJSON_Parse("{\"project_type\": \"aot_standalone\", \"board\": "
                               "\"mps2-an385\"}");
        if (make_mlf(tar, n) < 0 || proj_generate(MTQ_TEMPLATE_DIR, tar, "", proj, o, &err) < 0) {
            fprintf(stderr, "bench_model_table: %d tensors: %s\n", n, err.msg);
            rc = 1;
        }
        cJSON_Delete(o);
        if (rc)
            break;
        double table = configure(proj, "b_table");
        snprintf(cm, sizeof cm, "%s/project.cmake", proj);
        snprintf(sed, sizeof sed, "sed -i '/MTQ_AOT_TABLE_FILE/d' '%s'", cm);
        double json = system(sed) == 0 ? configure(proj, "b_json") : -1;
        printf("{\"tensors\": %d, \"configure_s_table\": %.2f, \"configure_s_json\": %.2f}\n", n,
               table, json);
        fflush(stdout);
    }
    fs_remove_tree(dir, NULL);
    return rc;
}
