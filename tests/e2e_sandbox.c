/*
 * The board is the sandbox (issue 10, docs/SECURITY.md "The board and QEMU"), end to end: the
 * real server, started as TVM starts it, on real QEMU boards running the hostile firmware of
 * tests/fixtures/hostile_firmware/ (built through the server from C sources).
 *   - Every semihosting call, on every board (bkpt 0xab on Cortex-M, slli/ebreak/srai on
 *     RISC-V), aimed at the host: each one faults the board, the server reports it
 *     (TransportClosedError naming the fault and exit code 3), nothing on the host changes (a
 *     marker directory stays empty, a canary keeps its bytes), and the same server keeps
 *     serving.
 *   - Every device on the board's map poked from the guest: nothing reaches the host (QEMU
 *     holds only its ptys, its log, /dev/null, pipes and unix sockets; no network socket, no
 *     other file), and QEMU runs confined (no new privileges, seccomp filter on).
 * Boards whose toolchain or QEMU is missing are skipped by name; exits 77 when none can run.
 */
#include "session_internal.h"

#include "fs.h"
#include "fwbuild.h"
#include "host_marks.h"
#include "e2e_rpc.h"
#include "qemu_procs.h"
#include "rpc_client.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define OPTS "{\"options\":{}}"
#define CANARY "the canary: these bytes must never change\n"
#define N_BOARDS 6

static const char *const BOARDS[N_BOARDS] = {"mps2-an385", "mps2-an386", "mps2-an500",
                                             "mps2-an505", "riscv32-virt", "riscv64-virt"};
/* Every call of Arm's semihosting specification (RISC-V semihosting uses the same numbers). */
static const unsigned OPS[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                               0x09, 0x0a, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
                               0x12, 0x13, 0x15, 0x16, 0x18, 0x20, 0x30, 0x31};
#define N_OPS (sizeof OPS / sizeof OPS[0])

static char workdir[] = "/tmp/mtq-e2e-sandbox-XXXXXX";
static char marker[PATH_MAX], canary[PATH_MAX];
static char projects[N_BOARDS][PATH_MAX]; /* "" when the board cannot run here */

/* ---- what must not change ---- */

static bool host_untouched(const char *what)
{
    return host_marks_untouched(what, marker, canary, CANARY);
}

static pid_t qemu_of(const char *proj)
{
    char path[PATH_MAX + 32];
    pid_t q = 0;
    snprintf(path, sizeof path, "%.4000s/flash/board.lock", proj);
    return sess__lock_read(path, NULL, &q, NULL) < 0 ? 0 : q;
}

/* Reads the board's bytes until the transport closes (or about 20 s); then the closing
 * error's reply (caller frees; the session repeats it for every later read), or NULL. */
static cJSON *read_until_closed(struct rpc_client *c, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int round = 0; round < 200; round++) {
        uint8_t buf[1024];
        size_t got = 0;
        char msg[128];
        int r = e2e_read(c, sizeof buf, "0.1", buf, &got, msg, sizeof msg);
        if (r == 0) {
            size_t k = got < cap - 1 - n ? got : cap - 1 - n;
            memcpy(out + n, buf, k);
            out[n += k] = '\0';
        } else if (r < 0 || strcmp(msg, "IoTimeoutError") != 0) {
            break;
        }
    }
    return e2e_call(c, "read_transport", "{\"n\":1,\"timeout_sec\":0}");
}

/* ---- every semihosting call ---- */

/* One call on a fresh boot: it must fault the board and change nothing on the host. */
static bool try_call(struct rpc_client *c, const char *board, unsigned op)
{
    char banner[128], line[2 * PATH_MAX + 64], bytes[2048];
    snprintf(banner, sizeof banner, "#microtvm-qemu:echo:%s:picolibc\n", board);
    if (!e2e_call_ok(c, "open_transport", OPTS) || !e2e_banner_first(c, banner))
        return false;
    /* aimed at the host: create in the marker directory, remove or rename the canary */
    const char *p1 = op == 0x0e || op == 0x0f ? canary : marker;
    char p1buf[PATH_MAX + 16], p2buf[PATH_MAX + 16];
    snprintf(p1buf, sizeof p1buf, "%s%s", p1, p1 == marker ? "/made" : "");
    snprintf(p2buf, sizeof p2buf, "%s/renamed", marker);
    snprintf(line, sizeof line, "%x %s %s\n", op, p1buf, p2buf);
    char *params = e2e_write_params((const uint8_t *)line, strlen(line), "10");
    bool ok = e2e_call_ok(c, "write_transport", params);
    free(params);
    cJSON *reply = read_until_closed(c, bytes, sizeof bytes);
    const char *why = reply ? e2e_traceback_of(reply) : "";
    ok = ok && reply && !strcmp(e2e_message_of(reply), "TransportClosedError");
    bool arm = strncmp(board, "mps2", 4) == 0;
    ok = ok && reply && strstr(bytes, "try ") && strstr(bytes, "#microtvm-qemu:fault:") &&
         !strstr(bytes, "returned") && strstr(why, "exited with code 3") &&
         (!arm || strstr(why, "the firmware faulted (exception pc=0x"));
    if (!ok)
        fprintf(stderr, "\n    %s op 0x%02x: board said \"%s\"; server said \"%s\"\n", board, op,
                bytes, why);
    cJSON_Delete(reply);
    char what[64];
    snprintf(what, sizeof what, "%s op 0x%02x", board, op);
    return host_untouched(what) && ok;
}

static void test_every_semihosting_call_faults_the_board_and_does_nothing_on_the_host(void)
{
    for (int b = 0; b < N_BOARDS; b++) {
        if (!projects[b][0])
            continue;
        struct rpc_client c;
        CU_ASSERT_FATAL(e2e_spawn(&c, projects[b]));
        CU_ASSERT_FATAL(e2e_call_ok(&c, "flash", OPTS));
        double t0 = mono_now_s();
        unsigned good = 0;
        for (size_t i = 0; i < N_OPS; i++)
            good += try_call(&c, BOARDS[b], OPS[i]);
        CU_ASSERT_EQUAL(good, N_OPS);
        /* the same server keeps serving: a new boot answers */
        CU_ASSERT(e2e_call_ok(&c, "server_info_query", "{\"tvm_version\":\"0.18.0\"}"));
        CU_ASSERT(e2e_call_ok(&c, "open_transport", OPTS));
        CU_ASSERT(e2e_call_ok(&c, "close_transport", "{}"));
        CU_ASSERT(e2e_close_server(&c));
        fprintf(stderr, "\n    %-13s %u of %zu calls faulted the board, host untouched "
                "(%.1f s)", BOARDS[b], good, N_OPS, mono_now_s() - t0);
    }
    CU_ASSERT_EQUAL(qemu_procs_children(getpid()), 0);
}

/* ---- every device ---- */

static bool is_unix_socket(unsigned long inode)
{
    char *text = NULL, want[32];
    if (fs_read_file("/proc/net/unix", 0, &text, NULL, NULL) < 0)
        return false;
    snprintf(want, sizeof want, " %lu ", inode);
    bool found = strstr(text, want) != NULL;
    if (!found) { /* the last field of a line */
        snprintf(want, sizeof want, " %lu\n", inode);
        found = strstr(text, want) != NULL;
    }
    free(text);
    return found;
}

/* What QEMU holds open: only its ptys, its log, /dev/null, pipes, anonymous inodes and unix
 * sockets. Names the first other one. */
static bool qemu_holds_nothing_else(pid_t qemu, const char *proj)
{
    char dir[64], log[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "/proc/%ld/fd", (long)qemu);
    snprintf(log, sizeof log, "%.4000s/qemu.log", proj);
    DIR *d = opendir(dir);
    struct dirent *e;
    bool ok = d != NULL;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[400], target[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        unsigned long inode = 0;
        bool allowed = !strcmp(target, "/dev/null") || !strncmp(target, "/dev/pts/", 9) ||
                       !strcmp(target, log) || !strncmp(target, "pipe:", 5) ||
                       !strncmp(target, "anon_inode:", 11) ||
                       (sscanf(target, "socket:[%lu]", &inode) == 1 && is_unix_socket(inode));
        if (!allowed) {
            fprintf(stderr, "\n    QEMU %ld holds fd %s -> %s\n", (long)qemu, e->d_name, target);
            ok = false;
        }
    }
    if (d)
        closedir(d);
    return ok;
}

/* "NoNewPrivs: 1" and "Seccomp: 2" (a filter) in /proc/<qemu>/status. */
static bool qemu_is_confined(pid_t qemu)
{
    char path[64], *text = NULL;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)qemu);
    if (fs_read_file(path, 0, &text, NULL, NULL) < 0)
        return false;
    bool ok = strstr(text, "NoNewPrivs:\t1\n") && strstr(text, "Seccomp:\t2\n");
    if (!ok)
        fprintf(stderr, "\n    QEMU %ld is not confined:\n%s\n", (long)qemu, text);
    free(text);
    return ok;
}

static void test_no_device_of_any_board_reaches_the_host(void)
{
    for (int b = 0; b < N_BOARDS; b++) {
        if (!projects[b][0])
            continue;
        struct rpc_client c;
        char banner[128], bytes[256];
        snprintf(banner, sizeof banner, "#microtvm-qemu:echo:%s:picolibc\n", BOARDS[b]);
        CU_ASSERT_FATAL(e2e_spawn(&c, projects[b]));
        CU_ASSERT_FATAL(e2e_call_ok(&c, "flash", OPTS) && e2e_call_ok(&c, "open_transport", OPTS));
        CU_ASSERT_FATAL(e2e_banner_first(&c, banner));
        /* twice: the board survives its own probe */
        bool done = true;
        for (int round = 0; round < 2; round++) {
            char *params = e2e_write_params((const uint8_t *)"go\n", 3, "10");
            CU_ASSERT(e2e_call_ok(&c, "write_transport", params));
            free(params);
            char msg[128];
            size_t got = e2e_read_n(&c, (uint8_t *)bytes, 7, msg, sizeof msg);
            bytes[got] = '\0';
            if (got != 7 || strncmp(bytes, "done ", 5) != 0) {
                fprintf(stderr, "\n    %s: \"%s\" (%s)\n", BOARDS[b], bytes, msg);
                done = false;
            }
        }
        CU_ASSERT(done);
        /* mps2 has its LAN9118 (with no network behind it), virt no virtio device at all */
        CU_ASSERT_EQUAL(bytes[5], strncmp(BOARDS[b], "mps2", 4) == 0 ? '1' : '0');
        pid_t qemu = qemu_of(projects[b]);
        CU_ASSERT(qemu > 0 && qemu_holds_nothing_else(qemu, projects[b]));
        CU_ASSERT(qemu > 0 && qemu_is_confined(qemu));
        CU_ASSERT(host_untouched(BOARDS[b]));
        CU_ASSERT(e2e_close_server(&c));
        fprintf(stderr, "\n    %-13s every device poked (%c present), QEMU confined, host "
                "untouched", BOARDS[b], done ? bytes[5] : '?');
    }
    CU_ASSERT_EQUAL(qemu_procs_children(getpid()), 0);
}

/* ---- setup ---- */

static int suite_init(void)
{
    char rundir[sizeof workdir + 8], cache[sizeof workdir + 8];
    if (!mkdtemp(workdir))
        return -1;
    snprintf(rundir, sizeof rundir, "%s/run", workdir);
    snprintf(cache, sizeof cache, "%s/cache", workdir);
    snprintf(marker, sizeof marker, "%s/marker", workdir);
    snprintf(canary, sizeof canary, "%s/canary", workdir);
    if (fs_mkdir_p(rundir, NULL) < 0 || fs_mkdir_p(marker, NULL) < 0 ||
        fs_write_file(canary, CANARY, strlen(CANARY), NULL) < 0 ||
        setenv("XDG_RUNTIME_DIR", rundir, 1) < 0 || setenv("MTQ_CACHE_DIR", cache, 1) < 0)
        return -1;
    for (int b = 0; b < N_BOARDS; b++) {
        if (!projects[b][0])
            continue;
        char proj[PATH_MAX];
        snprintf(proj, sizeof proj, "%s/%s", workdir, BOARDS[b]);
        if (e2e_make_echo_project(proj, BOARDS[b], "hostile_firmware/hostile.c") < 0)
            return -1;
        snprintf(projects[b], sizeof projects[b], "%s", proj);
    }
    return 0;
}

static int suite_clean(void)
{
    return fs_remove_tree(workdir, NULL);
}

/* Marks the boards that can run here ("x" in projects[]: suite_init fills in the path). */
static int available_boards(void)
{
    int n = 0;
    for (int b = 0; b < N_BOARDS; b++) {
        char why[512], qemu[64];
        const char *arch = !strncmp(BOARDS[b], "mps2", 4)       ? "arm"
                           : !strncmp(BOARDS[b], "riscv32", 7) ? "riscv32"
                                                               : "riscv64";
        snprintf(qemu, sizeof qemu, "qemu-system-%s", arch);
        if (!fwbuild_available(BOARDS[b], why, sizeof why) || !fwbuild_on_path(qemu)) {
            printf("e2e_sandbox: %s skipped: %s\n", BOARDS[b],
                   fwbuild_on_path(qemu) ? why : "its QEMU is not on PATH");
            continue;
        }
        snprintf(projects[b], sizeof projects[b], "x");
        n++;
    }
    return n;
}

int main(void)
{
    if (!fs_exists(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh")) {
        printf("e2e_sandbox: skipped: no template at %s (build the template_project target)\n",
               MTQ_TEMPLATE_DIR);
        return 77;
    }
    if (available_boards() == 0) {
        printf("e2e_sandbox: skipped: no board's toolchain and QEMU are installed\n");
        return 77;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("e2e_sandbox", suite_init, suite_clean);
    CU_ADD_TEST(s, test_every_semihosting_call_faults_the_board_and_does_nothing_on_the_host);
    CU_ADD_TEST(s, test_no_device_of_any_board_reaches_the_host);
    if (CU_get_error() != CUE_SUCCESS)
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return bad != 0;
}
