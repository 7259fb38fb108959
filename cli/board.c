/*
 * What `run` and `demo` share: a project's recorded facts (project.json), and an
 * aot_standalone board powered on through the project's server with the protocol session
 * on top (the Project API transport as the session's byte channel).
 */
#include "command.h"
#include "fs.h"
#include "jsonget.h"
#include "log.h"
#include "record.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* How long past the session's deadline the client still waits for a reply: the server's own
 * read timeout (the session's) should fire first and give the better message. */
#define CLIENT_GRACE_SEC 5.0
#define READ_MAX 4096 /* bytes per read_transport */

int cli__project_read(const char *dir, struct cli__project *p, struct err *err)
{
    struct project_record r;
    memset(p, 0, sizeof *p);
    int rc = record_read(&r, dir, err);
    if (rc == 0)
        rc = record_require(&r, (const char *const[]){"project_type", NULL}, err);
    snprintf(p->project_type, sizeof p->project_type, "%s", r.project_type);
    snprintf(p->board, sizeof p->board, "%s", r.board);
    snprintf(p->libc, sizeof p->libc, "%s", r.libc);
    record_close(&r);
    if (rc < 0)
        return rc;
    if (fs_join(p->built_elf, sizeof p->built_elf, dir, RECORD_BUILT_ELF, err) < 0 ||
        fs_join(p->flashed_elf, sizeof p->flashed_elf, dir, RECORD_FLASHED_ELF, err) < 0)
        return err->code;
    p->built = fs_exists(p->built_elf);
    p->flashed = fs_exists(p->flashed_elf);
    p->flashed_current = p->built && p->flashed && cli__same_file(p->built_elf, p->flashed_elf);
    return 0;
}

static int transport_read(void *ctx, void *buf, size_t n, double timeout_sec, size_t *got,
                          struct err *err)
{
    return cli_read_transport(ctx, buf, n < READ_MAX ? n : READ_MAX, timeout_sec, got, err);
}

static int transport_write(void *ctx, const void *data, size_t len, double timeout_sec,
                           struct err *err)
{
    return cli_write_transport(ctx, data, len, timeout_sec, err);
}

int cli__board_open(struct cli_client *client, cJSON *options, double deadline,
                    struct cli__board *b, struct err *err)
{
    memset(b, 0, sizeof *b);
    b->client = client;
    cli_client_set_deadline(client, deadline + CLIENT_GRACE_SEC);
    int rc = cli_open_transport(client, options, NULL, err);
    if (rc < 0)
        return rc;
    b->open = true;
    struct cli_aot_io io = {client, transport_read, transport_write};
    if ((rc = cli_aot_open(&io, deadline, &b->session, err)) < 0)
        return rc; /* the caller's cli__board_close powers the board off */
    return 0;
}

int cli__board_close(struct cli__board *b, int rc, struct err *err)
{
    cli_aot_close(b->session);
    b->session = NULL;
    if (!b->open)
        return rc;
    b->open = false;
    /* After a timeout the client refuses calls; closing the server stops the board then. */
    struct err close_err;
    err_clear(&close_err);
    int crc = cli_close_transport(b->client, &close_err);
    if (crc < 0 && rc == 0 && close_err.code != ERR_STATE) {
        *err = close_err;
        return crc;
    }
    if (crc < 0)
        log_debug("close_transport: %s", close_err.msg);
    return rc;
}
