/* Placeholder for flash and the transport, to be replaced in wave 2 (issue 4). */
#include "session.h"

int sess_flash(struct server *srv, const cJSON *options, struct err *err)
{
    (void)srv, (void)options;
    return err_set(err, ERR_STATE, "flash: not built yet (issue 4)");
}

int sess_open(struct server *srv, const cJSON *options, struct sess_timeouts *out,
              struct err *err)
{
    (void)srv, (void)options, (void)out;
    return err_set(err, ERR_STATE, "open_transport: not built yet (issue 4)");
}

int sess_read(struct server *srv, uint8_t *buf, size_t n, double timeout_sec, size_t *got,
              struct err *err)
{
    (void)srv, (void)buf, (void)n, (void)timeout_sec, (void)got;
    return err_set(err, ERR_CLOSED, "transport not open");
}

int sess_write(struct server *srv, const uint8_t *data, size_t n, double timeout_sec,
               struct err *err)
{
    (void)srv, (void)data, (void)n, (void)timeout_sec;
    return err_set(err, ERR_CLOSED, "transport not open");
}

int sess_close(struct server *srv, struct err *err)
{
    (void)srv, (void)err;
    return 0;
}

void sess_shutdown(struct server *srv)
{
    (void)srv;
}
