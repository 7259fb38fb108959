/*
 * The board is the sandbox (docs/SECURITY.md "The board and QEMU"), end to end: the
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
 *   - The same on riscv32-virt and mps2-an385 built with link=fast: the virtio-serial device
 *     or the LAN9118 is there and poked too (on mps2 the probe's junk frames go to the frame
 *     relay, which drops them), and QEMU's command line gives the link nothing but fd 3, our
 *     socketpair (no chardev on a path, no network).
 * Boards whose toolchain or QEMU is missing are skipped by name; exits 77 when none can run.
 */
#include "session_internal.h"

#include "asserts.h"
#include "boards.h"
#include "e2e_rpc.h"
#include "fs.h"
#include "host_marks.h"
#include "qemu_procs.h"
#include "rpc_client.h"
#include "runner.h"
#include "scratch.h"

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
/* Every call of Arm's semihosting specification (RISC-V semihosting uses the same numbers). */
static const unsigned OPS[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                               0x09, 0x0a, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
                               0x12, 0x13, 0x15, 0x16, 0x18, 0x20, 0x30, 0x31};
#define N_OPS (sizeof OPS / sizeof OPS[0])

static char workdir[] = "/tmp/mtq-e2e-sandbox-XXXXXX";
static char marker[PATH_MAX], canary[PATH_MAX];
static struct boards boards;                /* every machine file of the template */
static char projects[BOARDS_MAX][PATH_MAX]; /* "" when the board cannot run here */
/* The fast-link cases: a board of each kind, virtio-serial and the LAN9118. */
#define N_FAST 2
static const char *const FAST_BOARDS[N_FAST] = {"riscv32-virt", "mps2-an385"};
static char fast_projects[N_FAST][PATH_MAX]; /* "" when it cannot run here */

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
    for (size_t b = 0; b < boards.n; b++) {
        if (!projects[b][0])
            continue;
        struct rpc_client c;
        ASSERT_TRUE_FATAL(e2e_spawn(&c, projects[b]));
        ASSERT_TRUE_FATAL(e2e_call_ok(&c, "flash", OPTS));
        double t0 = mono_now_s();
        unsigned good = 0;
        for (size_t i = 0; i < N_OPS; i++)
            good += try_call(&c, boards.name[b], OPS[i]);
        ASSERT_EQ(good, N_OPS);
        /* the same server keeps serving: a new boot answers */
        ASSERT_TRUE(e2e_call_ok(&c, "server_info_query", "{\"tvm_version\":\"0.18.0\"}"));
        ASSERT_TRUE(e2e_call_ok(&c, "open_transport", OPTS));
        ASSERT_TRUE(e2e_call_ok(&c, "close_transport", "{}"));
        ASSERT_TRUE(e2e_close_server(&c));
        fprintf(stderr, "\n    %-13s %u of %zu calls faulted the board, host untouched "
                "(%.1f s)", boards.name[b], good, N_OPS, mono_now_s() - t0);
    }
    ASSERT_EQ(qemu_procs_children(getpid()), 0);
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

/* QEMU's command line as one string, arguments separated by '\n' ("" when unreadable). */
static void qemu_cmdline(pid_t qemu, char *out, size_t outsz)
{
    char path[64];
    size_t n = 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)qemu);
    FILE *f = fopen(path, "rb");
    if (f) {
        n = fread(out, 1, outsz - 1, f);
        fclose(f);
    }
    for (size_t i = 0; i < n; i++)
        if (out[i] == '\0')
            out[i] = '\n';
    out[n] = '\0';
}

/* The fast link on QEMU's command line: its chardev (virtio-serial) or its netdev (LAN9118)
 * on fd 3 and nothing else of the host's (the other chardevs are our ptys; no other netdev,
 * no socket with a path, a host or a port). */
static bool link_only_on_fd_3(pid_t qemu, bool lan9118)
{
    char cmd[16384];
    qemu_cmdline(qemu, cmd, sizeof cmd);
    bool ok;
    if (lan9118) {
        const char *nd = strstr(cmd, "\n-netdev\nsocket,id=link0,fd=3\n");
        ok = nd && !strstr(nd + 1, "\n-netdev\n") && !strstr(cmd, "-nic") &&
             strstr(cmd, "\n-net\nnic,netdev=link0,model=lan9118\n") &&
             !strstr(cmd, "socket,id=link0,fd=3\n-device");
    } else {
        ok = strstr(cmd, "\n-chardev\nsocket,id=link0,fd=3\n") &&
             strstr(cmd, "\n-device\nvirtserialport,chardev=link0,nr=1\n") &&
             !strstr(cmd, "-netdev") && !strstr(cmd, "\n-net\n");
    }
    for (const char *c = strstr(cmd, "\n-chardev\n"); ok && c; c = strstr(c + 1, "\n-chardev\n")) {
        const char *spec = c + strlen("\n-chardev\n");
        ok = (!lan9118 && !strncmp(spec, "socket,id=link0,fd=3\n", 21)) ||
             (!strncmp(spec, "serial,id=", 10) && strstr(spec, ",path=/dev/pts/") &&
              strstr(spec, ",path=/dev/pts/") < strchr(spec, '\n'));
    }
    if (!ok)
        fprintf(stderr, "\n    QEMU %ld's command line:\n%s\n", (long)qemu, cmd);
    return ok;
}

/* Runs the hostile firmware's device probe twice on proj's board; present: how many network
 * or virtio devices it must find ('0' or '1'). */
static void poke_every_device(const char *board, const char *proj, char present, bool fast)
{
    struct rpc_client c;
    char banner[128], bytes[256];
    snprintf(banner, sizeof banner, "#microtvm-qemu:echo:%s:picolibc\n", board);
    ASSERT_TRUE_FATAL(e2e_spawn(&c, proj));
    ASSERT_TRUE_FATAL(e2e_call_ok(&c, "flash", OPTS) && e2e_call_ok(&c, "open_transport", OPTS));
    ASSERT_TRUE_FATAL(e2e_banner_first(&c, banner));
    /* twice: the board survives its own probe */
    bool done = true;
    for (int round = 0; round < 2; round++) {
        char *params = e2e_write_params((const uint8_t *)"go\n", 3, "10");
        ASSERT_TRUE(e2e_call_ok(&c, "write_transport", params));
        free(params);
        char msg[128];
        size_t got = e2e_read_n(&c, (uint8_t *)bytes, 7, msg, sizeof msg);
        bytes[got] = '\0';
        if (got != 7 || strncmp(bytes, "done ", 5) != 0) {
            fprintf(stderr, "\n    %s: \"%s\" (%s)\n", board, bytes, msg);
            done = false;
        }
    }
    ASSERT_TRUE(done);
    ASSERT_EQ(bytes[5], present);
    pid_t qemu = qemu_of(proj);
    ASSERT_TRUE(qemu > 0 && qemu_holds_nothing_else(qemu, proj));
    if (fast)
        ASSERT_TRUE(qemu > 0 && link_only_on_fd_3(qemu, strncmp(board, "mps2", 4) == 0));
    ASSERT_TRUE(qemu > 0 && qemu_is_confined(qemu));
    ASSERT_TRUE(host_untouched(board));
    ASSERT_TRUE(e2e_close_server(&c));
    fprintf(stderr, "\n    %-13s every device poked (%c present), QEMU confined, host "
            "untouched", board, done ? bytes[5] : '?');
}

static void test_no_device_of_any_board_reaches_the_host(void)
{
    for (size_t b = 0; b < boards.n; b++) {
        if (!projects[b][0])
            continue;
        /* mps2 has its LAN9118 (with no network behind it), virt no virtio device at all */
        poke_every_device(boards.name[b], projects[b],
                          strncmp(boards.name[b], "mps2", 4) == 0 ? '1' : '0', false);
    }
    ASSERT_EQ(qemu_procs_children(getpid()), 0);
}

/* link=fast adds a device the guest drives (a virtio-serial port, or the LAN9118 now talking
 * to the frame relay) and a host socket behind it: the hostile firmware talks over that link,
 * pokes every device, the link's included, and still nothing reaches the host but the link's
 * own bytes. */
static void test_the_fast_link_of_a_hostile_board_reaches_only_its_socketpair(void)
{
    for (int f = 0; f < N_FAST; f++) {
        if (!fast_projects[f][0]) {
            fprintf(stderr, "\n    skipped: %s cannot run here ", FAST_BOARDS[f]);
            continue;
        }
        poke_every_device(FAST_BOARDS[f], fast_projects[f], '1', true); /* the link's device */
    }
    ASSERT_EQ(qemu_procs_children(getpid()), 0);
}

/* ---- setup ---- */

static int suite_init(void)
{
    if (scratch_make(workdir, NULL, 0, NULL, 0) < 0)
        return -1;
    snprintf(marker, sizeof marker, "%s/marker", workdir);
    snprintf(canary, sizeof canary, "%s/canary", workdir);
    if (fs_mkdir_p(marker, NULL) < 0 || fs_write_file(canary, CANARY, strlen(CANARY), NULL) < 0)
        return -1;
    for (size_t b = 0; b < boards.n; b++) {
        if (!projects[b][0])
            continue;
        char proj[PATH_MAX];
        snprintf(proj, sizeof proj, "%s/%s", workdir, boards.name[b]);
        if (e2e_make_echo_project(proj, boards.name[b], "hostile_firmware/hostile.c") < 0)
            return -1;
        snprintf(projects[b], sizeof projects[b], "%s", proj);
        for (int f = 0; f < N_FAST; f++) {
            if (strcmp(boards.name[b], FAST_BOARDS[f]) != 0)
                continue;
            snprintf(proj, sizeof proj, "%s/%s-fast", workdir, boards.name[b]);
            if (e2e_make_echo_project_with(proj, boards.name[b], "hostile_firmware/hostile.c",
                                           "\"link\":\"fast\"") < 0)
                return -1;
            snprintf(fast_projects[f], sizeof fast_projects[f], "%s", proj);
        }
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
    for (size_t b = 0; b < boards.n; b++) {
        char why[512];
        struct machine m;
        if (!boards_can_build_and_boot(boards.name[b], &m, why, sizeof why)) {
            printf("e2e_sandbox: %s skipped: %s\n", boards.name[b], why);
            continue;
        }
        snprintf(projects[b], sizeof projects[b], "x");
        n++;
    }
    return n;
}

int test_register(void)
{
    if (!fs_exists(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh")) {
        printf("e2e_sandbox: skipped: no template at %s (build the template_project target)\n",
               MTQ_TEMPLATE_DIR);
        return TEST_SKIP;
    }
    struct err err = {0};
    if (boards_list(&boards, &err) < 0) {
        printf("e2e_sandbox: %s\n", err.msg);
        return 1;
    }
    if (available_boards() == 0) {
        printf("e2e_sandbox: skipped: no board's toolchain and QEMU are installed\n");
        return TEST_SKIP;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    CU_pSuite s = CU_add_suite("e2e_sandbox", suite_init, suite_clean);
    CU_ADD_TEST(s, test_every_semihosting_call_faults_the_board_and_does_nothing_on_the_host);
    CU_ADD_TEST(s, test_no_device_of_any_board_reaches_the_host);
    CU_ADD_TEST(s, test_the_fast_link_of_a_hostile_board_reaches_only_its_socketpair);
    return TEST_RUN;
}
