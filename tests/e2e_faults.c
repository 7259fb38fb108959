/*
 * Faults end to end (docs/RELIABILITY.md has the results): the real server, started as TVM starts
 * it, on real QEMU boards running the echo firmware and the faulty ones of
 * tests/fixtures/faulty_firmware/ (a hung board, one that exits mid-session, one that resets
 * itself). QEMU killed mid-read and mid-write, QEMU failing to start, the server killed with
 * SIGKILL and SIGTERM during each method, the client going away mid-request and mid-reply. After
 * each: the right error, no process left that mentions the test's directory (QEMU, CMake, Ninja,
 * the compiler), no QMP socket or runtime directory, no temporary file, and a fresh server works on
 * the same project. Exits 77 when the mps2-an385 toolchain or QEMU is missing.
 */
#include "session_internal.h"

#include "asserts.h"
#include "b85.h"
#include "e2e_rpc.h"
#include "fs.h"
#include "fwbuild.h"
#include "mlf.h"
#include "qemu_procs.h"
#include "rpc_client.h"
#include "runner.h"
#include "scratch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BOARD "mps2-an385"
#define BANNER "#microtvm-qemu:echo:" BOARD ":picolibc\n"
#define OPTS "{\"options\":{}}"

/* Suite fixtures: the scratch directory (projects, cache, a private $XDG_RUNTIME_DIR) and one
 * project per firmware, generated and built through the server in suite_init. */
static char workdir[] = "/tmp/mtq-e2e-faults-XXXXXX";
static char rundir[sizeof workdir + 8];
static char echo_proj[PATH_MAX], hang_proj[PATH_MAX], exit_proj[PATH_MAX], reset_proj[PATH_MAX];

/* ---- helpers (what must be gone) ---- */

/* Waits up to timeout_ms for every process but except mentioning workdir to end; prints a
 * survivor. */
static bool no_process_left(pid_t except, int timeout_ms)
{
    char first[512];
    for (int waited = 0;; waited += 20) {
        int n = qemu_procs_mentioning(workdir, except, first, sizeof first);
        if (n == 0)
            return true;
        if (waited >= timeout_ms) {
            fprintf(stderr, "\n    %d processes left, e.g. %s\n", n, first);
            return false;
        }
        usleep(20000);
    }
}

/* QEMU's pid as the board lock names it (0: none). */
static pid_t qemu_of(const char *proj)
{
    char path[PATH_MAX + 32];
    pid_t q = 0;
    snprintf(path, sizeof path, "%s/flash/board.lock", proj);
    if (sess__lock_read(path, NULL, &q, NULL) < 0)
        return 0;
    return q;
}

/* How many entries the runtime directory holds; names them and removes them, so that one
 * test's leak is not blamed on the next. */
static int rundir_leftovers(void)
{
    DIR *d = opendir(rundir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", rundir, e->d_name);
        char sock[PATH_MAX + 16];
        snprintf(sock, sizeof sock, "%s/qmp.sock", path);
        fprintf(stderr, "\n    left in the runtime directory: %s%s", e->d_name,
                fs_exists(sock) ? " (with qmp.sock)" : "");
        fs_remove_tree(path, NULL);
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* Everything that must be gone after a fault, for project proj. rundir_leaks: how many
 * runtime directories may be left (reported, then removed): a server SIGKILLed while QEMU
 * starts (between the directory's creation and QMP's answer, ~0.1 s) cannot remove it; see
 * docs/RELIABILITY.md. */
static void assert_nothing_left(const char *proj, int rundir_leaks)
{
    ASSERT_TRUE(no_process_left(-1, 5000));
    ASSERT_LE(rundir_leftovers(), rundir_leaks);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/flash/.firmware.elf.tmp", proj);
    ASSERT_FALSE(fs_exists(path));
    pid_t qemu = qemu_of(proj);
    if (qemu > 0)
        ASSERT_TRUE(qemu_procs_orphan_ends(qemu, 3000));
}

/* A fresh server on proj builds, flashes, opens, echoes and closes: the project survived. */
static bool fresh_server_works(const char *proj)
{
    struct rpc_client c;
    if (!e2e_spawn(&c, proj))
        return false;
    bool ok = e2e_call_ok(&c, "build", OPTS) && e2e_call_ok(&c, "flash", OPTS) &&
              e2e_call_ok(&c, "open_transport", OPTS) && e2e_banner_first(&c, BANNER) &&
              e2e_echo_random(&c, 64) &&
              e2e_call_ok(&c, "close_transport", "{}");
    ok = e2e_close_server(&c) && ok;
    return ok;
}

/* A server on proj with its board flashed, the transport open and the banner read. */
static void open_session(struct rpc_client *c, const char *proj)
{
    ASSERT_TRUE_FATAL(e2e_spawn(c, proj));
    ASSERT_TRUE_FATAL(e2e_call_ok(c, "flash", OPTS) && e2e_call_ok(c, "open_transport", OPTS));
    ASSERT_TRUE_FATAL(e2e_banner_first(c, BANNER));
}

/* ---- QEMU dying or failing ---- */

static void test_qemu_killed_mid_write_is_transport_closed_and_nothing_is_left(void)
{
    struct rpc_client c;
    struct err err = {0};
    open_session(&c, hang_proj); /* the hung board takes almost nothing: the write waits */
    pid_t qemu = qemu_of(hang_proj);
    ASSERT_GT_FATAL(qemu, 0);
    size_t n = 64 * 1024;
    uint8_t *data = calloc(1, n);
    char *params = e2e_write_params(data, n, "null");
    ASSERT_GT_FATAL(e2e_send_call(&c, "write_transport", params), 0);
    free(params);
    free(data);
    char *line = NULL;
    ASSERT_EQ(rpc_client_read_line(&c, 500, &line, &err), ERR_TIMEOUT); /* still writing */
    free(line);
    ASSERT_EQ(kill(qemu, SIGKILL), 0);
    cJSON *reply = NULL;
    ASSERT_OK_FATAL(rpc_client_read_reply(&c, 10000, &reply, &err), &err);
    ASSERT_STR_EQ(e2e_message_of(reply), "TransportClosedError");
    ASSERT_STR_CONTAINS(e2e_traceback_of(reply), "killed by signal 9");
    cJSON_Delete(reply);
    char msg[128];
    uint8_t buf[8];
    size_t got = 0;
    ASSERT_EQ(e2e_read(&c, 8, "0", buf, &got, msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "TransportClosedError");
    ASSERT_TRUE(e2e_close_server(&c));
    assert_nothing_left(hang_proj, 0);
}

static void test_qemu_killed_mid_read_with_a_timeout_is_transport_closed_at_once(void)
{
    struct rpc_client c;
    struct err err = {0};
    open_session(&c, hang_proj);
    pid_t qemu = qemu_of(hang_proj);
    ASSERT_GT_FATAL(qemu, 0);
    ASSERT_GT_FATAL(e2e_send_call(&c, "read_transport", "{\"n\":64,\"timeout_sec\":30}"), 0);
    usleep(300000);
    double t0 = mono_now_s();
    ASSERT_EQ(kill(qemu, SIGKILL), 0);
    cJSON *reply = NULL;
    ASSERT_OK_FATAL(rpc_client_read_reply(&c, 10000, &reply, &err), &err);
    double took = mono_now_s() - t0;
    ASSERT_STR_EQ(e2e_message_of(reply), "TransportClosedError");
    ASSERT_LT(took, 5.0); /* not the 30 s timeout: the server saw QEMU go */
    fprintf(stderr, "\n    read ended %.0f ms after QEMU was killed", took * 1e3);
    cJSON_Delete(reply);
    /* the project's board boots again in the same server */
    ASSERT_TRUE(e2e_call_ok(&c, "open_transport", OPTS));
    ASSERT_TRUE(e2e_banner_first(&c, BANNER));
    ASSERT_TRUE(e2e_close_server(&c));
    assert_nothing_left(hang_proj, 0);
}

/* Rewrites the project's machine file with the QEMU machine and CPU (NULL: the machine's own)
 * given. */
static void set_qemu(const char *proj, const char *machine, const char *cpu)
{
    char path[PATH_MAX + 32], *text = NULL;
    snprintf(path, sizeof path, "%s/machines/" BOARD ".json", proj);
    ASSERT_EQ_FATAL(fs_read_file(path, 0, &text, NULL, NULL), 0);
    cJSON *j = cJSON_Parse(text);
    free(text);
    ASSERT_NOT_NULL_FATAL(j);
    cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "qemu");
    cJSON_ReplaceItemInObjectCaseSensitive(q, "machine", cJSON_CreateString(machine));
    cJSON *args = cJSON_CreateArray();
    if (cpu) {
        cJSON_AddItemToArray(args, cJSON_CreateString("-cpu"));
        cJSON_AddItemToArray(args, cJSON_CreateString(cpu));
    }
    cJSON_ReplaceItemInObjectCaseSensitive(q, "args", args);
    text = cJSON_Print(j);
    ASSERT_EQ(fs_write_file(path, text, strlen(text), NULL), 0);
    free(text);
    cJSON_Delete(j);
}

static void test_qemu_failing_to_start_is_named_with_qemus_words_and_leaves_nothing(void)
{
    struct rpc_client c;
    ASSERT_TRUE_FATAL(e2e_spawn(&c, echo_proj));
    ASSERT_TRUE_FATAL(e2e_call_ok(&c, "flash", OPTS));
    ASSERT_TRUE(e2e_call_ok(&c, "close_transport", "{}")); /* powers the board off */
    set_qemu(echo_proj, BOARD, "no-such-cpu");
    e2e_call_fails(&c, "open_transport", OPTS, "calling method open_transport",
               "powering on the " BOARD " board");
    cJSON *reply = e2e_call(&c, "open_transport", OPTS);
    ASSERT_STR_CONTAINS(e2e_traceback_of(reply), "no-such-cpu");
    cJSON_Delete(reply);
    set_qemu(echo_proj, "no-such-machine", NULL);
    reply = e2e_call(&c, "flash", OPTS);
    ASSERT_STR_EQ(e2e_message_of(reply), "calling method flash");
    ASSERT_STR_CONTAINS(e2e_traceback_of(reply), "unsupported machine type");
    fprintf(stderr, "\n    %s", e2e_traceback_of(reply));
    cJSON_Delete(reply);
    ASSERT_TRUE(no_process_left(c.pid, 3000));
    ASSERT_EQ(rundir_leftovers(), 0);
    /* the same server boots the board once the machine file is right again */
    set_qemu(echo_proj, BOARD, NULL);
    ASSERT_TRUE(e2e_call_ok(&c, "flash", OPTS) && e2e_call_ok(&c, "open_transport", OPTS));
    ASSERT_TRUE(e2e_banner_first(&c, BANNER));
    ASSERT_TRUE(e2e_echo_random(&c, 64));
    ASSERT_TRUE(e2e_close_server(&c));
    assert_nothing_left(echo_proj, 0);
}

/* ---- the firmware misbehaving ---- */

static void test_a_hung_firmware_times_out_reads_and_writes_and_still_closes(void)
{
    struct rpc_client c;
    open_session(&c, hang_proj);
    pid_t qemu = qemu_of(hang_proj);
    uint8_t buf[64];
    size_t got = 0;
    char msg[128];
    double t0 = mono_now_s();
    ASSERT_EQ(e2e_read(&c, sizeof buf, "0.5", buf, &got, msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "IoTimeoutError");
    ASSERT_GE(mono_now_s() - t0, 0.5);
    size_t n = 256 * 1024;
    uint8_t *data = calloc(1, n);
    char *params = e2e_write_params(data, n, "1");
    t0 = mono_now_s();
    cJSON *reply = e2e_call(&c, "write_transport", params);
    double took = mono_now_s() - t0;
    ASSERT_STR_EQ(e2e_message_of(reply), "IoTimeoutError");
    ASSERT_TRUE(took >= 1.0 && took < 10.0);
    fprintf(stderr, "\n    write timed out after %.2f s", took);
    cJSON_Delete(reply);
    free(params);
    free(data);
    t0 = mono_now_s();
    ASSERT_TRUE(e2e_call_ok(&c, "close_transport", "{}"));
    fprintf(stderr, ", close took %.0f ms", (mono_now_s() - t0) * 1e3);
    ASSERT_FALSE(qemu_procs_alive(qemu));
    ASSERT_EQ(e2e_read(&c, 8, "0", buf, &got, msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "TransportClosedError");
    ASSERT_TRUE(e2e_close_server(&c));
    assert_nothing_left(hang_proj, 0);
}

static void test_a_firmware_that_exits_mid_session_hands_over_its_bytes_then_closed(void)
{
    struct rpc_client c;
    open_session(&c, exit_proj);
    /* 16 bytes come back, then the firmware exits with code 3 */
    const uint8_t out[16] = "0123456789abcdef";
    char *params = e2e_write_params(out, sizeof out, "10");
    ASSERT_TRUE(e2e_call_ok(&c, "write_transport", params));
    free(params);
    uint8_t in[16];
    char msg[128];
    ASSERT_EQ(e2e_read_n(&c, in, sizeof in, msg, sizeof msg), sizeof in);
    ASSERT_EQ(memcmp(in, out, sizeof in), 0);
    cJSON *reply = e2e_call(&c, "read_transport", "{\"n\":16,\"timeout_sec\":10}");
    ASSERT_STR_EQ(e2e_message_of(reply), "TransportClosedError");
    ASSERT_STR_CONTAINS(e2e_traceback_of(reply), "exited with code 3");
    cJSON_Delete(reply);
    params = e2e_write_params(out, 1, "1");
    e2e_call_fails(&c, "write_transport", params, "TransportClosedError", "exited with code 3");
    free(params);
    ASSERT_TRUE(no_process_left(c.pid, 3000)); /* reaped by the server at once */
    /* open_transport boots it again */
    ASSERT_TRUE(e2e_call_ok(&c, "open_transport", OPTS));
    ASSERT_TRUE(e2e_banner_first(&c, BANNER));
    ASSERT_TRUE(e2e_close_server(&c));
    assert_nothing_left(exit_proj, 0);
}

static void test_a_firmware_that_resets_itself_keeps_the_transport_open_and_talking(void)
{
    struct rpc_client c;
    open_session(&c, reset_proj);
    pid_t qemu = qemu_of(reset_proj);
    for (int round = 0; round < 3; round++) {
        const uint8_t out[] = "abcR";
        char *params = e2e_write_params(out, 4, "10");
        ASSERT_TRUE(e2e_call_ok(&c, "write_transport", params));
        free(params);
        /* the echo, then the banner of the new boot */
        size_t want = 4 + strlen(BANNER);
        uint8_t in[128];
        char msg[128];
        size_t got = e2e_read_n(&c, in, want, msg, sizeof msg);
        bool ok = got == want && !memcmp(in, "abcR", 4) && !memcmp(in + 4, BANNER, want - 4);
        if (!ok)
            fprintf(stderr, "\n    reset %d: \"%.*s\" (%s)\n", round, (int)got, in, msg);
        ASSERT_TRUE(ok);
        ASSERT_EQ(qemu_of(reset_proj), qemu); /* the same QEMU: a reset, not an exit */
        /* and input still reaches the new boot (QEMU_NOTES.md: input can stall after a boot) */
        double t0 = mono_now_s();
        ASSERT_TRUE(e2e_echo_random(&c, 256));
        fprintf(stderr, "\n    reset %d: 256 bytes echoed %.0f ms after the new banner", round,
                (mono_now_s() - t0) * 1e3);
    }
    ASSERT_TRUE(e2e_close_server(&c));
    assert_nothing_left(reset_proj, 0);
}

/* ---- the server killed during each method ---- */

struct kill_case {
    const char *method;
    int delay_ms;   /* how long after sending the request the signal comes */
    bool needs_open; /* flash + open_transport first */
    bool needs_flash;
};

static const struct kill_case KILL_CASES[] = {
    {"server_info_query", 0, false, false},
    {"generate_project", 30, false, false},
    {"build", 300, false, false},
    {"flash", 30, false, false},
    {"open_transport", 40, false, true},
    {"read_transport", 300, true, true},
    {"write_transport", 300, true, true},
    {"close_transport", 0, true, true},
};

/* Sends the case's request to a server in the state it needs, waits, signals it; returns the
 * server's wait status. gen_dir: where generate_project writes. */
static int kill_during(const struct kill_case *k, int sig, const char *gen_dir, const char *tar)
{
    struct rpc_client c;
    struct err err = {0};
    bool template = !strcmp(k->method, "generate_project");
    ASSERT_TRUE_FATAL(e2e_spawn(&c, template ? MTQ_TEMPLATE_DIR : echo_proj));
    if (k->needs_flash)
        ASSERT_TRUE_FATAL(e2e_call_ok(&c, "flash", OPTS));
    if (k->needs_open) {
        ASSERT_TRUE_FATAL(e2e_call_ok(&c, "open_transport", OPTS));
        ASSERT_TRUE_FATAL(e2e_banner_first(&c, BANNER));
    }
    char *params = NULL;
    if (template) {
        ASSERT_GT_FATAL(asprintf(&params, "{\"model_library_format_path\":\"%s\","
                                          "\"standalone_crt_dir\":\"\",\"project_dir\":\"%s\","
                                          "\"options\":{\"project_type\":\"aot_standalone\","
                                          "\"board\":\"" BOARD "\"}}", tar, gen_dir), 0);
    } else if (!strcmp(k->method, "build")) {
        /* make build compile: a changed source */
        char src[PATH_MAX + 32];
        snprintf(src, sizeof src, "%s/firmware/apps/echo.c", echo_proj);
        ASSERT_EQ(utimensat(AT_FDCWD, src, NULL, 0), 0);
        params = strdup(OPTS);
    } else if (!strcmp(k->method, "read_transport")) {
        params = strdup("{\"n\":64,\"timeout_sec\":null}");
    } else if (!strcmp(k->method, "write_transport")) {
        uint8_t *data = calloc(1, 512 * 1024); /* a minute's worth at the board's pace */
        params = e2e_write_params(data, 512 * 1024, "null");
        free(data);
    } else if (!strcmp(k->method, "server_info_query")) {
        params = strdup("{\"tvm_version\":\"0.18.0\"}");
    } else {
        params = strdup(!strcmp(k->method, "close_transport") ? "{}" : OPTS);
    }
    ASSERT_GT_FATAL(e2e_send_call(&c, k->method, params), 0);
    free(params);
    if (k->delay_ms)
        usleep((useconds_t)k->delay_ms * 1000u);
    ASSERT_EQ(kill(c.pid, sig), 0);
    int status = -1;
    /* SIGTERM lets a running build finish first: give it time */
    if (rpc_client_wait(&c, 60000, &status, &err) < 0)
        fprintf(stderr, "\n    %s: %s\n", k->method, err.msg);
    rpc_client_kill(&c);
    return status;
}

/* Removes (and reports) generate_project's hidden staging directories in workdir. */
static int remove_staging(const char *method, int sig)
{
    DIR *d = opendir(workdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] != '.' || !strstr(e->d_name, ".generating-"))
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", workdir, e->d_name);
        fprintf(stderr, "\n    %s, signal %d: staging directory %s left", method, sig,
                e->d_name);
        fs_remove_tree(path, NULL);
        n++;
    }
    if (d)
        closedir(d);
    return n;
}

static void kill_at_each_method(int sig)
{
    char fixture[PATH_MAX], tar[PATH_MAX];
    struct err err = {0};
    snprintf(tar, sizeof tar, "%s/digits.tar", workdir);
    if (!fs_exists(tar)) {
        ASSERT_OK_FATAL(mlf_fixture_path("digits_int8", fixture, sizeof fixture, &err), &err);
        ASSERT_OK_FATAL(mlf_make_tar(fixture, tar, &err), &err);
    }
    for (size_t i = 0; i < sizeof KILL_CASES / sizeof KILL_CASES[0]; i++) {
        const struct kill_case *k = &KILL_CASES[i];
        char gen_dir[PATH_MAX];
        snprintf(gen_dir, sizeof gen_dir, "%s/gen-%s-%d", workdir, k->method, sig);
        double t0 = mono_now_s();
        int status = kill_during(k, sig, gen_dir, tar);
        bool died = WIFSIGNALED(status) && WTERMSIG(status) == sig;
        if (!died)
            fprintf(stderr, "\n    %s: status 0x%x, want killed by signal %d\n", k->method,
                    status, sig);
        ASSERT_TRUE(died);
        double gone = mono_now_s() - t0;
        bool starting_qemu = !strcmp(k->method, "flash") || !strcmp(k->method, "open_transport");
        assert_nothing_left(echo_proj, sig == SIGKILL && starting_qemu ? 1 : 0);
        if (!strcmp(k->method, "generate_project")) {
            /* a project is there whole or not at all: never half of one */
            char pj[PATH_MAX + 16];
            snprintf(pj, sizeof pj, "%s/project.json", gen_dir);
            bool whole = fs_exists(pj), absent = !fs_exists(gen_dir);
            if (!whole && !absent)
                fprintf(stderr, "\n    %s is half a project after signal %d\n", gen_dir, sig);
            ASSERT_TRUE(whole || absent);
            /* beside it: nothing after SIGTERM (the server finishes the project, then stops);
             * after SIGKILL at most the hidden staging directory, which no retry meets */
            int staging = remove_staging(k->method, sig);
            ASSERT_TRUE(staging == 0 || (sig == SIGKILL && staging == 1));
            fs_remove_tree(gen_dir, NULL);
        }
        bool works = fresh_server_works(echo_proj);
        if (!works)
            fprintf(stderr, "\n    after %s killed by %d, a fresh server failed\n", k->method,
                    sig);
        ASSERT_TRUE(works);
        fprintf(stderr, "\n    %-18s signal %d: down in %.2f s, clean, fresh server ok", k->method,
                sig, gone);
    }
}

static void test_the_server_killed_with_sigkill_during_each_method_leaves_nothing(void)
{
    kill_at_each_method(SIGKILL);
}

static void test_the_server_stopped_with_sigterm_during_each_method_leaves_nothing(void)
{
    kill_at_each_method(SIGTERM);
}

/* ---- the client going away ---- */

/* TVM killed while a read waits with no timeout: both pipes close. The server must notice,
 * stop the board and exit, not wait forever on a silent board. */
static void test_the_client_dying_during_a_blocking_read_stops_the_server_and_qemu(void)
{
    struct rpc_client c;
    struct err err = {0};
    open_session(&c, hang_proj);
    pid_t qemu = qemu_of(hang_proj);
    ASSERT_GT_FATAL(e2e_send_call(&c, "read_transport", "{\"n\":64,\"timeout_sec\":null}"), 0);
    usleep(200000);
    close(c.from_server);
    c.from_server = -1;
    rpc_client_close_input(&c);
    int status = -1;
    double t0 = mono_now_s();
    ASSERT_OK(rpc_client_wait(&c, 10000, &status, &err), &err);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fprintf(stderr, "\n    server exited %.0f ms after the client went", (mono_now_s() - t0) * 1e3);
    rpc_client_kill(&c);
    ASSERT_FALSE(qemu_procs_alive(qemu) && qemu_procs_state(qemu) != 'Z');
    assert_nothing_left(hang_proj, 0);
}

/* The client closes only its request pipe while a read waits: that is EOF, so the server ends
 * the wait, still answers, stops the board and exits 0. */
static void test_the_request_pipe_closed_during_a_blocking_read_ends_it_and_the_server(void)
{
    struct rpc_client c;
    struct err err = {0};
    open_session(&c, hang_proj);
    ASSERT_GT_FATAL(e2e_send_call(&c, "read_transport", "{\"n\":64,\"timeout_sec\":null}"), 0);
    usleep(200000);
    rpc_client_close_input(&c);
    cJSON *reply = NULL;
    ASSERT_OK(rpc_client_read_reply(&c, 10000, &reply, &err), &err);
    ASSERT_STR_EQ(e2e_message_of(reply), "TransportClosedError");
    ASSERT_STR_CONTAINS(e2e_traceback_of(reply), "request pipe");
    cJSON_Delete(reply);
    int status = -1;
    ASSERT_OK(rpc_client_wait(&c, 10000, &status, &err), &err);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rpc_client_kill(&c);
    assert_nothing_left(hang_proj, 0);
}

/* The reply pipe closed while a reply larger than the pipe's buffer is being written: the
 * server's write fails with EPIPE in the middle of the line, and it stops cleanly. */
static void test_the_reply_pipe_closed_mid_reply_stops_the_server_cleanly(void)
{
    struct rpc_client c;
    struct err err = {0};
    open_session(&c, echo_proj);
    /* 64 KiB echoed into the server's receive buffer: an 80 KiB base85 reply */
    size_t n = 64 * 1024;
    uint8_t *data = malloc(n);
    ASSERT_TRUE_FATAL(data && getrandom(data, n, 0) == (ssize_t)n);
    char *params = e2e_write_params(data, n, "120");
    ASSERT_TRUE(e2e_call_ok(&c, "write_transport", params));
    free(params);
    free(data);
    usleep(1000000); /* the last echoed bytes land */
    /* its reply overflows the 64 KiB pipe: the server blocks in the middle of the line */
    ASSERT_GT(e2e_send_call(&c, "read_transport", "{\"n\":65536,\"timeout_sec\":10}"), 0);
    usleep(300000);
    close(c.from_server);
    c.from_server = -1;
    int status = -1;
    ASSERT_OK(rpc_client_wait(&c, 10000, &status, &err), &err);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rpc_client_kill(&c);
    assert_nothing_left(echo_proj, 0);
    ASSERT_TRUE(fresh_server_works(echo_proj));
}

/* ---- setup ---- */

/* Generates an echo project at proj through the template's server, puts the given faulty app
 * (NULL: none) in place of its echo app, and builds it through the project's server. */
static int make_project(const char *name, const char *app, char *proj, size_t projsz)
{
    snprintf(proj, projsz, "%s/%s", workdir, name);
    return e2e_make_echo_project(proj, BOARD, app);
}

static int suite_init(void)
{
    if (scratch_make(workdir, rundir, sizeof rundir, NULL, 0) < 0)
        return -1;
    /* the 7 entries of workdir: run, cache, 4 projects, digits.tar (made by the kill tests) */
    if (make_project("echo", NULL, echo_proj, sizeof echo_proj) < 0 ||
        make_project("hang", "hang.c", hang_proj, sizeof hang_proj) < 0 ||
        make_project("exit", "exit_after.c", exit_proj, sizeof exit_proj) < 0 ||
        make_project("reset", "reset_on_r.c", reset_proj, sizeof reset_proj) < 0)
        return -1;
    return 0;
}

static int suite_clean(void)
{
    return fs_remove_tree(workdir, NULL);
}

int test_register(void)
{
    char why[512];
    if (!fs_exists(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh")) {
        printf("e2e_faults: skipped: no template at %s (build the template_project target)\n",
               MTQ_TEMPLATE_DIR);
        return TEST_SKIP;
    }
    if (!fwbuild_available(BOARD, why, sizeof why) || !fwbuild_on_path("qemu-system-arm")) {
        printf("e2e_faults: skipped: %s\n", fwbuild_on_path("qemu-system-arm")
                                                ? why : "qemu-system-arm is not on PATH");
        return TEST_SKIP;
    }
    /* orphans (a SIGKILLed server's QEMU) come to us, so the test can see and reap them */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    CU_pSuite s = CU_add_suite("e2e_faults", suite_init, suite_clean);
    CU_ADD_TEST(s, test_qemu_killed_mid_write_is_transport_closed_and_nothing_is_left);
    CU_ADD_TEST(s, test_qemu_killed_mid_read_with_a_timeout_is_transport_closed_at_once);
    CU_ADD_TEST(s, test_qemu_failing_to_start_is_named_with_qemus_words_and_leaves_nothing);
    CU_ADD_TEST(s, test_a_hung_firmware_times_out_reads_and_writes_and_still_closes);
    CU_ADD_TEST(s, test_a_firmware_that_exits_mid_session_hands_over_its_bytes_then_closed);
    CU_ADD_TEST(s, test_a_firmware_that_resets_itself_keeps_the_transport_open_and_talking);
    CU_ADD_TEST(s, test_the_server_killed_with_sigkill_during_each_method_leaves_nothing);
    CU_ADD_TEST(s, test_the_server_stopped_with_sigterm_during_each_method_leaves_nothing);
    CU_ADD_TEST(s, test_the_client_dying_during_a_blocking_read_stops_the_server_and_qemu);
    CU_ADD_TEST(s, test_the_request_pipe_closed_during_a_blocking_read_ends_it_and_the_server);
    CU_ADD_TEST(s, test_the_reply_pipe_closed_mid_reply_stops_the_server_cleanly);
    return TEST_RUN;
}
