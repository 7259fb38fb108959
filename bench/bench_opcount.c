/*
 * What per-operator counting costs and what of it stays in the counts: builds the digits_int8
 * aot_standalone firmware twice per board, with the counting hooks (MTQ_OPERATOR_COUNTS=ON, the
 * default) and without, runs each once in deterministic mode and prints one JSON object:
 * per board the model's instructions both ways, the calls the hooks saw, the instructions the
 * hooks spent and took out (hidden), and what remains per call (the instrumented functions'
 * own extra instructions: saving arguments around the hook calls). All are instruction counts,
 * exact and the same on every run. Usage: bench_opcount [board...] (default: mps2-an385
 * riscv32-virt). Needs cmake, ninja and the boards' cross compilers.
 */
#include "aot.h"
#include "board_io.h"
#include "emu.h"
#include "fs.h"
#include "machine.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE_MS 20000

/* Runs argv with its output into log; 0 when it exits 0. */
static int run_tool(char *const argv[], const char *log)
{
    fflush(NULL); /* or the child's exit writes our buffered output a second time */
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen(log, "a", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0)
            _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int build(const struct machine *m, const char *dir, bool counts, char *elf, size_t n)
{
    char d_machine[PATH_MAX + 32], log[PATH_MAX + 8];
    snprintf(d_machine, sizeof d_machine, "-DMTQ_MACHINE_FILE=%s", m->path);
    snprintf(log, sizeof log, "%s.log", dir);
    char *configure[] = {"cmake", "-S", MTQ_SOURCE_DIR "/firmware", "-B", (char *)dir, "-G",
                         "Ninja", d_machine, "-DMTQ_PROJECT_TYPE=aot_standalone",
                         "-DMTQ_MODEL_DIR=" MTQ_SOURCE_DIR "/tests/fixtures/mlf/digits_int8",
                         counts ? "-DMTQ_OPERATOR_COUNTS=ON" : "-DMTQ_OPERATOR_COUNTS=OFF", NULL};
    char *ninja[] = {"ninja", "-j2", "-C", (char *)dir, NULL};
    snprintf(elf, n, "%s/firmware.elf", dir);
    return run_tool(configure, log) == 0 && run_tool(ninja, log) == 0 ? 0 : -1;
}

/* Boots elf, sends run%, parses the reply into r. */
static int run_once(const struct machine *m, const char *elf, struct cli_aot_result *r)
{
    struct emu_config c;
    struct err err;
    static char buf[16384];
    size_t got = 0;
    emu_config_init(&c);
    c.machine = m;
    c.image = elf;
    c.deterministic = true;
    struct emu *e = emu_start(&c, &err);
    int rc = e ? 0 : -1;
    struct board_io io = {0};
    if (rc == 0)
        board_io_open(&io, e);
    if (rc == 0)
        rc = emu_run(e, &err) < 0 || board_io_banner(&io, buf, sizeof buf - 1, &got, LINE_MS,
                                                     &err) < 0 ? -1 : 0;
    if (rc == 0)
        rc = board_io_write(&io, "run%", 4, LINE_MS, &err) < 0 ||
             board_io_read_until(&io, "done\n", buf, sizeof buf - 1, &got, LINE_MS, &err) < 0
                 ? -1 : 0;
    if (rc == 0) {
        buf[got] = '\0';
        rc = cli_aot_parse_run(buf, NULL, r, &err);
    }
    if (rc < 0)
        fprintf(stderr, "bench_opcount: %s: %s\n", m->name, err.msg);
    board_io_close(&io);
    emu_free(e);
    return rc;
}

static void board(const char *name, const char *work, bool first)
{
    static struct machine m;
    static struct cli_aot_result on, off;
    struct err err;
    char dir_on[PATH_MAX], dir_off[PATH_MAX], elf_on[PATH_MAX + 16], elf_off[PATH_MAX + 16];
    snprintf(dir_on, sizeof dir_on, "%s/%s-on", work, name);
    snprintf(dir_off, sizeof dir_off, "%s/%s-off", work, name);
    if (mach_load_by_name(&m, MTQ_SOURCE_DIR "/machines", name, &err) < 0 ||
        build(&m, dir_on, true, elf_on, sizeof elf_on) < 0 ||
        build(&m, dir_off, false, elf_off, sizeof elf_off) < 0 || run_once(&m, elf_on, &on) < 0 ||
        run_once(&m, elf_off, &off) < 0) {
        printf("%s    {\"board\": \"%s\", \"error\": \"build or run failed (logs in %s)\"}",
               first ? "" : ",\n", name, work);
        return;
    }
    uint64_t calls = 0;
    for (size_t i = 0; i < on.n_ops; i++)
        calls += on.ops[i].calls;
    double per = calls ? 1.0 / (double)calls : 0;
    printf("%s    {\"board\": \"%s\", \"calls\": %" PRIu64 ", \"operators\": %zu,\n"
           "     \"instructions_without_counting\": %" PRIu64 ",\n"
           "     \"instructions_with_counting\": %" PRIu64 ",\n"
           "     \"hook_instructions_taken_out\": %" PRIu64 ",\n"
           "     \"taken_out_per_call\": %.1f,\n"
           "     \"left_in_the_total_per_call\": %.2f,\n"
           "     \"left_in_the_total_percent\": %.4f}",
           first ? "" : ",\n", name, calls, on.n_ops, off.stats.instret, on.stats.instret,
           on.stats.hidden, (double)on.stats.hidden * per,
           ((double)on.stats.instret - (double)off.stats.instret) * per,
           off.stats.instret ? ((double)on.stats.instret - (double)off.stats.instret) * 100.0 /
                                   (double)off.stats.instret : 0);
    cli_aot_result_close(&on);
    cli_aot_result_close(&off);
    fs_remove_tree(dir_on, NULL);
    fs_remove_tree(dir_off, NULL);
}

int main(int argc, char **argv)
{
    static const char *const fallback[] = {"mps2-an385", "riscv32-virt"};
    char work[] = "/tmp/mtq-bench-opcount-XXXXXX";
    if (!mkdtemp(work)) {
        perror("mkdtemp");
        return 1;
    }
    printf("{\n  \"what\": \"per-operator counting: instructions of the digits_int8 model with "
           "and without the hooks, deterministic mode\",\n  \"boards\": [\n");
    int n = argc > 1 ? argc - 1 : 2;
    for (int i = 0; i < n; i++)
        board(argc > 1 ? argv[i + 1] : fallback[i], work, i == 0);
    printf("\n  ]\n}\n");
    fs_remove_tree(work, NULL);
    return 0;
}
