/*
 * Field lookups on cJSON objects (see jsonget.h). cJSON's own getters already treat NULL as
 * "no object"; these add the type check every caller otherwise writes again.
 */
#include "jsonget.h"

const cJSON *cli_json_item(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

double cli_json_num(const cJSON *o, const char *key)
{
    const cJSON *v = cli_json_item(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

const char *cli_json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cli_json_item(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
