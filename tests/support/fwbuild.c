/*
 * Firmware builds for tests (see fwbuild.h). Tests call this once per board and reuse the
 * result across their cases; builds of different boards go to different directories.
 */
#include "fwbuild.h"

#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MTQ_SOURCE_DIR
#error "MTQ_SOURCE_DIR must be defined by the build (tests/CMakeLists.txt)"
#endif

bool fwbuild_on_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[PATH_MAX];
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t len = strcspn(p, ":");
        if (len && (size_t)snprintf(buf, sizeof buf, "%.*s/%s", (int)len, p, name) < sizeof buf &&
            access(buf, X_OK) == 0)
            return true;
        p += len;
        if (*p == ':')
            p++;
    }
    return false;
}

/* Reads "prefix" from the machine file's "compiler" object without a JSON library: the e2e
 * suites only need it for the skip check, and the file's format is fixed by machines/README. */
static bool compiler_prefix(const char *machine_file, char *out, size_t n)
{
    char *text = NULL;
    bool ok = false;
    if (fs_read_file(machine_file, 1 << 20, &text, NULL, NULL) < 0)
        return false;
    const char *c = strstr(text, "\"compiler\"");
    const char *p = c ? strstr(c, "\"prefix\"") : NULL;
    const char *q = p ? strchr(p + 8, '"') : NULL;
    const char *end = q ? strchr(q + 1, '"') : NULL;
    if (end && (size_t)(end - q - 1) < n) {
        snprintf(out, n, "%.*s", (int)(end - q - 1), q + 1);
        ok = true;
    }
    free(text);
    return ok;
}

bool fwbuild_available(const char *board, char *why, size_t why_size)
{
    char path[PATH_MAX], prefix[64], cc[96];
    if (!fwbuild_on_path("cmake") || !fwbuild_on_path("ninja")) {
        snprintf(why, why_size, "cmake or ninja not on PATH (scripts/install-deps.sh)");
        return false;
    }
    if (!fs_exists(MTQ_SOURCE_DIR "/firmware/CMakeLists.txt")) {
        snprintf(why, why_size, "%s/firmware/CMakeLists.txt does not exist yet", MTQ_SOURCE_DIR);
        return false;
    }
    snprintf(path, sizeof path, "%s/machines/%s.json", MTQ_SOURCE_DIR, board);
    if (!fs_exists(path)) {
        snprintf(why, why_size, "no machine file %s", path);
        return false;
    }
    if (!compiler_prefix(path, prefix, sizeof prefix)) {
        snprintf(why, why_size, "%s: no compiler.prefix", path);
        return false;
    }
    snprintf(cc, sizeof cc, "%sgcc", prefix);
    if (!fwbuild_on_path(cc)) {
        snprintf(why, why_size, "%s not on PATH (scripts/install-deps.sh)", cc);
        return false;
    }
    return true;
}

static void log_tail(const char *log_path, struct err *err)
{
    char *text = NULL;
    size_t len = 0;
    if (err && fs_read_file(log_path, 0, &text, &len, NULL) == 0)
        err_set_detail(err, text, len);
    free(text);
}

int fwbuild_run(char *const argv[], const char *log_path, struct err *err)
{
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_errno(err, "opening %s", log_path);
    dprintf(fd, "$");
    for (size_t i = 0; argv[i]; i++)
        dprintf(fd, " %s", argv[i]);
    dprintf(fd, "\n");
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return err_errno(err, "fork");
    }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0)
            dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    int rc = err_set(err, ERR_TOOL, "%s failed (%s %d); see %s", argv[0],
                     WIFEXITED(st) ? "exit code" : "signal",
                     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), log_path);
    log_tail(log_path, err);
    return rc;
}

int fwbuild_build(const char *board, const char *type, const char *libc, const char *dir,
                  const char *const *extra, char *elf, size_t elf_size, struct err *err)
{
    char machine[PATH_MAX], log_path[PATH_MAX];
    char d_machine[PATH_MAX + 32], d_type[96], d_libc[96];
    char *defs[16];
    size_t n_defs = 0;
    int rc = fs_mkdir_p(dir, err);
    if (rc < 0)
        return rc;
    snprintf(machine, sizeof machine, "%s/machines/%s.json", MTQ_SOURCE_DIR, board);
    snprintf(log_path, sizeof log_path, "%s/fwbuild.log", dir);
    snprintf(d_machine, sizeof d_machine, "-DMTQ_MACHINE_FILE=%s", machine);
    snprintf(d_type, sizeof d_type, "-DMTQ_PROJECT_TYPE=%s", type);
    snprintf(d_libc, sizeof d_libc, "-DMTQ_LIBC=%s", libc);
    for (size_t i = 0; extra && extra[i] && n_defs < 16; i++) {
        if (asprintf(&defs[n_defs], "-D%s", extra[i]) < 0) {
            rc = err_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        n_defs++;
    }
    char *configure[32] = {"cmake", "-S", MTQ_SOURCE_DIR "/firmware", "-B", (char *)dir,
                           "-G", "Ninja", d_machine, d_type, d_libc};
    size_t n = 10;
    for (size_t i = 0; i < n_defs; i++)
        configure[n++] = defs[i];
    configure[n] = NULL;
    if ((rc = fwbuild_run(configure, log_path, err)) < 0) {
        err_prefix(err, "configuring %s firmware for %s", type, board);
        goto out;
    }
    char *build[] = {"ninja", "-C", (char *)dir, NULL};
    if ((rc = fwbuild_run(build, log_path, err)) < 0) {
        err_prefix(err, "building %s firmware for %s", type, board);
        goto out;
    }
    if ((size_t)snprintf(elf, elf_size, "%s/firmware.elf", dir) >= elf_size || !fs_exists(elf)) {
        rc = err_set(err, ERR_TOOL, "the %s build for %s made no %s/firmware.elf", type, board,
                     dir);
        goto out;
    }
out:
    for (size_t i = 0; i < n_defs; i++)
        free(defs[i]);
    return rc;
}
