/*
 * Test support: marks on the host that hostile input must leave alone (docs/SECURITY.md): a
 * marker directory that must stay empty and a canary file that must keep its bytes.
 */
#ifndef MTQ_TEST_HOST_MARKS_H
#define MTQ_TEST_HOST_MARKS_H

#include <stdbool.h>

/* How many entries dir holds besides "." and ".."; -1 when it cannot be read. */
int host_marks_entries(const char *dir);

/* True when dir is empty and the file canary holds exactly text; else false, naming what
 * changed on stderr with what (the case) first. */
bool host_marks_untouched(const char *what, const char *dir, const char *canary,
                          const char *text);

#endif
