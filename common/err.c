/* Error values with a message: see err.h. No allocation, so it works when memory is short. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void err_clear(struct err *e)
{
    if (!e)
        return;
    e->code = 0;
    e->msg[0] = '\0';
    e->detail[0] = '\0';
}

/* Keeps the message one line: a newline inside would break JSON-RPC log lines and tables. */
static void flatten(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    flatten(e->msg);
    e->code = code;
    e->detail[0] = '\0';
    return code;
}

int err_errno(struct err *e, const char *fmt, ...)
{
    int saved = errno ? errno : EIO;
    if (!e)
        return -saved;
    char head[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    if (snprintf(e->msg, sizeof e->msg, "%s: %s", head, strerror(saved)) >= (int)sizeof e->msg)
        e->msg[sizeof e->msg - 2] = '~'; /* marks a cut message; the head matters most */
    flatten(e->msg);
    e->code = -saved;
    e->detail[0] = '\0';
    return -saved;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    if (!e)
        return ERR_INTERNAL;
    char head[ERR_MSG_MAX];
    char old[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    if (snprintf(e->msg, sizeof e->msg, "%s: %s", head, old) >= (int)sizeof e->msg)
        e->msg[sizeof e->msg - 2] = '~';
    flatten(e->msg);
    return e->code;
}

void err_set_detail(struct err *e, const char *text, size_t len)
{
    if (!e)
        return;
    size_t room = sizeof e->detail - 1;
    if (len > room) {
        text += len - room;
        len = room;
    }
    memcpy(e->detail, text, len);
    e->detail[len] = '\0';
}
