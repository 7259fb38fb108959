/*
 * A minimal QMP client (QEMU Machine Protocol: JSON lines on a unix socket) for the few
 * commands a board needs: cont, stop, system_reset, quit, query-status. One command at a time;
 * asynchronous {"event": ...} lines that arrive meanwhile are skipped.
 * Ownership: qmp_open/qmp_open_fd return a heap object that owns its socket; free it with
 * qmp_close (accepts NULL). Results handed out as cJSON are the caller's to cJSON_Delete.
 * Timeouts are in milliseconds; a negative timeout waits forever.
 */
#ifndef MTQ_QMP_H
#define MTQ_QMP_H

#include "err.h"

#include <cjson/cJSON.h>

struct qmp;

/* Connects to the socket at path, retrying while it does not exist yet or refuses (QEMU
 * creates it shortly after it starts) until timeout_ms has passed, then reads the greeting and
 * negotiates capabilities. Blocks up to timeout_ms in total. Errors: ERR_TIMEOUT (no socket,
 * no greeting, no answer in time), ERR_CLOSED (the peer hung up), ERR_INVALID (not QMP). */
struct qmp *qmp_open(const char *path, int timeout_ms, struct err *err);

/* Same on an already connected socket; takes ownership of fd, even on failure. */
struct qmp *qmp_open_fd(int fd, int timeout_ms, struct err *err);

/* Sends {"execute": command} and waits up to timeout_ms for its "return" or "error" line,
 * skipping events. On success returns 0 and, when ret is not NULL, sets *ret to a copy of the
 * "return" value (caller frees). A QMP "error" reply gives ERR_TOOL with QEMU's class and desc
 * in the message. ERR_TIMEOUT, ERR_CLOSED and ERR_INVALID as for qmp_open. After a timeout the
 * late reply would be taken for the next command's: close the connection instead. */
int qmp_execute(struct qmp *q, const char *command, cJSON **ret, int timeout_ms,
                struct err *err);

/* The socket fd (for poll); owned by q. */
int qmp_fd(const struct qmp *q);

/* Closes the socket and frees q; accepts NULL. */
void qmp_close(struct qmp *q);

#endif
