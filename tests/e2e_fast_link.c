/*
 * End to end (label e2e): the fast link (link=fast) through the REAL server, spoken to as TVM
 * does, on real QEMU, on every board that has a fast link this server drives: virtio-serial
 * on riscv32-virt and riscv64-virt, the LAN9118 (through the frame relay) on the four mps2
 * boards. On every such board: the banner first (it comes on the UART), 1 MiB each way
 * byte-exact in one write without deadlock, a firmware that never brings the link up failing
 * open_transport within the start timeout saying so (tests/fixtures/fast_link_firmware), a
 * board that dies giving TransportClosedError with its exit and its UART's last line, and an
 * aot_standalone model's run --input giving the reference outputs and the same exact
 * instruction count as over the UART. On the first board of each kind, every other promise
 * the UART transport makes: IoTimeoutError semantics for reads and writes, QEMU killed, a
 * board that resets itself, close and reopen, the board lock, nothing left after the server
 * is SIGKILLed, serial echoing a pipe, the demo with --link fast; and virtio-serial's driver
 * on virtio-mmio's modern transport (the emulator driven directly). A guest flooding the
 * LAN9118 link with frames that break every rule neither wedges nor grows the server. Hostile
 * values of the link option are refused. Prints throughput; asserts none. Exits 77 when no board with a
 * fast link can run here, saying why.
 */
#include "asserts.h"
#include "board_io.h"
#include "boards.h"
#include "e2e_rpc.h"
#include "session_internal.h"

#include "../firmware/include/link.h" /* LINK_UP_MARKER */
#include "cli_run.h"
#include "emu.h"
#include "fast_link.h"
#include "fs.h"
#include "fwbuild.h"
#include "machine.h"
#include "mlf.h"
#include "qemu_procs.h"
#include "rpc_client.h"
#include "runner.h"
#include "scratch.h"

#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define OPTS "{\"options\":{}}"
#define FAST "\"link\":\"fast\""
#define MIB (1024 * 1024)
static struct boards board_list; /* every machine file of the template; those with a fast link run */

/* Suite fixtures (CUnit suites take no arguments): the scratch directory with its private
 * $XDG_RUNTIME_DIR and cache, and per usable board its projects: echo, and the test doubles
 * every board runs (never up, dies); the first board of each kind also has the others. */
static char workdir[] = "/tmp/mtq-e2e-fast-link-XXXXXX";
static char rundir[sizeof workdir + 8];
struct board {
    bool usable;        /* it can run here */
    bool kind_first;    /* the first usable board of its fast link's kind */
    const char *label;  /* its link's label, as messages give it ("LAN9118") */
    const char *kind;   /* the machine file's fast_link.kind */
    char echo[PATH_MAX], no_link[PATH_MAX], abort[PATH_MAX];
    char hang[PATH_MAX], reset[PATH_MAX]; /* kind_first only */
    char flood[PATH_MAX];                 /* kind_first of lan9118 only */
};
static struct board boards[BOARDS_MAX];
static char model_tar[PATH_MAX];

/* Loops over the usable boards, or over the first usable board of each kind. */
#define FOR_EACH_BOARD(b) for (int b = 0; b < (int)board_list.n; b++) if (boards[b].usable)
#define FOR_EACH_KIND(b) for (int b = 0; b < (int)board_list.n; b++) if (boards[b].kind_first)

static void banner_of(const char *board, char *out, size_t outsz)
{
    snprintf(out, outsz, "#microtvm-qemu:echo:%s:picolibc\n", board);
}

static pid_t qemu_of(const char *proj)
{
    char path[PATH_MAX + 32];
    pid_t q = 0;
    snprintf(path, sizeof path, "%.4000s/flash/board.lock", proj);
    return sess__lock_read(path, NULL, &q, NULL) < 0 ? 0 : q;
}

/* Spawns proj's server, flashes and opens; the banner is checked when banner is given. */
static bool open_board(struct rpc_client *c, const char *proj, const char *board)
{
    char banner[128];
    if (!e2e_spawn(c, proj))
        return false;
    bool ok = e2e_call_ok(c, "flash", OPTS) && e2e_call_ok(c, "open_transport", OPTS);
    if (ok && board) {
        banner_of(board, banner, sizeof banner);
        ok = e2e_banner_first(c, banner);
    }
    return ok;
}

/* ---- the transport's promises ---- */

static void test_every_fast_board_hands_its_banner_first_and_echoes_a_mebibyte_each_way(void)
{
    FOR_EACH_BOARD(b) {
        struct rpc_client c;
        ASSERT_TRUE_FATAL(open_board(&c, boards[b].echo, board_list.name[b]));
        /* one write_transport of 1 MiB: the server drains the echo while it writes */
        double t0 = mono_now_s();
        ASSERT_TRUE(e2e_echo_random(&c, MIB));
        double took = mono_now_s() - t0;
        fprintf(stderr, "\n    %s: 1 MiB echoed through the server in %.2f s (%.2f MB/s each "
                "way)", board_list.name[b], took, MIB / took / 1e6);
        ASSERT_TRUE(e2e_echo_random(&c, 1)); /* and the smallest message after it */
        ASSERT_TRUE(e2e_call_ok(&c, "close_transport", "{}"));
        pid_t server = c.pid;
        ASSERT_TRUE(e2e_close_server(&c));
        ASSERT_EQ(qemu_procs_children(server), 0);
    }
}

static void read_timeouts_give_io_timeout_in_time_and_null_waits_for_data_on(int b)
{
    struct rpc_client c;
    ASSERT_TRUE_FATAL(open_board(&c, boards[b].echo, board_list.name[b]));
    uint8_t buf[64];
    size_t got = 0;
    char msg[128];
    double t0 = mono_now_s();
    ASSERT_EQ(e2e_read(&c, sizeof buf, "0", buf, &got, msg, sizeof msg), 1);
    double took0 = mono_now_s() - t0;
    ASSERT_STR_EQ(msg, "IoTimeoutError");
    ASSERT_TRUE(took0 < 0.1);
    t0 = mono_now_s();
    ASSERT_EQ(e2e_read(&c, sizeof buf, "0.2", buf, &got, msg, sizeof msg), 1);
    double took2 = mono_now_s() - t0;
    ASSERT_STR_EQ(msg, "IoTimeoutError");
    ASSERT_TRUE(took2 >= 0.2 && took2 < 0.45);
    char *params = e2e_write_params((const uint8_t *)"ping", 4, "null");
    ASSERT_TRUE(e2e_call_ok(&c, "write_transport", params));
    free(params);
    size_t all = 0;
    while (all < 4 && e2e_read(&c, 4 - all, "null", buf + all, &got, msg, sizeof msg) == 0)
        all += got;
    ASSERT_TRUE(all == 4 && memcmp(buf, "ping", 4) == 0);
    fprintf(stderr, "\n    %s: timeout 0 answered in %.1f ms, 0.2 s in %.1f ms", board_list.name[b],
            took0 * 1e3,
            took2 * 1e3);
    ASSERT_TRUE(e2e_close_server(&c));
}

static void test_read_timeouts_give_io_timeout_in_time_and_null_waits_for_data(void)
{
    FOR_EACH_KIND(b)
        read_timeouts_give_io_timeout_in_time_and_null_waits_for_data_on(b);
}

/* A board that stops reading its link: what the device, QEMU and the sockets buffer is taken,
 * then the write times out saying how much went, and the board still closes. */
static void a_write_the_board_does_not_take_times_out_saying_how_much_went_on(int b)
{
    struct rpc_client c;
    ASSERT_TRUE_FATAL(open_board(&c, boards[b].hang, board_list.name[b]));
    size_t n = 8 * MIB;
    uint8_t *data = calloc(1, n);
    ASSERT_TRUE_FATAL(data != NULL);
    char *params = e2e_write_params(data, n, "1");
    free(data);
    ASSERT_TRUE_FATAL(params != NULL);
    double t0 = mono_now_s();
    cJSON *reply = e2e_call(&c, "write_transport", params);
    double took = mono_now_s() - t0;
    free(params);
    ASSERT_STR_EQ(e2e_message_of(reply), "IoTimeoutError");
    ASSERT_STR_CONTAINS(e2e_traceback_of(reply), " of 8388608 bytes within 1 s");
    fprintf(stderr, "\n    %s", e2e_traceback_of(reply));
    cJSON_Delete(reply);
    ASSERT_TRUE(took >= 1.0 && took < 3.0);
    uint8_t buf[8];
    size_t got = 0;
    char msg[128];
    ASSERT_EQ(e2e_read(&c, sizeof buf, "0.1", buf, &got, msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "IoTimeoutError");
    pid_t qemu = qemu_of(boards[b].hang);
    ASSERT_TRUE(e2e_call_ok(&c, "close_transport", "{}"));
    ASSERT_FALSE(qemu_procs_alive(qemu));
    ASSERT_TRUE(e2e_close_server(&c));
}

static void test_a_write_the_board_does_not_take_times_out_saying_how_much_went(void)
{
    FOR_EACH_KIND(b)
        a_write_the_board_does_not_take_times_out_saying_how_much_went_on(b);
}

/* The test double prints its banner and never calls link_init. */
static void a_firmware_that_never_brings_the_link_up_fails_open_in_time_saying_so_on(int b)
{
    struct rpc_client c;
    ASSERT_TRUE_FATAL(e2e_spawn(&c, boards[b].no_link));
    ASSERT_TRUE_FATAL(e2e_call_ok(&c, "flash", OPTS));
    char want[160];
    snprintf(want, sizeof want, "the firmware printed its banner but never brought up the fast "
             "link (%s) within 10 s", boards[b].label);
    double t0 = mono_now_s();
    e2e_call_fails(&c, "open_transport", OPTS, "calling method open_transport", want);
    double took = mono_now_s() - t0;
    fprintf(stderr, "\n    %s: open_transport failed after %.1f s", board_list.name[b], took);
    ASSERT_TRUE(took >= 9.5 && took < SESS_BANNER_SEC + 5.0);
    ASSERT_EQ(qemu_procs_children(c.pid), 0); /* the board is off again */
    char lock[PATH_MAX + 32];
    snprintf(lock, sizeof lock, "%s/flash/board.lock", boards[b].no_link);
    ASSERT_EQ(qemu_of(boards[b].no_link), 0);
    /* the server is fine: the echo project's server next door still answers, this one too */
    ASSERT_TRUE(e2e_call_ok(&c, "server_info_query", "{\"tvm_version\":\"0.18.0\"}"));
    ASSERT_TRUE(e2e_close_server(&c));
}

static void test_a_firmware_that_never_brings_the_link_up_fails_open_in_time_saying_so(void)
{
    FOR_EACH_BOARD(b)
        a_firmware_that_never_brings_the_link_up_fails_open_in_time_saying_so_on(b);
}

/* abort_after.c: 16 bytes back, then an abort line on the UART and exit code 5. */
static void a_board_that_dies_is_transport_closed_with_its_exit_and_uart_line_on(int b)
{
    struct rpc_client c;
    ASSERT_TRUE_FATAL(open_board(&c, boards[b].abort, board_list.name[b]));
    ASSERT_TRUE(e2e_echo_random(&c, 16));
    uint8_t buf[16];
    size_t got = 0;
    char msg[128];
    cJSON *reply = NULL;
    for (int i = 0; i < 100 && !reply; i++) { /* until the board is seen gone */
        reply = e2e_call(&c, "read_transport", "{\"n\":16,\"timeout_sec\":0.1}");
        if (reply && !strcmp(e2e_message_of(reply), "IoTimeoutError")) {
            cJSON_Delete(reply);
            reply = NULL;
        }
    }
    ASSERT_STR_EQ(e2e_message_of(reply), "TransportClosedError");
    const char *tb = e2e_traceback_of(reply);
    ASSERT_STR_CONTAINS(tb, "exited with code 5");
    ASSERT_STR_CONTAINS(tb, "its UART's last line: #microtvm-qemu:abort:test:after "
                                  "16 bytes");
    fprintf(stderr, "\n    %s: %s", board_list.name[b], tb);
    cJSON_Delete(reply);
    /* every later call says so too, and the server still serves */
    ASSERT_EQ(e2e_read(&c, sizeof buf, "0", buf, &got, msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "TransportClosedError");
    ASSERT_EQ(qemu_procs_children(c.pid), 0);
    ASSERT_TRUE(e2e_close_server(&c));
}

static void test_a_board_that_dies_is_transport_closed_with_its_exit_and_uart_line(void)
{
    FOR_EACH_BOARD(b)
        a_board_that_dies_is_transport_closed_with_its_exit_and_uart_line_on(b);
}

static void qemu_killed_mid_read_is_transport_closed_and_the_board_boots_again_on(int b)
{
    struct rpc_client c;
    struct err err = {0};
    ASSERT_TRUE_FATAL(open_board(&c, boards[b].echo, board_list.name[b]));
    pid_t qemu = qemu_of(boards[b].echo);
    ASSERT_TRUE_FATAL(qemu > 0);
    long id = e2e_send_call(&c, "read_transport", "{\"n\":16,\"timeout_sec\":null}");
    ASSERT_TRUE_FATAL(id > 0);
    char *line = NULL;
    ASSERT_EQ(rpc_client_read_line(&c, 500, &line, &err), ERR_TIMEOUT); /* waiting */
    free(line);
    ASSERT_EQ(kill(qemu, SIGKILL), 0);
    cJSON *reply = NULL;
    ASSERT_EQ_FATAL(rpc_client_read_reply(&c, 5000, &reply, &err), 0);
    ASSERT_STR_EQ(e2e_message_of(reply), "TransportClosedError");
    ASSERT_STR_CONTAINS(e2e_traceback_of(reply), "killed by signal 9");
    cJSON_Delete(reply);
    ASSERT_FALSE(qemu_procs_alive(qemu));
    char banner[128];
    banner_of(board_list.name[b], banner, sizeof banner);
    ASSERT_TRUE_FATAL(e2e_call_ok(&c, "open_transport", OPTS));
    ASSERT_TRUE(e2e_banner_first(&c, banner));
    ASSERT_TRUE(qemu_of(boards[b].echo) > 0 && qemu_of(boards[b].echo) != qemu);
    ASSERT_TRUE(e2e_echo_random(&c, 4096));
    ASSERT_TRUE(e2e_close_server(&c));
}

static void test_qemu_killed_mid_read_is_transport_closed_and_the_board_boots_again(void)
{
    FOR_EACH_KIND(b)
        qemu_killed_mid_read_is_transport_closed_and_the_board_boots_again_on(b);
}

/* reset_on_r.c: the byte 'R' resets the board. The transport stays open; the reboot's banner
 * goes to the UART (the server's log) and its link-up line comes on the link, then the board
 * echoes again. */
static void a_board_that_resets_itself_keeps_its_transport_on(int b)
{
    struct rpc_client c;
    ASSERT_TRUE_FATAL(open_board(&c, boards[b].reset, board_list.name[b]));
    ASSERT_TRUE(e2e_echo_random(&c, 4096)); /* never an 'R' in there */
    char *params = e2e_write_params((const uint8_t *)"R", 1, "5");
    ASSERT_TRUE(e2e_call_ok(&c, "write_transport", params));
    free(params);
    static const char want[] = "R" LINK_UP_MARKER;
    uint8_t buf[64];
    char msg[128];
    size_t got = e2e_read_n(&c, buf, sizeof want - 1, msg, sizeof msg);
    ASSERT_TRUE(got == sizeof want - 1 && memcmp(buf, want, got) == 0);
    if (got != sizeof want - 1 || memcmp(buf, want, got))
        fprintf(stderr, "\n    after the reset: %zu bytes \"%.*s\" (%s)", got, (int)got, buf, msg);
    ASSERT_TRUE(e2e_echo_random(&c, 4096));
    ASSERT_TRUE(e2e_close_server(&c));
}

static void test_a_board_that_resets_itself_keeps_its_transport(void)
{
    FOR_EACH_KIND(b)
        a_board_that_resets_itself_keeps_its_transport_on(b);
}

static void close_is_idempotent_and_reopen_and_open_on_open_boot_again_on(int b)
{
    struct rpc_client c;
    char banner[128];
    banner_of(board_list.name[b], banner, sizeof banner);
    ASSERT_TRUE_FATAL(open_board(&c, boards[b].echo, board_list.name[b]));
    pid_t first = qemu_of(boards[b].echo);
    ASSERT_TRUE(e2e_call_ok(&c, "close_transport", "{}"));
    ASSERT_TRUE(e2e_call_ok(&c, "close_transport", "{}"));
    ASSERT_FALSE(qemu_procs_alive(first));
    uint8_t buf[4];
    size_t got = 0;
    char msg[128];
    ASSERT_EQ(e2e_read(&c, sizeof buf, "0", buf, &got, msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "TransportClosedError");
    ASSERT_TRUE_FATAL(e2e_call_ok(&c, "open_transport", OPTS)); /* boots the flash image again */
    ASSERT_TRUE(e2e_banner_first(&c, banner));
    ASSERT_TRUE(e2e_echo_random(&c, 64 * 1024));
    /* opening an open transport restarts the board: a fresh banner first, then the link */
    ASSERT_TRUE_FATAL(e2e_call_ok(&c, "open_transport", OPTS));
    ASSERT_TRUE(e2e_banner_first(&c, banner));
    ASSERT_TRUE(e2e_echo_random(&c, 64 * 1024));
    ASSERT_TRUE(e2e_close_server(&c));
    ASSERT_EQ(qemu_of(boards[b].echo), 0);
}

static void test_close_is_idempotent_and_reopen_and_open_on_open_boot_again(void)
{
    FOR_EACH_KIND(b)
        close_is_idempotent_and_reopen_and_open_on_open_boot_again_on(b);
}

static void a_second_server_on_the_same_board_is_told_it_is_in_use_on(int b)
{
    struct rpc_client a, c;
    ASSERT_TRUE_FATAL(open_board(&a, boards[b].echo, board_list.name[b]));
    ASSERT_TRUE_FATAL(e2e_spawn(&c, boards[b].echo));
    char want[128];
    snprintf(want, sizeof want, "board in use by another server (pid %ld)", (long)a.pid);
    e2e_call_fails(&c, "open_transport", OPTS, "calling method open_transport", want);
    ASSERT_TRUE(e2e_echo_random(&a, 4096)); /* the first session is untouched */
    ASSERT_TRUE(e2e_close_server(&a));
    char banner[128];
    banner_of(board_list.name[b], banner, sizeof banner);
    ASSERT_TRUE(e2e_call_ok(&c, "open_transport", OPTS));
    ASSERT_TRUE(e2e_banner_first(&c, banner));
    ASSERT_TRUE(e2e_close_server(&c));
}

static void test_a_second_server_on_the_same_board_is_told_it_is_in_use(void)
{
    FOR_EACH_KIND(b)
        a_second_server_on_the_same_board_is_told_it_is_in_use_on(b);
}

static void a_server_killed_with_sigkill_leaves_no_qemu_socket_or_lock_on(int b)
{
    struct rpc_client c;
    ASSERT_TRUE_FATAL(open_board(&c, boards[b].echo, board_list.name[b]));
    ASSERT_TRUE(e2e_echo_random(&c, 4096));
    pid_t qemu = qemu_of(boards[b].echo);
    ASSERT_TRUE_FATAL(qemu > 0);
    rpc_client_kill(&c);
    ASSERT_TRUE(qemu_procs_orphan_ends(qemu, 3000));
    DIR *d = opendir(rundir);
    int entries = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        entries += e->d_name[0] != '.';
    if (d)
        closedir(d);
    ASSERT_EQ(entries, 0); /* no QMP socket or runtime directory left */
    /* the kernel dropped the lock */
    ASSERT_TRUE_FATAL(open_board(&c, boards[b].echo, board_list.name[b]));
    ASSERT_TRUE(e2e_close_server(&c));
}

static void test_a_server_killed_with_sigkill_leaves_no_qemu_socket_or_lock(void)
{
    FOR_EACH_KIND(b)
        a_server_killed_with_sigkill_leaves_no_qemu_socket_or_lock_on(b);
}

/* The driver handles both virtio-mmio transports: QEMU 7.2's default legacy one (every other
 * test) and the modern one, asked for here with -global virtio-mmio.force-legacy=false on the
 * emulator directly (the server never passes it). */
static void modern_virtio_mmio_on(int b)
{
    struct machine m;
    struct fast_link l;
    struct err err = {0};
    char path[PATH_MAX + 64], image[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/machines/%s.json", boards[b].echo, board_list.name[b]);
    snprintf(image, sizeof image, "%s/flash/firmware.elf", boards[b].echo);
    ASSERT_EQ_FATAL(mach_load(&m, path, &err), 0);
    ASSERT_EQ_FATAL(fast_link_open(&l, fast_link_kind_find(m.fast_link_kind), &err), 0);
    static const char *const modern[] = {"-global", "virtio-mmio.force-legacy=false", NULL};
    struct emu_config c;
    emu_config_init(&c);
    c.machine = &m;
    c.image = image;
    c.link_fd = l.qemu_fd;
    c.link_args = l.kind->qemu_args;
    c.extra_args = modern;
    struct emu *e = emu_start(&c, &err);
    ASSERT_NOT_NULL_FATAL(e);
    char banner[256], want[128];
    size_t got = 0;
    ASSERT_EQ(fast_link_start(&l, emu_exit_fd(e), &err), 0);
    ASSERT_EQ(emu_run(e, &err), 0);
    struct board_io uart;
    board_io_open(&uart, e);
    ASSERT_EQ(board_io_banner(&uart, banner, sizeof banner, &got, 10000, &err), 0);
    board_io_close(&uart);
    banner_of(board_list.name[b], want, sizeof want);
    ASSERT_TRUE(got == strlen(want) && memcmp(banner, want, got) == 0);
    /* the link's first line, then 64 KiB echoed byte for byte */
    struct sess__link link;
    sess__link_init(&link, 0);
    link.fd = l.stream_fd;
    link.exit_fd = emu_exit_fd(e);
    ASSERT_EQ(sess__link_wait_for(&link, 0, "\n", 256, 10.0, &err),
              (ssize_t)sizeof LINK_UP_MARKER - 1);
    uint8_t line[64];
    size_t n = 0;
    ASSERT_EQ(sess__link_read(&link, line, sizeof LINK_UP_MARKER - 1, 1.0, &n, &err), 0);
    ASSERT_TRUE(n == sizeof LINK_UP_MARKER - 1 && !memcmp(line, LINK_UP_MARKER, n));
    size_t size = 64 * 1024;
    uint8_t *out = malloc(size), *in = malloc(size);
    ASSERT_TRUE_FATAL(out && in);
    for (size_t i = 0; i < size; i++)
        out[i] = (uint8_t)(i * 131u + (i >> 9));
    ASSERT_EQ(sess__link_write(&link, out, size, 10.0, &err), 0);
    size_t all = 0;
    while (all < size && sess__link_read(&link, in + all, size - all, 10.0, &n, &err) == 0)
        all += n;
    ASSERT_TRUE(all == size && memcmp(in, out, size) == 0);
    fprintf(stderr, "\n    modern transport: link up, %zu of %zu bytes echoed intact",
            all == size && !memcmp(in, out, size) ? all : 0, size);
    free(out);
    free(in);
    sess__link_close(&link);
    emu_free(e);
    fast_link_close(&l);
}

static void test_the_driver_also_runs_on_the_modern_virtio_mmio_transport(void)
{
    FOR_EACH_KIND(b)
        if (!strcmp(boards[b].kind, "virtio_serial"))
            modern_virtio_mmio_on(b);
}

/* ---- a hostile guest on the link ---- */

/* The server's resident memory in KiB (VmRSS), or -1. */
static long rss_kib(pid_t pid)
{
    char path[64], *text = NULL;
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    if (fs_read_file(path, 0, &text, NULL, NULL) < 0)
        return -1;
    const char *v = strstr(text, "VmRSS:");
    long kib = v ? strtol(v + 6, NULL, 10) : -1;
    free(text);
    return kib;
}

/* lan9118_flood.c, once it has echoed FLOOD!: 20000 frames past the protocol (junk, lies, oversized, HELLOs of new
 * sessions), then the link brought up again. The server keeps serving all along, the stream
 * holds nothing of the flood (the next bytes are the new session's link-up line), its memory
 * stays put, and the new session echoes byte-exact. */
static void a_flooding_guest_cannot_wedge_or_grow_the_server_on(int b)
{
    struct rpc_client c;
    ASSERT_TRUE_FATAL(open_board(&c, boards[b].flood, board_list.name[b]));
    ASSERT_TRUE(e2e_echo_random(&c, 4096));
    long before = rss_kib(c.pid);
    char *params = e2e_write_params((const uint8_t *)"FLOOD!", 6, "5");
    ASSERT_TRUE(e2e_call_ok(&c, "write_transport", params));
    free(params);
    uint8_t echo[6];
    char msg[128];
    ASSERT_TRUE(e2e_read_n(&c, echo, 6, msg, sizeof msg) == 6 && !memcmp(echo, "FLOOD!", 6));
    /* while it floods: every call answered, and nothing but the link-up line comes */
    static const char marker[] = LINK_UP_MARKER;
    uint8_t got[sizeof marker];
    size_t have = 0, n = 0;
    int calls = 0;
    double t0 = mono_now_s();
    while (have < sizeof marker - 1 && mono_now_s() - t0 < 60) {
        ASSERT_TRUE_FATAL(e2e_call_ok(&c, "server_info_query", "{\"tvm_version\":\"0.18.0\"}"));
        calls++;
        if (e2e_read(&c, sizeof marker - 1 - have, "0.2", got + have, &n, msg, sizeof msg) == 0)
            have += n;
        else
            ASSERT_STR_EQ(msg, "IoTimeoutError");
    }
    double took = mono_now_s() - t0;
    ASSERT_TRUE(have == sizeof marker - 1 && memcmp(got, marker, have) == 0);
    ASSERT_TRUE(e2e_echo_random(&c, 64 * 1024));
    long after = rss_kib(c.pid);
    fprintf(stderr, "\n    %s: flood of 20000 frames, link up again after %.1f s, %d calls "
            "answered meanwhile, server RSS %ld -> %ld KiB", board_list.name[b], took, calls,
            before, after);
    ASSERT_TRUE(before > 0 && after > 0 && after - before < 16 * 1024);
    pid_t qemu = qemu_of(boards[b].flood);
    ASSERT_TRUE(e2e_close_server(&c));
    ASSERT_FALSE(qemu_procs_alive(qemu));
}

static void test_a_flooding_guest_cannot_wedge_or_grow_the_server(void)
{
    FOR_EACH_KIND(b)
        if (!strcmp(boards[b].kind, "lan9118"))
            a_flooding_guest_cannot_wedge_or_grow_the_server_on(b);
}

/* ---- the option, as a hostile caller gives it ---- */

static void test_link_values_other_than_uart_or_fast_are_refused_everywhere(void)
{
    int b = 0;
    while (!boards[b].usable) /* main checked that one is */
        b++;
    static const char *const hostile[] = {
        "socket,id=x,path=/tmp/mtq-hostile.sock", "tcp:127.0.0.1:4444", "/dev/ttyS0",
        "fast,fd=0", "virtio_serial", "FAST", "fast ", "uart;fast", "file:/etc/passwd"};
    struct rpc_client t;
    ASSERT_TRUE_FATAL(e2e_spawn(&t, MTQ_TEMPLATE_DIR));
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        char params[PATH_MAX + 512], dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/hostile-%zu", workdir, i);
        snprintf(params, sizeof params, "{\"model_library_format_path\":\"\","
                 "\"standalone_crt_dir\":\"\",\"project_dir\":\"%s\",\"options\":"
                 "{\"project_type\":\"echo\",\"board\":\"%s\",\"link\":\"%s\"}}", dir,
                 board_list.name[b], hostile[i]);
        e2e_call_fails(&t, "generate_project", params, "calling method generate_project",
                       "is not one of: uart, fast");
        ASSERT_FALSE(fs_exists(dir));
    }
    ASSERT_TRUE(e2e_close_server(&t));
    struct rpc_client c;
    ASSERT_TRUE_FATAL(e2e_spawn(&c, boards[b].echo));
    e2e_call_fails(&c, "open_transport", "{\"options\":{\"link\":\"tcp:127.0.0.1:1\"}}",
                   "calling method open_transport", "is not one of: uart, fast");
    e2e_call_fails(&c, "open_transport", "{\"options\":{\"link\":\"uart\"}}",
                   "calling method open_transport",
                   "option link: 'uart' differs from the 'fast' this project was generated");
    e2e_call_fails(&c, "build", "{\"options\":{\"link\":\"uart\"}}", "calling method build",
                   "generate the project again with link=uart");
    ASSERT_EQ(qemu_procs_children(c.pid), 0);
    ASSERT_TRUE(e2e_close_server(&c));
}

/* ---- the command line ---- */

/* An aot_standalone project of the digits model on board for link, built and flashed. */
static bool cli_aot_project(const char *board, const char *link, char *dir, size_t dirsz)
{
    char *out = NULL, *errs = NULL, opt[32];
    snprintf(dir, dirsz, "%s/aot-%s-%s", workdir, board, link);
    snprintf(opt, sizeof opt, "link=%s", link);
    const char *create[] = {"create", dir, "--board", board, "--type", "aot_standalone",
                            "--mlf", model_tar, "-o", opt, NULL};
    const char *build[] = {"build", dir, NULL}, *flash[] = {"flash", dir, NULL};
    bool ok = cli_run_binary(workdir, create, NULL, 120, &out, &errs) == 0;
    free(out);
    free(errs);
    ok = ok && cli_run_binary(workdir, build, NULL, 300, &out, &errs) == 0;
    if (!ok && errs)
        fprintf(stderr, "\n    %s\n", errs);
    free(out);
    free(errs);
    ok = ok && cli_run_binary(workdir, flash, NULL, 60, &out, &errs) == 0;
    free(out);
    free(errs);
    return ok;
}

/* run --json --input: the outputs' hex and the model's exact instruction count. */
static bool cli_run_input(const char *dir, const char *input, char *hex, size_t hexsz,
                          double *count)
{
    char *out = NULL, *errs = NULL;
    const char *run[] = {"run", dir, "--input", input, "--json", NULL};
    int st = cli_run_binary(workdir, run, NULL, 120, &out, &errs);
    cJSON *j = st == 0 ? cJSON_Parse(out) : NULL;
    const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(j, "outputs");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(outputs, "output"), "hex");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "count"), "value");
    bool ok = cJSON_IsString(h) && cJSON_IsNumber(n);
    if (ok) {
        snprintf(hex, hexsz, "%s", h->valuestring);
        *count = n->valuedouble;
    } else {
        fprintf(stderr, "\n    run %s: status %d\n%s\n%s\n", dir, st, out ? out : "",
                errs ? errs : "");
    }
    cJSON_Delete(j);
    free(out);
    free(errs);
    return ok;
}

static void run_with_an_input_over_the_fast_link_matches_the_uart_exactly_on(int b)
{
    char fast_dir[PATH_MAX], uart_dir[PATH_MAX], input[PATH_MAX];
    ASSERT_TRUE_FATAL(cli_aot_project(board_list.name[b], "fast", fast_dir, sizeof fast_dir));
    ASSERT_TRUE_FATAL(cli_aot_project(board_list.name[b], "uart", uart_dir, sizeof uart_dir));
    /* sample 7 of the digits set, and the output the generator recorded for it */
    char *text = NULL;
    ASSERT_EQ_FATAL(fs_read_file(MTQ_SOURCE_DIR "/tests/fixtures/mlf/"
                                       "digits_int8_samples.json", 0, &text, NULL, NULL), 0);
    cJSON *samples = cJSON_Parse(text);
    free(text);
    const cJSON *seven = cJSON_GetArrayItem(cJSON_GetObjectItem(samples, "samples"), 7);
    const char *in_hex = cJSON_GetObjectItem(seven, "input_hex")->valuestring;
    const char *want = cJSON_GetObjectItem(seven, "output_hex")->valuestring;
    uint8_t raw[256];
    size_t n = strlen(in_hex) / 2;
    ASSERT_TRUE_FATAL(n <= sizeof raw);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        sscanf(in_hex + 2 * i, "%2x", &v);
        raw[i] = (uint8_t)v;
    }
    snprintf(input, sizeof input, "%s/seven.bin", workdir);
    ASSERT_EQ_FATAL(fs_write_file(input, raw, n, NULL), 0);
    char fast_hex[256], uart_hex[256], again_hex[256];
    double fast_count = 0, uart_count = 0, again = 0;
    ASSERT_TRUE_FATAL(cli_run_input(fast_dir, input, fast_hex, sizeof fast_hex, &fast_count));
    ASSERT_TRUE_FATAL(cli_run_input(uart_dir, input, uart_hex, sizeof uart_hex, &uart_count));
    ASSERT_TRUE_FATAL(cli_run_input(fast_dir, input, again_hex, sizeof again_hex, &again));
    ASSERT_STR_EQ(fast_hex, want);
    ASSERT_STR_EQ(uart_hex, want);
    ASSERT_STR_EQ(again_hex, want);
    /* the driver leaves the model's data where the UART build has it: the same exact count */
    ASSERT_EQ(fast_count, uart_count);
    ASSERT_EQ(again, fast_count);
    fprintf(stderr, "\n    run --input on %s: %.0f instructions on both links", board_list.name[b],
            fast_count);
    cJSON_Delete(samples);
}

static void test_run_with_an_input_over_the_fast_link_matches_the_uart_exactly(void)
{
    FOR_EACH_BOARD(b)
        run_with_an_input_over_the_fast_link_matches_the_uart_exactly_on(b);
}

static void serial_echoes_a_pipe_over_the_fast_link_on(int b)
{
    char in[PATH_MAX], want[256], *out = NULL, *errs = NULL;
    const char text[] = "hello, fast board\nsecond line\n";
    snprintf(in, sizeof in, "%s/serial-in", workdir);
    ASSERT_EQ_FATAL(fs_write_file(in, text, sizeof text - 1, NULL), 0);
    const char *args[] = {"serial", boards[b].echo, NULL};
    ASSERT_EQ(cli_run_binary(workdir, args, in, 60, &out, &errs), 0);
    banner_of(board_list.name[b], want, sizeof want);
    strncat(want, text, sizeof want - strlen(want) - 1);
    ASSERT_STR_EQ(out, want);
    free(out);
    free(errs);
}

static void test_serial_echoes_a_pipe_over_the_fast_link(void)
{
    FOR_EACH_KIND(b)
        serial_echoes_a_pipe_over_the_fast_link_on(b);
}

/* The demo on the fast link: the sample model's ten images, every prediction right and
 * bit-exact, as on the UART. */
static void the_demo_runs_over_the_fast_link_on(int b)
{
    char *out = NULL, *errs = NULL;
    const char *args[] = {"demo", "--board", board_list.name[b], "--link", "fast", NULL};
    int st = cli_run_binary(workdir, args, NULL, 300, &out, &errs);
    ASSERT_EQ(st, 0);
    char row[64];
    snprintf(row, sizeof row, "\n%s ", board_list.name[b]);
    const char *r = out ? strstr(out, row) : NULL;
    ASSERT_TRUE(r && strstr(r, " 10/10 ") && strstr(strstr(r, " 10/10 ") + 1, " 10/10 "));
    if (st != 0 || !r)
        fprintf(stderr, "\n%s\n%s\n", out ? out : "", errs ? errs : "");
    free(out);
    free(errs);
}

static void test_the_demo_runs_over_the_fast_link(void)
{
    FOR_EACH_KIND(b)
        the_demo_runs_over_the_fast_link_on(b);
}

/* ---- setup ---- */

/* The board can build and boot here, and has a fast link this server drives. */
static bool board_usable(const char *name, struct board *d, char *why, size_t whysz)
{
    struct machine m;
    if (!boards_can_build_and_boot(name, &m, why, whysz))
        return false;
    const struct fast_link_kind *k = mach_has_fast_link(&m) ? fast_link_kind_find(m.fast_link_kind)
                                                             : NULL;
    if (!k) {
        snprintf(why, whysz, "it has no fast link this server drives");
        return false;
    }
    d->kind = k->name; /* the table's strings: they outlive m */
    d->label = k->label;
    return true;
}

static int make_projects(void)
{
    char fixture[PATH_MAX];
    snprintf(model_tar, sizeof model_tar, "%s/digits_int8.tar", workdir);
    if (mlf_fixture_path("digits_int8", fixture, sizeof fixture, NULL) < 0 ||
        mlf_make_tar(fixture, model_tar, NULL) < 0)
        return -1;
    FOR_EACH_BOARD(b) {
        struct board *d = &boards[b];
        const char *n = board_list.name[b];
        snprintf(d->echo, sizeof d->echo, "%s/echo-%s", workdir, n);
        snprintf(d->no_link, sizeof d->no_link, "%s/no-link-up-%s", workdir, n);
        snprintf(d->abort, sizeof d->abort, "%s/abort-after-%s", workdir, n);
        if (e2e_make_echo_project_with(d->echo, n, NULL, FAST) < 0 ||
            e2e_make_echo_project_with(d->no_link, n, "fast_link_firmware/no_link_up.c",
                                       FAST) < 0 ||
            e2e_make_echo_project_with(d->abort, n, "fast_link_firmware/abort_after.c",
                                       FAST) < 0)
            return -1;
        if (!d->kind_first)
            continue;
        snprintf(d->hang, sizeof d->hang, "%s/hang-%s", workdir, n);
        snprintf(d->reset, sizeof d->reset, "%s/reset-%s", workdir, n);
        if (e2e_make_echo_project_with(d->hang, n, "fast_link_firmware/hang.c", FAST) < 0 ||
            e2e_make_echo_project_with(d->reset, n, "reset_on_r.c", FAST) < 0)
            return -1;
        if (strcmp(d->kind, "lan9118") != 0)
            continue;
        snprintf(d->flood, sizeof d->flood, "%s/flood-%s", workdir, n);
        if (e2e_make_echo_project_with(d->flood, n, "fast_link_firmware/lan9118_flood.c",
                                       FAST) < 0)
            return -1;
    }
    return 0;
}

static int suite_clean(void)
{
    return fs_remove_tree(workdir, NULL);
}

/* CUnit runs no cleanup after a failed init: a failure removes the scratch directory here. */
static int suite_init(void)
{
    if (scratch_make(workdir, rundir, sizeof rundir, NULL, 0) == 0 && make_projects() == 0)
        return 0;
    suite_clean();
    return -1;
}

int test_register(void)
{
    int usable = 0;
    if (!fs_exists(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh")) {
        printf("e2e_fast_link: skipped: no template at %s (build the template_project "
               "target)\n", MTQ_TEMPLATE_DIR);
        return TEST_SKIP;
    }
    struct err err = {0};
    if (boards_list(&board_list, &err) < 0) {
        printf("e2e_fast_link: %s\n", err.msg);
        return 1;
    }
    for (int b = 0; b < (int)board_list.n; b++) {
        char why[512];
        if (board_usable(board_list.name[b], &boards[b], why, sizeof why)) {
            boards[b].usable = true;
            boards[b].kind_first = true;
            for (int a = 0; a < b; a++)
                if (boards[a].usable && !strcmp(boards[a].kind, boards[b].kind))
                    boards[b].kind_first = false;
            usable++;
        } else {
            printf("e2e_fast_link: skipping %s: %s\n", board_list.name[b], why);
        }
    }
    if (usable == 0) {
        printf("e2e_fast_link: skipped: no board with a fast link can run here\n");
        return TEST_SKIP;
    }
    /* orphans (a SIGKILLed server's QEMU) come to us, so the test can reap and check them */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    CU_pSuite s = CU_add_suite("e2e_fast_link", suite_init, suite_clean);
    CU_ADD_TEST(s, test_every_fast_board_hands_its_banner_first_and_echoes_a_mebibyte_each_way);
    CU_ADD_TEST(s, test_read_timeouts_give_io_timeout_in_time_and_null_waits_for_data);
    CU_ADD_TEST(s, test_a_write_the_board_does_not_take_times_out_saying_how_much_went);
    CU_ADD_TEST(s, test_a_firmware_that_never_brings_the_link_up_fails_open_in_time_saying_so);
    CU_ADD_TEST(s, test_a_board_that_dies_is_transport_closed_with_its_exit_and_uart_line);
    CU_ADD_TEST(s, test_qemu_killed_mid_read_is_transport_closed_and_the_board_boots_again);
    CU_ADD_TEST(s, test_a_board_that_resets_itself_keeps_its_transport);
    CU_ADD_TEST(s, test_close_is_idempotent_and_reopen_and_open_on_open_boot_again);
    CU_ADD_TEST(s, test_a_second_server_on_the_same_board_is_told_it_is_in_use);
    CU_ADD_TEST(s, test_a_server_killed_with_sigkill_leaves_no_qemu_socket_or_lock);
    CU_ADD_TEST(s, test_the_driver_also_runs_on_the_modern_virtio_mmio_transport);
    CU_ADD_TEST(s, test_a_flooding_guest_cannot_wedge_or_grow_the_server);
    CU_ADD_TEST(s, test_link_values_other_than_uart_or_fast_are_refused_everywhere);
    CU_ADD_TEST(s, test_run_with_an_input_over_the_fast_link_matches_the_uart_exactly);
    CU_ADD_TEST(s, test_serial_echoes_a_pipe_over_the_fast_link);
    CU_ADD_TEST(s, test_the_demo_runs_over_the_fast_link);
    return TEST_RUN;
}
