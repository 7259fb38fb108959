/*
 * End to end (label e2e): in deterministic mode a model run's tick count is the same on every
 * run, not n or n + 1 depending on when the host's command arrived (timer_align in
 * firmware/include/board.h; QEMU_NOTES.md "Deterministic time"). Builds the digits_int8
 * aot_standalone firmware through firmware/CMakeLists.txt for a few boards, boots each several
 * times (a new QEMU each time) and sends `run%` several times per boot, after random host delays,
 * with the command split at a random byte and random other commands before it, while another
 * process keeps a CPU busy. Every run must report the same ticks, ns and instret, and the same
 * per-operator table (default: 5 boots x 2 runs = 10 runs per board). And on every
 * board, loops of known instruction counts (tests/fixtures/count_firmware/loops.c) must read
 * exactly their length plus one constant: a one-instruction difference always shows.
 * Knobs for longer proofs: MTQ_TICKS_BOARDS (comma-separated; default mps2-an385,mps2-an505,
 * riscv32-virt), MTQ_TICKS_BOOTS (default 5), MTQ_TICKS_RUNS (runs per boot, default 2),
 * MTQ_TICKS_FIRMWARE (a firmware/ tree to build instead of this one, e.g. an older copy to
 * compare with; that is the only use of a failing run). Exits 77 when a tool is missing.
 */
#include "aot_session.h"
#include "asserts.h"
#include "board_io.h"
#include "emu.h"
#include "err.h"
#include "fs.h"
#include "fwbuild.h"
#include "machine.h"
#include "qemu_procs.h"
#include "runner.h"

#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MACHINES_DIR MTQ_SOURCE_DIR "/machines"
#define MODEL_DIR MTQ_SOURCE_DIR "/tests/fixtures/mlf/digits_int8"
#define LINE_MS 10000   /* a reply that takes longer means the board hangs */
#define MAX_BOARDS 8
#define MAX_DISTINCT 8
#define MAX_DELAY_US 40000

/* The distinct values one quantity took over a board's runs, with how often each came. */
struct distinct {
    uint64_t value[MAX_DISTINCT];
    int count[MAX_DISTINCT];
    int n;
    bool overflow; /* more than MAX_DISTINCT values (they are all different anyway) */
};

/* File-static fixtures (CUnit tests take no arguments): the scratch directory (builds, the
 * cache), the settings, the CPU burner, and the random state of the host delays. */
static char workdir[] = "/tmp/mtq-e2e-ticks-XXXXXX";
static char boards[MAX_BOARDS][MACH_NAME_MAX];
static int n_boards;
static int n_boots = 5, n_runs = 2;
static char firmware_dir[PATH_MAX] = MTQ_SOURCE_DIR "/firmware";
static pid_t burner = -1;
static uint64_t rng;

/* xorshift64*: the delays need no quality, only variety; the seed is printed for a replay. */
static uint32_t rnd(uint32_t bound)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 32) % bound;
}

static void distinct_add(struct distinct *d, uint64_t v)
{
    for (int i = 0; i < d->n; i++)
        if (d->value[i] == v) {
            d->count[i]++;
            return;
        }
    if (d->n == MAX_DISTINCT) {
        d->overflow = true;
        return;
    }
    d->value[d->n] = v;
    d->count[d->n++] = 1;
}

/* FNV-1a: a table of per-operator counts as one number, so runs compare as distinct values. */
static uint64_t text_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static void distinct_print(const char *what, const struct distinct *d)
{
    printf(" %s", what);
    for (int i = 0; i < d->n; i++)
        printf("%s%" PRIu64 "x%d", i ? "," : "=", d->value[i], d->count[i]);
    if (d->overflow)
        printf(",...");
}

static void report(const char *board, const char *what, const struct err *err)
{
    fprintf(stderr, "\n    %s: %s: %s (code %d)\n", board, what, err->msg, err->code);
    if (err->detail[0])
        fprintf(stderr, "    --- detail ---\n%s\n    --------------\n", err->detail);
}

/* Builds firmware of type for m from the firmware tree fw into workdir/<board>: the digits_int8
 * model for aot_standalone. */
static int build_firmware(const struct machine *m, const char *fw, const char *type, char *elf,
                          size_t elf_size, struct err *err)
{
    char dir[256], log[300], d_machine[PATH_MAX + 32], d_model[PATH_MAX + 32], d_type[64];
    snprintf(dir, sizeof dir, "%s/%s", workdir, m->name);
    snprintf(log, sizeof log, "%s/%s.log", workdir, m->name);
    snprintf(d_machine, sizeof d_machine, "-DMTQ_MACHINE_FILE=%s", m->path);
    snprintf(d_model, sizeof d_model, "-DMTQ_MODEL_DIR=%s", MODEL_DIR);
    snprintf(d_type, sizeof d_type, "-DMTQ_PROJECT_TYPE=%s", type);
    char *configure[] = {"cmake", "-S", (char *)fw, "-B", dir, "-G", "Ninja", d_machine,
                         d_type, d_model, "-DMTQ_WARNING_AS_ERROR=ON", NULL};
    char *build[] = {"ninja", "-j2", "-C", dir, NULL};
    int rc = fwbuild_run(configure, log, err);
    if (rc == 0)
        rc = fwbuild_run(build, log, err);
    if (rc == 0)
        snprintf(elf, elf_size, "%s/firmware.elf", dir);
    return rc;
}

/* Writes text in two pieces split at a random byte, a random pause between them. */
static int send_split(struct board_io *b, const char *text, struct err *err)
{
    size_t len = strlen(text), cut = rnd((uint32_t)len + 1);
    int rc = board_io_write(b, text, cut, LINE_MS, err);
    if (rc == 0) {
        usleep(rnd(5000));
        rc = board_io_write(b, text + cut, len - cut, LINE_MS, err);
    }
    return rc;
}

/* Reads one reply up to and including `end` into buf (NUL-terminated, without the last '\n'). */
static int read_reply(struct board_io *b, const char *end, char *buf, size_t cap,
                      struct err *err)
{
    size_t got = 0;
    int rc = board_io_read_until(b, end, buf, cap - 1, &got, LINE_MS, err);
    buf[got] = '\0';
    if (rc == 0 && got > 0 && buf[got - 1] == '\n')
        buf[got - 1] = '\0';
    return rc;
}

/* Powers the board off: its link, then QEMU. Accepts a board that never booted. */
static void power_off(struct board_io *b)
{
    struct emu *e = b->emu;
    board_io_close(b);
    emu_free(e);
}

/* Starts QEMU on elf into *b and waits for the banner (into buf). On failure nothing is left. */
static int boot(const struct machine *m, const char *elf, struct board_io *b, char *buf,
                size_t cap, struct err *err)
{
    struct emu_config c;
    size_t got = 0;
    emu_config_init(&c);
    c.machine = m;
    c.image = elf;
    c.deterministic = true;
    memset(b, 0, sizeof *b);
    struct emu *e = emu_start(&c, err);
    if (!e)
        return -1;
    board_io_open(b, e);
    if (emu_run(e, err) < 0 || board_io_banner(b, buf, cap - 1, &got, LINE_MS, err) < 0) {
        power_off(b);
        return -1;
    }
    buf[got] = '\0';
    return 0;
}

/* One boot: n_runs `run%` commands, each after a random delay and 0 to 2 other commands.
 * Adds every run's numbers to the distinct sets; returns the number of runs that answered. */
static int boot_and_run(const struct machine *m, const char *elf, struct distinct *ticks,
                        struct distinct *ns, struct distinct *instret, struct distinct *ops)
{
    struct err err;
    static char buf[8192];
    int done = 0;
    struct board_io b;
    int rc = boot(m, elf, &b, buf, sizeof buf, &err);
    if (rc < 0) {
        /* Seen once with a load average of 18 on 2 cores: QMP did not answer within 2 s. A
         * boot is not what this test is about, so it gets one more chance. */
        report(m->name, "boot failed; trying once more", &err);
        rc = boot(m, elf, &b, buf, sizeof buf, &err);
    }
    if (rc < 0) {
        report(m->name, "boot failed again", &err);
        TEST_FAIL("the board did not boot");
        return 0;
    }
    ASSERT_STR_CONTAINS(buf, "#microtvm-qemu:aot_standalone:");
    for (int r = 0; r < n_runs; r++) {
        for (uint32_t k = rnd(3); k > 0; k--) { /* varies what the firmware did before */
            usleep(rnd(MAX_DELAY_US / 4));
            if (send_split(&b, "init%", &err) < 0 ||
                read_reply(&b, "\n", buf, sizeof buf, &err) < 0) {
                report(m->name, "init%", &err);
                TEST_FAIL("init%% failed");
                goto out;
            }
            ASSERT_STR_EQ(buf, "wakeup");
        }
        usleep(rnd(MAX_DELAY_US));
        struct aot_run run;
        if (send_split(&b, "run%", &err) < 0 ||
            read_reply(&b, "done\n", buf, sizeof buf, &err) < 0 ||
            aot_parse_run(buf, &run, &err) < 0) {
            report(m->name, "run%", &err);
            TEST_FAIL("run%% failed");
            goto out;
        }
        ASSERT_EQ(run.rc, 0);
        ASSERT_GT(run.ticks, 0);
        distinct_add(ticks, run.ticks);
        distinct_add(ns, run.ns);
        distinct_add(instret, run.instret);
        ASSERT_GT(run.n_ops, 0);
        distinct_add(ops, text_hash(run.ops_text));
        if (done == 0 && r == 0 && ops->n == 1 && ops->count[0] == 1)
            printf("\n  %s per-operator table (calls:inclusive:self:name):\n%s", m->name,
                   run.ops_text);
        done++;
    }
out:
    power_off(&b);
    return done;
}

static void test_every_run_reports_the_same_ticks_ns_and_instret(void)
{
    printf("\n  firmware %s, %d boots x %d runs per board, random seed %" PRIu64, firmware_dir,
           n_boots, n_runs, rng);
    for (int b = 0; b < n_boards; b++) {
        static struct machine m;
        struct err err;
        char elf[PATH_MAX];
        if (mach_load_by_name(&m, MACHINES_DIR, boards[b], &err) < 0) {
            report(boards[b], "machine file", &err);
            TEST_FAIL("machine file does not load");
            continue;
        }
        if (build_firmware(&m, firmware_dir, "aot_standalone", elf, sizeof elf, &err) < 0) {
            report(m.name, "build", &err);
            TEST_FAIL("firmware does not build");
            continue;
        }
        struct distinct ticks = {0}, ns = {0}, instret = {0}, ops = {0};
        int runs = 0;
        for (int i = 0; i < n_boots; i++)
            runs += boot_and_run(&m, elf, &ticks, &ns, &instret, &ops);
        printf("\n  %-14s %3d runs:", m.name, runs);
        distinct_print("ticks", &ticks);
        distinct_print("ns", &ns);
        distinct_print("instret", &instret);
        printf(" operator tables: %d distinct", ops.n);
        ASSERT_EQ(runs, n_boots * n_runs);
        ASSERT_EQ(ops.n, 1); /* the per-operator table is identical on every run too */
        ASSERT_EQ(ticks.n, 1);
        ASSERT_EQ(ns.n, 1);
        ASSERT_EQ(instret.n, 1);
        ASSERT_TRUE(instret.n == 1 && instret.value[0] > 0); /* counted on every board */
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", workdir, m.name);
        fs_remove_tree(dir, NULL); /* a few MB per board */
    }
    printf("\n");
}

/* Reads the loops firmware's "loop:<iterations>:<extra>:instret=<n>:ticks=<n>" lines from text;
 * returns how many were read into the arrays. */
static int parse_loops(const char *text, uint64_t it[], uint64_t extra[], uint64_t insns[], int max)
{
    int n = 0;
    for (const char *p = strstr(text, "loop:"); p && n < max; p = strstr(p + 1, "loop:")) {
        unsigned long long a, b, c, d;
        if (sscanf(p, "loop:%llu:%llu:instret=%llu:ticks=%llu", &a, &b, &c, &d) == 4) {
            it[n] = a;
            extra[n] = b;
            insns[n++] = c;
        }
    }
    return n;
}

/* Boots the loops firmware (tests/fixtures/count_firmware/loops.c) on m and checks that every
 * measurement is its known instruction count plus one constant: exact to the instruction. */
static void check_loops(const struct machine *m, const char *fw)
{
    struct err err;
    char elf[PATH_MAX];
    static char buf[8192];
    enum { MAX_LOOPS = 80 };
    uint64_t it[MAX_LOOPS], extra[MAX_LOOPS], insns[MAX_LOOPS];
    if (build_firmware(m, fw, "echo", elf, sizeof elf, &err) < 0) {
        report(m->name, "build of the loops firmware", &err);
        TEST_FAIL("loops firmware does not build");
        return;
    }
    struct board_io b;
    if (boot(m, elf, &b, buf, sizeof buf, &err) < 0 ||
        read_reply(&b, "end\n", buf, sizeof buf, &err) < 0) {
        report(m->name, "loops firmware", &err);
        TEST_FAIL("the loops firmware did not report");
        power_off(&b);
        return;
    }
    power_off(&b);
    int n = parse_loops(buf, it, extra, insns, MAX_LOOPS), wrong = 0;
    ASSERT_EQ(n, 64); /* 8 loop lengths x 0..7 extra instructions */
    /* the first is 1 iteration, 0 extra: 2 instructions of loop plus the constant */
    uint64_t constant = n > 0 ? insns[0] - 2 : 0;
    for (int i = 0; i < n; i++)
        if (insns[i] != constant + 2 * it[i] + extra[i]) {
            if (wrong++ < 4)
                printf("\n    %s: %" PRIu64 " iterations + %" PRIu64 " read %" PRIu64
                       " instructions, want %" PRIu64, m->name, it[i], extra[i], insns[i],
                       constant + 2 * it[i] + extra[i]);
        }
    printf("\n  %-14s %2d loops from %" PRIu64 " to %" PRIu64 " instructions: %s", m->name, n,
           n > 0 ? insns[0] : 0, n > 0 ? insns[n - 1] : 0, wrong ? "WRONG" : "all exact");
    ASSERT_EQ(wrong, 0);
}

/* Instruction counts are exact to one instruction on every board (machines/): loops of known
 * length, 1 to 6000007 instructions, each one instruction longer than the one before it. */
static void test_known_loops_count_exactly_on_every_board(void)
{
    struct err err;
    char **names = NULL;
    size_t n_names = 0;
    char fw[PATH_MAX], app[PATH_MAX + 32];
    snprintf(fw, sizeof fw, "%s/loops-firmware", workdir);
    snprintf(app, sizeof app, "%s/apps/echo.c", fw);
    if (fs_copy_tree(MTQ_SOURCE_DIR "/firmware", fw, &err) < 0 ||
        fs_copy_file(MTQ_SOURCE_DIR "/tests/fixtures/count_firmware/loops.c", app, &err) < 0 ||
        mach_list(MACHINES_DIR, &names, &n_names, &err) < 0) {
        report("loops", "set-up", &err);
        TEST_FAIL("set-up failed");
        return;
    }
    for (size_t b = 0; b < n_names; b++) {
        static struct machine m;
        char why[512];
        if (!fwbuild_available(names[b], why, sizeof why)) {
            printf("\n  %-14s skipped: %s", names[b], why);
            continue;
        }
        if (mach_load_by_name(&m, MACHINES_DIR, names[b], &err) < 0) {
            report(names[b], "machine file", &err);
            TEST_FAIL("machine file does not load");
            continue;
        }
        check_loops(&m, fw);
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s/%s", workdir, m.name);
        fs_remove_tree(dir, NULL);
    }
    printf("\n");
    mach_free_names(names, n_names);
    fs_remove_tree(fw, NULL);
}

static void test_no_qemu_is_left_behind(void)
{
    ASSERT_EQ(qemu_procs_children(getpid()), 0);
}

/* A child that keeps one CPU busy, so QEMU competes for the host (the delays then vary more). */
static pid_t start_burner(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(0);
        for (volatile uint64_t x = 0;; x++) {
        }
    }
    return pid;
}

static int suite_init(void)
{
    if (!mkdtemp(workdir))
        return -1;
    char cache[sizeof workdir + 8];
    snprintf(cache, sizeof cache, "%s/cache", workdir);
    setenv("MTQ_CACHE_DIR", cache, 1); /* nothing here may touch the user's cache */
    burner = start_burner();
    return burner > 0 ? 0 : -1;
}

static int suite_clean(void)
{
    if (burner > 0) {
        kill(burner, SIGKILL);
        waitpid(burner, NULL, 0);
        burner = -1;
    }
    fs_remove_tree(workdir, NULL);
    return 0;
}

static int env_count(const char *name, int fallback)
{
    const char *v = getenv(name);
    int n = v && *v ? atoi(v) : fallback;
    return n > 0 ? n : fallback;
}

/* Reads the knobs; false with the reason when a board or tool is missing. */
static bool configure(char *why, size_t n)
{
    const char *list = getenv("MTQ_TICKS_BOARDS");
    char copy[512];
    snprintf(copy, sizeof copy, "%s", list && *list ? list : "mps2-an385,mps2-an505,riscv32-virt");
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t && n_boards < MAX_BOARDS;
         t = strtok_r(NULL, ",", &save))
        snprintf(boards[n_boards++], MACH_NAME_MAX, "%s", t);
    n_boots = env_count("MTQ_TICKS_BOOTS", n_boots);
    n_runs = env_count("MTQ_TICKS_RUNS", n_runs);
    const char *fw = getenv("MTQ_TICKS_FIRMWARE");
    if (fw && *fw)
        snprintf(firmware_dir, sizeof firmware_dir, "%s", fw);
    for (int i = 0; i < n_boards; i++)
        if (!fwbuild_available(boards[i], why, n))
            return false;
    char cmake_lists[PATH_MAX + 32];
    snprintf(cmake_lists, sizeof cmake_lists, "%s/CMakeLists.txt", firmware_dir);
    if (!fs_exists(cmake_lists)) {
        snprintf(why, n, "%.400s/CMakeLists.txt does not exist (MTQ_TICKS_FIRMWARE)",
                 firmware_dir);
        return false;
    }
    rng = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    if (rng == 0)
        rng = 1;
    return true;
}

int test_register(void)
{
    char why[512] = "";
    if (!configure(why, sizeof why)) {
        printf("e2e_ticks: skipping: %s\n", why);
        return TEST_SKIP;
    }
    CU_pSuite s = CU_add_suite("e2e_ticks", suite_init, suite_clean);
    CU_ADD_TEST(s, test_known_loops_count_exactly_on_every_board);
    CU_ADD_TEST(s, test_every_run_reports_the_same_ticks_ns_and_instret);
    CU_ADD_TEST(s, test_no_qemu_is_left_behind);
    return TEST_RUN;
}
