/*
 * End-to-end tests of the host_driven firmware (firmware/apps/host_driven.c, firmware/platform/)
 * in QEMU: build it, boot it, read the banner, run the microTVM session handshake
 * (StartSessionInit -> StartSessionReply, tests/support/utvm_rpc.h), reset the board and check
 * that the device's nonce changed (TVM tells a device reset from the nonce).
 * (a) always: with the fake CRT (tests/fixtures/fake_crt), which also self-checks our platform
 *     functions on the board, on mps2-an385 and riscv32-virt.
 * (b) with MTQ_STANDALONE_CRT=<TVM's standalone_crt>: the same with TVM's real CRT, built from a
 *     project laid out by hand as generate_project lays it out (crt/ copied, an empty model/).
 * Exits 77 when no board can run here, saying why.
 */
#include "emu.h"
#include "fs.h"
#include "fwbuild.h"
#include "machine.h"
#include "qemu_procs.h"
#include "utvm_rpc.h"

#include <CUnit/Basic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_BOARDS 2
static const char *const BOARD_NAMES[N_BOARDS] = {"mps2-an385", "riscv32-virt"};
#define BANNER_TIMEOUT_MS 10000
#define HANDSHAKE_TIMEOUT_MS 10000
#define SEED 0x5eed0123456789abull /* fixed: a run is reproducible under icount */

struct board {
    const char *name;
    bool usable;
    char why[512];
    struct machine m;
    char fake_elf[PATH_MAX];
    char real_elf[PATH_MAX]; /* "" without MTQ_STANDALONE_CRT */
};

/* File-static fixtures, as CUnit suites take no arguments: the boards, the scratch directory,
 * the image under test, and the running board (stopped by the suite cleanup after a fatal
 * assert). */
static struct board boards[N_BOARDS];
static char workdir[] = "/tmp/mtq-e2e-hd-XXXXXX";
static char rundir[sizeof workdir + 8];
static const char *standalone_crt;
static struct board *cur;
static const char *cur_elf;
static bool cur_fake;
static struct emu *live;

static void report(const char *what, const struct err *err)
{
    fprintf(stderr, "\n    %s: %s (code %d)\n", what, err->msg, err->code);
    if (err->detail[0])
        fprintf(stderr, "    --- detail ---\n%s\n    --------------\n", err->detail);
}

#define OK(call)                                                                                  \
    do {                                                                                          \
        int rc_ = (int)(call);                                                                    \
        if (rc_ < 0)                                                                              \
            report(#call, &err);                                                                  \
        CU_ASSERT_FATAL(rc_ >= 0);                                                                \
    } while (0)

static ssize_t io_read(void *ctx, void *buf, size_t cap, int timeout_ms, struct err *err)
{
    return emu_read(ctx, buf, cap, timeout_ms, err);
}

static int io_write(void *ctx, const void *data, size_t n, int timeout_ms, struct err *err)
{
    return emu_write(ctx, data, n, NULL, timeout_ms, err);
}

/* Reads the banner (which also wakes QEMU) and checks it names host_driven and this board. */
static void expect_banner(struct emu *e)
{
    struct err err = {0};
    char banner[256], want[256];
    size_t got = 0;
    OK(emu_wait_banner(e, banner, sizeof banner - 1, &got, BANNER_TIMEOUT_MS, &err));
    banner[got] = '\0';
    snprintf(want, sizeof want, "#microtvm-qemu:host_driven:%s:picolibc\n", cur->name);
    CU_ASSERT_STRING_EQUAL(banner, want);
}

static void handshake(struct emu *e, uint8_t nonce, struct utvm_handshake_result *r)
{
    struct err err = {0};
    struct utvm_io io = {io_read, io_write, e};
    OK(utvm_handshake(&io, nonce, HANDSHAKE_TIMEOUT_MS, r, &err));
    CU_ASSERT_EQUAL(r->session_id & 0xff, nonce);
    CU_ASSERT_NOT_EQUAL(r->responder_nonce, 0);
    CU_ASSERT_EQUAL(r->n_dropped, 0);
    /* both CRTs announce a fresh start with TerminateSession before anything else */
    CU_ASSERT_EQUAL(r->n_terminate, 1);
    if (cur_fake)
        CU_ASSERT_EQUAL(r->n_log, 1); /* the platform self-check passed and said so */
}

static void test_board_answers_the_handshake_and_another_nonce_after_a_reset(void)
{
    struct err err = {0};
    struct emu_config cfg;
    struct utvm_handshake_result first, second;
    char log_path[PATH_MAX];

    CU_ASSERT_FATAL(cur_elf && cur_elf[0]);
    emu_config_init(&cfg);
    snprintf(log_path, sizeof log_path, "%s/%s-%s.qemu.log", workdir, cur->name,
             cur_fake ? "fake" : "real");
    cfg.machine = &cur->m;
    cfg.image = cur_elf;
    cfg.log_path = log_path;
    cfg.fixed_seed = true;
    cfg.seed = SEED;
    live = emu_start(&cfg, &err);
    if (!live)
        report("emu_start", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(live);
    OK(emu_run(live, &err));

    expect_banner(live);
    handshake(live, 0x5a, &first);

    OK(emu_reset(live, &err));
    expect_banner(live);
    handshake(live, 0x33, &second);
    printf("\n    %s (%s CRT): responder nonce 0x%02x, after reset 0x%02x ", cur->name,
           cur_fake ? "fake" : "real", first.responder_nonce, second.responder_nonce);
    CU_ASSERT_NOT_EQUAL(first.responder_nonce, second.responder_nonce);
    CU_ASSERT(emu_is_running(live)); /* no abort along the way */

    emu_free(live);
    live = NULL;
}

static void test_host_driven_without_a_crt_fails_to_configure_with_the_fix(void)
{
    struct err err = {0};
    char dir[PATH_MAX], elf[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/no-crt", workdir);
    CU_ASSERT_EQUAL(fwbuild_build(cur->name, "host_driven", "picolibc", dir, NULL, elf,
                                  sizeof elf, &err), ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "MTQ_CRT_DIR is not set"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "pass standalone_crt_dir to generate_project"));

    const char *bogus[] = {"MTQ_CRT_DIR=" MTQ_SOURCE_DIR "/firmware", NULL};
    CU_ASSERT_EQUAL(fwbuild_build(cur->name, "host_driven", "picolibc", dir, bogus, elf,
                                  sizeof elf, &err), ERR_TOOL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.detail, "has no include/tvm/runtime/crt"));
}

/* ---- building ---- */

/* Lays out a project as generate_project does (CONTRACTS.md), with TVM's CRT in crt/ and an
 * empty model/, and builds it by hand with cmake and ninja, as a person would. */
static int build_real_project(struct board *b, struct err *err)
{
    /* short enough that every path made from it fits PATH_MAX (workdir is a few bytes) */
    char proj[1024], path[PATH_MAX], build[2048], log[PATH_MAX], text[1024];
    snprintf(proj, sizeof proj, "%s/proj-%s", workdir, b->name);
    snprintf(log, sizeof log, "%s/proj-%s.log", workdir, b->name);
    int rc = fs_mkdir_p(proj, err);
    if (rc < 0)
        return rc;
    snprintf(path, sizeof path, "%s/firmware", proj);
    if ((rc = fs_copy_tree(MTQ_SOURCE_DIR "/firmware", path, err)) < 0)
        return rc;
    snprintf(path, sizeof path, "%s/CMakeLists.txt", proj);
    if ((rc = fs_copy_file(MTQ_SOURCE_DIR "/firmware/project/CMakeLists.txt", path, err)) < 0)
        return rc;
    snprintf(path, sizeof path, "%s/machines", proj);
    if ((rc = fs_mkdir_p(path, err)) < 0)
        return rc;
    snprintf(path, sizeof path, "%s/machines/%s.json", proj, b->name);
    if ((rc = fs_copy_file(b->m.path, path, err)) < 0)
        return rc;
    snprintf(path, sizeof path, "%s/crt", proj);
    if ((rc = fs_copy_tree(standalone_crt, path, err)) < 0)
        return rc;
    snprintf(path, sizeof path, "%s/model", proj);
    if ((rc = fs_mkdir_p(path, err)) < 0)
        return rc;
    int n = snprintf(text, sizeof text,
                     "set(MTQ_MACHINE_FILE machines/%s.json)\nset(MTQ_PROJECT_TYPE host_driven)\n"
                     "set(MTQ_LIBC picolibc)\nset(MTQ_CRT_DIR crt)\nset(MTQ_MODEL_DIR model)\n",
                     b->name);
    snprintf(path, sizeof path, "%s/project.cmake", proj);
    if ((rc = fs_write_file(path, text, (size_t)n, err)) < 0)
        return rc;
    snprintf(build, sizeof build, "%s/build", proj);
    char *configure[] = {"cmake", "-S", proj, "-B", build, "-G", "Ninja", NULL};
    if ((rc = fwbuild_run(configure, log, err)) < 0)
        return rc;
    char *make[] = {"ninja", "-C", build, NULL};
    if ((rc = fwbuild_run(make, log, err)) < 0)
        return rc;
    snprintf(b->real_elf, sizeof b->real_elf, "%s/firmware.elf", build);
    if (!fs_exists(b->real_elf))
        return err_set(err, ERR_TOOL, "the build made no %s", b->real_elf);
    return 0;
}

/* Builds the images for b; false with b->why when the board cannot run here. A firmware that
 * exists but does not build is a failure ("FAILED" in why), not a skip. */
static bool prepare_board(struct board *b)
{
    struct err err = {0};
    char dir[PATH_MAX];
    if (mach_load_by_name(&b->m, MTQ_SOURCE_DIR "/machines", b->name, &err) < 0) {
        snprintf(b->why, sizeof b->why, "%s", err.msg);
        return false;
    }
    if (!fwbuild_on_path(b->m.qemu_binary)) {
        char bin[sizeof b->m.qemu_binary]; /* a copy: GCC's -Wrestrict sees b in both places */
        memcpy(bin, b->m.qemu_binary, sizeof bin);
        snprintf(b->why, sizeof b->why, "%s not installed (scripts/install-deps.sh)", bin);
        return false;
    }
    if (!fwbuild_available(b->name, b->why, sizeof b->why))
        return false;
    snprintf(dir, sizeof dir, "%s/fake-%s", workdir, b->name);
    const char *fake[] = {"MTQ_CRT_DIR=" MTQ_SOURCE_DIR "/tests/fixtures/fake_crt", NULL};
    if (fwbuild_build(b->name, "host_driven", "picolibc", dir, fake, b->fake_elf,
                      sizeof b->fake_elf, &err) < 0) {
        report("building host_driven with the fake CRT", &err);
        snprintf(b->why, sizeof b->why, "FAILED to build with the fake CRT: %.400s", err.msg);
        return false;
    }
    if (standalone_crt && build_real_project(b, &err) < 0) {
        report("building host_driven with TVM's CRT", &err);
        snprintf(b->why, sizeof b->why, "FAILED to build with TVM's CRT: %.400s", err.msg);
        return false;
    }
    return true;
}

/* ---- main ---- */

static int init_fake(int i)
{
    cur = &boards[i];
    cur_elf = cur->fake_elf;
    cur_fake = true;
    return 0;
}
static int init_real(int i)
{
    cur = &boards[i];
    cur_elf = cur->real_elf;
    cur_fake = false;
    return 0;
}
static int clean_board(void)
{
    emu_free(live); /* a fatal assert may have left one running */
    live = NULL;
    return 0;
}
static int init_fake_0(void) { return init_fake(0); }
static int init_fake_1(void) { return init_fake(1); }
static int init_real_0(void) { return init_real(0); }
static int init_real_1(void) { return init_real(1); }
static CU_InitializeFunc const fake_inits[N_BOARDS] = {init_fake_0, init_fake_1};
static CU_InitializeFunc const real_inits[N_BOARDS] = {init_real_0, init_real_1};

int main(void)
{
    int rc = 1, usable = 0, build_failures = 0;
    struct err err = {0};
    standalone_crt = getenv("MTQ_STANDALONE_CRT");
    if (standalone_crt && !*standalone_crt)
        standalone_crt = NULL;
    if (standalone_crt && !fs_is_dir(standalone_crt)) {
        printf("FAILED: MTQ_STANDALONE_CRT=%s is not a directory (point it at TVM's "
               "standalone_crt, or unset it)\n", standalone_crt);
        return 1;
    }
    if (!mkdtemp(workdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(rundir, sizeof rundir, "%s/run", workdir);
    if (mkdir(rundir, 0700) < 0 || setenv("XDG_RUNTIME_DIR", rundir, 1) < 0) {
        perror(rundir);
        goto out;
    }
    for (int i = 0; i < N_BOARDS; i++) {
        boards[i].name = BOARD_NAMES[i];
        boards[i].usable = prepare_board(&boards[i]);
        if (boards[i].usable)
            usable++;
        else if (strncmp(boards[i].why, "FAILED", 6) == 0)
            build_failures++;
        else
            printf("skipping %s: %s\n", boards[i].name, boards[i].why);
    }
    if (usable == 0 && build_failures == 0) {
        printf("skipping: no board can run here (see above)\n");
        rc = 77;
        goto out;
    }
    if (!standalone_crt)
        printf("skipped: real-CRT handshake: MTQ_STANDALONE_CRT is not set (point it at TVM's "
               "standalone_crt)\n");
    if (CU_initialize_registry() != CUE_SUCCESS)
        goto out;
    int first = -1;
    for (int i = 0; i < N_BOARDS; i++) {
        if (!boards[i].usable)
            continue;
        if (first < 0)
            first = i;
        char name[128];
        snprintf(name, sizeof name, "fake CRT on %s", boards[i].name);
        CU_pSuite s = CU_add_suite(name, fake_inits[i], clean_board);
        CU_ADD_TEST(s, test_board_answers_the_handshake_and_another_nonce_after_a_reset);
        if (standalone_crt) {
            snprintf(name, sizeof name, "TVM's CRT on %s", boards[i].name);
            s = CU_add_suite(name, real_inits[i], clean_board);
            CU_ADD_TEST(s, test_board_answers_the_handshake_and_another_nonce_after_a_reset);
        }
    }
    if (first >= 0) {
        CU_pSuite s = CU_add_suite("host_driven configure errors", fake_inits[first], clean_board);
        CU_ADD_TEST(s, test_host_driven_without_a_crt_fails_to_configure_with_the_fix);
    }
    if (CU_get_error() != CUE_SUCCESS) { /* a failed setup would run nothing and "pass" */
        CU_cleanup_registry();
        goto out;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry(); /* only after reading the counts: it clears them */
    int left = qemu_procs_children(getpid());
    if (left != 0)
        printf("FAILED: %d QEMU processes left behind\n", left);
    if (build_failures)
        printf("FAILED: %d boards' host_driven firmware did not build (see above)\n",
               build_failures);
    rc = (bad != 0 || left != 0 || build_failures != 0) ? 1 : 0;
out:
    if (fs_remove_tree(workdir, &err) < 0)
        fprintf(stderr, "leaving %s: %s\n", workdir, err.msg);
    return rc;
}
