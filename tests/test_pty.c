/*
 * Unit tests for emulator/pty: the UART tunnel must be raw (every byte value passes unchanged
 * both ways), the master non-blocking, both fds close-on-exec, and output written while nobody
 * reads must wait for us, even after the writer (QEMU) has closed its end.
 */
#include "uart_pty.h"

#include "asserts.h"
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Reads exactly n bytes from fd (which may be non-blocking), waiting up to 2 s in all. */
static size_t read_n(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            break;
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0 && !(r < 0 && (errno == EAGAIN || errno == EINTR)))
            break;
        if (r > 0)
            got += (size_t)r;
    }
    return got;
}

static void write_all(int fd, const unsigned char *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, buf + off, n - off);
        if (w > 0) {
            off += (size_t)w;
        } else {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, 2000) <= 0)
                break;
        }
    }
    ASSERT_EQ(off, n);
}

static void assert_raw(int fd)
{
    struct termios t;
    ASSERT_EQ_FATAL(tcgetattr(fd, &t), 0);
    ASSERT_EQ(t.c_lflag & (ECHO | ICANON | ISIG | IEXTEN), 0);
    ASSERT_EQ(t.c_iflag & (ICRNL | INLCR | IGNCR | IXON | IXOFF | ISTRIP | BRKINT), 0);
    ASSERT_EQ(t.c_oflag & OPOST, 0);
    ASSERT_EQ(t.c_cflag & CSIZE, CS8);
}

static void test_pty_open_gives_raw_ends_a_nonblocking_master_and_cloexec_fds(void)
{
    struct pty p;
    struct err err = {0};
    ASSERT_OK_FATAL(pty_open(&p, &err), &err);
    ASSERT_TRUE(p.master >= 0 && p.slave >= 0);
    ASSERT_EQ(strncmp(p.slave_path, "/dev/pts/", 9), 0);
    assert_raw(p.master);
    assert_raw(p.slave);
    ASSERT_TRUE(fcntl(p.master, F_GETFL) & O_NONBLOCK);
    ASSERT_TRUE(fcntl(p.master, F_GETFD) & FD_CLOEXEC);
    ASSERT_TRUE(fcntl(p.slave, F_GETFD) & FD_CLOEXEC);
    unsigned char c;
    errno = 0;
    ASSERT_EQ(read(p.master, &c, 1), -1);
    ASSERT_EQ(errno, EAGAIN);
    pty_close(&p);
    ASSERT_EQ(p.master, -1);
    ASSERT_EQ(p.slave, -1);
}

static void test_pty_passes_every_byte_value_unchanged_in_both_directions(void)
{
    struct pty p;
    ASSERT_EQ_FATAL(pty_open(&p, NULL), 0);
    /* the bytes a cooked tty would eat or change come first, then all 256 values */
    static const unsigned char special[] = {0x00, 0x03, 0x11, 0x13, 0xFF, 0x0A, 0x0D, 0x0D, 0x0A,
                                            0x04, 0x1A, 0x1C, 0x7F, 0x08, 0x15, 0x17, 0x16, 0x12};
    unsigned char out[sizeof special + 256 * 2];
    memcpy(out, special, sizeof special);
    for (int i = 0; i < 512; i++)
        out[sizeof special + i] = (unsigned char)(i < 256 ? i : 511 - i);
    unsigned char in[sizeof out];

    write_all(p.master, out, sizeof out);
    memset(in, 0xAA, sizeof in);
    ASSERT_EQ(read_n(p.slave, in, sizeof in), sizeof out);
    ASSERT_EQ(memcmp(in, out, sizeof out), 0);

    write_all(p.slave, out, sizeof out);
    memset(in, 0xAA, sizeof in);
    ASSERT_EQ(read_n(p.master, in, sizeof in), sizeof out);
    ASSERT_EQ(memcmp(in, out, sizeof out), 0);

    /* nothing extra came back (no echo of what we wrote on either side) */
    unsigned char extra;
    ASSERT_EQ(read_n(p.master, &extra, 1), 0);
    pty_close(&p);
}

/* QEMU opens the slave by path, writes, and may exit before we read: since we hold the slave,
 * its bytes wait in the pty and the master sees no hangup. */
static void test_pty_keeps_bytes_and_reports_no_hangup_after_another_writer_closes(void)
{
    struct pty p;
    ASSERT_EQ_FATAL(pty_open(&p, NULL), 0);
    int other = open(p.slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE_FATAL(other, 0);
    const unsigned char msg[] = "#banner\n\x00\xff";
    write_all(other, msg, sizeof msg);
    close(other);
    unsigned char in[sizeof msg];
    ASSERT_EQ(read_n(p.master, in, sizeof in), sizeof msg);
    ASSERT_EQ(memcmp(in, msg, sizeof msg), 0);
    struct pollfd pf = {.fd = p.master, .events = POLLIN};
    ASSERT_EQ(poll(&pf, 1, 50), 0); /* no POLLHUP, no data */
    pty_close(&p);
}

static void test_pty_close_accepts_null_and_an_already_closed_pty(void)
{
    struct pty p;
    ASSERT_EQ_FATAL(pty_open(&p, NULL), 0);
    pty_close(&p);
    pty_close(&p);
    pty_close(NULL);
    ASSERT_EQ(p.master, -1);
    ASSERT_EQ(p.slave_path[0], '\0');
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("pty", NULL, NULL);
    CU_ADD_TEST(s, test_pty_open_gives_raw_ends_a_nonblocking_master_and_cloexec_fds);
    CU_ADD_TEST(s, test_pty_passes_every_byte_value_unchanged_in_both_directions);
    CU_ADD_TEST(s, test_pty_keeps_bytes_and_reports_no_hangup_after_another_writer_closes);
    CU_ADD_TEST(s, test_pty_close_accepts_null_and_an_already_closed_pty);
    return TEST_RUN;
}
