/*
 * The built command line (MTQ_CLI) against the built template and its real server: the board
 * list, the template's path, the client's server_info_query, create of an echo project, and
 * the errors people meet first (no such project, unknown board). Each run gets a private
 * temporary directory that is removed afterwards.
 */
#include "client.h"

#include <CUnit/Basic.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/mtq-e2e-cli-XXXXXX";

static int suite_init(void)
{
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int suite_clean(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = calloc(1, 1 << 20);
    if (f && buf)
        buf[fread(buf, 1, (1 << 20) - 1, f)] = '\0';
    if (f)
        fclose(f);
    unlink(path);
    return buf;
}

/* Runs MTQ_CLI with args (NULL-terminated), stdin from /dev/null, for at most timeout_sec
 * (then SIGKILL, and the test fails). out and errs receive what it printed (caller frees). */
static int run_cli(const char *const *args, int timeout_sec, char **out, char **errs)
{
    char opath[PATH_MAX], epath[PATH_MAX];
    const char *argv[32] = {MTQ_CLI};
    for (int i = 0; args[i] && i < 30; i++)
        argv[i + 1] = args[i];
    snprintf(opath, sizeof opath, "%s/stdout", tmpdir);
    snprintf(epath, sizeof epath, "%s/stderr", tmpdir);
    pid_t pid = fork();
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(MTQ_CLI, (char **)argv);
        _exit(127);
    }
    int status = -1;
    for (int waited = 0; waitpid(pid, &status, WNOHANG) == 0; waited += 10) {
        if (waited > timeout_sec * 1000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            CU_FAIL("the command line did not finish in time");
            break;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    *out = slurp(opath);
    *errs = slurp(epath);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
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
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
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
    CU_ASSERT(n > 0);
    const char *args[] = {"machines", NULL};
    CU_ASSERT_EQUAL(run_cli(args, 30, &out, &errs), 0);
    CU_ASSERT_STRING_EQUAL(errs, "");
    /* one row per board, in order, after the header */
    char *line = strchr(out, '\n');
    size_t rows = 0;
    while (line && line[1]) {
        line++;
        if (rows < n)
            CU_ASSERT(strncmp(line, names[rows], strlen(names[rows])) == 0 &&
                      line[strlen(names[rows])] == ' ');
        rows++;
        line = strchr(line, '\n');
    }
    CU_ASSERT_EQUAL(rows, n);
    free(out);
    free(errs);

    const char *json[] = {"machines", "--json", NULL};
    CU_ASSERT_EQUAL(run_cli(json, 30, &out, &errs), 0);
    cJSON *arr = cJSON_Parse(out);
    CU_ASSERT_FATAL(cJSON_IsArray(arr));
    CU_ASSERT_EQUAL((size_t)cJSON_GetArraySize(arr), n);
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, arr) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name");
        CU_ASSERT(i < n && cJSON_IsString(name) && strcmp(name->valuestring, names[i]) == 0);
        CU_ASSERT(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItem(m, "ram"), "size")
                      ->valuedouble > 0);
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
    CU_ASSERT_EQUAL(run_cli(args, 30, &out, &errs), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(MTQ_TEMPLATE_DIR, want));
    size_t len = strlen(out);
    CU_ASSERT(len > 1 && out[len - 1] == '\n');
    out[len - 1] = '\0';
    CU_ASSERT_STRING_EQUAL(out, want);
    snprintf(launcher, sizeof launcher, "%s/launch_microtvm_api_server.sh", out);
    CU_ASSERT_EQUAL(access(launcher, X_OK), 0);
    free(out);
    free(errs);
}

static void test_the_template_server_answers_server_info_query(void)
{
    struct cli_client *c = NULL;
    struct err e;
    cJSON *info = NULL;
    CU_ASSERT_EQUAL_FATAL(cli_client_start(MTQ_TEMPLATE_DIR, false, &c, &e), 0);
    int pid = cli_client_pid(c);
    int rc = cli_server_info_query(c, &info, &e);
    if (rc < 0)
        fprintf(stderr, "\n%s\n", e.msg);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "is_template")));
    const char *tvm_options[] = {"verbose", "project_type", "board", "cmsis_path",
                                 "warning_as_error", "compile_definitions", "extra_files_tar"};
    const char *keys[] = {"name", "choices", "default", "type", "required", "optional", "help"};
    for (size_t i = 0; i < sizeof tvm_options / sizeof tvm_options[0]; i++) {
        const cJSON *o = cli_info_option(info, tvm_options[i]);
        CU_ASSERT_PTR_NOT_NULL(o);
        for (size_t k = 0; o && k < sizeof keys / sizeof keys[0]; k++)
            CU_ASSERT_PTR_NOT_NULL(cJSON_GetObjectItemCaseSensitive(o, keys[k]));
    }
    cJSON_Delete(info);
    CU_ASSERT_EQUAL(cli_client_close(c, 10000, &e), 0);
    CU_ASSERT(kill(pid, 0) < 0); /* reaped, not left behind */
}

static void test_create_makes_an_echo_project(void)
{
    char proj[PATH_MAX], *out, *errs;
    snprintf(proj, sizeof proj, "%s/echo-proj", tmpdir);
    const char *args[] = {"create", proj, "--board", "mps2-an385", "--type", "echo", NULL};
    int status = run_cli(args, 120, &out, &errs);
    if (status == 1 && strstr(errs, "not built yet")) {
        /* the server's generate_project is still a stub (issue 3): the CLI must say so
         * readably, on one line, and leave nothing behind */
        printf("(generate_project not implemented yet: checked the error instead) ");
        CU_ASSERT_STRING_EQUAL(out, "");
        const char *first = strstr(errs, "error:");
        CU_ASSERT(first && !strstr(first + 1, "error:")); /* one error line */
        CU_ASSERT_PTR_NULL(strchr(errs, '{'));
        struct stat st;
        CU_ASSERT(stat(proj, &st) < 0);
    } else {
        CU_ASSERT_EQUAL(status, 0);
        if (status != 0) {
            fprintf(stderr, "\ncreate failed (%d): %s\n", status, errs);
            goto out;
        }
        char real[PATH_MAX], path[PATH_MAX + 40];
        CU_ASSERT_PTR_NOT_NULL(realpath(proj, real));
        CU_ASSERT(strncmp(out, real, strlen(real)) == 0 && out[strlen(real)] == '\n');
        snprintf(path, sizeof path, "%s/launch_microtvm_api_server.sh", proj);
        CU_ASSERT_EQUAL(access(path, X_OK), 0);
        free(out);
        free(errs);
        /* and its own server describes it */
        const char *info[] = {"info", proj, "--json", NULL};
        status = run_cli(info, 60, &out, &errs);
        CU_ASSERT_EQUAL(status, 0);
        cJSON *j = cJSON_Parse(out);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "project_type");
        const cJSON *board = cJSON_GetObjectItemCaseSensitive(j, "board");
        CU_ASSERT(cJSON_IsString(type) && strcmp(type->valuestring, "echo") == 0);
        CU_ASSERT(cJSON_IsString(board) && strcmp(board->valuestring, "mps2-an385") == 0);
        CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "flashed")));
        cJSON_Delete(j);
    }
out:
    free(out);
    free(errs);
}

static void test_a_missing_project_dir_is_a_clear_error(void)
{
    char proj[PATH_MAX];
    snprintf(proj, sizeof proj, "%s/no-such-project", tmpdir);
    const char *cmds[] = {"build", "flash", "info", "serial"};
    for (size_t i = 0; i < 4; i++) {
        char *out, *errs;
        const char *args[] = {cmds[i], proj, NULL};
        CU_ASSERT_EQUAL(run_cli(args, 30, &out, &errs), 1);
        CU_ASSERT_STRING_EQUAL(out, "");
        CU_ASSERT_PTR_NOT_NULL(strstr(errs, "no-such-project: no such project directory"));
        CU_ASSERT_PTR_NOT_NULL(strstr(errs, "microtvm-qemu create"));
        CU_ASSERT_EQUAL(strchr(errs, '\n'), errs + strlen(errs) - 1); /* one line */
        free(out);
        free(errs);
    }
}

static void test_the_template_is_not_taken_for_a_project(void)
{
    char *out, *errs;
    const char *args[] = {"info", MTQ_TEMPLATE_DIR, NULL};
    CU_ASSERT_EQUAL(run_cli(args, 30, &out, &errs), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(errs, "is the template project"));
    free(out);
    free(errs);
}

static void test_an_unknown_board_lists_the_boards(void)
{
    char proj[PATH_MAX], *names[64], *out, *errs;
    size_t n = board_files(names, 64);
    snprintf(proj, sizeof proj, "%s/bad-board", tmpdir);
    const char *args[] = {"create", proj, "--board", "no-such-board", "--type", "echo", NULL};
    CU_ASSERT_EQUAL(run_cli(args, 30, &out, &errs), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(errs, "unknown board 'no-such-board'"));
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_PTR_NOT_NULL(strstr(errs, names[i]));
        free(names[i]);
    }
    struct stat st;
    CU_ASSERT(stat(proj, &st) < 0);
    free(out);
    free(errs);
}

int main(void)
{
    if (access(MTQ_CLI, X_OK) < 0 || access(MTQ_TEMPLATE_DIR "/launch_microtvm_api_server.sh",
                                            X_OK) < 0) {
        printf("skipped: build the command line and the template first (%s)\n", MTQ_CLI);
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("e2e_cli", suite_init, suite_clean);
    CU_ADD_TEST(s, test_machines_lists_every_board_in_machines);
    CU_ADD_TEST(s, test_template_dir_prints_the_built_template);
    CU_ADD_TEST(s, test_the_template_server_answers_server_info_query);
    CU_ADD_TEST(s, test_create_makes_an_echo_project);
    CU_ADD_TEST(s, test_a_missing_project_dir_is_a_clear_error);
    CU_ADD_TEST(s, test_the_template_is_not_taken_for_a_project);
    CU_ADD_TEST(s, test_an_unknown_board_lists_the_boards);
    if (CU_get_error() != CUE_SUCCESS)
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return bad != 0;
}
