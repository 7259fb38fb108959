/*
 * End to end (label e2e): aot_standalone firmware through the REAL server, driven as TVM drives
 * it (generate_project in the template, then build, flash, open_transport and the line protocol
 * of firmware/README.md over read_transport / write_transport), on real QEMU. Every board in
 * machines/ with every C library it supports runs the digits_int8 model on three sample images:
 * output bytes must equal the host reference program's (<model>_host_ref, the same application
 * built natively), the class the sample's label, and the count (ticks; instret on RISC-V)
 * positive; TVM's `init%` / `infer%` handshake works too. float_tiny runs on an Arm board with
 * an FPU, one without, and both RISC-V boards. Determinism (QEMU_NOTES.md "Deterministic time"):
 * on mps2-an385 and riscv32-virt five boots and five runs in one boot give identical counts and
 * outputs, also while another process keeps a CPU busy; deterministic=false still runs right.
 * Prints a table of counts and text sizes. Exits 77 when the template or a tool is missing.
 */
#include "aot_session.h"
#include "asserts.h"
#include "e2e_rpc.h"
#include "elfsize.h"
#include "fs.h"
#include "fwbuild.h"
#include "machine.h"
#include "mlf.h"
#include "qemu_procs.h"
#include "runner.h"
#include "scratch.h"
#include "session_internal.h"

#include <dirent.h>
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

#define MAX_COMBOS 32
#define MAX_SAMPLES 16
#define LINE_MS 10000       /* a reply line from a board that takes longer means it hangs */
#define HOST_MS 10000
#define SAMPLES_PER_COMBO 3
#define N_REPEATS 5

struct sample {
    char input_hex[AOT_HEX_MAX];
    char output_hex[AOT_HEX_MAX]; /* the generator's (numpy) reference */
    long label;                   /* the expected argmax */
    char host_line[AOT_HEX_MAX + 128]; /* the host reference's "output:0:..." line */
};

struct model {
    const char *name;        /* the fixture: digits_int8, float_tiny */
    char dtype[16];          /* of output 0: int8 or float32 */
    char input_name[64], input_dtype[16];
    char tar[PATH_MAX];
    char host_ref[PATH_MAX];
    struct sample samples[MAX_SAMPLES];
    int n_samples;
    bool host_ok;            /* the host reference ran every sample */
};

struct combo {
    struct machine m;
    char libc[16];
    char proj[PATH_MAX];
    bool ran;                /* generated, built, booted and answered */
    uint64_t ticks, hz, ns, instret, text;
};

/* File-static fixtures (CUnit suites take no arguments): the scratch directory (projects, MLF
 * tars, the firmware build cache, a private $XDG_RUNTIME_DIR for the servers' QMP sockets), the
 * two models and the digits combinations of test 2, which later tests reuse. */
static char workdir[] = "/tmp/mtq-e2e-aot-XXXXXX";
static double started; /* mono_now_s() when the program started */
static char rundir[sizeof workdir + 8];
static struct model digits = {.name = "digits_int8"};
static struct model floaty = {.name = "float_tiny"};
static struct combo combos[MAX_COMBOS];
static int n_combos;
static pid_t busy_pid = -1;

/* A call's result as a CUnit assertion: true when rc >= 0, else reports err and fails. */
static bool ok_(const char *what, int rc, const struct err *err)
{
    if (rc < 0)
        test_report(what, err);
    ASSERT_GE(rc, 0);
    return rc >= 0;
}

#define OK(what, call) ok_(what, (call), &err)

/* ---- samples and the host reference ---- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Index of the first maximum of a little-endian int8 or float32 tensor given as hex (-1 if the
 * hex is malformed): the firmware's rule, recomputed from the bytes it sent. */
static long argmax_of(const char *hex, const char *dtype)
{
    uint8_t bytes[AOT_HEX_MAX / 2];
    size_t n = strlen(hex) / 2;
    if (strlen(hex) % 2 || n > sizeof bytes)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    bool f32 = strcmp(dtype, "float32") == 0;
    size_t es = f32 ? 4 : 1, count = n / es;
    long best = -1;
    double best_v = 0;
    for (size_t i = 0; i < count; i++) {
        double v;
        if (f32) {
            uint32_t u = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 |
                         (uint32_t)bytes[4 * i + 2] << 16 | (uint32_t)bytes[4 * i + 3] << 24;
            float fv;
            memcpy(&fv, &u, sizeof fv);
            v = fv;
        } else {
            v = (int8_t)bytes[i];
        }
        if (best < 0 || v > best_v) {
            best = (long)i;
            best_v = v;
        }
    }
    return best;
}

static bool copy_string(char *dst, size_t cap, const cJSON *item)
{
    if (!cJSON_IsString(item) || strlen(item->valuestring) >= cap)
        return false;
    snprintf(dst, cap, "%s", item->valuestring);
    return true;
}

/* Reads tests/fixtures/mlf/<name>_samples.json into md. */
static bool load_samples(struct model *md)
{
    char path[PATH_MAX], *text = NULL;
    size_t len = 0;
    struct err err = {0};
    snprintf(path, sizeof path, "%s/tests/fixtures/mlf/%s_samples.json", MTQ_SOURCE_DIR,
             md->name);
    if (fs_read_file(path, 1u << 20, &text, &len, &err) < 0) {
        test_report("reading the samples", &err);
        return false;
    }
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(root, "output");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(root, "input");
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "samples");
    bool ok = copy_string(md->dtype, sizeof md->dtype,
                          cJSON_GetObjectItemCaseSensitive(out, "dtype")) &&
              copy_string(md->input_name, sizeof md->input_name,
                          cJSON_GetObjectItemCaseSensitive(in, "name")) &&
              copy_string(md->input_dtype, sizeof md->input_dtype,
                          cJSON_GetObjectItemCaseSensitive(in, "dtype")) &&
              cJSON_IsArray(list);
    const cJSON *s;
    md->n_samples = 0;
    cJSON_ArrayForEach(s, list) {
        if (!ok || md->n_samples == MAX_SAMPLES)
            break;
        struct sample *sm = &md->samples[md->n_samples++];
        const cJSON *am = cJSON_GetObjectItemCaseSensitive(s, "argmax");
        ok = copy_string(sm->input_hex, sizeof sm->input_hex,
                         cJSON_GetObjectItemCaseSensitive(s, "input_hex")) &&
             copy_string(sm->output_hex, sizeof sm->output_hex,
                         cJSON_GetObjectItemCaseSensitive(s, "output_hex")) &&
             cJSON_IsNumber(am);
        sm->label = ok ? (long)am->valuedouble : -1;
    }
    cJSON_Delete(root);
    if (!ok || md->n_samples < SAMPLES_PER_COMBO)
        fprintf(stderr, "\n    %s: malformed or too few samples\n", path);
    return ok && md->n_samples >= SAMPLES_PER_COMBO;
}

/* The host reference's reply to input:0:<hex>% then run%: its output line for that sample. */
static bool host_reference(struct model *md, struct sample *sm)
{
    struct err err = {0};
    char cmds[AOT_HEX_MAX + 64], *out = NULL;
    snprintf(cmds, sizeof cmds, "input:0:%s%%run%%", sm->input_hex);
    if (aot_host_run(md->host_ref, cmds, HOST_MS, &out, &err) < 0) {
        test_report(md->host_ref, &err);
        return false;
    }
    /* banner, "ok", then the run% reply */
    const char *ok = strstr(out, "\nok\n");
    struct aot_run r;
    bool good = ok && aot_parse_run(ok + 4, &r, &err) == 0 && r.n_outputs == 1 &&
                !r.error_line[0];
    if (good)
        snprintf(sm->host_line, sizeof sm->host_line, "%s", r.output_line[0]);
    else
        fprintf(stderr, "\n    %s said: \"%s\" (%s)\n", md->host_ref, out, err.msg);
    free(out);
    return good;
}

/* ---- one board session ---- */

static cJSON *opts(const char *board, const char *libc)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "project_type", "aot_standalone");
    cJSON_AddStringToObject(o, "board", board);
    cJSON_AddStringToObject(o, "libc", libc);
    return o;
}

static cJSON *det_opts(bool deterministic)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "deterministic", deterministic);
    return o;
}

/* Sends cmd and checks the one-line reply equals want. */
static bool expect_reply(struct aot_session *s, const char *cmd, const char *want)
{
    struct err err = {0};
    char reply[256];
    if (!OK(cmd, aot_session_command(s, cmd, LINE_MS, reply, sizeof reply, &err)))
        return false;
    ASSERT_STR_EQ(reply, want);
    if (strcmp(reply, want))
        fprintf(stderr, "\n    %s: got \"%s\", want \"%s\"\n", cmd, reply, want);
    return strcmp(reply, want) == 0;
}

/* Reads the first line of a fresh boot and checks it names aot_standalone, board and libc. */
static bool expect_banner(struct aot_session *s, const struct combo *c)
{
    struct err err = {0};
    char line[256], want[256];
    snprintf(want, sizeof want, "#microtvm-qemu:aot_standalone:%s:%s", c->m.name, c->libc);
    if (!OK("the banner", aot_session_read_line(s, LINE_MS, line, sizeof line, &err)))
        return false;
    ASSERT_STR_EQ(line, want);
    return strcmp(line, want) == 0;
}

/* input:0:<hex>% then run%, parsed into *r; checks the outputs against the host reference and
 * the label, and the stats for sense (rc 0, ns from ticks and hz, and in deterministic mode a
 * positive instruction count: without -icount the counters do not count instructions, and the
 * operator-count hooks' correction can take them to 0). */
static bool run_sample(struct aot_session *s, const struct combo *c, const struct model *md,
                       const struct sample *sm, bool deterministic, struct aot_run *r)
{
    struct err err = {0};
    char cmd[AOT_HEX_MAX + 32], reply[4 * AOT_HEX_MAX];
    snprintf(cmd, sizeof cmd, "input:0:%s%%", sm->input_hex);
    if (!expect_reply(s, cmd, "ok"))
        return false;
    if (!OK("run%", aot_session_command(s, "run%", LINE_MS, reply, sizeof reply, &err)) ||
        !OK("parsing run%", aot_parse_run(reply, r, &err)))
        return false;
    bool ok = r->n_outputs == 1 && !r->error_line[0] && r->rc == 0;
    ASSERT_TRUE(ok);
    if (!ok) {
        fprintf(stderr, "\n    %s/%s: run%% said \"%s\"\n", c->m.name, c->libc, reply);
        return false;
    }
    ASSERT_STR_EQ(r->output_line[0], sm->host_line);
    ASSERT_EQ(argmax_of(r->output_hex[0], md->dtype), sm->label);
    ASSERT_GT(r->ticks, 0);
    ASSERT_EQ(r->hz, c->m.timer_hz);
    ASSERT_TRUE(r->hz > 0 && r->ns == r->ticks / r->hz * 1000000000u +
                                         r->ticks % r->hz * 1000000000u / r->hz);
    if (deterministic) {
        ASSERT_GT(r->instret, 0); /* every board counts them (docs/RESULTS.md) */
        ASSERT_GT(r->n_ops, 0);   /* and per operator */
    }
    bool same = strcmp(r->output_line[0], sm->host_line) == 0 &&
                argmax_of(r->output_hex[0], md->dtype) == sm->label && r->ticks > 0;
    if (!same)
        fprintf(stderr, "\n    %s/%s: \"%s\" ticks %" PRIu64 ", host \"%s\", label %ld\n",
                c->m.name, c->libc, r->output_line[0], r->ticks, sm->host_line, sm->label);
    return same;
}

/* Generates and builds c's project for md (c->proj), through the template's and the
 * project's servers. */
static bool generate_and_build(struct combo *c, const struct model *md)
{
    struct err err = {0};
    struct aot_session s;
    snprintf(c->proj, sizeof c->proj, "%s/%s-%s-%s", workdir, md->name, c->m.name, c->libc);
    if (!OK("generate_project", aot_generate(MTQ_TEMPLATE_DIR, md->tar, c->proj,
                                             opts(c->m.name, c->libc), &err)))
        return false;
    bool ok = OK("starting the server", aot_session_start(&s, c->proj, &err)) &&
              OK("build", aot_session_call(&s, "build", NULL, &err));
    ok = OK("ending the server", aot_session_end(&s, &err)) && ok;
    aot_session_kill(&s);
    struct cli_elf_sizes sz;
    char elf[PATH_MAX + 32];
    snprintf(elf, sizeof elf, "%s/build/firmware.elf", c->proj);
    if (ok && OK("the ELF's sizes", cli_elf_sizes(elf, &sz, &err)))
        c->text = sz.text;
    return ok;
}

/* The whole TVM flow on a generated project: flash, open, banner, init%, info%, n samples
 * starting at sample `first`, infer%, close_transport, EOF. Fills c's counts from the last run. */
static bool flow(struct combo *c, const struct model *md, int first, int n)
{
    struct err err = {0};
    struct aot_session s;
    struct aot_run r = {0};
    char reply[2048], want[128];
    bool ok = OK("starting the server", aot_session_start(&s, c->proj, &err)) &&
              OK("flash", aot_session_call(&s, "flash", NULL, &err)) &&
              OK("open_transport", aot_session_call(&s, "open_transport", NULL, &err)) &&
              expect_banner(&s, c) && expect_reply(&s, "init%", "wakeup") &&
              OK("info%", aot_session_command(&s, "info%", LINE_MS, reply, sizeof reply, &err));
    if (ok) {
        snprintf(want, sizeof want, "\ntensor:input:0:%s:%s:", md->input_name, md->input_dtype);
        ASSERT_TRUE(strncmp(reply, "model:", 6) == 0 && strstr(reply, ":inputs=1:outputs=1:"));
        ASSERT_STR_CONTAINS(reply, want);
        ASSERT_TRUE(strlen(reply) >= 5 && strcmp(reply + strlen(reply) - 5, "\ndone") == 0);
    }
    const struct sample *sm = NULL;
    for (int k = 0; ok && k < n; k++) {
        sm = &md->samples[(first + k) % md->n_samples];
        ok = run_sample(&s, c, md, sm, true, &r);
    }
    if (ok) { /* TVM's demo: the class of the current input, and whole milliseconds */
        snprintf(want, sizeof want, "result:%ld:%" PRIu64, sm->label, r.ticks * 1000u / r.hz);
        ok = expect_reply(&s, "infer%", want);
    }
    ok = ok && OK("close_transport", aot_session_call(&s, "close_transport", NULL, &err));
    long server = aot_session_pid(&s);
    ok = OK("ending the server", aot_session_end(&s, &err)) && ok;
    aot_session_kill(&s);
    ASSERT_EQ(qemu_procs_children((pid_t)server), 0);
    ASSERT_EQ(qemu_procs_children(getpid()), 0);
    if (ok) {
        c->ticks = r.ticks;
        c->hz = r.hz;
        c->ns = r.ns;
        c->instret = r.instret;
    }
    return ok;
}

static struct combo *find_combo(const char *board, const char *libc)
{
    for (int i = 0; i < n_combos; i++)
        if (!strcmp(combos[i].m.name, board) && !strcmp(combos[i].libc, libc))
            return &combos[i];
    return NULL;
}

/* ---- tests ---- */

static void test_the_host_reference_agrees_with_the_generators_outputs(void)
{
    struct model *models[] = {&digits, &floaty};
    for (int k = 0; k < 2; k++) {
        struct model *md = models[k];
        md->host_ok = true;
        for (int i = 0; i < md->n_samples; i++) {
            struct sample *sm = &md->samples[i];
            bool ok = host_reference(md, sm);
            ASSERT_TRUE(ok);
            const char *hex = ok ? strrchr(sm->host_line, ':') + 1 : "";
            ASSERT_STR_EQ(hex, sm->output_hex);
            ASSERT_EQ(argmax_of(sm->output_hex, md->dtype), sm->label);
            md->host_ok = md->host_ok && ok && strcmp(hex, sm->output_hex) == 0;
        }
    }
}

static void test_every_board_and_libc_runs_digits_bit_exact_with_the_host_reference(void)
{
    ASSERT_TRUE_FATAL(digits.host_ok);
    ASSERT_GT_FATAL(n_combos, 0);
    double t0 = mono_now_s();
    for (int i = 0; i < n_combos; i++) {
        struct combo *c = &combos[i];
        double c0 = mono_now_s();
        c->ran = generate_and_build(c, &digits) &&
                 flow(c, &digits, i * SAMPLES_PER_COMBO, SAMPLES_PER_COMBO);
        ASSERT_TRUE(c->ran);
        fprintf(stderr, "\n    %-12s %-11s %s in %.1f s", c->m.name, c->libc,
                c->ran ? "ok" : "FAILED", mono_now_s() - c0);
    }
    fprintf(stderr, "\n    %d combinations in %.1f s\n\n", n_combos, mono_now_s() - t0);
    fprintf(stderr, "    | board | libc | ticks | hz | instret | virtual ns | text bytes |\n");
    fprintf(stderr, "    |---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n_combos; i++) {
        const struct combo *c = &combos[i];
        if (c->ran)
            fprintf(stderr, "    | %s | %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64
                    " | %" PRIu64 " |\n", c->m.name, c->libc, c->ticks, c->hz, c->instret, c->ns,
                    c->text);
    }
}

static void test_float_tiny_runs_bit_exact_on_arm_and_riscv_boards(void)
{
    static const char *const boards[] = {"mps2-an385", "mps2-an386", "riscv32-virt",
                                         "riscv64-virt"};
    ASSERT_TRUE_FATAL(floaty.host_ok);
    int ran[2] = {0, 0}, usable[2] = {0, 0}; /* [0] Arm, [1] RISC-V */
    for (size_t i = 0; i < sizeof boards / sizeof boards[0]; i++) {
        const struct combo *d = find_combo(boards[i], "picolibc");
        if (!d)
            continue; /* not runnable here: main said why */
        struct combo c = *d;
        int riscv = strcmp(c.m.arch, "riscv") == 0;
        c.ran = false;
        usable[riscv]++;
        bool ok = generate_and_build(&c, &floaty) && flow(&c, &floaty, 0, floaty.n_samples);
        ASSERT_TRUE(ok);
        if (ok) {
            fprintf(stderr, "\n    float_tiny on %s: ticks %" PRIu64 ", instret %" PRIu64
                    ", text %" PRIu64, c.m.name, c.ticks, c.instret, c.text);
            ran[riscv]++;
        }
    }
    ASSERT_GE(ran[0] + ran[1], 1);
    ASSERT_TRUE(ran[0] == usable[0] && ran[1] == usable[1]);
}

/* The extra_files_tar TVM's Zephyr tests give aot_standalone_demo: include/tvm/input_data.h
 * and output_data.h as tvm.micro.testing.utils.create_header_file writes them (DLPack include,
 * `const size_t <name>_len`, a C array of the values), here of the first n bytes of hex as
 * int8. Written by this test (tar: `name`.tar in workdir); path in out. */
static bool demo_extra_files(const char *name, const char *hex, size_t n, char *out,
                             size_t outsz)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/%s", workdir, name);
    snprintf(path, sizeof path, "%s/include/tvm", dir);
    if (fs_mkdir_p(path, NULL) < 0)
        return false;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "#include <stddef.h>\n#include <stdint.h>\n#include <dlpack/dlpack.h>\n"
               "const size_t input_data_len = %zu;\nint8_t input_data[] = {", n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%d, ", (int8_t)(hexval(hex[2 * i]) * 16 + hexval(hex[2 * i + 1])));
    fprintf(f, "};\n\n");
    fclose(f);
    snprintf(path, sizeof path, "%s/include/tvm/input_data.h", dir);
    bool ok = fs_write_file(path, text, len, NULL) == 0;
    free(text);
    static const char output_h[] = "#include <stddef.h>\n#include <stdint.h>\n"
                                   "#include <dlpack/dlpack.h>\n"
                                   "const size_t output_data_len = 10;\n"
                                   "int8_t output_data[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, };\n";
    snprintf(path, sizeof path, "%s/include/tvm/output_data.h", dir);
    ok = ok && fs_write_file(path, output_h, strlen(output_h), NULL) == 0;
    /* the tar writer wants a metadata.json; extra files may carry any new top-level file */
    snprintf(path, sizeof path, "%s/metadata.json", dir);
    ok = ok && fs_write_file(path, "{}\n", 3, NULL) == 0;
    snprintf(out, outsz, "%s/%s.tar", workdir, name);
    return ok && mlf_make_tar(dir, out, NULL) == 0;
}

/* generate (aot_standalone_demo on c's board, extra files from tar), build, flash, open,
 * banner, init%, then infer%'s reply into reply. */
static bool demo_infer(struct combo *c, const char *name, const char *tar, char *reply,
                       size_t cap)
{
    struct err err = {0};
    struct aot_session s;
    snprintf(c->proj, sizeof c->proj, "%s/%s", workdir, name);
    cJSON *o = opts(c->m.name, c->libc);
    cJSON_ReplaceItemInObject(o, "project_type", cJSON_CreateString("aot_standalone_demo"));
    cJSON_AddStringToObject(o, "extra_files_tar", tar);
    if (!OK("generate_project", aot_generate(MTQ_TEMPLATE_DIR, digits.tar, c->proj, o, &err)))
        return false;
    bool ok = OK("starting the server", aot_session_start(&s, c->proj, &err)) &&
              OK("build", aot_session_call(&s, "build", NULL, &err)) &&
              OK("flash", aot_session_call(&s, "flash", NULL, &err)) &&
              OK("open_transport", aot_session_call(&s, "open_transport", NULL, &err)) &&
              expect_banner(&s, c) && expect_reply(&s, "init%", "wakeup") &&
              OK("infer%", aot_session_command(&s, "infer%", LINE_MS, reply, cap, &err)) &&
              OK("close_transport", aot_session_call(&s, "close_transport", NULL, &err));
    ok = OK("ending the server", aot_session_end(&s, &err)) && ok;
    aot_session_kill(&s);
    return ok;
}

/* TVM's Zephyr project type: no input commands, infer% classifies include/tvm/input_data.h. */
static void test_aot_standalone_demo_classifies_the_input_data_header(void)
{
    const struct combo *d = find_combo("mps2-an385", "picolibc");
    if (!d || digits.n_samples < 2) {
        fprintf(stderr, "\n    skipped: no mps2-an385 build here (main said why)");
        return;
    }
    struct combo c = *d;
    const struct sample *sm = &digits.samples[1];
    char tar[PATH_MAX], reply[256], want[64];
    ASSERT_TRUE_FATAL(demo_extra_files("demo-ok", sm->input_hex, 64, tar, sizeof tar));
    if (demo_infer(&c, "demo-ok-proj", tar, reply, sizeof reply)) {
        snprintf(want, sizeof want, "result:%ld:", sm->label);
        if (strncmp(reply, want, strlen(want)) != 0)
            fprintf(stderr, "\n    infer%%: got \"%s\", want \"%s...\"\n", reply, want);
        ASSERT_STRN_EQ(reply, want, strlen(want));
    }
    /* an input_data[] of the wrong size is named, not run on */
    ASSERT_TRUE_FATAL(demo_extra_files("demo-short", sm->input_hex, 63, tar, sizeof tar));
    if (demo_infer(&c, "demo-short-proj", tar, reply, sizeof reply))
        ASSERT_STR_EQ(reply, "error:infer: include/tvm/input_data.h holds 63 bytes; "
                             "input 0 takes 64");
}

/* One measurement: the counts and the output of one run%. */
struct meas {
    uint64_t ticks, ns, instret;
    char out[AOT_HEX_MAX + 128];
};

/* a and b are the same measurement: equal outputs, ticks, ns and instret. Every count must be
 * exact: the timed region starts at a fixed phase of the board's tick (timer_align in
 * firmware/include/board.h), so even the tick counts cannot differ by one. */
static bool same_meas(const struct meas *a, const struct meas *b)
{
    return a->ticks == b->ticks && a->ns == b->ns && a->instret == b->instret &&
           strcmp(a->out, b->out) == 0;
}

static bool same_instret(const struct meas *m, int n)
{
    for (int i = 1; i < n; i++)
        if (m[i].instret != m[0].instret)
            return false;
    return true;
}

static void meas_print(const char *what, const struct meas *m, int n)
{
    fprintf(stderr, "\n    %s:", what);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " [%" PRIu64 " ticks, %" PRIu64 " ns, %" PRIu64 " instret]", m[i].ticks,
                m[i].ns, m[i].instret);
}

/* True when QEMU's command line (the pid the board lock names) has -icount. */
static int qemu_has_icount(const struct combo *c)
{
    char path[PATH_MAX + 32], *text = NULL;
    size_t len = 0;
    pid_t q = 0;
    snprintf(path, sizeof path, "%s/flash/board.lock", c->proj);
    if (sess__lock_read(path, NULL, &q, NULL) < 0 || q <= 0)
        return -1;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)q);
    if (fs_read_file(path, 1u << 16, &text, &len, NULL) < 0)
        return -1;
    int has = 0;
    for (size_t i = 0; i < len; i += strlen(text + i) + 1)
        if (strcmp(text + i, "-icount") == 0)
            has = 1;
    free(text);
    return has;
}

/* N_REPEATS boots (open_transport .. close_transport) of one run each, then one boot with
 * N_REPEATS runs, all in one server, sample 7 as input: into m[0 .. 2 * N_REPEATS). */
static bool measure(struct combo *c, bool deterministic, struct meas *m)
{
    struct err err = {0};
    struct aot_session s;
    struct aot_run r;
    const struct sample *sm = &digits.samples[7 % digits.n_samples];
    bool ok = OK("starting the server", aot_session_start(&s, c->proj, &err)) &&
              OK("flash", aot_session_call(&s, "flash", det_opts(deterministic), &err));
    for (int boot = 0; ok && boot <= N_REPEATS; boot++) {
        ok = OK("open_transport",
                aot_session_call(&s, "open_transport", det_opts(deterministic), &err)) &&
             expect_banner(&s, c);
        if (ok && boot == 0)
            ASSERT_EQ(qemu_has_icount(c), deterministic ? 1 : 0);
        int runs = boot < N_REPEATS ? 1 : N_REPEATS;
        for (int k = 0; ok && k < runs; k++) {
            ok = run_sample(&s, c, &digits, sm, deterministic, &r);
            struct meas *x = &m[boot < N_REPEATS ? boot : N_REPEATS + k];
            x->ticks = r.ticks;
            x->ns = r.ns;
            x->instret = r.instret;
            snprintf(x->out, sizeof x->out, "%s", r.output_line[0]);
        }
        ok = ok && OK("close_transport", aot_session_call(&s, "close_transport", NULL, &err));
    }
    ok = OK("ending the server", aot_session_end(&s, &err)) && ok;
    aot_session_kill(&s);
    ASSERT_EQ(qemu_procs_children(getpid()), 0);
    return ok;
}

static const char *const DET_BOARDS[] = {"mps2-an385", "riscv32-virt"};
static struct meas idle_meas[2][2 * N_REPEATS];
static bool idle_ok[2];

/* Measures both determinism boards and checks every measurement equals the first one. */
static void check_determinism(bool busy)
{
    int ran = 0;
    for (int b = 0; b < 2; b++) {
        struct combo *c = find_combo(DET_BOARDS[b], "picolibc");
        if (!c || !c->ran)
            continue;
        struct meas m[2 * N_REPEATS];
        memset(m, 0, sizeof m);
        bool ok = measure(c, true, m);
        ASSERT_TRUE(ok);
        if (!ok)
            continue;
        ran++;
        bool same = true;
        uint64_t lo = m[0].ticks, hi = m[0].ticks;
        for (int i = 1; i < 2 * N_REPEATS; i++) {
            same = same && same_meas(&m[i], &m[0]);
            lo = m[i].ticks < lo ? m[i].ticks : lo;
            hi = m[i].ticks > hi ? m[i].ticks : hi;
        }
        ASSERT_TRUE(same);
        meas_print(c->m.name, m, 2 * N_REPEATS);
        if (hi != lo)
            fprintf(stderr, "\n    %s: ticks from %" PRIu64 " to %" PRIu64 " (instret %s)",
                    c->m.name, lo, hi, same_instret(m, 2 * N_REPEATS) ? "equal" : "differs");
        if (!busy) {
            memcpy(idle_meas[b], m, sizeof m);
            idle_ok[b] = true;
        } else if (idle_ok[b]) { /* the host's load changes nothing the board measures */
            ASSERT_TRUE(same_meas(&m[0], &idle_meas[b][0]));
        }
    }
    ASSERT_GT(ran, 0);
}

static void test_five_boots_and_five_runs_in_a_boot_report_identical_counts_and_outputs(void)
{
    check_determinism(false);
}

static void test_counts_stay_identical_while_another_process_keeps_a_cpu_busy(void)
{
    busy_pid = fork();
    ASSERT_GE_FATAL(busy_pid, 0);
    if (busy_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (volatile unsigned long spin = 0;; spin++)
            ;
    }
    check_determinism(true);
    kill(busy_pid, SIGKILL);
    ASSERT_EQ(waitpid(busy_pid, NULL, 0), busy_pid);
    busy_pid = -1;
}

static void test_with_deterministic_false_outputs_stay_right_and_counts_positive(void)
{
    int ran = 0;
    for (int b = 0; b < 2; b++) {
        struct combo *c = find_combo(DET_BOARDS[b], "picolibc");
        if (!c || !c->ran)
            continue;
        struct meas m[2 * N_REPEATS];
        memset(m, 0, sizeof m);
        bool ok = measure(c, false, m); /* run_sample checks outputs and counts */
        ASSERT_TRUE(ok);
        if (ok) {
            ran++;
            meas_print(c->m.name, m, 2 * N_REPEATS);
        }
    }
    ASSERT_GT(ran, 0);
}

static bool dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n == 0;
}

static void test_nothing_is_left_running_or_listening(void)
{
    ASSERT_EQ(qemu_procs_children(getpid()), 0);
    ASSERT_TRUE(dir_is_empty(rundir)); /* no QMP socket or runtime directory */
    ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1); /* no child at all, not even a zombie */
}

/* ---- setup ---- */

/* Fills combos from the template's machines/ (every board, every libc it lists) whose
 * toolchain and QEMU are here; prints why any is left out. */
static void list_combos(void)
{
    char dir[PATH_MAX], **names = NULL;
    size_t n = 0;
    struct err err = {0};
    snprintf(dir, sizeof dir, "%s/machines", MTQ_TEMPLATE_DIR);
    if (mach_list(dir, &names, &n, &err) < 0) {
        test_report("listing the boards", &err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct machine m;
        char gcc[MACH_NAME_MAX + 8];
        if (mach_load_by_name(&m, dir, names[i], &err) < 0) {
            test_report(names[i], &err);
            continue;
        }
        snprintf(gcc, sizeof gcc, "%sgcc", m.cc_prefix);
        if (!fwbuild_on_path(gcc) || !fwbuild_on_path(m.qemu_binary)) {
            fprintf(stderr, "e2e_aot: skipping %s: %s or %s is not on PATH "
                    "(scripts/install-deps.sh)\n", m.name, gcc, m.qemu_binary);
            continue;
        }
        for (size_t k = 0; k < m.n_libcs && n_combos < MAX_COMBOS; k++) {
            combos[n_combos].m = m;
            snprintf(combos[n_combos].libc, sizeof combos[n_combos].libc, "%s", m.libcs[k]);
            n_combos++;
        }
    }
    mach_free_names(names, n);
}

static int suite_init(void)
{
    struct err err = {0};
    if (scratch_make(workdir, rundir, sizeof rundir, NULL, 0) < 0)
        return -1;
    struct model *models[] = {&digits, &floaty};
    for (int k = 0; k < 2; k++) {
        char fixture[PATH_MAX];
        snprintf(models[k]->tar, sizeof models[k]->tar, "%s/%s.tar", workdir, models[k]->name);
        if (mlf_fixture_path(models[k]->name, fixture, sizeof fixture, &err) < 0 ||
            mlf_make_tar(fixture, models[k]->tar, &err) < 0) {
            test_report(models[k]->name, &err);
            return -1;
        }
    }
    return 0;
}

static int suite_clean(void)
{
    if (busy_pid > 0) { /* a fatal assert skipped the test's own cleanup */
        kill(busy_pid, SIGKILL);
        waitpid(busy_pid, NULL, 0);
    }
    return fs_remove_tree(workdir, NULL);
}

/* The scratch directory must be gone (suite_clean removes it); the time is for the README. */
static int end_of_run(void)
{
    int left = 0;
    if (fs_exists(workdir)) {
        fprintf(stderr, "e2e_aot: %s is still there\n", workdir);
        left++;
    }
    fprintf(stderr, "e2e_aot: %.1f s in all\n", mono_now_s() - started);
    return left;
}

int test_register(void)
{
    started = mono_now_s();
    /* QEMUs orphaned by a dead server come to us, so the leak checks see them */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (!fs_exists(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh")) {
        fprintf(stderr, "e2e_aot: skipping: no template at %s (build the template_project "
                "target)\n", MTQ_TEMPLATE_DIR);
        return TEST_SKIP;
    }
    if (!fwbuild_on_path("cmake") || !fwbuild_on_path("ninja")) {
        fprintf(stderr, "e2e_aot: skipping: cmake or ninja is not on PATH\n");
        return TEST_SKIP;
    }
    struct model *models[] = {&digits, &floaty};
    for (int k = 0; k < 2; k++) {
        snprintf(models[k]->host_ref, sizeof models[k]->host_ref, "%s/bin/%s_host_ref",
                 MTQ_BUILD_DIR, models[k]->name);
        if (!fs_exists(models[k]->host_ref)) {
            fprintf(stderr, "e2e_aot: skipping: no host reference %s (build the %s_host_ref "
                    "target)\n", models[k]->host_ref, models[k]->name);
            return TEST_SKIP;
        }
        if (!load_samples(models[k]))
            return 1;
    }
    list_combos();
    if (n_combos == 0) {
        fprintf(stderr, "e2e_aot: skipping: no board can run here\n");
        return TEST_SKIP;
    }
    test_at_end(end_of_run);
    CU_pSuite s = CU_add_suite("e2e_aot", suite_init, suite_clean);
    CU_ADD_TEST(s, test_the_host_reference_agrees_with_the_generators_outputs);
    CU_ADD_TEST(s, test_every_board_and_libc_runs_digits_bit_exact_with_the_host_reference);
    CU_ADD_TEST(s, test_float_tiny_runs_bit_exact_on_arm_and_riscv_boards);
    CU_ADD_TEST(s, test_aot_standalone_demo_classifies_the_input_data_header);
    CU_ADD_TEST(s, test_five_boots_and_five_runs_in_a_boot_report_identical_counts_and_outputs);
    CU_ADD_TEST(s, test_counts_stay_identical_while_another_process_keeps_a_cpu_busy);
    CU_ADD_TEST(s, test_with_deterministic_false_outputs_stay_right_and_counts_positive);
    CU_ADD_TEST(s, test_nothing_is_left_running_or_listening);
    return TEST_RUN;
}
