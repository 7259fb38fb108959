/*
 * End-to-end tests of emulator/emu against real QEMU and the real echo firmware
 * (firmware/CMakeLists.txt, MTQ_PROJECT_TYPE=echo, picolibc), for every board whose toolchain
 * and QEMU are installed: halted start, run, whole banner, the wake that prevents the boot input
 * stall, a 4 KiB random echo, reset, QEMU killed from outside, a bad machine, a missing binary,
 * the gdb stub, and that nothing (process, socket, runtime directory) is left behind.
 * Prints start-to-banner latency and echo throughput; asserts neither.
 * MTQ_EMU_TEST_IMAGES=<dir> boots <dir>/<board>.elf instead of building (for quick reruns).
 * Exits 77 (skip) when no board can run here, saying why.
 */
#include "asserts.h"
#include "boards.h"
#include "board_io.h"
#include "emu.h"
#include "fs.h"
#include "fwbuild.h"
#include "machine.h"
#include "mono.h"
#include "qemu_procs.h"
#include "runner.h"
#include "scratch.h"
#include "tcp_port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BANNER_TIMEOUT_MS 10000

struct board {
    const char *name;
    bool usable;
    char why[512];            /* why it is not usable */
    struct machine m;
    char elf[PATH_MAX];
};

/* Test fixtures, file-static as CUnit suites take no arguments: the boards, the scratch
 * directory (firmware builds, QEMU logs, a private $XDG_RUNTIME_DIR), the board under test and
 * the board being tested now, stopped by the suite's cleanup if a fatal assert left it. */
static struct boards board_names; /* every machine file of the template */
static struct board boards[BOARDS_MAX];
static int build_failures; /* boards whose firmware exists but did not build */
static char workdir[] = "/tmp/mtq-e2e-emu-XXXXXX";
static char rundir[sizeof workdir + 8];
static struct board *cur;
static struct emu *live;
static struct board_io uart; /* live's UART, through the server's link */

#define OK(call) ASSERT_CALL_FATAL(call, err)

static bool dir_is_empty(const char *path)
{
    char cmd[PATH_MAX];
    snprintf(cmd, sizeof cmd, "%s", path);
    struct stat st;
    if (stat(cmd, &st) < 0)
        return false;
    return st.st_nlink == 2; /* only . and .. (no subdirectories) */
}

static struct emu *start_board(struct board *b, struct emu_config *cfg, struct err *err)
{
    char log_path[PATH_MAX];
    snprintf(log_path, sizeof log_path, "%s/%s.qemu.log", workdir, b->name);
    cfg->machine = &b->m;
    cfg->image = b->elf;
    cfg->log_path = log_path;
    live = emu_start(cfg, err);
    if (live)
        board_io_open(&uart, live);
    return live;
}

/* Stops e and checks that nothing of it is left: no process, no runtime directory. */
static void stop_and_check(struct emu *e)
{
    pid_t pid = emu_pid(e);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", emu_runtime_dir(e));
    ASSERT_GT(pid, 0);
    /* with a log path given, the QMP socket and its directory are gone once QMP is connected:
     * a SIGKILLed owner leaves nothing on disk */
    ASSERT_STR_EQ(dir, "");
    ASSERT_TRUE(dir_is_empty(rundir));
    emu_stop(e);
    ASSERT_FALSE(qemu_procs_alive(pid));
    ASSERT_EQ(emu_pid(e), -1);
    ASSERT_STR_EQ(emu_runtime_dir(e), "");
    emu_stop(e); /* idempotent */
    board_io_close(&uart);
    emu_free(e);
    live = NULL;
    ASSERT_TRUE(dir_is_empty(rundir));
}

static void check_banner(const char *buf, size_t n)
{
    char want[128];
    int wn = snprintf(want, sizeof want, "#microtvm-qemu:echo:%s:", cur->name);
    ASSERT_TRUE(n > (size_t)wn && buf[n - 1] == '\n');
    ASSERT_TRUE(n >= (size_t)wn && memcmp(buf, want, (size_t)wn) == 0);
    if (n < (size_t)wn || memcmp(buf, want, (size_t)wn) != 0)
        fprintf(stderr, "\n    banner: \"%.*s\"\n", (int)n, buf);
}

/* Sends n random bytes and expects them back unchanged: the link drains the echo while it
 * writes, as the server's write_transport does. Returns the round-trip rate in bytes per
 * second, or -1. */
static double echo_random(size_t n)
{
    struct err err = {0};
    unsigned char *out = malloc(n), *in = malloc(n);
    double rate = -1;
    size_t got = 0;
    ASSERT_TRUE_FATAL(out && in);
    ASSERT_TRUE_FATAL(getrandom(out, n, 0) == (ssize_t)n);
    int64_t t0 = mono_now_ns();
    if (board_io_write(&uart, out, n, 10000, &err) < 0) {
        test_report("board_io_write", &err);
        goto out;
    }
    while (got < n) {
        ssize_t r = board_io_read(&uart, in + got, n - got, 10000, &err);
        if (r < 0) {
            fprintf(stderr, "\n    echo stalled: %zu of %zu back\n", got, n);
            test_report("board_io_read", &err);
            goto out;
        }
        got += (size_t)r;
    }
    rate = (double)n / ((double)(mono_now_ns() - t0) / 1e9);
out:
    ASSERT_EQ(got, n);
    ASSERT_TRUE(got == n && memcmp(in, out, n) == 0);
    free(out);
    free(in);
    return got == n ? rate : -1;
}

/* ---- per board ---- */

static void test_board_stays_halted_until_run_then_sends_its_banner_whole(void)
{
    struct err err = {0};
    struct emu_config cfg;
    emu_config_init(&cfg);
    char buf[256];
    size_t n = 0;
    int64_t t0 = mono_now_ns();
    struct emu *e = start_board(cur, &cfg, &err);
    if (!e)
        test_report("emu_start", &err);
    ASSERT_NOT_NULL_FATAL(e);
    int64_t t_started = mono_now_ns();
    ASSERT_TRUE(emu_is_running(e));
    /* -S: not one byte before emu_run */
    ASSERT_EQ(board_io_read(&uart, buf, sizeof buf, 300, &err), ERR_TIMEOUT);
    int64_t t_run = mono_now_ns();
    OK(emu_run(e, &err));
    OK(board_io_read(&uart, buf, 1, BANNER_TIMEOUT_MS, &err));
    int64_t t_first = mono_now_ns();
    size_t rest = 0;
    OK(board_io_read_until(&uart, "\n", buf + 1, sizeof buf - 1, &rest, BANNER_TIMEOUT_MS, &err));
    int64_t t_banner = mono_now_ns();
    n = 1 + rest;
    check_banner(buf, n);
    OK(emu_wake(e, &err));
    /* the banner is one line and nothing follows it until we send something */
    ASSERT_EQ(board_io_read(&uart, buf, sizeof buf, 100, &err), ERR_TIMEOUT);
    printf("\n    latency %s: emu_start %.1f ms; run to first banner byte %.1f ms, to whole "
           "banner %.1f ms; start+run to first byte %.1f ms",
           cur->name, (t_started - t0) / 1e6, (t_first - t_run) / 1e6, (t_banner - t_run) / 1e6,
           (t_started - t0 + t_first - t_run) / 1e6);
    int64_t t_stop = mono_now_ns();
    stop_and_check(e);
    printf("; emu_stop %.1f ms ... ", (mono_now_ns() - t_stop) / 1e6);
}

static void test_board_echoes_4_kib_of_random_bytes_intact_after_the_wake(void)
{
    struct err err = {0};
    struct emu_config cfg;
    emu_config_init(&cfg);
    char buf[256];
    size_t n = 0;
    struct emu *e = start_board(cur, &cfg, &err);
    ASSERT_NOT_NULL_FATAL(e);
    OK(emu_run(e, &err));
    OK(board_io_banner(&uart, buf, sizeof buf, &n, BANNER_TIMEOUT_MS, &err));
    check_banner(buf, n);
    double rate = echo_random(4096);
    printf("\n    echo %s: 4096 random bytes round trip at %.1f KB/s ... ", cur->name, rate / 1e3);
    stop_and_check(e);
}

/* QEMU_NOTES.md "Input can stall for good at boot": a byte sent right after the banner must
 * come back at once, every boot, because board_io_banner wakes QEMU's main loop (emu_wake). */
static void test_board_echoes_right_after_the_banner_on_every_one_of_five_boots(void)
{
    struct err err = {0};
    for (int i = 0; i < 5; i++) {
        struct emu_config cfg;
        emu_config_init(&cfg);
        char buf[256];
        size_t n = 0;
        struct emu *e = start_board(cur, &cfg, &err);
        ASSERT_NOT_NULL_FATAL(e);
        OK(emu_run(e, &err));
        OK(board_io_banner(&uart, buf, sizeof buf, &n, BANNER_TIMEOUT_MS, &err));
        OK(board_io_write(&uart, "\x01", 1, 1000, &err));
        ssize_t r = board_io_read(&uart, buf, sizeof buf, 1000, &err);
        ASSERT_EQ(r, 1);
        if (r != 1)
            fprintf(stderr, "\n    boot %d: no echo within 1 s (%s)\n", i, err.msg);
        ASSERT_TRUE(r == 1 && buf[0] == 1);
        stop_and_check(e);
    }
}

static void test_board_sends_a_second_banner_after_reset_and_still_echoes(void)
{
    struct err err = {0};
    struct emu_config cfg;
    emu_config_init(&cfg);
    char a[256], b[256];
    size_t na = 0, nb = 0;
    struct emu *e = start_board(cur, &cfg, &err);
    ASSERT_NOT_NULL_FATAL(e);
    OK(emu_run(e, &err));
    OK(board_io_banner(&uart, a, sizeof a, &na, BANNER_TIMEOUT_MS, &err));
    echo_random(64);
    OK(emu_reset(e, &err));
    OK(board_io_banner(&uart, b, sizeof b, &nb, BANNER_TIMEOUT_MS, &err));
    check_banner(b, nb);
    ASSERT_TRUE(na == nb && memcmp(a, b, na) == 0);
    echo_random(256);
    stop_and_check(e);
}

static void test_board_killed_from_outside_reads_as_closed_and_is_not_running(void)
{
    struct err err = {0};
    struct emu_config cfg;
    emu_config_init(&cfg);
    char buf[256];
    size_t n = 0;
    struct emu *e = start_board(cur, &cfg, &err);
    ASSERT_NOT_NULL_FATAL(e);
    OK(emu_run(e, &err));
    OK(board_io_banner(&uart, buf, sizeof buf, &n, BANNER_TIMEOUT_MS, &err));
    ASSERT_EQ(kill(emu_pid(e), SIGKILL), 0);
    int64_t t0 = mono_now_ns();
    ASSERT_EQ(board_io_read(&uart, buf, sizeof buf, 5000, &err), ERR_CLOSED);
    ASSERT_TRUE(mono_now_ns() - t0 < 2000000000LL); /* the exit fd wakes the read, not a timeout */
    ASSERT_STR_CONTAINS(err.msg, "killed by signal 9");
    ASSERT_FALSE(emu_is_running(e));
    int status = 0;
    ASSERT_EQ(emu_poll_exit(e, &status), 1);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    ASSERT_EQ(board_io_write(&uart, "x", 1, 1000, &err), ERR_CLOSED);
    ASSERT_EQ(emu_wake(e, &err), ERR_CLOSED);
    ASSERT_EQ(emu_reset(e, &err), ERR_CLOSED);
    stop_and_check(e);
}

/* ---- board-independent, on the first usable board ---- */

static void test_a_bad_machine_fails_with_qemus_own_message_and_leaves_nothing(void)
{
    struct err err = {0};
    struct emu_config cfg;
    emu_config_init(&cfg);
    struct board bad = *cur;
    snprintf(bad.m.qemu_machine, sizeof bad.m.qemu_machine, "nonsense");
    int64_t t0 = mono_now_ns();
    ASSERT_NULL(start_board(&bad, &cfg, &err));
    ASSERT_TRUE(mono_now_ns() - t0 < 5000000000LL);
    ASSERT_EQ(err.code, ERR_TOOL);
    ASSERT_STR_CONTAINS(err.msg, "unsupported machine type");
    ASSERT_STR_CONTAINS(err.detail, "unsupported machine type");
    ASSERT_STR_CONTAINS(err.msg, cur->m.qemu_binary);
    ASSERT_TRUE(dir_is_empty(rundir));
    ASSERT_EQ(qemu_procs_children(getpid()), 0);
}

static void test_a_missing_qemu_binary_is_named_with_the_fix(void)
{
    struct err err = {0};
    struct emu_config cfg;
    emu_config_init(&cfg);
    cfg.qemu_binary = "qemu-system-nosucharch";
    ASSERT_NULL(start_board(cur, &cfg, &err));
    ASSERT_EQ(err.code, ERR_TOOL);
    ASSERT_STR_CONTAINS(err.msg, "qemu-system-nosucharch");
    ASSERT_STR_CONTAINS(err.msg, "scripts/install-deps.sh");
    cfg.qemu_binary = "/nonexistent/qemu-system-arm";
    ASSERT_NULL(start_board(cur, &cfg, &err));
    ASSERT_STR_CONTAINS(err.msg, "/nonexistent/qemu-system-arm");
    ASSERT_TRUE(dir_is_empty(rundir));
}

static void test_a_missing_image_is_refused_before_qemu_starts(void)
{
    struct err err = {0};
    struct emu_config cfg;
    emu_config_init(&cfg);
    struct board b = *cur;
    snprintf(b.elf, sizeof b.elf, "%s/no-such-firmware.elf", workdir);
    ASSERT_NULL(start_board(&b, &cfg, &err));
    ASSERT_EQ(err.code, ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "no-such-firmware.elf");
    ASSERT_TRUE(dir_is_empty(rundir));
    emu_stop(NULL);
    emu_free(NULL);
}

/* With a gdb port, emu_run leaves the CPU halted; a debugger's continue ("c") starts it. */
static void test_with_a_gdb_port_the_board_waits_for_the_debuggers_continue(void)
{
    struct err err = {0};
    struct emu_config cfg;
    emu_config_init(&cfg);
    cfg.gdb_port = tcp_port_free();
    ASSERT_GT_FATAL(cfg.gdb_port, 0);
    char buf[256];
    size_t n = 0;
    struct emu *e = start_board(cur, &cfg, &err);
    if (!e)
        test_report("emu_start", &err);
    ASSERT_NOT_NULL_FATAL(e);
    OK(emu_run(e, &err));
    ASSERT_EQ(board_io_read(&uart, buf, sizeof buf, 300, &err), ERR_TIMEOUT);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg.gdb_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_EQ_FATAL(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    static const char cont[] = "+$c#63"; /* GDB remote protocol: ack, then "continue" */
    ASSERT_EQ(send(s, cont, sizeof cont - 1, MSG_NOSIGNAL), (ssize_t)sizeof cont - 1);
    OK(board_io_banner(&uart, buf, sizeof buf, &n, BANNER_TIMEOUT_MS, &err));
    check_banner(buf, n);
    close(s);
    stop_and_check(e);
}

/* The server may die without a word (SIGKILL, a crash): its QEMU must die with it, through the
 * parent-death signal emu_start's child sets before exec. */
static void test_qemu_dies_when_the_process_that_started_it_is_killed(void)
{
    int p[2];
    ASSERT_EQ_FATAL(pipe2(p, O_CLOEXEC), 0);
    ASSERT_EQ_FATAL(prctl(PR_SET_CHILD_SUBREAPER, 1), 0); /* orphans come to us, not init */
    pid_t server = fork();
    ASSERT_GE_FATAL(server, 0);
    if (server == 0) { /* a stand-in for the server: start a board, report its pid, wait */
        struct err err = {0};
        struct emu_config cfg;
        emu_config_init(&cfg);
        pid_t qemu = -1;
        live = NULL;
        struct emu *e = start_board(cur, &cfg, &err);
        if (e && emu_run(e, &err) == 0)
            qemu = emu_pid(e);
        if (write(p[1], &qemu, sizeof qemu) != (ssize_t)sizeof qemu)
            _exit(1);
        pause();
        _exit(0);
    }
    close(p[1]);
    pid_t qemu = -1;
    ASSERT_EQ(read(p[0], &qemu, sizeof qemu), (ssize_t)sizeof qemu);
    close(p[0]);
    ASSERT_TRUE(qemu > 0 && qemu_procs_state(qemu) != 0 && qemu_procs_state(qemu) != 'Z');
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    /* we are QEMU's subreaper, so it is now our child: reap it and see what killed it */
    int st = 0;
    pid_t r = 0;
    int64_t t0 = mono_now_ns();
    while (qemu > 0 && (r = waitpid(qemu, &st, WNOHANG)) == 0 &&
           mono_now_ns() - t0 < 3000000000LL)
        usleep(10000);
    ASSERT_EQ(r, qemu);
    ASSERT_TRUE(r == qemu && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    if (qemu > 0 && r == 0) { /* do not leave it running even if the test fails */
        kill(qemu, SIGKILL);
        waitpid(qemu, NULL, 0);
    }
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    /* the killed server could not remove its runtime directory; the workdir cleanup does */
    fs_remove_tree(rundir, NULL);
    mkdir(rundir, 0700);
}

/* A server killed in the moment between creating its runtime directory and QMP's connection
 * leaves the directory behind; the next start of any board sweeps such leftovers by pid. */
static void test_a_start_sweeps_runtime_directories_of_dead_servers(void)
{
    pid_t dead = fork(); /* a pid that surely has no live owner once reaped */
    ASSERT_GE_FATAL(dead, 0);
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char stale[PATH_MAX], sock[PATH_MAX + 16], other[PATH_MAX];
    snprintf(stale, sizeof stale, "%s/mtq-%ld-AbC123", rundir, (long)dead);
    snprintf(sock, sizeof sock, "%s/qmp.sock", stale);
    snprintf(other, sizeof other, "%s/not-ours", rundir);
    ASSERT_TRUE_FATAL(mkdir(stale, 0700) == 0 && mkdir(other, 0700) == 0);
    FILE *f = fopen(sock, "w");
    ASSERT_NOT_NULL_FATAL(f);
    fclose(f);

    struct err err = {0};
    struct emu_config cfg;
    emu_config_init(&cfg);
    struct emu *e = start_board(cur, &cfg, &err);
    if (!e)
        test_report("emu_start", &err);
    ASSERT_NOT_NULL_FATAL(e);
    ASSERT_FALSE(fs_exists(stale));
    ASSERT_TRUE(fs_is_dir(other)); /* only mtq-<dead pid>-XXXXXX names are touched */
    rmdir(other);
    stop_and_check(e);
}

static void test_start_refuses_to_run_when_sigchld_is_ignored(void)
{
    struct err err = {0};
    struct emu_config cfg;
    emu_config_init(&cfg);
    struct sigaction ign = {.sa_handler = SIG_IGN}, old;
    sigaction(SIGCHLD, &ign, &old);
    struct emu *e = start_board(cur, &cfg, &err);
    sigaction(SIGCHLD, &old, NULL);
    ASSERT_NULL(e);
    emu_free(e);
    live = NULL;
    ASSERT_EQ(err.code, ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "SIGCHLD");
    ASSERT_TRUE(dir_is_empty(rundir));
}

/* ---- main ---- */

static int init_board(void *board)
{
    cur = board;
    return 0;
}
static int clean_board(void)
{
    emu_free(live); /* a fatal assert may have left one running */
    live = NULL;
    return 0;
}

/* Finds the image for b (MTQ_EMU_TEST_IMAGES or a fresh build); false with b->why if none. */
static bool prepare_board(struct board *b)
{
    struct err err = {0};
    char dir[PATH_MAX];
    if (!boards_can_boot(b->name, &b->m, b->why, sizeof b->why))
        return false;
    const char *images = getenv("MTQ_EMU_TEST_IMAGES");
    if (images && *images) {
        snprintf(b->elf, sizeof b->elf, "%s/%s.elf", images, b->name);
        if (fs_exists(b->elf))
            return true;
        snprintf(b->why, sizeof b->why, "no %.400s", b->elf);
        return false;
    }
    if (!fwbuild_available(b->name, b->why, sizeof b->why))
        return false;
    snprintf(dir, sizeof dir, "%s/fw-%s", workdir, b->name);
    if (fwbuild_build(b->name, "echo", "picolibc", dir, NULL, b->elf, sizeof b->elf, &err) < 0) {
        /* the firmware exists but does not build: that is a failure, not a skip */
        test_report("building the echo firmware", &err);
        snprintf(b->why, sizeof b->why, "FAILED to build: %.400s", err.msg);
        return false;
    }
    return true;
}

/* Removes the scratch directory; a board whose firmware did not build fails the run. */
static int end_of_run(void)
{
    if (build_failures)
        printf("FAILED: %d boards' echo firmware did not build (see above)\n", build_failures);
    fs_remove_tree(workdir, NULL);
    return build_failures;
}

/* boards_prepare's step: board i named, its image found or built. */
static const char *prepare_at(size_t i, void *arg)
{
    (void)arg;
    boards[i].name = board_names.name[i];
    boards[i].usable = prepare_board(&boards[i]);
    return boards[i].usable ? NULL : boards[i].why;
}

int test_register(void)
{
    test_at_end(end_of_run); /* removes workdir: also after a failure below */
    /* a private runtime directory: the tests can then see that emu leaves nothing in it */
    if (scratch_make(workdir, rundir, sizeof rundir, NULL, 0) < 0) {
        perror(workdir);
        return 1;
    }
    struct err err = {0};
    if (boards_list(&board_names, &err) < 0) {
        printf("FAILED: %s\n", err.msg);
        return 1;
    }
    int usable = boards_prepare(&board_names, prepare_at, NULL, &build_failures);
    if (usable == 0 && build_failures == 0) {
        printf("skipping: no board can run here (see above)\n");
        return TEST_SKIP;
    }
    struct board *first = NULL;
    for (size_t i = 0; i < board_names.n; i++) {
        if (!boards[i].usable)
            continue;
        if (!first)
            first = &boards[i];
        CU_pSuite s = test_add_suite_with(boards[i].name, init_board, clean_board, &boards[i]);
        CU_ADD_TEST(s, test_board_stays_halted_until_run_then_sends_its_banner_whole);
        CU_ADD_TEST(s, test_board_echoes_4_kib_of_random_bytes_intact_after_the_wake);
        CU_ADD_TEST(s, test_board_echoes_right_after_the_banner_on_every_one_of_five_boots);
        CU_ADD_TEST(s, test_board_sends_a_second_banner_after_reset_and_still_echoes);
        CU_ADD_TEST(s, test_board_killed_from_outside_reads_as_closed_and_is_not_running);
    }
    if (first) {
        CU_pSuite s = test_add_suite_with("emu failures and options", init_board, clean_board,
                                          first);
        CU_ADD_TEST(s, test_a_bad_machine_fails_with_qemus_own_message_and_leaves_nothing);
        CU_ADD_TEST(s, test_a_missing_qemu_binary_is_named_with_the_fix);
        CU_ADD_TEST(s, test_a_missing_image_is_refused_before_qemu_starts);
        CU_ADD_TEST(s, test_with_a_gdb_port_the_board_waits_for_the_debuggers_continue);
        CU_ADD_TEST(s, test_qemu_dies_when_the_process_that_started_it_is_killed);
        CU_ADD_TEST(s, test_start_refuses_to_run_when_sigchld_is_ignored);
        CU_ADD_TEST(s, test_a_start_sweeps_runtime_directories_of_dead_servers);
    }
    return TEST_RUN;
}
