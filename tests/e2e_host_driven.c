/*
 * End-to-end tests of the host_driven firmware (firmware/apps/host_driven.c, firmware/platform/)
 * in QEMU: build it, boot it, read the banner, run the microTVM session handshake
 * (StartSessionInit -> StartSessionReply, tests/support/utvm_rpc.h), reset the board and check
 * that the device's nonce changed (TVM tells a device reset from the nonce).
 * (a) always: with the fake CRT (tests/fixtures/fake_crt), which also self-checks our platform
 *     functions on the board, on every board of the template's machines/.
 * (b) with MTQ_STANDALONE_CRT=<TVM's standalone_crt>: the same with TVM's real CRT, built from a
 *     project laid out by hand as generate_project lays it out (crt/ copied, an empty model/).
 * (c) through the server, as TVM drives it: generate_project (the digits MLF, with the fake CRT
 *     and, when set, MTQ_STANDALONE_CRT), build, flash, open_transport, and the handshake over
 *     write_transport/read_transport; a second project with the same board and CRT must link
 *     the CRT from the cache, compiling none of it; with the fake CRT, a 20 KiB read-back
 *     through read_transport by a host that reads 61 bytes at a time and sleeps in between,
 *     in packets no larger than TVM's host receive buffer; the CRT cache key's inputs; and
 *     generate_project's refusals of a host_driven project without a CRT. The cache is a
 *     temporary MTQ_CACHE_DIR, never the user's ~/.cache.
 * (d) the same through the server on every board's fast link (link=fast): the handshake
 *     and the slow read-back go over virtio-serial (RISC-V) or the LAN9118 (mps2), and the CRT
 *     comes from the cache the UART project filled (the link is not in the CRT's key).
 * Exits 77 when no board can run here, saying why.
 */
#include "asserts.h"
#include "b85.h"
#include "boards.h"
#include "board_io.h"
#include "emu.h"
#include "fs.h"
#include "fwbuild.h"
#include "machine.h"
#include "mlf.h"
#include "mono.h"
#include "project_internal.h"
#include "rpc_client.h"
#include "runner.h"
#include "scratch.h"
#include "utvm_rpc.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
static struct boards board_names; /* every machine file of the template */
static struct board boards[BOARDS_MAX];
static int build_failures; /* boards whose firmware exists but did not build */
static char workdir[] = "/tmp/mtq-e2e-hd-XXXXXX";
static char rundir[sizeof workdir + 8];
static const char *standalone_crt;
static struct board *cur;
static const char *cur_elf;
static bool cur_fake;
static struct emu *live;

#define OK(call) ASSERT_CALL_FATAL(call, err)

static ssize_t io_read(void *ctx, void *buf, size_t cap, int timeout_ms, struct err *err)
{
    return board_io_read(ctx, buf, cap, timeout_ms, err);
}

static int io_write(void *ctx, const void *data, size_t n, int timeout_ms, struct err *err)
{
    return board_io_write(ctx, data, n, timeout_ms, err);
}

/* Reads the banner (which also wakes QEMU) and checks it names host_driven and this board. */
static void expect_banner(struct board_io *b)
{
    struct err err = {0};
    char banner[256], want[256];
    size_t got = 0;
    OK(board_io_banner(b, banner, sizeof banner - 1, &got, BANNER_TIMEOUT_MS, &err));
    banner[got] = '\0';
    snprintf(want, sizeof want, "#microtvm-qemu:host_driven:%s:picolibc\n", cur->name);
    ASSERT_STR_EQ(banner, want);
}

static void handshake(struct board_io *b, uint8_t nonce, struct utvm_handshake_result *r)
{
    struct err err = {0};
    struct utvm_io io = {io_read, io_write, b};
    OK(utvm_handshake(&io, nonce, HANDSHAKE_TIMEOUT_MS, r, &err));
    ASSERT_EQ(r->session_id & 0xff, nonce);
    ASSERT_NE(r->responder_nonce, 0);
    ASSERT_EQ(r->n_dropped, 0);
    /* both CRTs announce a fresh start with TerminateSession before anything else */
    ASSERT_EQ(r->n_terminate, 1);
    if (cur_fake)
        ASSERT_EQ(r->n_log, 1); /* the platform self-check passed and said so */
}

static void test_board_answers_the_handshake_and_another_nonce_after_a_reset(void)
{
    struct err err = {0};
    struct emu_config cfg;
    struct utvm_handshake_result first, second;
    char log_path[PATH_MAX];

    ASSERT_TRUE_FATAL(cur_elf && cur_elf[0]);
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
        test_report("emu_start", &err);
    ASSERT_NOT_NULL_FATAL(live);
    OK(emu_run(live, &err));
    struct board_io uart;
    board_io_open(&uart, live);

    expect_banner(&uart);
    handshake(&uart, 0x5a, &first);

    OK(emu_reset(live, &err));
    expect_banner(&uart);
    handshake(&uart, 0x33, &second);
    printf("\n    %s (%s CRT): responder nonce 0x%02x, after reset 0x%02x ", cur->name,
           cur_fake ? "fake" : "real", first.responder_nonce, second.responder_nonce);
    ASSERT_NE(first.responder_nonce, second.responder_nonce);
    ASSERT_TRUE(emu_is_running(live)); /* no abort along the way */

    board_io_close(&uart);
    emu_free(live);
    live = NULL;
}

static void test_host_driven_without_a_crt_fails_to_configure_with_the_fix(void)
{
    struct err err = {0};
    char dir[PATH_MAX], elf[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/no-crt", workdir);
    ASSERT_EQ(fwbuild_build(cur->name, "host_driven", "picolibc", dir, NULL, elf,
                            sizeof elf, &err), ERR_TOOL);
    ASSERT_STR_CONTAINS(err.detail, "MTQ_CRT_DIR is not set");
    ASSERT_STR_CONTAINS(err.detail, "pass standalone_crt_dir to generate_project");

    const char *bogus[] = {"MTQ_CRT_DIR=" MTQ_SOURCE_DIR "/firmware", NULL};
    ASSERT_EQ(fwbuild_build(cur->name, "host_driven", "picolibc", dir, bogus, elf,
                            sizeof elf, &err), ERR_TOOL);
    /* CMake wraps its messages at word boundaries, so where this breaks depends on the path */
    char flat[sizeof err.detail];
    size_t k = 0;
    for (const char *p = err.detail; *p && k + 1 < sizeof flat; p++)
        if (!isspace((unsigned char)*p) || (k > 0 && flat[k - 1] != ' '))
            flat[k++] = isspace((unsigned char)*p) ? ' ' : *p;
    flat[k] = '\0';
    ASSERT_STR_CONTAINS(flat, "has no include/tvm/runtime/crt");
}

/* ---- building ---- */

/* Lays out a project as generate_project does (docs/PROTOCOL.md "The generated project"), with
 * TVM's CRT in crt/ and an empty model/, and builds it by hand with cmake and ninja, as a
 * person would. */
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
    if (!boards_can_build_and_boot(b->name, &b->m, b->why, sizeof b->why))
        return false;
    snprintf(dir, sizeof dir, "%s/fake-%s", workdir, b->name);
    const char *fake[] = {"MTQ_CRT_DIR=" MTQ_SOURCE_DIR "/tests/fixtures/fake_crt", NULL};
    if (fwbuild_build(b->name, "host_driven", "picolibc", dir, fake, b->fake_elf,
                      sizeof b->fake_elf, &err) < 0) {
        test_report("building host_driven with the fake CRT", &err);
        snprintf(b->why, sizeof b->why, "FAILED to build with the fake CRT: %.400s", err.msg);
        return false;
    }
    if (standalone_crt && build_real_project(b, &err) < 0) {
        test_report("building host_driven with TVM's CRT", &err);
        snprintf(b->why, sizeof b->why, "FAILED to build with TVM's CRT: %.400s", err.msg);
        return false;
    }
    return true;
}

/* ---- through the server ---- */

#define RPC_QUICK_MS 30000     /* generate, flash, open, close: seconds at most */
#define RPC_BUILD_MS 600000    /* build: TVM's client waits as long as it takes */
#define RPC_SLACK_MS 5000      /* on top of a read_transport's own timeout */

static char digits_tar[PATH_MAX];
static char operator_tar[PATH_MAX]; /* tests/fixtures/mlf/operator_add: what tvm.build exports */
static const char *srv_mlf = digits_tar; /* the model server_generate hands over */
static const char *srv_crt;   /* the CRT the server suite passes as standalone_crt_dir */
static bool srv_fake;
static const char *srv_label; /* "fake" or "real", in project names */
static const char *srv_link = "uart"; /* the link option server_generate passes */
static struct rpc_client *client; /* a running server, killed by the suite cleanup */

/* Calls method on c; true when it answered with a result (stored in *result when not NULL,
 * else deleted). An error reply is printed with its traceback. */
static bool call(struct rpc_client *c, const char *method, const char *params_json,
                 int timeout_ms, cJSON **result)
{
    struct err err = {0};
    cJSON *reply = NULL;
    cJSON *params = cJSON_Parse(params_json);
    ASSERT_NOT_NULL_FATAL(params);
    if (rpc_client_call(c, method, params, timeout_ms, &reply, &err) < 0) {
        test_report(method, &err);
        return false;
    }
    cJSON *res = cJSON_DetachItemFromObjectCaseSensitive(reply, "result");
    if (!res) {
        char *text = cJSON_Print(reply);
        fprintf(stderr, "\n    %s answered with an error: %s\n", method, text ? text : "?");
        free(text);
    }
    cJSON_Delete(reply);
    if (result)
        *result = res;
    else
        cJSON_Delete(res);
    return res != NULL;
}

/* Starts the server of dir into the file-static client. */
static void start_server(const char *dir)
{
    struct err err = {0};
    ASSERT_NULL_FATAL(client);
    client = calloc(1, sizeof *client);
    ASSERT_NOT_NULL_FATAL(client);
    if (rpc_client_spawn(client, dir, false, &err) < 0) {
        test_report("rpc_client_spawn", &err);
        free(client);
        client = NULL;
        TEST_FAIL_FATAL("the server did not start");
    }
}

/* Ends the server by closing its input, as TVM does; it must exit and stop its QEMU. */
static void stop_server(void)
{
    struct err err = {0};
    int status = -1;
    if (!client)
        return;
    int rc = rpc_client_close(client, 20000, &status, &err);
    if (rc < 0)
        test_report("the server did not exit at EOF", &err);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(client);
    client = NULL;
}

/* The JSON text of s as a quoted string (paths here hold no quote or backslash). */
static const char *quoted(char *out, size_t outsz, const char *s)
{
    snprintf(out, outsz, "\"%s\"", s);
    return out;
}

/* generate_project through the template's server; returns whether it succeeded. With why,
 * the error's traceback (or "") is copied there. */
static bool server_generate(const char *dir, const char *board, const char *crt, char *why,
                            size_t why_size)
{
    char params[4 * PATH_MAX], q_mlf[PATH_MAX + 2], q_crt[PATH_MAX + 2], q_dir[PATH_MAX + 2];
    struct err err = {0};
    cJSON *reply = NULL;
    snprintf(params, sizeof params,
             "{\"model_library_format_path\": %s, \"standalone_crt_dir\": %s, "
             "\"project_dir\": %s, \"options\": {\"project_type\": \"host_driven\", "
             "\"board\": \"%s\", \"verbose\": null, \"link\": \"%s\"}}",
             quoted(q_mlf, sizeof q_mlf, srv_mlf), quoted(q_crt, sizeof q_crt, crt),
             quoted(q_dir, sizeof q_dir, dir), board, srv_link);
    start_server(MTQ_TEMPLATE_DIR);
    cJSON *p = cJSON_Parse(params);
    ASSERT_NOT_NULL_FATAL(p);
    int rc = rpc_client_call(client, "generate_project", p, RPC_QUICK_MS, &reply, &err);
    if (rc < 0)
        test_report("generate_project", &err);
    ASSERT_EQ_FATAL(rc, 0);
    bool ok = cJSON_HasObjectItem(reply, "result");
    if (why && why_size) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
        const cJSON *tb = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(e, "data"), "traceback");
        snprintf(why, why_size, "%s", cJSON_IsString(tb) ? tb->valuestring : "");
    }
    if (!ok && !why) {
        char *text = cJSON_Print(reply);
        fprintf(stderr, "\n    generate_project failed: %s\n", text ? text : "?");
        free(text);
    }
    cJSON_Delete(reply);
    stop_server();
    return ok;
}

/* The utvm_io over read_transport and write_transport of the running client. */
static ssize_t rpc_io_read(void *ctx, void *buf, size_t cap, int timeout_ms, struct err *err)
{
    char params[128];
    cJSON *reply = NULL;
    snprintf(params, sizeof params, "{\"n\": %zu, \"timeout_sec\": %.3f}", cap,
             timeout_ms / 1000.0);
    int rc = rpc_client_call(ctx, "read_transport", cJSON_Parse(params),
                             timeout_ms + RPC_SLACK_MS, &reply, err);
    if (rc < 0)
        return rc;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(reply, "result"), "data");
    size_t got = 0;
    if (e) {
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
        bool timeout = cJSON_IsString(msg) && !strcmp(msg->valuestring, "IoTimeoutError");
        rc = timeout ? err_set(err, ERR_TIMEOUT, "read_transport: nothing in time")
                     : err_set(err, ERR_CLOSED, "read_transport: %s",
                               cJSON_IsString(msg) ? msg->valuestring : "?");
    } else if (!cJSON_IsString(data) || b85_decoded_len(strlen(data->valuestring)) > cap) {
        rc = err_set(err, ERR_INVALID, "read_transport: no data, or more than %zu bytes", cap);
    } else {
        rc = b85_decode(data->valuestring, strlen(data->valuestring), buf, &got, err);
    }
    cJSON_Delete(reply);
    return rc < 0 ? rc : (ssize_t)got;
}

static int rpc_io_write(void *ctx, const void *data, size_t n, int timeout_ms, struct err *err)
{
    char text[256], params[512];
    cJSON *reply = NULL;
    if (b85_encoded_len(n) >= sizeof text)
        return err_set(err, ERR_INVALID, "write_transport: %zu bytes is more than a test sends",
                       n);
    text[b85_encode(data, n, text)] = '\0';
    snprintf(params, sizeof params, "{\"data\": \"%s\", \"timeout_sec\": %.3f}", text,
             timeout_ms / 1000.0);
    int rc = rpc_client_call(ctx, "write_transport", cJSON_Parse(params), timeout_ms + RPC_SLACK_MS,
                             &reply, err);
    if (rc == 0 && !cJSON_HasObjectItem(reply, "result"))
        rc = err_set(err, ERR_CLOSED, "write_transport answered with an error");
    cJSON_Delete(reply);
    return rc;
}

/* The fake CRT's read-back (tests/fixtures/fake_crt/FAKE_CRT): READ_BACK_BYTES pattern bytes,
 * read by a host that asks for at most SLOW_READ_MAX bytes per read_transport and sleeps before
 * each, so the board's output backs up in QEMU's UART, the pty and the server in between. */
#define READ_BACK_BYTES 20481u  /* ten of the fake's largest packets and a short one */
#define READ_BACK_SEED 0x3cu
#define SLOW_READ_MAX 61u
#define SLOW_READ_SLEEP_US 2000

/* The byte the fake sends at offset i (its fake_pattern). */
static uint8_t read_back_byte(uint32_t i)
{
    return (uint8_t)(i * 7u + (i >> 8) + READ_BACK_SEED);
}

/* Feeds n bytes to the decoder and checks every Normal message's body against the pattern:
 * *got counts the bytes so far, *wrong the ones that differed. */
static void take_read_back(struct utvm_decoder *d, const uint8_t *in, size_t n, size_t *got,
                           size_t *wrong)
{
    struct err err = {0};
    for (size_t off = 0, used = 0; off < n; off += used) {
        if (!utvm_decoder_feed(d, in + off, n - off, &used))
            continue;
        struct utvm_message m;
        if (utvm_parse_message(d->buf, d->len, &m, &err) < 0 || m.type != UTVM_MSG_NORMAL)
            continue;
        for (size_t k = 0; k < m.body_len; k++)
            if (m.body[k] != read_back_byte((uint32_t)(*got + k)))
                (*wrong)++;
        *got += m.body_len;
    }
}

/* Asks the fake CRT for a read-back larger than any packet and reads it slowly, into a decoder
 * no larger than TVM's host's receive buffer: every byte must arrive, in order, in packets that
 * buffer holds (the device's TVM_CRT_MAX_PACKET_SIZE_BYTES above it broke TVM's read-backs). */
static void read_back_slowly(struct rpc_client *c, uint16_t session_id)
{
    struct err err = {0};
    const uint8_t body[6] = {'R', (uint8_t)READ_BACK_BYTES, (uint8_t)(READ_BACK_BYTES >> 8),
                             (uint8_t)(READ_BACK_BYTES >> 16), (uint8_t)(READ_BACK_BYTES >> 24),
                             READ_BACK_SEED};
    uint8_t req[UTVM_ENCODED_MAX(UTVM_SESSION_HEADER_BYTES + sizeof body)];
    uint8_t payload[UTVM_TVM_HOST_RX_BYTES], in[SLOW_READ_MAX];
    size_t len = 0, got = 0, wrong = 0;
    unsigned reads = 0;
    OK(utvm_encode_message(session_id, UTVM_MSG_NORMAL, body, sizeof body, req, sizeof req, &len,
                           &err));
    OK(rpc_io_write(c, req, len, HANDSHAKE_TIMEOUT_MS, &err));
    struct utvm_decoder d;
    utvm_decoder_init(&d, payload, sizeof payload);
    while (got < READ_BACK_BYTES && d.n_oversize == 0) {
        usleep(SLOW_READ_SLEEP_US);
        ssize_t n = rpc_io_read(c, in, sizeof in, HANDSHAKE_TIMEOUT_MS, &err);
        if (n < 0)
            test_report("slow read-back", &err);
        ASSERT_GT_FATAL(n, 0);
        reads++;
        take_read_back(&d, in, (size_t)n, &got, &wrong);
    }
    if (d.n_oversize)
        printf("\n    the board sent a packet above TVM's host receive buffer (%u bytes): "
               "TVM_CRT_MAX_PACKET_SIZE_BYTES in firmware/platform/crt_config.h is too large ",
               UTVM_TVM_HOST_RX_BYTES);
    ASSERT_EQ(d.n_oversize, 0);
    ASSERT_EQ(got, READ_BACK_BYTES);
    ASSERT_EQ(wrong, 0);
    ASSERT_EQ(d.n_bad_crc + d.n_bad_escape + d.n_cut, 0);
    ASSERT_GT(d.n_packets, READ_BACK_BYTES / UTVM_TVM_HOST_RX_BYTES); /* really cut up */
    printf("\n    read back %zu bytes in %u packets, %u reads of <= %u bytes ", got, d.n_packets,
           reads, SLOW_READ_MAX);
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

/* What building a project through the server showed. */
struct served_build {
    double seconds;
    int crt_objects;       /* CRT sources compiled (in the cache's build or the project's) */
    bool crt_prebuilt;     /* the project's configure linked the CRT from the cache */
    bool model_left_out;   /* the fake CRT's "model ... is NOT linked" line */
    unsigned long long text, data, bss;
};

/* Generates a host_driven project for board named name, builds it through its server, flashes
 * it, opens the transport and runs the handshake, then stops the server. */
static void serve_project(const char *board, const char *name, struct served_build *out)
{
    char dir[PATH_MAX], path[PATH_MAX + 32], *text = NULL;
    struct err err = {0};
    memset(out, 0, sizeof *out);
    snprintf(dir, sizeof dir, "%s/%s-%s-%s", workdir, name, srv_label, board);
    ASSERT_TRUE_FATAL(server_generate(dir, board, srv_crt, NULL, 0));

    start_server(dir);
    double t0 = mono_now_s();
    bool built = call(client, "build", "{\"options\": {}}", RPC_BUILD_MS, NULL);
    out->seconds = mono_now_s() - t0;
    ASSERT_TRUE_FATAL(built);
    snprintf(path, sizeof path, "%s/build/build.log", dir);
    ASSERT_OK_FATAL(fs_read_file(path, 0, &text, NULL, &err), &err);
    /* CMake names every object of the CRT library CMakeFiles/mtq_crt.dir/... */
    out->crt_objects = count_lines(text, "mtq_crt.dir/");
    out->crt_prebuilt = count_lines(text, "host_driven: CRT prebuilt:") > 0;
    out->model_left_out = count_lines(text, "is NOT linked") > 0;
    free(text);
    text = NULL;
    /* a second build of the unchanged project: both caches hit, no configure, nothing built */
    ASSERT_TRUE_FATAL(call(client, "build", "{\"options\": {}}", RPC_BUILD_MS, NULL));
    ASSERT_OK_FATAL(fs_read_file(path, 0, &text, NULL, &err), &err);
    ASSERT_STR_CONTAINS(text, "no work to do");
    ASSERT_STR_NOT_CONTAINS(text, "Configuring");
    free(text);
    text = NULL;
    snprintf(path, sizeof path, "%s/build/sizes.json", dir);
    ASSERT_OK_FATAL(fs_read_file(path, 0, &text, NULL, &err), &err);
    cJSON *sizes = cJSON_Parse(text);
    free(text);
    ASSERT_NOT_NULL_FATAL(sizes);
    out->text = (unsigned long long)cJSON_GetNumberValue(cJSON_GetObjectItem(sizes, "text"));
    out->data = (unsigned long long)cJSON_GetNumberValue(cJSON_GetObjectItem(sizes, "data"));
    out->bss = (unsigned long long)cJSON_GetNumberValue(cJSON_GetObjectItem(sizes, "bss"));
    cJSON_Delete(sizes);
    ASSERT_GT(out->text, 1000);

    ASSERT_TRUE_FATAL(call(client, "flash", "{\"options\": {}}", RPC_QUICK_MS, NULL));
    cJSON *opened = NULL;
    ASSERT_TRUE_FATAL(call(client, "open_transport", "{\"options\": {}}", RPC_QUICK_MS, &opened));
    ASSERT_NOT_NULL(cJSON_GetObjectItem(opened, "timeouts"));
    cJSON_Delete(opened);

    struct utvm_io io = {rpc_io_read, rpc_io_write, client};
    struct utvm_handshake_result r;
    int rc = utvm_handshake(&io, 0x6b, HANDSHAKE_TIMEOUT_MS, &r, &err);
    if (rc < 0)
        test_report("handshake through the server", &err);
    ASSERT_EQ(rc, 0);
    if (rc == 0) {
        ASSERT_EQ(r.session_id & 0xff, 0x6b);
        ASSERT_NE(r.responder_nonce, 0);
        ASSERT_EQ(r.n_dropped, 0);
        ASSERT_EQ(r.n_terminate, 1);
        if (srv_fake) {
            ASSERT_EQ(r.n_log, 1);
            read_back_slowly(client, r.session_id);
        }
    }
    ASSERT_TRUE(call(client, "close_transport", "{}", RPC_QUICK_MS, NULL));
    stop_server();
    printf("\n    %s %s (%s CRT): build %.2f s, %d CRT objects compiled%s; firmware.elf text %llu "
           "data %llu bss %llu ", name, board, srv_label, out->seconds, out->crt_objects,
           out->crt_prebuilt ? ", CRT from the cache" : "", out->text, out->data, out->bss);
}

static const char *first_board(void)
{
    for (size_t i = 0; i < board_names.n; i++)
        if (boards[i].usable)
            return boards[i].name;
    return NULL;
}

static void test_a_generated_project_builds_and_shakes_hands_through_the_server(void)
{
    struct served_build b;
    serve_project(first_board(), "first", &b);
    ASSERT_GT(b.crt_objects, 0); /* an empty cache: the CRT was compiled, into the cache */
    ASSERT_TRUE(b.crt_prebuilt);    /* and the project linked the cache's library */
    ASSERT_EQ(b.model_left_out, srv_fake);
}

static void test_a_second_project_links_the_cached_crt_and_still_works(void)
{
    struct served_build b;
    serve_project(first_board(), "second", &b);
    ASSERT_EQ(b.crt_objects, 0); /* not one CRT source compiled */
    ASSERT_TRUE(b.crt_prebuilt);
}

static void test_every_other_board_builds_and_shakes_hands_through_the_server(void)
{
    const char *first = first_board();
    for (size_t i = 0; i < board_names.n; i++) {
        if (!boards[i].usable || boards[i].name == first)
            continue;
        struct served_build b;
        serve_project(boards[i].name, "other", &b);
        ASSERT_GT(b.crt_objects, 0); /* another board: another cache entry */
        ASSERT_TRUE(b.crt_prebuilt);
    }
}

/* host_driven over every usable board's fast link (virtio-serial on RISC-V, the LAN9118 on
 * mps2), as TVM drives it (TVM passes the same options to every call, link=fast included):
 * generate, build, flash, open_transport, then the handshake and the slow read-back through
 * read_transport/write_transport. */
static void test_the_handshake_and_a_slow_read_back_run_over_the_fast_link(void)
{
    srv_link = "fast";
    for (size_t i = 0; i < board_names.n; i++) {
        if (!boards[i].usable)
            continue;
        struct served_build b;
        serve_project(boards[i].name, "fast", &b);
        ASSERT_TRUE(b.crt_prebuilt);
        ASSERT_EQ(b.crt_objects, 0); /* the UART project's CRT, from the cache */
    }
    srv_link = "uart";
}

/* AutoTVM: an operator library as tvm.build + export_model_library_format write it (AutoTVM's
 * candidates) generates, builds, flashes and shakes hands as host_driven. */
static void test_an_operator_library_builds_and_shakes_hands_through_the_server(void)
{
    struct served_build b;
    srv_mlf = operator_tar;
    serve_project(first_board(), "operator", &b);
    srv_mlf = digits_tar;
    ASSERT_TRUE(b.crt_prebuilt);
    ASSERT_EQ(b.crt_objects, 0); /* the CRT of the first test, from the cache */
    ASSERT_EQ(b.model_left_out, srv_fake);
}

/* Every "  FLAGS = " and "  DEFINES = " line of dir/<build>/build.ninja, with the build
 * directory's path replaced by "<B>", joined by newlines (heap; NULL on failure). Include lines
 * are left out: an imported (prebuilt) library's directories are -isystem, a built one's -I. */
static char *compile_lines(const char *dir, const char *build)
{
    char path[2 * PATH_MAX], bdir[2 * PATH_MAX], *text = NULL;
    snprintf(path, sizeof path, "%s/%s/build.ninja", dir, build);
    snprintf(bdir, sizeof bdir, "%s/%s", dir, build);
    if (fs_read_file(path, 0, &text, NULL, NULL) < 0)
        return NULL;
    size_t cap = strlen(text) + 1, used = 0;
    char *out = calloc(1, cap);
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); out && l;
         l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "  FLAGS = ", 10) && strncmp(l, "  DEFINES = ", 12))
            continue;
        for (const char *p = l; *p;) { /* the lines only shrink: cap always suffices */
            if (!strncmp(p, bdir, strlen(bdir))) {
                used += (size_t)snprintf(out + used, cap - used, "<B>");
                p += strlen(bdir);
            } else {
                out[used++] = *p++;
            }
        }
        out[used++] = '\n';
    }
    free(text);
    return out;
}

/* AutoTVM's speed: a project linking the cached libraries loads what CMake found about the
 * compilers when it built them instead of identifying them again, and still compiles its sources
 * with exactly the flags a configure that identifies everything itself gives them. */
static void test_a_project_linking_the_cache_reuses_the_compiler_facts_with_the_same_flags(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 32], cmd[4 * PATH_MAX], *log = NULL;
    struct err err = {0};
    snprintf(dir, sizeof dir, "%s/second-%s-%s", workdir, srv_label, first_board());
    snprintf(path, sizeof path, "%s/build", dir);
    ASSERT_OK_FATAL(fs_remove_tree(path, &err), &err); /* configure it once more */
    OK(proj__build(dir, false, 0, NULL, &err));
    snprintf(path, sizeof path, "%s/build/build.log", dir);
    ASSERT_OK_FATAL(fs_read_file(path, 0, &log, NULL, &err), &err);
    ASSERT_STR_CONTAINS(log, "host_driven: CRT prebuilt:");
    ASSERT_STR_NOT_CONTAINS(log, "The C compiler identification");
    ASSERT_STR_NOT_CONTAINS(log, "Detecting C compiler ABI info");
    if (!srv_fake) /* the fake CRT has no C++ */
        ASSERT_STR_NOT_CONTAINS(log, "The CXX compiler identification");
    free(log);
    /* the same project configured without the cache: CMake identifies every compiler */
    snprintf(cmd, sizeof cmd, "cmake -S '%s' -B '%s/plain' -G Ninja >'%s/plain.log' 2>&1", dir,
             dir, dir);
    ASSERT_EQ_FATAL(system(cmd), 0);
    char *cached = compile_lines(dir, "build"), *plain = compile_lines(dir, "plain");
    ASSERT_NOT_NULL_FATAL(cached);
    ASSERT_NOT_NULL_FATAL(plain);
    int lines = 0;
    for (char *save = NULL, *l = strtok_r(cached, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save), lines++) {
        ASSERT_STR_CONTAINS(plain, l);
    }
    ASSERT_GE(lines, 3);
    free(cached);
    free(plain);
}

/* Appends a comment to <dir>/<rel>. */
static void edit(const char *dir, const char *rel)
{
    char path[2 * PATH_MAX];
    static const char comment[] = "\n/* edited by e2e_host_driven */\n";
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    ASSERT_GE_FATAL(fd, 0);
    ASSERT_EQ(write(fd, comment, sizeof comment - 1), (ssize_t)(sizeof comment - 1));
    close(fd);
}

static void test_the_crt_cache_key_follows_the_crt_and_platform_not_apps(void)
{
    char dir[PATH_MAX], before[17], after_app[17], after_crt[17], after_platform[17];
    struct project_record st = {0};
    struct err err = {0};
    snprintf(dir, sizeof dir, "%s/key-%s", workdir, srv_label);
    ASSERT_TRUE_FATAL(server_generate(dir, first_board(), srv_crt, NULL, 0));
    OK(record_read(&st, dir, &err));
    OK(proj__cache_crt_key(dir, &st, before, &err));
    edit(dir, "firmware/apps/echo.c");
    OK(proj__cache_crt_key(dir, &st, after_app, &err));
    ASSERT_STR_EQ(before, after_app); /* an app is not in the CRT library */
    edit(dir, "crt/include/tvm/runtime/crt/platform.h");
    OK(proj__cache_crt_key(dir, &st, after_crt, &err));
    ASSERT_STR_NE(after_app, after_crt);
    edit(dir, "firmware/platform/crt_config.h");
    OK(proj__cache_crt_key(dir, &st, after_platform, &err));
    ASSERT_STR_NE(after_crt, after_platform);
    record_close(&st);
}

static void test_generate_refuses_host_driven_without_a_crt(void)
{
    char dir[PATH_MAX], why[2048];
    snprintf(dir, sizeof dir, "%s/refused-no-crt", workdir);
    /* the digits MLF carries no runtime/, and no standalone_crt_dir is given */
    ASSERT_FALSE(server_generate(dir, first_board(), "", why, sizeof why));
    ASSERT_STR_CONTAINS(why, "host_driven needs TVM's standalone C runtime");
    ASSERT_STR_CONTAINS(why, "pass standalone_crt_dir");
    ASSERT_FALSE(fs_exists(dir));
}

static void test_generate_refuses_a_crt_dir_without_the_crt_headers(void)
{
    char dir[PATH_MAX], why[2048];
    snprintf(dir, sizeof dir, "%s/refused-bad-crt", workdir);
    ASSERT_FALSE(server_generate(dir, first_board(), MTQ_SOURCE_DIR "/firmware", why,
                                 sizeof why));
    ASSERT_STR_CONTAINS(why, "standalone_crt_dir " MTQ_SOURCE_DIR "/firmware has no "
                                                                  "include/tvm/runtime/crt");
    ASSERT_STR_CONTAINS(why, "tvm.micro.get_standalone_crt_dir()");
    ASSERT_FALSE(fs_exists(dir));
}

/* ---- main ---- */

static int init_fake(void *board)
{
    cur = board;
    cur_elf = cur->fake_elf;
    cur_fake = true;
    return 0;
}
static int init_real(void *board)
{
    cur = board;
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
static int init_served_fake(void)
{
    srv_crt = MTQ_SOURCE_DIR "/tests/fixtures/fake_crt";
    srv_fake = true;
    srv_label = "fake";
    return 0;
}
static int init_served_real(void)
{
    srv_crt = standalone_crt;
    srv_fake = false;
    srv_label = "real";
    return 0;
}
static int clean_served(void)
{
    if (client) { /* a fatal assert left a server running: kill it, and its QEMU with it */
        rpc_client_kill(client);
        free(client);
        client = NULL;
    }
    return 0;
}

/* Removes the scratch directory; a board whose firmware did not build fails the run. */
static int end_of_run(void)
{
    struct err err = {0};
    if (build_failures)
        printf("FAILED: %d boards' host_driven firmware did not build (see above)\n",
               build_failures);
    if (fs_remove_tree(workdir, &err) < 0)
        fprintf(stderr, "leaving %s: %s\n", workdir, err.msg);
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
    struct err err = {0};
    standalone_crt = getenv("MTQ_STANDALONE_CRT");
    if (standalone_crt && !*standalone_crt)
        standalone_crt = NULL;
    if (standalone_crt && !fs_is_dir(standalone_crt)) {
        printf("FAILED: MTQ_STANDALONE_CRT=%s is not a directory (point it at TVM's "
               "standalone_crt, or unset it)\n", standalone_crt);
        return 1;
    }
    test_at_end(end_of_run); /* removes workdir: also after a failure below */
    if (scratch_make(workdir, rundir, sizeof rundir, NULL, 0) < 0) {
        perror(workdir);
        return 1;
    }
    char fixture[PATH_MAX];
    snprintf(digits_tar, sizeof digits_tar, "%s/digits.tar", workdir);
    if (mlf_fixture_path("digits_int8", fixture, sizeof fixture, &err) < 0 ||
        mlf_make_tar(fixture, digits_tar, &err) < 0) {
        printf("FAILED: the digits MLF: %s\n", err.msg);
        return 1;
    }
    snprintf(operator_tar, sizeof operator_tar, "%s/operator_add.tar", workdir);
    if (mlf_fixture_path("operator_add", fixture, sizeof fixture, &err) < 0 ||
        mlf_make_tar(fixture, operator_tar, &err) < 0) {
        printf("FAILED: the operator MLF: %s\n", err.msg);
        return 1;
    }
    if (boards_list(&board_names, &err) < 0) {
        printf("FAILED: %s\n", err.msg);
        return 1;
    }
    int usable = boards_prepare(&board_names, prepare_at, NULL, &build_failures);
    if (usable == 0 && build_failures == 0) {
        printf("skipping: no board can run here (see above)\n");
        return TEST_SKIP;
    }
    if (!standalone_crt)
        printf("skipped: real-CRT handshake: MTQ_STANDALONE_CRT is not set (point it at TVM's "
               "standalone_crt)\n");
    struct board *first = NULL;
    for (size_t i = 0; i < board_names.n; i++) {
        if (!boards[i].usable)
            continue;
        if (!first)
            first = &boards[i];
        char name[128];
        snprintf(name, sizeof name, "fake CRT on %s", boards[i].name);
        CU_pSuite s = test_add_suite_with(name, init_fake, clean_board, &boards[i]);
        CU_ADD_TEST(s, test_board_answers_the_handshake_and_another_nonce_after_a_reset);
        if (standalone_crt) {
            snprintf(name, sizeof name, "TVM's CRT on %s", boards[i].name);
            s = test_add_suite_with(name, init_real, clean_board, &boards[i]);
            CU_ADD_TEST(s, test_board_answers_the_handshake_and_another_nonce_after_a_reset);
        }
    }
    if (first) {
        CU_pSuite s = test_add_suite_with("host_driven configure errors", init_fake, clean_board,
                                          first);
        CU_ADD_TEST(s, test_host_driven_without_a_crt_fails_to_configure_with_the_fix);
        for (int real = 0; real <= (standalone_crt ? 1 : 0); real++) {
            s = CU_add_suite(real ? "through the server, TVM's CRT" :
                             "through the server, fake CRT",
                             real ? init_served_real : init_served_fake, clean_served);
            CU_ADD_TEST(s, test_a_generated_project_builds_and_shakes_hands_through_the_server);
            CU_ADD_TEST(s, test_a_second_project_links_the_cached_crt_and_still_works);
            CU_ADD_TEST(s, test_an_operator_library_builds_and_shakes_hands_through_the_server);
            CU_ADD_TEST(s, test_a_project_linking_the_cache_reuses_the_compiler_facts_with_the_same_flags);
            CU_ADD_TEST(s, test_every_other_board_builds_and_shakes_hands_through_the_server);
            CU_ADD_TEST(s, test_the_handshake_and_a_slow_read_back_run_over_the_fast_link);
            CU_ADD_TEST(s, test_the_crt_cache_key_follows_the_crt_and_platform_not_apps);
        }
        s = CU_add_suite("generate_project refusals", init_served_fake, clean_served);
        CU_ADD_TEST(s, test_generate_refuses_host_driven_without_a_crt);
        CU_ADD_TEST(s, test_generate_refuses_a_crt_dir_without_the_crt_headers);
    }
    return TEST_RUN;
}
