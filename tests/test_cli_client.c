/*
 * The Project API client (cli/client.h) against a fake server: this test program itself,
 * started through a launch_microtvm_api_server.sh in a temporary directory with
 * "--fake-server MODE". The fake records how it was launched (argv, cwd, open fds) and answers
 * in ways a real server must not, so every error path of the client can be reached.
 */
#include "asserts.h"
#include "b85.h"
#include "client.h"
#include "runner.h"
#include "mono.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/mtq-test-cli-client-XXXXXX";
static char self[PATH_MAX];

/* ---- the fake server (runs in the child) ---- */

static void reply(int fd, cJSON *r)
{
    char *text = cJSON_PrintUnformatted(r);
    size_t len = strlen(text);
    text[len] = '\n';
    if (write(fd, text, len + 1) != (ssize_t)len + 1)
        _exit(9);
    free(text);
    cJSON_Delete(r);
}

static cJSON *envelope(double id)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "jsonrpc", "2.0");
    cJSON_AddNumberToObject(r, "id", id);
    return r;
}

static cJSON *error_reply(double id, int code, const char *message, const char *traceback)
{
    cJSON *r = envelope(id), *e = cJSON_AddObjectToObject(r, "error");
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    if (traceback)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "data"), "traceback", traceback);
    else
        cJSON_AddNullToObject(e, "data");
    return r;
}

/* Writes argv, cwd and the open fds to launch.txt in the cwd. */
static void record_launch(int argc, char **argv)
{
    FILE *f = fopen("launch.txt", "w");
    char cwd[PATH_MAX];
    for (int i = 3; i < argc; i++) /* after self, --fake-server, MODE */
        fprintf(f, "arg %s\n", argv[i]);
    fprintf(f, "cwd %s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d) && atoi(de->d_name) != fileno(f))
            fprintf(f, "fd %s\n", de->d_name);
    closedir(d);
    struct stat o, e;
    fstat(1, &o);
    fstat(2, &e);
    fprintf(f, "stdout_is_stderr %d\n", o.st_dev == e.st_dev && o.st_ino == e.st_ino);
    fclose(f);
}

static int fake_server(int argc, char **argv)
{
    const char *mode = argv[2];
    int rfd = -1, wfd = -1;
    for (int i = 3; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--read-fd") == 0)
            rfd = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--write-fd") == 0)
            wfd = atoi(argv[i + 1]);
    }
    record_launch(argc, argv);
    FILE *in = fdopen(rfd, "r");
    char *line = NULL;
    size_t cap = 0;
    unsigned char stored[1024];
    size_t n_stored = 0;
    while (getline(&line, &cap, in) > 0) {
        cJSON *req = cJSON_Parse(line);
        const char *method = cJSON_GetObjectItem(req, "method")->valuestring;
        const cJSON *params = cJSON_GetObjectItem(req, "params");
        double id = cJSON_GetObjectItem(req, "id")->valuedouble;
        if (strcmp(method, "server_info_query") == 0) {
            cJSON *r = envelope(id), *res = cJSON_AddObjectToObject(r, "result");
            cJSON_AddStringToObject(res, "platform_name", "fake");
            cJSON_AddBoolToObject(res, "is_template", 1);
            cJSON_AddStringToObject(res, "model_library_format_path", "");
            cJSON *opts = cJSON_AddArrayToObject(res, "project_options");
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", "board");
            cJSON_AddItemToArray(opts, o);
            cJSON_AddNumberToObject(res, "protocol_version", strcmp(mode, "v2") ? 1 : 2);
            reply(wfd, r);
        } else if (strcmp(method, "echo_id") == 0) {
            cJSON *r = envelope(id);
            cJSON_AddNumberToObject(r, "result", id);
            reply(wfd, r);
        } else if (strcmp(method, "build") == 0) { /* answers with the options it got */
            cJSON *r = envelope(id);
            cJSON_AddItemToObject(r, "result",
                                  cJSON_Duplicate(cJSON_GetObjectItem(params, "options"), 1));
            reply(wfd, r);
        } else if (strcmp(method, "fail") == 0) {
            reply(wfd, error_reply(id, -32000, "calling method fail",
                                   "the board is on fire\ncommand: x\nlast line"));
        } else if (strcmp(method, "params") == 0) {
            reply(wfd, error_reply(id, -32602, "params: parameter \"n\" must be an integer",
                                   NULL));
        } else if (strcmp(method, "closed") == 0) {
            reply(wfd, error_reply(id, -32000, "TransportClosedError", NULL));
        } else if (strcmp(method, "bad_id") == 0) {
            cJSON *r = envelope(id + 1);
            cJSON_AddNullToObject(r, "result");
            reply(wfd, r);
        } else if (strcmp(method, "garbage") == 0) {
            if (write(wfd, "this is not json\n", 17) != 17)
                _exit(9);
        } else if (strcmp(method, "die") == 0) {
            _exit(3);
        } else if (strcmp(method, "write_transport") == 0) {
            const char *t = cJSON_GetObjectItem(params, "data")->valuestring;
            b85_decode(t, strlen(t), stored, &n_stored, NULL);
            cJSON *r = envelope(id);
            cJSON_AddNullToObject(r, "result");
            reply(wfd, r);
        } else if (strcmp(method, "read_transport") == 0) {
            size_t n = (size_t)cJSON_GetObjectItem(params, "n")->valuedouble;
            if (n_stored == 0) {
                reply(wfd, error_reply(id, -32000, "IoTimeoutError", NULL));
            } else {
                size_t k = n < n_stored ? n : n_stored;
                char text[2048];
                text[b85_encode(stored, k, text)] = '\0';
                memmove(stored, stored + k, n_stored - k);
                n_stored -= k;
                cJSON *r = envelope(id), *res = cJSON_AddObjectToObject(r, "result");
                cJSON_AddStringToObject(res, "data", text);
                reply(wfd, r);
            }
        } else {
            reply(wfd, error_reply(id, -32601, "no such method", NULL));
        }
        cJSON_Delete(req);
    }
    free(line);
    if (strcmp(mode, "linger") == 0)
        sleep(60); /* a server that ignores EOF: the client must kill it */
    return strcmp(mode, "exit5") == 0 ? 5 : 0;
}

/* ---- test fixtures ---- */

static int suite_init(void)
{
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0 || !mkdtemp(tmpdir))
        return -1;
    self[n] = '\0';
    return 0;
}

static int suite_clean(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

/* Makes <tmpdir>/<name>/ with a launcher that runs the fake in mode; returns the dir. */
static const char *fake_dir(const char *name, const char *mode)
{
    static char dir[PATH_MAX];
    char path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, name);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/launch_microtvm_api_server.sh", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "#!/bin/sh\nexec '%s' --fake-server %s \"$@\"\n", self, mode);
    fclose(f);
    chmod(path, 0755);
    return dir;
}

static struct cli_client *start(const char *name, const char *mode)
{
    struct cli_client *c = NULL;
    struct err e;
    int rc = cli_client_start(fake_dir(name, mode), false, &c, &e);
    if (rc < 0)
        fprintf(stderr, "\nstart: %s\n", e.msg);
    ASSERT_EQ_FATAL(rc, 0);
    return c;
}

static bool process_gone(int pid)
{
    return kill(pid, 0) < 0 && errno == ESRCH;
}

/* ---- tests ---- */

static void test_the_server_is_launched_as_tvm_launches_it(void)
{
    struct cli_client *c = NULL;
    struct err e;
    const char *dir = fake_dir("launch", "plain");
    ASSERT_OK_FATAL(cli_client_start(dir, true, &c, &e), &e);
    cJSON *info = NULL;
    ASSERT_OK(cli_server_info_query(c, &info, &e), &e); /* the fake has recorded by now */
    cJSON_Delete(info);
    ASSERT_OK(cli_client_close(c, 5000, &e), &e);

    char path[PATH_MAX + 16], text[4096] = "", want[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/launch.txt", dir);
    FILE *f = fopen(path, "r");
    ASSERT_NOT_NULL_FATAL(f);
    text[fread(text, 1, sizeof text - 1, f)] = '\0';
    fclose(f);
    int rfd = -1, wfd = -1;
    snprintf(want, sizeof want, "arg %s/microtvm_api_server.py\narg --read-fd\narg ", dir);
    ASSERT_EQ(strncmp(text, want, strlen(want)), 0);
    const char *p = strstr(text, "arg --read-fd\narg ");
    ASSERT_TRUE_FATAL(p && sscanf(p, "arg --read-fd\narg %d\narg --write-fd\narg %d", &rfd, &wfd)
                      == 2);
    ASSERT_STR_CONTAINS(text, "arg --debug\ncwd ");
    char real[PATH_MAX];
    ASSERT_NOT_NULL_FATAL(realpath(dir, real));
    snprintf(want, sizeof want, "cwd %s\n", real);
    ASSERT_STR_CONTAINS(text, want);
    /* exactly stdin, stdout, stderr and the two pipe ends: the client's own ends are closed */
    int fds = 0;
    for (const char *q = strstr(text, "fd "); q; q = strstr(q + 1, "\nfd ")) {
        int fd = atoi(q + (q[0] == '\n' ? 4 : 3));
        ASSERT_TRUE(fd <= 2 || fd == rfd || fd == wfd);
        fds++;
    }
    ASSERT_EQ(fds, 5);
    if (fds != 5)
        fprintf(stderr, "\n%s", text);
    ASSERT_STR_CONTAINS(text, "stdout_is_stderr 1");
}

static void test_ids_count_from_1_and_results_come_back(void)
{
    struct cli_client *c = start("ids", "plain");
    struct err e;
    for (int want = 1; want <= 3; want++) {
        cJSON *r = NULL;
        ASSERT_OK(cli_client_call(c, "echo_id", NULL, &r, &e), &e);
        ASSERT_TRUE(cJSON_IsNumber(r) && r->valueint == want);
        cJSON_Delete(r);
    }
    /* build sends {"options": ...} with exactly what was given */
    cJSON *opts = cJSON_CreateObject(), *r = NULL;
    cJSON_AddStringToObject(opts, "libc", "newlib");
    ASSERT_OK(cli_client_call(c, "build", cJSON_CreateRaw("{\"options\":{\"a\":\"1\"}}"),
                              NULL, &e), &e);
    cJSON *params = cJSON_CreateObject();
    cJSON_AddItemToObject(params, "options", opts);
    ASSERT_OK(cli_client_call(c, "build", params, &r, &e), &e);
    ASSERT_EQ(cJSON_GetArraySize(r), 1);
    ASSERT_STR_EQ(cJSON_GetObjectItem(r, "libc")->valuestring, "newlib");
    cJSON_Delete(r);
    ASSERT_OK(cli_client_close(c, 5000, &e), &e);
}

static void test_errors_become_err_values_with_the_traceback_as_detail(void)
{
    struct cli_client *c = start("errors", "plain");
    struct err e;
    ASSERT_EQ(cli_client_call(c, "fail", NULL, NULL, &e), ERR_TOOL);
    ASSERT_STR_EQ(e.msg, "fail: the board is on fire");
    ASSERT_STR_EQ(e.detail, "command: x\nlast line");
    ASSERT_EQ(cli_client_last_rpc_code(c), -32000);

    ASSERT_EQ(cli_client_call(c, "params", NULL, NULL, &e), ERR_PARAMS);
    ASSERT_STR_EQ(e.msg, "params: parameter \"n\" must be an integer");
    ASSERT_EQ(cli_client_last_rpc_code(c), -32602);

    ASSERT_EQ(cli_client_call(c, "closed", NULL, NULL, &e), ERR_CLOSED);
    ASSERT_EQ(cli_client_call(c, "nosuch", NULL, NULL, &e), ERR_INTERNAL);
    ASSERT_STR_EQ(e.msg, "nosuch: no such method");
    unsigned char b[8];
    size_t got = 99;
    ASSERT_EQ(cli_read_transport(c, b, sizeof b, 0, &got, &e), ERR_TIMEOUT);

    ASSERT_EQ(cli_client_call(c, "bad_id", NULL, NULL, &e), ERR_INTERNAL);
    ASSERT_STR_CONTAINS(e.msg, "id does not match");
    ASSERT_EQ(cli_client_call(c, "garbage", NULL, NULL, &e), ERR_INTERNAL);
    ASSERT_STR_CONTAINS(e.msg, "not JSON");
    /* and the client still works after each of them */
    cJSON *info = NULL;
    ASSERT_OK(cli_server_info_query(c, &info, &e), &e);
    ASSERT_NOT_NULL(cli_info_option(info, "board"));
    ASSERT_NULL(cli_info_option(info, "nope"));
    cJSON_Delete(info);
    ASSERT_OK(cli_client_close(c, 5000, &e), &e);
}

static void test_transport_bytes_survive_base85_both_ways(void)
{
    struct cli_client *c = start("transport", "plain");
    struct err e;
    unsigned char all[256], back[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)(255 - i); /* starts with FF FD... */
    ASSERT_OK(cli_write_transport(c, all, sizeof all, -1, &e), &e);
    size_t got = 0, total = 0;
    ASSERT_OK(cli_read_transport(c, back, 100, 0.5, &got, &e), &e);
    ASSERT_EQ(got, 100); /* partial reads: up to n */
    total = got;
    ASSERT_OK(cli_read_transport(c, back + total, 256, 0.5, &got, &e), &e);
    total += got;
    ASSERT_EQ(total, 256);
    ASSERT_EQ(memcmp(all, back, 256), 0);
    ASSERT_EQ(cli_read_transport(c, back, 256, 0, &got, &e), ERR_TIMEOUT);
    ASSERT_OK(cli_client_close(c, 5000, &e), &e);
}

static void test_a_server_that_dies_mid_call_is_reported_with_its_status(void)
{
    struct cli_client *c = start("dies", "plain");
    struct err e;
    int pid = cli_client_pid(c);
    ASSERT_EQ(cli_client_call(c, "die", NULL, NULL, &e), ERR_CLOSED);
    ASSERT_STR_CONTAINS(e.msg, "die: the server exited with code 3 without "
                               "answering");
    ASSERT_TRUE(process_gone(pid));
    ASSERT_EQ(cli_client_call(c, "echo_id", NULL, NULL, &e) < 0, 1);
    cli_client_close(c, 1000, NULL);
}

static void test_close_reports_a_failing_exit_status(void)
{
    struct cli_client *c = start("exit5", "exit5");
    struct err e;
    ASSERT_EQ(cli_client_close(c, 5000, &e), ERR_TOOL);
    ASSERT_STR_EQ(e.msg, "the server exited with code 5");
}

static void test_close_kills_a_server_that_ignores_eof(void)
{
    struct cli_client *c = start("linger", "linger");
    struct err e;
    int pid = cli_client_pid(c);
    double t0 = mono_now_s();
    ASSERT_EQ(cli_client_close(c, 300, &e), ERR_TOOL);
    double took = mono_now_s() - t0;
    ASSERT_LT(took, 3.0);
    ASSERT_STR_CONTAINS(e.msg, "did not exit within 300 ms");
    ASSERT_TRUE(process_gone(pid));
}

static void test_a_wrong_protocol_version_is_refused(void)
{
    struct cli_client *c = start("v2", "v2");
    struct err e;
    cJSON *info = NULL;
    ASSERT_EQ(cli_server_info_query(c, &info, &e), ERR_INVALID);
    ASSERT_NULL(info);
    ASSERT_STR_CONTAINS(e.msg, "protocol version 2");
    cli_client_close(c, 5000, NULL);
}

static void test_a_missing_or_unrunnable_launcher_is_named(void)
{
    struct cli_client *c = NULL;
    struct err e;
    char dir[PATH_MAX + 16], path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/empty", tmpdir);
    mkdir(dir, 0755);
    ASSERT_EQ(cli_client_start(dir, false, &c, &e), -ENOENT);
    ASSERT_STR_CONTAINS(e.msg, "/empty/launch_microtvm_api_server.sh: No such file");
    snprintf(path, sizeof path, "%s/launch_microtvm_api_server.sh", dir);
    FILE *f = fopen(path, "w");
    fputs("#!/bin/sh\n", f);
    fclose(f);
    chmod(path, 0644);
    ASSERT_LT(cli_client_start(dir, false, &c, &e), 0); /* no x bit stops root too */
    ASSERT_STR_CONTAINS(e.msg, "cannot execute it");
    chmod(path, 0755);
    unlink(path);
    f = fopen(path, "w");
    fputs("#!/nonexistent/interpreter\n", f);
    fclose(f);
    chmod(path, 0755);
    ASSERT_LT(cli_client_start(dir, false, &c, &e), 0);
    ASSERT_STR_CONTAINS(e.msg, "cannot start it");
    ASSERT_NULL(c);
}

int test_register(void)
{
    if (test_argc > 2 && strcmp(test_argv[1], "--fake-server") == 0)
        return fake_server(test_argc, test_argv); /* its exit status (0 or 5), never TEST_RUN */
    signal(SIGPIPE, SIG_IGN); /* as cli_main does: a dead server is an error, not our death */
    CU_pSuite s = CU_add_suite("cli_client", suite_init, suite_clean);
    CU_ADD_TEST(s, test_the_server_is_launched_as_tvm_launches_it);
    CU_ADD_TEST(s, test_ids_count_from_1_and_results_come_back);
    CU_ADD_TEST(s, test_errors_become_err_values_with_the_traceback_as_detail);
    CU_ADD_TEST(s, test_transport_bytes_survive_base85_both_ways);
    CU_ADD_TEST(s, test_a_server_that_dies_mid_call_is_reported_with_its_status);
    CU_ADD_TEST(s, test_close_reports_a_failing_exit_status);
    CU_ADD_TEST(s, test_close_kills_a_server_that_ignores_eof);
    CU_ADD_TEST(s, test_a_wrong_protocol_version_is_refused);
    CU_ADD_TEST(s, test_a_missing_or_unrunnable_launcher_is_named);
    return TEST_RUN;
}
