/*
 * Fuzz target "mlf": the metadata.json of a Model Library Format archive through
 * proj__mlf_parse (server/mlf.c), which generate_project runs on whatever archive a client
 * names. A refusal must be ERR_INVALID with a one-line message starting with the label; an
 * acceptance must give version 5 or 7, at least one module, terminated names, and facts that
 * survive proj__mlf_to_json (what project.json records) as JSON that parses back.
 */
#include "project_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL "metadata.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
    fprintf(stderr, "fuzz_mlf: %s\n", what);
    abort();
}

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static void check_tensors(const struct proj_tensor *t, size_t n)
{
    if (n && !t)
        die("tensors counted but not allocated");
    for (size_t i = 0; i < n; i++)
        if (!TERMINATED(t[i].name) || !TERMINATED(t[i].dtype))
            die("a tensor's name or dtype is not terminated");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proj_mlf mlf;
    struct err err = {0};
    /* the exact bytes, without a NUL: proj__mlf_parse takes a length */
    int rc = proj__mlf_parse(&mlf, (const char *)data, size, LABEL, &err);
    if (rc < 0) {
        if (rc != ERR_INVALID || err.code != rc)
            die("a refusal other than ERR_INVALID");
        if (strncmp(err.msg, LABEL ": ", strlen(LABEL) + 2) != 0 || strchr(err.msg, '\n'))
            die("a refusal whose message does not start with the label on one line");
        if (mlf.modules || mlf.n_modules)
            die("a refusal left modules behind");
        return 0;
    }
    if (mlf.version != 5 && mlf.version != 7)
        die("an unsupported version was accepted");
    if (mlf.n_modules < 1 || !mlf.modules)
        die("no modules were accepted");
    for (size_t i = 0; i < mlf.n_modules; i++) {
        const struct proj_module *m = &mlf.modules[i];
        if (!TERMINATED(m->name) || !TERMINATED(m->executor) || !TERMINATED(m->style))
            die("a module's name, executor or style is not terminated");
        check_tensors(m->inputs, m->n_inputs);
        check_tensors(m->outputs, m->n_outputs);
        if (m->workspace_bytes > proj__mlf_workspace(&mlf))
            die("proj__mlf_workspace is not the largest workspace");
        if (m->executor[0] && !proj__mlf_has_executor(&mlf, m->executor))
            die("proj__mlf_has_executor misses a module's executor");
    }
    cJSON *j = proj__mlf_to_json(&mlf);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    if (!text)
        die("proj__mlf_to_json gave nothing printable");
    cJSON *back = cJSON_Parse(text);
    if (!back || cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(back, "modules")) !=
                     (int)mlf.n_modules)
        die("the facts do not parse back with every module");
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(j);
    proj__mlf_close(&mlf);
    proj__mlf_close(&mlf); /* a closed struct may be closed again */
    return 0;
}
