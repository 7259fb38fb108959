/*
 * The command line's argument handling: the option parser (cli/args.h), -o name=value, and
 * cli_main's exit statuses for help, unknown commands and bad options, run in-process with
 * stdout and stderr captured. None of these cases starts a server.
 */
#include "args.h"
#include "asserts.h"
#include "cli.h"
#include "cli_run.h"
#include "runner.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/mtq-test-cli-args-XXXXXX";

static int suite_init(void)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    return rmdir(tmpdir);
}

/* Runs cli_main on a NULL-terminated argv with fds 1 and 2 sent to files; *out and *errs are
 * what it printed (caller frees). Returns the exit status. */
static int run_cli(const char *const *args, char **out, char **errs)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "microtvm-qemu";
    for (; args[argc - 1] && argc < 31; argc++)
        argv[argc] = (char *)args[argc - 1];
    argv[argc] = NULL;
    char opath[128], epath[128];
    snprintf(opath, sizeof opath, "%s/out", tmpdir);
    snprintf(epath, sizeof epath, "%s/err", tmpdir);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    int status = cli_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    *out = cli_run_slurp(opath, 1 << 16);
    *errs = cli_run_slurp(epath, 1 << 16);
    return status;
}

/* The command names the top-level --help lists (the lines under "commands:"). */
static size_t listed_commands(char names[][32], size_t max)
{
    char *out, *errs;
    const char *args[] = {"--help", NULL};
    ASSERT_EQ_FATAL(run_cli(args, &out, &errs), 0);
    size_t n = 0;
    char *p = strstr(out, "commands:\n");
    ASSERT_NOT_NULL_FATAL(p);
    p = strchr(p, '\n') + 1;
    while (n < max && strncmp(p, "  ", 2) == 0) {
        sscanf(p, " %31s", names[n++]);
        p = strchr(p, '\n') + 1;
    }
    free(out);
    free(errs);
    return n;
}

static void test_every_command_has_help_that_exits_0(void)
{
    char names[32][32];
    size_t n = listed_commands(names, 32);
    ASSERT_GE(n, 7); /* machines, template-dir, create, build, flash, serial, info */
    for (size_t i = 0; i < n; i++) {
        for (int form = 0; form < 3; form++) {
            char *out, *errs;
            const char *long_form[] = {names[i], "--help", NULL};
            const char *short_form[] = {names[i], "-h", NULL};
            const char *help_cmd[] = {"help", names[i], NULL};
            const char *const *args = form == 0 ? long_form : form == 1 ? short_form : help_cmd;
            int status = run_cli(args, &out, &errs);
            char want[64];
            snprintf(want, sizeof want, "usage: microtvm-qemu %s ", names[i]);
            if (status != 0 || strncmp(out, want, strlen(want)) != 0)
                fprintf(stderr, "\n%s (form %d): status %d, stdout '%.60s', stderr '%s'\n",
                        names[i], form, status, out, errs);
            ASSERT_EQ(status, 0);
            ASSERT_EQ(strncmp(out, want, strlen(want)), 0);
            ASSERT_STR_CONTAINS(out, "--help");
            ASSERT_STR_EQ(errs, "");
            free(out);
            free(errs);
        }
    }
}

static void test_help_wins_over_missing_arguments(void)
{
    char *out, *errs;
    const char *args[] = {"create", "--board", "x", "--help", NULL};
    ASSERT_EQ(run_cli(args, &out, &errs), 0);
    ASSERT_STR_CONTAINS(out, "PROJECT_DIR");
    free(out);
    free(errs);
}

static void test_version_prints_the_program_and_a_version(void)
{
    char *out, *errs;
    const char *args[] = {"--version", NULL};
    ASSERT_EQ(run_cli(args, &out, &errs), 0);
    ASSERT_EQ(strncmp(out, "microtvm-qemu ", 14), 0);
    ASSERT_TRUE(strlen(out) > 15 && out[14] >= '0' && out[14] <= '9');
    free(out);
    free(errs);
}

/* Checks a usage error: status 2, nothing on stdout, one stderr line holding want. */
static void expect_usage_error(const char *const *args, const char *want)
{
    char *out, *errs;
    int status = run_cli(args, &out, &errs);
    ASSERT_EQ(status, 2);
    ASSERT_STR_EQ(out, "");
    ASSERT_STR_CONTAINS(errs, want);
    char *nl = strchr(errs, '\n');
    ASSERT_TRUE(nl && nl[1] == '\0'); /* exactly one line */
    ASSERT_STR_CONTAINS(errs, "--help");
    free(out);
    free(errs);
}

static void test_an_unknown_command_is_a_usage_error_naming_it(void)
{
    const char *args[] = {"frobnicate", NULL};
    expect_usage_error(args, "unknown command 'frobnicate'");
}

static void test_an_unknown_option_is_a_usage_error_for_every_command(void)
{
    char names[32][32];
    size_t n = listed_commands(names, 32);
    for (size_t i = 0; i < n; i++) {
        const char *args[] = {names[i], "--no-such-option", NULL};
        expect_usage_error(args, "unknown option '--no-such-option'");
        const char *shorts[] = {names[i], "-Q", NULL};
        expect_usage_error(shorts, "unknown option '-Q'");
    }
    const char *top[] = {"--frob", "machines", NULL};
    expect_usage_error(top, "unknown option '--frob'");
}

static void test_no_command_is_a_usage_error(void)
{
    char *out, *errs;
    const char *args[] = {NULL};
    ASSERT_EQ(run_cli(args, &out, &errs), 2);
    ASSERT_STR_EQ(out, "");
    ASSERT_STR_CONTAINS(errs, "no command given");
    free(out);
    free(errs);
}

static void test_missing_and_extra_positionals_are_usage_errors(void)
{
    const char *none[] = {"build", NULL};
    expect_usage_error(none, "build: missing PROJECT_DIR");
    const char *two[] = {"info", "a", "b", NULL};
    expect_usage_error(two, "unexpected argument 'b'");
    const char *extra[] = {"machines", "x", NULL};
    expect_usage_error(extra, "unexpected argument 'x'");
}

static void test_create_without_board_or_type_is_a_usage_error(void)
{
    const char *no_board[] = {"create", "p", "--type", "echo", NULL};
    expect_usage_error(no_board, "--board is required");
    const char *no_type[] = {"create", "p", "--board", "mps2-an385", NULL};
    expect_usage_error(no_type, "--type is required");
    const char *no_mlf[] = {"create", "p", "-b", "mps2-an385", "-t", "aot_standalone", NULL};
    expect_usage_error(no_mlf, "--mlf MODEL.tar is required");
}

static void test_bad_o_forms_are_usage_errors_before_any_server_starts(void)
{
    const char *no_eq[] = {"build", "/nonexistent-project", "-o", "opt_level", NULL};
    expect_usage_error(no_eq, "want name=value");
    const char *no_name[] = {"flash", "/nonexistent-project", "-o", "=3", NULL};
    expect_usage_error(no_name, "the name before '=' is empty");
    const char *bad_name[] = {"serial", "/nonexistent-project", "-oa-b=1", NULL};
    expect_usage_error(bad_name, "'a-b' is not an option name");
    const char *dangling[] = {"build", "/nonexistent-project", "-o", NULL};
    expect_usage_error(dangling, "--option needs a value");
}

/* ---- the parser itself ---- */

static const struct cli_opt opts[] = {
    {"mlf", 'm', "FILE", false, "x"},
    {"json", 0, NULL, false, "x"},
    {"option", 'o', "NAME=VALUE", true, "x"},
};
#define N_OPTS (sizeof opts / sizeof opts[0])

static void test_the_parser_accepts_every_spelling_of_a_value(void)
{
    struct cli_args a;
    struct err e;
    char *argv[] = {"--mlf=a.tar", "-ofoo=1", "-o", "bar=x=y", "--option", "baz=", "dir",
                    "--json", "--", "-not-an-option"};
    ASSERT_OK(cli_args_parse("t", opts, N_OPTS, 1, 2, "DIR", 10, argv, &a, &e), &e);
    ASSERT_STR_EQ(a.value[0], "a.tar");
    ASSERT_STR_EQ(a.value[1], "");
    ASSERT_EQ(a.n_many[2], 3);
    ASSERT_STR_EQ(a.many[2][0], "foo=1");
    ASSERT_STR_EQ(a.many[2][1], "bar=x=y");
    ASSERT_STR_EQ(a.many[2][2], "baz=");
    ASSERT_EQ(a.n_pos, 2);
    ASSERT_STR_EQ(a.pos[0], "dir");
    ASSERT_STR_EQ(a.pos[1], "-not-an-option");
    ASSERT_FALSE(a.help);

    char *argv2[] = {"-m", "b.tar", "-v", "-", "--verbose"};
    ASSERT_OK(cli_args_parse("t", opts, N_OPTS, 0, 1, "DIR", 5, argv2, &a, &e), &e);
    ASSERT_STR_EQ(a.value[0], "b.tar");
    ASSERT_NULL(a.value[1]);
    ASSERT_TRUE(a.verbose);
    ASSERT_STR_EQ(a.pos[0], "-");
}

static void test_the_parser_rejects_what_it_cannot_read(void)
{
    struct cli_args a;
    struct err e;
    char *flag_value[] = {"--json=1"};
    ASSERT_EQ(cli_args_parse("t", opts, N_OPTS, 0, 1, "", 1, flag_value, &a, &e), ERR_INVALID);
    ASSERT_STR_EQ(e.msg, "t: --json takes no value");
    char *no_value[] = {"--mlf"};
    ASSERT_EQ(cli_args_parse("t", opts, N_OPTS, 0, 1, "", 1, no_value, &a, &e), ERR_INVALID);
    ASSERT_STR_EQ(e.msg, "t: --mlf needs a value (FILE)");
    char *twice[] = {"--mlf", "a", "-mb"};
    ASSERT_EQ(cli_args_parse("t", opts, N_OPTS, 0, 1, "", 3, twice, &a, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "--mlf given twice ('a' and 'b')");
    char *same_twice[] = {"--mlf", "a", "-ma"};
    ASSERT_OK(cli_args_parse("t", opts, N_OPTS, 0, 1, "", 3, same_twice, &a, &e), &e);
    char *help_value[] = {"--help=yes"};
    ASSERT_EQ(cli_args_parse("t", opts, N_OPTS, 0, 1, "", 1, help_value, &a, &e), ERR_INVALID);
    char *short_flag_glued[] = {"-vx"};
    ASSERT_EQ(cli_args_parse("t", opts, N_OPTS, 0, 1, "", 1, short_flag_glued, &a, &e),
              ERR_INVALID);
    char *too_many[CLI_MAX_REPEAT + 1];
    for (int i = 0; i <= CLI_MAX_REPEAT; i++)
        too_many[i] = "-oa=1";
    ASSERT_EQ(cli_args_parse("t", opts, N_OPTS, 0, 1, "", CLI_MAX_REPEAT + 1, too_many, &a,
                             &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "more than");
}

static void test_o_splits_at_the_first_equals_sign(void)
{
    char name[64];
    const char *value = NULL;
    struct err e;
    ASSERT_OK(cli_option_split("compile_definitions=A=1", name, sizeof name, &value, &e), &e);
    ASSERT_STR_EQ(name, "compile_definitions");
    ASSERT_STR_EQ(value, "A=1");
    ASSERT_OK(cli_option_split("cmsis_path=", name, sizeof name, &value, &e), &e);
    ASSERT_STR_EQ(value, "");

    ASSERT_EQ(cli_option_split("libc", name, sizeof name, &value, &e), ERR_INVALID);
    ASSERT_STR_EQ(e.msg, "-o 'libc': want name=value, e.g. -o opt_level=3");
    ASSERT_EQ(cli_option_split("=x", name, sizeof name, &value, &e), ERR_INVALID);
    ASSERT_EQ(cli_option_split("lib c=x", name, sizeof name, &value, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "'lib c' is not an option name");
    char longname[100];
    memset(longname, 'a', 80);
    strcpy(longname + 80, "=1");
    ASSERT_EQ(cli_option_split(longname, name, sizeof name, &value, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "too long");
}

static void test_options_become_strings_and_unknown_names_list_the_declared_ones(void)
{
    struct err e;
    const char *info_text = "{\"project_options\": [{\"name\": \"libc\"}, {\"name\": "
                            "\"opt_level\"}]}";
    cJSON *info = cJSON_Parse(info_text);
    const char *good[] = {"libc=newlib", "opt_level=3"};
    cJSON *o = cli_options_json(good, 2, info, &e);
    ASSERT_NOT_NULL_FATAL(o);
    ASSERT_EQ(cJSON_GetArraySize(o), 2);
    ASSERT_STR_EQ(cJSON_GetObjectItemCaseSensitive(o, "opt_level")->valuestring, "3");
    cJSON_Delete(o);

    const char *unknown[] = {"libc=newlib", "frob=1"};
    ASSERT_NULL(cli_options_json(unknown, 2, info, &e));
    ASSERT_STR_EQ(e.msg, "-o frob: the server has no such option; it has: libc, "
                         "opt_level");
    const char *twice[] = {"libc=newlib", "libc=picolibc"};
    ASSERT_NULL(cli_options_json(twice, 2, info, &e));
    ASSERT_STR_CONTAINS(e.msg, "given twice");
    const char *bad[] = {"libc"};
    ASSERT_NULL(cli_options_json(bad, 1, NULL, &e));
    o = cli_options_json(NULL, 0, NULL, &e); /* nothing given: send {} */
    ASSERT_NOT_NULL(o);
    ASSERT_EQ(cJSON_GetArraySize(o), 0);
    cJSON_Delete(o);
    cJSON_Delete(info);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("cli_args", suite_init, suite_clean);
    CU_ADD_TEST(s, test_every_command_has_help_that_exits_0);
    CU_ADD_TEST(s, test_help_wins_over_missing_arguments);
    CU_ADD_TEST(s, test_version_prints_the_program_and_a_version);
    CU_ADD_TEST(s, test_an_unknown_command_is_a_usage_error_naming_it);
    CU_ADD_TEST(s, test_an_unknown_option_is_a_usage_error_for_every_command);
    CU_ADD_TEST(s, test_no_command_is_a_usage_error);
    CU_ADD_TEST(s, test_missing_and_extra_positionals_are_usage_errors);
    CU_ADD_TEST(s, test_create_without_board_or_type_is_a_usage_error);
    CU_ADD_TEST(s, test_bad_o_forms_are_usage_errors_before_any_server_starts);
    CU_ADD_TEST(s, test_the_parser_accepts_every_spelling_of_a_value);
    CU_ADD_TEST(s, test_the_parser_rejects_what_it_cannot_read);
    CU_ADD_TEST(s, test_o_splits_at_the_first_equals_sign);
    CU_ADD_TEST(s, test_options_become_strings_and_unknown_names_list_the_declared_ones);
    return TEST_RUN;
}
