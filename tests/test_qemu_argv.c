/*
 * Tests for emulator/qemu_argv.c: for every board in machines/, QEMU's command line carries the
 * seccomp sandbox, no semihosting, no default device, no user config, no monitor, no network
 * and exactly the serial ports we define (docs/SECURITY.md "The board and QEMU"); an optional
 * link's arguments replace only -nic none.
 */
#include "asserts.h"
#include "fast_link.h"
#include "qemu_argv.h"
#include "machine.h"
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MACHINES_DIR MTQ_SOURCE_DIR "/machines"
#define SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

static struct machine mach;

static const struct emu__paths PATHS = {.bin = "/usr/bin/qemu-system-x",
                                        .qmp_sock = "/run/mtq/qmp.sock",
                                        .uart_pty = "/dev/pts/90",
                                        .status_pty = "/dev/pts/91",
                                        .seed = 0x1234};

/* Index of the first argument equal to s at or after from, or -1. */
static int find(const struct emu__argv *a, const char *s, size_t from)
{
    for (size_t i = from; i < a->n; i++)
        if (strcmp(a->v[i], s) == 0)
            return (int)i;
    return -1;
}

/* True when option opt appears followed by value. */
static bool has_pair(const struct emu__argv *a, const char *opt, const char *value)
{
    for (int i = find(a, opt, 0); i >= 0; i = find(a, opt, (size_t)i + 1))
        if ((size_t)i + 1 < a->n && strcmp(a->v[i + 1], value) == 0)
            return true;
    return false;
}

static int count(const struct emu__argv *a, const char *s)
{
    int n = 0;
    for (int i = find(a, s, 0); i >= 0; i = find(a, s, (size_t)i + 1))
        n++;
    return n;
}

static void build(const struct emu_config *c, struct emu__argv *a)
{
    struct err err;
    err_clear(&err);
    memset(a, 0, sizeof *a);
    int rc = emu__build_argv(c, &PATHS, a, &err);
    if (rc < 0)
        fprintf(stderr, "\n    %s\n", err.msg);
    ASSERT_EQ_FATAL(rc, 0);
    ASSERT_NULL(a->v[a->n]);
}

static void test_every_board_runs_sandboxed_without_semihosting_or_default_devices(void)
{
    char **names = NULL;
    size_t n = 0;
    struct err err;
    ASSERT_OK_FATAL(mach_list(MACHINES_DIR, &names, &n, &err), &err);
    ASSERT_GE_FATAL(n, 6);
    for (size_t i = 0; i < n; i++) {
        ASSERT_OK_FATAL(mach_load_by_name(&mach, MACHINES_DIR, names[i], &err), &err);
        struct emu_config c;
        emu_config_init(&c);
        c.machine = &mach;
        c.image = "/p/flash/firmware.elf";
        struct emu__argv a;
        build(&c, &a);
        bool arm = strcmp(mach.arch, "arm") == 0;
        ASSERT_TRUE(has_pair(&a, "-sandbox", SANDBOX));
        ASSERT_EQ(count(&a, "-sandbox"), 1);
        ASSERT_GT(find(&a, "-nodefaults", 0), 0);
        ASSERT_GT(find(&a, "-no-user-config", 0), 0);
        ASSERT_TRUE(has_pair(&a, "-display", "none"));
        ASSERT_TRUE(has_pair(&a, "-monitor", "none"));
        ASSERT_TRUE(has_pair(&a, "-parallel", "none"));
        ASSERT_TRUE(has_pair(&a, "-nic", "none"));
        for (size_t j = 0; j < a.n; j++) {
            ASSERT_STR_NOT_CONTAINS(a.v[j], "semihosting");
            ASSERT_STR_NOT_CONTAINS(a.v[j], "-netdev");
            ASSERT_STR_NOT_CONTAINS(a.v[j], "-drive");
            ASSERT_STR_NOT_CONTAINS(a.v[j], "virtio");
            ASSERT_STR_NOT_CONTAINS(a.v[j], "-no-reboot"); /* a guest reset still resets */
        }
        /* the serial ports are ours alone: the console, plus the status UART on mps2 */
        ASSERT_EQ(count(&a, "-serial"), arm ? 2 : 1);
        ASSERT_EQ(count(&a, "-chardev"), arm ? 2 : 1);
        ASSERT_TRUE(has_pair(&a, "-serial", "chardev:uart0"));
        ASSERT_TRUE(has_pair(&a, "-chardev", "serial,id=uart0,path=/dev/pts/90"));
        ASSERT_EQ(has_pair(&a, "-chardev", "serial,id=status,path=/dev/pts/91"), arm);
        ASSERT_EQ(has_pair(&a, "-action", "watchdog=poweroff"), arm);
        /* the only device: the seed's loader */
        ASSERT_EQ(count(&a, "-device"), 1);
        char icount[64]; /* the machine file's shift (exact counts on the CMSDK-timer boards) */
        snprintf(icount, sizeof icount, "shift=%d,align=off,sleep=off", mach.icount_shift);
        ASSERT_TRUE(has_pair(&a, "-icount", icount));
        ASSERT_EQ(find(&a, "-gdb", 0), -1);
        emu__argv_free(&a);
    }
    mach_free_names(names, n);
}

static void test_a_link_brings_its_devices_instead_of_no_network(void)
{
    struct err err;
    ASSERT_OK_FATAL(mach_load_by_name(&mach, MACHINES_DIR, "riscv32-virt", &err), &err);
    static const char *const link[] = {"-device", "virtio-serial-device", NULL};
    struct emu_config c;
    emu_config_init(&c);
    c.machine = &mach;
    c.image = "/p/flash/firmware.elf";
    c.link_args = link;
    c.gdb_port = 1234;
    struct emu__argv a;
    build(&c, &a);
    ASSERT_FALSE(has_pair(&a, "-nic", "none"));
    ASSERT_TRUE(has_pair(&a, "-device", "virtio-serial-device"));
    ASSERT_TRUE(has_pair(&a, "-sandbox", SANDBOX));
    ASSERT_TRUE(has_pair(&a, "-gdb", "tcp:127.0.0.1:1234")); /* never on all interfaces */
    emu__argv_free(&a);
}

/* docs/SECURITY.md "The fast link": whatever a link adds to QEMU's command line reaches the
 * host only through fd 3, the server's socketpair: no chardev or netdev on a path, a host, a
 * port, a listening socket, a pty or stdio; no serial port or monitor either. Checked for
 * every kind in the server's table, so a new row is held to it too. */
static void test_every_fast_link_kind_reaches_the_host_only_through_fd_3(void)
{
    static const char *const outward[] = {"path=", "host=", "port=", "server", "listen",
        "connect", "tcp", "udp", "unix", "file", "pipe", "pty", "stdio", "mcast", "vhost",
        "script", "ifname", "smb", "hostfwd", "guestfwd", "tftp", NULL};
    struct err err;
    ASSERT_EQ_FATAL(mach_load_by_name(&mach, MACHINES_DIR, "riscv32-virt", &err), 0);
    ASSERT_NOT_NULL(fast_link_kind_find("virtio_serial"));
    ASSERT_NULL(fast_link_kind_find("virtio_net"));
    ASSERT_NULL(fast_link_kind_find(NULL));
    size_t k = 0;
    for (const struct fast_link_kind *kind; (kind = fast_link_kind_at(k)); k++) {
        struct emu_config c;
        emu_config_init(&c);
        ASSERT_EQ(c.link_fd, -1);
        c.machine = &mach;
        c.image = "/p/flash/firmware.elf";
        c.link_args = kind->qemu_args;
        c.link_fd = 7;
        struct emu__argv a;
        build(&c, &a);
        int fd3 = 0;
        for (size_t i = 0; kind->qemu_args[i]; i++) {
            const char *v = kind->qemu_args[i];
            if (v[0] == '-') {
                ASSERT_TRUE(!strcmp(v, "-device") || !strcmp(v, "-chardev") ||
                          !strcmp(v, "-netdev") || !strcmp(v, "-net"));
                continue;
            }
            for (size_t j = 0; outward[j]; j++)
                if (strstr(v, outward[j])) {
                    fprintf(stderr, "\n    %s: \"%s\" holds \"%s\"\n", kind->name, v, outward[j]);
                    TEST_FAIL("a link argument reaches outside fd 3");
                }
            if (strstr(v, "fd=")) {
                const char *f = strstr(v, "fd=3"); /* fd=3 itself, not fd=30 */
                ASSERT_TRUE(f && (f[4] == '\0' || f[4] == ','));
                fd3++;
            }
        }
        ASSERT_EQ(fd3, 1); /* exactly one backend, on fd 3 */
        ASSERT_EQ(count(&a, "-serial"), 1);
        ASSERT_TRUE(has_pair(&a, "-monitor", "none"));
        ASSERT_TRUE(has_pair(&a, "-sandbox", SANDBOX));
        /* the machine's own arguments and the seed loader are still all there is besides */
        ASSERT_TRUE(find(&a, "-kernel", 0) > 0);
        emu__argv_free(&a);
    }
    ASSERT_TRUE(k >= 1);
}

static void test_a_watchdog_exit_without_its_status_pty_is_refused(void)
{
    struct err err;
    ASSERT_OK_FATAL(mach_load_by_name(&mach, MACHINES_DIR, "mps2-an385", &err), &err);
    struct emu_config c;
    emu_config_init(&c);
    c.machine = &mach;
    c.image = "/p/flash/firmware.elf";
    struct emu__paths p = PATHS;
    p.status_pty = NULL;
    struct emu__argv a;
    memset(&a, 0, sizeof a);
    ASSERT_EQ(emu__build_argv(&c, &p, &a, &err), ERR_INTERNAL);
    ASSERT_STR_CONTAINS(err.msg, "status pty");
    emu__argv_free(&a);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("qemu_argv", NULL, NULL);
    CU_ADD_TEST(s, test_every_board_runs_sandboxed_without_semihosting_or_default_devices);
    CU_ADD_TEST(s, test_a_link_brings_its_devices_instead_of_no_network);
    CU_ADD_TEST(s, test_every_fast_link_kind_reaches_the_host_only_through_fd_3);
    CU_ADD_TEST(s, test_a_watchdog_exit_without_its_status_pty_is_refused);
    return TEST_RUN;
}
