/* The boards of the template's machine files, and whether each can run here (boards.h). */
#include "boards.h"

#include "fwbuild.h"

#include <stdio.h>
#include <string.h>

#define TEMPLATE_MACHINES MTQ_TEMPLATE_DIR "/machines"

int boards_list(struct boards *out, struct err *err)
{
    char **names = NULL;
    size_t n = 0;
    out->n = 0;
    int rc = mach_list(TEMPLATE_MACHINES, &names, &n, err);
    if (rc < 0)
        return err_prefix(err, "the template's boards (build the template_project target)");
    if (n > BOARDS_MAX)
        rc = err_set(err, ERR_INVALID, "%s has %zu boards, more than the tests' BOARDS_MAX (%d): "
                     "raise it in tests/support/boards.h", TEMPLATE_MACHINES, n, BOARDS_MAX);
    for (size_t i = 0; rc == 0 && i < n; i++)
        snprintf(out->name[out->n++], sizeof out->name[0], "%s", names[i]);
    mach_free_names(names, n);
    return rc;
}

bool boards_can_boot(const char *board, struct machine *m, char *why, size_t why_size)
{
    struct err err = {0};
    if (mach_load_by_name(m, TEMPLATE_MACHINES, board, &err) < 0) {
        snprintf(why, why_size, "%s", err.msg);
        return false;
    }
    if (!fwbuild_on_path(m->qemu_binary)) {
        char qemu[sizeof m->qemu_binary]; /* a copy: why may be in the same struct as m */
        memcpy(qemu, m->qemu_binary, sizeof qemu);
        snprintf(why, why_size, "%s is not on PATH (scripts/install-deps.sh)", qemu);
        return false;
    }
    return true;
}

bool boards_can_build_and_boot(const char *board, struct machine *m, char *why, size_t why_size)
{
    return boards_can_boot(board, m, why, why_size) && fwbuild_available(board, why, why_size);
}

int boards_prepare(const struct boards *list, const char *(*prepare)(size_t i, void *arg),
                   void *arg, int *failures)
{
    int usable = 0;
    for (size_t i = 0; i < list->n; i++) {
        const char *why = prepare(i, arg);
        if (!why)
            usable++;
        else if (strncmp(why, "FAILED", 6) == 0)
            (*failures)++;
        else
            printf("skipping %s: %s\n", list->name[i], why);
    }
    return usable;
}
