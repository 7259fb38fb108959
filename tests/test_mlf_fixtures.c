/*
 * The sample models in tests/fixtures/mlf/ have the shape TVM gives a Model Library Format
 * (metadata.json version 7, or 5 as TVM 0.8 wrote it, the C interface header agreeing with it),
 * their sample files agree with themselves, scripts/make_digits_model.py reproduces them byte for
 * byte, and mlf_make_tar writes tars the way TVM's exporter does. The byte-for-byte check holds on
 * every machine: the script trains in exactly rounded operations in a fixed order, never through
 * BLAS or libm (its "Arithmetic" section), so the reference BLAS, OpenBLAS, and a CPU with or
 * without AVX-512 give the same bits.
 */
#include "mlf.h"

#include "asserts.h"
#include "runner.h"

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int suite_init(void)
{
    strcpy(tmpdir, "/tmp/mtq-mlf-XXXXXX");
    return mkdtemp(tmpdir) == NULL;
}

static int suite_clean(void)
{
    return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = '\0';
        if (len != NULL)
            *len = (size_t)n;
    }
    return buf;
}

static char *fixture_file(const char *fixture, const char *rel)
{
    char dir[1024], path[1200];
    struct err err;
    if (mlf_fixture_path(fixture, dir, sizeof(dir), &err) != 0)
        return NULL;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return read_file(path, NULL);
}

static cJSON *fixture_json(const char *fixture, const char *rel)
{
    char *text = fixture_file(fixture, rel);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    return root;
}

static cJSON *get(cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* The value of `#define name <n>` in a header, or -1. */
static long header_define(const char *header, const char *name)
{
    char pattern[200];
    if ((size_t)snprintf(pattern, sizeof(pattern), "#define %s ", name) >= sizeof(pattern))
        return -1; /* no define has such a long name */
    const char *p = strstr(header, pattern);
    return p ? strtol(p + strlen(pattern), NULL, 10) : -1;
}

/* Checks one version-7 fixture: metadata fields, and the header's structs and size macros. */
static void check_v7(const char *fixture, const char *in_member, const char *out_member)
{
    cJSON *meta = fixture_json(fixture, "metadata.json");
    ASSERT_NOT_NULL_FATAL(meta);
    ASSERT_EQ(get(meta, "version")->valueint, 7);
    cJSON *mod = get(get(meta, "modules"), "default");
    ASSERT_NOT_NULL_FATAL(mod);
    ASSERT_STR_EQ(cJSON_GetArrayItem(get(mod, "executors"), 0)->valuestring, "aot");
    ASSERT_STR_EQ(get(mod, "style")->valuestring, "full-model");
    ASSERT_TRUE(cJSON_IsArray(get(mod, "target")));
    cJSON *main0 = cJSON_GetArrayItem(get(get(get(mod, "memory"), "functions"), "main"), 0);
    ASSERT_NOT_NULL_FATAL(main0);
    char *header = fixture_file(fixture, "codegen/host/include/tvmgen_default.h");
    ASSERT_NOT_NULL_FATAL(header);
    ASSERT_EQ(header_define(header, "TVMGEN_DEFAULT_WORKSPACE_SIZE"),
              get(main0, "workspace_size_bytes")->valueint);
    long io = 0;
    const char *kinds[] = {"inputs", "outputs"};
    const char *members[] = {in_member, out_member};
    for (int k = 0; k < 2; k++) {
        cJSON *t;
        int count = 0;
        cJSON_ArrayForEach(t, get(main0, kinds[k])) {
            char macro[200], member[200];
            snprintf(macro, sizeof(macro), "TVMGEN_DEFAULT_%s_SIZE", t->string);
            for (char *c = macro; *c; c++)
                *c = *c == ':' ? '_' : (char)((*c >= 'a' && *c <= 'z') ? *c - 32 : *c);
            ASSERT_EQ(header_define(header, macro), get(t, "size")->valueint);
            io += get(t, "size")->valueint;
            snprintf(member, sizeof(member), "  void* %s;\n", members[k]);
            ASSERT_STR_CONTAINS(header, member);
            count++;
        }
        ASSERT_EQ(count, 1);
    }
    ASSERT_EQ(get(main0, "io_size_bytes")->valueint, io);
    ASSERT_STR_CONTAINS(header, "int32_t tvmgen_default_run(\n  struct "
                                "tvmgen_default_inputs* inputs,\n  struct "
                                "tvmgen_default_outputs* outputs\n);");
    char *lib1 = fixture_file(fixture, "codegen/host/src/default_lib1.c");
    ASSERT_NOT_NULL_FATAL(lib1);
    ASSERT_STR_CONTAINS(lib1, "#include \"tvm/runtime/c_backend_api.h\"");
    ASSERT_STR_CONTAINS(lib1, "TVMBackendAllocWorkspace(1, 0, ");
    char *params = fixture_file(fixture, "parameters/default.params");
    ASSERT_NOT_NULL(params);
    free(params);
    free(lib1);
    free(header);
    cJSON_Delete(meta);
}

static void test_digits_fixture_has_tvms_version_7_shape(void)
{
    check_v7("digits_int8", "input", "output");
}

static void test_float_fixture_sanitizes_tensor_names_as_tvm_does(void)
{
    check_v7("float_tiny", "dense_input_0", "Identity");
}

static void test_version5_fixture_has_tvm_0_8s_shape(void)
{
    cJSON *meta = fixture_json("version5", "metadata.json");
    ASSERT_NOT_NULL_FATAL(meta);
    ASSERT_EQ(get(meta, "version")->valueint, 5);
    ASSERT_NULL(get(meta, "modules"));
    ASSERT_STR_EQ(get(meta, "model_name")->valuestring, "default");
    ASSERT_STR_EQ(cJSON_GetArrayItem(get(meta, "executors"), 0)->valuestring, "aot");
    ASSERT_TRUE(cJSON_IsObject(get(meta, "target")));
    cJSON *main0 = cJSON_GetArrayItem(get(get(get(meta, "memory"), "functions"), "main"), 0);
    ASSERT_NOT_NULL_FATAL(main0);
    ASSERT_TRUE(cJSON_IsNumber(get(main0, "workspace_size_bytes")));
    ASSERT_NULL(get(main0, "inputs"));
    char *relay = fixture_file("version5", "src/relay.txt");
    ASSERT_NOT_NULL(relay);
    free(relay);
    cJSON_Delete(meta);
}

/* tvm.build + export_model_library_format (TVM's _export_operator_model_library_format): the
 * facts at the top level, no modules key, a memory map of function -> argument buffers, lib0.c
 * and lib1.c without the tvmgen_default_ prefix. */
static void test_operator_fixture_has_the_shape_tvm_build_exports(void)
{
    cJSON *meta = fixture_json("operator_add", "metadata.json");
    ASSERT_NOT_NULL_FATAL(meta);
    ASSERT_EQ(get(meta, "version")->valueint, 7);
    ASSERT_NULL(get(meta, "modules"));
    ASSERT_STR_EQ(get(meta, "style")->valuestring, "operator");
    ASSERT_STR_EQ(get(meta, "model_name")->valuestring, "add");
    ASSERT_EQ(cJSON_GetArraySize(get(meta, "executors")), 0);
    ASSERT_TRUE(cJSON_IsArray(get(meta, "target")));
    cJSON *args = get(get(meta, "memory"), "add");
    ASSERT_EQ_FATAL(cJSON_GetArraySize(args), 3);
    cJSON *a0 = cJSON_GetArrayItem(args, 0);
    ASSERT_EQ(get(a0, "size_bytes")->valueint, 2);
    ASSERT_STR_EQ(get(a0, "dtype")->valuestring, "int8");
    ASSERT_TRUE(cJSON_IsArray(get(a0, "shape")));
    ASSERT_TRUE(cJSON_IsNull(get(a0, "input_binding")));
    char *lib0 = fixture_file("operator_add", "codegen/host/src/lib0.c");
    ASSERT_TRUE(lib0 && strstr(lib0, "TVMSystemLibEntryPoint"));
    free(lib0);
    char *tir = fixture_file("operator_add", "src/tir-1.txt");
    ASSERT_NOT_NULL(tir);
    free(tir);
    cJSON_Delete(meta);
}

static void test_digits_samples_agree_with_themselves_and_the_accuracy(void)
{
    cJSON *root = fixture_json(".", "digits_int8_samples.json");
    ASSERT_NOT_NULL_FATAL(root);
    ASSERT_GE(get(get(root, "accuracy"), "int8_test")->valuedouble, 0.9);
    int labels_seen = 0, count = 0;
    cJSON *s;
    cJSON_ArrayForEach(s, get(root, "samples")) {
        const char *in = get(s, "input_hex")->valuestring;
        const char *out = get(s, "output_hex")->valuestring;
        ASSERT_EQ(strlen(in), 128);
        ASSERT_EQ(strlen(out), 20);
        int best = 0, i = 0;
        long best_v = -1000;
        cJSON *v;
        cJSON_ArrayForEach(v, get(s, "output")) {
            unsigned byte;
            sscanf(out + 2 * i, "%2x", &byte);
            ASSERT_EQ((int8_t)byte, v->valueint);
            if (v->valueint > best_v) {
                best_v = v->valueint;
                best = i;
            }
            i++;
        }
        ASSERT_EQ(get(s, "argmax")->valueint, best);
        labels_seen |= 1 << get(s, "label")->valueint;
        count++;
    }
    ASSERT_EQ(count, 10);
    ASSERT_EQ(labels_seen, 0x3ff);
    cJSON_Delete(root);
}

static int compare_trees(const char *a, const char *b, const char *rel)
{
    const char *files[] = {
        "digits_int8/metadata.json", "digits_int8/codegen/host/include/tvmgen_default.h",
        "digits_int8/codegen/host/src/default_lib0.c", "digits_int8/codegen/host/src/default_lib1.c",
        "digits_int8/parameters/default.params", "digits_int8/src/default.relay",
        "digits_int8_samples.json", "float_tiny/metadata.json",
        "float_tiny/codegen/host/src/default_lib0.c", "float_tiny_samples.json",
        "version5/metadata.json", "version5/codegen/host/include/tvmgen_default.h",
        "operator_add/metadata.json", "operator_add/codegen/host/src/lib0.c",
        "operator_add/codegen/host/src/lib1.c", "operator_add/src/tir-1.txt",
    };
    (void)rel;
    int same = 0;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char pa[1200], pb[1200];
        size_t la = 0, lb = 0;
        snprintf(pa, sizeof(pa), "%s/%s", a, files[i]);
        snprintf(pb, sizeof(pb), "%s/%s", b, files[i]);
        char *x = read_file(pa, &la), *y = read_file(pb, &lb);
        if (x != NULL && y != NULL && la == lb && memcmp(x, y, la) == 0)
            same++;
        else
            fprintf(stderr, "differs: %s (the generator or the committed fixture changed: "
                            "re-run scripts/make_digits_model.py and commit both)\n", files[i]);
        free(x);
        free(y);
    }
    return same == (int)(sizeof(files) / sizeof(files[0]));
}

static void test_the_script_reproduces_the_fixtures_byte_for_byte(void)
{
    if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
        printf("\n  (not checked: /usr/bin/python3 has no numpy; install python3-numpy)\n");
        return;
    }
    char out[200], command[1400], committed[1024];
    struct err err;
    snprintf(out, sizeof(out), "%s/regen", tmpdir);
    snprintf(command, sizeof(command),
             "/usr/bin/python3 '%s/scripts/make_digits_model.py' --out '%s' >/dev/null",
             MTQ_SOURCE_DIR, out);
    ASSERT_EQ_FATAL(system(command), 0);
    ASSERT_OK_FATAL(mlf_fixture_path(".", committed, sizeof(committed), &err), &err);
    ASSERT_TRUE(compare_trees(committed, out, ""));
}

static void test_tar_members_are_named_as_tvms_exporter_names_them(void)
{
    char dir[1024], tar[200];
    struct err err;
    ASSERT_OK_FATAL(mlf_fixture_path("digits_int8", dir, sizeof(dir), &err), &err);
    snprintf(tar, sizeof(tar), "%s/model.tar", tmpdir);
    ASSERT_OK_FATAL(mlf_make_tar(dir, tar, &err), &err);

    struct archive *ar = archive_read_new();
    archive_read_support_format_tar(ar);
    ASSERT_EQ_FATAL(archive_read_open_filename(ar, tar, 10240), ARCHIVE_OK);
    struct archive_entry *e;
    int n = 0, saw_meta = 0, saw_lib1 = 0, all_dot = 1, all_root = 1;
    char first[64] = "";
    while (archive_read_next_header(ar, &e) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (n++ == 0)
            snprintf(first, sizeof(first), "%s", name);
        all_dot &= strncmp(name, "./", 2) == 0;
        all_root &= archive_entry_uid(e) == 0 && archive_entry_gid(e) == 0;
        saw_meta |= strcmp(name, "./metadata.json") == 0;
        saw_lib1 |= strcmp(name, "./codegen/host/src/default_lib1.c") == 0;
    }
    archive_read_free(ar);
    ASSERT_STR_EQ(first, "./");
    ASSERT_TRUE(all_dot);
    ASSERT_TRUE(all_root);
    ASSERT_TRUE(saw_meta);
    ASSERT_TRUE(saw_lib1);
    ASSERT_GE(n, 10);
    unlink(tar);
}

static void test_tar_of_a_missing_directory_names_it(void)
{
    char tar[200];
    struct err err;
    snprintf(tar, sizeof(tar), "%s/missing.tar", tmpdir);
    ASSERT_LT(mlf_make_tar("/nonexistent/mlf", tar, &err), 0);
    ASSERT_STR_CONTAINS(err.msg, "/nonexistent/mlf");
    ASSERT_EQ(access(tar, F_OK), -1); /* no half-written tar left behind */
}

static void test_tar_refuses_a_symbolic_link_in_the_tree(void)
{
    char dir[200], link[260], tar[200];
    struct err err;
    snprintf(dir, sizeof(dir), "%s/withlink", tmpdir);
    snprintf(link, sizeof(link), "%s/evil", dir);
    snprintf(tar, sizeof(tar), "%s/withlink.tar", tmpdir);
    char meta[260];
    snprintf(meta, sizeof(meta), "%s/metadata.json", dir);
    ASSERT_EQ_FATAL(mkdir(dir, 0755), 0);
    FILE *f = fopen(meta, "w"); /* an MLF in every other way */
    ASSERT_NOT_NULL_FATAL(f);
    fputs("{\"version\": 7}\n", f);
    fclose(f);
    ASSERT_EQ_FATAL(symlink("/etc/passwd", link), 0);
    ASSERT_EQ(mlf_make_tar(dir, tar, &err), ERR_INVALID);
    ASSERT_STR_CONTAINS(err.msg, "evil: not a regular file or directory");
    ASSERT_EQ(access(tar, F_OK), -1);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("mlf fixtures", suite_init, suite_clean);
    CU_ADD_TEST(s, test_digits_fixture_has_tvms_version_7_shape);
    CU_ADD_TEST(s, test_float_fixture_sanitizes_tensor_names_as_tvm_does);
    CU_ADD_TEST(s, test_version5_fixture_has_tvm_0_8s_shape);
    CU_ADD_TEST(s, test_operator_fixture_has_the_shape_tvm_build_exports);
    CU_ADD_TEST(s, test_digits_samples_agree_with_themselves_and_the_accuracy);
    CU_ADD_TEST(s, test_the_script_reproduces_the_fixtures_byte_for_byte);
    CU_ADD_TEST(s, test_tar_members_are_named_as_tvms_exporter_names_them);
    CU_ADD_TEST(s, test_tar_of_a_missing_directory_names_it);
    CU_ADD_TEST(s, test_tar_refuses_a_symbolic_link_in_the_tree);
    return TEST_RUN;
}
