/*
 * JSON-RPC 2.0 lines for the Project API: a bounded line reader, the envelope check, replies.
 * Bad input of every kind (not UTF-8, not JSON, too deep, too long, a wrong member) becomes an
 * error reply and the server keeps serving: TVM's reference server exits instead, which leaves
 * its client hanging (PROJECT_API.md section 6).
 */
#include "rpc.h"

#include "fs.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one: no
 * overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

void rpc_utf8_sanitize(char *s)
{
    size_t n = strlen(s);
    unsigned char *p = (unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0) {
            p[i++] = '?';
            continue;
        }
        i += k;
    }
}

int rpc_check_text(const char *text, size_t len, int max_depth, struct err *err)
{
    const unsigned char *p = (const unsigned char *)text;
    bool in_string = false, escaped = false;
    int depth = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t k = utf8_seq(p + i, len - i);
            if (k == 0)
                return err_set(err, RPC_PARSE_ERROR,
                               "request is not valid UTF-8: bad byte 0x%02x at byte %zu", c, i);
            i += k;
            escaped = false;
            continue;
        }
        if (c < 0x20) {
            if (in_string)
                return err_set(err, RPC_PARSE_ERROR,
                               "request has a raw control character 0x%02x inside a string at "
                               "byte %zu (JSON wants it escaped, e.g. \\u%04x)", c, i, c);
            if (c != '\t' && c != '\r' && c != '\n')
                return err_set(err, RPC_PARSE_ERROR,
                               "request has a control character 0x%02x at byte %zu", c, i);
        } else if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return err_set(err, RPC_PARSE_ERROR,
                               "request is nested deeper than %d levels at byte %zu", max_depth,
                               i);
        } else if (c == ']' || c == '}') {
            depth--;
        }
        i++;
    }
    return 0;
}

const char *rpc_type_name(const cJSON *v)
{
    if (!v)
        return "nothing";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "an invalid value";
}

void rpc_preview(const cJSON *v, char *out, size_t outsz)
{
    if (outsz == 0)
        return;
    char *s = v ? cJSON_PrintUnformatted(v) : NULL;
    const char *text = s ? s : (v ? "(out of memory)" : "nothing");
    size_t n = strlen(text);
    if (n < outsz) {
        memcpy(out, text, n + 1);
    } else if (outsz > 4) {
        memcpy(out, text, outsz - 4);
        memcpy(out + outsz - 4, "...", 4);
    } else {
        out[0] = '\0';
    }
    free(s);
}

static bool is_valid_id(const cJSON *id)
{
    if (cJSON_IsString(id) || cJSON_IsNull(id))
        return true;
    if (!cJSON_IsNumber(id))
        return false;
    double d = id->valuedouble;
    /* integers only, and only those a double holds exactly, so the echo is the same number */
    return d == floor(d) && fabs(d) <= 9007199254740992.0;
}

static const char *const envelope_members[] = {"jsonrpc", "method", "params", "id"};

int rpc_parse_request(const char *line, size_t len, struct rpc_request *req, struct err *err)
{
    memset(req, 0, sizeof *req);
    int rc = rpc_check_text(line, len, RPC_MAX_DEPTH, err);
    if (rc < 0)
        return rc;
    size_t first = 0;
    while (first < len && strchr(" \t\r\n", line[first]))
        first++;
    if (first == len)
        return err_set(err, RPC_PARSE_ERROR, "empty request line (want one JSON-RPC request)");
    const char *end = NULL;
    req->root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (!req->root) {
        size_t at = end ? (size_t)(end - line) : 0;
        return err_set(err, RPC_PARSE_ERROR,
                       "request is not valid JSON: syntax error near byte %zu", at);
    }
    for (size_t at = (size_t)(end - line); at < len; at++)
        if (!strchr(" \t\r\n", line[at]))
            return err_set(err, RPC_PARSE_ERROR,
                           "request has text after its JSON value, at byte %zu", at);
    cJSON *root = req->root;
    if (!cJSON_IsObject(root))
        return err_set(err, RPC_INVALID_REQUEST, "request must be a JSON object, not %s",
                       rpc_type_name(root));
    /* one pass counting the four names: comparing every pair of members, as this once did,
     * kept the server busy for hours on a line of a few million members */
    unsigned seen[4] = {0};
    for (const cJSON *a = root->child; a; a = a->next)
        for (size_t i = 0; i < 4; i++)
            if (strcmp(a->string, envelope_members[i]) == 0 && ++seen[i] == 2)
                return err_set(err, RPC_INVALID_REQUEST, "request has member \"%s\" twice",
                               a->string);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (!id)
        return err_set(err, RPC_INVALID_REQUEST,
                       "request has no \"id\" (notifications are not supported: every request "
                       "needs an id, an integer or a string)");
    if (!is_valid_id(id)) {
        char shown[64];
        rpc_preview(id, shown, sizeof shown);
        return err_set(err, RPC_INVALID_REQUEST,
                       "\"id\" must be an integer, a string or null, not %s (%s)",
                       rpc_type_name(id), shown);
    }
    req->id = id;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "jsonrpc");
    if (!cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0) {
        char shown[64];
        rpc_preview(v, shown, sizeof shown);
        return err_set(err, RPC_INVALID_REQUEST, "\"jsonrpc\" must be \"2.0\", not %s", shown);
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (!v)
        return err_set(err, RPC_INVALID_REQUEST, "request has no \"method\"");
    if (!cJSON_IsString(v))
        return err_set(err, RPC_INVALID_REQUEST, "\"method\" must be a string, not %s",
                       rpc_type_name(v));
    req->method = v->valuestring;
    for (const cJSON *m = root->child; m; m = m->next) {
        bool known = false;
        for (size_t i = 0; i < 4; i++)
            known = known || strcmp(m->string, envelope_members[i]) == 0;
        if (!known) {
            char name[64];
            snprintf(name, sizeof name, "%s", m->string);
            return err_set(err, RPC_INVALID_REQUEST,
                           "request has an unexpected member \"%s\" (allowed: jsonrpc, method, "
                           "params, id)", name);
        }
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "params");
    if (!v) {
        /* JSON-RPC lets a call without parameters omit them: treat it as {} */
        cJSON *empty = cJSON_CreateObject();
        if (!empty || !cJSON_AddItemToObject(root, "params", empty)) {
            cJSON_Delete(empty);
            return err_set(err, RPC_INTERNAL_ERROR, "out of memory");
        }
        v = empty;
    }
    if (!cJSON_IsObject(v))
        return err_set(err, RPC_INVALID_REQUEST,
                       "\"params\" must be an object (named parameters), not %s",
                       rpc_type_name(v));
    req->params = v;
    return 0;
}

void rpc_request_close(struct rpc_request *req)
{
    if (!req)
        return;
    cJSON_Delete(req->root);
    memset(req, 0, sizeof *req);
}

static cJSON *envelope(const cJSON *id)
{
    cJSON *reply = cJSON_CreateObject();
    cJSON *idc = id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull();
    if (!reply || !idc || !cJSON_AddStringToObject(reply, "jsonrpc", "2.0") ||
        !cJSON_AddItemToObject(reply, "id", idc)) {
        cJSON_Delete(idc);
        cJSON_Delete(reply);
        return NULL;
    }
    return reply;
}

cJSON *rpc_make_result(const cJSON *id, cJSON *result)
{
    cJSON *reply = envelope(id);
    if (!result)
        result = cJSON_CreateNull();
    if (!reply || !result || !cJSON_AddItemToObject(reply, "result", result)) {
        cJSON_Delete(result);
        cJSON_Delete(reply);
        return NULL;
    }
    return reply;
}

cJSON *rpc_make_error(const cJSON *id, int code, const char *message, cJSON *data)
{
    cJSON *reply = envelope(id);
    cJSON *error = cJSON_CreateObject();
    char *text = strdup(message ? message : "");
    if (!data)
        data = cJSON_CreateNull();
    if (!reply || !error || !text || !data)
        goto fail;
    rpc_utf8_sanitize(text);
    if (!cJSON_AddNumberToObject(error, "code", code) ||
        !cJSON_AddStringToObject(error, "message", text))
        goto fail;
    if (!cJSON_AddItemToObject(error, "data", data)) /* takes data only on success */
        goto fail;
    data = NULL;
    if (!cJSON_AddItemToObject(reply, "error", error))
        goto fail;
    free(text);
    return reply;
fail:
    free(text);
    cJSON_Delete(data);
    cJSON_Delete(error);
    cJSON_Delete(reply);
    return NULL;
}

int rpc_write_reply(int fd, const cJSON *reply, struct err *err)
{
    char *text = cJSON_PrintUnformatted(reply);
    if (!text)
        return err_set(err, -ENOMEM, "out of memory printing a reply");
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (!line) {
        free(text);
        return err_set(err, -ENOMEM, "out of memory printing a reply");
    }
    line[len] = '\n';
    line[len + 1] = '\0';
    int rc = fs_write_all(fd, line, len + 1, err);
    free(line);
    if (rc == ERR_CLOSED)
        return err_set(err, ERR_CLOSED, "the client closed its end of the reply pipe");
    return rc < 0 ? err_prefix(err, "writing replies to fd %d", fd) : 0;
}
