/*
 * End to end: generate_project then build with the real cross toolchains, CMake and Ninja:
 * the digits fixture as aot_standalone on mps2-an385 and riscv32-virt, a compiler error coming
 * back with its command and lines, a no-op second build, a model-only rebuild, and the board
 * layer reused from the cache by a second project. The cache lives in the test's temporary
 * directory (MTQ_CACHE_DIR), never in the user's ~/.cache.
 */
#include "project_internal.h"

#include "asserts.h"
#include "fs.h"
#include "mlf.h"
#include "runner.h"
#include "spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];
static char cache[128];
static char digits_tar[PATH_MAX];

static int suite_init(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/e2e_build.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(cache, sizeof cache, "%s/cache", tmpdir);
    setenv("MTQ_CACHE_DIR", cache, 1);
    char fixture[PATH_MAX];
    snprintf(digits_tar, sizeof digits_tar, "%s/digits.tar", tmpdir);
    if (mlf_fixture_path("digits_int8", fixture, sizeof fixture, NULL) < 0 ||
        mlf_make_tar(fixture, digits_tar, NULL) < 0)
        return -1;
    return 0;
}

static int suite_clean(void)
{
    return fs_remove_tree(tmpdir, NULL);
}

static int generate(const char *name, const char *board, char *dir, size_t dirsz)
{
    snprintf(dir, dirsz, "%s/%s", tmpdir, name);
    char json[256];
    snprintf(json, sizeof json, "{\"project_type\": \"aot_standalone\", \"board\": \"%s\"}",
             board);
    cJSON *o = cJSON_Parse(json);
    struct err err = {0};
    int rc = proj_generate(MTQ_TEMPLATE_DIR, digits_tar, "", dir, o, &err);
    if (rc < 0)
        fprintf(stderr, "\ngenerate %s: %s\n", name, err.msg);
    cJSON_Delete(o);
    return rc;
}

static int build(const char *dir, struct proj_sizes *sizes)
{
    struct err err = {0};
    int rc = proj__build(dir, false, 0, sizes, &err);
    if (rc < 0)
        fprintf(stderr, "\nbuild %s: %s\n%s\n", dir, err.msg, err.detail);
    return rc;
}

static char *slurp(const char *dir, const char *rel)
{
    char p[PATH_MAX * 2], *text = NULL;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    if (fs_read_file(p, 0, &text, NULL, NULL) < 0)
        return NULL;
    return text;
}

/* How many lines of text contain needle. */
static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *hit = strstr(line, needle);
        if (hit && hit < line + len)
            n++;
        line = end ? end + 1 : NULL;
    }
    return n;
}

static struct timespec mtime_of(const char *dir, const char *rel)
{
    char p[PATH_MAX * 2];
    struct stat st = {0};
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    stat(p, &st);
    return st.st_mtim;
}

static int cache_entries(void)
{
    DIR *d = opendir(cache);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && !strstr(e->d_name, ".lock"))
            n++;
    if (d)
        closedir(d);
    return n;
}

static char an385[PATH_MAX];

static void test_build_makes_firmware_for_digits_on_mps2_an385(void)
{
    ASSERT_EQ_FATAL(generate("an385", "mps2-an385", an385, sizeof an385), 0);
    struct proj_sizes z = {0};
    ASSERT_EQ_FATAL(build(an385, &z), 0);
    ASSERT_TRUE(fs_exists(an385) && z.text > 1000);
    char *sizes = slurp(an385, "build/sizes.json");
    cJSON *j = sizes ? cJSON_Parse(sizes) : NULL;
    ASSERT_NOT_NULL_FATAL(j);
    ASSERT_EQ(cJSON_GetObjectItem(j, "text")->valuedouble, (double)z.text);
    ASSERT_EQ(cJSON_GetObjectItem(j, "bss")->valuedouble, (double)z.bss);
    cJSON_Delete(j);
    free(sizes);
    char *log = slurp(an385, "build/build.log");
    ASSERT_TRUE(log && strstr(log, "firmware.elf"));
    free(log);
    ASSERT_EQ(cache_entries(), 1); /* the board layer went into the cache */
}

static void test_build_makes_firmware_for_digits_on_riscv32_virt(void)
{
    char dir[PATH_MAX];
    ASSERT_EQ_FATAL(generate("rv32", "riscv32-virt", dir, sizeof dir), 0);
    struct proj_sizes z = {0};
    ASSERT_EQ_FATAL(build(dir, &z), 0);
    ASSERT_GT(z.text, 1000);
    ASSERT_EQ(cache_entries(), 2); /* a second board, a second entry */
}

static void test_second_build_of_an_unchanged_project_does_nothing(void)
{
    ASSERT_TRUE_FATAL(fs_exists(an385));
    struct timespec elf = mtime_of(an385, "build/firmware.elf");
    struct timespec ninja = mtime_of(an385, "build/build.ninja");
    ASSERT_EQ_FATAL(build(an385, NULL), 0);
    struct timespec elf2 = mtime_of(an385, "build/firmware.elf");
    struct timespec ninja2 = mtime_of(an385, "build/build.ninja");
    ASSERT_TRUE(elf.tv_sec == elf2.tv_sec && elf.tv_nsec == elf2.tv_nsec);
    ASSERT_TRUE(ninja.tv_sec == ninja2.tv_sec && ninja.tv_nsec == ninja2.tv_nsec); /* no cmake */
    char *log = slurp(an385, "build/build.log");
    ASSERT_TRUE(log && strstr(log, "no work to do"));
    ASSERT_NULL(log ? strstr(log, "Configuring") : "");
    free(log);
}

static void test_touching_a_model_source_rebuilds_only_the_model(void)
{
    ASSERT_TRUE_FATAL(fs_exists(an385));
    char src[PATH_MAX * 2];
    snprintf(src, sizeof src, "%s/model/codegen/host/src/default_lib1.c", an385);
    ASSERT_EQ_FATAL(utimensat(AT_FDCWD, src, NULL, 0), 0);
    ASSERT_EQ_FATAL(build(an385, NULL), 0);
    char *log = slurp(an385, "build/build.log");
    ASSERT_NOT_NULL_FATAL(log);
    ASSERT_EQ(count_lines(log, "Building C object"), 1);
    ASSERT_EQ(count_lines(log, "default_lib1.c"), 1);
    ASSERT_EQ(count_lines(log, "Linking C executable"), 1);
    ASSERT_STR_NOT_CONTAINS(log, "Configuring");
    free(log);
}

static void test_a_second_project_reuses_the_cached_board_layer(void)
{
    char dir[PATH_MAX];
    ASSERT_EQ_FATAL(generate("an385b", "mps2-an385", dir, sizeof dir), 0);
    int before = cache_entries();
    ASSERT_EQ_FATAL(build(dir, NULL), 0);
    ASSERT_EQ(cache_entries(), before);
    char *log = slurp(dir, "build/build.log");
    ASSERT_NOT_NULL_FATAL(log);
    /* the board's start-up and UART driver were not compiled again */
    ASSERT_EQ(count_lines(log, "startup.c"), 0);
    ASSERT_EQ(count_lines(log, "cmsdk_apb.c"), 0);
    ASSERT_GE(count_lines(log, "default_lib0.c"), 1);
    free(log);
}

static void test_an_edited_project_cmake_makes_build_configure_again(void)
{
    ASSERT_TRUE_FATAL(fs_exists(an385));
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/project.cmake", an385);
    ASSERT_EQ_FATAL(utimensat(AT_FDCWD, path, NULL, 0), 0);
    ASSERT_EQ_FATAL(build(an385, NULL), 0);
    char *log = slurp(an385, "build/build.log");
    ASSERT_TRUE(log && strstr(log, "Configuring done"));
    ASSERT_EQ(log ? count_lines(log, "Building C object") : -1, 0); /* nothing changed */
    free(log);
}

/* `tvmc micro build --project-option opt_level=0`: the option given at build reconfigures and
 * recompiles at -O0 (it used to be accepted and ignored); giving back 2 returns. */
static void test_opt_level_given_at_build_rebuilds_at_that_level(void)
{
    ASSERT_TRUE_FATAL(fs_exists(an385));
    const char *levels[] = {"{\"opt_level\": \"0\"}", "{\"opt_level\": \"2\"}"};
    const char *flags[] = {"-O0", "-O2"};
    for (int i = 0; i < 2; i++) {
        cJSON *o = cJSON_Parse(levels[i]);
        struct err err = {0};
        ASSERT_OK(proj__apply_build_options(an385, o, &err), &err);
        cJSON_Delete(o);
        ASSERT_EQ_FATAL(build(an385, NULL), 0);
        char *log = slurp(an385, "build/build.log");
        ASSERT_TRUE(log && strstr(log, "Configuring done"));
        ASSERT_TRUE(log && count_lines(log, "Building C object") > 0);
        free(log);
        char *ninja = slurp(an385, "build/build.ninja");
        ASSERT_NOT_NULL(ninja ? strstr(ninja, flags[i]) : NULL);
        ASSERT_NULL(ninja ? strstr(ninja, flags[1 - i]) : "");
        free(ninja);
    }
}

/* Writes text to dir/rel, making the directories on the way. */
static void put_file(const char *dir, const char *rel, const char *text)
{
    char path[PATH_MAX * 2], parent[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    snprintf(parent, sizeof parent, "%s", path);
    *strrchr(parent, '/') = '\0';
    ASSERT_EQ_FATAL(fs_mkdir_p(parent, NULL), 0);
    ASSERT_EQ_FATAL(fs_write_file(path, text, strlen(text), NULL), 0);
}

/* Generates an echo project on mps2-an385 in dir with more options (JSON members, with a
 * leading comma) and builds it; fails the test when either fails. */
static void generate_and_build_echo(const char *dir, const char *more)
{
    char json[PATH_MAX * 3];
    snprintf(json, sizeof json, "{\"project_type\": \"echo\", \"board\": \"mps2-an385\"%s}",
             more);
    cJSON *o = cJSON_Parse(json);
    struct err err = {0};
    int rc = proj_generate(MTQ_TEMPLATE_DIR, "", "", dir, o, &err);
    cJSON_Delete(o);
    if (rc < 0)
        fprintf(stderr, "\ngenerate: %s\n", err.msg);
    ASSERT_EQ_FATAL(rc, 0);
    ASSERT_EQ_FATAL(build(dir, NULL), 0);
}

/* extra_files_tar as TVM's Zephyr and Arduino templates take it: include/ on the include path,
 * every source under src/ (nested too) compiled and linked into the firmware. */
static void test_extra_files_include_and_src_are_compiled_into_the_firmware(void)
{
    char files[PATH_MAX], tar[PATH_MAX], dir[PATH_MAX], json[PATH_MAX * 2];
    snprintf(files, sizeof files, "%s/extra-files", tmpdir);
    put_file(files, "include/mtq_probe.h", "int mtq_probe(void);\nint mtq_probe_deep(void);\n");
    put_file(files, "src/probe.c", "#include \"mtq_probe.h\"\n"
                                   "int mtq_probe(void) { return mtq_probe_deep() + 1; }\n");
    put_file(files, "src/sub/deep.c", "#include <mtq_probe.h>\n"
                                      "int mtq_probe_deep(void) { return 41; }\n");
    /* the tar writer wants a metadata.json; a data file at the top is allowed (a new name) */
    put_file(files, "metadata.json", "{}\n");
    snprintf(tar, sizeof tar, "%s/extra-files.tar", tmpdir);
    struct err terr = {0};
    if (mlf_make_tar(files, tar, &terr) < 0)
        fprintf(stderr, "\nmlf_make_tar: %s\n", terr.msg);
    ASSERT_EQ_FATAL(terr.code, 0);
    snprintf(dir, sizeof dir, "%s/extra", tmpdir);
    snprintf(json, sizeof json, ", \"extra_files_tar\": \"%s\"", tar);
    generate_and_build_echo(dir, json);
    char *log = slurp(dir, "build/build.log");
    ASSERT_TRUE(log && count_lines(log, "src/probe.c") > 0 &&
                count_lines(log, "src/sub/deep.c") > 0);
    free(log);
    /* compiled with the project's include/ on the path (the build would fail without it) */
    char *ninja = slurp(dir, "build/build.ninja");
    char inc[PATH_MAX * 2];
    snprintf(inc, sizeof inc, "-I%s/include", dir);
    ASSERT_NOT_NULL(ninja ? strstr(ninja, inc) : NULL);
    free(ninja);
}

/* TEST DOUBLE, not CMSIS: a fake CMSIS-NN of one int8 kernel with a known result, laid out at
 * root/<nn> (Include/arm_nnfunctions.h, Source/<group>/<kernel>.c), plus a float kernel that
 * must be left out (it does not compile) and, for CMSIS_5, the Core include directory. */
static void fake_cmsis(const char *root, const char *nn)
{
    char rel[256];
    snprintf(rel, sizeof rel, "%s/Include/arm_nnfunctions.h", nn);
    put_file(root, rel, "/* test double of CMSIS-NN */\n#include <stdint.h>\n"
                        "int32_t arm_fake_add_s8(int8_t a, int8_t b);\n");
    snprintf(rel, sizeof rel, "%s/Source/BasicMathFunctions/arm_fake_add_s8.c", nn);
    put_file(root, rel, "#include \"arm_nnfunctions.h\"\n#include \"cmsis_fake_core.h\"\n"
                        "int32_t arm_fake_add_s8(int8_t a, int8_t b)\n"
                        "{ return a + b + FAKE_ONE; }\n");
    snprintf(rel, sizeof rel, "%s/Source/BasicMathFunctions/arm_fake_add_f32.c", nn);
    put_file(root, rel, "#error float kernels are left out\n");
    /* a Core header where the layout keeps it (CMSIS_5), else beside the NN headers */
    snprintf(rel, sizeof rel, "%s/cmsis_fake_core.h",
             strcmp(nn, "CMSIS/NN") == 0 ? "CMSIS/Core/Include" : "Include");
    put_file(root, rel, "#define FAKE_ONE 1\n");
}

/* cmsis_path with CMSIS-NN in either layout: detected, its int8 sources compiled into
 * libmtq_cmsis_nn.a, and linked: the archive member is pulled in for a caller in src/. */
static void test_cmsis_path_compiles_and_links_cmsis_nn_in_both_layouts(void)
{
    static const char *const layouts[] = {".", "CMSIS/NN"};
    for (size_t i = 0; i < 2; i++) {
        char root[PATH_MAX], files[PATH_MAX], tar[PATH_MAX], dir[PATH_MAX], json[PATH_MAX * 3];
        snprintf(root, sizeof root, "%s/fake-cmsis-%zu", tmpdir, i);
        fake_cmsis(root, layouts[i]);
        snprintf(files, sizeof files, "%s/cmsis-caller-%zu", tmpdir, i);
        put_file(files, "src/caller.c", "#include \"arm_nnfunctions.h\"\n"
                                        "int32_t mtq_call(void)\n"
                                        "{ return arm_fake_add_s8(2, 3); }\n");
        put_file(files, "metadata.json", "{}\n"); /* the tar writer wants one */
        snprintf(tar, sizeof tar, "%s/cmsis-caller-%zu.tar", tmpdir, i);
        ASSERT_EQ_FATAL(mlf_make_tar(files, tar, NULL), 0);
        snprintf(dir, sizeof dir, "%s/cmsis-%zu", tmpdir, i);
        snprintf(json, sizeof json, ", \"cmsis_path\": \"%s\", \"extra_files_tar\": \"%s\"",
                 root, tar);
        generate_and_build_echo(dir, json);
        char *log = slurp(dir, "build/build.log"), want[PATH_MAX + 64], real[PATH_MAX];
        ASSERT_NOT_NULL_FATAL(realpath(root, real));
        snprintf(want, sizeof want, "CMSIS-NN: 1 sources from %s%s%s", real,
                 i ? "/" : "", i ? layouts[i] : "");
        ASSERT_NOT_NULL(log ? strstr(log, want) : NULL);
        if (log && !strstr(log, want))
            fprintf(stderr, "\nwant \"%s\" in the build log\n", want);
        ASSERT_TRUE(log && count_lines(log, "arm_fake_add_s8.c") > 0);
        ASSERT_TRUE(log && count_lines(log, "arm_fake_add_f32.c") == 0);
        free(log);
        char *map = slurp(dir, "build/firmware.map");
        const char *member = "libmtq_cmsis_nn.a(arm_fake_add_s8.c.obj)";
        ASSERT_NOT_NULL(map ? strstr(map, member) : NULL);
        free(map);
    }
}

static void test_an_unwritable_cache_does_not_fail_the_build(void)
{
    char dir[PATH_MAX], bad[PATH_MAX + 16];
    ASSERT_EQ_FATAL(generate("nocache", "mps2-an385", dir, sizeof dir), 0);
    snprintf(bad, sizeof bad, "%s/cache-is-a-file", digits_tar); /* under a regular file */
    setenv("MTQ_CACHE_DIR", bad, 1);
    int rc = build(dir, NULL);
    setenv("MTQ_CACHE_DIR", cache, 1);
    ASSERT_EQ(rc, 0);
    char *log = slurp(dir, "build/build.log");
    ASSERT_NOT_NULL(log);
    ASSERT_TRUE(log && count_lines(log, "startup.c") == 1); /* the board layer built in place */
    free(log);
}

static void test_a_compile_error_comes_back_with_its_command_and_lines(void)
{
    char dir[PATH_MAX];
    ASSERT_EQ_FATAL(generate("broken", "mps2-an385", dir, sizeof dir), 0);
    char src[PATH_MAX * 2];
    snprintf(src, sizeof src, "%s/model/codegen/host/src/default_lib0.c", dir);
    int fd = open(src, O_WRONLY | O_APPEND);
    ASSERT_GE_FATAL(fd, 0);
    const char bad[] = "\nthis_is_not_c injected_error;\n";
    ASSERT_EQ(write(fd, bad, sizeof bad - 1), (ssize_t)(sizeof bad - 1));
    close(fd);
    struct err err = {0};
    ASSERT_EQ(proj__build(dir, false, 0, NULL, &err), ERR_TOOL);
    ASSERT_STR_CONTAINS(err.msg, "firmware build failed: ");
    ASSERT_STR_CONTAINS(err.msg, "default_lib0.c");
    ASSERT_STR_CONTAINS(err.msg, "error");
    ASSERT_STR_CONTAINS(err.detail, "command: ");
    ASSERT_STR_CONTAINS(err.detail, "arm-none-eabi-gcc");
    ASSERT_STR_CONTAINS(err.detail, "this_is_not_c");
    ASSERT_STR_NOT_CONTAINS(err.msg, "\n");
}

static void test_a_missing_tool_is_named_with_the_fix(void)
{
    ASSERT_TRUE_FATAL(fs_exists(an385));
    char *path = strdup(getenv("PATH"));
    char empty[128];
    snprintf(empty, sizeof empty, "%s/empty-path", tmpdir);
    fs_mkdir_p(empty, NULL);
    setenv("PATH", empty, 1);
    struct err err = {0};
    int rc = proj__build(an385, false, 0, NULL, &err);
    setenv("PATH", path, 1);
    free(path);
    ASSERT_EQ(rc, ERR_TOOL);
    ASSERT_STR_EQ(err.msg, "cmake not found in PATH; run scripts/install-deps.sh");
}

static void test_build_refuses_a_directory_that_is_not_a_project(void)
{
    struct err err = {0};
    ASSERT_EQ(proj__build(tmpdir, false, 0, NULL, &err), ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "not a generated project");
}

int test_register(void)
{
    const char *tools[] = {"cmake", "ninja", "arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"};
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        if (!spawn_find(tools[i], NULL, 0)) {
            printf("skipping: %s is not installed (scripts/install-deps.sh)\n", tools[i]);
            return TEST_SKIP;
        }
    if (!fs_exists(MTQ_TEMPLATE_DIR "/firmware/CMakeLists.txt")) {
        printf("skipping: no template at %s (build the template_project target)\n",
               MTQ_TEMPLATE_DIR);
        return TEST_SKIP;
    }
    CU_pSuite s = CU_add_suite("e2e_build", suite_init, suite_clean);
    CU_ADD_TEST(s, test_build_makes_firmware_for_digits_on_mps2_an385);
    CU_ADD_TEST(s, test_build_makes_firmware_for_digits_on_riscv32_virt);
    CU_ADD_TEST(s, test_second_build_of_an_unchanged_project_does_nothing);
    CU_ADD_TEST(s, test_touching_a_model_source_rebuilds_only_the_model);
    CU_ADD_TEST(s, test_a_second_project_reuses_the_cached_board_layer);
    CU_ADD_TEST(s, test_an_edited_project_cmake_makes_build_configure_again);
    CU_ADD_TEST(s, test_opt_level_given_at_build_rebuilds_at_that_level);
    CU_ADD_TEST(s, test_extra_files_include_and_src_are_compiled_into_the_firmware);
    CU_ADD_TEST(s, test_cmsis_path_compiles_and_links_cmsis_nn_in_both_layouts);
    CU_ADD_TEST(s, test_an_unwritable_cache_does_not_fail_the_build);
    CU_ADD_TEST(s, test_a_compile_error_comes_back_with_its_command_and_lines);
    CU_ADD_TEST(s, test_a_missing_tool_is_named_with_the_fix);
    CU_ADD_TEST(s, test_build_refuses_a_directory_that_is_not_a_project);
    return TEST_RUN;
}
