/*
 * The aot_standalone command protocol (firmware/README.md is the reference): TVM's demo commands
 * init% and infer%, and ours for inspecting the model, setting inputs and reading outputs and
 * exact counts. Input hex is decoded as it arrives, straight into the tensor, so a tensor of any
 * size fits through a 48-byte command buffer. Every command gets exactly one reply (one line, or
 * several ending in "done"). Replies are printable ASCII, so they never contain FF FD.
 * The timed region is tvmgen_<module>_run alone: no UART traffic inside it (QEMU_NOTES.md,
 * "Deterministic time").
 */
#include "app.h"

#include "board.h"
#include "link.h"
#include "model.h"
#include "opcount.h"
#include "tvm/runtime/c_runtime_api.h"
#include "workspace.h"

#include <stdint.h>
#include <string.h>

/* Longest command head: the whole command, or "input:<index>" before its hex. */
#define HEAD_MAX 48

enum state {
    ST_HEAD,    /* collecting a command's text */
    ST_HEX,     /* decoding an input's hex into its tensor */
    ST_DISCARD, /* skipping to the '%' of a command already known to be bad */
};

static enum state state;
static char head[HEAD_MAX + 1];
static size_t head_len;
static size_t hex_input;  /* index of the input being written */
static size_t hex_digits; /* hex digits decoded so far */

/* The reply line being composed (an error waits here while ST_DISCARD skips). */
static char msg[200];
static size_t msg_len;

static void msg_reset(void)
{
    msg_len = 0;
}

/* Appends n bytes of s, printable ASCII only (anything else becomes '?'), so a reply can never
 * carry a control byte, a newline of its own or FF FD; truncates when the line is full. */
static void msg_add_n(const char *s, size_t n)
{
    for (size_t i = 0; i < n && msg_len < sizeof(msg); i++) {
        unsigned char c = (unsigned char)s[i];
        msg[msg_len++] = (c >= 0x20 && c <= 0x7e) ? (char)c : '?';
    }
}

static void msg_add(const char *s)
{
    msg_add_n(s, strlen(s));
}

static void msg_add_u64(uint64_t v)
{
    char buf[20];
    size_t i = sizeof(buf);
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    msg_add_n(buf + i, sizeof(buf) - i);
}

static void msg_add_i64(int64_t v)
{
    if (v < 0) {
        msg_add("-");
        msg_add_u64((uint64_t)0 - (uint64_t)v);
    } else {
        msg_add_u64((uint64_t)v);
    }
}

/* Sends the composed text as one line. */
static void msg_send(void)
{
    link_write(msg, msg_len);
    link_write("\n", 1);
    msg_reset();
}

static void send_error(void)
{
    link_write("error:", 6);
    msg_send();
}

/* Sends a tensor's bytes as lowercase hex, in memory order, in chunks (no big buffer). */
static void send_hex(const void *data, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;
    char buf[64];
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        buf[used++] = digits[p[i] >> 4];
        buf[used++] = digits[p[i] & 15];
        if (used == sizeof(buf)) {
            link_write(buf, used);
            used = 0;
        }
    }
    link_write(buf, used);
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses a decimal number of n characters, at most max; returns 0, or -1 if it is empty, has a
 * non-digit or is too large. */
static int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 19)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* Element count and one element as a double, for the dtypes argmax understands; returns the
 * element size in bytes, or 0 for another dtype (float16, bool, ...). */
static size_t elem_size(const char *dtype)
{
    static const struct { const char *name; size_t size; } known[] = {
        {"int8", 1}, {"uint8", 1}, {"int16", 2}, {"uint16", 2}, {"int32", 4},
        {"uint32", 4}, {"int64", 8}, {"uint64", 8}, {"float32", 4}, {"float64", 8},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(dtype, known[i].name) == 0)
            return known[i].size;
    return 0;
}

static double elem_at(const char *dtype, const uint8_t *p)
{
    /* memcpy: the tensor buffers are aligned, but this keeps the loads free of aliasing rules */
    if (dtype[0] == 'f') {
        if (strcmp(dtype, "float32") == 0) {
            float f;
            memcpy(&f, p, sizeof(f));
            return f;
        }
        double d;
        memcpy(&d, p, sizeof(d));
        return d;
    }
    int is_unsigned = dtype[0] == 'u';
    switch (elem_size(dtype)) {
    case 1:
        return is_unsigned ? (double)p[0] : (double)(int8_t)p[0];
    case 2: {
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        return is_unsigned ? (double)v : (double)(int16_t)v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return is_unsigned ? (double)v : (double)(int32_t)v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        return is_unsigned ? (double)v : (double)(int64_t)v;
    }
    }
}

long aot_app_argmax(const struct aot_tensor *t, int ties_to_last)
{
    size_t es = elem_size(t->dtype);
    if (es == 0 || t->size < es)
        return -1;
    const uint8_t *p = t->data;
    long best = 0;
    double best_value = elem_at(t->dtype, p);
    for (size_t i = 1; i < t->size / es; i++) {
        double v = elem_at(t->dtype, p + i * es);
        if (v > best_value || (ties_to_last && v == best_value)) {
            best_value = v;
            best = (long)i;
        }
    }
    return best;
}

#ifdef MTQ_AOT_DEMO
/* TVM's Zephyr demo takes its input from include/tvm/input_data.h (made by TVM's
 * tvm.micro.testing.utils.create_header_file): `input_data[]` and `input_data_len`. */
#include "tvm/input_data.h"
#define TIES_TO_LAST 1

/* 0 when input_data fits input 0 exactly; else its size, reported by infer%. */
static size_t demo_input_mismatch;

static void load_demo_input(void)
{
    if (aot_model_num_inputs == 0 || sizeof(input_data) != aot_model_inputs[0].size) {
        demo_input_mismatch = sizeof(input_data);
        return;
    }
    memcpy(aot_model_inputs[0].data, input_data, sizeof(input_data));
}
#else
#define TIES_TO_LAST 0
#endif

struct run_result {
    int32_t rc;
    uint64_t ticks;
    uint64_t instret; /* the operator-count hooks' own instructions taken out */
    uint64_t hidden;  /* those instructions */
};

/* Runs the model once; the measured region holds nothing but the model's run function. It
 * starts at a fixed phase of the timer's tick (timer_align), so the tick count is the same on
 * every run in deterministic mode, not n or n + 1 depending on when the command arrived. */
static struct run_result run_model(void)
{
    struct run_result r;
    aot_workspace_reset();
    aot_ops_reset();
    timer_align();
    uint64_t i0 = board_instret();
    uint64_t t0 = timer_ticks();
    r.rc = aot_model_run();
    uint64_t t1 = timer_ticks();
    uint64_t i1 = board_instret();
    r.ticks = t1 - t0;
    r.hidden = aot_ops_hidden();
    r.instret = i1 - i0 > r.hidden ? i1 - i0 - r.hidden : 0;
    return r;
}

/* One "op:<calls>:<inclusive>:<self>:<name>" line per function of the model's sources that ran,
 * in first-call order; a function missing from the name table is named fn@<hex address>. */
static void send_ops(void)
{
    size_t n;
    uint64_t lost;
    const struct aot_op *ops = aot_ops_table(&n, &lost);
    for (size_t i = 0; i < n; i++) {
        msg_reset();
        msg_add("op:");
        msg_add_u64(ops[i].calls);
        msg_add(":");
        msg_add_u64(ops[i].inclusive);
        msg_add(":");
        msg_add_u64(ops[i].self);
        msg_add(":");
        if (ops[i].name) {
            msg_add(ops[i].name);
        } else {
            static const char digits[] = "0123456789abcdef";
            char hex[2 * sizeof(uintptr_t)];
            uintptr_t a = (uintptr_t)ops[i].fn;
            for (size_t k = sizeof hex; k > 0; k--, a >>= 4)
                hex[k - 1] = digits[a & 15];
            msg_add("fn@");
            msg_add_n(hex, sizeof hex);
        }
        msg_send();
    }
    if (lost) {
        msg_reset();
        msg_add("op:");
        msg_add_u64(lost);
        msg_add(":0:0:(calls beyond the table, counted in their callers)");
        msg_send();
    }
}

/* Composes "run: ..." for a failed run, naming the cause and the fix where known. */
static void compose_run_error(int32_t rc)
{
    msg_reset();
    msg_add("run: the model returned ");
    msg_add_i64(rc);
    uint64_t failed = aot_workspace_failed_request();
    if (failed != 0) {
        msg_add(": workspace exhausted: a request for ");
        msg_add_u64(failed);
        msg_add(" bytes did not fit in the ");
        msg_add_u64(aot_workspace_size());
        msg_add("-byte arena; raise workspace_size_bytes");
    } else if (TVMGetLastError()[0] != '\0') {
        msg_add(": ");
        msg_add(TVMGetLastError());
    }
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
    uint64_t hz = (uint64_t)(BOARD_TIMER_HZ);
    return ticks / hz * 1000000000u + ticks % hz * 1000000000u / hz;
}

static void cmd_infer(void)
{
#ifdef MTQ_AOT_DEMO
    if (demo_input_mismatch) {
        msg_reset();
        msg_add("infer: include/tvm/input_data.h holds ");
        msg_add_u64(demo_input_mismatch);
        msg_add(" bytes; input 0 takes ");
        msg_add_u64(aot_model_num_inputs ? aot_model_inputs[0].size : 0);
        send_error();
        return;
    }
#endif
    struct run_result r = run_model();
    if (r.rc != 0) {
        compose_run_error(r.rc);
        send_error();
        return;
    }
    msg_reset();
    msg_add("result:");
    msg_add_i64(aot_model_num_outputs > 0 ? aot_app_argmax(&aot_model_outputs[0], TIES_TO_LAST)
                                          : -1);
    msg_add(":");
    msg_add_u64(r.ticks * 1000u / (uint64_t)(BOARD_TIMER_HZ));
    msg_send();
}

static void cmd_run(void)
{
    struct run_result r = run_model();
    if (r.rc == 0) {
        for (size_t i = 0; i < aot_model_num_outputs; i++) {
            const struct aot_tensor *t = &aot_model_outputs[i];
            msg_reset();
            msg_add("output:");
            msg_add_u64(i);
            msg_add(":");
            msg_add(t->name);
            msg_add(":");
            msg_add(t->dtype);
            msg_add(":");
            link_write(msg, msg_len);
            msg_reset();
            send_hex(t->data, t->size);
            link_write("\n", 1);
        }
    } else {
        compose_run_error(r.rc);
        send_error();
    }
    msg_reset();
    msg_add("stats:ticks=");
    msg_add_u64(r.ticks);
    msg_add(":hz=");
    msg_add_u64((uint64_t)(BOARD_TIMER_HZ));
    msg_add(":ns=");
    msg_add_u64(ticks_to_ns(r.ticks));
    msg_add(":instret=");
    msg_add_u64(r.instret);
    msg_add(":rc=");
    msg_add_i64(r.rc);
    msg_add(":workspace=");
    msg_add_u64(aot_workspace_peak());
    msg_add(":hidden=");
    msg_add_u64(r.hidden);
    msg_send();
    send_ops();
    link_write("done\n", 5);
}

static void send_tensor_info(const char *kind, size_t i, const struct aot_tensor *t)
{
    msg_reset();
    msg_add("tensor:");
    msg_add(kind);
    msg_add(":");
    msg_add_u64(i);
    msg_add(":");
    msg_add(t->name);
    msg_add(":");
    msg_add(t->dtype);
    msg_add(":");
    msg_add_u64(t->size);
    msg_send();
}

static void cmd_info(void)
{
    msg_reset();
    msg_add("model:");
    msg_add(aot_model_name);
    msg_add(":inputs=");
    msg_add_u64(aot_model_num_inputs);
    msg_add(":outputs=");
    msg_add_u64(aot_model_num_outputs);
    msg_add(":workspace=");
    msg_add_u64(aot_model_workspace_bytes);
    msg_add(":arena=");
    msg_add_u64(aot_workspace_size());
    msg_send();
    for (size_t i = 0; i < aot_model_num_inputs; i++)
        send_tensor_info("input", i, &aot_model_inputs[i]);
    for (size_t i = 0; i < aot_model_num_outputs; i++)
        send_tensor_info("output", i, &aot_model_outputs[i]);
    link_write("done\n", 5);
}

static void cmd_exit(const char *arg, size_t n)
{
    uint64_t code;
    if (parse_uint(arg, n, 255, &code) != 0) {
        msg_reset();
        msg_add("exit: bad code '");
        msg_add_n(arg, n);
        msg_add("': want exit:<0..255>%");
        send_error();
        return;
    }
    link_write("bye\n", 4);
    link_flush(); /* all of it out before the board goes */
    head_len = 0; /* a host board's board_exit may return to a test; start clean there */
    board_exit((int)code);
}

static int head_is(const char *word)
{
    return head_len == strlen(word) && memcmp(head, word, head_len) == 0;
}

static int head_starts(const char *prefix)
{
    size_t n = strlen(prefix);
    return head_len >= n && memcmp(head, prefix, n) == 0;
}

/* Answers a complete command (its text is head, without the '%'). */
static void dispatch(void)
{
    if (head_is("init")) {
        link_write("wakeup\n", 7);
    } else if (head_is("infer")) {
        cmd_infer();
    } else if (head_is("run")) {
        cmd_run();
    } else if (head_is("info")) {
        cmd_info();
    } else if (head_starts("exit:")) {
        cmd_exit(head + 5, head_len - 5);
    } else if (head_starts("input")) {
        msg_reset();
        msg_add("input: want input:<index>:<hex>% (the tensor's bytes as hex)");
        send_error();
    } else {
        msg_reset();
        if (head_len == 0) {
            msg_add("empty command");
        } else {
            msg_add("unknown command '");
            msg_add_n(head, head_len);
            msg_add("'");
        }
        msg_add("; commands: init infer info input:<i>:<hex> run exit:<code>, each ended by %");
        send_error();
    }
}

/* Called on the ':' after "input:<index>": checks the index and starts decoding hex. */
static void start_input(void)
{
    uint64_t index;
    if (parse_uint(head + 6, head_len - 6, SIZE_MAX, &index) != 0) {
        msg_reset();
        msg_add("input: bad index '");
        msg_add_n(head + 6, head_len - 6);
        msg_add("': want a decimal number");
        state = ST_DISCARD;
        return;
    }
    if (index >= aot_model_num_inputs) {
        msg_reset();
        msg_add("input ");
        msg_add_u64(index);
        msg_add(": no such input (the model has ");
        msg_add_u64(aot_model_num_inputs);
        msg_add("; info% lists them)");
        state = ST_DISCARD;
        return;
    }
    hex_input = (size_t)index;
    hex_digits = 0;
    state = ST_HEX;
}

/* A bad input command leaves that input all zeros rather than half written. */
static void fail_input(const char *what)
{
    const struct aot_tensor *t = &aot_model_inputs[hex_input];
    memset(t->data, 0, t->size);
    msg_reset();
    msg_add("input ");
    msg_add_u64(hex_input);
    msg_add(" (");
    msg_add(t->name);
    msg_add("): ");
    msg_add(what);
}

static void feed_hex(int c)
{
    const struct aot_tensor *t = &aot_model_inputs[hex_input];
    if (c == '%') {
        state = ST_HEAD;
        head_len = 0;
        if (hex_digits != 2 * t->size) {
            fail_input("got ");
            msg_add_u64(hex_digits);
            msg_add(" hex digits, want ");
            msg_add_u64(2 * t->size);
            msg_add(" (");
            msg_add_u64(t->size);
            msg_add(" bytes of ");
            msg_add(t->dtype);
            msg_add("); the input is now zeros");
            send_error();
            return;
        }
        link_write("ok\n", 3);
        return;
    }
    int v = hex_value(c);
    if (v < 0 || hex_digits >= 2 * t->size) {
        if (v < 0) {
            char bad = (char)c;
            fail_input("'");
            msg_add_n(&bad, 1);
            msg_add("' at hex digit ");
            msg_add_u64(hex_digits);
            msg_add(" is not a hex digit; the input is now zeros");
        } else {
            fail_input("more than ");
            msg_add_u64(2 * t->size);
            msg_add(" hex digits (");
            msg_add_u64(t->size);
            msg_add(" bytes); the input is now zeros");
        }
        state = ST_DISCARD;
        return;
    }
    uint8_t *p = (uint8_t *)t->data + hex_digits / 2;
    if (hex_digits % 2 == 0)
        *p = (uint8_t)(v << 4);
    else
        *p = (uint8_t)(*p | v);
    hex_digits++;
}

void aot_app_send_banner(void)
{
    uart_puts("#microtvm-qemu:aot_standalone:");
    uart_puts(BOARD_NAME);
    uart_puts(":");
    uart_puts(BOARD_LIBC);
    uart_puts("\n");
}

void aot_app_init(void)
{
    aot_model_load_defaults();
#ifdef MTQ_AOT_DEMO
    load_demo_input();
#endif
    aot_workspace_reset();
    aot_ops_calibrate();
    state = ST_HEAD;
    head_len = 0;
    msg_reset();
}

void aot_app_feed(int byte)
{
    if (byte < 0 || byte == '\r' || byte == '\n')
        return;
    switch (state) {
    case ST_HEX:
        feed_hex(byte);
        return;
    case ST_DISCARD:
        if (byte == '%') {
            state = ST_HEAD;
            head_len = 0;
            send_error();
        }
        return;
    case ST_HEAD:
        break;
    }
    if (byte == '%') {
        dispatch();
        head_len = 0;
        return;
    }
    if (byte == ':' && head_len >= 6 && memcmp(head, "input:", 6) == 0) {
        start_input();
        return;
    }
    if (head_len == HEAD_MAX) {
        msg_reset();
        msg_add("command too long (over ");
        msg_add_u64(HEAD_MAX);
        msg_add(" characters before its '%')");
        state = ST_DISCARD;
        return;
    }
    head[head_len++] = (char)byte;
}
