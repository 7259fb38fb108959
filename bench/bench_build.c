/*
 * How long generate_project + build take, and what they produce: prints one JSON object with
 * the cold build (empty board cache), a no-change rebuild, a model-only rebuild, a second
 * project served by the cache, and the firmware sizes of the digits model on every board.
 * Uses the repository's digits_int8 fixture and a private cache directory.
 * Usage: bench_build [board...]   (default: every board in the template)
 */
#include "project_internal.h"

#include "fs.h"
#include "mono.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Adds dir's tree to the archive as "./<rel>" members, the way TVM's exporter names them. */
static int add_tree(struct archive *a, const char *dir, const char *rel)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort), rc = n < 0 ? -1 : 0;
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        char path[PATH_MAX], sub[PATH_MAX];
        struct stat st;
        if (rc == 0 && strcmp(name, ".") && strcmp(name, "..") &&
            snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path &&
            snprintf(sub, sizeof sub, "%s/%s", rel, name) < (int)sizeof sub &&
            lstat(path, &st) == 0) {
            struct archive_entry *e = archive_entry_new();
            archive_entry_set_pathname(e, sub);
            archive_entry_set_perm(e, S_ISDIR(st.st_mode) ? 0755 : 0644);
            archive_entry_set_filetype(e, S_ISDIR(st.st_mode) ? AE_IFDIR : AE_IFREG);
            archive_entry_set_size(e, S_ISDIR(st.st_mode) ? 0 : st.st_size);
            archive_write_header(a, e);
            archive_entry_free(e);
            if (S_ISDIR(st.st_mode)) {
                rc = add_tree(a, path, sub);
            } else {
                char *text = NULL;
                size_t len = 0;
                rc = fs_read_file(path, 0, &text, &len, NULL);
                if (rc == 0 && archive_write_data(a, text, len) != (la_ssize_t)len)
                    rc = -1;
                free(text);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

static int make_tar(const char *dir, const char *out)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    int rc = archive_write_open_filename(a, out) == ARCHIVE_OK ? add_tree(a, dir, ".") : -1;
    archive_write_close(a);
    archive_write_free(a);
    return rc;
}

static int generate(const char *tar, const char *dir, const char *board, struct err *err)
{
    char json[256];
    snprintf(json, sizeof json, "{\"project_type\": \"aot_standalone\", \"board\": \"%s\"}",
             board);
    cJSON *o = cJSON_Parse(json);
    int rc = proj_generate(MTQ_TEMPLATE_DIR, tar, "", dir, o, err);
    cJSON_Delete(o);
    return rc;
}

/* Seconds for generate + build of one project; -1 on failure (reported on stderr). */
static double cold(const char *tar, const char *dir, const char *board, struct proj_sizes *z)
{
    struct err err = {0};
    double t0 = mono_now_s();
    if (generate(tar, dir, board, &err) < 0 || proj__build(dir, false, 0, z, &err) < 0) {
        fprintf(stderr, "bench_build: %s: %s\n%s\n", board, err.msg, err.detail);
        return -1;
    }
    return mono_now_s() - t0;
}

static double rebuild(const char *dir)
{
    struct err err = {0};
    double t0 = mono_now_s();
    if (proj__build(dir, false, 0, NULL, &err) < 0) {
        fprintf(stderr, "bench_build: %s: %s\n", dir, err.msg);
        return -1;
    }
    return mono_now_s() - t0;
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/bench_build.XXXXXX";
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char cache[64], tar[64], fixture[PATH_MAX], dir[PATH_MAX], src[PATH_MAX + 64];
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    snprintf(tar, sizeof tar, "%s/digits.tar", tmp);
    setenv("MTQ_CACHE_DIR", cache, 1);
    snprintf(fixture, sizeof fixture, "%s/tests/fixtures/mlf/digits_int8", MTQ_SOURCE_DIR);
    if (make_tar(fixture, tar) < 0) {
        fprintf(stderr, "bench_build: cannot archive %s\n", fixture);
        fs_remove_tree(tmp, NULL);
        return 1;
    }
    char **boards = NULL;
    size_t n_boards = 0;
    if (argc > 1) {
        boards = argv + 1;
        n_boards = (size_t)argc - 1;
    } else if (mach_list(MTQ_TEMPLATE_DIR "/machines", &boards, &n_boards, NULL) < 0) {
        fprintf(stderr, "bench_build: no machines in %s\n", MTQ_TEMPLATE_DIR "/machines");
        fs_remove_tree(tmp, NULL);
        return 1;
    }
    int rc = 0;
    printf("{\n  \"model\": \"digits_int8\", \"project_type\": \"aot_standalone\",\n");

    /* the first board gets every measurement; the cache is empty before it */
    struct proj_sizes z = {0};
    snprintf(dir, sizeof dir, "%s/first", tmp);
    double t_cold = cold(tar, dir, boards[0], &z);
    double t_noop = rebuild(dir);
    snprintf(src, sizeof src, "%s/model/codegen/host/src/default_lib1.c", dir);
    utimensat(AT_FDCWD, src, NULL, 0);
    double t_model = rebuild(dir);
    snprintf(dir, sizeof dir, "%s/second", tmp);
    double t_hit = cold(tar, dir, boards[0], NULL);
    if (t_cold < 0 || t_noop < 0 || t_model < 0 || t_hit < 0)
        rc = 1;
    printf("  \"board\": \"%s\",\n", boards[0]);
    printf("  \"cold_generate_build_s\": %.3f,\n", t_cold);
    printf("  \"no_change_rebuild_s\": %.3f,\n", t_noop);
    printf("  \"model_only_rebuild_s\": %.3f,\n", t_model);
    printf("  \"cache_miss_generate_build_s\": %.3f,\n", t_cold);
    printf("  \"cache_hit_generate_build_s\": %.3f,\n", t_hit);
    printf("  \"sizes\": {\n");
    for (size_t i = 0; i < n_boards; i++) {
        struct proj_sizes s = {0};
        double t = 0;
        if (i == 0) {
            s = z;
            t = t_cold;
        } else {
            snprintf(dir, sizeof dir, "%s/board-%zu", tmp, i);
            if ((t = cold(tar, dir, boards[i], &s)) < 0)
                rc = 1;
        }
        printf("    \"%s\": {\"text\": %llu, \"data\": %llu, \"bss\": %llu, "
               "\"cold_generate_build_s\": %.3f}%s\n",
               boards[i], (unsigned long long)s.text, (unsigned long long)s.data,
               (unsigned long long)s.bss, t, i + 1 < n_boards ? "," : "");
    }
    printf("  }\n}\n");
    if (argc <= 1)
        mach_free_names(boards, n_boards);
    fs_remove_tree(tmp, NULL);
    return rc;
}
