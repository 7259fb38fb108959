/*
 * Unit tests for emulator/qmp against a TEST DOUBLE of QEMU's QMP server: a thread that plays a
 * short script on the other end of a socket (send these lines, expect a line containing that,
 * sleep, hang up). It is not QEMU; the e2e tests talk to the real one.
 */
#include "qmp.h"

#include "asserts.h"
#include "runner.h"
#include "mono.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}," \
                 " \"capabilities\": [\"oob\"]}}\r\n"
#define OK "{\"return\": {}}\r\n"
#define EVENT "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RESUME\"}\r\n"

/* The test double. Steps: ">text" sends text; "<word" reads one line and records whether it
 * contains word; "~N" sleeps N ms; "." hangs up (also the implicit last step). */
struct double_qmp {
    int fd;           /* the double's end */
    const char **steps;
    int listen_fd;    /* when set: accept on it first, after delay_ms */
    int delay_ms;
    const char *path; /* bind and listen here after delay_ms (for the retry test) */
    int mismatches;   /* expected lines that did not come */
    pthread_t thread;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads one line (up to '\n') with a 2 s bound; returns its length or -1. */
static int read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            return -1;
        if (read(fd, buf + n, 1) != 1)
            return -1;
        if (buf[n++] == '\n')
            break;
    }
    buf[n] = '\0';
    return (int)n;
}

static void *double_run(void *arg)
{
    struct double_qmp *d = arg;
    if (d->path) {
        sleep_ms(d->delay_ms);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "%s", d->path);
        d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (bind(d->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(d->listen_fd, 1) < 0)
            return NULL;
        d->fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    }
    for (const char **s = d->steps; *s && d->fd >= 0; s++) {
        const char *step = *s;
        if (step[0] == '>') {
            if (write(d->fd, step + 1, strlen(step + 1)) < 0)
                break;
        } else if (step[0] == '<') {
            char line[1024];
            if (read_line(d->fd, line, sizeof line) < 0 || !strstr(line, step + 1))
                d->mismatches++;
        } else if (step[0] == '~') {
            sleep_ms(atoi(step + 1));
        } else if (step[0] == '.') {
            break;
        }
    }
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    return NULL;
}

/* Starts the double on one end of a socket pair; returns the client's end. */
static int double_start(struct double_qmp *d, const char **steps)
{
    int sv[2];
    memset(d, 0, sizeof *d);
    d->listen_fd = -1;
    ASSERT_EQ_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    d->fd = sv[1];
    d->steps = steps;
    ASSERT_EQ_FATAL(pthread_create(&d->thread, NULL, double_run, d), 0);
    return sv[0];
}

static void double_join(struct double_qmp *d)
{
    pthread_join(d->thread, NULL);
    if (d->listen_fd >= 0)
        close(d->listen_fd);
}

static void test_qmp_opens_runs_a_command_and_skips_events_before_its_answer(void)
{
    const char *steps[] = {">" GREETING, "<qmp_capabilities", ">" OK, "<\"query-status\"",
                           ">" EVENT, ">" EVENT,
                           ">{\"return\": {\"status\": \"running\", \"running\": true}}\r\n",
                           "<\"cont\"", ">" EVENT OK, NULL};
    struct double_qmp d;
    struct err err = {0};
    int fd = double_start(&d, steps);
    struct qmp *q = qmp_open_fd(fd, 2000, &err);
    ASSERT_NOT_NULL_FATAL(q);
    cJSON *ret = NULL;
    ASSERT_OK(qmp_execute(q, "query-status", &ret, 2000, &err), &err);
    cJSON *status = cJSON_GetObjectItemCaseSensitive(ret, "status");
    ASSERT_TRUE(cJSON_IsString(status) && strcmp(status->valuestring, "running") == 0);
    cJSON_Delete(ret);
    ASSERT_OK(qmp_execute(q, "cont", NULL, 2000, &err), &err);
    qmp_close(q);
    double_join(&d);
    ASSERT_EQ(d.mismatches, 0);
}

static void test_qmp_turns_an_error_reply_into_err_tool_with_qemus_class_and_text(void)
{
    const char *steps[] = {">" GREETING, "<qmp_capabilities", ">" OK, "<system_reset",
                           ">{\"error\": {\"class\": \"GenericError\", \"desc\": \"no way\"}}\n",
                           NULL};
    struct double_qmp d;
    struct err err = {0};
    struct qmp *q = qmp_open_fd(double_start(&d, steps), 2000, &err);
    ASSERT_NOT_NULL_FATAL(q);
    ASSERT_EQ(qmp_execute(q, "system_reset", NULL, 2000, &err), ERR_TOOL);
    ASSERT_EQ(err.code, ERR_TOOL);
    ASSERT_STR_CONTAINS(err.msg, "system_reset");
    ASSERT_STR_CONTAINS(err.msg, "GenericError");
    ASSERT_STR_CONTAINS(err.msg, "no way");
    qmp_close(q);
    double_join(&d);
}

static void test_qmp_gives_err_timeout_when_the_answer_does_not_come_in_time(void)
{
    const char *steps[] = {">" GREETING, "<qmp_capabilities", ">" OK, "<stop", "~400", NULL};
    struct double_qmp d;
    struct err err = {0};
    struct qmp *q = qmp_open_fd(double_start(&d, steps), 2000, &err);
    ASSERT_NOT_NULL_FATAL(q);
    int64_t t0 = mono_now_ms();
    ASSERT_EQ(qmp_execute(q, "stop", NULL, 100, &err), ERR_TIMEOUT);
    int64_t dt = mono_now_ms() - t0;
    ASSERT_TRUE(dt >= 100 && dt < 350);
    qmp_close(q);
    double_join(&d);
}

static void test_qmp_gives_err_timeout_when_no_greeting_comes(void)
{
    const char *steps[] = {"~300", NULL};
    struct double_qmp d;
    struct err err = {0};
    ASSERT_NULL(qmp_open_fd(double_start(&d, steps), 80, &err));
    ASSERT_EQ(err.code, ERR_TIMEOUT);
    ASSERT_STR_CONTAINS(err.msg, "greeting");
    double_join(&d);
}

static void test_qmp_gives_err_closed_when_qemu_hangs_up_before_answering(void)
{
    const char *steps[] = {">" GREETING, "<qmp_capabilities", ">" OK, "<quit", ".", NULL};
    struct double_qmp d;
    struct err err = {0};
    struct qmp *q = qmp_open_fd(double_start(&d, steps), 2000, &err);
    ASSERT_NOT_NULL_FATAL(q);
    ASSERT_EQ(qmp_execute(q, "quit", NULL, 2000, &err), ERR_CLOSED);
    ASSERT_EQ(err.code, ERR_CLOSED);
    qmp_close(q);
    double_join(&d);
}

static void test_qmp_refuses_a_peer_whose_first_line_is_not_a_greeting(void)
{
    const char *steps[] = {">{\"return\": {}}\n", "~50", NULL};
    struct double_qmp d;
    struct err err = {0};
    ASSERT_NULL(qmp_open_fd(double_start(&d, steps), 2000, &err));
    ASSERT_EQ(err.code, ERR_INVALID);
    double_join(&d);

    const char *garbage[] = {">this is not json\n", "~50", NULL};
    ASSERT_NULL(qmp_open_fd(double_start(&d, garbage), 2000, &err));
    ASSERT_EQ(err.code, ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "not a JSON object");
    double_join(&d);
}

/* The double binds its socket only after 150 ms, as QEMU does shortly after it starts. */
static void test_qmp_open_retries_until_the_socket_appears(void)
{
    char dir[] = "/tmp/mtq-test-qmp-XXXXXX";
    ASSERT_NOT_NULL_FATAL(mkdtemp(dir));
    char path[108];
    snprintf(path, sizeof path, "%s/qmp.sock", dir);
    const char *steps[] = {">" GREETING, "<qmp_capabilities", ">" OK, NULL};
    struct double_qmp d;
    memset(&d, 0, sizeof d);
    d.fd = -1;
    d.listen_fd = -1;
    d.steps = steps;
    d.path = path;
    d.delay_ms = 150;
    ASSERT_EQ_FATAL(pthread_create(&d.thread, NULL, double_run, &d), 0);
    struct err err = {0};
    int64_t t0 = mono_now_ms();
    struct qmp *q = qmp_open(path, 3000, &err);
    ASSERT_NOT_NULL(q);
    ASSERT_GE(mono_now_ms() - t0, 150);
    qmp_close(q);
    double_join(&d);
    ASSERT_EQ(d.mismatches, 0);
    unlink(path);
    ASSERT_EQ(rmdir(dir), 0);
}

static void test_qmp_open_gives_err_timeout_when_no_socket_ever_appears(void)
{
    char dir[] = "/tmp/mtq-test-qmp-XXXXXX";
    ASSERT_NOT_NULL_FATAL(mkdtemp(dir));
    char path[108];
    snprintf(path, sizeof path, "%s/none.sock", dir);
    struct err err = {0};
    int64_t t0 = mono_now_ms();
    ASSERT_NULL(qmp_open(path, 120, &err));
    int64_t dt = mono_now_ms() - t0;
    ASSERT_EQ(err.code, ERR_TIMEOUT);
    ASSERT_STR_CONTAINS(err.msg, path);
    ASSERT_TRUE(dt >= 120 && dt < 600);
    ASSERT_EQ(rmdir(dir), 0);
}

static void test_qmp_open_refuses_a_socket_path_longer_than_sun_path(void)
{
    char path[200];
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    struct err err = {0};
    ASSERT_NULL(qmp_open(path, 100, &err));
    ASSERT_EQ(err.code, ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "longer than");
    qmp_close(NULL);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("qmp (against a test double)", NULL, NULL);
    CU_ADD_TEST(s, test_qmp_opens_runs_a_command_and_skips_events_before_its_answer);
    CU_ADD_TEST(s, test_qmp_turns_an_error_reply_into_err_tool_with_qemus_class_and_text);
    CU_ADD_TEST(s, test_qmp_gives_err_timeout_when_the_answer_does_not_come_in_time);
    CU_ADD_TEST(s, test_qmp_gives_err_timeout_when_no_greeting_comes);
    CU_ADD_TEST(s, test_qmp_gives_err_closed_when_qemu_hangs_up_before_answering);
    CU_ADD_TEST(s, test_qmp_refuses_a_peer_whose_first_line_is_not_a_greeting);
    CU_ADD_TEST(s, test_qmp_open_retries_until_the_socket_appears);
    CU_ADD_TEST(s, test_qmp_open_gives_err_timeout_when_no_socket_ever_appears);
    CU_ADD_TEST(s, test_qmp_open_refuses_a_socket_path_longer_than_sun_path);
    return TEST_RUN;
}
