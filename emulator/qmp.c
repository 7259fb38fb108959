/*
 * QMP client (see qmp.h). QEMU speaks one JSON object per line; we read them with the common
 * bounded line reader and parse each with cJSON. Everything is poll()-driven with deadlines, so
 * a stuck or dead QEMU shows up as ERR_TIMEOUT or ERR_CLOSED, never as a hang.
 */
#include "qmp.h"

#include "line_reader.h"
#include "mono.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Longer lines are not QMP answers to our commands; refuse them rather than grow forever. */
#define LINE_MAX_BYTES (1u << 20)

struct qmp {
    int fd;
    struct line_reader lines; /* what QEMU sent and we have not read yet */
};

/* Writes all of s, waiting for room until the deadline. */
static int send_all(struct qmp *q, const char *s, size_t n, int64_t deadline, struct err *err)
{
    while (n > 0) {
        ssize_t w = send(q->fd, s, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            s += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EPIPE)
            return err_set(err, ERR_CLOSED, "QMP: QEMU closed the connection");
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return err_errno(err, "QMP: send");
        struct pollfd p = {.fd = q->fd, .events = POLLOUT};
        int r = poll(&p, 1, mono_left_ms(deadline));
        if (r == 0)
            return err_set(err, ERR_TIMEOUT, "QMP: timed out sending a command");
        if (r < 0 && errno != EINTR)
            return err_errno(err, "QMP: poll");
    }
    return 0;
}

/* Reads one line (without its '\n') into a fresh cJSON value; *out is the caller's. */
static int read_msg(struct qmp *q, cJSON **out, int64_t deadline, struct err *err)
{
    *out = NULL;
    for (;;) {
        char *line = NULL;
        size_t n = 0;
        /* at the end of the stream what is left is half a line: QEMU is gone */
        enum line_take t = q->lines.eof ? LINE_TAKE_NEED_MORE
                                        : line_reader_take(&q->lines, &line, &n);
        if (t == LINE_TAKE_TOO_LONG)
            return err_set(err, ERR_INVALID, "QMP: a line longer than %u bytes",
                           LINE_MAX_BYTES);
        if (t == LINE_TAKE_LINE) {
            const char *end = NULL;
            cJSON *v = cJSON_ParseWithLengthOpts(line, n, &end, false);
            size_t at = v ? 0 : (size_t)(end ? end - line : 0);
            if (!v || !cJSON_IsObject(v)) {
                cJSON_Delete(v);
                return err_set(err, ERR_INVALID, "QMP: not a JSON object (bad byte at %zu)", at);
            }
            *out = v;
            return 0;
        }
        if (q->lines.eof)
            return err_set(err, ERR_CLOSED, "QMP: QEMU closed the connection");
        struct pollfd p = {.fd = q->fd, .events = POLLIN};
        int pr = poll(&p, 1, mono_left_ms(deadline));
        if (pr == 0)
            return err_set(err, ERR_TIMEOUT, "QMP: no answer from QEMU in time");
        if (pr < 0 && errno != EINTR)
            return err_errno(err, "QMP: poll");
        if (pr < 0)
            continue;
        int rc = line_reader_fill(&q->lines, err);
        if (rc == 0 || rc == -ECONNRESET)
            return err_set(err, ERR_CLOSED, "QMP: QEMU closed the connection");
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN)
            return err_prefix(err, "QMP");
    }
}

/* Sends a command and waits for its answer, with one deadline for both. */
static int execute(struct qmp *q, const char *command, cJSON **ret, int64_t deadline,
                   struct err *err)
{
    cJSON *msg = NULL;
    char *text = NULL;
    int rc = 0;
    if (ret)
        *ret = NULL;
    cJSON *req = cJSON_CreateObject();
    if (!req || !cJSON_AddStringToObject(req, "execute", command) ||
        !(text = cJSON_PrintUnformatted(req))) {
        rc = err_set(err, -ENOMEM, "QMP: out of memory");
        goto out;
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* overwrites the NUL: QMP reads lines; send_all takes a length */
    if ((rc = send_all(q, text, n + 1, deadline, err)) < 0)
        goto out;
    for (;;) {
        if ((rc = read_msg(q, &msg, deadline, err)) < 0)
            goto out;
        cJSON *r = cJSON_GetObjectItemCaseSensitive(msg, "return");
        cJSON *e = cJSON_GetObjectItemCaseSensitive(msg, "error");
        if (r) {
            if (ret && !(*ret = cJSON_Duplicate(r, true)))
                rc = err_set(err, -ENOMEM, "QMP: out of memory");
            goto out;
        }
        if (e) {
            cJSON *cls = cJSON_GetObjectItemCaseSensitive(e, "class");
            cJSON *desc = cJSON_GetObjectItemCaseSensitive(e, "desc");
            rc = err_set(err, ERR_TOOL, "QMP %s failed: %s: %s", command,
                         cJSON_IsString(cls) ? cls->valuestring : "?",
                         cJSON_IsString(desc) ? desc->valuestring : "(no description)");
            goto out;
        }
        /* {"event": ...} or anything else that is not our answer: skip it */
        cJSON_Delete(msg);
        msg = NULL;
    }
out:
    cJSON_Delete(msg);
    cJSON_free(text);
    cJSON_Delete(req);
    return rc;
}

struct qmp *qmp_open_fd(int fd, int timeout_ms, struct err *err)
{
    int64_t deadline = mono_deadline(timeout_ms);
    cJSON *greeting = NULL;
    struct qmp *q = calloc(1, sizeof *q);
    if (!q) {
        close(fd);
        err_set(err, -ENOMEM, "QMP: out of memory");
        return NULL;
    }
    q->fd = fd;
    line_reader_init(&q->lines, fd, LINE_MAX_BYTES);
    int rc = read_msg(q, &greeting, deadline, err);
    if (rc < 0) {
        err_prefix(err, "waiting for the QMP greeting");
        goto out;
    }
    if (!cJSON_GetObjectItemCaseSensitive(greeting, "QMP")) {
        rc = err_set(err, ERR_INVALID, "QMP: the first line is not a QMP greeting");
        goto out;
    }
    rc = execute(q, "qmp_capabilities", NULL, deadline, err);
out:
    cJSON_Delete(greeting);
    if (rc < 0) {
        qmp_close(q);
        return NULL;
    }
    return q;
}

struct qmp *qmp_open(const char *path, int timeout_ms, struct err *err)
{
    int64_t deadline = mono_deadline(timeout_ms);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        err_set(err, ERR_INVALID, "QMP: socket path longer than %zu bytes: %s",
                sizeof a.sun_path - 1, path);
        return NULL;
    }
    strcpy(a.sun_path, path);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err_errno(err, "QMP: socket");
            return NULL;
        }
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return qmp_open_fd(fd, mono_left_ms(deadline), err);
        int e = errno;
        close(fd);
        if (e != ENOENT && e != ECONNREFUSED && e != EINTR) {
            errno = e;
            err_errno(err, "QMP: connecting to %s", path);
            return NULL;
        }
        int left = mono_left_ms(deadline);
        if (left == 0) {
            err_set(err, ERR_TIMEOUT, "QMP: %s did not accept a connection in time", path);
            return NULL;
        }
        /* QEMU creates the socket a few tens of ms after exec: poll the path gently */
        usleep(1000u * (unsigned)(left < 0 || left > 10 ? 10 : left));
    }
}

int qmp_execute(struct qmp *q, const char *command, cJSON **ret, int timeout_ms,
                struct err *err)
{
    return execute(q, command, ret, mono_deadline(timeout_ms), err);
}

int qmp_fd(const struct qmp *q)
{
    return q->fd;
}

void qmp_close(struct qmp *q)
{
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    line_reader_close(&q->lines);
    free(q);
}
