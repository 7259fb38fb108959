/* Builders of the hostile corpus: see hostile.h. */
#include "hostile.h"

#include <archive.h>
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

static bool add(struct archive *a, const struct hostile_member *m)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, m->name);
    archive_entry_set_filetype(e, m->type);
    archive_entry_set_perm(e, m->type == AE_IFDIR ? 0755 : 0644);
    long long size = m->content ? (long long)strlen(m->content) : m->size;
    if (m->type == AE_IFREG)
        archive_entry_set_size(e, size);
    if (m->sparse)
        archive_entry_sparse_add_entry(e, 0, 4096);
    if (m->link)
        archive_entry_set_symlink(e, m->link);
    bool ok = archive_write_header(a, e) == ARCHIVE_OK;
    if (ok && m->type == AE_IFREG && size > 0) {
        static const char zeros[65536];
        long long left = m->sparse ? 4096 : size;
        while (ok && left > 0) {
            size_t n = left < (long long)sizeof zeros ? (size_t)left : sizeof zeros;
            ok = archive_write_data(a, m->content ? m->content + (size - left) : zeros, n) ==
                 (la_ssize_t)n;
            left -= (long long)n;
        }
    }
    if (!ok)
        fprintf(stderr, "\n    hostile tar: %s: %s\n", m->name, archive_error_string(a));
    archive_entry_free(e);
    return ok;
}

bool hostile_tar(const char *path, const struct hostile_member *m, size_t n, bool gz)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (gz)
        archive_write_add_filter_gzip(a);
    bool ok = archive_write_open_filename(a, path) == ARCHIVE_OK;
    for (size_t i = 0; ok && i < n; i++)
        ok = add(a, &m[i]);
    ok = archive_write_close(a) == ARCHIVE_OK && ok;
    archive_write_free(a);
    return ok;
}

static const struct hostile_member GOOD[] = {
    {"./metadata.json", AE_IFREG, HOSTILE_META, NULL, 0, false},
    {"./codegen/host/src/default_lib0.c", AE_IFREG, "int tvmgen_default_x;\n", NULL, 0, false},
};
#define N_GOOD (sizeof GOOD / sizeof GOOD[0])

bool hostile_mlf(const char *path, const struct hostile_member *extra, size_t n)
{
    struct hostile_member *all = calloc(N_GOOD + n, sizeof *all);
    if (!all)
        return false;
    memcpy(all, GOOD, sizeof GOOD);
    if (n)
        memcpy(all + N_GOOD, extra, n * sizeof *extra);
    bool ok = hostile_tar(path, all, N_GOOD + n, false);
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
    struct hostile_member m = {name, AE_IFREG, "int f;\n", NULL, 0, false};
    bool ok = hostile_mlf(path, &m, 1);
    free(name);
    return ok;
}

bool hostile_many_mlf(const char *path, int count)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    bool ok = archive_write_open_filename(a, path) == ARCHIVE_OK;
    for (size_t i = 0; ok && i < N_GOOD; i++)
        ok = add(a, &GOOD[i]);
    for (int i = 0; ok && i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "./f%d", i);
        struct hostile_member m = {name, AE_IFREG, "", NULL, 0, false};
        ok = add(a, &m);
    }
    ok = archive_write_close(a) == ARCHIVE_OK && ok;
    archive_write_free(a);
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
