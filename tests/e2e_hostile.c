/*
 * The hostile corpus (docs/SECURITY.md's attacks) end to end: each case (tests/support/hostile.c
 * builds it at run time) goes to the real server, started as TVM starts it, and must come back as
 * the right error with a message naming the problem, while nothing outside the project changes (a
 * marker directory stays empty, a canary file keeps its bytes) and the server keeps serving. The
 * build cases use a generated echo project and its own server; none runs a compiler (the time limit
 * case runs a stand-in cmake that hangs), so the suite stays fast.
 */
#include "asserts.h"
#include "cli_run.h"
#include "e2e_rpc.h"
#include "fs.h"
#include "host_marks.h"
#include "hostile.h"
#include "project_internal.h"
#include "qemu_procs.h"
#include "runner.h"

#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char workdir[] = "/tmp/mtq-e2e-hostile-XXXXXX";
static char tars[64], gen[64], marker[64], canary[64], cache[64];
static const char CANARY[] = "canary bytes: must never change\n";
static struct rpc_client server;
static bool server_up;

/* Nothing outside the projects changed, and the template server still answers. */
static void outside_untouched(void)
{
    ASSERT_TRUE(host_marks_untouched("e2e_hostile", marker, canary, CANARY));
    ASSERT_TRUE(e2e_call_ok(&server, "server_info_query", "{\"tvm_version\":\"0.18.0\"}"));
    ASSERT_TRUE(qemu_procs_alive(server.pid));
}

static int code_of(const cJSON *reply)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(reply, "error");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    return cJSON_IsNumber(c) ? c->valueint : 0;
}

/* Calls method on c and checks the error: code, and want in the message or (for -32000, the
 * server's diagnosis) the traceback. */
static void expect_error(struct rpc_client *c, const char *method, const char *params, int code,
                         const char *want)
{
    cJSON *r = e2e_call(c, method, params);
    ASSERT_NOT_NULL_FATAL(r);
    const char *text = code == -32000 ? e2e_traceback_of(r) : e2e_message_of(r);
    if (code_of(r) != code || !strstr(text, want))
        fprintf(stderr, "\n    %s: got %d \"%s\" / \"%s\"\n    want %d \"%s\"\n", method,
                code_of(r), e2e_message_of(r), e2e_traceback_of(r), code, want);
    ASSERT_EQ(code_of(r), code);
    ASSERT_STR_CONTAINS(text, want);
    cJSON_Delete(r);
}

/* generate_project of gen/name from mlf (may be "") with extra options (JSON members, may be
 * ""); expects the error and no project, no staging left in gen/. */
static void expect_generate_refused(const char *name, const char *mlf, const char *type,
                                    const char *more, int code, const char *want)
{
    char params[2 * PATH_MAX + 512];
    snprintf(params, sizeof params,
             "{\"model_library_format_path\":\"%s\",\"standalone_crt_dir\":\"\","
             "\"project_dir\":\"%s/%s\",\"options\":{\"project_type\":\"%s\","
             "\"board\":\"mps2-an385\"%s}}", mlf, gen, name, type, more);
    expect_error(&server, "generate_project", params, code, want);
    ASSERT_EQ(host_marks_entries(gen), 0);
    outside_untouched();
}

static int suite_init(void)
{
    if (!mkdtemp(workdir))
        return 1;
    snprintf(tars, sizeof tars, "%s/tars", workdir);
    snprintf(gen, sizeof gen, "%s/gen", workdir);
    snprintf(marker, sizeof marker, "%s/marker", workdir);
    snprintf(canary, sizeof canary, "%s/canary", workdir);
    snprintf(cache, sizeof cache, "%s/cache", workdir);
    if (fs_mkdir_p(tars, NULL) < 0 || fs_mkdir_p(gen, NULL) < 0 ||
        fs_mkdir_p(marker, NULL) < 0 || fs_write_file(canary, CANARY, strlen(CANARY), NULL) < 0)
        return 1;
    setenv("MTQ_CACHE_DIR", cache, 1); /* the servers' firmware cache: ours alone */
    server_up = e2e_spawn(&server, MTQ_TEMPLATE_DIR);
    return server_up ? 0 : 1;
}

static int suite_clean(void)
{
    if (server_up)
        e2e_close_server(&server);
    fs_remove_tree(workdir, NULL);
    return 0;
}

/* ---- links judged where they finally sit ---- */

static void test_a_link_that_comes_alive_once_renamed_is_refused(void)
{
    static const struct tar_member m[] = {
        {"./u", AE_IFLNK, NULL, ".", NULL, 0, false},
        {"./passwd", AE_IFLNK, NULL, "u/u/u/../model/../../../../canary", NULL, 0, false},
    };
    char tar[PATH_MAX];
    snprintf(tar, sizeof tar, "%s/reroot.tar", tars);
    ASSERT_TRUE_FATAL(hostile_mlf(tar, m, 2));
    expect_generate_refused("reroot", tar, "aot_standalone", "", -32000,
                            "passwd: symbolic link to 'u/u/u/../model/../../../../canary'");
}

static void test_extra_files_with_a_link_out_or_a_chain_are_refused(void)
{
    char mlf[PATH_MAX], extra[PATH_MAX], more[PATH_MAX + 64];
    snprintf(mlf, sizeof mlf, "%s/good.tar", tars);
    ASSERT_TRUE_FATAL(hostile_mlf(mlf, NULL, 0));
    static const struct tar_member out[] = {
        {"./build/", AE_IFDIR, NULL, NULL, NULL, 0, false},
        {"./build/build.log", AE_IFLNK, NULL, "../../../canary", NULL, 0, false},
    };
    snprintf(extra, sizeof extra, "%s/extra_out.tar", tars);
    ASSERT_TRUE_FATAL(tar_write_archive(extra, out, 2, false));
    snprintf(more, sizeof more, ",\"extra_files_tar\":\"%s\"", extra);
    expect_generate_refused("extra_out", mlf, "aot_standalone", more, -32000,
                            "build/build.log: symbolic link to '../../../canary'");
    static const struct tar_member chain[] = {
        {"./include/a.h", AE_IFREG, "#define A 1\n", NULL, NULL, 0, false},
        {"./include/b.h", AE_IFLNK, NULL, "a.h", NULL, 0, false},
        {"./include/c.h", AE_IFLNK, NULL, "b.h", NULL, 0, false},
    };
    snprintf(extra, sizeof extra, "%s/extra_chain.tar", tars);
    ASSERT_TRUE_FATAL(tar_write_archive(extra, chain, 3, false));
    snprintf(more, sizeof more, ",\"extra_files_tar\":\"%s\"", extra);
    expect_generate_refused("extra_chain", mlf, "aot_standalone", more, -32000,
                            "include/c.h: symbolic link to 'b.h' goes through another link");
}

/* ---- option values that would be build-file syntax ---- */

static void test_a_newline_in_cmsis_path_is_refused_by_name(void)
{
    expect_generate_refused("cmsis", "", "echo",
                            ",\"cmsis_path\":\"/tmp/x\\nrule r\\n  command = id\"", -32000,
                            "option cmsis_path: \"/tmp/x\\x0arule r");
    expect_generate_refused("defs", "", "echo", ",\"compile_definitions\":[\"X=$(id)\"]",
                            -32000, "option compile_definitions: \"X=$(id)\" holds '$'");
}

/* ---- depth ---- */

static void test_1500_nested_directories_are_refused_without_a_crash(void)
{
    char tar[PATH_MAX];
    snprintf(tar, sizeof tar, "%s/deep.tar", tars);
    ASSERT_TRUE_FATAL(hostile_deep_mlf(tar, 1500));
    expect_generate_refused("deep", tar, "aot_standalone", "", -32000,
                            "nested deeper than 32 directories, the cap (raise "
                            "MTQ_EXTRACT_MAX_DEPTH");
}

static void test_a_deep_leftover_staging_directory_is_swept(void)
{
    pid_t dead = fork(); /* a pid that no longer runs: the owner of the leftover */
    if (dead == 0)
        _exit(0);
    ASSERT_GT_FATAL(dead, 0);
    waitpid(dead, NULL, 0);
    char staging[PATH_MAX], proj[PATH_MAX], params[2 * PATH_MAX];
    snprintf(staging, sizeof staging, "%s/.left.generating-%ld-abcdef", gen, (long)dead);
    ASSERT_EQ_FATAL(mkdir(staging, 0755), 0);
    ASSERT_TRUE_FATAL(hostile_deep_tree(staging, 1500));
    snprintf(proj, sizeof proj, "%s/left", gen);
    snprintf(params, sizeof params, "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":"
             "\"\",\"project_dir\":\"%s\",\"options\":{\"project_type\":\"echo\",\"board\":"
             "\"mps2-an385\"}}", proj);
    ASSERT_TRUE(e2e_call_ok(&server, "generate_project", params));
    ASSERT_FALSE(fs_exists(staging));
    ASSERT_EQ(fs_remove_tree(proj, NULL), 0);
    ASSERT_EQ(host_marks_entries(gen), 0);
    outside_untouched();
}

/* ---- bombs ---- */

static void test_a_sparse_200_mb_member_is_refused_by_its_apparent_size(void)
{
    static const struct tar_member m[] = {
        {"./runtime/big.bin", AE_IFREG, NULL, NULL, NULL, 200ll << 20, true},
    };
    char tar[PATH_MAX];
    snprintf(tar, sizeof tar, "%s/sparse.tar", tars);
    ASSERT_TRUE_FATAL(hostile_mlf(tar, m, 1));
    expect_generate_refused("sparse", tar, "aot_standalone", "", -32000,
                            "runtime/big.bin: 209715200 bytes, more than the 67108864 a member "
                            "may have (raise MTQ_EXTRACT_MAX_MEMBER_BYTES");
}

static void test_an_archive_expanding_past_the_byte_cap_is_refused(void)
{
    struct tar_member m[6];
    char names[6][32];
    for (int i = 0; i < 6; i++) { /* 6 x 60 MiB, sparse: a 40 kB tar that expands to 360 MiB */
        snprintf(names[i], sizeof names[i], "./w%d.bin", i);
        m[i] = (struct tar_member){names[i], AE_IFREG, NULL, NULL, NULL, 60ll << 20, true};
    }
    char tar[PATH_MAX];
    snprintf(tar, sizeof tar, "%s/bytes.tar", tars);
    ASSERT_TRUE_FATAL(hostile_mlf(tar, m, 6));
    expect_generate_refused("bytes", tar, "aot_standalone", "", -32000,
                            "expands to more than 268435456 bytes, the cap");
}

static void test_an_archive_of_20001_files_is_refused(void)
{
    char tar[PATH_MAX];
    snprintf(tar, sizeof tar, "%s/many.tar.gz", tars);
    ASSERT_TRUE_FATAL(hostile_many_mlf(tar, 20001));
    expect_generate_refused("many", tar, "aot_standalone", "", -32000,
                            "more than 20000 members, the cap");
}

/* ---- metadata text that would be C ---- */

static void test_metadata_names_that_would_be_c_are_refused(void)
{
    char meta[1024], tar[PATH_MAX];
    snprintf(meta, sizeof meta, "%s", HOSTILE_META);
    char *at = strstr(meta, "\"int8\"}}, \"outputs\"");
    ASSERT_NOT_NULL_FATAL(at);
    char fixed[1200];
    snprintf(fixed, sizeof fixed, "%.*s\"int8\\\"\\n#include \\\"/etc/hostname\\\"\"%s",
             (int)(at - meta), meta, at + 6);
    struct tar_member m[] = {
        {"./metadata.json", AE_IFREG, fixed, NULL, NULL, 0, false},
        {"./codegen/host/src/a.c", AE_IFREG, "int a;\n", NULL, NULL, 0, false}};
    snprintf(tar, sizeof tar, "%s/dtype.tar", tars);
    ASSERT_TRUE_FATAL(tar_write_archive(tar, m, 2, false));
    expect_generate_refused("dtype", tar, "aot_standalone", "", -32000,
                            "dtype \"int8\"\\x0a#include \"/etc/hostname\"\" is not one TVM "
                            "writes");
}

/* ---- the command line, which speaks to the same server ---- */

static void test_the_command_line_reports_a_hostile_model_in_one_line(void)
{
    static const struct tar_member m[] = {
        {"./u", AE_IFLNK, NULL, ".", NULL, 0, false},
        {"./passwd", AE_IFLNK, NULL, "u/u/../../canary", NULL, 0, false},
    };
    char tar[PATH_MAX], proj[PATH_MAX];
    snprintf(tar, sizeof tar, "%s/cli_reroot.tar", tars);
    snprintf(proj, sizeof proj, "%s/cli", gen);
    ASSERT_TRUE_FATAL(hostile_mlf(tar, m, 2));
    const char *args[] = {"create", proj, "--mlf", tar, "--board", "mps2-an385", "--type",
                          "aot_standalone", NULL};
    char *out = NULL, *errs = NULL;
    int status = cli_run_binary(workdir, args, NULL, 60, &out, &errs);
    ASSERT_EQ(status, 1);
    if (!strstr(errs, "passwd: symbolic link to 'u/u/../../canary'"))
        fprintf(stderr, "\n    create said: %s\n", errs);
    ASSERT_STR_CONTAINS(errs, "passwd: symbolic link to 'u/u/../../canary'");
    ASSERT_FALSE(fs_exists(proj));
    free(out);
    free(errs);
    const char *bad_opt[] = {"create", proj, "--board", "mps2-an385", "--type", "echo", "-o",
                             "cmsis_path=/tmp/x\nbuild y: phony", NULL};
    status = cli_run_binary(workdir, bad_opt, NULL, 60, &out, &errs);
    ASSERT_EQ(status, 1);
    ASSERT_STR_CONTAINS(errs, "option cmsis_path: ");
    ASSERT_FALSE(fs_exists(proj));
    free(out);
    free(errs);
    ASSERT_EQ(host_marks_entries(gen), 0);
    outside_untouched();
}

/* ---- builds of a generated echo project ---- */

/* Generates gen/name (echo) through the template server and starts its own server in *c. */
static bool echo_project(const char *name, char *proj, size_t projsz, struct rpc_client *c)
{
    char params[2 * PATH_MAX];
    snprintf(proj, projsz, "%s/%s", gen, name);
    snprintf(params, sizeof params, "{\"model_library_format_path\":\"\",\"standalone_crt_dir\":"
             "\"\",\"project_dir\":\"%s\",\"options\":{\"project_type\":\"echo\",\"board\":"
             "\"mps2-an385\"}}", proj);
    return e2e_call_ok(&server, "generate_project", params) && e2e_spawn(c, proj);
}

static void test_a_second_build_of_a_project_is_told_a_build_is_in_progress(void)
{
    char proj[PATH_MAX], lock[PATH_MAX + 32];
    struct rpc_client c;
    ASSERT_TRUE_FATAL(echo_project("locked", proj, sizeof proj, &c));
    snprintf(lock, sizeof lock, "%s/.mtq_build.lock", proj);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644); /* the first build, as it holds it */
    ASSERT_TRUE_FATAL(fd >= 0 && flock(fd, LOCK_EX) == 0);
    ASSERT_EQ(write(fd, "4242\n", 5), 5);
    expect_error(&c, "build", "{\"options\":{}}", -32000,
                 "build in progress: another build of ");
    expect_error(&c, "build", "{\"options\":{}}", -32000, "(pid 4242); wait for it to finish");
    close(fd);
    ASSERT_TRUE(e2e_call_ok(&c, "server_info_query", "{\"tvm_version\":\"0.18.0\"}"));
    e2e_close_server(&c);
    ASSERT_EQ(fs_remove_tree(proj, NULL), 0);
    outside_untouched();
}

static void test_build_log_planted_as_a_link_is_never_written_through(void)
{
    char proj[PATH_MAX], path[PATH_MAX + 32];
    struct rpc_client c;
    ASSERT_TRUE_FATAL(echo_project("logged", proj, sizeof proj, &c));
    snprintf(path, sizeof path, "%s/build", proj);
    ASSERT_EQ_FATAL(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/build/build.log", proj);
    ASSERT_EQ_FATAL(symlink(canary, path), 0);
    expect_error(&c, "build", "{\"options\":{}}", -32000, "build/build.log: ");
    e2e_close_server(&c);
    ASSERT_EQ(fs_remove_tree(proj, NULL), 0);
    outside_untouched();
}

/* The entries of the shared cache (directories and locks, not temporaries). */
static int cache_entries(void)
{
    DIR *d = opendir(cache);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

static void test_links_in_the_cached_sources_bypass_the_shared_cache(void)
{
    char proj[PATH_MAX], path[PATH_MAX + 64], key[17];
    struct rpc_client c;
    ASSERT_TRUE_FATAL(echo_project("poison", proj, sizeof proj, &c));
    struct project_record s;
    struct err err = {0};
    ASSERT_OK_FATAL(record_read(&s, proj, &err), &err);
    ASSERT_OK(proj__cache_key(proj, &s, key, &err), &err); /* clean: cacheable */
    /* the cache-poisoning attack: a header the compiler follows into another file, which the key
     * would not see; the tampered library must not land in the shared cache */
    snprintf(path, sizeof path, "%s/firmware/board/zz_poison.h", proj);
    ASSERT_EQ_FATAL(symlink("../../project.json", path), 0);
    ASSERT_EQ(proj__cache_key(proj, &s, key, &err), ERR_STATE);
    ASSERT_STR_CONTAINS(err.msg, "firmware/board/zz_poison.h is a symbolic link; a "
                                 "project with links in the cached sources builds without");
    record_close(&s);
    int before = cache_entries();
    ASSERT_TRUE(e2e_call_ok(&c, "build", "{\"options\":{}}")); /* a real build, in the project */
    ASSERT_EQ(cache_entries(), before);
    snprintf(path, sizeof path, "%s/build/firmware.elf", proj);
    ASSERT_TRUE(fs_exists(path));
    /* and once the link is gone the same project uses (here: fills) the cache */
    snprintf(path, sizeof path, "%s/firmware/board/zz_poison.h", proj);
    ASSERT_EQ(unlink(path), 0);
    ASSERT_TRUE(e2e_call_ok(&c, "build", "{\"options\":{}}"));
    ASSERT_GT(cache_entries(), before);
    e2e_close_server(&c);
    ASSERT_EQ(fs_remove_tree(proj, NULL), 0);
    outside_untouched();
}

static void test_a_build_step_over_its_time_limit_is_killed_with_its_children(void)
{
    char proj[PATH_MAX], bin[PATH_MAX], tool[PATH_MAX + 16], path[PATH_MAX + 32];
    snprintf(bin, sizeof bin, "%s/bin", workdir);
    ASSERT_EQ_FATAL(fs_mkdir_p(bin, NULL), 0);
    snprintf(tool, sizeof tool, "%s/cmake", bin);
    char script[PATH_MAX + 200];
    int n = snprintf(script, sizeof script, "#!/bin/sh\nsleep 300 &\necho $! > %s/sleeper\n"
                     "wait\n", bin);
    ASSERT_TRUE_FATAL(fs_write_file(tool, script, (size_t)n, NULL) == 0 && chmod(tool, 0755) == 0);
    const char *old = getenv("PATH");
    char *saved = strdup(old ? old : "/usr/bin:/bin"), *with = NULL;
    ASSERT_TRUE_FATAL(saved && asprintf(&with, "%s:%s", bin, saved) > 0);
    setenv("PATH", with, 1); /* the project's server finds the hanging cmake first */
    struct rpc_client c;
    bool up = echo_project("slow", proj, sizeof proj, &c);
    setenv("PATH", saved, 1);
    ASSERT_TRUE_FATAL(up);
    expect_error(&c, "build", "{\"options\":{\"build_timeout_s\":1}}", -32000,
                 "cmake: still running after 1 s, the time limit of a build step; stopped it "
                 "and every process it started (raise the build_timeout_s option");
    snprintf(path, sizeof path, "%s/sleeper", bin);
    char *pid_text = NULL;
    ASSERT_EQ_FATAL(fs_read_file(path, 0, &pid_text, NULL, NULL), 0);
    pid_t sleeper = (pid_t)atol(pid_text);
    free(pid_text);
    bool gone = false; /* killed with its group; its reaper may need a moment */
    for (int i = 0; i < 200 && !gone; i++) {
        gone = kill(sleeper, 0) < 0 && errno == ESRCH;
        if (!gone)
            usleep(10000);
    }
    ASSERT_TRUE(gone);
    ASSERT_TRUE(e2e_call_ok(&c, "server_info_query", "{\"tvm_version\":\"0.18.0\"}"));
    e2e_close_server(&c);
    free(saved);
    free(with);
    ASSERT_EQ(fs_remove_tree(proj, NULL), 0);
    outside_untouched();
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("hostile", suite_init, suite_clean);
    CU_ADD_TEST(s, test_a_link_that_comes_alive_once_renamed_is_refused);
    CU_ADD_TEST(s, test_extra_files_with_a_link_out_or_a_chain_are_refused);
    CU_ADD_TEST(s, test_a_newline_in_cmsis_path_is_refused_by_name);
    CU_ADD_TEST(s, test_1500_nested_directories_are_refused_without_a_crash);
    CU_ADD_TEST(s, test_a_deep_leftover_staging_directory_is_swept);
    CU_ADD_TEST(s, test_a_sparse_200_mb_member_is_refused_by_its_apparent_size);
    CU_ADD_TEST(s, test_an_archive_expanding_past_the_byte_cap_is_refused);
    CU_ADD_TEST(s, test_an_archive_of_20001_files_is_refused);
    CU_ADD_TEST(s, test_metadata_names_that_would_be_c_are_refused);
    CU_ADD_TEST(s, test_the_command_line_reports_a_hostile_model_in_one_line);
    CU_ADD_TEST(s, test_a_second_build_of_a_project_is_told_a_build_is_in_progress);
    CU_ADD_TEST(s, test_build_log_planted_as_a_link_is_never_written_through);
    CU_ADD_TEST(s, test_links_in_the_cached_sources_bypass_the_shared_cache);
    CU_ADD_TEST(s, test_a_build_step_over_its_time_limit_is_killed_with_its_children);
    return TEST_RUN;
}
