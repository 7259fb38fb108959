/*
 * Tests for machine/machine.c: every real machines/<board>.json loads and is consistent with what
 * the firmware build needs, and each kind of malformed file (tests/fixtures/machines/) fails
 * with ERR_INVALID and a message naming the file, the field and the problem.
 */
#include "machine.h"

#include "asserts.h"
#include "fs.h"
#include "runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MACHINES_DIR MTQ_SOURCE_DIR "/machines"
#define FIXTURES_DIR MTQ_SOURCE_DIR "/tests/fixtures/machines"

/* A machine struct is over 10 KiB: keep it off the stack of every test. */
static struct machine mach;

/* Loads fixture <name>.json, expecting ERR_INVALID with "<path>: <field>: " and want in the
 * message. */
static void expect_invalid(const char *name, const char *field, const char *want)
{
    char path[512], prefix[640];
    struct err err;
    err_clear(&err);
    snprintf(path, sizeof(path), "%s/%s.json", FIXTURES_DIR, name);
    snprintf(prefix, sizeof(prefix), "%s: %s: ", path, field);
    int rc = mach_load(&mach, path, &err);
    ASSERT_EQ(rc, ERR_INVALID);
    ASSERT_EQ(err.code, ERR_INVALID);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || !strstr(err.msg, want)) {
        fprintf(stderr, "\n  %s: got message \"%s\", want prefix \"%s\" and \"%s\"\n", name,
                err.msg, prefix, want);
        TEST_FAIL("message does not name the file, the field and the problem");
    }
}

static void test_every_real_machine_file_loads_and_fits_the_firmware(void)
{
    char **names = NULL;
    size_t n = 0;
    struct err err;
    err_clear(&err);
    ASSERT_OK_FATAL(mach_list(MACHINES_DIR, &names, &n, &err), &err);
    ASSERT_GT_FATAL(n, 0);
    for (size_t i = 0; i < n; i++) {
        int rc = mach_load_by_name(&mach, MACHINES_DIR, names[i], &err);
        if (rc < 0)
            fprintf(stderr, "\n  %s\n", err.msg);
        ASSERT_EQ(rc, 0);
        if (rc < 0)
            continue;
        ASSERT_STR_EQ(mach.name, names[i]);
        /* picolibc is the default everywhere; newlib exists only for Cortex-M. */
        ASSERT_STR_EQ(mach.libcs[0], "picolibc");
        ASSERT_EQ(mach_has_libc(&mach, "newlib"), strcmp(mach.arch, "arm") == 0);
        ASSERT_EQ(mach_has_libc(&mach, "newlib-nano"), strcmp(mach.arch, "arm") == 0);
        /* The firmware's 64 KiB stack and the 16 reserved bytes must fit with room to spare. */
        ASSERT_GT(mach.ram.size, 0x10000 + 16);
        ASSERT_LT(mach.default_workspace_bytes, mach.ram.size);
        ASSERT_GT(mach.timer_hz, 0);
        /* Exact instruction counts: a CMSDK timer's tick must be shorter than one instruction
         * (timer_cmsdk_timer.c); RISC-V reads minstret, and its timer_align wants shift 0. */
        if (strcmp(mach.timer_kind, "cmsdk_timer") == 0) {
            ASSERT_GT((1ull << mach.icount_shift), 1000000000ull / mach.timer_hz);
        } else {
            ASSERT_EQ(mach.icount_shift, 0);
        }
        ASSERT_GT(mach.n_cflags, 0);
        /* No board exits through semihosting (docs/SECURITY.md): Cortex-M through the
         * watchdog with a status UART, RISC-V through the finisher (with -bios none). */
        bool arm = strcmp(mach.arch, "arm") == 0;
        ASSERT_STR_EQ(mach.exit_kind, arm ? "cmsdk_watchdog" : "sifive_test");
        ASSERT_TRUE(arm ? mach.exit_status_uart != 0 && mach.exit_status_uart != mach.uart_base
                        : mach.exit_status_uart == 0);
        ASSERT_EQ(mach.n_qemu_args, arm ? 0u : 2u);
        for (size_t j = 0; j < mach.n_qemu_args; j++)
            ASSERT_STR_NOT_CONTAINS(mach.qemu_args[j], "semihosting");
    }
    mach_free_names(names, n);
}

static void test_list_is_sorted_and_has_only_json_basenames(void)
{
    char **names = NULL;
    size_t n = 0;
    struct err err;
    ASSERT_OK_FATAL(mach_list(FIXTURES_DIR, &names, &n, &err), &err);
    ASSERT_GE(n, 10);
    bool has_good = false;
    for (size_t i = 0; i < n; i++) {
        ASSERT_STR_NOT_CONTAINS(names[i], ".json");
        if (i > 0)
            ASSERT_LT(strcmp(names[i - 1], names[i]), 0);
        has_good |= strcmp(names[i], "good-board") == 0;
    }
    ASSERT_TRUE(has_good);
    mach_free_names(names, n);
}

static void test_list_of_a_missing_directory_fails_with_errno(void)
{
    char **names = (char **)1;
    size_t n = 7;
    struct err err;
    ASSERT_EQ(mach_list(FIXTURES_DIR "/nope", &names, &n, &err), -ENOENT);
    ASSERT_NULL(names);
    ASSERT_EQ(n, 0);
    ASSERT_STR_CONTAINS(err.msg, "/nope");
}

static void test_a_good_file_fills_every_field(void)
{
    struct err err;
    ASSERT_OK_FATAL(mach_load(&mach, FIXTURES_DIR "/good-board.json", &err), &err);
    ASSERT_STR_EQ(mach.path, FIXTURES_DIR "/good-board.json");
    ASSERT_STR_EQ(mach.name, "good-board");
    ASSERT_STR_EQ(mach.description, "test fixture: good-board");
    ASSERT_STR_EQ(mach.arch, "arm");
    ASSERT_STR_EQ(mach.cpu, "cortex-m3");
    ASSERT_STR_EQ(mach.qemu_binary, "qemu-system-arm");
    ASSERT_STR_EQ(mach.qemu_machine, "mps2-an385");
    ASSERT_STR_EQ(mach.qemu_memory, "16M");
    ASSERT_EQ(mach.n_qemu_args, 2);
    ASSERT_STR_EQ(mach.qemu_args[0], "-cpu");
    ASSERT_STR_EQ(mach.cc_prefix, "arm-none-eabi-");
    ASSERT_EQ(mach.n_cflags, 3);
    ASSERT_STR_EQ(mach.cflags[0], "-mcpu=cortex-m3");
    ASSERT_EQ(mach.n_libcs, 3);
    ASSERT_STR_EQ(mach.libcs[2], "newlib-nano");
    ASSERT_EQ(mach.flash.base, 0);
    ASSERT_EQ(mach.flash.size, 0x400000);
    ASSERT_EQ(mach.ram.base, 0x21000000);
    ASSERT_EQ(mach.ram.size, 0x1000000);
    ASSERT_EQ(mach.vector_base, 0);
    ASSERT_STR_EQ(mach.uart_kind, "cmsdk_apb");
    ASSERT_EQ(mach.uart_base, 0x40004000);
    ASSERT_STR_EQ(mach.timer_kind, "cmsdk_timer");
    ASSERT_EQ(mach.timer_base, 0x40000000);
    ASSERT_EQ(mach.timer_hz, 25000000);
    ASSERT_EQ(mach.icount_shift, 0); /* absent: 0 */
    ASSERT_STR_EQ(mach.exit_kind, "cmsdk_watchdog");
    ASSERT_EQ(mach.exit_base, 0x40008000);
    ASSERT_EQ(mach.exit_status_uart, 0x40005000);
    ASSERT_EQ(mach.default_workspace_bytes, 0x100000);
    ASSERT_TRUE(mach_has_libc(&mach, "newlib"));
    ASSERT_FALSE(mach_has_libc(&mach, "glibc"));
}

static void test_bad_json_names_the_byte_offset(void)
{
    struct err err;
    const char *path = FIXTURES_DIR "/bad-json.json";
    ASSERT_EQ(mach_load(&mach, path, &err), ERR_INVALID);
    char want[512];
    snprintf(want, sizeof(want), "%s: bad JSON at byte ", path);
    ASSERT_EQ(strncmp(err.msg, want, strlen(want)), 0);
}

static void test_a_missing_file_fails_with_enoent_and_its_path(void)
{
    struct err err;
    ASSERT_EQ(mach_load(&mach, FIXTURES_DIR "/absent.json", &err), -ENOENT);
    ASSERT_STR_CONTAINS(err.msg, "absent.json");
}

static void test_a_top_level_array_is_rejected(void)
{
    expect_invalid("not-an-object", "(top level)", "want a JSON object");
}

static void test_a_missing_field_is_named(void)
{
    expect_invalid("missing-field", "uart.base", "missing");
}

static void test_a_wrongly_typed_field_is_named(void)
{
    expect_invalid("wrong-type", "cpu", "want a string");
}

static void test_a_malformed_hex_address_is_quoted(void)
{
    expect_invalid("bad-hex", "uart.base", "'0x4000g000' is not a hex string");
}

static void test_a_decimal_address_is_refused(void)
{
    expect_invalid("decimal-address", "memory.ram.base", "is not a hex string");
}

static void test_an_unknown_uart_kind_lists_the_known_ones(void)
{
    expect_invalid("unknown-uart", "uart.kind", "unknown value 'pl011' (known: cmsdk_apb, ns16550a)");
}

static void test_an_unknown_libc_is_named(void)
{
    expect_invalid("unknown-libc", "libcs", "unknown C library 'glibc'");
}

static void test_an_empty_libc_list_is_refused(void)
{
    expect_invalid("empty-libcs", "libcs", "empty");
}

static void test_a_name_other_than_the_file_name_is_refused(void)
{
    expect_invalid("name-mismatch", "name", "'some-other-board' differs from the file name");
}

static void test_an_unknown_field_is_refused_with_the_known_ones(void)
{
    expect_invalid("unknown-field", "uart.baud", "unknown field (known here: kind, base, irq)");
}

static void test_the_riscv_boards_name_their_plic_and_the_uart_line_on_it(void)
{
    /* QEMU 7.2 hw/riscv/virt.c: PLIC at 0x0c000000, UART0 on source 10. */
    static const char *const boards[] = {"riscv32-virt", "riscv64-virt"};
    struct err err;
    for (size_t i = 0; i < sizeof(boards) / sizeof(boards[0]); i++) {
        ASSERT_OK_FATAL(mach_load_by_name(&mach, MACHINES_DIR, boards[i], &err), &err);
        ASSERT_STR_EQ(mach.intc_kind, "plic");
        ASSERT_EQ(mach.intc_base, 0x0c000000);
        ASSERT_EQ(mach.uart_irq, 10);
    }
}

/* TVM's target models (boards.json "model"; TVM 0.18 python/tvm/target/target.py
 * MICRO_SUPPORTED_MODELS) and the target strings TVM prints for them. */
static void test_every_board_names_its_tvm_model_and_target(void)
{
    static const struct {
        const char *board, *model, *target;
        bool fpu;
    } want[] = {
        {"mps2-an385", "sam3x8e",
         "c -keys=arm_cpu,cpu -device=arm_cpu -mcpu=cortex-m3 -model=sam3x8e", false},
        {"mps2-an386", "stm32l4r5zi",
         "c -keys=arm_cpu,cpu -device=arm_cpu -mcpu=cortex-m4 -model=stm32l4r5zi", true},
        {"mps2-an500", "stm32h7xx",
         "c -keys=arm_cpu,cpu -device=arm_cpu -mcpu=cortex-m7 -model=stm32h7xx", true},
        {"mps2-an505", "mps2_an521",
         "c -keys=arm_cpu,cpu -device=arm_cpu -mcpu=cortex-m33 -model=mps2_an521", true},
        {"riscv32-virt", "host", "c -keys=cpu -model=host", false},
        {"riscv64-virt", "host", "c -keys=cpu -model=host", false},
    };
    struct err err;
    char target[160];
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ASSERT_OK_FATAL(mach_load_by_name(&mach, MACHINES_DIR, want[i].board, &err), &err);
        ASSERT_STR_EQ(mach.tvm_model, want[i].model);
        mach_tvm_target(&mach, target, sizeof target);
        ASSERT_STR_EQ(target, want[i].target);
        ASSERT_EQ(mach_has_fpu(&mach), want[i].fpu);
    }
}

static void test_tvm_model_is_optional_and_must_be_an_identifier(void)
{
    struct err err;
    ASSERT_OK_FATAL(mach_load(&mach, FIXTURES_DIR "/good-board.json", &err), &err);
    ASSERT_STR_EQ(mach.tvm_model, "host"); /* the file has none */
    char *text = NULL;
    size_t len = 0;
    ASSERT_OK_FATAL(fs_read_file(FIXTURES_DIR "/good-board.json", 0, &text, &len, &err), &err);
    static const char *const bad_models[] = {"\"\"", "\"sam3x8e -mcpu=x\"", "\"a\\nb\"", "7"};
    for (size_t i = 0; i < sizeof(bad_models) / sizeof(bad_models[0]); i++) {
        char *edited = NULL;
        const char *at = strstr(text, "\"cpu\"");
        ASSERT_NOT_NULL_FATAL(at);
        ASSERT_GT_FATAL(asprintf(&edited, "%.*s\"tvm_model\": %s, %s", (int)(at - text), text,
                                 bad_models[i], at), 0);
        err_clear(&err);
        ASSERT_EQ(mach_parse(&mach, edited, strlen(edited), "x.json", &err), ERR_INVALID);
        ASSERT_STR_CONTAINS(err.msg, "x.json: tvm_model: want");
        free(edited);
    }
    free(text);
}

static void test_a_board_without_intc_has_no_uart_line(void)
{
    struct err err;
    ASSERT_OK_FATAL(mach_load(&mach, FIXTURES_DIR "/good-board.json", &err), &err);
    ASSERT_STR_EQ(mach.intc_kind, "");
    ASSERT_EQ(mach.intc_base, 0);
    ASSERT_EQ(mach.uart_irq, 0);
}

static void test_a_uart_irq_without_an_intc_is_refused(void)
{
    expect_invalid("irq-without-intc", "uart.irq", "needs an intc object");
}

static void test_an_intc_without_a_uart_irq_is_refused(void)
{
    expect_invalid("intc-without-irq", "uart.irq", "missing: intc needs");
}

static void test_a_uart_irq_out_of_the_plic_range_is_refused(void)
{
    expect_invalid("bad-irq", "uart.irq", "want a whole number from 1 to 1023");
}

static void test_an_unknown_intc_kind_lists_the_known_ones(void)
{
    expect_invalid("unknown-intc", "intc.kind", "unknown value 'aplic' (known: plic)");
}

static void test_a_plic_on_an_arm_board_is_refused(void)
{
    expect_invalid("plic-on-arm", "intc.kind", "needs arch riscv");
}

static void test_an_intc_that_is_not_an_object_is_refused(void)
{
    expect_invalid("intc-not-object", "intc", "want an object");
}

static void test_a_zero_size_is_refused(void)
{
    expect_invalid("zero-ram", "memory.ram.size", "must not be zero");
}

static void test_a_rate_given_as_a_string_is_refused(void)
{
    expect_invalid("hz-as-string", "timer.hz", "want a positive whole number");
}

static void test_an_icount_shift_beyond_qemus_limit_is_refused(void)
{
    expect_invalid("bad-icount-shift", "qemu.icount_shift", "from 0 to 10");
}

static void test_overlapping_flash_and_ram_are_refused(void)
{
    expect_invalid("overlap", "memory", "overlap");
}

static void test_too_many_qemu_args_are_refused(void)
{
    expect_invalid("too-many-args", "qemu.args", "more than 16 entries");
}

/* Reads a fixture into an exact-size heap buffer with no NUL after it (mach_parse takes a
 * length, so ASan catches any read past it). Caller frees. */
static char *fixture_text(const char *name, size_t *len)
{
    char path[512], *text = NULL;
    struct err err;
    snprintf(path, sizeof(path), "%s/%s.json", FIXTURES_DIR, name);
    if (fs_read_file(path, 0, &text, len, &err) < 0)
        return NULL;
    char *exact = malloc(*len ? *len : 1);
    if (exact)
        memcpy(exact, text, *len);
    free(text);
    return exact;
}

static void test_parse_reads_text_that_is_not_nul_terminated(void)
{
    size_t len = 0;
    char *text = fixture_text("good-board", &len);
    ASSERT_NOT_NULL_FATAL(text);
    struct err err;
    ASSERT_OK(mach_parse(&mach, text, len, "<buffer>", &err), &err);
    ASSERT_STR_EQ(mach.path, "<buffer>");
    ASSERT_STR_EQ(mach.name, "good-board");
    ASSERT_EQ(mach.uart_base, 0x40004000);
    /* the same text cut short is bad JSON, named by the label */
    ASSERT_EQ(mach_parse(&mach, text, len / 2, "<buffer>", &err), ERR_INVALID);
    ASSERT_EQ(strncmp(err.msg, "<buffer>: bad JSON at byte ", 27), 0);
    free(text);
}

static void test_parse_leaves_the_file_name_rule_to_load(void)
{
    size_t len = 0;
    char *text = fixture_text("name-mismatch", &len);
    ASSERT_NOT_NULL_FATAL(text);
    struct err err;
    ASSERT_OK(mach_parse(&mach, text, len, "<stdin>", &err), &err);
    ASSERT_STR_EQ(mach.name, "some-other-board");
    free(text);
    text = fixture_text("unknown-uart", &len);
    ASSERT_NOT_NULL_FATAL(text);
    ASSERT_EQ(mach_parse(&mach, text, len, "<stdin>", &err), ERR_INVALID);
    ASSERT_EQ(strncmp(err.msg, "<stdin>: uart.kind: ", 20), 0);
    free(text);
}

/* good-board.json with the first `from` replaced by `to` must fail naming field and words. */
static void expect_edit_refused(const char *from, const char *to, const char *field,
                                const char *words)
{
    size_t len = 0;
    char *text = fixture_text("good-board", &len);
    ASSERT_NOT_NULL_FATAL(text);
    /* fixture_text's buffer has no NUL: work on a terminated copy */
    char *orig = strndup(text, len), *edited = malloc(len + strlen(to) + 1);
    ASSERT_NOT_NULL_FATAL(orig);
    ASSERT_NOT_NULL_FATAL(edited);
    char *at = strstr(orig, from);
    ASSERT_NOT_NULL_FATAL(at);
    size_t head = (size_t)(at - orig);
    snprintf(edited, len + strlen(to) + 1, "%.*s%s%s", (int)head, orig, to, at + strlen(from));
    struct err err;
    err_clear(&err);
    ASSERT_EQ(mach_parse(&mach, edited, strlen(edited), "<edit>", &err), ERR_INVALID);
    if (!strstr(err.msg, field) || !strstr(err.msg, words))
        fprintf(stderr, "\n    %s -> %s: \"%s\"\n", from, to, err.msg);
    ASSERT_STR_CONTAINS(err.msg, field);
    ASSERT_STR_CONTAINS(err.msg, words);
    free(edited);
    free(orig);
    free(text);
}

/* What reaches QEMU's or the compiler's command line from a machine file is plain words, and
 * qemu.args only -bios none and -cpu MODEL (docs/SECURITY.md "The board and QEMU"). */
static void test_commands_from_a_machine_file_are_plain_and_allow_listed(void)
{
    expect_edit_refused("\"-cpu\",\n      \"cortex-m3\"",
                        "\"-semihosting-config\",\n      \"enable=on,target=native\"",
                        "qemu.args[0]", "'-semihosting-config enable=on,target=native' is not");
    expect_edit_refused("\"-cpu\",\n      \"cortex-m3\"", "\"-semihosting\", \"-cpu\"",
                        "qemu.args[0]", "not an argument a machine file may give QEMU");
    expect_edit_refused("\"-cpu\",\n      \"cortex-m3\"", "\"-cpu\", \"max,x=/etc/passwd\"",
                        "qemu.args[0]", "allowed: -bios none, -cpu MODEL");
    expect_edit_refused("\"-cpu\",\n      \"cortex-m3\"", "\"-chardev\", \"file,id=x,path=/tmp/x\"",
                        "qemu.args[0]", "chardevs");
    expect_edit_refused("\"-cpu\",\n      \"cortex-m3\"", "\"-bios\", \"/tmp/evil.bin\"",
                        "qemu.args[0]", "-bios /tmp/evil.bin");
    expect_edit_refused("\"qemu-system-arm\"", "\"/bin/sh\"", "qemu.binary",
                        "not a QEMU system emulator");
    expect_edit_refused("\"mps2-an385\"", "\"virt,dumpdtb=/tmp/x\"", "qemu.machine",
                        "plain machine name");
    expect_edit_refused("\"arm-none-eabi-\"", "\"/tmp/evil/arm-none-eabi-\"",
                        "compiler.prefix", "toolchain prefix");
    expect_edit_refused("\"-mthumb\"", "\"-fplugin=/tmp/evil.so\"", "compiler.flags",
                        "not a target option");
}

/* The exit device: no semihosting kind, and the watchdog exit needs a second UART. */
static void test_the_exit_kinds_and_their_status_uart_are_checked(void)
{
    expect_edit_refused("\"cmsdk_watchdog\"", "\"semihosting\"", "exit.kind",
                        "unknown");
    expect_edit_refused(",\n    \"status_uart\": \"0x40005000\"", "", "exit.status_uart",
                        "missing");
    expect_edit_refused("\"status_uart\": \"0x40005000\"", "\"status_uart\": \"0x40004000\"",
                        "exit.status_uart", "is the console UART");
    expect_edit_refused("\"cmsdk_watchdog\"", "\"sifive_test\"", "exit.status_uart",
                        "only for exit kind cmsdk_watchdog");
}

/* The RISC-V boards' fast link is the virtio-mmio slot QEMU 7.2 fills first (the first
 * -device lands in the last of the eight transports, 0x10008000, on PLIC source 1 + 7: seen in
 * QEMU's `info qtree`); a board without the object has none. */
static void test_the_riscv_boards_have_a_virtio_serial_fast_link_in_the_first_slot(void)
{
    static const char *const rv[] = {"riscv32-virt", "riscv64-virt"};
    struct err err;
    char links[64];
    for (size_t i = 0; i < 2; i++) {
        ASSERT_EQ_FATAL(mach_load_by_name(&mach, MACHINES_DIR, rv[i], &err), 0);
        ASSERT_TRUE(mach_has_fast_link(&mach));
        ASSERT_STR_EQ(mach.fast_link_kind, "virtio_serial");
        ASSERT_EQ(mach.fast_link_base, 0x10008000u);
        ASSERT_EQ(mach.fast_link_irq, 8u);
        ASSERT_STR_EQ(mach_links(&mach, links, sizeof links),
                               "uart, fast (virtio-serial)");
    }
    ASSERT_EQ_FATAL(mach_load(&mach, FIXTURES_DIR "/good-board.json", &err), 0);
    ASSERT_FALSE(mach_has_fast_link(&mach));
    ASSERT_STR_EQ(mach_links(&mach, links, sizeof links), "uart");
}

/* fast_link: a known kind, a nonzero hex base other than the UART's, an interrupt line. */
static void test_a_fast_link_is_checked_field_by_field(void)
{
    static const char *const tail = "\"default_workspace_bytes\": \"0x00100000\"";
    char good[256], edit[256];
    snprintf(good, sizeof good, "%s, \"fast_link\": {\"kind\": \"lan9118\", \"base\": "
             "\"0x40200000\", \"irq\": 13}", tail);
    size_t len = 0;
    char *text = fixture_text("good-board", &len);
    ASSERT_NOT_NULL_FATAL(text);
    char *orig = strndup(text, len);
    ASSERT_NOT_NULL_FATAL(orig);
    char *at = strstr(orig, tail);
    ASSERT_NOT_NULL_FATAL(at);
    char *edited = malloc(len + sizeof good);
    ASSERT_NOT_NULL_FATAL(edited);
    snprintf(edited, len + sizeof good, "%.*s%s%s", (int)(at - orig), orig, good,
             at + strlen(tail));
    struct err err;
    ASSERT_EQ(mach_parse(&mach, edited, strlen(edited), "<edit>", &err), 0);
    ASSERT_STR_EQ(mach.fast_link_kind, "lan9118");
    ASSERT_EQ(mach.fast_link_base, 0x40200000u);
    ASSERT_EQ(mach.fast_link_irq, 13u);
    free(edited);
    free(orig);
    free(text);
    /* each edit appends its fast_link text after the last field */
    static const struct {
        const char *link, *field, *words;
    } bad_links[] = {
        {"{\"kind\": \"virtio_net\", \"base\": \"0x1\", \"irq\": 1}", "fast_link.kind",
         "known: virtio_serial, lan9118"},
        {"{\"kind\": \"lan9118\", \"base\": 1073872896, \"irq\": 1}", "fast_link.base",
         "hex string"},
        {"{\"kind\": \"lan9118\", \"base\": \"0x40004000\", \"irq\": 1}", "fast_link.base",
         "is the console UART"},
        {"{\"kind\": \"lan9118\", \"base\": \"0x40200000\", \"irq\": 1024}", "fast_link.irq",
         "from 0 to 1023"},
        {"{\"kind\": \"lan9118\", \"base\": \"0x40200000\"}", "fast_link.irq", "missing"},
        {"{\"kind\": \"lan9118\", \"base\": \"0x40200000\", \"irq\": 13, \"args\": "
         "[\"-netdev\"]}", "fast_link.args", "unknown field"},
        {"\"virtio_serial\"", "fast_link", "want an object"},
    };
    for (size_t i = 0; i < sizeof bad_links / sizeof bad_links[0]; i++) {
        snprintf(edit, sizeof edit, "%s, \"fast_link\": %s", tail, bad_links[i].link);
        expect_edit_refused(tail, edit, bad_links[i].field, bad_links[i].words);
    }
}

static void test_load_by_name_finds_a_board(void)
{
    struct err err;
    ASSERT_OK_FATAL(mach_load_by_name(&mach, MACHINES_DIR, "riscv32-virt", &err), &err);
    ASSERT_STR_EQ(mach.name, "riscv32-virt");
    ASSERT_STR_EQ(mach.path, MACHINES_DIR "/riscv32-virt.json");
}

static void test_load_by_name_of_an_unknown_board_lists_the_boards(void)
{
    struct err err;
    char **names = NULL;
    size_t n = 0;
    ASSERT_EQ(mach_load_by_name(&mach, MACHINES_DIR, "pdp-11", &err), ERR_INVALID);
    ASSERT_EQ(strncmp(err.msg, "unknown board 'pdp-11': the boards are ", 39), 0);
    ASSERT_OK_FATAL(mach_list(MACHINES_DIR, &names, &n, &err), &err);
    for (size_t i = 0; i < n; i++)
        ASSERT_STR_CONTAINS(err.msg, names[i]);
    mach_free_names(names, n);
}

static void test_load_by_name_refuses_paths(void)
{
    struct err err;
    ASSERT_EQ(mach_load_by_name(&mach, FIXTURES_DIR, "../../../machines/mps2-an385", &err),
              ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "unknown board");
    ASSERT_EQ(mach_load_by_name(&mach, MACHINES_DIR, "", &err), ERR_INVALID);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("machine", NULL, NULL);
    CU_ADD_TEST(s, test_every_real_machine_file_loads_and_fits_the_firmware);
    CU_ADD_TEST(s, test_list_is_sorted_and_has_only_json_basenames);
    CU_ADD_TEST(s, test_list_of_a_missing_directory_fails_with_errno);
    CU_ADD_TEST(s, test_a_good_file_fills_every_field);
    CU_ADD_TEST(s, test_every_board_names_its_tvm_model_and_target);
    CU_ADD_TEST(s, test_tvm_model_is_optional_and_must_be_an_identifier);
    CU_ADD_TEST(s, test_bad_json_names_the_byte_offset);
    CU_ADD_TEST(s, test_a_missing_file_fails_with_enoent_and_its_path);
    CU_ADD_TEST(s, test_a_top_level_array_is_rejected);
    CU_ADD_TEST(s, test_a_missing_field_is_named);
    CU_ADD_TEST(s, test_a_wrongly_typed_field_is_named);
    CU_ADD_TEST(s, test_a_malformed_hex_address_is_quoted);
    CU_ADD_TEST(s, test_a_decimal_address_is_refused);
    CU_ADD_TEST(s, test_an_unknown_uart_kind_lists_the_known_ones);
    CU_ADD_TEST(s, test_an_unknown_libc_is_named);
    CU_ADD_TEST(s, test_an_empty_libc_list_is_refused);
    CU_ADD_TEST(s, test_a_name_other_than_the_file_name_is_refused);
    CU_ADD_TEST(s, test_an_unknown_field_is_refused_with_the_known_ones);
    CU_ADD_TEST(s, test_the_riscv_boards_name_their_plic_and_the_uart_line_on_it);
    CU_ADD_TEST(s, test_a_board_without_intc_has_no_uart_line);
    CU_ADD_TEST(s, test_a_uart_irq_without_an_intc_is_refused);
    CU_ADD_TEST(s, test_an_intc_without_a_uart_irq_is_refused);
    CU_ADD_TEST(s, test_a_uart_irq_out_of_the_plic_range_is_refused);
    CU_ADD_TEST(s, test_an_unknown_intc_kind_lists_the_known_ones);
    CU_ADD_TEST(s, test_a_plic_on_an_arm_board_is_refused);
    CU_ADD_TEST(s, test_an_intc_that_is_not_an_object_is_refused);
    CU_ADD_TEST(s, test_a_zero_size_is_refused);
    CU_ADD_TEST(s, test_a_rate_given_as_a_string_is_refused);
    CU_ADD_TEST(s, test_an_icount_shift_beyond_qemus_limit_is_refused);
    CU_ADD_TEST(s, test_overlapping_flash_and_ram_are_refused);
    CU_ADD_TEST(s, test_too_many_qemu_args_are_refused);
    CU_ADD_TEST(s, test_parse_reads_text_that_is_not_nul_terminated);
    CU_ADD_TEST(s, test_parse_leaves_the_file_name_rule_to_load);
    CU_ADD_TEST(s, test_commands_from_a_machine_file_are_plain_and_allow_listed);
    CU_ADD_TEST(s, test_the_exit_kinds_and_their_status_uart_are_checked);
    CU_ADD_TEST(s, test_the_riscv_boards_have_a_virtio_serial_fast_link_in_the_first_slot);
    CU_ADD_TEST(s, test_a_fast_link_is_checked_field_by_field);
    CU_ADD_TEST(s, test_load_by_name_finds_a_board);
    CU_ADD_TEST(s, test_load_by_name_of_an_unknown_board_lists_the_boards);
    CU_ADD_TEST(s, test_load_by_name_refuses_paths);
    return TEST_RUN;
}
