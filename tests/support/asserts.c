/*
 * The assertions of asserts.h: each check builds, only when it fails, a one-line message with
 * both values and hands it to CUnit, which copies it and prints it as "file:line  - message"
 * when the test ends. The message lives on the stack because a fatal failure longjmps out of
 * CU_assertImplementation: nothing allocated here could be freed.
 */
#include "asserts.h"

#include "err.h"

#include <CUnit/CUnit.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Long enough for two string windows, an err message and its detail. */
#define MSG_MAX 12288
/* Strings up to this long are printed whole; longer ones around their first difference. */
#define WHOLE_MAX 400
#define WINDOW_BEFORE 60
#define WINDOW_AFTER 200
/* How much of a string a CONTAINS failure shows: the part may be anywhere in it. */
#define HAYSTACK_MAX 4000

struct msg {
    char text[MSG_MAX];
    size_t len;
};

static void add(struct msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct msg *m, const char *fmt, ...)
{
    if (m->len >= sizeof m->text - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->text + m->len, sizeof m->text - m->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        m->len += (size_t)n < sizeof m->text - m->len ? (size_t)n : sizeof m->text - 1 - m->len;
}

/* Starts the message with the assertion as written: "ASSERT_EQ(rc, 0): ". */
static void begin(struct msg *m, const struct test_at_ *at)
{
    m->len = 0;
    m->text[0] = '\0';
    if (at->args[0])
        add(m, "%s(%s): ", at->macro, at->args);
    else
        add(m, "%s: ", at->macro);
}

static void report(const struct test_at_ *at, bool ok, const struct msg *m)
{
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)at->line,
                            ok ? at->macro : m->text, at->file, "",
                            at->fatal ? CU_TRUE : CU_FALSE);
}

/* Appends s[from, from + len) as a C string literal, escaping what would not print. */
static void add_quoted(struct msg *m, const char *s, size_t from, size_t len, size_t total)
{
    add(m, "%s\"", from > 0 ? "..." : "");
    for (size_t i = from; i < from + len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            add(m, "\\%c", c);
        else if (c == '\n')
            add(m, "\\n");
        else if (c == '\t')
            add(m, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            add(m, "\\x%02x", c);
        else
            add(m, "%c", c);
    }
    add(m, "\"");
    if (from + len < total)
        add(m, "... (%zu bytes in all)", total);
}

static void add_string(struct msg *m, const char *s, size_t max)
{
    size_t len = strlen(s);
    add_quoted(m, s, 0, len < max ? len : max, len);
}

/* Appends s around byte at (the first difference, or where a part was found). */
static void add_window(struct msg *m, const char *s, size_t at)
{
    size_t len = strlen(s);
    size_t from = at > WINDOW_BEFORE ? at - WINDOW_BEFORE : 0;
    size_t to = at + WINDOW_AFTER < len ? at + WINDOW_AFTER : len;
    add_quoted(m, s, from, to - from, len);
}

/* A literal shows its value in the arguments already: "x is 0" after "x, 0" says nothing. */
static bool is_literal(const char *text, const char *value)
{
    return text[0] == '"' || strcmp(text, value) == 0;
}

struct test_num_ test_num_signed_(intmax_t v)
{
    return (struct test_num_){TEST_NUM_SIGNED, v, (uintmax_t)v, (double)v};
}

struct test_num_ test_num_unsigned_(uintmax_t v)
{
    return (struct test_num_){TEST_NUM_UNSIGNED, (intmax_t)v, v, (double)v};
}

struct test_num_ test_num_floating_(double v)
{
    return (struct test_num_){TEST_NUM_FLOATING, 0, 0, v};
}

/* A double in as few digits as read back to the same value: 0.1, not 0.10000000000000001. */
static void format_num(char *out, size_t size, struct test_num_ v)
{
    if (v.kind == TEST_NUM_SIGNED) {
        snprintf(out, size, "%" PRIdMAX, v.s);
    } else if (v.kind == TEST_NUM_UNSIGNED) {
        snprintf(out, size, "%" PRIuMAX, v.u);
    } else {
        snprintf(out, size, "%.15g", v.d);
        if (strtod(out, NULL) != v.d)
            snprintf(out, size, "%.17g", v.d);
    }
}

void test_check_nums_(const struct test_at_ *at, bool ok, const char *op, const char *a_text,
                      struct test_num_ a, const char *b_text, struct test_num_ b)
{
    struct msg m;
    if (ok) {
        report(at, true, NULL);
        return;
    }
    char va[40], vb[40];
    format_num(va, sizeof va, a);
    format_num(vb, sizeof vb, b);
    begin(&m, at);
    bool show_a = !is_literal(a_text, va), show_b = !is_literal(b_text, vb);
    if (show_a)
        add(&m, "%s is %s", a_text, va);
    if (show_b)
        add(&m, "%s%s is %s", show_a ? ", " : "", b_text, vb);
    if (!show_a && !show_b)
        add(&m, "%s %s %s is false", va, op, vb);
    report(at, false, &m);
}

void test_check_ok_(const struct test_at_ *at, struct test_num_ rc, const struct err *err)
{
    struct msg m;
    if (rc.kind == TEST_NUM_FLOATING ? rc.d == 0 : rc.u == 0) {
        report(at, true, NULL);
        return;
    }
    char v[40];
    format_num(v, sizeof v, rc);
    begin(&m, at);
    add(&m, "returned %s", v);
    if (err && err->msg[0])
        add(&m, ": %s", err->msg);
    if (err && err->detail[0])
        add(&m, "\n%s", err->detail);
    report(at, false, &m);
}

void test_check_bool_(const struct test_at_ *at, bool ok)
{
    struct msg m;
    if (!ok) {
        begin(&m, at);
        add(&m, "it is %s", strstr(at->macro, "TRUE") ? "false" : "true");
    }
    report(at, ok, &m);
}

void test_check_null_(const struct test_at_ *at, uintptr_t p, bool want_null)
{
    struct msg m;
    bool ok = (p == 0) == want_null;
    if (!ok) {
        begin(&m, at);
        if (p)
            add(&m, "%s is %p", at->args, (void *)p);
        else
            add(&m, "%s is NULL", at->args);
    }
    report(at, ok, &m);
}

void test_check_ptrs_(const struct test_at_ *at, uintptr_t a, uintptr_t b, bool want_same)
{
    struct msg m;
    bool ok = (a == b) == want_same;
    if (!ok) {
        begin(&m, at);
        add(&m, "%s %p and %p", want_same ? "they differ:" : "both are", (void *)a, (void *)b);
    }
    report(at, ok, &m);
}

void test_check_double_(const struct test_at_ *at, double a, double b, double tolerance)
{
    struct msg m;
    double d = a - b, t = tolerance < 0 ? -tolerance : tolerance;
    bool ok = (d < 0 ? -d : d) <= t;
    if (!ok) {
        begin(&m, at);
        add(&m, "%.17g and %.17g differ by %g, more than %g", a, b, d < 0 ? -d : d, t);
    }
    report(at, ok, &m);
}

static size_t first_difference(const char *a, const char *b)
{
    size_t i = 0;
    while (a[i] && a[i] == b[i])
        i++;
    return i;
}

/* Both strings, whole when short, else around where they first differ. */
static void add_two_strings(struct msg *m, const char *a_text, const char *a, const char *b_text,
                            const char *b)
{
    if (strlen(a) <= WHOLE_MAX && strlen(b) <= WHOLE_MAX) {
        add(m, "%s is ", a_text);
        add_string(m, a, WHOLE_MAX);
        if (b_text[0] != '"') {
            add(m, ", %s is ", b_text);
            add_string(m, b, WHOLE_MAX);
        }
        return;
    }
    size_t at = first_difference(a, b);
    add(m, "they differ first at byte %zu: %s has ", at, a_text);
    add_window(m, a, at);
    add(m, ", %s has ", b_text);
    add_window(m, b, at);
}

void test_check_str_(const struct test_at_ *at, enum test_str_check_ check, const char *a_text,
                     const char *a, const char *b_text, const char *b)
{
    struct msg m;
    begin(&m, at);
    if (!a || !b) {
        add(&m, "%s is NULL", a ? b_text : a_text);
        report(at, false, &m);
        return;
    }
    bool search = check == TEST_STR_CONTAINS || check == TEST_STR_LACKS;
    const char *found = search ? strstr(a, b) : NULL;
    bool ok = check == TEST_STR_EQUAL       ? strcmp(a, b) == 0
              : check == TEST_STR_DIFFERENT ? strcmp(a, b) != 0
              : check == TEST_STR_CONTAINS  ? found != NULL
                                            : found == NULL;
    if (ok) {
        report(at, true, NULL);
        return;
    }
    if (check == TEST_STR_EQUAL) {
        add_two_strings(&m, a_text, a, b_text, b);
    } else if (check == TEST_STR_DIFFERENT) {
        add(&m, "both are ");
        add_string(&m, a, WHOLE_MAX);
    } else if (check == TEST_STR_CONTAINS) {
        add(&m, "%s is ", a_text);
        add_string(&m, a, HAYSTACK_MAX);
    } else {
        add(&m, "found at byte %zu of %s: ", (size_t)(found - a), a_text);
        add_window(&m, a, (size_t)(found - a));
    }
    if ((check == TEST_STR_CONTAINS || check == TEST_STR_LACKS) && b_text[0] != '"') {
        add(&m, ", %s is ", b_text);
        add_string(&m, b, WHOLE_MAX);
    }
    report(at, false, &m);
}

void test_check_strn_(const struct test_at_ *at, const char *a, const char *b, size_t n)
{
    struct msg m;
    bool ok = a && b && strncmp(a, b, n) == 0;
    if (!ok) {
        begin(&m, at);
        if (!a || !b) {
            add(&m, "a string is NULL");
        } else {
            size_t la = strnlen(a, n), lb = strnlen(b, n);
            add(&m, "the first %zu bytes differ: ", n);
            add_quoted(&m, a, 0, la < WHOLE_MAX ? la : WHOLE_MAX, la);
            add(&m, " and ");
            add_quoted(&m, b, 0, lb < WHOLE_MAX ? lb : WHOLE_MAX, lb);
        }
    }
    report(at, ok, &m);
}

/* Bytes [from, to) of p in hex, the byte at mark in brackets. */
static void add_hex(struct msg *m, const unsigned char *p, size_t from, size_t to, size_t mark)
{
    add(m, "%s", from > 0 ? "... " : "");
    for (size_t i = from; i < to; i++)
        add(m, i == mark ? "[%02x]%s" : "%02x%s", p[i], i + 1 < to ? " " : "");
}

void test_check_mem_(const struct test_at_ *at, const void *a, const void *b, size_t n)
{
    struct msg m;
    const unsigned char *x = a, *y = b;
    bool ok = n == 0 || (a && b && memcmp(a, b, n) == 0);
    if (ok) {
        report(at, true, NULL);
        return;
    }
    begin(&m, at);
    if (!a || !b) {
        add(&m, "a buffer is NULL");
        report(at, false, &m);
        return;
    }
    size_t i = 0;
    while (x[i] == y[i])
        i++;
    size_t from = i > 8 ? i - 8 : 0, to = i + 9 < n ? i + 9 : n;
    add(&m, "they differ first at byte %zu of %zu: ", i, n);
    add_hex(&m, x, from, to, i);
    add(&m, " and ");
    add_hex(&m, y, from, to, i);
    report(at, false, &m);
}

void test_fail_(const struct test_at_ *at, const char *fmt, ...)
{
    struct msg m;
    begin(&m, at);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m.text + m.len, sizeof m.text - m.len, fmt, ap);
    va_end(ap);
    (void)n; /* vsnprintf truncates and terminates: the message is still one line */
    report(at, false, &m);
}

void test_report(const char *what, const struct err *err)
{
    fprintf(stderr, "\n    %s: %s (code %d)\n", what, err->msg, err->code);
    if (err->detail[0])
        fprintf(stderr, "    --- detail ---\n%s\n    --------------\n", err->detail);
}
