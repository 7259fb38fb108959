/*
 * End-to-end test of the board layer: for every board in machines/ and every C library it
 * lists, build the echo firmware through firmware/CMakeLists.txt with the board's cross
 * toolchain, boot it in QEMU the way the server will (a pty we own as the UART, QMP, -icount),
 * check the banner, wake QEMU's main loop once (QEMU_NOTES.md "Input can stall for good at
 * boot"), and check that every byte value comes back. Also: a C library the board lacks stops
 * the configure step with a message naming the board, the library and what it has.
 * Skips (77) when cmake, ninja, a cross compiler or a QEMU binary is missing.
 */
#include "asserts.h"
#include "e2e_rpc.h"
#include "err.h"
#include "fs.h"
#include "fwbuild.h"
#include "machine.h"
#include "qemu_procs.h"
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MACHINES_DIR MTQ_SOURCE_DIR "/machines"
#define FIRMWARE_DIR MTQ_SOURCE_DIR "/firmware"

/* The temporary directory every build and socket of this run lives in. */
static char tmpdir[64];

/* Reads from fd into buf until `until` (if not NULL) has appeared or n bytes are in, or the
 * deadline passes. Returns the count read; -1 on a read error. */
static ssize_t read_until(int fd, char *buf, size_t n, const char *until, double timeout_s)
{
    size_t got = 0;
    double deadline = mono_now_s() + timeout_s;
    while (got < n) {
        if (until) {
            buf[got] = '\0';
            if (strstr(buf, until))
                break;
        }
        double left = deadline - mono_now_s();
        if (left <= 0)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t k = read(fd, buf + got, n - got - (until ? 1 : 0));
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0)
            return got ? (ssize_t)got : -1;
        got += (size_t)k;
    }
    if (until)
        buf[got < n ? got : n - 1] = '\0';
    return (ssize_t)got;
}

/* Sends one QMP command and waits for its "return" (events in between are skipped). */
static int qmp_command(int fd, const char *json)
{
    char buf[4096];
    if (write(fd, json, strlen(json)) != (ssize_t)strlen(json))
        return -1;
    return read_until(fd, buf, sizeof(buf), "\"return\"", 5.0) > 0 && strstr(buf, "\"return\"")
               ? 0
               : -1;
}

static int qmp_connect(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path))
        return -1;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    for (int i = 0; i < 250; i++) { /* QEMU creates the socket a few ms after exec */
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
            char greeting[1024];
            if (read_until(fd, greeting, sizeof(greeting), "\n", 5.0) > 0 &&
                qmp_command(fd, "{\"execute\":\"qmp_capabilities\"}\n") == 0)
                return fd;
            close(fd);
            return -1;
        }
        close(fd);
        usleep(20000);
    }
    return -1;
}

/* Runs cmake (configure) and ninja -j2 for the echo firmware of board/libc into dir. */
static int build_echo(const struct machine *m, const char *libc, const char *dir, const char *log,
                      struct err *err)
{
    char d_machine[4200], d_libc[64], d_dir[300];
    snprintf(d_machine, sizeof(d_machine), "-DMTQ_MACHINE_FILE=%s", m->path);
    snprintf(d_libc, sizeof(d_libc), "-DMTQ_LIBC=%s", libc);
    snprintf(d_dir, sizeof(d_dir), "%s", dir);
    char *configure[] = {"cmake", "-S", FIRMWARE_DIR, "-B", d_dir, "-G", "Ninja",
                         d_machine, "-DMTQ_PROJECT_TYPE=echo", d_libc,
                         "-DMTQ_WARNING_AS_ERROR=ON", NULL};
    char *build[] = {"ninja", "-j2", "-C", d_dir, NULL};
    int rc = fwbuild_run(configure, log, err);
    if (rc == 0)
        rc = fwbuild_run(build, log, err);
    return rc;
}

/* The QEMU child: stdout and stderr to log, dies with us (a test killed midway leaves no QEMU). */
static pid_t spawn_qemu(char *const argv[], const char *log)
{
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(out);
    return pid;
}

/* Waits up to timeout_s for pid, then kills it; always reaps. Returns its wait status. */
static int reap(pid_t pid, double timeout_s)
{
    int status = 0;
    double deadline = mono_now_s() + timeout_s;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (mono_now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(10000);
    }
    return status;
}

/* Boots elf on m's QEMU and checks the banner and the echo. Failures print why. */
static void boot_and_echo(const struct machine *m, const char *libc, const char *elf,
                          const char *dir)
{
    int master = -1, slave = -1, qmp = -1;
    pid_t pid = -1;
    char sock[128], log[400], slave_path[64], chardev[128], qmp_arg[160], loader[160];
    char banner[256], want[256];
    static char out[512];
    unsigned char in[512];

    snprintf(sock, sizeof(sock), "%s/qmp.sock", tmpdir);
    snprintf(log, sizeof(log), "%s/qemu.log", dir);
    unlink(sock);
    /* posix_openpt, not openpty: <pty.h> is shadowed by emulator/pty.h on the include path. */
    const char *name = NULL;
    if ((master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 || grantpt(master) < 0 ||
        unlockpt(master) < 0 || !(name = ptsname(master)) ||
        (slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        TEST_FAIL("cannot open a pty");
        goto out;
    }
    /* Raw both ends: the transport is binary, and the line discipline must not touch it. */
    struct termios t;
    tcgetattr(slave, &t);
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
    tcsetattr(master, TCSANOW, &t);
    snprintf(slave_path, sizeof(slave_path), "%s", name);

    /* A seed for board_entropy where the emulator writes it (docs/BOARD_CONTRACT.md). */
    snprintf(loader, sizeof(loader), "loader,addr=0x%llx,data=0x%llx,data-len=8",
             (unsigned long long)(m->ram.base + m->ram.size - 16),
             (unsigned long long)0x5eed5eed12345678ull);
    snprintf(chardev, sizeof(chardev), "serial,id=uart0,path=%s", slave_path);
    snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", sock);
    char *argv[64];
    size_t n = 0;
    argv[n++] = (char *)m->qemu_binary;
    argv[n++] = "-M";
    argv[n++] = (char *)m->qemu_machine;
    if (m->qemu_memory[0]) {
        argv[n++] = "-m";
        argv[n++] = (char *)m->qemu_memory;
    }
    for (size_t i = 0; i < m->n_qemu_args; i++)
        argv[n++] = (char *)m->qemu_args[i];
    char *tail[] = {"-nodefaults", "-display", "none", "-no-reboot", "-kernel", (char *)elf,
                    "-device", loader, "-chardev", chardev, "-serial", "chardev:uart0",
                    "-qmp", qmp_arg, "-icount", "shift=0,align=off,sleep=off", NULL};
    for (size_t i = 0; tail[i]; i++)
        argv[n++] = tail[i];
    argv[n] = NULL;

    double t0 = mono_now_s();
    if ((pid = spawn_qemu(argv, log)) < 0) {
        TEST_FAIL("fork failed");
        goto out;
    }
    snprintf(want, sizeof(want), "#microtvm-qemu:echo:%s:%s\n", m->name, libc);
    ssize_t got = read_until(master, banner, sizeof(banner), "\n", 10.0);
    if (got <= 0 || strcmp(banner, want) != 0) {
        fprintf(stderr, "\n  %s/%s: banner \"%s\", want \"%.*s\\n\" (QEMU log: %s)\n", m->name,
                libc, got > 0 ? banner : "(nothing)", (int)strlen(want) - 1, want, log);
        TEST_FAIL("no banner");
        goto out;
    }
    double t_banner = mono_now_s() - t0;
    /* The receiver is on now; one QMP command makes QEMU's main loop look at the pty. */
    if ((qmp = qmp_connect(sock)) < 0 ||
        qmp_command(qmp, "{\"execute\":\"query-status\"}\n") < 0) {
        TEST_FAIL("QMP did not answer");
        goto out;
    }
    /* Every byte value, twice: 0x00, 0xff, CR, LF and friends must all come back unchanged. */
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 7 + 3);
    double t1 = mono_now_s();
    if (write(master, in, sizeof(in)) != (ssize_t)sizeof(in)) {
        TEST_FAIL("write to the pty failed");
        goto out;
    }
    got = read_until(master, out, sizeof(out), NULL, 20.0);
    double t_echo = mono_now_s() - t1;
    if (got != (ssize_t)sizeof(in) || memcmp(in, out, sizeof(in)) != 0) {
        fprintf(stderr, "\n  %s/%s: echoed %zd of %zu bytes%s\n", m->name, libc, got, sizeof(in),
                got == (ssize_t)sizeof(in) ? " (different)" : "");
        TEST_FAIL("echo differs");
        goto out;
    }
    printf("\n  %s/%s: banner after %.0f ms, %zu bytes echoed in %.0f ms", m->name, libc,
           t_banner * 1000, sizeof(in), t_echo * 1000);
    ASSERT_EQ(qmp_command(qmp, "{\"execute\":\"quit\"}\n"), 0);
    int status = reap(pid, 5.0);
    pid = -1;
    ASSERT_TRUE(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
out:
    if (pid > 0) {
        kill(pid, SIGKILL);
        reap(pid, 5.0);
    }
    if (qmp >= 0)
        close(qmp);
    if (master >= 0)
        close(master);
    if (slave >= 0)
        close(slave);
    unlink(sock);
}

static void test_every_board_and_libc_echoes_after_its_banner(void)
{
    char **names = NULL;
    size_t n = 0;
    struct err err;
    err_clear(&err);
    ASSERT_OK_FATAL(mach_list(MACHINES_DIR, &names, &n, &err), &err);
    ASSERT_GT_FATAL(n, 0);
    static struct machine m;
    for (size_t i = 0; i < n; i++) {
        if (mach_load_by_name(&m, MACHINES_DIR, names[i], &err) < 0) {
            fprintf(stderr, "\n  %s\n", err.msg);
            TEST_FAIL("machine file does not load");
            continue;
        }
        for (size_t j = 0; j < m.n_libcs; j++) {
            char dir[300], log[320], elf[340];
            snprintf(dir, sizeof(dir), "%s/%s-%s", tmpdir, m.name, m.libcs[j]);
            snprintf(log, sizeof(log), "%s.log", dir);
            snprintf(elf, sizeof(elf), "%s/firmware.elf", dir);
            if (build_echo(&m, m.libcs[j], dir, log, &err) < 0) {
                fprintf(stderr, "\n  %s/%s: %s\n%s\n", m.name, m.libcs[j], err.msg, err.detail);
                TEST_FAIL("echo firmware does not build");
                continue;
            }
            boot_and_echo(&m, m.libcs[j], elf, dir);
            /* Builds are a few MB each: keep the temporary directory small. */
            fs_remove_tree(dir, NULL);
        }
    }
    mach_free_names(names, n);
}

static void test_a_libc_the_board_lacks_fails_at_configure_with_the_reason(void)
{
    static struct machine m;
    struct err err;
    char dir[300], log[320], *text = NULL;
    ASSERT_OK_FATAL(mach_load_by_name(&m, MACHINES_DIR, "riscv32-virt", &err), &err);
    ASSERT_FALSE_FATAL(mach_has_libc(&m, "newlib"));
    snprintf(dir, sizeof(dir), "%s/lacking-libc", tmpdir);
    snprintf(log, sizeof(log), "%s.log", dir);
    ASSERT_EQ(build_echo(&m, "newlib", dir, log, &err), ERR_TOOL);
    ASSERT_STR_CONTAINS(err.msg, "cmake");
    ASSERT_OK_FATAL(fs_read_file(log, 0, &text, NULL, &err), &err);
    const char *want = "board riscv32-virt has no C library 'newlib': it supports picolibc";
    if (!strstr(text, want)) {
        fprintf(stderr, "\n  configure log lacks \"%s\":\n%s\n", want, text);
        TEST_FAIL("no reason in the configure output");
    }
    char ninja_file[340];
    snprintf(ninja_file, sizeof(ninja_file), "%s/build.ninja", dir);
    ASSERT_FALSE(fs_exists(ninja_file)); /* configure stopped before generating */
    free(text);
    fs_remove_tree(dir, NULL);
}

static void test_no_qemu_is_left_behind(void)
{
    ASSERT_EQ(qemu_procs_children(getpid()), 0);
}

/* Everything the test needs, or the reason it cannot run. */
static bool tools_present(char *why, size_t n)
{
    const char *tools[] = {"cmake", "ninja", NULL};
    for (size_t i = 0; tools[i]; i++)
        if (!fwbuild_on_path(tools[i])) {
            snprintf(why, n, "%s is not on PATH (scripts/install-deps.sh)", tools[i]);
            return false;
        }
    char **names = NULL;
    size_t count = 0;
    struct err err;
    static struct machine m;
    bool ok = mach_list(MACHINES_DIR, &names, &count, &err) == 0;
    for (size_t i = 0; ok && i < count; i++) {
        char cc[128];
        if (mach_load_by_name(&m, MACHINES_DIR, names[i], &err) < 0)
            break; /* the test itself reports a broken machine file */
        snprintf(cc, sizeof(cc), "%sgcc", m.cc_prefix);
        if (!fwbuild_on_path(cc) || !fwbuild_on_path(m.qemu_binary)) {
            snprintf(why, n, "board %s needs %s and %s on PATH (scripts/install-deps.sh)",
                     m.name, cc, m.qemu_binary);
            ok = false;
        }
    }
    if (!ok && !why[0])
        snprintf(why, n, "%s", err.msg);
    mach_free_names(names, count);
    return ok;
}

static int remove_tmpdir(void)
{
    fs_remove_tree(tmpdir, NULL);
    return 0;
}

int test_register(void)
{
    char why[512] = "";
    if (!tools_present(why, sizeof(why))) {
        printf("e2e_firmware: skipping: %s\n", why);
        return TEST_SKIP;
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/mtq-e2e-fw-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_at_end(remove_tmpdir);
    CU_pSuite s = CU_add_suite("e2e_firmware", NULL, NULL);
    CU_ADD_TEST(s, test_a_libc_the_board_lacks_fails_at_configure_with_the_reason);
    CU_ADD_TEST(s, test_every_board_and_libc_echoes_after_its_banner);
    CU_ADD_TEST(s, test_no_qemu_is_left_behind);
    return TEST_RUN;
}
