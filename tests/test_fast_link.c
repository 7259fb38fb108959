/*
 * server/fast_link.c: the table of link kinds, which boards may use link=fast (with the
 * messages that say which do), and the socket pair's life: QEMU's end is ours only until QEMU
 * has it, the stream hangs up when QEMU's end goes, and closing leaves no fd behind.
 */
#include "fast_link.h"

#include "machine.h"

#include <CUnit/Basic.h>
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

static void test_the_riscv_boards_take_link_fast_and_every_board_takes_uart(void)
{
    struct err err = {0};
    char **names = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL_FATAL(mach_list(MACHINES_DIR, &names, &n, &err), 0);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL_FATAL(mach_load_by_name(&mach, MACHINES_DIR, names[i], &err), 0);
        CU_ASSERT_EQUAL(fast_link_check_board(&mach, "uart", MACHINES_DIR, &err), 0);
        bool fast = mach_has_fast_link(&mach) && fast_link_kind_find(mach.fast_link_kind);
        CU_ASSERT_EQUAL(fast_link_check_board(&mach, "fast", MACHINES_DIR, &err),
                        fast ? 0 : ERR_OPTION);
        if (!strncmp(names[i], "riscv", 5))
            CU_ASSERT(fast);
    }
    mach_free_names(names, n);
}

static void test_a_board_without_a_fast_link_is_refused_naming_those_with_one(void)
{
    struct err err = {0};
    CU_ASSERT_EQUAL_FATAL(mach_load(&mach, MTQ_SOURCE_DIR "/tests/fixtures/machines/"
                                    "good-board.json", &err), 0);
    CU_ASSERT_EQUAL(fast_link_check_board(&mach, "fast", MACHINES_DIR, &err), ERR_OPTION);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "option link: fast: good-board has no fast link"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "use link=uart, or a board that has one ("));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "riscv32-virt, riscv64-virt"));
    /* without a machines directory to look in, it still says what to do */
    CU_ASSERT_EQUAL(fast_link_check_board(&mach, "fast", NULL, &err), ERR_OPTION);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "(none)"));
}

/* A machine file may name a kind this server has no row for: refused as "not available yet"
 * rather than built into firmware nobody can talk to. */
static void test_a_kind_without_a_row_is_not_available_yet(void)
{
    struct err err = {0};
    CU_ASSERT_EQUAL_FATAL(mach_load_by_name(&mach, MACHINES_DIR, "riscv32-virt", &err), 0);
    snprintf(mach.fast_link_kind, sizeof mach.fast_link_kind, "%s", "lan9118");
    if (fast_link_kind_find("lan9118"))
        return; /* the LAN9118 row exists: nothing to refuse */
    CU_ASSERT_EQUAL(fast_link_check_board(&mach, "fast", MACHINES_DIR, &err), ERR_OPTION);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "riscv32-virt's fast link (lan9118) is not "
                                  "available yet"));
}

static void test_the_socket_pair_carries_bytes_and_hangs_up_when_qemus_end_goes(void)
{
    struct err err = {0};
    int before = open_fds();
    const struct fast_link_kind *k = fast_link_kind_find("virtio_serial");
    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_EQUAL(k->sock_type, SOCK_STREAM);
    struct fast_link l;
    CU_ASSERT_EQUAL_FATAL(fast_link_open(&l, k, &err), 0);
    CU_ASSERT(l.qemu_fd >= 0 && l.sock_fd >= 0 && l.stream_fd == -1);
    CU_ASSERT(fcntl(l.qemu_fd, F_GETFD) & FD_CLOEXEC); /* only the emulator's dup2 passes it */
    CU_ASSERT(fcntl(l.sock_fd, F_GETFL) & O_NONBLOCK);
    int qemu = dup(l.qemu_fd); /* stands in for QEMU's inherited copy */
    CU_ASSERT_EQUAL_FATAL(fast_link_start(&l, -1, &err), 0);
    CU_ASSERT_EQUAL(l.qemu_fd, -1);
    CU_ASSERT(l.stream_fd >= 0); /* the identity adapter: our end is the stream */
    CU_ASSERT_EQUAL(write(qemu, "up\n", 3), 3);
    char buf[8];
    CU_ASSERT_EQUAL(read(l.stream_fd, buf, sizeof buf), 3);
    CU_ASSERT_EQUAL(read(l.stream_fd, buf, sizeof buf), -1);
    CU_ASSERT_EQUAL(errno, EAGAIN);
    close(qemu); /* QEMU exits */
    CU_ASSERT_EQUAL(read(l.stream_fd, buf, sizeof buf), 0);
    fast_link_close(&l);
    fast_link_close(&l); /* idempotent */
    fast_link_close(NULL);
    CU_ASSERT_EQUAL(open_fds(), before);
}

static void test_closing_a_link_that_never_started_closes_both_ends(void)
{
    struct err err = {0};
    int before = open_fds();
    struct fast_link l;
    fast_link_init(&l);
    fast_link_close(&l);
    CU_ASSERT_EQUAL_FATAL(fast_link_open(&l, fast_link_kind_find("virtio_serial"), &err), 0);
    CU_ASSERT_EQUAL(open_fds(), before + 2);
    fast_link_close(&l);
    CU_ASSERT_EQUAL(open_fds(), before);
    CU_ASSERT_PTR_NULL(l.kind);
}

int main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("fast_link", NULL, NULL);
    CU_ADD_TEST(s, test_the_riscv_boards_take_link_fast_and_every_board_takes_uart);
    CU_ADD_TEST(s, test_a_board_without_a_fast_link_is_refused_naming_those_with_one);
    CU_ADD_TEST(s, test_a_kind_without_a_row_is_not_available_yet);
    CU_ADD_TEST(s, test_the_socket_pair_carries_bytes_and_hangs_up_when_qemus_end_goes);
    CU_ADD_TEST(s, test_closing_a_link_that_never_started_closes_both_ends);
    if (CU_get_error() != CUE_SUCCESS) /* a failed setup would run nothing and "pass" */
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry(); /* only after reading the counts: it clears them */
    return bad != 0;
}
