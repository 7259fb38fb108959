/* Test support: normalized project options (see normalized.h). */
#include "normalized.h"

#include "asserts.h"
#include "options.h"

#include <stdio.h>

struct opt_table *normalized_table(void)
{
    return opt_table_new(MTQ_TEMPLATE_DIR "/machines", NULL);
}

cJSON *normalized_options(const struct opt_table *table, const char *json)
{
    cJSON *in = cJSON_Parse(json), *out = NULL;
    struct err err = {0};
    ASSERT_NOT_NULL(in);
    if (opt_normalize(table, in, &out, &err) < 0)
        fprintf(stderr, "\nopt_normalize: %s\n", err.msg);
    cJSON_Delete(in);
    ASSERT_NOT_NULL(out);
    return out;
}
