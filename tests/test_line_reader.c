/*
 * The bounded line reader (common/line_reader.h) that every line protocol of ours reads with:
 * lines split and joined across reads, a last line without '\n', a too-long line reported once
 * and skipped while the buffer stays within the limit, and a source the caller feeds itself.
 */
#include "line_reader.h"

#include "asserts.h"
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A pipe whose write end the test fills and closes. */
struct feed {
    int rd, wr;
};

static void feed_open(struct feed *f)
{
    int p[2];
    ASSERT_TRUE_FATAL(pipe(p) == 0);
    f->rd = p[0];
    f->wr = p[1];
}

static void feed_write(struct feed *f, const char *s)
{
    ASSERT_EQ((size_t)write(f->wr, s, strlen(s)), strlen(s));
}

static void feed_close(struct feed *f)
{
    if (f->wr >= 0)
        close(f->wr);
    if (f->rd >= 0)
        close(f->rd);
    f->rd = f->wr = -1;
}

/* Takes the next line, filling as needed; returns what take returned, or -1 at EOF. */
static int next(struct line_reader *r, char **line, size_t *len)
{
    for (;;) {
        enum line_take t = line_reader_take(r, line, len);
        if (t != LINE_TAKE_NEED_MORE)
            return (int)t;
        if (r->eof)
            return -1;
        struct err err = {0};
        int rc = line_reader_fill(r, &err);
        ASSERT_TRUE(rc >= 0);
        if (rc < 0)
            return -1;
    }
}

static void test_line_reader_splits_lines_and_hands_out_a_last_line_without_newline(void)
{
    struct feed f;
    feed_open(&f);
    feed_write(&f, "one\ntwo\n\nthree");
    close(f.wr);
    f.wr = -1;
    struct line_reader r;
    line_reader_init(&r, f.rd, 0);
    char *line;
    size_t len;
    ASSERT_EQ(next(&r, &line, &len), LINE_TAKE_LINE);
    ASSERT_STR_EQ(line, "one");
    ASSERT_EQ(next(&r, &line, &len), LINE_TAKE_LINE);
    ASSERT_STR_EQ(line, "two");
    ASSERT_EQ(next(&r, &line, &len), LINE_TAKE_LINE);
    ASSERT_EQ(len, 0);
    ASSERT_EQ(next(&r, &line, &len), LINE_TAKE_LINE);
    ASSERT_STR_EQ(line, "three");
    ASSERT_EQ(len, 5);
    ASSERT_EQ(next(&r, &line, &len), -1);
    line_reader_close(&r);
    feed_close(&f);
}

static void test_line_reader_joins_a_line_that_arrives_in_pieces(void)
{
    struct feed f;
    feed_open(&f);
    struct line_reader r;
    line_reader_init(&r, f.rd, 0);
    char *line;
    size_t len;
    struct err err = {0};
    feed_write(&f, "{\"a\":");
    ASSERT_EQ(line_reader_fill(&r, &err), 1);
    ASSERT_EQ(line_reader_take(&r, &line, &len), LINE_TAKE_NEED_MORE);
    feed_write(&f, "1}\n{\"b\"");
    ASSERT_EQ(line_reader_fill(&r, &err), 1);
    ASSERT_EQ(line_reader_take(&r, &line, &len), LINE_TAKE_LINE);
    ASSERT_STR_EQ(line, "{\"a\":1}");
    ASSERT_EQ(line_reader_take(&r, &line, &len), LINE_TAKE_NEED_MORE);
    line_reader_close(&r);
    feed_close(&f);
}

static void test_line_reader_skips_a_too_long_line_and_serves_the_next(void)
{
    struct feed f;
    feed_open(&f);
    struct line_reader r;
    line_reader_init(&r, f.rd, 16);
    char *line;
    size_t len;
    /* exactly the limit is fine; one more byte is not */
    feed_write(&f, "0123456789abcdef\n0123456789abcdefX and much more text\nnext\n");
    close(f.wr);
    f.wr = -1;
    ASSERT_EQ(next(&r, &line, &len), LINE_TAKE_LINE);
    ASSERT_EQ(len, 16);
    ASSERT_EQ(next(&r, &line, &len), LINE_TAKE_TOO_LONG);
    ASSERT_EQ(next(&r, &line, &len), LINE_TAKE_LINE);
    ASSERT_STR_EQ(line, "next");
    ASSERT_EQ(next(&r, &line, &len), -1);
    ASSERT_TRUE(r.cap <= 16 + 2);
    line_reader_close(&r);
    feed_close(&f);
}

/* A child writes a line of 3 MiB (limit 1 MiB), then a short one: the reader reports the long
 * one once, never buffers more than the limit, and serves the short one. */
static void test_line_reader_stays_bounded_on_a_line_far_over_the_limit(void)
{
    struct feed f;
    feed_open(&f);
    pid_t pid = fork();
    ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0) {
        close(f.rd);
        static char chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 48; i++)
            if (write(f.wr, chunk, sizeof chunk) != (ssize_t)sizeof chunk)
                _exit(1);
        _exit(write(f.wr, "\nok\n", 4) == 4 ? 0 : 1);
    }
    close(f.wr);
    f.wr = -1;
    struct line_reader r;
    line_reader_init(&r, f.rd, (size_t)1 << 20);
    char *line;
    size_t len;
    size_t max_cap = 0;
    int too_long = 0, lines = 0;
    for (;;) {
        int t = next(&r, &line, &len);
        if (r.cap > max_cap)
            max_cap = r.cap;
        if (t == -1)
            break;
        if (t == LINE_TAKE_TOO_LONG)
            too_long++;
        else if (t == LINE_TAKE_LINE) {
            lines++;
            ASSERT_STR_EQ(line, "ok");
        }
    }
    ASSERT_EQ(too_long, 1);
    ASSERT_EQ(lines, 1);
    ASSERT_TRUE(max_cap <= ((size_t)1 << 20) + 2);
    int status = -1;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    line_reader_close(&r);
    feed_close(&f);
}

/* A source that is not an fd: the caller reads into the reader's room itself. */
static void test_line_reader_takes_bytes_the_caller_reads_in_and_shows_what_is_pending(void)
{
    struct line_reader r;
    struct err err = {0};
    line_reader_init(&r, -1, 64);
    char *at = NULL, *line = NULL;
    size_t room = 0, len = 0;
    const char *p = line_reader_pending(&r, &len);
    ASSERT_EQ(len, 0);
    ASSERT_STR_EQ(p, "");
    ASSERT_EQ(line_reader_space(&r, &at, &room, &err), 0);
    ASSERT_EQ(room, 65); /* one allowed line and its '\n', no more */
    memcpy(at, "ok\npart", 7);
    line_reader_added(&r, 7);
    ASSERT_EQ(line_reader_take(&r, &line, &len), LINE_TAKE_LINE);
    ASSERT_STR_EQ(line, "ok");
    ASSERT_EQ(line_reader_take(&r, &line, &len), LINE_TAKE_NEED_MORE);
    p = line_reader_pending(&r, &len);
    ASSERT_TRUE(len == 4 && memcmp(p, "part", 4) == 0);
    line_reader_added(&r, 0); /* the end: what is left is handed out as the last line */
    ASSERT_TRUE(r.eof);
    ASSERT_EQ(line_reader_take(&r, &line, &len), LINE_TAKE_LINE);
    ASSERT_STR_EQ(line, "part");
    ASSERT_EQ(line_reader_space(&r, &at, &room, &err), 1);
    line_reader_close(&r);
}

static void test_line_reader_says_eagain_on_an_empty_nonblocking_fd(void)
{
    int p[2];
    ASSERT_TRUE_FATAL(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    struct line_reader r;
    struct err err = {0};
    line_reader_init(&r, p[0], 0);
    ASSERT_EQ(line_reader_fill(&r, &err), -EAGAIN);
    ASSERT_FALSE(r.eof);
    close(p[1]);
    ASSERT_EQ(line_reader_fill(&r, &err), 0);
    ASSERT_TRUE(r.eof);
    line_reader_close(&r);
    close(p[0]);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("line_reader", NULL, NULL);
    CU_ADD_TEST(s, test_line_reader_splits_lines_and_hands_out_a_last_line_without_newline);
    CU_ADD_TEST(s, test_line_reader_joins_a_line_that_arrives_in_pieces);
    CU_ADD_TEST(s, test_line_reader_skips_a_too_long_line_and_serves_the_next);
    CU_ADD_TEST(s, test_line_reader_stays_bounded_on_a_line_far_over_the_limit);
    CU_ADD_TEST(s, test_line_reader_takes_bytes_the_caller_reads_in_and_shows_what_is_pending);
    CU_ADD_TEST(s, test_line_reader_says_eagain_on_an_empty_nonblocking_fd);
    return TEST_RUN;
}
