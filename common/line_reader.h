/*
 * Reading lines: the one bounded line reader behind every line protocol of ours (JSON-RPC
 * requests and replies, QMP, the aot_standalone board's replies). Bytes come from an fd
 * (line_reader_fill) or from any other source the caller reads into the reader's room
 * (line_reader_space, line_reader_added); lines go out one at a time (line_reader_take). The
 * buffer never holds more than one allowed line and its '\n', however long a line is, so a
 * huge or endless line cannot exhaust memory: it is reported once and skipped.
 *
 * Ownership: a struct line_reader owns its buffer (line_reader_close frees it); lines it hands
 * out point into that buffer and stay valid until the next line_reader_* call. The fd stays the
 * caller's.
 */
#ifndef MTQ_LINE_READER_H
#define MTQ_LINE_READER_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

/* The longest line when init is given 0: 64 MiB. */
#define LINE_READER_MAX ((size_t)64 << 20)

struct line_reader {
    int fd;           /* read by line_reader_fill; -1 when the caller feeds the reader */
    size_t max_line;  /* longest line accepted, without its '\n' */
    char *buf;        /* bytes read and not yet handed out start at buf[start] */
    size_t start, len, cap;
    size_t scanned;   /* of those, how many are known to hold no '\n' */
    bool eof;         /* the source ended: no more bytes will come */
    bool skipping;    /* inside a line that was too long: drop bytes up to its '\n' */
};

/* Prepares a reader of fd (-1: fed by the caller) for lines of at most max_line bytes (0 means
 * LINE_READER_MAX). Never fails: the buffer is allocated on the first read. */
void line_reader_init(struct line_reader *r, int fd, size_t max_line);

/* Frees the reader's buffer; accepts NULL. */
void line_reader_close(struct line_reader *r);

/* What line_reader_take returns. */
enum line_take {
    LINE_TAKE_LINE = 1,      /* *line, *len: one line without its '\n', NUL-terminated */
    LINE_TAKE_NEED_MORE = 0, /* no whole line buffered: fill, unless at EOF */
    LINE_TAKE_TOO_LONG = 2,  /* a line passed max_line: it is dropped, up to its '\n' */
};

/* Hands out the next buffered line, if any, without reading. At EOF a final line without '\n'
 * is handed out too. Never blocks, never fails. */
enum line_take line_reader_take(struct line_reader *r, char **line, size_t *len);

/* One read() from the fd into the buffer (blocks if the fd has nothing: poll it first, or make
 * it non-blocking). Returns 1 when bytes arrived (or a too-long line waits to be taken), 0 at EOF
 * (r->eof is then set), -EINTR or -EAGAIN when nothing was read, another -errno with *err on a
 * read error, -ENOMEM when out of memory. */
int line_reader_fill(struct line_reader *r, struct err *err);

/* For a source that is not an fd: the room to read into next, *at and *room (> 0 bytes).
 * Returns 0; 1 when a too-long line waits to be taken first (nothing to read then); -ENOMEM. */
int line_reader_space(struct line_reader *r, char **at, size_t *room, struct err *err);

/* Records that n bytes were read into the room line_reader_space gave; 0 means the source
 * ended (r->eof). */
void line_reader_added(struct line_reader *r, size_t n);

/* The bytes buffered and not handed out yet (the start of an unfinished line), for messages;
 * *len may be 0. */
const char *line_reader_pending(const struct line_reader *r, size_t *len);

#endif
