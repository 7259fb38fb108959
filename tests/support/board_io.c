/*
 * A test's board UART through the server's link (see board_io.h): millisecond timeouts in,
 * sess__link's seconds out.
 */
#include "board_io.h"


static double seconds(int timeout_ms)
{
    return timeout_ms < 0 ? -1.0 : timeout_ms / 1000.0;
}

void board_io_open(struct board_io *b, struct emu *e)
{
    b->emu = e;
    sess__link_init(&b->link, 0);
    sess__link_attach(&b->link, emu_uart_fd(e), e);
}

void board_io_close(struct board_io *b)
{
    sess__link_close(&b->link);
    b->emu = NULL;
}

/* A link closed because QEMU ended says how it ended, as the server's session does. */
static int closed(struct board_io *b, int rc, struct err *err)
{
    char how[256];
    if (rc == ERR_CLOSED && b->link.dead && !emu_is_running(b->emu))
        err_set(err, ERR_CLOSED, "%s", emu_describe_exit(b->emu, how, sizeof how));
    return rc;
}

ssize_t board_io_read(struct board_io *b, void *buf, size_t cap, int timeout_ms,
                      struct err *err)
{
    size_t got = 0;
    int rc = sess__link_read(&b->link, buf, cap, seconds(timeout_ms), &got, err);
    return rc < 0 ? closed(b, rc, err) : (ssize_t)got;
}

int board_io_write(struct board_io *b, const void *data, size_t len, int timeout_ms,
                   struct err *err)
{
    return closed(b, sess__link_write(&b->link, data, len, seconds(timeout_ms), err), err);
}

int board_io_read_until(struct board_io *b, const char *delim, char *buf, size_t cap,
                        size_t *got, int timeout_ms, struct err *err)
{
    *got = 0;
    ssize_t n = sess__link_wait_for(&b->link, 0, delim, cap, seconds(timeout_ms), err);
    if (n < 0)
        return closed(b, (int)n, err);
    if ((size_t)n > cap)
        return err_set(err, ERR_INVALID, "no \"%s\" in the first %zu UART bytes", delim, cap);
    /* the bytes are buffered already: one read takes exactly them */
    return sess__link_read(&b->link, (uint8_t *)buf, (size_t)n, 0, got, err);
}

int board_io_banner(struct board_io *b, char *buf, size_t cap, size_t *got, int timeout_ms,
                    struct err *err)
{
    int rc = board_io_read_until(b, "\n", buf, cap, got, timeout_ms, err);
    if (rc < 0)
        return err_prefix(err, "waiting for the firmware's banner");
    return emu_wake(b->emu, err);
}
