/*
 * The shared firmware cache (server/cache.c) on a stand-in project (tests/fixtures/
 * cache_project: a firmware/ whose CMake builds the two cached libraries with the host's C
 * compiler in a second, a crt/, and the real machine files): what the key covers and what it
 * does not, the link refusal of docs/SECURITY.md, a miss that builds and the lookups that hit,
 * concurrent writers, incomplete or broken entries, and what a failed build leaves. The cross
 * compilers the key stamps are stand-in scripts first on PATH; every test has its own
 * MTQ_CACHE_DIR in a scratch directory. Needs CMake and Ninja (else it skips).
 */
#include "project_internal.h"

#include "asserts.h"
#include "fs.h"
#include "runner.h"
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIXTURE MTQ_SOURCE_DIR "/tests/fixtures/cache_project"
#define BOARD "mps2-an385"
#define BUILD_TIMEOUT_S 120 /* each build step's limit (the build_timeout_s option) */
#define N_WRITERS 4

/* File-static fixtures (CUnit suites take no arguments): the scratch directory, the clean
 * project every test copies, the stand-in compilers' directory, the PATH to put back. */
static char tmpdir[] = "/tmp/mtq-test-cache-XXXXXX";
static char clean_project[PATH_MAX], bindir[PATH_MAX], cache_root[PATH_MAX];
static char *saved_path;

/* ---- fixtures ---- */

static int write_text(const char *dir, const char *rel, const char *text)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return fs_write_file(path, text, strlen(text), NULL);
}

/* A stand-in compiler: the key stamps its path, size and mtime, and never runs it. */
static int write_compiler(const char *name, const char *body)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", bindir, name);
    if (fs_write_file(path, body, strlen(body), NULL) < 0)
        return -1;
    return chmod(path, 0755);
}

static int copy_machine(const char *board)
{
    char from[PATH_MAX], to[PATH_MAX + 128];
    snprintf(from, sizeof from, "%s/machines/%s.json", MTQ_SOURCE_DIR, board);
    snprintf(to, sizeof to, "%s/machines/%s.json", clean_project, board);
    return fs_copy_file(from, to, NULL);
}

static int suite_init(void)
{
    char machines[PATH_MAX + 16], new_path[8192];
    const char *path = getenv("PATH");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(bindir, sizeof bindir, "%s/bin", tmpdir);
    snprintf(clean_project, sizeof clean_project, "%s/clean", tmpdir);
    snprintf(machines, sizeof machines, "%s/machines", clean_project);
    snprintf(new_path, sizeof new_path, "%s:%s", bindir, path ? path : "/usr/bin:/bin");
    if (!(saved_path = strdup(path ? path : "/usr/bin:/bin")) || fs_mkdir_p(bindir, NULL) < 0)
        return -1;
    if (write_compiler("arm-none-eabi-gcc", "#!/bin/sh\nexit 0\n") < 0 ||
        write_compiler("arm-none-eabi-g++", "#!/bin/sh\nexit 0\n") < 0 ||
        write_compiler("riscv64-unknown-elf-gcc", "#!/bin/sh\nexit 0\n") < 0)
        return -1;
    if (setenv("PATH", new_path, 1) < 0 || fs_copy_tree(FIXTURE, clean_project, NULL) < 0 ||
        fs_mkdir_p(machines, NULL) < 0 || copy_machine(BOARD) < 0 ||
        copy_machine("riscv32-virt") < 0)
        return -1;
    return 0;
}

static int suite_clean(void)
{
    if (saved_path)
        setenv("PATH", saved_path, 1);
    free(saved_path);
    saved_path = NULL;
    unsetenv("MTQ_CACHE_DIR");
    unsetenv("MTQ_TEST_SLOW_BUILD");
    unsetenv("MTQ_TEST_BROKEN_BUILD");
    return fs_remove_tree(tmpdir, NULL);
}

/* A fresh copy of the clean project at tmpdir/name, into out. */
static void new_project(const char *name, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%s", tmpdir, name);
    ASSERT_OK_FATAL(fs_copy_tree(clean_project, out, NULL), NULL);
}

/* An empty cache of the test's own, tmpdir/cache-name, as MTQ_CACHE_DIR and cache_root. */
static void new_cache(const char *name)
{
    snprintf(cache_root, sizeof cache_root, "%s/cache-%s", tmpdir, name);
    ASSERT_EQ_FATAL(setenv("MTQ_CACHE_DIR", cache_root, 1), 0);
}

/* The settings of a project of type on BOARD, as project.json would give them. */
static void settings(struct project_record *s, const char *type)
{
    memset(s, 0, sizeof *s);
    snprintf(s->project_type, sizeof s->project_type, "%s", type);
    snprintf(s->board, sizeof s->board, "%s", BOARD);
    snprintf(s->libc, sizeof s->libc, "picolibc");
    snprintf(s->opt_level, sizeof s->opt_level, "2");
}

/* The key of dir's board layer (crt false) or of its CRT (crt true), into key. */
static void key_of(const char *dir, const struct project_record *s, bool crt, char key[17])
{
    struct err err = {0};
    int rc = crt ? proj__cache_crt_key(dir, s, key, &err) : proj__cache_key(dir, s, key, &err);
    ASSERT_OK_FATAL(rc, &err);
}

/* Fails the test, naming what, when the key of dir under s is (same) or is not (!same) base. */
static void expect_key(const char *what, const char *dir, const struct project_record *s,
                       bool crt, const char *base, bool same)
{
    char key[17];
    key_of(dir, s, crt, key);
    if ((strcmp(key, base) == 0) != same)
        TEST_FAIL("%s: the %s key is %s, %s %s", what, crt ? "CRT" : "board layer", key,
                  same ? "want" : "and it was", base);
}

/* What the cache root holds, by kind of name. */
enum held { HELD_ALL, HELD_BUILD_DIRS, HELD_ENTRIES };

/* How many names of that kind the cache root holds: everything, the temporary build
 * directories (".tmp-..."), or the entries proper (neither those nor the lock files). */
static int held(enum held kind)
{
    DIR *d = opendir(cache_root);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *name = e->d_name;
        size_t len = strlen(name);
        bool build_dir = !strncmp(name, ".tmp-", 5);
        bool lock = len > 5 && !strcmp(name + len - 5, ".lock");
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        n += kind == HELD_ALL || (kind == HELD_BUILD_DIRS && build_dir) ||
             (kind == HELD_ENTRIES && !build_dir && !lock);
    }
    if (d)
        closedir(d);
    return n;
}

/* True when path starts as an ar archive does: a library the linker takes. */
static bool is_archive(const char *path)
{
    char head[8] = "";
    FILE *f = fopen(path, "rb");
    bool ok = f && fread(head, 1, sizeof head, f) == sizeof head && !memcmp(head, "!<arch>\n", 8);
    if (f)
        fclose(f);
    return ok;
}

/* proj__cache_board on dir with s: ASSERT_OK, the library's path in *lib (caller frees). */
static bool lookup_board(const char *dir, const struct project_record *s, char **lib)
{
    struct err err = {0};
    bool hit = true;
    ASSERT_OK_FATAL(proj__cache_board(dir, s, -1, false, BUILD_TIMEOUT_S, lib, &hit, &err), &err);
    ASSERT_NOT_NULL_FATAL(*lib);
    return hit;
}

/* ---- the key ---- */

static void test_fnv1a_matches_the_published_test_vectors(void)
{
    ASSERT_EQ(proj__fnv1a(PROJ_FNV_SEED, "", 0), 0xcbf29ce484222325ULL);
    ASSERT_EQ(proj__fnv1a(PROJ_FNV_SEED, "a", 1), 0xaf63dc4c8601ec8cULL);
    ASSERT_EQ(proj__fnv1a(PROJ_FNV_SEED, "foobar", 6), 0x85944171f73967e8ULL);
    /* continued: hashing in two pieces is hashing the whole */
    ASSERT_EQ(proj__fnv1a(proj__fnv1a(PROJ_FNV_SEED, "foo", 3), "bar", 3),
              proj__fnv1a(PROJ_FNV_SEED, "foobar", 6));
}

static void test_the_key_is_the_same_for_the_same_sources_wherever_the_project_is(void)
{
    char a[PATH_MAX], b[PATH_MAX], key_a[17], key_b[17], again[17];
    struct project_record s;
    settings(&s, "echo");
    new_project("same-a", a, sizeof a);
    new_project("same-b", b, sizeof b);
    key_of(a, &s, false, key_a);
    key_of(a, &s, false, again);
    key_of(b, &s, false, key_b);
    ASSERT_EQ(strlen(key_a), 16);
    ASSERT_EQ(strspn(key_a, "0123456789abcdef"), 16);
    ASSERT_STR_EQ(again, key_a);
    ASSERT_STR_EQ(key_b, key_a); /* another project, the same sources: the entry is shared */
    /* an mtime is no content: touching a file keeps the key */
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/firmware/board.c", b);
    ASSERT_EQ(utimes(path, NULL), 0);
    expect_key("touching firmware/board.c", b, &s, false, key_a, true);
    ASSERT_OK(fs_remove_tree(a, NULL), NULL);
    ASSERT_OK(fs_remove_tree(b, NULL), NULL);
}

/* One change to a project: text written to rel (a new file, or one replaced). */
struct edit {
    const char *what;
    const char *rel;
    const char *text;
};

static void test_the_key_changes_with_everything_the_compiler_reads(void)
{
    static const struct edit edits[] = {
        {"a firmware source's content", "firmware/board.c", "int board_part(void);\n"},
        {"a new file in firmware/", "firmware/extra.h", "#define EXTRA 1\n"},
        {"an application's source", "firmware/apps/app.c", "int app_part(void);\n"},
        {"the firmware's CMake file", "firmware/CMakeLists.txt",
         "# MTQ_PREBUILT_BOARD_LIB\nproject(other C)\n"},
    };
    char dir[PATH_MAX], base[17], from[PATH_MAX + 64], to[PATH_MAX + 64];
    struct project_record s;
    settings(&s, "echo");
    key_of(clean_project, &s, false, base);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        new_project("edited", dir, sizeof dir);
        ASSERT_OK(write_text(dir, edits[i].rel, edits[i].text), NULL);
        expect_key(edits[i].what, dir, &s, false, base, false);
        ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
    }
    /* the machine file (CPU flags): one byte of it, the file still valid */
    new_project("machine", dir, sizeof dir);
    snprintf(from, sizeof from, "%s/machines/%s.json", dir, BOARD);
    char *text = NULL;
    ASSERT_OK_FATAL(fs_read_file(from, 0, &text, NULL, NULL), NULL);
    char *d = strstr(text, "\"description\": \"");
    ASSERT_NOT_NULL_FATAL(d);
    d[strlen("\"description\": \"")] ^= 0x20; /* the first letter's case */
    ASSERT_OK(fs_write_file(from, text, strlen(text), NULL), NULL);
    free(text);
    expect_key("the machine file", dir, &s, false, base, false);
    ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
    /* a file's name is in the key, not only its bytes; so is an empty directory */
    new_project("renamed", dir, sizeof dir);
    snprintf(from, sizeof from, "%s/firmware/board.c", dir);
    snprintf(to, sizeof to, "%s/firmware/board2.c", dir);
    ASSERT_EQ(rename(from, to), 0);
    expect_key("a renamed file", dir, &s, false, base, false);
    ASSERT_EQ(rename(to, from), 0);
    snprintf(to, sizeof to, "%s/firmware/empty", dir);
    ASSERT_EQ(mkdir(to, 0755), 0);
    expect_key("an empty directory", dir, &s, false, base, false);
    ASSERT_OK(fs_remove_tree(dir, NULL), NULL);

    /* every setting that changes the object code */
    struct project_record t = s;
    snprintf(t.libc, sizeof t.libc, "newlib");
    expect_key("libc", clean_project, &t, false, base, false);
    t = s;
    snprintf(t.opt_level, sizeof t.opt_level, "s");
    expect_key("opt_level", clean_project, &t, false, base, false);
    t = s;
    t.compile_definitions = "MTQ_X=1";
    expect_key("compile_definitions", clean_project, &t, false, base, false);
    t = s;
    t.warning_as_error = true;
    expect_key("warning_as_error", clean_project, &t, false, base, false);
    t = s;
    snprintf(t.board, sizeof t.board, "riscv32-virt");
    expect_key("the board", clean_project, &t, false, base, false);

    /* an upgraded compiler (another size and mtime) must not link the old one's objects */
    ASSERT_OK(write_compiler("arm-none-eabi-gcc", "#!/bin/sh\n# version 2\nexit 0\n"), NULL);
    expect_key("the compiler", clean_project, &s, false, base, false);
}

static void test_the_key_ignores_what_the_board_layer_is_not_made_from(void)
{
    static const struct edit edits[] = {
        {"the model", "model/codegen/host/src/default_lib0.c", "int model;\n"},
        {"the project's own sources", "src/main.c", "int main(void) { return 0; }\n"},
        {"project.json", "project.json", "{}\n"},
        {"a build directory", "build/build.ninja", "# stale\n"},
        {"the CRT", "crt/crt.c", "int crt_part(void);\n"},
    };
    char dir[PATH_MAX], base[17];
    struct project_record s;
    settings(&s, "echo");
    key_of(clean_project, &s, false, base);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        new_project("outside", dir, sizeof dir);
        char sub[PATH_MAX + 256];
        snprintf(sub, sizeof sub, "%s/%s", dir, edits[i].rel);
        *strrchr(sub, '/') = '\0';
        ASSERT_OK(fs_mkdir_p(sub, NULL), NULL);
        ASSERT_OK(write_text(dir, edits[i].rel, edits[i].text), NULL);
        expect_key(edits[i].what, dir, &s, false, base, true);
        ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
    }
    /* settings the board layer is built without: it is always built as echo, with no model */
    struct project_record t = s;
    snprintf(t.project_type, sizeof t.project_type, "aot_standalone");
    t.workspace_bytes = 12345;
    t.has_model = true;
    snprintf(t.cmsis_path, sizeof t.cmsis_path, "/opt/cmsis");
    expect_key("project_type, workspace, model, CMSIS", clean_project, &t, false,
               base, true);
}

static void test_the_crt_key_follows_the_crt_and_the_files_that_build_it_only(void)
{
    static const struct edit changes[] = {
        {"the CRT's source", "crt/crt.c", "int crt_part(void);\n"},
        {"a platform header", "firmware/platform/crt_config.h", "#define CRT_TEST_CONFIG 2\n"},
        {"the CRT's CMake file", "firmware/cmake/host_driven.cmake", "# MTQ_PREBUILT_CRT_LIB\n"},
        {"the firmware's CMake file", "firmware/CMakeLists.txt", "# MTQ_PREBUILT_BOARD_LIB\n"},
    };
    static const struct edit keeps[] = {
        {"an application", "firmware/apps/app.c", "int app_part(void);\n"},
        {"the board layer", "firmware/board.c", "int board_part(void);\n"},
    };
    char dir[PATH_MAX], base[17], board[17];
    struct project_record s;
    settings(&s, "host_driven");
    key_of(clean_project, &s, true, base);
    key_of(clean_project, &s, false, board);
    ASSERT_STR_NE(base, board); /* two kinds of entry, two keys */
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        new_project("crt", dir, sizeof dir);
        ASSERT_OK(write_text(dir, changes[i].rel, changes[i].text), NULL);
        expect_key(changes[i].what, dir, &s, true, base, false);
        ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
    }
    for (size_t i = 0; i < sizeof keeps / sizeof keeps[0]; i++) {
        new_project("crt", dir, sizeof dir);
        ASSERT_OK(write_text(dir, keeps[i].rel, keeps[i].text), NULL);
        expect_key(keeps[i].what, dir, &s, true, base, true);
        ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
    }
    struct project_record t = s;
    t.warning_as_error = true; /* the CRT is compiled with -w */
    expect_key("warning_as_error", clean_project, &t, true, base, true);
    t = s;
    snprintf(t.opt_level, sizeof t.opt_level, "0");
    expect_key("opt_level", clean_project, &t, true, base, false);
}

/* ---- links in the cached sources (docs/SECURITY.md) ---- */

static void test_a_link_in_the_cached_sources_refuses_the_key_and_the_cache(void)
{
    static const struct {
        const char *rel, *target;
    } links[] = {
        {"firmware/zz_poison.h", "../project.json"}, /* a header the compiler would follow */
        {"firmware/dangling.h", "no/such/file"},
        {"firmware/apps/etc", "/etc"}, /* a directory */
    };
    char dir[PATH_MAX], path[PATH_MAX + 64], key[17];
    struct project_record s;
    struct err err = {0};
    settings(&s, "echo");
    new_cache("links");
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        new_project("linked", dir, sizeof dir);
        snprintf(path, sizeof path, "%s/%s", dir, links[i].rel);
        ASSERT_EQ_FATAL(symlink(links[i].target, path), 0);
        err_clear(&err);
        ASSERT_EQ(proj__cache_key(dir, &s, key, &err), ERR_STATE);
        char want[256];
        snprintf(want, sizeof want, "%s is a symbolic link; a project with links in the cached "
                 "sources builds without the shared cache", links[i].rel);
        ASSERT_STR_CONTAINS(err.msg, want);
        /* the lookup refuses too, before building anything, so nothing lands in the cache */
        char *lib = NULL;
        bool hit = true;
        ASSERT_EQ(proj__cache_board(dir, &s, -1, false, BUILD_TIMEOUT_S, &lib, &hit, &err), ERR_STATE);
        ASSERT_NULL(lib);
        ASSERT_FALSE(hit);
        ASSERT_FALSE(fs_exists(cache_root));
        ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
    }
    /* the CRT's tree as well */
    settings(&s, "host_driven");
    new_project("linked", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/crt/evil.c", dir);
    ASSERT_EQ_FATAL(symlink("/etc/passwd", path), 0);
    ASSERT_EQ(proj__cache_crt_key(dir, &s, key, &err), ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "crt/evil.c is a symbolic link");
    /* a link where the cache does not look (the model) changes nothing */
    ASSERT_EQ(unlink(path), 0);
    snprintf(path, sizeof path, "%s/model", dir);
    ASSERT_EQ_FATAL(symlink("/etc", path), 0);
    ASSERT_OK(proj__cache_crt_key(dir, &s, key, &err), &err);
    ASSERT_OK(proj__cache_key(dir, &s, key, &err), &err);
    ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
}

static void test_a_missing_compiler_or_machine_file_fails_the_key_naming_it(void)
{
    char key[17], empty[PATH_MAX + 16];
    struct project_record s;
    struct err err = {0};
    settings(&s, "echo");
    snprintf(empty, sizeof empty, "%s/empty-bin", tmpdir);
    ASSERT_OK_FATAL(fs_mkdir_p(empty, NULL), NULL);
    char *path = strdup(getenv("PATH"));
    ASSERT_NOT_NULL_FATAL(path);
    ASSERT_EQ(setenv("PATH", empty, 1), 0);
    ASSERT_EQ(proj__cache_key(clean_project, &s, key, &err), ERR_TOOL);
    ASSERT_STR_EQ(err.msg, "arm-none-eabi-gcc not found in PATH");
    ASSERT_EQ(setenv("PATH", path, 1), 0);
    free(path);
    snprintf(s.board, sizeof s.board, "no-such-board");
    ASSERT_EQ(proj__cache_key(clean_project, &s, key, &err), -ENOENT);
    ASSERT_STR_CONTAINS(err.msg, "/machines/no-such-board.json");
}

/* ---- store and lookup ---- */

static void test_a_miss_builds_the_entry_and_later_lookups_hit_it(void)
{
    char dir[PATH_MAX], other[PATH_MAX], key[17], want[PATH_MAX + 128];
    struct project_record s;
    settings(&s, "echo");
    new_cache("store");
    new_project("store", dir, sizeof dir);
    new_project("store-other", other, sizeof other);
    key_of(dir, &s, false, key);
    char *lib = NULL, *again = NULL, *shared = NULL, *changed = NULL;
    ASSERT_FALSE(lookup_board(dir, &s, &lib)); /* an empty cache: built now */
    snprintf(want, sizeof want, "%s/%s-picolibc-O2-%s/libmtq_board.a", cache_root, BOARD, key);
    ASSERT_STR_EQ(lib, want);
    ASSERT_TRUE(is_archive(lib));
    /* what CMake found out about the compiler is kept for the projects that link the entry */
    char facts[PATH_MAX + 256];
    snprintf(facts, sizeof facts, "%.*s", (int)(strrchr(lib, '/') - lib), lib);
    DIR *d = opendir(facts);
    ASSERT_NOT_NULL_FATAL(d);
    bool has_facts = false;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "cmake-", 6)) {
            char f[PATH_MAX + 600];
            snprintf(f, sizeof f, "%s/%s/CMakeCCompiler.cmake", facts, e->d_name);
            has_facts = fs_exists(f);
        }
    closedir(d);
    ASSERT_TRUE(has_facts);
    ASSERT_EQ(held(HELD_BUILD_DIRS), 0); /* the build directory is gone */

    ASSERT_TRUE(lookup_board(dir, &s, &again));
    ASSERT_STR_EQ(again, lib);
    ASSERT_TRUE(lookup_board(other, &s, &shared)); /* another project, the same sources */
    ASSERT_STR_EQ(shared, lib);
    ASSERT_OK(write_text(other, "firmware/board.c", "int board_part(void);\n"), NULL);
    ASSERT_FALSE(lookup_board(other, &s, &changed)); /* changed sources: an entry of their own */
    ASSERT_STR_NE(changed, lib);
    ASSERT_EQ(held(HELD_ENTRIES), 2);
    free(lib);
    free(again);
    free(shared);
    free(changed);
    ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
    ASSERT_OK(fs_remove_tree(other, NULL), NULL);
}

static void test_the_crt_entry_is_built_once_and_named_apart_from_the_board_layer(void)
{
    char dir[PATH_MAX], key[17], want[PATH_MAX + 128], path[PATH_MAX + 64];
    struct project_record s;
    struct err err = {0};
    settings(&s, "host_driven");
    new_cache("crt");
    new_project("crt-store", dir, sizeof dir);
    key_of(dir, &s, true, key);
    char *lib = NULL, *again = NULL;
    bool hit = true;
    ASSERT_OK_FATAL(proj__cache_crt(dir, &s, -1, false, BUILD_TIMEOUT_S, &lib, &hit, &err), &err);
    ASSERT_FALSE(hit);
    snprintf(want, sizeof want, "%s/crt-%s-picolibc-O2-%s/libmtq_crt.a", cache_root, BOARD, key);
    ASSERT_STR_EQ(lib, want);
    ASSERT_TRUE(is_archive(lib));
    ASSERT_OK_FATAL(proj__cache_crt(dir, &s, -1, false, BUILD_TIMEOUT_S, &again, &hit, &err), &err);
    ASSERT_TRUE(hit);
    ASSERT_STR_EQ(again, lib);
    free(lib);
    free(again);

    /* no CRT to cache: the caller builds the CRT in the project */
    settings(&s, "echo");
    ASSERT_EQ(proj__cache_crt(dir, &s, -1, false, BUILD_TIMEOUT_S, &lib, &hit, &err), ERR_STATE);
    ASSERT_STR_EQ(err.msg, "no CRT to cache: not a host_driven project with crt/");
    settings(&s, "host_driven");
    ASSERT_OK(write_text(dir, "firmware/cmake/host_driven.cmake", "# no switch\n"), NULL);
    ASSERT_EQ(proj__cache_crt(dir, &s, -1, false, BUILD_TIMEOUT_S, &lib, &hit, &err), ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "host_driven.cmake has no MTQ_PREBUILT_CRT_LIB");
    snprintf(path, sizeof path, "%s/crt", dir);
    ASSERT_OK(fs_remove_tree(path, NULL), NULL);
    ASSERT_EQ(proj__cache_crt(dir, &s, -1, false, BUILD_TIMEOUT_S, &lib, &hit, &err), ERR_STATE);
    ASSERT_NULL(lib);
    ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
}

static void test_a_firmware_that_cannot_link_a_prebuilt_board_layer_is_told_so(void)
{
    char dir[PATH_MAX];
    struct project_record s;
    struct err err = {0};
    settings(&s, "echo");
    new_cache("no-switch");
    new_project("no-switch", dir, sizeof dir);
    ASSERT_OK(write_text(dir, "firmware/CMakeLists.txt", "project(old C)\n"), NULL);
    char *lib = NULL;
    bool hit = true;
    ASSERT_EQ(proj__cache_board(dir, &s, -1, false, BUILD_TIMEOUT_S, &lib, &hit, &err), ERR_STATE);
    ASSERT_STR_EQ(err.msg, "firmware/CMakeLists.txt has no MTQ_PREBUILT_BOARD_LIB");
    ASSERT_NULL(lib);
    ASSERT_FALSE(fs_exists(cache_root)); /* asked nothing of the cache */
    ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
}

/* ---- concurrent writers ---- */

/* A writer process: waits until go closes, looks the board layer up, and exits 0 for a miss,
 * 1 for a hit, 2 for a failure; the library's path goes to out. */
static void writer(int go, const char *dir, const char *out)
{
    char c;
    while (read(go, &c, 1) < 0 && errno == EINTR)
        ;
    struct project_record s;
    struct err err = {0};
    char *lib = NULL;
    bool hit = false;
    settings(&s, "echo");
    int rc = proj__cache_board(dir, &s, -1, false, BUILD_TIMEOUT_S, &lib, &hit, &err);
    if (rc < 0 || fs_write_file(out, lib, strlen(lib), NULL) < 0) {
        fprintf(stderr, "writer: %s\n", err.msg);
        _exit(2);
    }
    _exit(hit ? 1 : 0);
}

static void test_concurrent_writers_build_one_entry_and_all_get_it(void)
{
    char dir[PATH_MAX], out[N_WRITERS][PATH_MAX + 32];
    int go[2];
    pid_t pids[N_WRITERS];
    new_cache("concurrent");
    new_project("concurrent", dir, sizeof dir);
    ASSERT_EQ_FATAL(pipe(go), 0);
    ASSERT_EQ(setenv("MTQ_TEST_SLOW_BUILD", "1", 1), 0); /* a build long enough to overlap */
    for (int i = 0; i < N_WRITERS; i++) {
        snprintf(out[i], sizeof out[i], "%s/writer-%d", tmpdir, i);
        pids[i] = fork();
        if (pids[i] == 0) {
            close(go[1]);
            writer(go[0], dir, out[i]);
        }
    }
    close(go[0]);
    close(go[1]); /* all go at once */
    int misses = 0, hits = 0;
    for (int i = 0; i < N_WRITERS; i++) {
        int status = 0;
        ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
        ASSERT_TRUE(WIFEXITED(status));
        misses += WIFEXITED(status) && WEXITSTATUS(status) == 0;
        hits += WIFEXITED(status) && WEXITSTATUS(status) == 1;
    }
    unsetenv("MTQ_TEST_SLOW_BUILD");
    ASSERT_EQ(misses, 1); /* one built it; the others waited for its lock and took its entry */
    ASSERT_EQ(hits, N_WRITERS - 1);
    char *first = NULL;
    ASSERT_OK_FATAL(fs_read_file(out[0], 0, &first, NULL, NULL), NULL);
    for (int i = 1; i < N_WRITERS; i++) {
        char *lib = NULL;
        ASSERT_OK(fs_read_file(out[i], 0, &lib, NULL, NULL), NULL);
        ASSERT_STR_EQ(lib, first);
        free(lib);
        unlink(out[i]);
    }
    ASSERT_TRUE(is_archive(first));
    free(first);
    unlink(out[0]);
    ASSERT_EQ(held(HELD_ENTRIES), 1);
    ASSERT_EQ(held(HELD_BUILD_DIRS), 0);
    ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
}

/* ---- incomplete, broken and leftover entries ---- */

static void test_an_incomplete_or_broken_entry_is_built_again(void)
{
    char dir[PATH_MAX], entry[PATH_MAX], junk[PATH_MAX + 16];
    struct project_record s;
    settings(&s, "echo");
    new_cache("broken");
    new_project("broken", dir, sizeof dir);
    char *lib = NULL, *again = NULL;
    ASSERT_FALSE(lookup_board(dir, &s, &lib));
    snprintf(entry, sizeof entry, "%.*s", (int)(strrchr(lib, '/') - lib), lib);
    snprintf(junk, sizeof junk, "%s/junk", entry);

    static const char *const breakages[] = {"truncated", "not an archive", "a link", "missing"};
    for (size_t i = 0; i < sizeof breakages / sizeof breakages[0]; i++) {
        if (i == 0) {
            ASSERT_EQ(truncate(lib, 4), 0); /* cut inside the archive's magic */
        } else if (i == 1) {
            ASSERT_OK(fs_write_file(lib, "garbage, not an ar file", 23, NULL), NULL);
        } else if (i == 2) { /* an archive, but reached through a link */
            char real[PATH_MAX + 16];
            snprintf(real, sizeof real, "%s/elsewhere.a", tmpdir);
            ASSERT_OK(fs_copy_file(lib, real, NULL), NULL);
            ASSERT_EQ(unlink(lib), 0);
            ASSERT_EQ(symlink(real, lib), 0);
        } else {
            ASSERT_EQ(unlink(lib), 0); /* an entry without its library, a stray file in it */
            ASSERT_OK(fs_write_file(junk, "x", 1, NULL), NULL);
        }
        if (lookup_board(dir, &s, &again))
            TEST_FAIL("the cache took a library that is %s", breakages[i]);
        ASSERT_STR_EQ(again, lib); /* the same entry, made again in place */
        ASSERT_TRUE(is_archive(again));
        free(again);
        again = NULL;
    }
    ASSERT_FALSE(fs_exists(junk)); /* the old entry went as a whole */
    ASSERT_TRUE(lookup_board(dir, &s, &again)); /* and the rebuilt one is a hit again */
    free(again);
    free(lib);
    ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
}

static void test_a_failed_build_leaves_no_entry_and_no_build_directory(void)
{
    char dir[PATH_MAX];
    struct project_record s;
    struct err err = {0};
    settings(&s, "echo");
    new_cache("failed");
    new_project("failed", dir, sizeof dir);
    char *lib = NULL;
    bool hit = true;
    ASSERT_EQ(setenv("MTQ_TEST_BROKEN_BUILD", "1", 1), 0);
    ASSERT_EQ(proj__cache_board(dir, &s, -1, false, BUILD_TIMEOUT_S, &lib, &hit, &err), ERR_TOOL);
    unsetenv("MTQ_TEST_BROKEN_BUILD");
    ASSERT_STR_EQ(err.msg, "cmake for the cached board layer exited with 1");
    ASSERT_NULL(lib);
    ASSERT_FALSE(hit);
    ASSERT_EQ(held(HELD_ENTRIES), 0);
    ASSERT_EQ(held(HELD_BUILD_DIRS), 0);
    ASSERT_EQ(held(HELD_ALL), 1); /* only the entry's lock file */
    /* and the failure poisons nothing: the next build of the same configuration works */
    ASSERT_FALSE(lookup_board(dir, &s, &lib));
    ASSERT_TRUE(is_archive(lib));
    free(lib);
    ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
}

static void test_a_dead_writers_lock_and_build_directory_do_not_stop_the_next(void)
{
    char dir[PATH_MAX], key[17], path[PATH_MAX + 128];
    struct project_record s;
    settings(&s, "echo");
    new_cache("dead-writer");
    new_project("dead-writer", dir, sizeof dir);
    key_of(dir, &s, false, key);
    /* what a writer killed while building leaves: its lock file (the kernel dropped the flock
     * with the process) and its half-made build directory with a broken library in it */
    ASSERT_OK_FATAL(fs_mkdir_p(cache_root, NULL), NULL);
    snprintf(path, sizeof path, "%s/%s-picolibc-O2-%s.lock", cache_root, BOARD, key);
    ASSERT_OK(fs_write_file(path, "", 0, NULL), NULL);
    snprintf(path, sizeof path, "%s/.tmp-%s-picolibc-O2-%s-dead00/out", cache_root, BOARD, key);
    ASSERT_OK(fs_mkdir_p(path, NULL), NULL);
    snprintf(path + strlen(path), sizeof path - strlen(path), "/libmtq_board.a");
    ASSERT_OK(fs_write_file(path, "half", 4, NULL), NULL);
    char *lib = NULL;
    ASSERT_FALSE(lookup_board(dir, &s, &lib));
    ASSERT_TRUE(is_archive(lib));
    ASSERT_EQ(held(HELD_ENTRIES), 1);
    free(lib);
    ASSERT_OK(fs_remove_tree(dir, NULL), NULL);
}

/* ---- where the cache lives ---- */

static void test_the_cache_root_is_mtq_cache_dir_then_xdg_cache_home_then_home(void)
{
    char root[PATH_MAX], *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    char *old_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    struct err err = {0};
    setenv("MTQ_CACHE_DIR", "/c/mtq", 1);
    setenv("XDG_CACHE_HOME", "/c/xdg", 1);
    setenv("HOME", "/c/home", 1);
    ASSERT_OK(proj__cache_root(root, sizeof root, &err), &err);
    ASSERT_STR_EQ(root, "/c/mtq");
    setenv("MTQ_CACHE_DIR", "", 1); /* empty: not set */
    ASSERT_OK(proj__cache_root(root, sizeof root, &err), &err);
    ASSERT_STR_EQ(root, "/c/xdg/microtvm-qemu");
    setenv("XDG_CACHE_HOME", "relative/xdg", 1); /* the XDG rule: a relative one is ignored */
    ASSERT_OK(proj__cache_root(root, sizeof root, &err), &err);
    ASSERT_STR_EQ(root, "/c/home/.cache/microtvm-qemu");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("HOME");
    ASSERT_EQ(proj__cache_root(root, sizeof root, &err), ERR_INVALID);
    ASSERT_STR_EQ(err.msg, "no cache directory: set MTQ_CACHE_DIR or HOME");
    setenv("MTQ_CACHE_DIR", "/a/long/enough/path", 1);
    ASSERT_EQ(proj__cache_root(root, 8, &err), ERR_INVALID);
    ASSERT_STR_EQ(err.msg, "cache directory path too long");
    if (old_home)
        setenv("HOME", old_home, 1);
    if (old_xdg)
        setenv("XDG_CACHE_HOME", old_xdg, 1);
    free(old_home);
    free(old_xdg);
    unsetenv("MTQ_CACHE_DIR");
}

int test_register(void)
{
    if (!spawn_find("cmake", NULL, 0) || !spawn_find("ninja", NULL, 0)) {
        printf("test_cache: skipped: cmake or ninja is not on PATH (scripts/install-deps.sh)\n");
        return TEST_SKIP;
    }
    CU_pSuite s = CU_add_suite("cache", suite_init, suite_clean);
    CU_ADD_TEST(s, test_fnv1a_matches_the_published_test_vectors);
    CU_ADD_TEST(s, test_the_key_is_the_same_for_the_same_sources_wherever_the_project_is);
    CU_ADD_TEST(s, test_the_key_ignores_what_the_board_layer_is_not_made_from);
    CU_ADD_TEST(s, test_the_crt_key_follows_the_crt_and_the_files_that_build_it_only);
    CU_ADD_TEST(s, test_the_key_changes_with_everything_the_compiler_reads);
    CU_ADD_TEST(s, test_a_link_in_the_cached_sources_refuses_the_key_and_the_cache);
    CU_ADD_TEST(s, test_a_missing_compiler_or_machine_file_fails_the_key_naming_it);
    CU_ADD_TEST(s, test_a_miss_builds_the_entry_and_later_lookups_hit_it);
    CU_ADD_TEST(s, test_the_crt_entry_is_built_once_and_named_apart_from_the_board_layer);
    CU_ADD_TEST(s, test_a_firmware_that_cannot_link_a_prebuilt_board_layer_is_told_so);
    CU_ADD_TEST(s, test_concurrent_writers_build_one_entry_and_all_get_it);
    CU_ADD_TEST(s, test_an_incomplete_or_broken_entry_is_built_again);
    CU_ADD_TEST(s, test_a_failed_build_leaves_no_entry_and_no_build_directory);
    CU_ADD_TEST(s, test_a_dead_writers_lock_and_build_directory_do_not_stop_the_next);
    CU_ADD_TEST(s, test_the_cache_root_is_mtq_cache_dir_then_xdg_cache_home_then_home);
    return TEST_RUN;
}
