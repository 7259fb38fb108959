/*
 * The aot_standalone application on the host (firmware/aot/ with tests/support/host_board.c):
 * the workspace arena, the command protocol, and the digits model classifying the sample images
 * exactly as scripts/make_digits_model.py's integer reference did. Needs the host builds of
 * tests/support/models.cmake; without them it says so and skips.
 */

#ifndef MTQ_HAVE_AOT_HOST
#include "runner.h"

#include <stdio.h>

int test_register(void)
{
    printf("test_aot_app: skipped: tests/support/models.cmake is not include()d from "
           "tests/CMakeLists.txt, so the host builds of the aot_standalone app do not exist\n");
    return TEST_SKIP;
}
#else

#include "app.h"
#include "arena.h"
#include "asserts.h"
#include "host_board.h"
#include "model.h"
#include "runner.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

/* Feeds a command string to the app and returns what it replied (valid until the next call). */
static const char *send(const char *text, size_t n)
{
    host_board_capture_start();
    for (size_t i = 0; i < n; i++)
        aot_app_feed((unsigned char)text[i]);
    return host_board_captured(NULL);
}

static const char *cmd(const char *text)
{
    return send(text, strlen(text));
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (len + 2 > cap) {
            cap = cap ? cap * 2 : 4096;
            char *g = realloc(buf, cap);
            if (g == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = g;
        }
        buf[len++] = (char)c;
    }
    fclose(f);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

static cJSON *load_samples(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/fixtures/mlf/%s", MTQ_SOURCE_DIR, name);
    char *text = read_text(path);
    ASSERT_NOT_NULL_FATAL(text);
    cJSON *root = cJSON_Parse(text);
    free(text);
    ASSERT_NOT_NULL_FATAL(root);
    return root;
}

/* Runs a host reference program with stdin from text; returns its stdout (caller frees). */
static char *run_host_ref(const char *program, const char *text)
{
    char path[1024], command[1400];
    snprintf(path, sizeof(path), "%s/bin/%s", MTQ_BUILD_DIR, program);
    snprintf(command, sizeof(command), "printf '%%s' '%s' | '%s'", text, path);
    FILE *p = popen(command, "r");
    if (p == NULL)
        return NULL;
    char *out = NULL;
    size_t len = 0, cap = 0;
    int c;
    while ((c = fgetc(p)) != EOF) {
        if (len + 2 > cap) {
            cap = cap ? cap * 2 : 4096;
            char *g = realloc(out, cap);
            if (g == NULL)
                break;
            out = g;
        }
        out[len++] = (char)c;
    }
    pclose(p);
    if (out != NULL)
        out[len] = '\0';
    return out;
}

static int suite_init(void)
{
    aot_app_init();
    return 0;
}

static int suite_clean(void)
{
    host_board_capture_stop();
    host_board_set_input(NULL, 0);
    return 0;
}

/* ---- the arena ---- */

static void test_arena_blocks_are_aligned_even_on_an_unaligned_base(void)
{
    static uint8_t mem[1024 + 3];
    struct aot_arena a;
    aot_arena_init(&a, mem + 3, 1024);
    for (int i = 0; i < 5; i++) {
        void *p = aot_arena_alloc(&a, (uint64_t)(1 + 7 * i));
        ASSERT_NOT_NULL_FATAL(p);
        ASSERT_EQ((uintptr_t)p % AOT_ARENA_ALIGN, 0);
        ASSERT_TRUE((uint8_t *)p >= mem + 3 && (uint8_t *)p + 1 + 7 * i <= mem + 3 + 1024);
    }
    ASSERT_EQ(a.live, 5);
}

static void test_arena_frees_newest_first_and_refuses_any_other_order(void)
{
    static uint8_t mem[512];
    struct aot_arena a;
    aot_arena_init(&a, mem, sizeof(mem));
    void *x = aot_arena_alloc(&a, 10), *y = aot_arena_alloc(&a, 20);
    ASSERT_NOT_NULL_FATAL(x);
    ASSERT_NOT_NULL_FATAL(y);
    size_t top = a.top;
    ASSERT_EQ(aot_arena_free(&a, x), -1); /* x is not the newest */
    ASSERT_EQ(a.top, top);
    ASSERT_EQ(aot_arena_free(&a, NULL), -1);
    ASSERT_EQ(aot_arena_free(&a, y), 0);
    ASSERT_EQ(aot_arena_free(&a, y), -1); /* twice */
    ASSERT_EQ(aot_arena_free(&a, x), 0);
    ASSERT_EQ(a.top, 0);
    ASSERT_EQ(a.live, 0);
    ASSERT_GE(a.peak, 30);
    /* the space is reused: the same first block comes back */
    ASSERT_PTR_EQ(aot_arena_alloc(&a, 10), x);
}

static void test_arena_returns_null_and_records_a_request_that_does_not_fit(void)
{
    static uint8_t mem[64] __attribute__((aligned(16)));
    struct aot_arena a;
    aot_arena_init(&a, mem, sizeof(mem));
    void *p = aot_arena_alloc(&a, 32);
    ASSERT_NOT_NULL(p);
    ASSERT_NULL(aot_arena_alloc(&a, 32));
    ASSERT_EQ(a.failed, 32);
    ASSERT_NULL(aot_arena_alloc(&a, UINT64_MAX)); /* no overflow in the size check */
    ASSERT_EQ(a.live, 1);
    ASSERT_EQ(aot_arena_free(&a, p), 0);
    aot_arena_reset(&a);
    ASSERT_EQ(a.failed, 0);
    ASSERT_NOT_NULL(aot_arena_alloc(&a, 48)); /* exactly the rest after one header */
    ASSERT_NULL(aot_arena_alloc(&a, 0));
}

static void test_arena_gives_distinct_blocks_for_zero_bytes(void)
{
    static uint8_t mem[128];
    struct aot_arena a;
    aot_arena_init(&a, mem, sizeof(mem));
    void *p = aot_arena_alloc(&a, 0), *q = aot_arena_alloc(&a, 0);
    ASSERT_NOT_NULL(p);
    ASSERT_NOT_NULL(q);
    ASSERT_PTR_NE(p, q);
}

/* ---- the protocol ---- */

static void test_init_answers_wakeup(void)
{
    ASSERT_STR_EQ(cmd("init%"), "wakeup\n");
    ASSERT_STR_EQ(cmd("\r\ninit\r\n%"), "wakeup\n"); /* line ends are ignored */
}

static void test_info_lists_the_model_tensors_from_metadata(void)
{
    const char *out = cmd("info%");
    char want[256];
    snprintf(want, sizeof(want), "model:default:inputs=1:outputs=1:workspace=%zu:arena=1344\n"
             "tensor:input:0:input:int8:64\ntensor:output:0:output:int8:10\ndone\n",
             aot_model_workspace_bytes);
    ASSERT_STR_EQ(out, want);
    ASSERT_EQ(aot_model_workspace_bytes, 160);
}

static void test_digits_model_classifies_each_sample_as_the_numpy_reference_did(void)
{
    cJSON *root = load_samples("digits_int8_samples.json");
    cJSON *samples = cJSON_GetObjectItemCaseSensitive(root, "samples");
    ASSERT_GE_FATAL(cJSON_GetArraySize(samples), 10);
    cJSON *s;
    cJSON_ArrayForEach(s, samples) {
        const char *in = cJSON_GetObjectItemCaseSensitive(s, "input_hex")->valuestring;
        const char *expect = cJSON_GetObjectItemCaseSensitive(s, "output_hex")->valuestring;
        int argmax = cJSON_GetObjectItemCaseSensitive(s, "argmax")->valueint;
        char line[512];
        snprintf(line, sizeof(line), "input:0:%s%%", in);
        ASSERT_STR_EQ(cmd(line), "ok\n");
        char want[512];
        snprintf(want, sizeof(want), "output:0:output:int8:%s\n"
                 "stats:ticks=1:hz=1000:ns=1000000:instret=0:rc=0:workspace=", expect);
        const char *out = cmd("run%");
        ASSERT_STRN_EQ(out, want, strlen(want));
        ASSERT_STR_CONTAINS(out, "\ndone\n");
        snprintf(want, sizeof(want), "result:%d:1\n", argmax);
        ASSERT_STR_EQ(cmd("infer%"), want);
    }
    cJSON_Delete(root);
}

static void test_run_reports_the_workspace_peak_within_the_arena(void)
{
    const char *out = cmd("run%");
    const char *w = strstr(out, ":workspace=");
    ASSERT_NOT_NULL_FATAL(w);
    long peak = strtol(w + 11, NULL, 10);
    /* at least the model's own figure, at most that plus two blocks' headers and padding */
    ASSERT_TRUE(peak >= 160 && peak <= 160 + 2 * (AOT_ARENA_HEADER + AOT_ARENA_ALIGN));
}

static void test_bad_hex_gets_an_error_and_zeroes_the_input(void)
{
    ASSERT_STR_EQ(cmd("input:0:0102zz%"),
                  "error:input 0 (input): 'z' at hex digit 4 is not a hex digit; "
                  "the input is now zeros\n");
    const uint8_t *data = aot_model_inputs[0].data;
    int zeros = 1;
    for (size_t i = 0; i < aot_model_inputs[0].size; i++)
        zeros &= data[i] == 0;
    ASSERT_TRUE(zeros);
    ASSERT_STR_EQ(cmd("init%"), "wakeup\n"); /* the parser is back in step */
}

static void test_input_of_the_wrong_length_is_refused(void)
{
    ASSERT_STR_EQ(cmd("input:0:00%"),
                  "error:input 0 (input): got 2 hex digits, want 128 (64 bytes of "
                  "int8); the input is now zeros\n");
    char line[300];
    memset(line, 0, sizeof(line));
    memcpy(line, "input:0:", 8);
    memset(line + 8, 'a', 130);
    line[138] = '%';
    ASSERT_STR_EQ(cmd(line), "error:input 0 (input): more than 128 hex digits (64 "
                             "bytes); the input is now zeros\n");
}

static void test_input_index_must_name_an_input(void)
{
    ASSERT_STR_EQ(cmd("input:1:00%"), "error:input 1: no such input (the model has 1; "
                                      "info% lists them)\n");
    ASSERT_STR_EQ(cmd("input:x:00%"), "error:input: bad index 'x': want a decimal "
                                      "number\n");
    ASSERT_STR_EQ(cmd("input::00%"), "error:input: bad index '': want a decimal "
                                     "number\n");
    ASSERT_STR_EQ(cmd("input:0%"), "error:input: want input:<index>:<hex>% (the "
                                   "tensor's bytes as hex)\n");
}

static void test_unknown_and_empty_commands_get_an_error_line(void)
{
    ASSERT_STR_EQ(cmd("hello%"), "error:unknown command 'hello'; commands: init infer "
                                 "info input:<i>:<hex> run exit:<code>, each ended by %\n");
    ASSERT_STRN_EQ(cmd("%"), "error:empty command;", 20);
    /* control and high bytes are never echoed as they are */
    const char bad[] = {'a', 1, (char)0xff, (char)0xfd, '%'};
    ASSERT_STRN_EQ(send(bad, sizeof(bad)), "error:unknown command 'a?\?\?'", 28);
}

static void test_an_overlong_command_is_refused_up_to_its_end(void)
{
    char line[200];
    memset(line, 'x', 150);
    strcpy(line + 150, "%init%");
    ASSERT_STR_EQ(cmd(line), "error:command too long (over 48 characters before its "
                             "'%')\nwakeup\n");
}

static void test_exit_sends_bye_and_ends_with_the_code(void)
{
    jmp_buf jb;
    host_board_catch_exit(&jb);
    if (setjmp(jb) == 0) {
        cmd("exit:3%");
        TEST_FAIL("exit returned");
    }
    host_board_catch_exit(NULL);
    ASSERT_EQ(host_board_exit_code(), 3);
    ASSERT_STR_EQ(host_board_captured(NULL), "bye\n");
    ASSERT_STR_EQ(cmd("exit:256%"), "error:exit: bad code '256': want "
                                    "exit:<0..255>%\n");
}

static void test_random_bytes_never_crash_and_get_only_protocol_lines(void)
{
    jmp_buf jb;
    host_board_catch_exit(&jb);
    uint32_t x = 12345;
    for (int round = 0; round < 200; round++) {
        char buf[256];
        for (size_t i = 0; i < sizeof(buf); i++) {
            x = x * 1103515245u + 12345u;
            /* mostly protocol characters, so the parser gets deep into its states */
            static const char alphabet[] = "input:0123456789abcdefxz%%%\r\nruninfoinitexit";
            buf[i] = (x >> 24) % 4 == 0 ? (char)(x >> 16) : alphabet[(x >> 16) % 44];
        }
        if (setjmp(jb) != 0)
            continue; /* the bytes spelled exit:<n>% */
        const char *out = send(buf, sizeof(buf));
        for (const char *line = out; *line != '\0';) {
            ASSERT_TRUE(strncmp(line, "error:", 6) == 0 || strncmp(line, "ok\n", 3) == 0 ||
                        strncmp(line, "wakeup\n", 7) == 0 || strncmp(line, "result:", 7) == 0 ||
                        strncmp(line, "output:", 7) == 0 || strncmp(line, "stats:", 6) == 0 ||
                        strncmp(line, "done\n", 5) == 0 || strncmp(line, "model:", 6) == 0 ||
                        strncmp(line, "tensor:", 7) == 0);
            for (const char *c = line; *c != '\n' && *c != '\0'; c++)
                ASSERT_TRUE(*c >= 0x20 && *c <= 0x7e);
            const char *nl = strchr(line, '\n');
            ASSERT_NOT_NULL_FATAL(nl);
            line = nl + 1;
        }
    }
    host_board_catch_exit(NULL);
    cmd("%"); /* whatever state the last round left, this ends it */
    ASSERT_STR_EQ(cmd("init%"), "wakeup\n");
}

/* ---- the host reference programs ---- */

static void test_host_reference_prints_the_banner_then_answers(void)
{
    cJSON *root = load_samples("digits_int8_samples.json");
    cJSON *zero = cJSON_GetObjectItemCaseSensitive(root, "zero_input");
    ASSERT_NOT_NULL_FATAL(zero);
    char want[256];
    snprintf(want, sizeof(want), "#microtvm-qemu:aot_standalone:host:glibc\nwakeup\n"
             "result:%d:1\noutput:0:output:int8:%s\n",
             cJSON_GetObjectItemCaseSensitive(zero, "argmax")->valueint,
             cJSON_GetObjectItemCaseSensitive(zero, "output_hex")->valuestring);
    cJSON_Delete(root);
    /* the inputs start as zeros: infer and run before any input command */
    char *out = run_host_ref("digits_int8_host_ref", "init%infer%run%");
    ASSERT_NOT_NULL_FATAL(out);
    ASSERT_STRN_EQ(out, want, strlen(want));
    free(out);
}

static void test_a_workspace_too_small_is_reported_with_the_fix(void)
{
    char *out = run_host_ref("digits_int8_small_host_ref", "run%infer%");
    ASSERT_NOT_NULL_FATAL(out);
    const char *want =
        "#microtvm-qemu:aot_standalone:host:glibc\n"
        "error:run: the model returned -1: workspace exhausted: a request for 128 bytes did not "
        "fit in the 64-byte arena; raise workspace_size_bytes\n"
        "stats:ticks=1:hz=1000:ns=1000000:instret=0:rc=-1:workspace=48:hidden=0\ndone\n"
        "error:run: the model returned -1: workspace exhausted: a request for 128 bytes did not "
        "fit in the 64-byte arena; raise workspace_size_bytes\n";
    ASSERT_STR_EQ(out, want);
    free(out);
}

static void test_float_model_gives_the_exact_reference_outputs(void)
{
    cJSON *root = load_samples("float_tiny_samples.json");
    cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(root, "samples")) {
        char text[256], want[512];
        snprintf(text, sizeof(text), "input:0:%s%%run%%",
                 cJSON_GetObjectItemCaseSensitive(s, "input_hex")->valuestring);
        char *out = run_host_ref("float_tiny_host_ref", text);
        ASSERT_NOT_NULL_FATAL(out);
        snprintf(want, sizeof(want), "#microtvm-qemu:aot_standalone:host:glibc\nok\n"
                 "output:0:Identity:float32:%s\n",
                 cJSON_GetObjectItemCaseSensitive(s, "output_hex")->valuestring);
        ASSERT_STRN_EQ(out, want, strlen(want));
        free(out);
    }
    cJSON_Delete(root);
}

/* infer%'s label: np.argmax's rule (first of equal maxima) for aot_standalone, the last of
 * them for aot_standalone_demo (TVM's Zephyr demo compares with >=). */
static void test_argmax_breaks_ties_first_or_last_as_asked(void)
{
    int8_t i8[] = {3, 7, -1, 7, 1};
    struct aot_tensor t = {"y", "int8", sizeof i8, i8};
    ASSERT_EQ(aot_app_argmax(&t, 0), 1);
    ASSERT_EQ(aot_app_argmax(&t, 1), 3);
    float f32[] = {0.5f, -2.0f, 0.5f};
    struct aot_tensor f = {"y", "float32", sizeof f32, f32};
    ASSERT_EQ(aot_app_argmax(&f, 0), 0);
    ASSERT_EQ(aot_app_argmax(&f, 1), 2);
    uint16_t u16[] = {1, 65535, 2};
    struct aot_tensor u = {"y", "uint16", sizeof u16, u16};
    ASSERT_EQ(aot_app_argmax(&u, 0), 1); /* unsigned: 65535 is the largest */
    ASSERT_EQ(aot_app_argmax(&u, 1), 1);
    struct aot_tensor h = {"y", "float16", sizeof u16, u16};
    ASSERT_EQ(aot_app_argmax(&h, 1), -1);
}

int test_register(void)
{
    CU_pSuite arena = CU_add_suite("arena", NULL, NULL);
    CU_ADD_TEST(arena, test_arena_blocks_are_aligned_even_on_an_unaligned_base);
    CU_ADD_TEST(arena, test_arena_frees_newest_first_and_refuses_any_other_order);
    CU_ADD_TEST(arena, test_arena_returns_null_and_records_a_request_that_does_not_fit);
    CU_ADD_TEST(arena, test_arena_gives_distinct_blocks_for_zero_bytes);
    CU_pSuite proto = CU_add_suite("protocol", suite_init, suite_clean);
    CU_ADD_TEST(proto, test_init_answers_wakeup);
    CU_ADD_TEST(proto, test_argmax_breaks_ties_first_or_last_as_asked);
    CU_ADD_TEST(proto, test_info_lists_the_model_tensors_from_metadata);
    CU_ADD_TEST(proto, test_digits_model_classifies_each_sample_as_the_numpy_reference_did);
    CU_ADD_TEST(proto, test_run_reports_the_workspace_peak_within_the_arena);
    CU_ADD_TEST(proto, test_bad_hex_gets_an_error_and_zeroes_the_input);
    CU_ADD_TEST(proto, test_input_of_the_wrong_length_is_refused);
    CU_ADD_TEST(proto, test_input_index_must_name_an_input);
    CU_ADD_TEST(proto, test_unknown_and_empty_commands_get_an_error_line);
    CU_ADD_TEST(proto, test_an_overlong_command_is_refused_up_to_its_end);
    CU_ADD_TEST(proto, test_exit_sends_bye_and_ends_with_the_code);
    CU_ADD_TEST(proto, test_random_bytes_never_crash_and_get_only_protocol_lines);
    CU_pSuite ref = CU_add_suite("host reference", NULL, NULL);
    CU_ADD_TEST(ref, test_host_reference_prints_the_banner_then_answers);
    CU_ADD_TEST(ref, test_a_workspace_too_small_is_reported_with_the_fix);
    CU_ADD_TEST(ref, test_float_model_gives_the_exact_reference_outputs);
    return TEST_RUN;
}
#endif
