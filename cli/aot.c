/*
 * The aot_standalone line protocol, host side (see aot.h; firmware/README.md is the
 * reference). Parsers take one line or one whole reply and never trust the board: every
 * number is range-checked, every size compared with what info% promised, and a reply cut
 * short is named as such. The session collects replies line by line from a byte channel
 * under one deadline, so a board that hangs costs at most the caller's time limit.
 */
#include "aot.h"

#include "line_reader.h"
#include "mono.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BANNER_PREFIX "#microtvm-qemu:"
#define MAX_SKIPPED_LINES 16        /* boot noise tolerated before the banner */
#define MAX_LINE_BYTES (64u << 20)  /* a reply line longer than this is a broken board */
#define WRITE_CHUNK 1024            /* bytes per write: the host-to-board UART is slow */
#define QUOTE_MAX 80                /* how much of a bad line a message quotes */

/* ---- small helpers ---- */

/* Copies line into out for quoting in a message: at most QUOTE_MAX characters, "..." after. */
static const char *quote(const char *line, size_t len, char *out, size_t outsz)
{
    size_t n = len < QUOTE_MAX ? len : QUOTE_MAX;
    snprintf(out, outsz, "%.*s%s", (int)n, line, len > n ? "..." : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?'; /* keep the message one printable line */
    return out;
}

/* Parses len decimal digits as an unsigned number; false on anything else or overflow. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool parse_i64(const char *s, size_t len, int64_t *out)
{
    uint64_t v;
    bool neg = len > 0 && s[0] == '-';
    if (!parse_u64(s + neg, len - neg, &v) || v > (uint64_t)INT64_MAX + neg)
        return false;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Copies [s, s+len) into out as a string; false when it does not fit or is empty. */
static bool copy_field(char *out, size_t outsz, const char *s, size_t len)
{
    if (len == 0 || len >= outsz)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* The last ':' in [s, s+len), or NULL. */
static const char *last_colon(const char *s, size_t len)
{
    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == ':')
            return s + i - 1;
    return NULL;
}

static int bad_line(struct err *err, const char *what, const char *line, const char *want)
{
    char q[QUOTE_MAX + 8];
    return err_set(err, ERR_INVALID, "bad %s line '%s': %s", what,
                   quote(line, strlen(line), q, sizeof q), want);
}

/* ---- one line ---- */

int cli_aot_parse_banner(const char *line, struct cli_aot_banner *b, struct err *err)
{
    const char *want = "want #microtvm-qemu:<project_type>:<board>:<libc>";
    size_t plen = strlen(BANNER_PREFIX);
    if (strncmp(line, BANNER_PREFIX, plen) != 0)
        return bad_line(err, "banner", line, want);
    const char *type = line + plen;
    const char *c1 = strchr(type, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || strchr(c2 + 1, ':') ||
        !copy_field(b->project_type, sizeof b->project_type, type, (size_t)(c1 - type)) ||
        !copy_field(b->board, sizeof b->board, c1 + 1, (size_t)(c2 - c1 - 1)) ||
        !copy_field(b->libc, sizeof b->libc, c2 + 1, strlen(c2 + 1)))
        return bad_line(err, "banner", line, want);
    return 0;
}

int cli_aot_parse_model(const char *line, struct cli_aot_model *m, struct err *err)
{
    const char *want = "want model:<module>:inputs=<n>:outputs=<n>:workspace=<n>:arena=<n>";
    if (strncmp(line, "model:", 6) != 0)
        return bad_line(err, "model", line, want);
    const char *name = line + 6;
    const char *keys = strstr(name, ":inputs=");
    if (!keys || !copy_field(m->module, sizeof m->module, name, (size_t)(keys - name)))
        return bad_line(err, "model", line, want);
    bool have_in = false, have_out = false;
    for (const char *p = keys + 1; *p;) {
        size_t len = strcspn(p, ":");
        const char *eq = memchr(p, '=', len);
        uint64_t v;
        if (!eq || !parse_u64(eq + 1, (size_t)(p + len - eq - 1), &v))
            return bad_line(err, "model", line, want);
        size_t klen = (size_t)(eq - p);
        if (klen == 6 && !strncmp(p, "inputs", 6)) {
            m->n_inputs = (size_t)v;
            have_in = true;
        } else if (klen == 7 && !strncmp(p, "outputs", 7)) {
            m->n_outputs = (size_t)v;
            have_out = true;
        } else if (klen == 9 && !strncmp(p, "workspace", 9)) {
            m->workspace = v;
        } else if (klen == 5 && !strncmp(p, "arena", 5)) {
            m->arena = v;
        } /* other keys: a newer firmware; ignored */
        p += len + (p[len] == ':');
    }
    if (!have_in || !have_out)
        return bad_line(err, "model", line, want);
    if (m->n_inputs > CLI_AOT_MAX_TENSORS || m->n_outputs > CLI_AOT_MAX_TENSORS)
        return err_set(err, ERR_INVALID, "the model has %zu inputs and %zu outputs; this "
                       "program handles at most %d of each", m->n_inputs, m->n_outputs,
                       CLI_AOT_MAX_TENSORS);
    return 0;
}

/* Splits "<head>:<i>:<name>:<dtype>:<last>" after its fixed head (e.g. "tensor:input:"):
 * the index, the name (may hold ':'), the dtype, and where <last> starts. */
static bool split_tensor_fields(const char *rest, struct cli_aot_tensor *t, const char **last)
{
    const char *c_idx = strchr(rest, ':');
    if (!c_idx)
        return false;
    uint64_t index;
    if (!parse_u64(rest, (size_t)(c_idx - rest), &index) || index >= CLI_AOT_MAX_TENSORS)
        return false;
    const char *name = c_idx + 1;
    size_t tail_len = strlen(name);
    const char *c_last = last_colon(name, tail_len);
    if (!c_last)
        return false;
    const char *c_dtype = last_colon(name, (size_t)(c_last - name));
    if (!c_dtype || c_dtype == name) /* no dtype separator, or an empty name */
        return false;
    if (!copy_field(t->name, sizeof t->name, name, (size_t)(c_dtype - name)) ||
        !copy_field(t->dtype, sizeof t->dtype, c_dtype + 1, (size_t)(c_last - c_dtype - 1)))
        return false;
    t->index = (size_t)index;
    *last = c_last + 1;
    return true;
}

int cli_aot_parse_tensor(const char *line, bool *is_input, struct cli_aot_tensor *t,
                         struct err *err)
{
    const char *want = "want tensor:<input|output>:<index>:<name>:<dtype>:<bytes>";
    const char *rest;
    if (!strncmp(line, "tensor:input:", 13)) {
        *is_input = true;
        rest = line + 13;
    } else if (!strncmp(line, "tensor:output:", 14)) {
        *is_input = false;
        rest = line + 14;
    } else {
        return bad_line(err, "tensor", line, want);
    }
    const char *bytes;
    uint64_t n;
    if (!split_tensor_fields(rest, t, &bytes) || !parse_u64(bytes, strlen(bytes), &n) ||
        n > SIZE_MAX / 2)
        return bad_line(err, "tensor", line, want);
    t->bytes = (size_t)n;
    return 0;
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cli_aot_hex_decode(const char *hex, size_t len, unsigned char **out, size_t *n,
                       struct err *err)
{
    if (len % 2)
        return err_set(err, ERR_INVALID, "%zu hex digits: an odd number (a byte cut in half)",
                       len);
    unsigned char *buf = malloc(len / 2 + 1); /* +1: a zero-byte tensor still gets a pointer */
    if (!buf)
        return err_set(err, -ENOMEM, "out of memory for %zu bytes", len / 2);
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_digit((unsigned char)hex[i]), lo = hex_digit((unsigned char)hex[i + 1]);
        if (hi < 0 || lo < 0) {
            char c = hi < 0 ? hex[i] : hex[i + 1];
            free(buf);
            return err_set(err, ERR_INVALID, "'%c' (0x%02x) at hex digit %zu is not a hex digit",
                           c >= 0x20 && c < 0x7f ? c : '?', (unsigned char)c,
                           i + (hi >= 0));
        }
        buf[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    *out = buf;
    *n = len / 2;
    return 0;
}

int cli_aot_parse_output(const char *line, struct cli_aot_output *o, struct err *err)
{
    const char *want = "want output:<index>:<name>:<dtype>:<hex>";
    const char *hex;
    if (strncmp(line, "output:", 7) != 0 || !split_tensor_fields(line + 7, &o->t, &hex))
        return bad_line(err, "output", line, want);
    int rc = cli_aot_hex_decode(hex, strlen(hex), &o->data, &o->t.bytes, err);
    if (rc < 0)
        return err_prefix(err, "output %zu '%s'", o->t.index, o->t.name);
    return 0;
}

int cli_aot_parse_op(const char *line, struct cli_aot_op *op, struct err *err)
{
    const char *want = "want op:<calls>:<inclusive>:<self>:<name>";
    uint64_t *fields[] = {&op->calls, &op->inclusive, &op->self};
    if (strncmp(line, "op:", 3) != 0)
        return bad_line(err, "op", line, want);
    const char *p = line + 3;
    for (size_t i = 0; i < 3; i++) {
        size_t len = strcspn(p, ":");
        if (p[len] != ':' || !parse_u64(p, len, fields[i]))
            return bad_line(err, "op", line, want);
        p += len + 1;
    }
    if (!*p || strlen(p) >= sizeof op->name)
        return bad_line(err, "op", line, want);
    snprintf(op->name, sizeof op->name, "%s", p);
    return 0;
}

int cli_aot_parse_stats(const char *line, struct cli_aot_stats *s, struct err *err)
{
    const char *want = "want stats:ticks=<n>:hz=<n>:ns=<n>:instret=<n>:rc=<n>:workspace=<n>";
    if (strncmp(line, "stats:", 6) != 0)
        return bad_line(err, "stats", line, want);
    memset(s, 0, sizeof *s);
    bool have_ticks = false, have_hz = false, have_rc = false;
    for (const char *p = line + 6; *p;) {
        size_t len = strcspn(p, ":");
        const char *eq = memchr(p, '=', len);
        if (!eq)
            return bad_line(err, "stats", line, want);
        size_t klen = (size_t)(eq - p), vlen = (size_t)(p + len - eq - 1);
        const char *v = eq + 1;
        bool ok = true;
#define KEY(k) (klen == sizeof(k) - 1 && !strncmp(p, k, klen))
        if (KEY("ticks"))
            ok = have_ticks = parse_u64(v, vlen, &s->ticks);
        else if (KEY("hz"))
            ok = have_hz = parse_u64(v, vlen, &s->hz);
        else if (KEY("ns"))
            ok = parse_u64(v, vlen, &s->ns);
        else if (KEY("instret"))
            ok = parse_u64(v, vlen, &s->instret);
        else if (KEY("workspace"))
            ok = parse_u64(v, vlen, &s->workspace);
        else if (KEY("hidden"))
            ok = parse_u64(v, vlen, &s->hidden);
        else if (KEY("rc"))
            ok = have_rc = parse_i64(v, vlen, &s->rc);
#undef KEY
        /* unknown keys are ignored, as the protocol asks of clients */
        if (!ok) {
            char q[QUOTE_MAX + 8];
            return err_set(err, ERR_INVALID, "bad stats line '%s': the value of '%.*s' is not "
                           "a number", quote(line, strlen(line), q, sizeof q), (int)klen, p);
        }
        p += len + (p[len] == ':');
    }
    if (!have_ticks || !have_hz || !have_rc) {
        char q[QUOTE_MAX + 8];
        return err_set(err, ERR_INVALID, "bad stats line '%s': it lacks %s",
                       quote(line, strlen(line), q, sizeof q),
                       !have_ticks ? "ticks" : !have_hz ? "hz" : "rc");
    }
    if (s->hz == 0)
        return err_set(err, ERR_INVALID, "bad stats line: hz=0 (the board's timer rate)");
    return 0;
}

/* ---- whole replies ---- */

/* Iterates over the lines of text: *line points at a NUL-terminated copy in buf. */
struct lines {
    const char *p;
    char *buf;
    size_t cap;
};

static int next_line(struct lines *it, const char **line, struct err *err)
{
    if (!*it->p)
        return 0;
    size_t len = strcspn(it->p, "\n");
    if (len + 1 > it->cap) {
        char *bigger = realloc(it->buf, len + 1);
        if (!bigger)
            return err_set(err, -ENOMEM, "out of memory");
        it->buf = bigger;
        it->cap = len + 1;
    }
    memcpy(it->buf, it->p, len);
    it->p += len + (it->p[len] == '\n');
    if (len && it->buf[len - 1] == '\r')
        len--;
    it->buf[len] = '\0';
    *line = it->buf;
    return 1;
}

int cli_aot_parse_info(const char *text, struct cli_aot_model *m, struct err *err)
{
    struct lines it = {text, NULL, 0};
    const char *line = NULL;
    size_t n_in = 0, n_out = 0;
    bool have_model = false, done = false;
    int rc, got;
    memset(m, 0, sizeof *m);
    while ((got = next_line(&it, &line, err)) > 0) {
        if (done) {
            rc = bad_line(err, "info", line, "nothing may follow 'done'");
            goto out;
        }
        if (!strncmp(line, "error:", 6)) {
            rc = err_set(err, ERR_INVALID, "the board answered info%% with an error: %s",
                         line + 6);
            goto out;
        }
        if (!have_model) {
            if ((rc = cli_aot_parse_model(line, m, err)) < 0)
                goto out;
            have_model = true;
            continue;
        }
        if (!strcmp(line, "done")) {
            done = true;
            continue;
        }
        struct cli_aot_tensor t;
        bool is_input;
        if ((rc = cli_aot_parse_tensor(line, &is_input, &t, err)) < 0)
            goto out;
        size_t *count = is_input ? &n_in : &n_out;
        size_t want = is_input ? m->n_inputs : m->n_outputs;
        if ((!is_input && n_in != m->n_inputs) || t.index != *count || *count >= want) {
            rc = bad_line(err, "tensor", line, "the tensors must come inputs first, each kind "
                          "numbered from 0, as many as the model line says");
            goto out;
        }
        (is_input ? m->inputs : m->outputs)[(*count)++] = t;
    }
    if ((rc = got) < 0)
        goto out;
    if (!have_model || !done || n_in != m->n_inputs || n_out != m->n_outputs) {
        rc = err_set(err, ERR_INVALID, "the reply to info%% is cut short: %s",
                     !have_model ? "no model line" : !done ? "no 'done' line"
                                                           : "fewer tensor lines than announced");
        goto out;
    }
    rc = 0;
out:
    free(it.buf);
    return rc;
}

void cli_aot_result_close(struct cli_aot_result *r)
{
    for (size_t i = 0; i < r->n_outputs; i++)
        free(r->outputs[i].data);
    memset(r, 0, sizeof *r);
}

int cli_aot_parse_run(const char *text, const struct cli_aot_model *m, struct cli_aot_result *r,
                      struct err *err)
{
    struct lines it = {text, NULL, 0};
    const char *line = NULL;
    bool have_stats = false, done = false;
    int rc, got;
    memset(r, 0, sizeof *r);
    while ((got = next_line(&it, &line, err)) > 0) {
        if (done) {
            rc = bad_line(err, "run", line, "nothing may follow 'done'");
            goto fail;
        }
        if (!strcmp(line, "done")) {
            done = true;
        } else if (!strncmp(line, "stats:", 6)) {
            if (have_stats) {
                rc = bad_line(err, "stats", line, "one stats line per run");
                goto fail;
            }
            if ((rc = cli_aot_parse_stats(line, &r->stats, err)) < 0)
                goto fail;
            have_stats = true;
        } else if (!strncmp(line, "error:", 6)) {
            snprintf(r->error, sizeof r->error, "%s", line + 6);
        } else if (!strncmp(line, "op:", 3) && have_stats) {
            if (r->n_ops >= CLI_AOT_MAX_OPS) {
                rc = bad_line(err, "op", line, "too many operators");
                goto fail;
            }
            if ((rc = cli_aot_parse_op(line, &r->ops[r->n_ops], err)) < 0)
                goto fail;
            r->n_ops++;
        } else if (!strncmp(line, "output:", 7) && !have_stats) {
            if (r->n_outputs >= CLI_AOT_MAX_TENSORS) {
                rc = bad_line(err, "output", line, "too many outputs");
                goto fail;
            }
            struct cli_aot_output *o = &r->outputs[r->n_outputs];
            if ((rc = cli_aot_parse_output(line, o, err)) < 0)
                goto fail;
            r->n_outputs++;
            if (!m)
                continue;
            const struct cli_aot_tensor *t = o->t.index < m->n_outputs
                                                 ? &m->outputs[o->t.index] : NULL;
            if (!t || o->t.index != r->n_outputs - 1 || strcmp(t->name, o->t.name) ||
                strcmp(t->dtype, o->t.dtype)) {
                rc = bad_line(err, "output", line, "it does not match the model's outputs "
                              "(info%)");
                goto fail;
            }
            if (o->t.bytes != t->bytes) {
                rc = err_set(err, ERR_INVALID, "output %zu '%s': %zu bytes arrived, the model's "
                             "tensor has %zu (a truncated line?)", t->index, t->name,
                             o->t.bytes, t->bytes);
                goto fail;
            }
        } else {
            rc = bad_line(err, "run", line, "want output:, error:, stats:, op: or done lines");
            goto fail;
        }
    }
    if ((rc = got) < 0)
        goto fail;
    if (!have_stats || !done) {
        rc = err_set(err, ERR_INVALID, "the reply to run%% is cut short: no %s line",
                     !have_stats ? "stats" : "'done'");
        goto fail;
    }
    if (!r->error[0] && m && r->n_outputs != m->n_outputs) {
        rc = err_set(err, ERR_INVALID, "the reply to run%% has %zu outputs, the model has %zu",
                     r->n_outputs, m->n_outputs);
        goto fail;
    }
    if (!r->error[0] && r->stats.rc != 0)
        snprintf(r->error, sizeof r->error, "run: the model returned %" PRId64, r->stats.rc);
    free(it.buf);
    return 0;
fail:
    free(it.buf);
    cli_aot_result_close(r);
    return rc;
}

/* ---- values ---- */

size_t cli_aot_dtype_size(const char *dtype)
{
    static const struct { const char *name; size_t size; } known[] = {
        {"int8", 1},  {"uint8", 1},  {"int16", 2},   {"uint16", 2},  {"int32", 4},
        {"uint32", 4}, {"int64", 8}, {"uint64", 8},  {"float16", 2}, {"float32", 4},
        {"float64", 8}, {"bool", 1},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(dtype, known[i].name))
            return known[i].size;
    return 0;
}

/* Little-endian unsigned load of size bytes (our boards are all little-endian). */
static uint64_t load_le(const unsigned char *p, size_t size)
{
    uint64_t v = 0;
    for (size_t i = size; i > 0; i--)
        v = v << 8 | p[i - 1];
    return v;
}

/* IEEE 754 binary16 to double, subnormals and specials included. */
static double half_to_double(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    double v;
    if (exp == 0)
        v = ldexp(frac, -24);
    else if (exp == 31)
        v = frac ? NAN : INFINITY;
    else
        v = ldexp(frac | 0x400, exp - 25);
    return sign ? -v : v;
}

/* Element i as a double, for float dtypes and argmax. */
static double elem_double(const char *dtype, const unsigned char *p, size_t size)
{
    uint64_t raw = load_le(p, size);
    if (!strcmp(dtype, "float32")) {
        uint32_t u = (uint32_t)raw;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    if (!strcmp(dtype, "float64")) {
        double d;
        memcpy(&d, &raw, sizeof d);
        return d;
    }
    if (!strcmp(dtype, "float16"))
        return half_to_double((uint16_t)raw);
    if (dtype[0] == 'u' || !strcmp(dtype, "bool"))
        return (double)raw;
    int shift = (int)(64 - 8 * size); /* sign-extend */
    return (double)((int64_t)(raw << shift) >> shift);
}

bool cli_aot_format_value(const char *dtype, const unsigned char *data, size_t bytes, size_t i,
                          char *out, size_t outsz)
{
    size_t size = cli_aot_dtype_size(dtype);
    if (!size || i >= bytes / size)
        return false;
    const unsigned char *p = data + i * size;
    uint64_t raw = load_le(p, size);
    if (dtype[0] == 'f') {
        double v = elem_double(dtype, p, size);
        if (isnan(v))
            snprintf(out, outsz, "nan");
        else if (isinf(v))
            snprintf(out, outsz, v < 0 ? "-inf" : "inf");
        else
            snprintf(out, outsz, "%.*g", size == 8 ? 17 : 9, v);
    } else if (dtype[0] == 'u' || !strcmp(dtype, "bool")) {
        snprintf(out, outsz, "%" PRIu64, raw);
    } else {
        int shift = (int)(64 - 8 * size);
        snprintf(out, outsz, "%" PRId64, (int64_t)(raw << shift) >> shift);
    }
    return true;
}

long cli_aot_argmax(const char *dtype, const unsigned char *data, size_t bytes)
{
    size_t size = cli_aot_dtype_size(dtype);
    /* the firmware's list: no float16, no bool */
    if (!size || !strcmp(dtype, "float16") || !strcmp(dtype, "bool") || bytes < size)
        return -1;
    long best = 0;
    double best_value = elem_double(dtype, data, size);
    for (size_t i = 1; i < bytes / size; i++) {
        double v = elem_double(dtype, data + i * size, size);
        if (v > best_value) {
            best_value = v;
            best = (long)i;
        }
    }
    return best;
}

/* ---- the session ---- */

struct cli_aot_session {
    struct cli_aot_io io;
    double deadline;
    struct line_reader lines; /* bytes received and not yet consumed */
    struct cli_aot_banner banner;
    struct cli_aot_model model;
};

/* Describes what has arrived of an unfinished line, for messages. */
static void pending_text(const struct cli_aot_session *s, char *out, size_t outsz)
{
    size_t len = 0;
    const char *p = line_reader_pending(&s->lines, &len);
    if (!len) {
        snprintf(out, outsz, "nothing");
        return;
    }
    char q[QUOTE_MAX + 8];
    const char *nl = memchr(p, '\n', len);
    size_t n = nl ? (size_t)(nl - p) : len;
    snprintf(out, outsz, "'%s'", quote(p, n, q, sizeof q));
}

/* Reads until a whole line is there: *line (NUL-terminated, valid until the next read) and
 * *len, its length without '\n'. what names the command being answered, for messages. */
static int take_line(struct cli_aot_session *s, const char *what, char **line, size_t *len,
                     struct err *err)
{
    for (;;) {
        enum line_take t = line_reader_take(&s->lines, line, len);
        if (t == LINE_TAKE_LINE)
            return 0;
        if (t == LINE_TAKE_TOO_LONG)
            return err_set(err, ERR_INVALID, "%s: a line of over %u bytes without a newline",
                           what, MAX_LINE_BYTES);
        double left = s->deadline - mono_now_s();
        char so_far[QUOTE_MAX + 16];
        if (left <= 0) {
            pending_text(s, so_far, sizeof so_far);
            return err_set(err, ERR_TIMEOUT, "%s: no complete reply within the time limit "
                           "(received so far: %s); raise --timeout, or check the firmware with "
                           "'microtvm-qemu serial'", what, so_far);
        }
        char *room = NULL;
        size_t room_len = 0, got = 0;
        int rc = line_reader_space(&s->lines, &room, &room_len, err);
        if (rc < 0)
            return rc;
        rc = s->io.read(s->io.ctx, room, room_len, left, &got, err);
        if (rc == ERR_TIMEOUT)
            continue; /* the deadline check above decides */
        if (rc == ERR_CLOSED) {
            pending_text(s, so_far, sizeof so_far);
            return err_set(err, ERR_CLOSED, "%s: the board stopped (its UART closed) before "
                           "answering (received so far: %s); a fault handler's message, if "
                           "any, is above", what, so_far);
        }
        if (rc < 0)
            return err_prefix(err, "%s", what);
        if (got > 0) /* 0 would mean the end: only ERR_CLOSED says that here */
            line_reader_added(&s->lines, got);
    }
}

enum reply_kind { ONE_LINE, UNTIL_DONE, UNTIL_DONE_OR_ERROR };

/* Reads one reply into *text (heap, lines each ending in '\n'). */
static int read_reply(struct cli_aot_session *s, const char *what, enum reply_kind kind,
                      char **text, struct err *err)
{
    char *out = NULL, *line = NULL;
    size_t used = 0, len = 0;
    int rc = 0;
    for (bool first = true;; first = false) {
        if ((rc = take_line(s, what, &line, &len, err)) < 0)
            goto fail;
        char *bigger = realloc(out, used + len + 2);
        if (!bigger) {
            rc = err_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
        out = bigger;
        memcpy(out + used, line, len);
        out[used + len] = '\n';
        out[used + len + 1] = '\0';
        bool is_done = len == 4 && !memcmp(line, "done", 4);
        bool is_error = len >= 6 && !memcmp(line, "error:", 6);
        used += len + 1;
        if (kind == ONE_LINE || is_done || (kind == UNTIL_DONE_OR_ERROR && first && is_error))
            break;
    }
    *text = out;
    return 0;
fail:
    free(out);
    return rc;
}

static int send_all(struct cli_aot_session *s, const char *what, const char *data, size_t len,
                    struct err *err)
{
    while (len) {
        double left = s->deadline - mono_now_s();
        if (left <= 0)
            return err_set(err, ERR_TIMEOUT, "%s: could not send it within the time limit; "
                           "raise --timeout", what);
        size_t n = len < WRITE_CHUNK ? len : WRITE_CHUNK;
        int rc = s->io.write(s->io.ctx, data, n, left, err);
        if (rc == ERR_CLOSED)
            return err_set(err, ERR_CLOSED, "%s: the board stopped (its UART closed)", what);
        if (rc < 0)
            return err_prefix(err, "%s", what);
        data += n;
        len -= n;
    }
    return 0;
}

int cli_aot_open(const struct cli_aot_io *io, double deadline, struct cli_aot_session **out,
                 struct err *err)
{
    char *text = NULL;
    int rc = 0;
    struct cli_aot_session *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, -ENOMEM, "out of memory");
    s->io = *io;
    s->deadline = deadline;
    line_reader_init(&s->lines, -1, MAX_LINE_BYTES);

    /* The banner; anything before it (boot noise) is skipped, within reason. */
    for (int skipped = 0;; skipped++) {
        char *line = NULL;
        size_t len;
        if ((rc = take_line(s, "waiting for the board's banner", &line, &len, err)) < 0)
            goto fail;
        if (len && line[len - 1] == '\r')
            line[len - 1] = '\0';
        bool is_banner = !strncmp(line, BANNER_PREFIX, strlen(BANNER_PREFIX));
        if (is_banner)
            rc = cli_aot_parse_banner(line, &s->banner, err);
        if (rc < 0)
            goto fail;
        if (is_banner)
            break;
        if (skipped == MAX_SKIPPED_LINES) {
            rc = err_set(err, ERR_INVALID, "the board sent %d lines and no '%s...' banner: it "
                         "does not run microtvm-qemu firmware; rebuild and flash the project",
                         MAX_SKIPPED_LINES + 1, BANNER_PREFIX);
            goto fail;
        }
    }
    if (strcmp(s->banner.project_type, "aot_standalone") != 0) {
        rc = err_set(err, ERR_INVALID, "the board runs %s firmware (its banner says so), not "
                     "aot_standalone; flash an aot_standalone build", s->banner.project_type);
        goto fail;
    }
    if ((rc = send_all(s, "info%", "info%", 5, err)) < 0 ||
        (rc = read_reply(s, "info%", UNTIL_DONE_OR_ERROR, &text, err)) < 0 ||
        (rc = cli_aot_parse_info(text, &s->model, err)) < 0)
        goto fail;
    free(text);
    *out = s;
    return 0;
fail:
    free(text);
    cli_aot_close(s);
    return rc;
}

void cli_aot_close(struct cli_aot_session *s)
{
    if (!s)
        return;
    line_reader_close(&s->lines);
    free(s);
}

const struct cli_aot_banner *cli_aot_banner_of(const struct cli_aot_session *s)
{
    return &s->banner;
}

const struct cli_aot_model *cli_aot_model_of(const struct cli_aot_session *s)
{
    return &s->model;
}

int cli_aot_set_input(struct cli_aot_session *s, size_t index, const void *data, size_t len,
                      struct err *err)
{
    static const char digits[] = "0123456789abcdef";
    char *cmd = NULL, *text = NULL;
    int rc = 0;
    if (index >= s->model.n_inputs)
        return err_set(err, ERR_INVALID, "input %zu: the model has %zu input%s", index,
                       s->model.n_inputs, s->model.n_inputs == 1 ? "" : "s");
    const struct cli_aot_tensor *t = &s->model.inputs[index];
    if (len != t->bytes)
        return err_set(err, ERR_INVALID, "input '%s' (%s) takes %zu bytes; %zu were given",
                       t->name, t->dtype, t->bytes, len);
    char head[48];
    int hlen = snprintf(head, sizeof head, "input:%zu:", index);
    size_t total = (size_t)hlen + 2 * len + 1;
    if (!(cmd = malloc(total + 1)))
        return err_set(err, -ENOMEM, "out of memory");
    memcpy(cmd, head, (size_t)hlen);
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        cmd[hlen + 2 * i] = digits[p[i] >> 4];
        cmd[hlen + 2 * i + 1] = digits[p[i] & 15];
    }
    cmd[total - 1] = '%';
    char what[64];
    snprintf(what, sizeof what, "input:%zu%%", index);
    if ((rc = send_all(s, what, cmd, total, err)) < 0 ||
        (rc = read_reply(s, what, ONE_LINE, &text, err)) < 0)
        goto out;
    if (strcmp(text, "ok\n") != 0) {
        text[strcspn(text, "\n")] = '\0';
        char q[QUOTE_MAX + 8];
        rc = !strncmp(text, "error:", 6)
                 ? err_set(err, ERR_INVALID, "input '%s': the board refused it: %s", t->name,
                           text + 6)
                 : err_set(err, ERR_INVALID, "input '%s': the board answered '%s', not 'ok'",
                           t->name, quote(text, strlen(text), q, sizeof q));
    }
out:
    free(cmd);
    free(text);
    return rc;
}

int cli_aot_run(struct cli_aot_session *s, struct cli_aot_result *r, struct err *err)
{
    char *text = NULL;
    memset(r, 0, sizeof *r);
    int rc = send_all(s, "run%", "run%", 4, err);
    if (rc == 0)
        rc = read_reply(s, "run%", UNTIL_DONE, &text, err);
    if (rc == 0 && (rc = cli_aot_parse_run(text, &s->model, r, err)) < 0)
        err_prefix(err, "run%%");
    free(text);
    return rc;
}
