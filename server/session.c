/*
 * flash and the transport (session.h): the public entry points. The work lives in flash.c (the
 * board's life), transport.c (the bytes) and board_lock.c (one server per board), behind
 * session_internal.h so the unit tests can reach the parts.
 */
#include "session.h"

#include "session_internal.h"

int sess_flash(struct server *srv, const cJSON *options, struct err *err)
{
    return sess__flash(srv, options, err);
}

int sess_open(struct server *srv, const cJSON *options, struct sess_timeouts *out,
              struct err *err)
{
    return sess__open(srv, options, out, err);
}

int sess_read(struct server *srv, uint8_t *buf, size_t n, double timeout_sec, size_t *got,
              struct err *err)
{
    return sess__read(srv, buf, n, timeout_sec, got, err);
}

int sess_write(struct server *srv, const uint8_t *data, size_t n, double timeout_sec,
               struct err *err)
{
    return sess__write(srv, data, n, timeout_sec, err);
}

int sess_close(struct server *srv, struct err *err)
{
    return sess__close(srv, err);
}

void sess_shutdown(struct server *srv)
{
    sess__shutdown(srv);
}
