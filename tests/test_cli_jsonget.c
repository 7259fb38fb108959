/*
 * Unit tests (label unit) for cli/jsonget.c, the field lookups the command line reads
 * ServerInfo, project.json and run --json objects with: a present field of the right type is
 * returned, a missing, mistyped or differently cased one reads as absent, and a NULL object
 * is no object.
 */
#include "asserts.h"
#include "jsonget.h"
#include "runner.h"

#include <stdlib.h>

static void test_fields_of_the_right_type_are_returned(void)
{
    cJSON *o = cJSON_Parse("{\"board\": \"mps2-an385\", \"ticks\": 42.5, \"opts\": {}}");
    ASSERT_NOT_NULL_FATAL(o);
    ASSERT_STR_EQ(cli_json_str(o, "board"), "mps2-an385");
    ASSERT_DOUBLE_EQ(cli_json_num(o, "ticks"), 42.5, 0);
    ASSERT_TRUE(cJSON_IsObject(cli_json_item(o, "opts")));
    cJSON_Delete(o);
}

static void test_missing_or_mistyped_fields_read_as_absent(void)
{
    cJSON *o = cJSON_Parse("{\"board\": 7, \"ticks\": \"42\", \"Name\": \"x\"}");
    ASSERT_NOT_NULL_FATAL(o);
    ASSERT_NULL(cli_json_str(o, "board"));
    ASSERT_DOUBLE_EQ(cli_json_num(o, "ticks"), 0, 0);
    ASSERT_NULL(cli_json_str(o, "name")); /* keys are case-sensitive */
    ASSERT_NULL(cli_json_item(o, "absent"));
    ASSERT_NULL(cli_json_item(NULL, "board"));
    ASSERT_NULL(cli_json_str(NULL, "board"));
    ASSERT_DOUBLE_EQ(cli_json_num(NULL, "ticks"), 0, 0);
    cJSON_Delete(o);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("cli_jsonget", NULL, NULL);
    CU_ADD_TEST(s, test_fields_of_the_right_type_are_returned);
    CU_ADD_TEST(s, test_missing_or_mistyped_fields_read_as_absent);
    return TEST_RUN;
}
