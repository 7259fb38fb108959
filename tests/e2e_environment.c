/*
 * The environment end to end (docs/RELIABILITY.md has the results): what a user's machine may lack
 * or get wrong, met through the real server as TVM starts it. The cross compiler, CMake or QEMU
 * missing from PATH; a cache directory that cannot be made; a firmware that never prints its
 * banner. Each gives the right JSON-RPC error with a message naming the problem and the fix, the
 * server keeps serving, and nothing is left behind (no QEMU, no runtime directory). Exits 77 when
 * the mps2-an385 toolchain or QEMU is missing here (then there is nothing to take away).
 */
#include "asserts.h"
#include "b85.h"
#include "e2e_rpc.h"
#include "fs.h"
#include "fwbuild.h"
#include "host_marks.h"
#include "qemu_procs.h"
#include "rpc_client.h"
#include "runner.h"
#include "scratch.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BOARD "mps2-an385"
#define BANNER "#microtvm-qemu:echo:" BOARD ":picolibc\n"
#define OPTS "{\"options\":{}}"

/* Suite fixtures: the scratch directory (projects, cache, a private $XDG_RUNTIME_DIR, the
 * filtered PATH directories), an echo project and a silent one, built in suite_init. */
static char workdir[] = "/tmp/mtq-e2e-environment-XXXXXX";
static char rundir[sizeof workdir + 8], cache[sizeof workdir + 8];
static char echo_proj[PATH_MAX], silent_proj[PATH_MAX];
static char *real_path;

/* ---- helpers (the environment) ---- */

/* Makes <workdir>/path-<name>: a directory of symlinks to every program on the real PATH
 * except those whose name starts with one of the prefixes, and sets PATH to it alone. */
static void path_without(const char *name, const char *const *prefixes)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/path-%s", workdir, name);
    ASSERT_EQ_FATAL(fs_mkdir_p(dir, NULL), 0);
    char *copy = strdup(real_path), *save = NULL;
    for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
        DIR *d = opendir(p);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            bool skip = false;
            for (size_t i = 0; prefixes[i] && !skip; i++)
                skip = strncmp(e->d_name, prefixes[i], strlen(prefixes[i])) == 0;
            char from[PATH_MAX + 256], to[PATH_MAX + 256];
            snprintf(from, sizeof from, "%s/%s", p, e->d_name);
            snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
            if (!skip)
                (void)symlink(from, to); /* the first on PATH wins, as for a shell */
        }
        if (d)
            closedir(d);
    }
    free(copy);
    setenv("PATH", dir, 1);
}

static void path_restore(void)
{
    setenv("PATH", real_path, 1);
}

static void still_serving(struct rpc_client *c)
{
    ASSERT_TRUE(e2e_call_ok(c, "server_info_query", "{\"tvm_version\":\"0.18.0\"}"));
}

static void assert_nothing_left(void)
{
    ASSERT_EQ(qemu_procs_children(getpid()), 0);
    ASSERT_EQ(host_marks_entries(rundir), 0);
}

/* ---- tests ---- */

static void test_a_missing_cross_compiler_is_named_with_the_fix(void)
{
    static const char *const gone[] = {"arm-none-eabi-", NULL};
    path_without("nocc", gone);
    struct rpc_client c;
    bool up = e2e_spawn(&c, echo_proj);
    path_restore();
    ASSERT_TRUE_FATAL(up);
    e2e_call_fails(&c, "build", OPTS, "calling method build",
               "arm-none-eabi-gcc not found in PATH (the board's cross compiler); run "
               "scripts/install-deps.sh");
    still_serving(&c);
    ASSERT_TRUE(e2e_close_server(&c));
    assert_nothing_left();
}

static void test_missing_cmake_is_named_with_the_fix(void)
{
    static const char *const gone[] = {"cmake", NULL};
    path_without("nocmake", gone);
    struct rpc_client c;
    bool up = e2e_spawn(&c, echo_proj);
    path_restore();
    ASSERT_TRUE_FATAL(up);
    e2e_call_fails(&c, "build", OPTS, "calling method build",
               "cmake not found in PATH; run scripts/install-deps.sh");
    still_serving(&c);
    ASSERT_TRUE(e2e_close_server(&c));
    assert_nothing_left();
}

static void test_missing_qemu_is_named_with_the_fix_and_starts_nothing(void)
{
    static const char *const gone[] = {"qemu-system-", NULL};
    path_without("noqemu", gone);
    struct rpc_client c;
    bool up = e2e_spawn(&c, echo_proj);
    path_restore();
    ASSERT_TRUE_FATAL(up);
    e2e_call_fails(&c, "flash", OPTS, "calling method flash", "qemu-system-arm not found on PATH");
    cJSON *reply = e2e_call(&c, "open_transport", OPTS);
    ASSERT_STR_CONTAINS(e2e_traceback_of(reply), "qemu-system-arm");
    fprintf(stderr, "\n    %s", e2e_traceback_of(reply));
    cJSON_Delete(reply);
    still_serving(&c);
    ASSERT_TRUE(e2e_close_server(&c));
    assert_nothing_left();
}

/* A cache directory that cannot be created (below a regular file: as root, permissions would
 * not stop us) costs speed, not the build: the board layer is built in the project. */
static void test_a_cache_directory_that_cannot_be_made_does_not_fail_the_build(void)
{
    char file[PATH_MAX], bad[PATH_MAX + 16];
    snprintf(file, sizeof file, "%s/a-file", workdir);
    ASSERT_EQ_FATAL(fs_write_file(file, "x", 1, NULL), 0);
    snprintf(bad, sizeof bad, "%s/cache", file);
    setenv("MTQ_CACHE_DIR", bad, 1);
    struct rpc_client c;
    bool up = e2e_spawn(&c, echo_proj);
    setenv("MTQ_CACHE_DIR", cache, 1);
    ASSERT_TRUE_FATAL(up);
    char src[PATH_MAX + 32];
    snprintf(src, sizeof src, "%s/project.cmake", echo_proj); /* force a fresh configure */
    ASSERT_EQ(utimensat(AT_FDCWD, src, NULL, 0), 0);
    ASSERT_TRUE(e2e_call_ok(&c, "build", OPTS));
    ASSERT_TRUE(e2e_call_ok(&c, "flash", OPTS) && e2e_call_ok(&c, "open_transport", OPTS));
    ASSERT_TRUE(e2e_banner_first(&c, BANNER));
    ASSERT_TRUE(e2e_echo_random(&c, 64));
    ASSERT_TRUE(e2e_close_server(&c));
    unlink(file);
    assert_nothing_left();
}

static void test_a_firmware_that_never_prints_fails_open_in_time_and_stops_qemu(void)
{
    struct rpc_client c;
    ASSERT_TRUE_FATAL(e2e_spawn(&c, silent_proj));
    ASSERT_TRUE_FATAL(e2e_call_ok(&c, "flash", OPTS));
    double t0 = mono_now_s();
    cJSON *reply = e2e_call(&c, "open_transport", OPTS);
    double took = mono_now_s() - t0;
    ASSERT_STR_EQ(e2e_message_of(reply), "calling method open_transport");
    ASSERT_STR_CONTAINS(e2e_traceback_of(reply), "the firmware printed no banner within "
                        "10 s (0 bytes came); is build/firmware.elf made for " BOARD);
    fprintf(stderr, "\n    open_transport gave up after %.2f s", took);
    ASSERT_TRUE(took >= 10.0 && took < 30.0);
    cJSON_Delete(reply);
    ASSERT_EQ(qemu_procs_children(c.pid), 0); /* stopped at once, not at EOF */
    e2e_call_fails(&c, "read_transport", "{\"n\":8,\"timeout_sec\":0}", "TransportClosedError",
                   NULL);
    still_serving(&c);
    ASSERT_TRUE(e2e_close_server(&c));
    assert_nothing_left();
}

/* ---- setup ---- */

static int make_project(const char *name, const char *app, char *proj, size_t projsz)
{
    snprintf(proj, projsz, "%s/%s", workdir, name);
    return e2e_make_echo_project(proj, BOARD, app);
}

static int suite_init(void)
{
    if (scratch_make(workdir, rundir, sizeof rundir, cache, sizeof cache) < 0)
        return -1;
    if (make_project("echo", NULL, echo_proj, sizeof echo_proj) < 0 ||
        make_project("silent", "silent.c", silent_proj, sizeof silent_proj) < 0)
        return -1;
    return 0;
}

static int suite_clean(void)
{
    return fs_remove_tree(workdir, NULL);
}

static int free_real_path(void)
{
    free(real_path);
    return 0;
}

int test_register(void)
{
    char why[512];
    if (!fs_exists(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh")) {
        printf("e2e_environment: skipped: no template at %s (build the template_project "
               "target)\n", MTQ_TEMPLATE_DIR);
        return TEST_SKIP;
    }
    if (!fwbuild_available(BOARD, why, sizeof why) || !fwbuild_on_path("qemu-system-arm")) {
        printf("e2e_environment: skipped: %s\n", fwbuild_on_path("qemu-system-arm")
                                                     ? why : "qemu-system-arm is not on PATH");
        return TEST_SKIP;
    }
    const char *path = getenv("PATH");
    real_path = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    test_at_end(free_real_path);
    CU_pSuite s = CU_add_suite("e2e_environment", suite_init, suite_clean);
    CU_ADD_TEST(s, test_a_missing_cross_compiler_is_named_with_the_fix);
    CU_ADD_TEST(s, test_missing_cmake_is_named_with_the_fix);
    CU_ADD_TEST(s, test_missing_qemu_is_named_with_the_fix_and_starts_nothing);
    CU_ADD_TEST(s, test_a_cache_directory_that_cannot_be_made_does_not_fail_the_build);
    CU_ADD_TEST(s, test_a_firmware_that_never_prints_fails_open_in_time_and_stops_qemu);
    return TEST_RUN;
}
