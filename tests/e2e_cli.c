/*
 * The built command line (MTQ_CLI) against the built template and its real server, QEMU
 * included: every command's happy path (machines, template-dir, create, build, flash, info,
 * serial with a pipe as stdin, run as text and --json with inputs, a baseline and a time
 * limit) and the errors people meet first (no such project, unknown board, run on an echo or
 * unbuilt project, a wrong input size, a build that fails). Each run gets a private temporary
 * directory (projects and the firmware cache) that is removed afterwards.
 */
#include "asserts.h"
#include "cli_run.h"
#include "client.h"
#include "fs.h"
#include "mlf.h"
#include "runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/mtq-e2e-cli-XXXXXX";

static char echo_proj[PATH_MAX], aot_proj[PATH_MAX], model_tar[PATH_MAX];

static int suite_init(void)
{
    if (!mkdtemp(tmpdir))
        return -1;
    /* the firmware cache of the projects we build: ours, not the user's ~/.cache */
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%s/cache", tmpdir);
    setenv("MTQ_CACHE_DIR", cache, 1);
    snprintf(echo_proj, sizeof echo_proj, "%s/echo-proj", tmpdir);
    snprintf(aot_proj, sizeof aot_proj, "%s/aot-proj", tmpdir);
    snprintf(model_tar, sizeof model_tar, "%s/digits_int8.tar", tmpdir);
    char fixture[PATH_MAX];
    struct err e;
    if (mlf_fixture_path("digits_int8", fixture, sizeof fixture, &e) < 0 ||
        mlf_make_tar(fixture, model_tar, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    return 0;
}

static int suite_clean(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

static int run_cli_in(const char *const *args, const char *in_path, int timeout_sec, char **out,
                      char **errs)
{
    return cli_run_binary(tmpdir, args, in_path, timeout_sec, out, errs);
}

static int run_cli(const char *const *args, int timeout_sec, char **out, char **errs)
{
    return run_cli_in(args, NULL, timeout_sec, out, errs);
}

/* The number of lines in text that contain needle. */
static size_t count_lines_with(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = strndup(p, len);
        n += strstr(line, needle) != NULL;
        free(line);
        p = nl ? nl + 1 : NULL;
    }
    return n;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL_FATAL(f);
    ASSERT_EQ(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* The digits samples: sample i's input bytes (64) and reference output hex. */
static cJSON *digit_samples(void)
{
    FILE *f = fopen(MTQ_SOURCE_DIR "/tests/fixtures/mlf/digits_int8_samples.json", "rb");
    char *text = calloc(1, 1 << 20);
    ASSERT_TRUE_FATAL(f && text);
    text[fread(text, 1, (1 << 20) - 1, f)] = '\0';
    fclose(f);
    cJSON *j = cJSON_Parse(text);
    free(text);
    ASSERT_TRUE_FATAL(cJSON_IsObject(j));
    return j;
}

/* How many live qemu-system processes have dir in their command line (their -kernel is a
 * project's flash/firmware.elf): what a test must leave at zero. */
static int qemu_using(const char *dir)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int n = 0;
    while (d && (de = readdir(d))) {
        char path[300], cmd[8192];
        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        size_t len = fread(cmd, 1, sizeof cmd - 1, f);
        fclose(f);
        cmd[len] = '\0';
        const char *slash = strrchr(cmd, '/'); /* argv[0] ends at the first NUL */
        bool is_qemu = strncmp(slash ? slash + 1 : cmd, "qemu-system", 11) == 0;
        for (size_t i = 0; i < len; i++)
            cmd[i] = cmd[i] ? cmd[i] : ' ';
        n += is_qemu && strstr(cmd, dir);
    }
    if (d)
        closedir(d);
    return n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json basenames of the source tree's machines/, sorted. */
static size_t board_files(char *names[], size_t max)
{
    DIR *d = opendir(MTQ_SOURCE_DIR "/machines");
    struct dirent *de;
    size_t n = 0;
    ASSERT_NOT_NULL_FATAL(d);
    while ((de = readdir(d)) && n < max) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0 && de->d_name[0] != '.')
            names[n++] = strndup(de->d_name, len - 5);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], by_name);
    return n;
}

static void test_machines_lists_every_board_in_machines(void)
{
    char *names[64], *out, *errs;
    size_t n = board_files(names, 64);
    ASSERT_GT(n, 0);
    const char *args[] = {"machines", NULL};
    ASSERT_EQ(run_cli(args, 30, &out, &errs), 0);
    ASSERT_STR_EQ(errs, "");
    /* one row per board, in order, after the header, up to a blank line */
    char *line = strchr(out, '\n');
    size_t rows = 0;
    while (line && line[1] && line[1] != '\n') {
        line++;
        if (rows < n)
            ASSERT_TRUE(strncmp(line, names[rows], strlen(names[rows])) == 0 &&
                        line[strlen(names[rows])] == ' ');
        rows++;
        line = strchr(line, '\n');
    }
    ASSERT_EQ(rows, n);
    /* each row says which links the board has (the link option's values) */
    const char *rv = strstr(out, "\nriscv32-virt "), *an385 = strstr(out, "\nmps2-an385 ");
    ASSERT_TRUE(rv && strstr(rv, " uart, fast (virtio-serial) ") < strchr(rv + 1, '\n'));
    ASSERT_TRUE(an385 && strstr(an385, " uart") && strstr(an385, " uart") < strchr(an385 + 1, '\n'));
    /* then each board's TVM model and the exact --target string for tvmc */
    ASSERT_STR_CONTAINS(out, "\nTVM targets");
    ASSERT_STR_CONTAINS(out, "\nmps2-an385    sam3x8e      --target "
                             "\"c -keys=arm_cpu,cpu -device=arm_cpu -mcpu=cortex-m3 "
                             "-model=sam3x8e\"\n");
    ASSERT_STR_CONTAINS(out, "riscv32-virt  host         --target \"c -keys=cpu "
                             "-model=host\"\n");
    free(out);
    free(errs);

    /* --boards-json is the template's boards.json, byte for byte */
    const char *bj[] = {"machines", "--boards-json", NULL};
    ASSERT_EQ(run_cli(bj, 30, &out, &errs), 0);
    char *file = NULL;
    ASSERT_EQ(fs_read_file(MTQ_TEMPLATE_DIR "/boards.json", 0, &file, NULL, NULL), 0);
    ASSERT_TRUE(file && strcmp(file, out) == 0);
    cJSON *boards = cJSON_Parse(out);
    ASSERT_EQ((size_t)cJSON_GetArraySize(boards), n);
    const cJSON *an505 = cJSON_GetObjectItemCaseSensitive(boards, "mps2-an505");
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(an505, "model")->valuestring, "mps2_an521");
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(an505, "is_qemu")));
    cJSON_Delete(boards);
    free(file);
    free(out);
    free(errs);

    const char *json[] = {"machines", "--json", NULL};
    ASSERT_EQ(run_cli(json, 30, &out, &errs), 0);
    cJSON *arr = cJSON_Parse(out);
    ASSERT_TRUE_FATAL(cJSON_IsArray(arr));
    ASSERT_EQ((size_t)cJSON_GetArraySize(arr), n);
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, arr) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
        ASSERT_TRUE(i < n && cJSON_IsString(name) && strcmp(name->valuestring, names[i]) == 0);
        ASSERT_GT(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(m, "ram"), "size")
                      ->valuedouble, 0);
        const cJSON *links = cJSON_GetObjectItemCaseSensitive(m, "links");
        bool rv_board = cJSON_IsString(name) && !strncmp(name->valuestring, "riscv", 5);
        bool fast = cJSON_HasObjectItem(m, "fast_link");
        ASSERT_TRUE(cJSON_IsArray(links));
        ASSERT_EQ(cJSON_GetArraySize(links), fast ? 2 : 1);
        ASSERT_TRUE(fast || !rv_board);
        i++;
    }
    cJSON_Delete(arr);
    free(out);
    free(errs);
    for (size_t k = 0; k < n; k++)
        free(names[k]);
}

static void test_template_dir_prints_the_built_template(void)
{
    char *out, *errs, want[PATH_MAX], launcher[PATH_MAX + 40];
    const char *args[] = {"template-dir", NULL};
    ASSERT_EQ(run_cli(args, 30, &out, &errs), 0);
    ASSERT_NOT_NULL_FATAL(realpath(MTQ_TEMPLATE_DIR, want));
    size_t len = strlen(out);
    ASSERT_TRUE(len > 1 && out[len - 1] == '\n');
    out[len - 1] = '\0';
    ASSERT_STR_EQ(out, want);
    snprintf(launcher, sizeof launcher, "%s/launch_microtvm_api_server.sh", out);
    ASSERT_EQ(access(launcher, X_OK), 0);
    free(out);
    free(errs);
}

static void test_the_template_server_answers_server_info_query(void)
{
    struct cli_client *c = NULL;
    struct err e;
    cJSON *info = NULL;
    ASSERT_OK_FATAL(cli_client_start(MTQ_TEMPLATE_DIR, false, &c, &e), &e);
    int pid = cli_client_pid(c);
    int rc = cli_server_info_query(c, &info, &e);
    if (rc < 0)
        fprintf(stderr, "\n%s\n", e.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "is_template")));
    const char *tvm_options[] = {"verbose", "project_type", "board", "cmsis_path",
                                 "warning_as_error", "compile_definitions", "extra_files_tar"};
    const char *keys[] = {"name", "choices", "default", "type", "required", "optional", "help"};
    for (size_t i = 0; i < sizeof tvm_options / sizeof tvm_options[0]; i++) {
        const cJSON *o = cli_info_option(info, tvm_options[i]);
        ASSERT_NOT_NULL(o);
        for (size_t k = 0; o && k < sizeof keys / sizeof keys[0]; k++)
            ASSERT_NOT_NULL(cJSON_GetObjectItemCaseSensitive(o, keys[k]));
    }
    cJSON_Delete(info);
    ASSERT_OK(cli_client_close(c, 10000, &e), &e);
    ASSERT_LT(kill(pid, 0), 0); /* reaped, not left behind */
}

/* Checks a run_cli status; prints the command's stderr (errs, set by the call) when it is
 * wrong, so a broken server is diagnosed from the test log. */
#define EXPECT_STATUS(call, want)                                                           \
    do {                                                                                    \
        int got_ = (call);                                                                  \
        ASSERT_EQ(got_, want);                                                              \
        if (got_ != (want))                                                                 \
            fprintf(stderr, "\nexit %d (want %d): %s\n", got_, want, errs);                  \
    } while (0)

static void test_create_build_and_flash_make_an_echo_project(void)
{
    char *out, *errs, real[PATH_MAX], want[PATH_MAX + 40];
    const char *create[] = {"create", echo_proj, "--board", "mps2-an385", "--type", "echo",
                            NULL};
    EXPECT_STATUS(run_cli(create, 120, &out, &errs), 0);
    ASSERT_NOT_NULL_FATAL(realpath(echo_proj, real));
    snprintf(want, sizeof want, "%s\n", real);
    ASSERT_STR_EQ(out, want);
    snprintf(want, sizeof want, "%s/launch_microtvm_api_server.sh", echo_proj);
    ASSERT_EQ(access(want, X_OK), 0);
    free(out);
    free(errs);

    /* info before build: not built, not flashed, and says what to do */
    const char *info[] = {"info", echo_proj, NULL};
    EXPECT_STATUS(run_cli(info, 60, &out, &errs), 0);
    ASSERT_STR_CONTAINS(out, "not built (run 'microtvm-qemu build");
    ASSERT_STR_CONTAINS(out, "flashed    no");
    free(out);
    free(errs);

    const char *build[] = {"build", echo_proj, NULL};
    EXPECT_STATUS(run_cli(build, 300, &out, &errs), 0);
    snprintf(want, sizeof want, "%s/build/firmware.elf\n", real);
    ASSERT_STR_EQ(out, want);
    ASSERT_STR_CONTAINS(errs, "built in");
    free(out);
    free(errs);

    const char *flash[] = {"flash", echo_proj, NULL};
    EXPECT_STATUS(run_cli(flash, 60, &out, &errs), 0);
    snprintf(want, sizeof want, "%s/flash/firmware.elf\n", real);
    ASSERT_STR_EQ(out, want);
    free(out);
    free(errs);

    /* and its own server describes it, flashed with the current build */
    const char *json[] = {"info", echo_proj, "--json", NULL};
    EXPECT_STATUS(run_cli(json, 60, &out, &errs), 0);
    cJSON *j = cJSON_Parse(out);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "project_type");
    const cJSON *board = cJSON_GetObjectItemCaseSensitive(j, "board");
    const cJSON *fw = cJSON_GetObjectItemCaseSensitive(j, "firmware");
    ASSERT_TRUE(cJSON_IsString(type) && strcmp(type->valuestring, "echo") == 0);
    ASSERT_TRUE(cJSON_IsString(board) && strcmp(board->valuestring, "mps2-an385") == 0);
    ASSERT_TRUE(cJSON_GetObjectItem(fw, "text") &&
                cJSON_GetObjectItem(fw, "text")->valuedouble > 0);
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "flashed")));
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "flashed_is_current")));
    cJSON_Delete(j);
    free(out);
    free(errs);
}

static void test_serial_echoes_a_pipe_after_the_banner(void)
{
    char *out, *errs, in[PATH_MAX];
    const char text[] = "hello, board\nsecond line\n";
    snprintf(in, sizeof in, "%s/serial-in", tmpdir);
    write_bytes(in, text, sizeof text - 1);
    const char *args[] = {"serial", echo_proj, NULL};
    EXPECT_STATUS(run_cli_in(args, in, 60, &out, &errs), 0);
    ASSERT_STR_EQ(out, "#microtvm-qemu:echo:mps2-an385:picolibc\n"
                       "hello, board\nsecond line\n");
    free(out);
    free(errs);
    unlink(in);
}

static void test_run_refuses_an_echo_project_naming_what_it_needs(void)
{
    char *out, *errs;
    const char *args[] = {"run", echo_proj, NULL};
    ASSERT_EQ(run_cli(args, 60, &out, &errs), 1);
    ASSERT_STR_EQ(out, "");
    ASSERT_STR_CONTAINS(errs, "is an echo project; run needs an aot_standalone "
                              "project");
    ASSERT_STR_CONTAINS(errs, "--type aot_standalone --mlf MODEL.tar --board "
                              "mps2-an385");
    ASSERT_EQ(count_lines_with(errs, "error"), 1);
    free(out);
    free(errs);
}

static void test_run_on_an_unbuilt_project_says_build_it_first(void)
{
    char *out, *errs;
    const char *create[] = {"create", aot_proj, "--board", "mps2-an385", "--type",
                            "aot_standalone", "--mlf", model_tar, NULL};
    EXPECT_STATUS(run_cli(create, 120, &out, &errs), 0);
    free(out);
    free(errs);
    const char *args[] = {"run", aot_proj, NULL};
    ASSERT_EQ(run_cli(args, 60, &out, &errs), 1);
    ASSERT_STR_EQ(out, "");
    ASSERT_STR_CONTAINS(errs, "build it first: microtvm-qemu build");
    free(out);
    free(errs);
}

static void test_run_flashes_a_built_project_and_reports_the_outputs(void)
{
    char *out, *errs;
    const char *build[] = {"build", aot_proj, NULL};
    EXPECT_STATUS(run_cli(build, 300, &out, &errs), 0);
    free(out);
    free(errs);
    /* built, not flashed: run flashes it and says so */
    const char *args[] = {"run", aot_proj, NULL};
    EXPECT_STATUS(run_cli(args, 120, &out, &errs), 0);
    ASSERT_STR_CONTAINS(errs, "flashing");
    ASSERT_STR_CONTAINS(errs, "built but not flashed");
    char elf[PATH_MAX + 32];
    snprintf(elf, sizeof elf, "%s/flash/firmware.elf", aot_proj);
    ASSERT_EQ(access(elf, F_OK), 0);
    /* no --input: the firmware's own (zeros), whose output the generator recorded */
    cJSON *j = digit_samples();
    const char *zero_hex =
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "zero_input"), "output_hex")->valuestring;
    ASSERT_STR_CONTAINS(out, "output 0      'output' int8[10]: ");
    ASSERT_STR_CONTAINS(out, "argmax        ");
    ASSERT_STR_CONTAINS(out, " Hz\n");
    ASSERT_STR_CONTAINS(out, "virtual time  ");
    ASSERT_STR_CONTAINS(out, "firmware      text ");
    free(out);
    free(errs);

    const char *json[] = {"run", aot_proj, "--json", NULL};
    EXPECT_STATUS(run_cli(json, 120, &out, &errs), 0);
    ASSERT_STR_NOT_CONTAINS(errs, "flashing"); /* flashed now */
    cJSON *r = cJSON_Parse(out);
    ASSERT_TRUE_FATAL(cJSON_IsObject(r));
    const cJSON *o = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "outputs"), "output");
    ASSERT_STR_EQ(cJSON_GetObjectItem(o, "hex")->valuestring, zero_hex);
    ASSERT_STR_EQ(cJSON_GetObjectItem(o, "dtype")->valuestring, "int8");
    ASSERT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(o, "values")), 10);
    ASSERT_STR_EQ(cJSON_GetObjectItem(r, "board")->valuestring, "mps2-an385");
    ASSERT_STR_EQ(cJSON_GetObjectItem(r, "libc")->valuestring, "picolibc");
    const cJSON *st = cJSON_GetObjectItem(r, "stats");
    ASSERT_GT(cJSON_GetObjectItem(st, "ticks")->valuedouble, 0);
    ASSERT_GT(cJSON_GetObjectItem(st, "hz")->valuedouble, 0);
    /* counted on a Cortex-M3 too (from its timer: machines/README.md icount_shift) */
    ASSERT_GT(cJSON_GetObjectItem(st, "instructions")->valuedouble, 0);
    const cJSON *count = cJSON_GetObjectItem(r, "count");
    ASSERT_STR_EQ(cJSON_GetObjectItem(count, "metric")->valuestring, "instructions");
    ASSERT_EQ(cJSON_GetObjectItem(count, "value")->valuedouble,
              cJSON_GetObjectItem(st, "instructions")->valuedouble);
    ASSERT_GT(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "firmware"), "text")->valuedouble, 0);
    ASSERT_GT(cJSON_GetObjectItem(r, "host_wall_ms")->valuedouble, 0);
    cJSON_Delete(r);
    cJSON_Delete(j);
    free(out);
    free(errs);
}

static void test_run_sends_input_files_by_name_or_in_order(void)
{
    char *out, *errs, path[PATH_MAX], named[PATH_MAX + 8];
    cJSON *j = digit_samples();
    const cJSON *seven = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "samples"), 7);
    const char *hex = cJSON_GetObjectItem(seven, "input_hex")->valuestring;
    unsigned char bytes[64];
    for (size_t i = 0; i < 64; i++)
        sscanf(hex + 2 * i, "%2hhx", &bytes[i]);
    snprintf(path, sizeof path, "%s/seven.bin", tmpdir);
    write_bytes(path, bytes, 64);
    snprintf(named, sizeof named, "input=%s", path);
    const char *by_order[] = {"run", aot_proj, "--input", path, "--json", NULL};
    const char *by_name_[] = {"run", aot_proj, "-i", named, "--json", NULL};
    const char *const *variants[] = {by_order, by_name_};
    for (size_t v = 0; v < 2; v++) {
        EXPECT_STATUS(run_cli(variants[v], 120, &out, &errs), 0);
        cJSON *r = cJSON_Parse(out);
        const cJSON *o = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "outputs"), "output");
        ASSERT_TRUE(cJSON_IsObject(o) && strcmp(cJSON_GetObjectItem(o, "hex")->valuestring,
                                                cJSON_GetObjectItem(seven, "output_hex")
                                                    ->valuestring) == 0);
        ASSERT_EQ(cJSON_GetObjectItem(r, "argmax")->valueint, 7);
        const cJSON *src = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r,
                                               "inputs"), "input"), "source");
        ASSERT_TRUE(cJSON_IsString(src) && strcmp(src->valuestring, path) == 0);
        cJSON_Delete(r);
        free(out);
        free(errs);
    }

    /* the wrong size: both numbers, and nothing on stdout */
    write_bytes(path, bytes, 63);
    const char *short_[] = {"run", aot_proj, "--input", path, NULL};
    ASSERT_EQ(run_cli(short_, 120, &out, &errs), 1);
    ASSERT_STR_EQ(out, "");
    ASSERT_STR_CONTAINS(errs, "takes 64 bytes; 63 were given");
    ASSERT_EQ(count_lines_with(errs, "error"), 1);
    free(out);
    free(errs);
    /* a name the model does not have: its inputs are listed */
    snprintf(named, sizeof named, "image=%s", path);
    const char *bad_name[] = {"run", aot_proj, "--input", named, NULL};
    ASSERT_EQ(run_cli(bad_name, 120, &out, &errs), 1);
    ASSERT_STR_CONTAINS(errs, "the model has no input 'image'; its inputs: 'input'");
    free(out);
    free(errs);
    /* a missing file: refused before any board starts */
    const char *missing[] = {"run", aot_proj, "--input", "/nonexistent/x.bin", NULL};
    ASSERT_EQ(run_cli(missing, 30, &out, &errs), 1);
    ASSERT_STR_CONTAINS(errs, "--input /nonexistent/x.bin: no such file");
    ASSERT_STR_NOT_CONTAINS(errs, "powering on");
    free(out);
    free(errs);
    unlink(path);
    cJSON_Delete(j);
}

/* The count of a run --json output, or -1. */
static double count_of(const char *json)
{
    cJSON *r = cJSON_Parse(json);
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "count"), "value");
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    cJSON_Delete(r);
    return d;
}

static void test_a_baseline_passes_when_equal_and_fails_with_exit_3_when_exceeded(void)
{
    char *out, *errs, base[PATH_MAX], doctored[PATH_MAX];
    snprintf(base, sizeof base, "%s/base.json", tmpdir);
    snprintf(doctored, sizeof doctored, "%s/doctored.json", tmpdir);
    const char *json[] = {"run", aot_proj, "--json", NULL};
    EXPECT_STATUS(run_cli(json, 120, &out, &errs), 0);
    double count = count_of(out);
    ASSERT_GT(count, 0);
    write_bytes(base, out, strlen(out));
    free(out);
    free(errs);

    /* deterministic: the same count again (instructions are exact), so
     * even a 0 % limit passes */
    const char *same[] = {"run", aot_proj, "--baseline", base, "--max-regression", "0", NULL};
    EXPECT_STATUS(run_cli(same, 120, &out, &errs), 0);
    ASSERT_STR_CONTAINS(out, "limit +0%: ok");
    ASSERT_STR_CONTAINS(out, "baseline      instructions ");
    free(out);
    free(errs);

    /* a baseline 10 % faster than today: +11.1 % is beyond 5 % */
    char text[256];
    double lower = floor(count * 0.9);
    snprintf(text, sizeof text, "{\"board\": \"mps2-an385\", \"count\": {\"metric\": "
             "\"instructions\", \"value\": %.0f}}", lower);
    write_bytes(doctored, text, strlen(text));
    const char *worse[] = {"run", aot_proj, "--json", "--baseline", doctored,
                           "--max-regression", "5", NULL};
    ASSERT_EQ(run_cli(worse, 120, &out, &errs), 3);
    cJSON *r = cJSON_Parse(out); /* still one JSON object on stdout */
    const cJSON *b = cJSON_GetObjectItem(r, "baseline");
    ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItem(b, "regressed")));
    ASSERT_GT(cJSON_GetObjectItem(b, "change_percent")->valuedouble, 5);
    ASSERT_STR_CONTAINS(errs, "REGRESSION");
    cJSON_Delete(r);
    free(out);
    free(errs);

    /* usage: a limit needs a baseline */
    const char *usage[] = {"run", aot_proj, "--max-regression", "5", NULL};
    ASSERT_EQ(run_cli(usage, 30, &out, &errs), 2);
    ASSERT_STR_CONTAINS(errs, "--max-regression needs --baseline");
    free(out);
    free(errs);
}

/* 12345 as "12,345", as the report writes counts. */
static void grouped(double v, char *out, size_t n)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", v);
    size_t len = strlen(digits), k = 0;
    for (size_t i = 0; i < len && k + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
}

/* One operator of the model made slower on purpose (a loop added to its C source): --baseline
 * names it first among the operators that changed, fails on the model's total as before, and
 * the report page lists every operator and both totals. */
static void test_a_slowed_operator_is_named_by_baseline_and_shown_in_the_report(void)
{
    char proj[PATH_MAX], base[PATH_MAX + 32], src[PATH_MAX + 64], page_path[PATH_MAX + 32];
    char *out, *errs;
    snprintf(proj, sizeof proj, "%s/slowed", tmpdir);
    snprintf(base, sizeof base, "%s/slowed-base.json", tmpdir);
    snprintf(src, sizeof src, "%s/model/codegen/host/src/default_lib1.c", proj);
    snprintf(page_path, sizeof page_path, "%s/report.html", tmpdir);
    const char *create[] = {"create", proj, "--board", "mps2-an385", "--type",
                            "aot_standalone", "--mlf", model_tar, NULL};
    const char *build[] = {"build", proj, NULL};
    const char *json[] = {"run", proj, "--json", NULL};
    EXPECT_STATUS(run_cli(create, 120, &out, &errs), 0);
    free(out);
    free(errs);
    EXPECT_STATUS(run_cli(build, 300, &out, &errs), 0);
    free(out);
    free(errs);
    EXPECT_STATUS(run_cli(json, 120, &out, &errs), 0);
    write_bytes(base, out, strlen(out));
    free(out);
    free(errs);

    /* 20 loop iterations at the start of the second dense operator */
    const char *op = "tvmgen_default_fused_nn_dense_add_fixed_point_multiply_clip_cast_1";
    char *text = NULL, *slow = NULL, head[160];
    size_t len = 0;
    struct err e;
    snprintf(head, sizeof head, "%s(int8_t* p0, int8_t* T_cast) {\n", op);
    ASSERT_OK_FATAL(fs_read_file(src, 0, &text, &len, &e), &e);
    char *at = strstr(text, head);
    ASSERT_NOT_NULL_FATAL(at);
    at += strlen(head);
    const char *loop = "  for (volatile int mtq_slow = 0; mtq_slow < 20; ++mtq_slow) {}\n";
    slow = malloc(len + strlen(loop) + 1);
    memcpy(slow, text, (size_t)(at - text));
    strcpy(slow + (at - text), loop);
    strcat(slow, at);
    write_bytes(src, slow, strlen(slow));
    free(text);
    free(slow);
    EXPECT_STATUS(run_cli(build, 300, &out, &errs), 0);
    free(out);
    free(errs);

    const char *cmp[] = {"run", proj, "--json", "--baseline", base, "--report", page_path, NULL};
    EXPECT_STATUS(run_cli(cmp, 120, &out, &errs), 0);
    cJSON *r = cJSON_Parse(out);
    const cJSON *b = cJSON_GetObjectItem(r, "baseline");
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "operators"), 0);
    ASSERT_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(first, "name")), op);
    ASSERT_GT(cJSON_GetObjectItem(first, "change")->valuedouble, 20);
    ASSERT_GT(cJSON_GetObjectItem(first, "self_change")->valuedouble, 20);
    double before = cJSON_GetObjectItem(b, "before")->valuedouble;
    double after = cJSON_GetObjectItem(b, "after")->valuedouble;
    ASSERT_GT(after, before);
    ASSERT_STR_CONTAINS(errs, "grew");
    ASSERT_STR_CONTAINS(errs, "clip_cast_1");

    /* the page: both totals and every operator of this run */
    ASSERT_OK_FATAL(fs_read_file(page_path, 0, &text, &len, &e), &e);
    char num[32];
    grouped(before, num, sizeof num);
    ASSERT_STR_CONTAINS(text, num);
    grouped(after, num, sizeof num);
    ASSERT_STR_CONTAINS(text, num);
    const cJSON *o;
    int n_ops = 0;
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(r, "operators")) {
        ASSERT_STR_CONTAINS(text, cJSON_GetStringValue(cJSON_GetObjectItem(o, "name")));
        n_ops++;
    }
    ASSERT_EQ(n_ops, 4); /* run, main and the two dense operators */
    free(text);
    cJSON_Delete(r);
    free(out);
    free(errs);

    /* and the model's total still decides the exit status */
    const char *limit[] = {"run", proj, "--baseline", base, "--max-regression", "0", NULL};
    EXPECT_STATUS(run_cli(limit, 120, &out, &errs), 3);
    ASSERT_STR_CONTAINS(out, "REGRESSION");
    free(out);
    free(errs);
}

static void test_a_time_limit_too_short_fails_readably_and_leaves_no_qemu(void)
{
    char *out, *errs;
    const char *args[] = {"run", aot_proj, "--timeout", "0.001", NULL};
    time_t t0 = time(NULL);
    ASSERT_EQ(run_cli(args, 60, &out, &errs), 1);
    ASSERT_LT(time(NULL) - t0, 30);
    ASSERT_STR_CONTAINS(errs, "time limit");
    ASSERT_STR_CONTAINS(errs, "--timeout");
    ASSERT_EQ(count_lines_with(errs, "error"), 1);
    ASSERT_EQ(qemu_using(aot_proj), 0);
    free(out);
    free(errs);
    const char *bad[] = {"run", aot_proj, "--timeout", "soon", NULL};
    ASSERT_EQ(run_cli(bad, 30, &out, &errs), 2);
    free(out);
    free(errs);
}

static void test_a_failing_build_is_one_readable_line_and_v_shows_the_compiler(void)
{
    char proj[PATH_MAX], *out, *errs;
    snprintf(proj, sizeof proj, "%s/broken", tmpdir);
    /* a definition that breaks the model's code: TVMBackendAllocWorkspace becomes 1 */
    const char *create[] = {"create", proj, "--board", "mps2-an385", "--type",
                            "aot_standalone", "--mlf", model_tar, "-o",
                            "compile_definitions=TVMBackendAllocWorkspace=1", NULL};
    EXPECT_STATUS(run_cli(create, 120, &out, &errs), 0);
    free(out);
    free(errs);
    const char *build[] = {"build", proj, NULL};
    ASSERT_EQ(run_cli(build, 300, &out, &errs), 1);
    ASSERT_STR_EQ(out, "");
    ASSERT_EQ(count_lines_with(errs, "error"), 1);
    ASSERT_STR_CONTAINS(errs, "microtvm-qemu: error: build: firmware build failed: ");
    ASSERT_STR_CONTAINS(errs, "-v shows");
    ASSERT_STR_NOT_CONTAINS(errs, "{"); /* no JSON-RPC dump */
    free(out);
    free(errs);
    const char *verbose[] = {"-v", "build", proj, NULL};
    ASSERT_EQ(run_cli(verbose, 300, &out, &errs), 1);
    ASSERT_GT(count_lines_with(errs, "TVMBackendAllocWorkspace"), 1); /* the compiler's lines */
    free(out);
    free(errs);
}

static void test_a_missing_project_dir_is_a_clear_error(void)
{
    char proj[PATH_MAX];
    snprintf(proj, sizeof proj, "%s/no-such-project", tmpdir);
    const char *cmds[] = {"build", "flash", "info", "serial", "run"};
    for (size_t i = 0; i < 5; i++) {
        char *out, *errs;
        const char *args[] = {cmds[i], proj, NULL};
        ASSERT_EQ(run_cli(args, 30, &out, &errs), 1);
        ASSERT_STR_EQ(out, "");
        ASSERT_STR_CONTAINS(errs, "no-such-project: no such project directory");
        ASSERT_STR_CONTAINS(errs, "microtvm-qemu create");
        ASSERT_PTR_EQ(strchr(errs, '\n'), errs + strlen(errs) - 1); /* one line */
        free(out);
        free(errs);
    }
}

static void test_the_template_is_not_taken_for_a_project(void)
{
    char *out, *errs;
    const char *args[] = {"info", MTQ_TEMPLATE_DIR, NULL};
    ASSERT_EQ(run_cli(args, 30, &out, &errs), 1);
    ASSERT_STR_CONTAINS(errs, "is the template project");
    free(out);
    free(errs);
}

static void test_an_unknown_board_lists_the_boards(void)
{
    char proj[PATH_MAX], *names[64], *out, *errs;
    size_t n = board_files(names, 64);
    snprintf(proj, sizeof proj, "%s/bad-board", tmpdir);
    const char *args[] = {"create", proj, "--board", "no-such-board", "--type", "echo", NULL};
    ASSERT_EQ(run_cli(args, 30, &out, &errs), 1);
    ASSERT_STR_CONTAINS(errs, "unknown board 'no-such-board'");
    for (size_t i = 0; i < n; i++) {
        ASSERT_STR_CONTAINS(errs, names[i]);
        free(names[i]);
    }
    struct stat st;
    ASSERT_LT(stat(proj, &st), 0);
    free(out);
    free(errs);
}

static void test_no_qemu_of_these_tests_is_left_running(void)
{
    ASSERT_EQ(qemu_using(tmpdir), 0);
}

int test_register(void)
{
    if (access(MTQ_CLI, X_OK) < 0 || access(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh",
                                            X_OK) < 0) {
        printf("skipped: build the command line and the template first (%s)\n", MTQ_CLI);
        return TEST_SKIP;
    }
    signal(SIGPIPE, SIG_IGN);
    CU_pSuite s = CU_add_suite("e2e_cli", suite_init, suite_clean);
    CU_ADD_TEST(s, test_machines_lists_every_board_in_machines);
    CU_ADD_TEST(s, test_template_dir_prints_the_built_template);
    CU_ADD_TEST(s, test_the_template_server_answers_server_info_query);
    CU_ADD_TEST(s, test_create_build_and_flash_make_an_echo_project);
    CU_ADD_TEST(s, test_serial_echoes_a_pipe_after_the_banner);
    CU_ADD_TEST(s, test_run_refuses_an_echo_project_naming_what_it_needs);
    CU_ADD_TEST(s, test_run_on_an_unbuilt_project_says_build_it_first);
    CU_ADD_TEST(s, test_run_flashes_a_built_project_and_reports_the_outputs);
    CU_ADD_TEST(s, test_run_sends_input_files_by_name_or_in_order);
    CU_ADD_TEST(s, test_a_baseline_passes_when_equal_and_fails_with_exit_3_when_exceeded);
    CU_ADD_TEST(s, test_a_slowed_operator_is_named_by_baseline_and_shown_in_the_report);
    CU_ADD_TEST(s, test_a_time_limit_too_short_fails_readably_and_leaves_no_qemu);
    CU_ADD_TEST(s, test_a_failing_build_is_one_readable_line_and_v_shows_the_compiler);
    CU_ADD_TEST(s, test_a_missing_project_dir_is_a_clear_error);
    CU_ADD_TEST(s, test_the_template_is_not_taken_for_a_project);
    CU_ADD_TEST(s, test_an_unknown_board_lists_the_boards);
    CU_ADD_TEST(s, test_no_qemu_of_these_tests_is_left_running);
    return TEST_RUN;
}
