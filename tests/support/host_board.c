/*
 * board.h implemented on the host (see host_board.h). State is file-static on purpose: board.h
 * is the firmware's interface to one global device and has no context argument, and this file
 * stands in for that device. The timer counts reads (BOARD_TIMER_HZ in board_config.h beside
 * this file), so the host reference's replies are identical on every run.
 */
#include "host_board.h"

#include "../../firmware/include/board.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *input;
static size_t input_len;
static size_t input_pos;
static int input_set;

static char *captured;
static size_t captured_len;
static size_t captured_cap;
static int capturing;

static jmp_buf *exit_jump;
static int exit_code = -1;

static uint64_t ticks;
static uint32_t entropy_calls;

void host_board_set_input(const void *data, size_t n)
{
    free(input);
    input = NULL;
    input_len = input_pos = 0;
    input_set = data != NULL;
    if (data != NULL && n > 0) {
        input = malloc(n);
        if (input == NULL) {
            input_set = 0; /* out of memory in a test: fall back to an empty input */
            return;
        }
        memcpy(input, data, n);
        input_len = n;
    }
}

void host_board_capture_start(void)
{
    capturing = 1;
    captured_len = 0;
    if (captured != NULL)
        captured[0] = '\0';
}

const char *host_board_captured(size_t *n)
{
    if (n != NULL)
        *n = capturing ? captured_len : 0;
    return capturing && captured != NULL ? captured : "";
}

void host_board_capture_stop(void)
{
    free(captured);
    captured = NULL;
    captured_len = captured_cap = 0;
    capturing = 0;
}

void host_board_catch_exit(jmp_buf *jb)
{
    exit_jump = jb;
}

int host_board_exit_code(void)
{
    return exit_code;
}

void board_init(void)
{
    ticks = 0;
}

void uart_write(const void *data, size_t n)
{
    if (!capturing) {
        fwrite(data, 1, n, stdout);
        return;
    }
    if (captured_len + n + 1 > captured_cap) {
        size_t cap = captured_cap ? captured_cap : 256;
        while (cap < captured_len + n + 1)
            cap *= 2;
        char *grown = realloc(captured, cap);
        if (grown == NULL)
            return; /* out of memory in a test: the comparison that follows will fail */
        captured = grown;
        captured_cap = cap;
    }
    memcpy(captured + captured_len, data, n);
    captured_len += n;
    captured[captured_len] = '\0';
}

void uart_puts(const char *s)
{
    uart_write(s, strlen(s));
}

int uart_try_getc(void)
{
    if (input_set)
        return input_pos < input_len ? input[input_pos++] : -1;
    fflush(stdout); /* a host on the other end of a pipe waits for our replies */
    int c = getchar();
    return c == EOF ? -1 : c;
}

int uart_getc(void)
{
    int c = uart_try_getc();
    if (c < 0)
        board_exit(0); /* end of input: a board would wait forever, a host program ends */
    return c;
}

uint64_t timer_ticks(void)
{
    return ticks++;
}

/* The host's timer counts reads, not time: it has no phase to align. */
void timer_align(void)
{
}

uint64_t board_instret(void)
{
    return 0;
}

uint32_t board_entropy(void)
{
    return 0x9e3779b9u * ++entropy_calls;
}

_Noreturn void board_exit(int code)
{
    exit_code = code;
    if (exit_jump != NULL)
        longjmp(*exit_jump, 1);
    fflush(stdout);
    exit(code);
}
