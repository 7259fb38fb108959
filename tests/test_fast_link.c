/*
 * server/fast_link.c: the table of link kinds, which boards may use link=fast (with the
 * messages that say which do), and the socket pair's life: QEMU's end is ours only until QEMU
 * has it, the stream hangs up when QEMU's end goes, and closing leaves no fd behind.
 */
#include "asserts.h"
#include "runner.h"
#include "fast_link.h"

#include "machine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MACHINES_DIR MTQ_SOURCE_DIR "/machines"

static struct machine mach;

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n - 1; /* the directory's own fd */
}

static void test_every_board_takes_link_fast_and_uart(void)
{
    struct err err = {0};
    char **names = NULL;
    size_t n = 0;
    ASSERT_EQ_FATAL(mach_list(MACHINES_DIR, &names, &n, &err), 0);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ_FATAL(mach_load_by_name(&mach, MACHINES_DIR, names[i], &err), 0);
        ASSERT_EQ(fast_link_check_board(&mach, "uart", MACHINES_DIR, &err), 0);
        bool fast = mach_has_fast_link(&mach) && fast_link_kind_find(mach.fast_link_kind);
        ASSERT_EQ(fast_link_check_board(&mach, "fast", MACHINES_DIR, &err),
                        fast ? 0 : ERR_OPTION);
        ASSERT_TRUE(fast); /* every board has one: virtio-serial on virt, the LAN9118 on mps2 */
    }
    mach_free_names(names, n);
}

static void test_a_board_without_a_fast_link_is_refused_naming_those_with_one(void)
{
    struct err err = {0};
    ASSERT_EQ_FATAL(mach_load(&mach, MTQ_SOURCE_DIR "/tests/fixtures/machines/"
                                    "good-board.json", &err), 0);
    ASSERT_EQ(fast_link_check_board(&mach, "fast", MACHINES_DIR, &err), ERR_OPTION);
    ASSERT_STR_CONTAINS(err.msg, "option link: fast: good-board has no fast link");
    ASSERT_STR_CONTAINS(err.msg, "use link=uart, or a board that has one (");
    ASSERT_STR_CONTAINS(err.msg, "riscv32-virt, riscv64-virt");
    /* without a machines directory to look in, it still says what to do */
    ASSERT_EQ(fast_link_check_board(&mach, "fast", NULL, &err), ERR_OPTION);
    ASSERT_STR_CONTAINS(err.msg, "(none)");
}

/* A machine file may name a kind this server has no row for: refused as "not available yet"
 * rather than built into firmware nobody can talk to. */
static void test_a_kind_without_a_row_is_not_available_yet(void)
{
    struct err err = {0};
    ASSERT_EQ_FATAL(mach_load_by_name(&mach, MACHINES_DIR, "riscv32-virt", &err), 0);
    snprintf(mach.fast_link_kind, sizeof mach.fast_link_kind, "%s", "virtio_net");
    ASSERT_NULL(fast_link_kind_find("virtio_net"));
    ASSERT_EQ(fast_link_check_board(&mach, "fast", MACHINES_DIR, &err), ERR_OPTION);
    ASSERT_STR_CONTAINS(err.msg, "riscv32-virt's fast link (virtio_net) is not "
                                  "available yet");
}

static void test_the_socket_pair_carries_bytes_and_hangs_up_when_qemus_end_goes(void)
{
    struct err err = {0};
    int before = open_fds();
    const struct fast_link_kind *k = fast_link_kind_find("virtio_serial");
    ASSERT_NOT_NULL_FATAL(k);
    ASSERT_EQ(k->sock_type, SOCK_STREAM);
    struct fast_link l;
    ASSERT_EQ_FATAL(fast_link_open(&l, k, &err), 0);
    ASSERT_TRUE(l.qemu_fd >= 0 && l.sock_fd >= 0 && l.stream_fd == -1);
    ASSERT_TRUE(fcntl(l.qemu_fd, F_GETFD) & FD_CLOEXEC); /* only the emulator's dup2 passes it */
    ASSERT_TRUE(fcntl(l.sock_fd, F_GETFL) & O_NONBLOCK);
    int qemu = dup(l.qemu_fd); /* stands in for QEMU's inherited copy */
    ASSERT_EQ_FATAL(fast_link_start(&l, -1, &err), 0);
    ASSERT_EQ(l.qemu_fd, -1);
    ASSERT_TRUE(l.stream_fd >= 0); /* the identity adapter: our end is the stream */
    ASSERT_EQ(write(qemu, "up\n", 3), 3);
    char buf[8];
    ASSERT_EQ(read(l.stream_fd, buf, sizeof buf), 3);
    ASSERT_EQ(read(l.stream_fd, buf, sizeof buf), -1);
    ASSERT_EQ(errno, EAGAIN);
    close(qemu); /* QEMU exits */
    ASSERT_EQ(read(l.stream_fd, buf, sizeof buf), 0);
    fast_link_close(&l);
    fast_link_close(&l); /* idempotent */
    fast_link_close(NULL);
    ASSERT_EQ(open_fds(), before);
}

/* The LAN9118's row: a datagram pair (one datagram, one frame), QEMU's legacy NIC on a socket
 * netdev at fd 3, and the frame relay as the adapter: the session gets a stream, and every fd
 * the relay made is gone after close. */
static void test_the_lan9118_link_is_a_datagram_pair_behind_the_frame_relay(void)
{
    struct err err = {0};
    int before = open_fds();
    const struct fast_link_kind *k = fast_link_kind_find("lan9118");
    ASSERT_NOT_NULL_FATAL(k);
    ASSERT_EQ(k->sock_type, SOCK_DGRAM);
    ASSERT_STR_EQ(k->qemu_args[1], "socket,id=link0,fd=3");
    ASSERT_STR_EQ(k->qemu_args[3], "nic,netdev=link0,model=lan9118");
    ASSERT_NULL(k->qemu_args[4]);
    struct fast_link l;
    ASSERT_EQ_FATAL(fast_link_open(&l, k, &err), 0);
    int type = 0;
    socklen_t len = sizeof type;
    ASSERT_EQ(getsockopt(l.sock_fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
    ASSERT_EQ(type, SOCK_DGRAM);
    int qemu = dup(l.qemu_fd);
    ASSERT_EQ_FATAL(fast_link_start(&l, -1, &err), 0);
    ASSERT_TRUE(l.stream_fd >= 0 && l.stream_fd != l.sock_fd);
    ASSERT_NOT_NULL(l.adapter);
    ASSERT_TRUE(fcntl(l.stream_fd, F_GETFL) & O_NONBLOCK);
    ASSERT_TRUE(fcntl(l.stream_fd, F_GETFD) & FD_CLOEXEC);
    /* no board has said HELLO: the stream has nothing, and nothing goes to QEMU */
    char buf[8];
    ASSERT_EQ(read(l.stream_fd, buf, sizeof buf), -1);
    ASSERT_EQ(errno, EAGAIN);
    fast_link_close(&l);
    close(qemu);
    ASSERT_EQ(open_fds(), before);
}

static void test_closing_a_link_that_never_started_closes_both_ends(void)
{
    struct err err = {0};
    int before = open_fds();
    struct fast_link l;
    fast_link_init(&l);
    fast_link_close(&l);
    ASSERT_EQ_FATAL(fast_link_open(&l, fast_link_kind_find("virtio_serial"), &err), 0);
    ASSERT_EQ(open_fds(), before + 2);
    fast_link_close(&l);
    ASSERT_EQ(open_fds(), before);
    ASSERT_NULL(l.kind);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("fast_link", NULL, NULL);
    CU_ADD_TEST(s, test_every_board_takes_link_fast_and_uart);
    CU_ADD_TEST(s, test_a_board_without_a_fast_link_is_refused_naming_those_with_one);
    CU_ADD_TEST(s, test_a_kind_without_a_row_is_not_available_yet);
    CU_ADD_TEST(s, test_the_socket_pair_carries_bytes_and_hangs_up_when_qemus_end_goes);
    CU_ADD_TEST(s, test_the_lan9118_link_is_a_datagram_pair_behind_the_frame_relay);
    CU_ADD_TEST(s, test_closing_a_link_that_never_started_closes_both_ends);
    return TEST_RUN;
}
