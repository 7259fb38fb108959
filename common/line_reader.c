/*
 * The bounded line reader (see line_reader.h). A line that passes the limit is reported as soon
 * as the limit passes, before the rest of it has arrived: its writer may be blocked writing it,
 * and buffering it is exactly what the limit forbids.
 */
#include "line_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Bytes asked of one read(): big enough that a 1 MiB write_transport line takes few calls. */
#define READ_CHUNK ((size_t)64 << 10)

void line_reader_init(struct line_reader *r, int fd, size_t max_line)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->max_line = max_line ? max_line : LINE_READER_MAX;
}

void line_reader_close(struct line_reader *r)
{
    if (!r)
        return;
    free(r->buf);
    r->buf = NULL;
    r->start = r->len = r->cap = r->scanned = 0;
}

static void drop(struct line_reader *r, size_t n)
{
    r->start += n;
    r->len -= n;
    r->scanned = 0;
    if (r->len == 0)
        r->start = 0;
}

enum line_take line_reader_take(struct line_reader *r, char **line, size_t *len)
{
    for (;;) {
        char *base = r->buf + r->start;
        char *nl = r->len > r->scanned ? memchr(base + r->scanned, '\n', r->len - r->scanned)
                                       : NULL;
        if (r->skipping) {
            if (!nl) {
                drop(r, r->len);
                return LINE_TAKE_NEED_MORE;
            }
            drop(r, (size_t)(nl - base) + 1);
            r->skipping = false;
            continue;
        }
        if (nl) {
            size_t n = (size_t)(nl - base);
            *nl = '\0';
            drop(r, n + 1);
            if (n > r->max_line) { /* a too-long line that arrived in one piece */
                return LINE_TAKE_TOO_LONG;
            }
            *line = base;
            *len = n;
            return LINE_TAKE_LINE;
        }
        r->scanned = r->len;
        if (r->len > r->max_line) {
            /* reply now, before the rest of the line has arrived: the client may be blocked
             * writing it, and buffering it is exactly what the limit forbids */
            drop(r, r->len);
            r->skipping = !r->eof;
            return LINE_TAKE_TOO_LONG;
        }
        if (r->eof && r->len > 0) {
            base[r->len] = '\0'; /* fill always leaves room for this NUL */
            *line = base;
            *len = r->len;
            drop(r, r->len);
            return LINE_TAKE_LINE;
        }
        return LINE_TAKE_NEED_MORE;
    }
}

int line_reader_space(struct line_reader *r, char **at, size_t *room, struct err *err)
{
    if (r->eof || r->len > r->max_line)
        return 1; /* nothing more will come, or line_reader_take has a too-long line to report */
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->len);
        r->start = 0;
    }
    /* never read more than the rest of one allowed line plus its '\n', so the buffer stays
     * below max_line + 2 bytes however long the line is */
    size_t want = r->max_line + 1 - r->len;
    if (want > READ_CHUNK)
        want = READ_CHUNK;
    size_t need = r->len + want + 1; /* + the NUL line_reader_take may add */
    if (need > r->cap) {
        size_t cap = r->cap ? r->cap : READ_CHUNK + 1;
        while (cap < need)
            cap *= 2;
        if (cap > r->max_line + 2)
            cap = r->max_line + 2 > need ? r->max_line + 2 : need;
        char *nb = realloc(r->buf, cap);
        if (!nb)
            return err_set(err, -ENOMEM, "out of memory for a %zu-byte line", cap);
        r->buf = nb;
        r->cap = cap;
    }
    *at = r->buf + r->len;
    *room = want;
    return 0;
}

void line_reader_added(struct line_reader *r, size_t n)
{
    if (n == 0)
        r->eof = true;
    r->len += n;
}

int line_reader_fill(struct line_reader *r, struct err *err)
{
    char *at = NULL;
    size_t room = 0;
    int rc = line_reader_space(r, &at, &room, err);
    if (rc != 0)
        return rc < 0 ? rc : r->eof ? 0 : 1;
    ssize_t got = read(r->fd, at, room);
    if (got < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return errno == EINTR ? -EINTR : -EAGAIN;
        return err_errno(err, "reading lines from fd %d", r->fd);
    }
    line_reader_added(r, (size_t)got);
    return got > 0 ? 1 : 0;
}

const char *line_reader_pending(const struct line_reader *r, size_t *len)
{
    *len = r->len;
    return r->buf ? r->buf + r->start : "";
}
