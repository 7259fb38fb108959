/*
 * aot_standalone sessions through a real project server, and the host reference beside them
 * (aot_session.h). The line protocol is firmware/README.md's; transport bytes travel base85 in
 * read_transport / write_transport as TVM sends them (PROJECT_API.md).
 */
#include "aot_session.h"

#include "b85.h"
#include "mono.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define END_MS 10000 /* a server given EOF must be gone by then */

static const char *reply_text(const cJSON *reply, const char *a, const char *b)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(e, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsString(x) ? x->valuestring : "";
}

/* Calls method with params (taken) and returns the result object in *result (owned by *reply,
 * which the caller frees). A JSON-RPC error becomes ERR_TIMEOUT / ERR_CLOSED for TVM's two
 * transport errors, ERR_TOOL otherwise, with the traceback in err->detail. */
static int call(struct rpc_client *c, const char *method, cJSON *params, int timeout_ms,
                cJSON **reply, const cJSON **result, struct err *err)
{
    *reply = NULL;
    int rc = rpc_client_call(c, method, params, timeout_ms, reply, err);
    if (rc < 0)
        return err_prefix(err, "%s", method);
    *result = cJSON_GetObjectItemCaseSensitive(*reply, "result");
    if (*result)
        return 0;
    const char *msg = reply_text(*reply, "message", NULL);
    int code = !strcmp(msg, "IoTimeoutError")         ? ERR_TIMEOUT
               : !strcmp(msg, "TransportClosedError") ? ERR_CLOSED
                                                      : ERR_TOOL;
    rc = err_set(err, code, "%s: %s", method, msg);
    const char *tb = reply_text(*reply, "data", "traceback");
    err_set_detail(err, tb, strlen(tb));
    return rc;
}

int aot_generate(const char *template_dir, const char *mlf_tar, const char *project_dir,
                 cJSON *options, struct err *err)
{
    struct aot_session s;
    cJSON *params = cJSON_CreateObject(), *reply = NULL;
    const cJSON *result = NULL;
    cJSON_AddStringToObject(params, "model_library_format_path", mlf_tar);
    cJSON_AddStringToObject(params, "standalone_crt_dir", "");
    cJSON_AddStringToObject(params, "project_dir", project_dir);
    cJSON_AddItemToObject(params, "options", options);
    int rc = aot_session_start(&s, template_dir, err);
    if (rc == 0)
        rc = call(&s.c, "generate_project", params, AOT_CALL_MS, &reply, &result, err);
    else
        cJSON_Delete(params);
    cJSON_Delete(reply);
    if (rc < 0) {
        aot_session_kill(&s);
        return rc;
    }
    return aot_session_end(&s, err);
}

int aot_session_start(struct aot_session *s, const char *project_dir, struct err *err)
{
    memset(s, 0, sizeof *s);
    s->c.pid = -1;
    int rc = rpc_client_spawn(&s->c, project_dir, false, err);
    if (rc < 0)
        return err_prefix(err, "starting the server in %s", project_dir);
    s->spawned = true;
    return 0;
}

int aot_session_call(struct aot_session *s, const char *method, cJSON *options,
                     struct err *err)
{
    cJSON *params = cJSON_CreateObject(), *reply = NULL;
    const cJSON *result = NULL;
    if (strcmp(method, "close_transport") == 0) /* it takes no parameters at all */
        cJSON_Delete(options);
    else
        cJSON_AddItemToObject(params, "options", options ? options : cJSON_CreateObject());
    if (strcmp(method, "open_transport") == 0)
        s->len = 0; /* a new boot: nothing of the last one is pending any more */
    int rc = call(&s->c, method, params, AOT_CALL_MS, &reply, &result, err);
    cJSON_Delete(reply);
    return rc;
}

/* One read_transport of up to the free room of s->pending, waiting at most timeout_ms. */
static int read_some(struct aot_session *s, long timeout_ms, struct err *err)
{
    size_t room = sizeof s->pending - s->len;
    cJSON *params = cJSON_CreateObject(), *reply = NULL;
    const cJSON *result = NULL;
    cJSON_AddNumberToObject(params, "n", (double)room);
    cJSON_AddNumberToObject(params, "timeout_sec", (double)timeout_ms / 1000.0);
    int rc = call(&s->c, "read_transport", params, (int)timeout_ms + AOT_CALL_MS, &reply,
                  &result, err);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(result, "data");
    if (rc == 0 && !cJSON_IsString(data))
        rc = err_set(err, ERR_INVALID, "read_transport: the result has no \"data\" string");
    if (rc == 0) {
        size_t n = strlen(data->valuestring), got = 0;
        uint8_t *tmp = malloc(b85_decoded_len(n) + 1);
        if (!tmp)
            rc = err_set(err, -ENOMEM, "read_transport: out of memory");
        else if ((rc = b85_decode(data->valuestring, n, tmp, &got, err)) < 0)
            err_prefix(err, "read_transport's data");
        else if (got == 0 || got > room)
            rc = err_set(err, ERR_INVALID, "read_transport returned %zu bytes for n=%zu", got,
                         room);
        if (rc == 0) {
            memcpy(s->pending + s->len, tmp, got);
            s->len += got;
        }
        free(tmp);
    }
    cJSON_Delete(reply);
    return rc;
}

int aot_session_read_line(struct aot_session *s, int timeout_ms, char *line, size_t cap,
                          struct err *err)
{
    long deadline = mono_now_ms() + timeout_ms;
    for (;;) {
        char *nl = memchr(s->pending, '\n', s->len);
        if (nl) {
            size_t n = (size_t)(nl - s->pending);
            if (n + 1 > cap)
                return err_set(err, ERR_INVALID, "a line of %zu bytes does not fit in %zu", n,
                               cap);
            memcpy(line, s->pending, n);
            line[n] = '\0';
            s->len -= n + 1;
            memmove(s->pending, nl + 1, s->len);
            return 0;
        }
        if (s->len == sizeof s->pending)
            return err_set(err, ERR_INVALID, "no line end in %zu bytes from the board", s->len);
        long left = deadline - mono_now_ms();
        if (left <= 0)
            return err_set(err, ERR_TIMEOUT, "no whole line from the board in %d ms (%zu bytes "
                           "pending: \"%.*s\")", timeout_ms, s->len, (int)s->len, s->pending);
        int rc = read_some(s, left, err);
        if (rc < 0 && rc != ERR_TIMEOUT)
            return rc;
    }
}

int aot_session_write(struct aot_session *s, const char *text, struct err *err)
{
    size_t n = strlen(text);
    char *b85 = malloc(b85_encoded_len(n) + 1);
    if (!b85)
        return err_set(err, -ENOMEM, "write_transport: out of memory");
    b85[b85_encode(text, n, b85)] = '\0';
    cJSON *params = cJSON_CreateObject(), *reply = NULL;
    const cJSON *result = NULL;
    cJSON_AddStringToObject(params, "data", b85);
    cJSON_AddNumberToObject(params, "timeout_sec", 30);
    free(b85);
    int rc = call(&s->c, "write_transport", params, 30000 + AOT_CALL_MS, &reply, &result, err);
    cJSON_Delete(reply);
    return rc;
}

int aot_session_command(struct aot_session *s, const char *cmd, int timeout_ms, char *reply,
                        size_t cap, struct err *err)
{
    bool run = strcmp(cmd, "run%") == 0, info = strcmp(cmd, "info%") == 0;
    long deadline = mono_now_ms() + timeout_ms;
    size_t used = 0;
    char line[AOT_HEX_MAX + 256];
    int rc = aot_session_write(s, cmd, err);
    if (cap == 0)
        return err_set(err, ERR_INVALID, "%s: no room for the reply", cmd);
    reply[0] = '\0';
    while (rc == 0) {
        long left = deadline - mono_now_ms();
        rc = aot_session_read_line(s, left > 0 ? (int)left : 0, line, sizeof line, err);
        if (rc < 0)
            break;
        size_t n = strlen(line);
        if (used + n + 2 > cap)
            return err_set(err, ERR_INVALID, "%s: the reply does not fit in %zu bytes", cmd, cap);
        if (used)
            reply[used++] = '\n';
        memcpy(reply + used, line, n + 1);
        used += n;
        if ((!run && !info) || !strcmp(line, "done") || (info && !strncmp(line, "error:", 6)))
            return 0;
    }
    return err_prefix(err, "%s (reply so far: \"%s\")", cmd, reply);
}

int aot_session_end(struct aot_session *s, struct err *err)
{
    if (!s->spawned)
        return 0;
    int status = -1;
    s->spawned = false;
    int rc = rpc_client_close(&s->c, END_MS, &status, err);
    if (rc < 0)
        return err_prefix(err, "ending the server with EOF");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return err_set(err, ERR_TOOL, "the server ended with wait status 0x%x at EOF, not exit "
                       "status 0", (unsigned)status);
    return 0;
}

void aot_session_kill(struct aot_session *s)
{
    if (s->spawned)
        rpc_client_kill(&s->c);
    s->spawned = false;
}

long aot_session_pid(const struct aot_session *s)
{
    return s->spawned ? (long)s->c.pid : -1;
}

/* Parses the ':'-separated key=value fields after "stats:" (unknown keys are skipped). */
static int parse_stats(const char *fields, struct aot_run *r, struct err *err)
{
    static const char *const keys[] = {"ticks", "hz", "ns", "instret", "rc", "workspace"};
    uint64_t *dest[] = {&r->ticks, &r->hz, &r->ns, &r->instret, NULL, &r->workspace};
    bool seen[6] = {false};
    const char *p = fields;
    while (*p) {
        const char *eq = strchr(p, '='), *end = strchr(p, ':');
        if (!end)
            end = p + strlen(p);
        if (!eq || eq > end)
            return err_set(err, ERR_INVALID, "stats: field \"%.*s\" has no '='", (int)(end - p),
                           p);
        for (int k = 0; k < 6; k++) {
            if (strlen(keys[k]) != (size_t)(eq - p) || strncmp(p, keys[k], (size_t)(eq - p)))
                continue;
            char *stop = NULL;
            errno = 0;
            if (k == 4) {
                r->rc = strtol(eq + 1, &stop, 10);
            } else {
                if (eq[1] == '-')
                    return err_set(err, ERR_INVALID, "stats: %s is negative", keys[k]);
                *dest[k] = strtoull(eq + 1, &stop, 10);
            }
            if (errno || stop != end || stop == eq + 1)
                return err_set(err, ERR_INVALID, "stats: %s=\"%.*s\" is not a number", keys[k],
                               (int)(end - eq - 1), eq + 1);
            seen[k] = true;
        }
        p = *end ? end + 1 : end;
    }
    for (int k = 0; k < 6; k++)
        if (!seen[k])
            return err_set(err, ERR_INVALID, "stats: no %s", keys[k]);
    r->have_stats = true;
    return 0;
}

/* "output:<i>:<name>:<dtype>:<hex>": the name may hold ':', so the index comes from the front
 * and the hex from the back (firmware/README.md). */
static int parse_output(const char *line, struct aot_run *r, struct err *err)
{
    char *stop = NULL;
    long i = strtol(line + 7, &stop, 10);
    const char *hex = strrchr(line, ':') + 1;
    if (stop == line + 7 || *stop != ':' || i != r->n_outputs || i >= AOT_MAX_OUTPUTS)
        return err_set(err, ERR_INVALID, "\"%.40s...\": want output index %d", line,
                       r->n_outputs);
    if (strlen(hex) >= AOT_HEX_MAX || strlen(line) >= sizeof r->output_line[0])
        return err_set(err, ERR_INVALID, "output %ld: too long for this test", i);
    snprintf(r->output_line[i], sizeof r->output_line[i], "%s", line);
    snprintf(r->output_hex[i], sizeof r->output_hex[i], "%s", hex);
    r->n_outputs++;
    return 0;
}

int aot_parse_run(const char *reply, struct aot_run *r, struct err *err)
{
    memset(r, 0, sizeof *r);
    bool done = false;
    const char *p = reply;
    int rc = 0;
    char line[AOT_HEX_MAX + 256];
    while (rc == 0 && *p && !done) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n >= sizeof line)
            return err_set(err, ERR_INVALID, "run%%: a line of %zu bytes is too long", n);
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl ? nl + 1 : p + n;
        if (!strncmp(line, "output:", 7))
            rc = parse_output(line, r, err);
        else if (!strncmp(line, "error:", 6))
            snprintf(r->error_line, sizeof r->error_line, "%.*s",
                     (int)sizeof r->error_line - 1, line);
        else if (!strncmp(line, "stats:", 6))
            rc = parse_stats(line + 6, r, err);
        else if (!strcmp(line, "done"))
            done = true;
        else if (!strncmp(line, "op:", 3)) { /* per-operator counts: cli/aot.c parses them */
            size_t used = strlen(r->ops_text);
            snprintf(r->ops_text + used, sizeof r->ops_text - used, "%s\n", line);
            r->n_ops++;
        }
        else
            rc = err_set(err, ERR_INVALID, "run%%: unexpected line \"%.80s\"", line);
    }
    if (rc == 0 && (!r->have_stats || !done))
        rc = err_set(err, ERR_INVALID, "run%%: the reply lacks %s: \"%.200s\"",
                     r->have_stats ? "\"done\"" : "a stats line", reply);
    return rc;
}

/* ---- the host reference ---- */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Feeds input to fd_in and collects fd_out into *out until EOF or the deadline. */
static int exchange(int *fd_in, int *fd_out, const char *input, long deadline, char **out,
                    size_t *len, struct err *err)
{
    size_t sent = 0, inlen = strlen(input), cap = 4096;
    *len = 0;
    if (!(*out = malloc(cap)))
        return err_set(err, -ENOMEM, "out of memory");
    if (inlen == 0)
        close_fd(fd_in);
    while (*fd_out >= 0) {
        struct pollfd pf[2] = {{*fd_out, POLLIN, 0}, {*fd_in, POLLOUT, 0}};
        long left = deadline - mono_now_ms();
        if (left <= 0)
            return err_set(err, ERR_TIMEOUT, "no end of output in time (%zu bytes so far)",
                           *len);
        if (poll(pf, *fd_in >= 0 ? 2 : 1, (int)left) < 0) {
            if (errno == EINTR)
                continue;
            return err_errno(err, "poll");
        }
        if (*fd_in >= 0 && pf[1].revents) {
            ssize_t w = write(*fd_in, input + sent, inlen - sent);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                close_fd(fd_in); /* it stopped reading: its output tells why */
            else if (w > 0 && (sent += (size_t)w) == inlen)
                close_fd(fd_in);
        }
        if (pf[0].revents) {
            if (*len + 1024 > cap) {
                char *bigger = realloc(*out, cap *= 2);
                if (!bigger)
                    return err_set(err, -ENOMEM, "out of memory");
                *out = bigger;
            }
            ssize_t r = read(*fd_out, *out + *len, cap - *len - 1);
            if (r == 0)
                close_fd(fd_out);
            else if (r < 0 && errno != EINTR)
                return err_errno(err, "reading its output");
            else if (r > 0)
                *len += (size_t)r;
        }
    }
    (*out)[*len] = '\0';
    return 0;
}

int aot_host_run(const char *program, const char *input, int timeout_ms, char **out,
                 struct err *err)
{
    int in[2] = {-1, -1}, outp[2] = {-1, -1}, ep[2] = {-1, -1}, rc = 0, status = 0;
    long deadline = mono_now_ms() + timeout_ms;
    size_t len = 0;
    pid_t pid = -1;
    *out = NULL;
    signal(SIGPIPE, SIG_IGN); /* a dead child must fail a write, not kill the test */
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(outp, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
        rc = err_errno(err, "%s: pipe", program);
        goto out;
    }
    if ((pid = fork()) < 0) {
        rc = err_errno(err, "%s: fork", program);
        goto out;
    }
    if (pid == 0) { /* async-signal-safe calls only */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (dup2(in[0], 0) >= 0 && dup2(outp[1], 1) >= 0)
            execl(program, program, (char *)NULL);
        int e = errno;
        (void)!write(ep[1], &e, sizeof e);
        _exit(127);
    }
    close_fd(&in[0]);
    close_fd(&outp[1]);
    close_fd(&ep[1]);
    int child_errno = 0;
    if (read(ep[0], &child_errno, sizeof child_errno) == (ssize_t)sizeof child_errno) {
        errno = child_errno;
        rc = err_errno(err, "%s: exec", program);
        goto out;
    }
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    if ((rc = exchange(&in[1], &outp[0], input, deadline, out, &len, err)) < 0) {
        err_prefix(err, "%s", program);
        goto out;
    }
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (mono_now_ms() > deadline) {
            rc = err_set(err, ERR_TIMEOUT, "%s: did not exit within %d ms of EOF", program,
                         timeout_ms);
            goto out;
        }
        usleep(2000);
    }
    pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        rc = err_set(err, ERR_TOOL, "%s: ended with wait status 0x%x", program,
                     (unsigned)status);
out:
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    close_fd(&in[0]);
    close_fd(&in[1]);
    close_fd(&outp[0]);
    close_fd(&outp[1]);
    close_fd(&ep[0]);
    close_fd(&ep[1]);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}
