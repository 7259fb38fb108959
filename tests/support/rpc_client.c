/*
 * The tests' Project API client (rpc_client.h). Spawning follows TVM's client: pipes whose
 * server ends alone cross exec, cwd the project directory, the launcher given the ignored .py
 * path first. Everything else is made so a broken server fails a test instead of hanging it:
 * every read has a deadline, every wait is bounded and ends in SIGKILL.
 */
#include "rpc_client.h"

#include "mono.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int rpc_client_spawn(struct rpc_client *c, const char *dir, bool debug, struct err *err)
{
    int req[2] = {-1, -1}, rep[2] = {-1, -1}, status[2] = {-1, -1};
    int rc = 0;
    memset(c, 0, sizeof *c);
    c->pid = -1;
    c->to_server = c->from_server = -1;
    c->next_id = 1;
    char launcher[PATH_MAX], script[PATH_MAX], rfd[16], wfd[16];
    snprintf(launcher, sizeof launcher, "%s/launch_microtvm_api_server.sh", dir);
    snprintf(script, sizeof script, "%s/microtvm_api_server.py", dir);
    if (access(launcher, X_OK) != 0)
        return err_errno(err, "%s", launcher);
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(req, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0 || pipe2(status, O_CLOEXEC) < 0) {
        rc = err_errno(err, "pipe");
        goto fail;
    }
    snprintf(rfd, sizeof rfd, "%d", req[0]);
    snprintf(wfd, sizeof wfd, "%d", rep[1]);
    char *argv[] = {launcher, script, "--read-fd", rfd, "--write-fd", wfd,
                    debug ? "--debug" : NULL, NULL};
    pid_t pid = fork();
    if (pid < 0) {
        rc = err_errno(err, "fork");
        goto fail;
    }
    if (pid == 0) {
        /* only async-signal-safe calls from here to exec */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGPIPE, SIG_DFL);
        int e = 0;
        if (chdir(dir) < 0 || fcntl(req[0], F_SETFD, 0) < 0 || fcntl(rep[1], F_SETFD, 0) < 0)
            e = errno;
        else {
            execv(launcher, argv);
            e = errno;
        }
        ssize_t ignored = write(status[1], &e, sizeof e);
        (void)ignored;
        _exit(127);
    }
    c->pid = pid;
    close_fd(&req[0]);
    close_fd(&rep[1]);
    close_fd(&status[1]);
    int child_errno = 0;
    ssize_t n;
    while ((n = read(status[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
        ;
    close_fd(&status[0]);
    if (n > 0) {
        errno = child_errno;
        rc = err_errno(err, "starting %s", launcher);
        waitpid(pid, NULL, 0);
        c->pid = -1;
        goto fail;
    }
    c->to_server = req[1];
    c->from_server = rep[0];
    c->server_read_fd = atoi(rfd);
    c->server_write_fd = atoi(wfd);
    return 0;
fail:
    close_fd(&req[0]), close_fd(&req[1]), close_fd(&rep[0]), close_fd(&rep[1]);
    close_fd(&status[0]), close_fd(&status[1]);
    return rc;
}

int rpc_client_send(struct rpc_client *c, const void *bytes, size_t len, struct err *err)
{
    const char *p = bytes;
    if (c->to_server < 0)
        return err_set(err, ERR_CLOSED, "the request pipe is closed");
    while (len > 0) {
        ssize_t n = write(c->to_server, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EPIPE)
                return err_set(err, ERR_CLOSED, "the server no longer reads requests");
            return err_errno(err, "writing a request");
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int rpc_client_send_line(struct rpc_client *c, const char *line, struct err *err)
{
    size_t n = strlen(line);
    char *buf = malloc(n + 1);
    if (!buf)
        return err_set(err, -ENOMEM, "out of memory");
    memcpy(buf, line, n);
    buf[n] = '\n';
    int rc = rpc_client_send(c, buf, n + 1, err);
    free(buf);
    return rc;
}

int rpc_client_read_line(struct rpc_client *c, int timeout_ms, char **line, struct err *err)
{
    long deadline = timeout_ms < 0 ? -1 : mono_now_ms() + timeout_ms;
    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
        if (nl) {
            size_t n = (size_t)(nl - c->buf);
            char *out = malloc(n + 1);
            if (!out)
                return err_set(err, -ENOMEM, "out of memory");
            memcpy(out, c->buf, n);
            out[n] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            *line = out;
            return 0;
        }
        if (c->from_server < 0)
            return err_set(err, ERR_CLOSED, "the reply pipe is closed");
        int wait = -1;
        if (deadline >= 0) {
            long left = deadline - mono_now_ms();
            if (left <= 0)
                return err_set(err, ERR_TIMEOUT, "no reply line within %d ms", timeout_ms);
            wait = (int)left;
        }
        struct pollfd p = {.fd = c->from_server, .events = POLLIN};
        int r = poll(&p, 1, wait);
        if (r < 0 && errno != EINTR)
            return err_errno(err, "poll");
        if (r <= 0)
            continue;
        if (c->cap - c->len < 65536) {
            size_t cap = c->cap ? c->cap * 2 : 131072;
            char *nb = realloc(c->buf, cap);
            if (!nb)
                return err_set(err, -ENOMEM, "out of memory");
            c->buf = nb;
            c->cap = cap;
        }
        ssize_t n = read(c->from_server, c->buf + c->len, c->cap - c->len);
        if (n < 0 && errno != EINTR)
            return err_errno(err, "reading a reply");
        if (n == 0)
            return err_set(err, ERR_CLOSED, "the server closed the reply pipe%s",
                           c->len ? " in the middle of a line" : "");
        if (n > 0)
            c->len += (size_t)n;
    }
}

int rpc_client_read_reply(struct rpc_client *c, int timeout_ms, cJSON **reply, struct err *err)
{
    char *line = NULL;
    int rc = rpc_client_read_line(c, timeout_ms, &line, err);
    if (rc < 0)
        return rc;
    *reply = cJSON_Parse(line);
    if (!*reply)
        rc = err_set(err, ERR_INVALID, "the reply is not JSON: %.200s", line);
    free(line);
    return rc;
}

int rpc_client_call(struct rpc_client *c, const char *method, cJSON *params, int timeout_ms,
                    cJSON **reply, struct err *err)
{
    int rc = 0;
    char *text = NULL;
    long id = c->next_id++;
    cJSON *req = cJSON_CreateObject();
    if (!params)
        params = cJSON_CreateObject();
    if (!req || !params || !cJSON_AddStringToObject(req, "jsonrpc", "2.0") ||
        !cJSON_AddStringToObject(req, "method", method) ||
        !cJSON_AddItemToObject(req, "params", params)) {
        cJSON_Delete(params);
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (!cJSON_AddNumberToObject(req, "id", (double)id) || !(text = cJSON_PrintUnformatted(req))) {
        rc = err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = rpc_client_send_line(c, text, err)) < 0 ||
        (rc = rpc_client_read_reply(c, timeout_ms, reply, err)) < 0)
        goto out;
    const cJSON *got = cJSON_GetObjectItemCaseSensitive(*reply, "id");
    if (!cJSON_IsNumber(got) || got->valuedouble != (double)id) {
        cJSON_Delete(*reply);
        *reply = NULL;
        rc = err_set(err, ERR_INVALID, "%s: the reply's id is not %ld", method, id);
    }
out:
    free(text);
    cJSON_Delete(req);
    return rc;
}

void rpc_client_close_input(struct rpc_client *c)
{
    close_fd(&c->to_server);
}

int rpc_client_wait(struct rpc_client *c, int timeout_ms, int *status, struct err *err)
{
    if (c->pid < 0)
        return err_set(err, ERR_STATE, "the server was already reaped");
    long deadline = mono_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    int st = 0;
    for (;;) {
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid)
            break;
        if (r < 0 && errno != EINTR)
            return err_errno(err, "waitpid %d", (int)c->pid);
        if (mono_now_ms() >= deadline) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            c->pid = -1;
            return err_set(err, ERR_TIMEOUT, "the server did not exit within %d ms; killed it",
                           timeout_ms);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    c->pid = -1;
    if (status)
        *status = st;
    return 0;
}

int rpc_client_close(struct rpc_client *c, int timeout_ms, int *status, struct err *err)
{
    rpc_client_close_input(c);
    int rc = c->pid >= 0 ? rpc_client_wait(c, timeout_ms, status, err) : 0;
    rpc_client_kill(c);
    return rc;
}

void rpc_client_kill(struct rpc_client *c)
{
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
    }
    c->pid = -1;
    close_fd(&c->to_server);
    close_fd(&c->from_server);
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

long rpc_client_proc_kb(const struct rpc_client *c, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)c->pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}
