/*
 * server/uart_forward.c: what the board's UART says once a fast link carries the transport
 * reaches the server's stderr as it comes, one log line per UART line, prefixed with the board,
 * with unreadable bytes made visible; a partial last line is not lost at stop; the thread
 * takes no signals; nothing is left running.
 */
#include "asserts.h"
#include "runner.h"
#include "uart_forward.h"

#include "log.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

/* stderr, captured: a pipe in place of fd 2 while a test runs. */
static int saved_stderr = -1, captured[2] = {-1, -1};

static void capture_start(void)
{
    ASSERT_EQ_FATAL(pipe2(captured, O_CLOEXEC | O_NONBLOCK), 0);
    fflush(stderr);
    saved_stderr = dup(2);
    ASSERT_TRUE_FATAL(saved_stderr >= 0);
    ASSERT_TRUE_FATAL(dup2(captured[1], 2) == 2);
}

/* Restores stderr and returns what was written to it (caller frees). */
static char *capture_stop(void)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    close(captured[1]);
    char *text = calloc(1, 65536);
    size_t n = 0;
    ssize_t r;
    while (text && n < 65535 && (r = read(captured[0], text + n, 65535 - n)) > 0)
        n += (size_t)r;
    close(captured[0]);
    return text;
}

/* What stderr got so far, read without waiting (caller frees). */
static char *captured_now(void)
{
    fflush(stderr);
    char *text = calloc(1, 65536);
    size_t n = 0;
    ssize_t r;
    while (text && n < 65535 && (r = read(captured[0], text + n, 65535 - n)) > 0)
        n += (size_t)r;
    return text;
}

static void test_each_uart_line_is_forwarded_with_the_board_name_as_it_comes(void)
{
    int p[2];
    ASSERT_EQ_FATAL(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    struct uart_forward *f = NULL;
    struct err err = {0};
    log_set_program("test_uart_forward");
    capture_start();
    ASSERT_EQ_FATAL(uart_forward_start(p[0], "riscv32-virt", &f, &err), 0);
    ASSERT_EQ(write(p[1], "#microtvm-qemu:abort:tvm-error:0x00000", 38), 38);
    usleep(50000);
    ASSERT_EQ(write(p[1], "301\r\n\x1b[2Jcleared\npartial", 24), 24);
    usleep(200000);
    char *early = captured_now(); /* forwarded while running, before any stop */
    char last[256] = "x";
    uart_forward_stop(f, last, sizeof last);
    char *out = capture_stop();
    ASSERT_NOT_NULL_FATAL(early);
    ASSERT_NOT_NULL_FATAL(out);
    ASSERT_STR_CONTAINS(early, "test_uart_forward: warn: riscv32-virt UART: "
                                  "#microtvm-qemu:abort:tvm-error:0x00000301\n");
    ASSERT_STR_CONTAINS(early, "riscv32-virt UART: ?[2Jcleared\n"); /* no ESC */
    ASSERT_NULL(strchr(early, '\x1b'));
    ASSERT_NULL(strstr(early, "partial")); /* not a line yet */
    ASSERT_STR_CONTAINS(out, "riscv32-virt UART: partial\n"); /* kept at stop */
    ASSERT_STR_EQ(last, "partial");
    free(early);
    free(out);
    close(p[0]);
    close(p[1]);
}

static void test_a_line_longer_than_a_log_line_is_cut_not_lost(void)
{
    int p[2];
    ASSERT_EQ_FATAL(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    char line[601];
    memset(line, 'a', 600);
    line[600] = '\n';
    struct uart_forward *f = NULL;
    struct err err = {0};
    capture_start();
    ASSERT_EQ_FATAL(uart_forward_start(p[0], "b", &f, &err), 0);
    ASSERT_EQ(write(p[1], line, sizeof line), (ssize_t)sizeof line);
    uart_forward_stop(f, NULL, 0);
    char *out = capture_stop();
    size_t as = 0;
    for (const char *c = out; c && *c; c++)
        as += *c == 'a';
    ASSERT_TRUE(as >= 600);
    ASSERT_TRUE(strstr(out, "b UART: ") && strstr(strstr(out, "b UART: ") + 1, "b UART: "));
    free(out);
    close(p[0]);
    close(p[1]);
}

/* The server's SIGTERM must reach the main thread (its ppoll unblocks it), not the
 * forwarder's poll: a signal sent to the process while the forwarder runs still lands on a
 * thread that did not block it. */
static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig)
{
    (void)sig;
    got_usr1 = 1;
}

static void test_the_forwarder_takes_no_signals(void)
{
    int p[2];
    ASSERT_EQ_FATAL(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    struct sigaction sa = {.sa_handler = on_usr1};
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    struct uart_forward *f = NULL;
    struct err err = {0};
    ASSERT_EQ_FATAL(uart_forward_start(p[0], "b", &f, &err), 0);
    /* blocked here, and in the forwarder: the signal stays pending for us alone */
    pthread_sigmask(SIG_BLOCK, &usr1, &old);
    kill(getpid(), SIGUSR1);
    usleep(50000);
    ASSERT_EQ(got_usr1, 0); /* the forwarder did not take it */
    pthread_sigmask(SIG_SETMASK, &old, NULL); /* delivered here now */
    ASSERT_EQ(got_usr1, 1);
    uart_forward_stop(f, NULL, 0);
    signal(SIGUSR1, SIG_DFL);
    close(p[0]);
    close(p[1]);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("uart_forward", NULL, NULL);
    CU_ADD_TEST(s, test_each_uart_line_is_forwarded_with_the_board_name_as_it_comes);
    CU_ADD_TEST(s, test_a_line_longer_than_a_log_line_is_cut_not_lost);
    CU_ADD_TEST(s, test_the_forwarder_takes_no_signals);
    return TEST_RUN;
}
