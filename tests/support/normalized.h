/*
 * Test support: project options as the server hands them to its project code, for the unit
 * tests of generate and build (test_generate, test_build_options): a JSON text normalized by
 * the built template's option table, as api.c normalizes a call's options.
 */
#ifndef MTQ_TEST_NORMALIZED_H
#define MTQ_TEST_NORMALIZED_H

#include <cjson/cJSON.h>

struct opt_table;

/* The option table of MTQ_TEMPLATE_DIR/machines (opt_table_free it), or NULL. */
struct opt_table *normalized_table(void);

/* json parsed and normalized by table: the caller deletes it. A text that does not parse or
 * that table refuses fails the test (an ASSERT, with opt_normalize's message) and gives NULL. */
cJSON *normalized_options(const struct opt_table *table, const char *json);

#endif
