/*
 * Assertions for the CUnit tests that print what they compared: a failure reads
 * "file:line  - ASSERT_EQ(rc, 0): rc is -1003" in CUnit's report instead of only the expression,
 * as libuv's ASSERT_EQ does. Each macro evaluates its arguments once. Like CUnit's own, a plain
 * ASSERT_* records the failure and lets the test go on (its cleanup still runs); an *_FATAL
 * ends the test there (for a value the next lines depend on, such as a pointer they read).
 *
 * Numbers (integers and floating point) are compared as C compares them, after the usual
 * arithmetic conversions, and printed as they are (an unsigned one as unsigned); a pointer given
 * to ASSERT_EQ is a compile error (use ASSERT_PTR_EQ or ASSERT_NULL). A NULL string fails a
 * string assertion.
 */
#ifndef MTQ_TEST_ASSERTS_H
#define MTQ_TEST_ASSERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;

/* ---- numbers ---- */

#define ASSERT_EQ(a, b) TEST_CMP_(a, ==, b, #a, #b, "ASSERT_EQ", false)
#define ASSERT_NE(a, b) TEST_CMP_(a, !=, b, #a, #b, "ASSERT_NE", false)
#define ASSERT_LT(a, b) TEST_CMP_(a, <, b, #a, #b, "ASSERT_LT", false)
#define ASSERT_LE(a, b) TEST_CMP_(a, <=, b, #a, #b, "ASSERT_LE", false)
#define ASSERT_GT(a, b) TEST_CMP_(a, >, b, #a, #b, "ASSERT_GT", false)
#define ASSERT_GE(a, b) TEST_CMP_(a, >=, b, #a, #b, "ASSERT_GE", false)
#define ASSERT_EQ_FATAL(a, b) TEST_CMP_(a, ==, b, #a, #b, "ASSERT_EQ_FATAL", true)
#define ASSERT_NE_FATAL(a, b) TEST_CMP_(a, !=, b, #a, #b, "ASSERT_NE_FATAL", true)
#define ASSERT_LT_FATAL(a, b) TEST_CMP_(a, <, b, #a, #b, "ASSERT_LT_FATAL", true)
#define ASSERT_LE_FATAL(a, b) TEST_CMP_(a, <=, b, #a, #b, "ASSERT_LE_FATAL", true)
#define ASSERT_GT_FATAL(a, b) TEST_CMP_(a, >, b, #a, #b, "ASSERT_GT_FATAL", true)
#define ASSERT_GE_FATAL(a, b) TEST_CMP_(a, >=, b, #a, #b, "ASSERT_GE_FATAL", true)

/* A call that returns 0 on success and fills err (a struct err *, or NULL) when it fails: the
 * failure prints the returned code and err's message. */
#define ASSERT_OK(rc, err) TEST_OK_(rc, err, #rc ", " #err, "ASSERT_OK", false)
#define ASSERT_OK_FATAL(rc, err) TEST_OK_(rc, err, #rc ", " #err, "ASSERT_OK_FATAL", true)

/* A call that returns >= 0 on success (a count, or 0) and fills err (a struct err, named, not
 * a pointer) when it fails: a failure prints what was called, err's message, code and detail
 * (test_report), and ends the test. */
#define ASSERT_CALL_FATAL(call, err)                                                              \
    do {                                                                                          \
        int rc_ = (int)(call);                                                                    \
        if (rc_ < 0)                                                                              \
            test_report(#call, &(err));                                                           \
        ASSERT_GE_FATAL(rc_, 0);                                                                  \
    } while (0)

/* Prints "what: message (code N)" and err's detail (the compiler's or QEMU's last lines) on
 * stderr: for a failure the assertion's own line would not explain. */
void test_report(const char *what, const struct err *err);

/* ---- truth, pointers, doubles ---- */

#define ASSERT_TRUE(x) TEST_BOOL_(x, true, #x, "ASSERT_TRUE", false)
#define ASSERT_FALSE(x) TEST_BOOL_(x, false, #x, "ASSERT_FALSE", false)
#define ASSERT_TRUE_FATAL(x) TEST_BOOL_(x, true, #x, "ASSERT_TRUE_FATAL", true)
#define ASSERT_FALSE_FATAL(x) TEST_BOOL_(x, false, #x, "ASSERT_FALSE_FATAL", true)

#define ASSERT_NULL(p) TEST_NULL_(p, true, #p, "ASSERT_NULL", false)
#define ASSERT_NOT_NULL(p) TEST_NULL_(p, false, #p, "ASSERT_NOT_NULL", false)
#define ASSERT_NULL_FATAL(p) TEST_NULL_(p, true, #p, "ASSERT_NULL_FATAL", true)
#define ASSERT_NOT_NULL_FATAL(p) TEST_NULL_(p, false, #p, "ASSERT_NOT_NULL_FATAL", true)

#define ASSERT_PTR_EQ(a, b) TEST_PTRS_(a, b, true, #a ", " #b, "ASSERT_PTR_EQ", false)
#define ASSERT_PTR_NE(a, b) TEST_PTRS_(a, b, false, #a ", " #b, "ASSERT_PTR_NE", false)

/* |a - b| <= tolerance */
#define ASSERT_DOUBLE_EQ(a, b, tolerance)                                                         \
    test_check_double_(TEST_AT_("ASSERT_DOUBLE_EQ", #a ", " #b ", " #tolerance, false), (a), (b), \
                       (tolerance))

/* ---- strings and bytes ---- */

#define ASSERT_STR_EQ(a, b) TEST_STR_(a, b, #a, #b, TEST_STR_EQUAL, "ASSERT_STR_EQ", false)
#define ASSERT_STR_NE(a, b) TEST_STR_(a, b, #a, #b, TEST_STR_DIFFERENT, "ASSERT_STR_NE", false)
#define ASSERT_STR_CONTAINS(s, part)                                                              \
    TEST_STR_(s, part, #s, #part, TEST_STR_CONTAINS, "ASSERT_STR_CONTAINS", false)
#define ASSERT_STR_NOT_CONTAINS(s, part)                                                          \
    TEST_STR_(s, part, #s, #part, TEST_STR_LACKS, "ASSERT_STR_NOT_CONTAINS", false)
#define ASSERT_STR_EQ_FATAL(a, b)                                                                 \
    TEST_STR_(a, b, #a, #b, TEST_STR_EQUAL, "ASSERT_STR_EQ_FATAL", true)
#define ASSERT_STR_CONTAINS_FATAL(s, part)                                                        \
    TEST_STR_(s, part, #s, #part, TEST_STR_CONTAINS, "ASSERT_STR_CONTAINS_FATAL", true)

/* The first n bytes of both strings, as strncmp compares them */
#define ASSERT_STRN_EQ(a, b, n)                                                                   \
    test_check_strn_(TEST_AT_("ASSERT_STRN_EQ", #a ", " #b ", " #n, false), (a), (b), (n))
/* n bytes of two buffers: a failure shows where they first differ, in hex */
#define ASSERT_MEM_EQ(a, b, n) TEST_MEM_(a, b, n, #a ", " #b ", " #n, "ASSERT_MEM_EQ", false)
#define ASSERT_MEM_EQ_FATAL(a, b, n)                                                              \
    TEST_MEM_(a, b, n, #a ", " #b ", " #n, "ASSERT_MEM_EQ_FATAL", true)

/* ---- failing outright: a printf-style message ---- */

#define TEST_FAIL(...) test_fail_(TEST_AT_("TEST_FAIL", "", false), __VA_ARGS__)
#define TEST_FAIL_FATAL(...) test_fail_(TEST_AT_("TEST_FAIL_FATAL", "", true), __VA_ARGS__)

/* ---- the machinery behind the macros (asserts.c); tests use the macros above ----
 * Each macro above turns its arguments into text itself (#a): passed on to another macro
 * first, they would be expanded there, and a failure would print 0 for false. */

/* Where an assertion stands and what it says, for the failure's message. */
struct test_at_ {
    const char *file;
    int line;
    const char *macro; /* "ASSERT_EQ" */
    const char *args;  /* the arguments as written: "rc, 0" */
    bool fatal;        /* a failure ends the test (CUnit longjmps out of it) */
};
#define TEST_AT_(macro, args, fatal)                                                              \
    (&(const struct test_at_){__FILE__, __LINE__, macro, args, fatal})

/* A number of any arithmetic type, for printing. */
struct test_num_ {
    enum { TEST_NUM_SIGNED, TEST_NUM_UNSIGNED, TEST_NUM_FLOATING } kind;
    intmax_t s;
    uintmax_t u;
    double d;
};
struct test_num_ test_num_signed_(intmax_t v);
struct test_num_ test_num_unsigned_(uintmax_t v);
struct test_num_ test_num_floating_(double v);
/* "+ 0" promotes (char, bool and bit-fields become int) and drops qualifiers; a pointer matches
 * no association and stops the compile. */
#define TEST_NUM_(x)                                                                              \
    _Generic((x) + 0, int: test_num_signed_, long: test_num_signed_,                             \
             long long: test_num_signed_, unsigned: test_num_unsigned_,                          \
             unsigned long: test_num_unsigned_, unsigned long long: test_num_unsigned_,          \
             float: test_num_floating_, double: test_num_floating_,                              \
             long double: test_num_floating_)(x)

/* Each side is evaluated once into its own (promoted) type, then both are compared in their
 * common type, as `(a) op (b)` would be, without -Wsign-compare firing on the copies. */
#define TEST_CMP_(a, op, b, a_text, b_text, macro, fatal)                                        \
    do {                                                                                          \
        __typeof__((a) + 0) test_a_ = (a);                                                        \
        __typeof__((b) + 0) test_b_ = (b);                                                        \
        __typeof__(test_a_ + test_b_) test_ca_ = test_a_, test_cb_ = test_b_;                     \
        test_check_nums_(TEST_AT_(macro, a_text ", " b_text, fatal), test_ca_ op test_cb_, #op,   \
                         a_text, TEST_NUM_(test_a_), b_text, TEST_NUM_(test_b_));                 \
    } while (0)

#define TEST_OK_(rc, err, args, macro, fatal)                                                     \
    do {                                                                                          \
        __typeof__((rc) + 0) test_rc_ = (rc);                                                     \
        test_check_ok_(TEST_AT_(macro, args, fatal), TEST_NUM_(test_rc_), (err));                 \
    } while (0)

enum test_str_check_ { TEST_STR_EQUAL, TEST_STR_DIFFERENT, TEST_STR_CONTAINS, TEST_STR_LACKS };
#define TEST_STR_(a, b, a_text, b_text, check, macro, fatal)                                     \
    test_check_str_(TEST_AT_(macro, a_text ", " b_text, fatal), check, a_text, (a), b_text, (b))
#define TEST_BOOL_(x, want, text, macro, fatal)                                                   \
    test_check_bool_(TEST_AT_(macro, text, fatal), (!(x)) != (want))
/* Pointers pass as numbers: only their values matter, and GCC would take a `const void *`
 * argument for a read of what it points to (uninitialized after malloc). */
#define TEST_NULL_(p, want_null, text, macro, fatal)                                              \
    test_check_null_(TEST_AT_(macro, text, fatal), (uintptr_t)(const void *)(p), want_null)
#define TEST_PTRS_(a, b, want_same, args, macro, fatal)                                           \
    test_check_ptrs_(TEST_AT_(macro, args, fatal), (uintptr_t)(const void *)(a),                 \
                     (uintptr_t)(const void *)(b), want_same)
#define TEST_MEM_(a, b, n, args, macro, fatal)                                                    \
    test_check_mem_(TEST_AT_(macro, args, fatal), (a), (b), (n))

void test_check_nums_(const struct test_at_ *at, bool ok, const char *op, const char *a_text,
                      struct test_num_ a, const char *b_text, struct test_num_ b);
void test_check_ok_(const struct test_at_ *at, struct test_num_ rc, const struct err *err);
void test_check_bool_(const struct test_at_ *at, bool ok);
void test_check_null_(const struct test_at_ *at, uintptr_t p, bool want_null);
void test_check_ptrs_(const struct test_at_ *at, uintptr_t a, uintptr_t b, bool want_same);
void test_check_double_(const struct test_at_ *at, double a, double b, double tolerance);
void test_check_str_(const struct test_at_ *at, enum test_str_check_ check, const char *a_text,
                     const char *a, const char *b_text, const char *b);
void test_check_strn_(const struct test_at_ *at, const char *a, const char *b, size_t n);
void test_check_mem_(const struct test_at_ *at, const void *a, const void *b, size_t n);
void test_fail_(const struct test_at_ *at, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
