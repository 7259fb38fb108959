/*
 * End to end (label e2e): flash and the transport through the REAL server process, spoken to as
 * TVM does (tests/support/rpc_client), on real QEMU with the real echo firmware. For every board
 * whose toolchain and QEMU are installed, an echo project is generated (template server) and
 * built (project server) through the Project API, then: the banner is read whole as the first
 * bytes, random bytes come back intact (64 KiB each way on mps2-an385 and riscv32-virt, 4 KiB on
 * the others, to keep the run near a minute: the host-to-board direction moves ~3-11 KB/s).
 * On the first board: read timeouts 0 / 0.2 s / null, QEMU killed mid-session, the server
 * killed with SIGKILL, a clean EOF, tvmc's one-server-per-command flow, a second server on the
 * same board, close and reopen. Prints open_transport latency and echo throughput; asserts
 * neither. Exits 77 when no board can run here, saying why.
 */
#include "e2e_rpc.h"
#include "session_internal.h"

#include "asserts.h"
#include "b85.h"
#include "boards.h"
#include "fs.h"
#include "fwbuild.h"
#include "machine.h"
#include "qemu_procs.h"
#include "rpc_client.h"
#include "runner.h"
#include "scratch.h"
#include "tcp_port.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CALL_MS 30000 /* a reply that takes longer than this means the server is stuck */

struct board {
    const char *name;
    bool usable;       /* toolchain and QEMU here */
    bool built;        /* generated and built through the server */
    char why[512];
    char proj[PATH_MAX - 64];
};

/* File-static fixtures (CUnit suites take no arguments): the boards (every machine file of the
 * template), the scratch directory (projects, the build cache, a private $XDG_RUNTIME_DIR for
 * the QMP sockets). */
static struct boards board_names;
static struct board boards[BOARDS_MAX];
static size_t n_boards;
static char workdir[] = "/tmp/mtq-e2e-transport-XXXXXX";
static char rundir[sizeof workdir + 8];

static struct board *first_built(void)
{
    for (size_t i = 0; i < n_boards; i++)
        if (boards[i].built)
            return &boards[i];
    return NULL;
}

/* ---- talking to the server ---- */

static bool spawn(struct rpc_client *c, const char *dir)
{
    struct err err = {0};
    if (rpc_client_spawn(c, dir, false, &err) < 0) {
        test_report("spawn", &err);
        return false;
    }
    return true;
}

/* Calls method; returns the whole reply (caller frees) or NULL when no reply came. */
static cJSON *call(struct rpc_client *c, const char *method, cJSON *params)
{
    struct err err = {0};
    cJSON *reply = NULL;
    if (rpc_client_call(c, method, params, CALL_MS, &reply, &err) < 0) {
        test_report(method, &err);
        return NULL;
    }
    return reply;
}

/* The error's message ("" when the reply is a result); prints the traceback of unexpected
 * errors when want is NULL. */
static const char *error_of(const cJSON *reply)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
    return cJSON_IsString(m) ? m->valuestring : "";
}

static const char *traceback_of(const cJSON *reply)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(e, "data");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(d, "traceback");
    return cJSON_IsString(t) ? t->valuestring : "";
}

/* Calls method and expects a result; prints the error otherwise. */
static bool call_ok(struct rpc_client *c, const char *method, cJSON *params)
{
    cJSON *reply = call(c, method, params);
    bool ok = reply && cJSON_HasObjectItem(reply, "result");
    if (reply && !ok)
        fprintf(stderr, "\n    %s: %s\n    %s\n", method, error_of(reply), traceback_of(reply));
    cJSON_Delete(reply);
    return ok;
}

static cJSON *options(void)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddItemToObject(p, "options", cJSON_CreateObject());
    return p;
}

/* open_transport; *latency (may be NULL) gets its round trip in seconds. */
static bool open_transport(struct rpc_client *c, double *latency)
{
    double t0 = mono_now_s();
    cJSON *reply = call(c, "open_transport", options());
    if (latency)
        *latency = mono_now_s() - t0;
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(reply, "result");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(res, "timeouts");
    bool ok = t != NULL;
    if (reply && !ok)
        fprintf(stderr, "\n    open_transport: %s\n    %s\n", error_of(reply),
                traceback_of(reply));
    if (ok) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(t, "session_start_retry_timeout_sec");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(t, "session_start_timeout_sec");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(t, "session_established_timeout_sec");
        ASSERT_TRUE(cJSON_IsNumber(r) && cJSON_IsNumber(s) && cJSON_IsNumber(e));
        ASSERT_TRUE(r->valuedouble > 0 && r->valuedouble <= s->valuedouble);
        ASSERT_GE(e->valuedouble, s->valuedouble);
    }
    cJSON_Delete(reply);
    return ok;
}

/* read_transport: 0 with bytes, 1 with an error whose message goes to msg, -1 with no reply. */
static int t_read(struct rpc_client *c, size_t n, double timeout, uint8_t *buf, size_t *got,
                  char *msg, size_t msgsz)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "n", (double)n);
    if (timeout < 0)
        cJSON_AddNullToObject(p, "timeout_sec");
    else
        cJSON_AddNumberToObject(p, "timeout_sec", timeout);
    cJSON *reply = call(c, "read_transport", p);
    int rc = -1;
    *got = 0;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(reply, "result"), "data");
    if (cJSON_IsString(data)) {
        struct err err = {0};
        size_t len = strlen(data->valuestring);
        uint8_t *tmp = malloc(b85_decoded_len(len) + 1);
        ASSERT_NOT_NULL_FATAL(tmp);
        rc = b85_decode(data->valuestring, len, tmp, got, &err) < 0 ? -1 : 0;
        ASSERT_TRUE(*got >= 1 && *got <= n);
        if (*got > n)
            *got = n;
        memcpy(buf, tmp, *got);
        free(tmp);
    } else if (reply) {
        snprintf(msg, msgsz, "%s", error_of(reply));
        rc = 1;
    }
    cJSON_Delete(reply);
    return rc;
}

/* write_transport: like t_read. */
static int t_write(struct rpc_client *c, const uint8_t *data, size_t n, double timeout,
                   char *msg, size_t msgsz)
{
    char *text = malloc(b85_encoded_len(n) + 1);
    ASSERT_NOT_NULL_FATAL(text);
    text[b85_encode(data, n, text)] = '\0';
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "data", text);
    free(text);
    if (timeout < 0)
        cJSON_AddNullToObject(p, "timeout_sec");
    else
        cJSON_AddNumberToObject(p, "timeout_sec", timeout);
    cJSON *reply = call(c, "write_transport", p);
    int rc = -1;
    if (reply && cJSON_HasObjectItem(reply, "result")) {
        rc = 0;
    } else if (reply) {
        snprintf(msg, msgsz, "%s", error_of(reply));
        if (msg[0] && strcmp(msg, "IoTimeoutError") && strcmp(msg, "TransportClosedError"))
            fprintf(stderr, "\n    write_transport: %s\n", traceback_of(reply));
        rc = 1;
    }
    cJSON_Delete(reply);
    return rc;
}

/* Reads exactly n bytes (each read waits at most 10 s for its first byte). */
static size_t read_n(struct rpc_client *c, uint8_t *buf, size_t n)
{
    size_t all = 0;
    char msg[128] = "";
    while (all < n) {
        size_t got = 0;
        if (t_read(c, n - all, 10.0, buf + all, &got, msg, sizeof msg) != 0) {
            fprintf(stderr, "\n    read %zu of %zu bytes, then: %s\n", all, n, msg);
            break;
        }
        all += got;
    }
    return all;
}

/* Reads the banner: the first bytes after open_transport, up to and including '\n', checked
 * against what the echo firmware of board b prints. */
static bool banner_is_first(struct rpc_client *c, const struct board *b)
{
    char want[128];
    snprintf(want, sizeof want, "#microtvm-qemu:echo:%s:picolibc\n", b->name);
    uint8_t buf[256];
    size_t all = 0;
    char msg[128] = "";
    while (all < sizeof buf - 1 && (all == 0 || buf[all - 1] != '\n')) {
        size_t got = 0;
        if (t_read(c, sizeof buf - 1 - all, 5.0, buf + all, &got, msg, sizeof msg) != 0)
            break;
        all += got;
    }
    buf[all] = '\0';
    bool ok = all == strlen(want) && memcmp(buf, want, all) == 0;
    if (!ok)
        fprintf(stderr, "\n    %s: banner \"%s\" (%s), want \"%s\"\n", b->name, (char *)buf, msg,
                want);
    return ok;
}

/* Round trip of n random bytes: one write_transport, then reads until all came back. */
static bool echo_random(struct rpc_client *c, const struct board *b, size_t n)
{
    uint8_t *out = malloc(n), *in = malloc(n);
    ASSERT_TRUE_FATAL(out != NULL && in != NULL);
    ASSERT_EQ_FATAL(getrandom(out, n, 0), (ssize_t)n);
    char msg[128] = "";
    double t0 = mono_now_s();
    int w = t_write(c, out, n, 120.0, msg, sizeof msg);
    ASSERT_EQ(w, 0);
    size_t got = w == 0 ? read_n(c, in, n) : 0;
    double took = mono_now_s() - t0;
    bool ok = got == n && memcmp(in, out, n) == 0;
    if (ok)
        fprintf(stderr, "\n    %s: %zu bytes echoed in %.2f s (%.1f KB/s each way)", b->name, n,
                took, (double)n / took / 1000.0);
    else
        fprintf(stderr, "\n    %s: echo of %zu bytes: got %zu, %s\n", b->name, n, got,
                got == n ? "different bytes" : msg);
    free(out);
    free(in);
    return ok;
}

/* QEMU's pid as the board lock names it (0 when none). */
static pid_t qemu_pid_of(const struct board *b)
{
    char path[PATH_MAX];
    pid_t q = 0;
    snprintf(path, sizeof path, "%s/flash/board.lock", b->proj);
    if (sess__lock_read(path, NULL, &q, NULL) < 0)
        return 0;
    return q;
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n == 0;
}

/* Ends a server with EOF and checks it exited 0 within 10 s. */
static void close_server(struct rpc_client *c)
{
    struct err err = {0};
    int status = -1;
    int rc = rpc_client_close(c, 10000, &status, &err);
    if (rc < 0)
        test_report("closing the server", &err);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- tests ---- */

static void test_every_echo_board_generates_and_builds_through_the_server(void)
{
    for (size_t i = 0; i < n_boards; i++) {
        struct board *b = &boards[i];
        if (!b->usable)
            continue;
        snprintf(b->proj, sizeof b->proj, "%s/%s", workdir, b->name);
        struct rpc_client c;
        if (!spawn(&c, MTQ_TEMPLATE_DIR)) {
            TEST_FAIL("spawning the template's server");
            return;
        }
        cJSON *p = cJSON_CreateObject();
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "model_library_format_path", "");
        cJSON_AddStringToObject(p, "standalone_crt_dir", "");
        cJSON_AddStringToObject(p, "project_dir", b->proj);
        cJSON_AddStringToObject(o, "project_type", "echo");
        cJSON_AddStringToObject(o, "board", b->name);
        cJSON_AddItemToObject(p, "options", o);
        bool ok = call_ok(&c, "generate_project", p);
        ASSERT_TRUE(ok);
        close_server(&c);
        if (!ok || !spawn(&c, b->proj))
            continue;
        ok = call_ok(&c, "build", options());
        ASSERT_TRUE(ok);
        close_server(&c);
        b->built = ok;
    }
    ASSERT_NOT_NULL(first_built());
}

static void test_every_echo_board_hands_its_banner_first_and_echoes_random_bytes_intact(void)
{
    for (size_t i = 0; i < n_boards; i++) {
        struct board *b = &boards[i];
        if (!b->built)
            continue;
        struct rpc_client c;
        ASSERT_TRUE_FATAL(spawn(&c, b->proj));
        double open_s = 0;
        bool ok = call_ok(&c, "flash", options()) && open_transport(&c, &open_s);
        ASSERT_TRUE(ok);
        if (ok) {
            fprintf(stderr, "\n    %s: open_transport after flash took %.1f ms", b->name,
                    open_s * 1e3);
            ASSERT_TRUE(banner_is_first(&c, b));
            size_t n = i < 2 ? 64 * 1024 : 4 * 1024;
            ASSERT_TRUE(echo_random(&c, b, n));
            ASSERT_TRUE(call_ok(&c, "close_transport", cJSON_CreateObject()));
        }
        pid_t server = c.pid;
        close_server(&c);
        ASSERT_EQ(qemu_procs_children(server), 0);
    }
}

static void test_read_timeouts_give_io_timeout_in_time_and_null_waits_for_data(void)
{
    struct board *b = first_built();
    ASSERT_NOT_NULL_FATAL(b);
    struct rpc_client c;
    ASSERT_TRUE_FATAL(spawn(&c, b->proj));
    ASSERT_TRUE_FATAL(call_ok(&c, "flash", options()) && open_transport(&c, NULL));
    ASSERT_TRUE(banner_is_first(&c, b));
    uint8_t buf[64];
    size_t got = 0;
    char msg[128] = "";
    double t0 = mono_now_s();
    ASSERT_EQ(t_read(&c, sizeof buf, 0, buf, &got, msg, sizeof msg), 1);
    double took0 = mono_now_s() - t0;
    ASSERT_STR_EQ(msg, "IoTimeoutError");
    ASSERT_LT(took0, 0.1);
    t0 = mono_now_s();
    ASSERT_EQ(t_read(&c, sizeof buf, 0.2, buf, &got, msg, sizeof msg), 1);
    double took2 = mono_now_s() - t0;
    ASSERT_STR_EQ(msg, "IoTimeoutError");
    ASSERT_TRUE(took2 >= 0.2 && took2 < 0.45);
    fprintf(stderr, "\n    timeout 0 answered in %.1f ms, timeout 0.2 s in %.1f ms", took0 * 1e3,
            took2 * 1e3);
    /* null: waits however long the board takes, then returns what came */
    ASSERT_EQ(t_write(&c, (const uint8_t *)"ping", 4, -1, msg, sizeof msg), 0);
    size_t all = 0;
    while (all < 4 && t_read(&c, 4 - all, -1, buf + all, &got, msg, sizeof msg) == 0)
        all += got;
    ASSERT_EQ(all, 4);
    ASSERT_EQ(memcmp(buf, "ping", 4), 0);
    close_server(&c);
}

static void test_qemu_killed_mid_session_is_transport_closed_and_the_server_reopens(void)
{
    struct board *b = first_built();
    ASSERT_NOT_NULL_FATAL(b);
    struct rpc_client c;
    struct err err = {0};
    ASSERT_TRUE_FATAL(spawn(&c, b->proj));
    ASSERT_TRUE_FATAL(call_ok(&c, "flash", options()) && open_transport(&c, NULL));
    ASSERT_TRUE(banner_is_first(&c, b));
    pid_t qemu = qemu_pid_of(b);
    ASSERT_GT_FATAL(qemu, 0);
    /* a read that blocks (timeout null) until the board dies under it */
    long id = c.next_id++;
    char line[160];
    snprintf(line, sizeof line, "{\"jsonrpc\": \"2.0\", \"method\": \"read_transport\", "
             "\"params\": {\"n\": 16, \"timeout_sec\": null}, \"id\": %ld}", id);
    ASSERT_OK_FATAL(rpc_client_send_line(&c, line, &err), &err);
    char *text = NULL;
    ASSERT_EQ(rpc_client_read_line(&c, 500, &text, &err), ERR_TIMEOUT); /* still waiting */
    free(text);
    text = NULL;
    ASSERT_EQ(kill(qemu, SIGKILL), 0);
    cJSON *reply = NULL;
    ASSERT_OK_FATAL(rpc_client_read_reply(&c, 5000, &reply, &err), &err);
    ASSERT_STR_EQ(error_of(reply), "TransportClosedError");
    ASSERT_STR_CONTAINS(traceback_of(reply), "killed by signal 9");
    cJSON_Delete(reply);
    ASSERT_FALSE(qemu_procs_alive(qemu)); /* the server reaped it */
    /* later calls say closed too, and the server still answers */
    uint8_t buf[64];
    size_t got = 0;
    char msg[128] = "";
    ASSERT_EQ(t_read(&c, 8, 0, buf, &got, msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "TransportClosedError");
    ASSERT_EQ(t_write(&c, (const uint8_t *)"x", 1, 1.0, msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "TransportClosedError");
    cJSON *q = cJSON_CreateObject();
    cJSON_AddStringToObject(q, "tvm_version", "0.18.0");
    ASSERT_TRUE(call_ok(&c, "server_info_query", q));
    /* and the board boots again from its flash */
    ASSERT_TRUE_FATAL(open_transport(&c, NULL));
    ASSERT_TRUE(banner_is_first(&c, b));
    ASSERT_TRUE(qemu_pid_of(b) > 0 && qemu_pid_of(b) != qemu);
    ASSERT_TRUE(echo_random(&c, b, 64));
    close_server(&c);
}

static void test_a_server_killed_with_sigkill_leaves_no_qemu_and_no_lock(void)
{
    struct board *b = first_built();
    ASSERT_NOT_NULL_FATAL(b);
    struct rpc_client c;
    ASSERT_TRUE_FATAL(spawn(&c, b->proj));
    ASSERT_TRUE_FATAL(call_ok(&c, "flash", options()) && open_transport(&c, NULL));
    pid_t qemu = qemu_pid_of(b);
    ASSERT_GT_FATAL(qemu, 0);
    ASSERT_NE(qemu_procs_state(qemu), 0);
    rpc_client_kill(&c); /* SIGKILL, then reaped */
    ASSERT_TRUE(qemu_procs_orphan_ends(qemu, 3000));
    ASSERT_TRUE(dir_is_empty(rundir)); /* no QMP socket or runtime directory left */
    /* the kernel dropped the lock with the server: a new one takes the board at once */
    ASSERT_TRUE_FATAL(spawn(&c, b->proj));
    ASSERT_TRUE(open_transport(&c, NULL));
    ASSERT_TRUE(banner_is_first(&c, b));
    close_server(&c);
}

static void test_eof_leaves_no_process_socket_or_temporary_file(void)
{
    struct board *b = first_built();
    ASSERT_NOT_NULL_FATAL(b);
    struct rpc_client c;
    ASSERT_TRUE_FATAL(spawn(&c, b->proj));
    ASSERT_TRUE_FATAL(call_ok(&c, "flash", options()) && open_transport(&c, NULL));
    pid_t qemu = qemu_pid_of(b), server = c.pid;
    ASSERT_GT_FATAL(qemu, 0);
    close_server(&c);
    ASSERT_FALSE(qemu_procs_alive(qemu)); /* stopped and reaped by the server itself */
    ASSERT_FALSE(qemu_procs_alive(server));
    ASSERT_TRUE(dir_is_empty(rundir));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/flash/.firmware.elf.tmp", b->proj);
    ASSERT_FALSE(fs_exists(path));
    ASSERT_EQ(qemu_pid_of(b), 0); /* the lock names nobody */
}

static void test_one_server_flashes_and_exits_and_the_next_opens_and_talks(void)
{
    struct board *b = first_built();
    ASSERT_NOT_NULL_FATAL(b);
    char image[PATH_MAX];
    snprintf(image, sizeof image, "%s/flash/firmware.elf", b->proj);
    unlink(image); /* start unflashed */
    struct rpc_client c;
    ASSERT_TRUE_FATAL(spawn(&c, b->proj));
    cJSON *reply = call(&c, "open_transport", options());
    ASSERT_STR_EQ(error_of(reply), "calling method open_transport");
    ASSERT_STR_CONTAINS(traceback_of(reply), "the board has not been flashed: call "
                                             "flash first");
    cJSON_Delete(reply);
    ASSERT_TRUE(call_ok(&c, "flash", options())); /* tvmc micro flash */
    pid_t qemu = qemu_pid_of(b);
    close_server(&c);
    ASSERT_TRUE(fs_exists(image));
    ASSERT_TRUE(qemu > 0 && !qemu_procs_alive(qemu));
    ASSERT_TRUE_FATAL(spawn(&c, b->proj)); /* tvmc run */
    double open_s = 0;
    ASSERT_TRUE_FATAL(open_transport(&c, &open_s));
    fprintf(stderr, "\n    %s: open_transport booting the flash image took %.1f ms", b->name,
            open_s * 1e3);
    ASSERT_TRUE(banner_is_first(&c, b));
    ASSERT_TRUE(echo_random(&c, b, 256));
    ASSERT_TRUE(call_ok(&c, "close_transport", cJSON_CreateObject()));
    close_server(&c);
}

static void test_a_second_server_on_the_same_board_is_told_it_is_in_use(void)
{
    struct board *b = first_built();
    ASSERT_NOT_NULL_FATAL(b);
    struct rpc_client a, c;
    ASSERT_TRUE_FATAL(spawn(&a, b->proj));
    ASSERT_TRUE_FATAL(call_ok(&a, "flash", options()) && open_transport(&a, NULL));
    ASSERT_TRUE_FATAL(spawn(&c, b->proj));
    char want[128];
    snprintf(want, sizeof want, "board in use by another server (pid %ld); close it or wait",
             (long)a.pid);
    cJSON *reply = call(&c, "open_transport", options());
    ASSERT_STR_EQ(error_of(reply), "calling method open_transport");
    ASSERT_STR_CONTAINS(traceback_of(reply), want);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(reply, "error"), "code");
    ASSERT_TRUE(cJSON_IsNumber(code) && code->valueint == -32000);
    cJSON_Delete(reply);
    reply = call(&c, "flash", options());
    ASSERT_STR_CONTAINS(traceback_of(reply), want);
    cJSON_Delete(reply);
    /* the first server's session is untouched */
    ASSERT_TRUE(banner_is_first(&a, b));
    ASSERT_TRUE(echo_random(&a, b, 64));
    ASSERT_TRUE(call_ok(&a, "close_transport", cJSON_CreateObject()));
    /* once it let go, the second one gets the board */
    ASSERT_TRUE(open_transport(&c, NULL));
    ASSERT_TRUE(banner_is_first(&c, b));
    close_server(&c);
    close_server(&a);
}

static void test_close_is_idempotent_and_a_later_open_boots_again(void)
{
    struct board *b = first_built();
    ASSERT_NOT_NULL_FATAL(b);
    struct rpc_client c;
    ASSERT_TRUE_FATAL(spawn(&c, b->proj));
    ASSERT_TRUE(call_ok(&c, "close_transport", cJSON_CreateObject())); /* nothing open: no-op */
    uint8_t buf[8];
    size_t got = 0;
    char msg[128] = "";
    ASSERT_EQ(t_read(&c, 8, 0, buf, &got, msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "TransportClosedError");
    ASSERT_TRUE_FATAL(call_ok(&c, "flash", options()) && open_transport(&c, NULL));
    pid_t first = qemu_pid_of(b);
    ASSERT_TRUE(banner_is_first(&c, b));
    ASSERT_TRUE(call_ok(&c, "close_transport", cJSON_CreateObject()));
    ASSERT_TRUE(call_ok(&c, "close_transport", cJSON_CreateObject()));
    ASSERT_FALSE(qemu_procs_alive(first));
    ASSERT_EQ(t_write(&c, (const uint8_t *)"x", 1, 0, msg, sizeof msg), 1);
    ASSERT_STR_EQ(msg, "TransportClosedError");
    ASSERT_TRUE_FATAL(open_transport(&c, NULL)); /* boots the flash image again */
    ASSERT_TRUE(banner_is_first(&c, b));
    /* opening an open transport restarts the board: a fresh banner comes first again */
    ASSERT_TRUE_FATAL(open_transport(&c, NULL));
    ASSERT_TRUE(banner_is_first(&c, b));
    ASSERT_TRUE(echo_random(&c, b, 64));
    close_server(&c);
}

/* With gdbserver_port the board waits for the debugger: open_transport returns once the
 * debugger's continue has let the firmware print its banner, however long that takes. */
static void test_with_a_gdb_port_open_waits_for_the_debuggers_continue(void)
{
    struct board *b = first_built();
    ASSERT_NOT_NULL_FATAL(b);
    int port = tcp_port_free();
    ASSERT_GT_FATAL(port, 0);
    struct rpc_client c;
    struct err err = {0};
    ASSERT_TRUE_FATAL(spawn(&c, b->proj));
    ASSERT_TRUE_FATAL(call_ok(&c, "flash", options()));
    long id = c.next_id++;
    char line[200];
    snprintf(line, sizeof line, "{\"jsonrpc\": \"2.0\", \"method\": \"open_transport\", "
             "\"params\": {\"options\": {\"gdbserver_port\": \"%d\"}}, \"id\": %ld}", port, id);
    ASSERT_OK_FATAL(rpc_client_send_line(&c, line, &err), &err);
    char *text = NULL;
    /* past the usual banner timeout's order of magnitude: still waiting for the debugger */
    ASSERT_EQ(rpc_client_read_line(&c, 1500, &text, &err), ERR_TIMEOUT);
    free(text);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_EQ_FATAL(connect(s, (struct sockaddr *)&a, sizeof a), 0);
    static const char cont[] = "+$c#63"; /* GDB remote protocol: ack, then "continue" */
    ASSERT_EQ(send(s, cont, sizeof cont - 1, MSG_NOSIGNAL), (ssize_t)sizeof cont - 1);
    cJSON *reply = NULL;
    ASSERT_OK_FATAL(rpc_client_read_reply(&c, 10000, &reply, &err), &err);
    ASSERT_TRUE(cJSON_HasObjectItem(reply, "result"));
    cJSON_Delete(reply);
    ASSERT_TRUE(banner_is_first(&c, b));
    ASSERT_TRUE(echo_random(&c, b, 64));
    close_server(&c);
    close(s);
}

/* ---- setup ---- */

static int suite_init(void)
{
    return scratch_make(workdir, rundir, sizeof rundir, NULL, 0);
}

static int suite_clean(void)
{
    return fs_remove_tree(workdir, NULL);
}

int test_register(void)
{
    int usable = 0;
    /* orphans (a SIGKILLed server's QEMU) come to us, so the test can reap and check them */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct err err = {0};
    if (!fs_exists(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh")) {
        fprintf(stderr, "e2e_transport: skipping: no template at %s (build the template_project "
                "target)\n", MTQ_TEMPLATE_DIR);
        return TEST_SKIP;
    }
    if (boards_list(&board_names, &err) < 0) {
        fprintf(stderr, "e2e_transport: %s\n", err.msg);
        return 1;
    }
    n_boards = board_names.n;
    for (size_t i = 0; i < n_boards; i++) {
        struct machine m;
        boards[i].name = board_names.name[i];
        boards[i].usable = boards_can_build_and_boot(boards[i].name, &m, boards[i].why,
                                                     sizeof boards[i].why);
        if (boards[i].usable)
            usable++;
        else
            fprintf(stderr, "e2e_transport: skipping %s: %s\n", boards[i].name, boards[i].why);
    }
    if (usable == 0) {
        fprintf(stderr, "e2e_transport: skipping: no board can run here\n");
        return TEST_SKIP;
    }
    CU_pSuite s = CU_add_suite("e2e_transport", suite_init, suite_clean);
    CU_ADD_TEST(s, test_every_echo_board_generates_and_builds_through_the_server);
    CU_ADD_TEST(s, test_every_echo_board_hands_its_banner_first_and_echoes_random_bytes_intact);
    CU_ADD_TEST(s, test_read_timeouts_give_io_timeout_in_time_and_null_waits_for_data);
    CU_ADD_TEST(s, test_qemu_killed_mid_session_is_transport_closed_and_the_server_reopens);
    CU_ADD_TEST(s, test_a_server_killed_with_sigkill_leaves_no_qemu_and_no_lock);
    CU_ADD_TEST(s, test_eof_leaves_no_process_socket_or_temporary_file);
    CU_ADD_TEST(s, test_one_server_flashes_and_exits_and_the_next_opens_and_talks);
    CU_ADD_TEST(s, test_a_second_server_on_the_same_board_is_told_it_is_in_use);
    CU_ADD_TEST(s, test_close_is_idempotent_and_a_later_open_boots_again);
    CU_ADD_TEST(s, test_with_a_gdb_port_open_waits_for_the_debuggers_continue);
    return TEST_RUN;
}
