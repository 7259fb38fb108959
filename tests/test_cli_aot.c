/*
 * The host side of the aot_standalone line protocol (cli/aot.h): each parser on good and bad
 * lines (names with ':' inside, hex of either case, stats with unknown keys, error lines,
 * replies cut short), values decoded by dtype, and the session against the host reference
 * programs (digits_int8_host_ref, float_tiny_host_ref, digits_int8_small_host_ref), which
 * speak the firmware's protocol byte for byte on stdin and stdout.
 */
#include "aot.h"

#include "asserts.h"
#include "runner.h"
#include "mono.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIN MTQ_BUILD_DIR "/bin/"
#define FIXTURES MTQ_SOURCE_DIR "/tests/fixtures/mlf/"

/* ---- a host reference program as the board ---- */

struct host_ref {
    pid_t pid;
    int to, from; /* its stdin, its stdout */
};

static int ref_read(void *ctx, void *buf, size_t n, double timeout_sec, size_t *got,
                    struct err *err)
{
    struct host_ref *h = ctx;
    struct pollfd p = {.fd = h->from, .events = POLLIN};
    int r = poll(&p, 1, (int)(timeout_sec * 1000));
    if (r == 0)
        return err_set(err, ERR_TIMEOUT, "nothing");
    ssize_t k = read(h->from, buf, n);
    if (k <= 0)
        return err_set(err, ERR_CLOSED, "closed");
    *got = (size_t)k;
    return 0;
}

static int ref_write(void *ctx, const void *data, size_t len, double timeout_sec,
                     struct err *err)
{
    (void)timeout_sec;
    struct host_ref *h = ctx;
    const char *p = data;
    while (len) {
        ssize_t k = write(h->to, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return err_set(err, ERR_CLOSED, "closed");
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

static void ref_start(struct host_ref *h, const char *program)
{
    int in[2], out[2];
    ASSERT_TRUE_FATAL(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
    h->pid = fork();
    ASSERT_GE_FATAL(h->pid, 0);
    if (h->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execl(program, program, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    h->to = in[1];
    h->from = out[0];
}

/* EOF on its stdin ends it; it is reaped, never left behind. */
static void ref_stop(struct host_ref *h)
{
    close(h->to);
    close(h->from);
    for (int i = 0; i < 200; i++) {
        if (waitpid(h->pid, NULL, WNOHANG) == h->pid)
            return;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
}

static struct cli_aot_session *ref_open(struct host_ref *h, const char *program)
{
    struct cli_aot_session *s = NULL;
    struct err e;
    struct cli_aot_io io = {h, ref_read, ref_write};
    ref_start(h, program);
    int rc = cli_aot_open(&io, mono_now_s() + 10, &s, &e);
    if (rc < 0)
        fprintf(stderr, "\n%s\n", e.msg);
    ASSERT_EQ(rc, 0);
    return s;
}

static cJSON *samples_of(const char *file)
{
    FILE *f = fopen(file, "rb");
    char *text = calloc(1, 1 << 20);
    ASSERT_TRUE_FATAL(f && text);
    text[fread(text, 1, (1 << 20) - 1, f)] = '\0';
    fclose(f);
    cJSON *j = cJSON_Parse(text);
    free(text);
    ASSERT_TRUE_FATAL(cJSON_IsObject(j));
    return j;
}

static char *hex_string(const unsigned char *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", p[i]);
    s[2 * n] = '\0';
    return s;
}

/* ---- a scripted channel: fixed bytes, then a fixed ending ---- */

struct script {
    const char *text;
    size_t pos;
    int end; /* ERR_TIMEOUT or ERR_CLOSED once the text is used up */
};

static int script_read(void *ctx, void *buf, size_t n, double timeout_sec, size_t *got,
                       struct err *err)
{
    struct script *s = ctx;
    size_t left = strlen(s->text) - s->pos;
    if (!left) {
        struct timespec ts = {0, 5 * 1000000L}; /* as a real channel would wait */
        (void)timeout_sec;
        nanosleep(&ts, NULL);
        return err_set(err, s->end, "scripted end");
    }
    size_t k = left < n ? left : n;
    k = k > 7 ? 7 : k; /* small pieces: lines arrive split, as over a UART */
    memcpy(buf, s->text + s->pos, k);
    s->pos += k;
    *got = k;
    return 0;
}

static int script_write(void *ctx, const void *data, size_t len, double timeout_sec,
                        struct err *err)
{
    (void)ctx, (void)data, (void)len, (void)timeout_sec, (void)err;
    return 0;
}

/* ---- parsers ---- */

static void test_a_tensor_line_keeps_colons_inside_the_name(void)
{
    struct cli_aot_tensor t;
    struct err e;
    bool in = false;
    ASSERT_OK(cli_aot_parse_tensor("tensor:input:0:dense_input:0:float32:16", &in, &t,
                                   &e), &e);
    ASSERT_TRUE(in);
    ASSERT_STR_EQ(t.name, "dense_input:0");
    ASSERT_STR_EQ(t.dtype, "float32");
    ASSERT_EQ(t.bytes, 16);
    ASSERT_EQ(t.index, 0);
    ASSERT_OK(cli_aot_parse_tensor("tensor:output:2:a:b::c:int8:10", &in, &t, &e), &e);
    ASSERT_FALSE(in);
    ASSERT_STR_EQ(t.name, "a:b::c");
    ASSERT_EQ(t.index, 2);
    ASSERT_EQ(t.bytes, 10);
}

static void test_bad_tensor_lines_are_refused_quoting_the_line(void)
{
    const char *bad[] = {
        "tensor:input:x:n:int8:4",      "tensor:input:0:int8:4",
        "tensor:inout:0:n:int8:4",      "tensor:input:0:n:int8:",
        "tensor:input:0:n::4",          "tensor:input:0:n:int8:99999999999999999999999",
        "tensor:input:0:n:int8:-4",     "tensor:input:",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cli_aot_tensor t;
        struct err e;
        bool in;
        ASSERT_EQ(cli_aot_parse_tensor(bad[i], &in, &t, &e), ERR_INVALID);
        ASSERT_STR_CONTAINS(e.msg, "bad tensor line");
        ASSERT_STR_CONTAINS(e.msg, bad[i]);
    }
}

static void test_an_output_line_decodes_hex_of_either_case(void)
{
    struct cli_aot_output o;
    struct err e;
    ASSERT_OK_FATAL(cli_aot_parse_output("output:1:x:0:float32:0000803F", &o, &e), &e);
    ASSERT_STR_EQ(o.t.name, "x:0");
    ASSERT_EQ(o.t.index, 1);
    ASSERT_EQ(o.t.bytes, 4);
    ASSERT_TRUE(o.data[0] == 0 && o.data[1] == 0 && o.data[2] == 0x80 && o.data[3] == 0x3f);
    char v[32];
    ASSERT_TRUE(cli_aot_format_value(o.t.dtype, o.data, o.t.bytes, 0, v, sizeof v));
    ASSERT_STR_EQ(v, "1");
    free(o.data);
    ASSERT_OK(cli_aot_parse_output("output:0:y:int8:", &o, &e), &e); /* zero bytes */
    ASSERT_EQ(o.t.bytes, 0);
    free(o.data);
}

static void test_hex_decoding_refuses_odd_lengths_and_non_hex_digits(void)
{
    unsigned char *out = NULL;
    size_t n = 0;
    struct err e;
    ASSERT_EQ(cli_aot_hex_decode("abc", 3, &out, &n, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "odd");
    ASSERT_EQ(cli_aot_hex_decode("00g0", 4, &out, &n, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "'g'");
    ASSERT_STR_CONTAINS(e.msg, "hex digit 2");
    ASSERT_OK(cli_aot_hex_decode("0A0b", 4, &out, &n, &e), &e);
    ASSERT_TRUE(n == 2 && out[0] == 0x0a && out[1] == 0x0b);
    free(out);
    struct cli_aot_output o;
    ASSERT_EQ(cli_aot_parse_output("output:0:out:int8:0z", &o, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "output 0 'out'");
}

static void test_stats_are_parsed_and_unknown_keys_ignored(void)
{
    struct cli_aot_stats s;
    struct err e;
    ASSERT_OK_FATAL(cli_aot_parse_stats("stats:ticks=383:hz=25000000:ns=15320:instret=9"
                                        ":rc=-1:workspace=192:future=x7", &s, &e), &e);
    ASSERT_EQ(s.ticks, 383);
    ASSERT_EQ(s.hz, 25000000);
    ASSERT_EQ(s.ns, 15320);
    ASSERT_EQ(s.instret, 9);
    ASSERT_EQ(s.rc, -1);
    ASSERT_EQ(s.workspace, 192);
    ASSERT_OK(cli_aot_parse_stats("stats:ticks=18446744073709551615:hz=1:rc=0", &s, &e), &e);
    ASSERT_EQ(s.ticks, UINT64_MAX);
}

static void test_bad_stats_lines_name_the_problem(void)
{
    struct cli_aot_stats s;
    struct err e;
    ASSERT_EQ(cli_aot_parse_stats("stats:ticks=1:rc=0", &s, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "lacks hz");
    ASSERT_EQ(cli_aot_parse_stats("stats:ticks=1x:hz=1:rc=0", &s, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "'ticks' is not a number");
    ASSERT_EQ(cli_aot_parse_stats("stats:ticks=18446744073709551616:hz=1:rc=0", &s, &e),
              ERR_INVALID);
    ASSERT_EQ(cli_aot_parse_stats("stats:ticks=1:hz=0:rc=0", &s, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "hz=0");
    ASSERT_EQ(cli_aot_parse_stats("stats:ticks", &s, &e), ERR_INVALID);
    ASSERT_EQ(cli_aot_parse_stats("stat:ticks=1:hz=1:rc=0", &s, &e), ERR_INVALID);
}

static void test_the_banner_names_type_board_and_libc(void)
{
    struct cli_aot_banner b;
    struct err e;
    ASSERT_OK(cli_aot_parse_banner("#microtvm-qemu:aot_standalone:mps2-an385:picolibc", &b,
                                   &e), &e);
    ASSERT_STR_EQ(b.project_type, "aot_standalone");
    ASSERT_STR_EQ(b.board, "mps2-an385");
    ASSERT_STR_EQ(b.libc, "picolibc");
    ASSERT_EQ(cli_aot_parse_banner("#microtvm-qemu:echo:b", &b, &e), ERR_INVALID);
    ASSERT_EQ(cli_aot_parse_banner("#microtvm-qemu:a:b:c:d", &b, &e), ERR_INVALID);
    ASSERT_EQ(cli_aot_parse_banner("hello", &b, &e), ERR_INVALID);
}

static const char *info_text = "model:default:inputs=1:outputs=2:workspace=160:arena=1344\n"
                               "tensor:input:0:in:0:int8:4\n"
                               "tensor:output:0:a:int8:2\n"
                               "tensor:output:1:b:c:float32:4\n"
                               "done\n";

static void test_an_info_reply_lists_every_tensor_in_order(void)
{
    struct cli_aot_model *m = calloc(1, sizeof *m);
    struct err e;
    ASSERT_OK_FATAL(cli_aot_parse_info(info_text, m, &e), &e);
    ASSERT_STR_EQ(m->module, "default");
    ASSERT_EQ(m->workspace, 160);
    ASSERT_EQ(m->arena, 1344);
    ASSERT_TRUE(m->n_inputs == 1 && m->n_outputs == 2);
    ASSERT_STR_EQ(m->inputs[0].name, "in:0");
    ASSERT_STR_EQ(m->outputs[1].name, "b:c");
    ASSERT_EQ(m->outputs[1].bytes, 4);

    ASSERT_EQ(cli_aot_parse_info("error:info: broken\n", m, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "info: broken");
    /* one output announced twice, one missing */
    ASSERT_EQ(cli_aot_parse_info("model:m:inputs=0:outputs=2\ntensor:output:0:a:int8:1\n"
                                 "done\n", m, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "cut short");
    ASSERT_EQ(cli_aot_parse_info("model:m:inputs=1:outputs=1\ntensor:output:0:a:int8:1\n"
                                 "tensor:input:0:b:int8:1\ndone\n", m, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "inputs first");
    ASSERT_EQ(cli_aot_parse_info("model:m:inputs=0:outputs=0\n", m, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "no 'done'");
    ASSERT_EQ(cli_aot_parse_info("model:m:inputs=100:outputs=0\ndone\n", m, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "at most");
    free(m);
}

static void test_a_run_reply_is_checked_against_the_model(void)
{
    struct cli_aot_model *m = calloc(1, sizeof *m);
    struct cli_aot_result r;
    struct err e;
    ASSERT_OK_FATAL(cli_aot_parse_info(info_text, m, &e), &e);
    const char *good = "output:0:a:int8:ff01\noutput:1:b:c:float32:0000c0bf\n"
                       "stats:ticks=10:hz=1000:ns=10000000:instret=0:rc=0:workspace=32\ndone\n";
    ASSERT_OK_FATAL(cli_aot_parse_run(good, m, &r, &e), &e);
    ASSERT_EQ(r.n_outputs, 2);
    ASSERT_STR_EQ(r.error, "");
    ASSERT_EQ(r.stats.ticks, 10);
    char v[32];
    ASSERT_TRUE(cli_aot_format_value("int8", r.outputs[0].data, 2, 0, v, sizeof v));
    ASSERT_STR_EQ(v, "-1");
    ASSERT_TRUE(cli_aot_format_value("float32", r.outputs[1].data, 4, 0, v, sizeof v));
    ASSERT_STR_EQ(v, "-1.5");
    ASSERT_EQ(cli_aot_argmax("int8", r.outputs[0].data, 2), 1);
    cli_aot_result_close(&r);

    /* a truncated output line: 1 byte where the model has 2 */
    ASSERT_EQ(cli_aot_parse_run("output:0:a:int8:ff\n", m, &r, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "1 bytes arrived");
    ASSERT_STR_CONTAINS(e.msg, "has 2");
    ASSERT_EQ(r.n_outputs, 0); /* left closed */
    /* no stats, no done */
    ASSERT_EQ(cli_aot_parse_run("output:0:a:int8:ff01\noutput:1:b:c:float32:0000c0bf\n",
                                m, &r, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "cut short: no stats");
    ASSERT_EQ(cli_aot_parse_run("output:0:a:int8:ff01\noutput:1:b:c:float32:0000c0bf\n"
                                "stats:ticks=1:hz=1:rc=0\n", m, &r, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "no 'done'");
    /* a missing output, a wrong name, junk */
    ASSERT_EQ(cli_aot_parse_run("output:0:a:int8:ff01\nstats:ticks=1:hz=1:rc=0\ndone\n",
                                m, &r, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "has 1 outputs, the model has 2");
    ASSERT_EQ(cli_aot_parse_run("output:0:zz:int8:ff01\n", m, &r, &e), ERR_INVALID);
    ASSERT_EQ(cli_aot_parse_run("hello\n", m, &r, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "'hello'");
    free(m);
}

static void test_a_failed_run_is_reported_with_its_stats(void)
{
    struct cli_aot_result r;
    struct err e;
    const char *text = "error:run: the model returned -1: workspace exhausted\n"
                       "stats:ticks=3:hz=1000:ns=3000000:instret=0:rc=-1:workspace=64\ndone\n";
    ASSERT_OK(cli_aot_parse_run(text, NULL, &r, &e), &e);
    ASSERT_STR_EQ(r.error, "run: the model returned -1: workspace exhausted");
    ASSERT_EQ(r.stats.rc, -1);
    ASSERT_EQ(r.n_outputs, 0);
    cli_aot_result_close(&r);
    /* rc != 0 without an error line still counts as a failed run */
    ASSERT_OK(cli_aot_parse_run("stats:ticks=3:hz=1:rc=5\ndone\n", NULL, &r, &e), &e);
    ASSERT_STR_CONTAINS(r.error, "returned 5");
}

static void test_values_are_decoded_by_dtype(void)
{
    const unsigned char b[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const unsigned char min64[8] = {0, 0, 0, 0, 0, 0, 0, 0x80};
    const unsigned char h[4] = {0x00, 0x3c, 0x00, 0x7e}; /* float16 1.0, nan */
    const unsigned char ninf[4] = {0x00, 0x00, 0x80, 0xff};
    char v[64];
    ASSERT_TRUE(cli_aot_format_value("int8", b, 8, 7, v, sizeof v) && !strcmp(v, "-1"));
    ASSERT_TRUE(cli_aot_format_value("uint8", b, 8, 0, v, sizeof v) && !strcmp(v, "255"));
    ASSERT_TRUE(cli_aot_format_value("int16", b, 8, 3, v, sizeof v) && !strcmp(v, "-1"));
    ASSERT_TRUE(cli_aot_format_value("uint32", b, 8, 1, v, sizeof v) && !strcmp(v, "4294967295"));
    ASSERT_TRUE(cli_aot_format_value("uint64", b, 8, 0, v, sizeof v) &&
                !strcmp(v, "18446744073709551615"));
    ASSERT_TRUE(cli_aot_format_value("int64", min64, 8, 0, v, sizeof v) &&
                !strcmp(v, "-9223372036854775808"));
    ASSERT_TRUE(cli_aot_format_value("float16", h, 4, 0, v, sizeof v) && !strcmp(v, "1"));
    ASSERT_TRUE(cli_aot_format_value("float16", h, 4, 1, v, sizeof v) && !strcmp(v, "nan"));
    ASSERT_TRUE(cli_aot_format_value("float32", ninf, 4, 0, v, sizeof v) && !strcmp(v, "-inf"));
    ASSERT_TRUE(cli_aot_format_value("bool", b, 8, 2, v, sizeof v) && !strcmp(v, "255"));
    ASSERT_FALSE(cli_aot_format_value("int8", b, 8, 8, v, sizeof v)); /* out of range */
    ASSERT_FALSE(cli_aot_format_value("custom[posit]16", b, 8, 0, v, sizeof v));
    ASSERT_EQ(cli_aot_dtype_size("custom[posit]16"), 0);
    ASSERT_EQ(cli_aot_dtype_size("float64"), 8);
}

static void test_argmax_takes_the_first_maximum_like_the_firmware(void)
{
    const signed char i8[4] = {1, 5, 5, -3};
    const float f[3] = {-2.0f, -1.0f, -1.5f};
    ASSERT_EQ(cli_aot_argmax("int8", (const unsigned char *)i8, 4), 1);
    ASSERT_EQ(cli_aot_argmax("float32", (const unsigned char *)f, sizeof f), 1);
    ASSERT_EQ(cli_aot_argmax("uint8", (const unsigned char *)i8, 4), 3); /* 253 */
    ASSERT_EQ(cli_aot_argmax("bool", (const unsigned char *)i8, 4), -1);
    ASSERT_EQ(cli_aot_argmax("float16", (const unsigned char *)i8, 4), -1);
    ASSERT_EQ(cli_aot_argmax("int8", (const unsigned char *)i8, 0), -1);
}

/* ---- the session on scripted channels ---- */

static int open_scripted(const char *text, int end, double limit, struct err *e)
{
    struct script sc = {text, 0, end};
    struct cli_aot_io io = {&sc, script_read, script_write};
    struct cli_aot_session *s = NULL;
    int rc = cli_aot_open(&io, mono_now_s() + limit, &s, e);
    cli_aot_close(s);
    return rc;
}

static void test_a_silent_board_times_out_within_the_limit(void)
{
    struct err e;
    double t0 = mono_now_s();
    ASSERT_EQ(open_scripted("#microtvm-qemu:aot_standalone:b:l\nmodel:m:inp", ERR_TIMEOUT,
                            0.3, &e), ERR_TIMEOUT);
    double took = mono_now_s() - t0;
    ASSERT_TRUE(took >= 0.29 && took < 2.0);
    ASSERT_STR_CONTAINS(e.msg, "info%: no complete reply within the time limit");
    ASSERT_STR_CONTAINS(e.msg, "'model:m:inp'"); /* what did arrive */
}

static void test_a_board_that_stops_mid_reply_is_named(void)
{
    struct err e;
    ASSERT_EQ(open_scripted("boot noise\n#microtvm-qemu:aot_standalone:b:l\nmodel:m:in",
                            ERR_CLOSED, 5, &e), ERR_CLOSED);
    ASSERT_STR_CONTAINS(e.msg, "board stopped");
    ASSERT_STR_CONTAINS(e.msg, "'model:m:in'");
}

static void test_a_board_running_other_firmware_is_refused(void)
{
    struct err e;
    ASSERT_EQ(open_scripted("#microtvm-qemu:echo:mps2-an385:picolibc\n", ERR_CLOSED, 5,
                            &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "runs echo firmware");
    char noise[2048] = "";
    for (int i = 0; i < 40; i++)
        strcat(noise, "noise\n");
    ASSERT_EQ(open_scripted(noise, ERR_CLOSED, 5, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "no '#microtvm-qemu:...' banner");
}

/* ---- the session against the host reference ---- */

static void test_every_digit_sample_gives_the_reference_output(void)
{
    struct host_ref h;
    struct err e;
    struct cli_aot_result r;
    cJSON *j = samples_of(FIXTURES "digits_int8_samples.json");
    struct cli_aot_session *s = ref_open(&h, BIN "digits_int8_host_ref");
    if (!s)
        goto out;
    ASSERT_STR_EQ(cli_aot_banner_of(s)->project_type, "aot_standalone");
    ASSERT_STR_EQ(cli_aot_banner_of(s)->board, "host");
    const struct cli_aot_model *m = cli_aot_model_of(s);
    ASSERT_TRUE(m->n_inputs == 1 && m->n_outputs == 1);
    ASSERT_STR_EQ(m->inputs[0].name, "input");
    ASSERT_EQ(m->inputs[0].bytes, 64);

    /* no input sent: the firmware's own (zeros) */
    ASSERT_OK_FATAL(cli_aot_run(s, &r, &e), &e);
    const cJSON *zero = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "zero_input"), "output_hex");
    char *hex = hex_string(r.outputs[0].data, r.outputs[0].t.bytes);
    ASSERT_STR_EQ(hex, zero->valuestring);
    free(hex);
    ASSERT_TRUE(r.stats.hz > 0 && r.stats.ticks > 0);
    cli_aot_result_close(&r);

    const cJSON *sample;
    size_t n = 0;
    cJSON_ArrayForEach(sample, cJSON_GetObjectItem(j, "samples")) {
        const char *in = cJSON_GetObjectItem(sample, "input_hex")->valuestring;
        unsigned char *bytes;
        size_t len;
        ASSERT_OK_FATAL(cli_aot_hex_decode(in, strlen(in), &bytes, &len, &e), &e);
        ASSERT_OK(cli_aot_set_input(s, 0, bytes, len, &e), &e);
        free(bytes);
        ASSERT_OK_FATAL(cli_aot_run(s, &r, &e), &e);
        hex = hex_string(r.outputs[0].data, r.outputs[0].t.bytes);
        ASSERT_STR_EQ(hex, cJSON_GetObjectItem(sample, "output_hex")->valuestring);
        ASSERT_EQ(cli_aot_argmax("int8", r.outputs[0].data, r.outputs[0].t.bytes),
                  cJSON_GetObjectItem(sample, "argmax")->valueint);
        free(hex);
        cli_aot_result_close(&r);
        n++;
    }
    ASSERT_EQ(n, 10);
out:
    cli_aot_close(s);
    ref_stop(&h);
    cJSON_Delete(j);
}

static void test_float_outputs_decode_to_the_reference_values(void)
{
    struct host_ref h;
    struct err e;
    struct cli_aot_result r;
    cJSON *j = samples_of(FIXTURES "float_tiny_samples.json");
    struct cli_aot_session *s = ref_open(&h, BIN "float_tiny_host_ref");
    if (!s)
        goto out;
    ASSERT_STR_EQ(cli_aot_model_of(s)->inputs[0].name, "dense_input:0");
    const cJSON *sample = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "samples"), 1);
    const char *in = cJSON_GetObjectItem(sample, "input_hex")->valuestring;
    unsigned char *bytes;
    size_t len;
    ASSERT_OK_FATAL(cli_aot_hex_decode(in, strlen(in), &bytes, &len, &e), &e);
    ASSERT_OK(cli_aot_set_input(s, 0, bytes, len, &e), &e);
    free(bytes);
    ASSERT_OK_FATAL(cli_aot_run(s, &r, &e), &e);
    ASSERT_STR_EQ(r.outputs[0].t.name, "Identity");
    const cJSON *want = cJSON_GetObjectItem(sample, "output"), *w;
    size_t k = 0;
    cJSON_ArrayForEach(w, want) {
        char v[64];
        ASSERT_TRUE_FATAL(cli_aot_format_value("float32", r.outputs[0].data, r.outputs[0].t.bytes,
                                               k, v, sizeof v));
        /* 9 significant digits name the float exactly (the reference is exact too) */
        ASSERT_EQ(strtof(v, NULL), (float)w->valuedouble);
        k++;
    }
    ASSERT_EQ(k, 3);
    cli_aot_result_close(&r);
out:
    cli_aot_close(s);
    ref_stop(&h);
    cJSON_Delete(j);
}

static void test_an_input_of_the_wrong_size_names_both_sizes_and_sends_nothing(void)
{
    struct host_ref h;
    struct err e;
    struct cli_aot_result r;
    unsigned char buf[65] = {0};
    struct cli_aot_session *s = ref_open(&h, BIN "digits_int8_host_ref");
    if (!s)
        goto out;
    ASSERT_EQ(cli_aot_set_input(s, 0, buf, 65, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "takes 64 bytes; 65 were given");
    ASSERT_EQ(cli_aot_set_input(s, 1, buf, 64, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "has 1 input");
    /* still in step: the next command works */
    ASSERT_OK(cli_aot_run(s, &r, &e), &e);
    ASSERT_EQ(r.n_outputs, 1);
    cli_aot_result_close(&r);
out:
    cli_aot_close(s);
    ref_stop(&h);
}

static void test_an_exhausted_workspace_is_a_failed_run_with_the_fix(void)
{
    struct host_ref h;
    struct err e;
    struct cli_aot_result r;
    struct cli_aot_session *s = ref_open(&h, BIN "digits_int8_small_host_ref");
    if (!s)
        goto out;
    ASSERT_OK(cli_aot_run(s, &r, &e), &e);
    ASSERT_STR_CONTAINS(r.error, "workspace exhausted");
    ASSERT_STR_CONTAINS(r.error, "raise workspace_size_bytes");
    ASSERT_NE(r.stats.rc, 0);
    ASSERT_EQ(r.n_outputs, 0);
    cli_aot_result_close(&r);
out:
    cli_aot_close(s);
    ref_stop(&h);
}

int test_register(void)
{
    const char *need[] = {BIN "digits_int8_host_ref", BIN "float_tiny_host_ref",
                          BIN "digits_int8_small_host_ref"};
    for (size_t i = 0; i < 3; i++)
        if (access(need[i], X_OK) < 0) {
            printf("skipped: %s is not built (ninja builds it with the tests)\n", need[i]);
            return TEST_SKIP;
        }
    signal(SIGPIPE, SIG_IGN);
    CU_pSuite s = CU_add_suite("cli_aot", NULL, NULL);
    CU_ADD_TEST(s, test_a_tensor_line_keeps_colons_inside_the_name);
    CU_ADD_TEST(s, test_bad_tensor_lines_are_refused_quoting_the_line);
    CU_ADD_TEST(s, test_an_output_line_decodes_hex_of_either_case);
    CU_ADD_TEST(s, test_hex_decoding_refuses_odd_lengths_and_non_hex_digits);
    CU_ADD_TEST(s, test_stats_are_parsed_and_unknown_keys_ignored);
    CU_ADD_TEST(s, test_bad_stats_lines_name_the_problem);
    CU_ADD_TEST(s, test_the_banner_names_type_board_and_libc);
    CU_ADD_TEST(s, test_an_info_reply_lists_every_tensor_in_order);
    CU_ADD_TEST(s, test_a_run_reply_is_checked_against_the_model);
    CU_ADD_TEST(s, test_a_failed_run_is_reported_with_its_stats);
    CU_ADD_TEST(s, test_values_are_decoded_by_dtype);
    CU_ADD_TEST(s, test_argmax_takes_the_first_maximum_like_the_firmware);
    CU_ADD_TEST(s, test_a_silent_board_times_out_within_the_limit);
    CU_ADD_TEST(s, test_a_board_that_stops_mid_reply_is_named);
    CU_ADD_TEST(s, test_a_board_running_other_firmware_is_refused);
    CU_ADD_TEST(s, test_every_digit_sample_gives_the_reference_output);
    CU_ADD_TEST(s, test_float_outputs_decode_to_the_reference_values);
    CU_ADD_TEST(s, test_an_input_of_the_wrong_size_names_both_sizes_and_sends_nothing);
    CU_ADD_TEST(s, test_an_exhausted_workspace_is_a_failed_run_with_the_fix);
    return TEST_RUN;
}
