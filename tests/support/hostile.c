/* Builders of the hostile corpus: see hostile.h. */
#include "hostile.h"

#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char HOSTILE_META[] =
    "{\"version\": 7, \"modules\": {\"default\": {\"executors\": [\"aot\"], \"style\": "
    "\"full-model\", \"target\": [\"c\"], \"memory\": {\"functions\": {\"main\": "
    "[{\"workspace_size_bytes\": 64, \"inputs\": {\"x\": {\"size\": 4, \"dtype\": \"int8\"}}, "
    "\"outputs\": {\"y\": {\"size\": 4, \"dtype\": \"int8\"}}}]}}}}}";

static const struct tar_member GOOD[] = {
    {"./metadata.json", AE_IFREG, HOSTILE_META, NULL, NULL, 0, false},
    {"./codegen/host/src/default_lib0.c", AE_IFREG, "int tvmgen_default_x;\n", NULL, NULL, 0,
     false},
};
#define N_GOOD (sizeof GOOD / sizeof GOOD[0])

bool hostile_mlf(const char *path, const struct tar_member *extra, size_t n)
{
    struct tar_member *all = calloc(N_GOOD + n, sizeof *all);
    if (!all)
        return false;
    memcpy(all, GOOD, sizeof GOOD);
    if (n)
        memcpy(all + N_GOOD, extra, n * sizeof *extra);
    bool ok = tar_write_archive(path, all, N_GOOD + n, false);
    free(all);
    return ok;
}

bool hostile_deep_mlf(const char *path, int depth)
{
    char *name = malloc((size_t)depth * 2 + 16);
    if (!name)
        return false;
    name[0] = '\0';
    for (int i = 0; i < depth; i++)
        strcat(name, "d/");
    strcat(name, "f.c");
    struct tar_member m = {name, AE_IFREG, "int f;\n", NULL, NULL, 0, false};
    bool ok = hostile_mlf(path, &m, 1);
    free(name);
    return ok;
}

bool hostile_many_mlf(const char *path, int count)
{
    enum { NAME = 16 };
    size_t n = N_GOOD + (size_t)count;
    struct tar_member *all = calloc(n, sizeof *all);
    char *names = calloc((size_t)count + 1, NAME);
    bool ok = all && names;
    if (ok) {
        memcpy(all, GOOD, sizeof GOOD);
        for (int i = 0; i < count; i++) {
            char *name = names + (size_t)i * NAME;
            snprintf(name, NAME, "./f%d", i);
            all[N_GOOD + (size_t)i] = (struct tar_member){name, AE_IFREG, "", NULL, NULL, 0, false};
        }
        ok = tar_write_archive(path, all, n, true);
    }
    free(all);
    free(names);
    return ok;
}

bool hostile_deep_tree(const char *dir, int depth)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", dir);
    for (int i = 0; i < depth; i++) {
        size_t n = strlen(path);
        if (n + 3 >= sizeof path)
            return false;
        memcpy(path + n, "/d", 3);
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return false;
    }
    return true;
}
