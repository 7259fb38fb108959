/*
 * Marks on the host for hostile-input tests (see host_marks.h).
 */
#include "host_marks.h"

#include "fs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int host_marks_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

bool host_marks_untouched(const char *what, const char *dir, const char *canary,
                          const char *text)
{
    char *now = NULL;
    int n = host_marks_entries(dir);
    bool ok = n == 0 && fs_read_file(canary, 0, &now, NULL, NULL) == 0 && strcmp(now, text) == 0;
    if (!ok)
        fprintf(stderr, "\n    %s: the host changed (%d entries in %s, canary %s %s)\n", what, n,
                dir, canary, now ? "changed" : "gone");
    free(now);
    return ok;
}
