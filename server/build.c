/*
 * build: the firmware of a generated project, with CMake and Ninja, into <proj>/build.
 * Tuning loops call build again and again, so the common case must be cheap: configure runs
 * only when project.cmake changed (or a cached board layer or CRT moved), and Ninja rebuilds
 * only what changed. All tool output goes to build/build.log; a failure comes back as ERR_TOOL with
 * the failing command and the compiler's last lines, the part a person needs to fix it.
 * Every step has a time limit (build_timeout_s): a step still running then is killed with its
 * whole process group. One build per project at a time: a flock on .mtq_build.lock.
 */
#include "project_internal.h"

#include "fs.h"
#include "log.h"
#include "options.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void proj__pathf(char *out, size_t outsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, outsz, fmt, ap);
    va_end(ap);
}

/* How many of the tool's last output lines go into err->detail. */
#define BUILD_TAIL_LINES 30

int proj__run_limited(const char *const argv[], const char *cwd, int log_fd, bool echo,
                      int timeout_s, int *status, struct err *err)
{
    char exe[PATH_MAX];
    if (!spawn_find(argv[0], exe, sizeof exe))
        return err_set(err, ERR_TOOL, "%s not found in PATH; run scripts/install-deps.sh",
                       argv[0]);
    struct spawn_opts o = {.path = exe, .argv = (char *const *)argv, .cwd = cwd,
                           .stdio = {SPAWN_DEVNULL, SPAWN_INHERIT, SPAWN_INHERIT}};
    int copy_to[2] = {log_fd, echo ? STDERR_FILENO : -1};
    int rc = spawn_run(&o, copy_to, 2, timeout_s > 0 ? timeout_s * 1000 : 0, status, NULL, err);
    if (rc == ERR_TIMEOUT)
        return err_set(err, ERR_TIMEOUT, "%s: still running after %d s, the time limit of a "
                       "build step; stopped it and every process it started (raise the "
                       "build_timeout_s option if the build is genuinely that slow)", argv[0],
                       timeout_s);
    return rc;
}

/* Reads fd from offset to its end into a heap string. */
static char *read_from(int fd, off_t offset)
{
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < offset)
        return NULL;
    size_t n = (size_t)(end - offset);
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    ssize_t got = pread(fd, s, n, offset);
    s[got > 0 ? (size_t)got : 0] = '\0';
    return s;
}

/* The first line of text that contains needle, copied (without '\n') into out. */
static bool find_line(const char *text, const char *needle, char *out, size_t outsz)
{
    const char *hit = strstr(text, needle);
    if (!hit)
        return false;
    const char *start = hit;
    while (start > text && start[-1] != '\n')
        start--;
    const char *end = strchr(hit, '\n');
    size_t n = end ? (size_t)(end - start) : strlen(start);
    snprintf(out, outsz, "%.*s", (int)n, start);
    return true;
}

/* The start of the last `lines` lines of text. */
static const char *tail(const char *text, int lines)
{
    const char *p = text + strlen(text);
    if (p > text && p[-1] == '\n')
        p--;
    while (p > text) {
        if (p[-1] == '\n' && --lines == 0)
            break;
        p--;
    }
    return p;
}

/* Fills err for a failed tool run: message from the first error line, detail from the
 * failing command (Ninja prints it on the line after "FAILED:") and the last lines. */
static int tool_failure(struct err *err, const char *what, const char *output, int status,
                        const char *log_path)
{
    char first[400] = "";
    const char *cmake_error = strstr(output, "CMake Error");
    if (cmake_error && !strstr(output, ": error:")) {
        /* CMake puts the message on the indented lines after "CMake Error at ...:" */
        const char *p = strchr(cmake_error, '\n');
        size_t used = 0;
        while (p && p[1] == ' ' && p[2] == ' ' && used < sizeof first - 2) {
            const char *line = p + 3, *end = strchr(line, '\n');
            size_t n = end ? (size_t)(end - line) : strlen(line);
            int w = snprintf(first + used, sizeof first - used, "%s%.*s", used ? " " : "",
                             (int)n, line);
            if (w < 0 || (size_t)w >= sizeof first - used)
                break; /* cut: the start of the message is what matters */
            used += (size_t)w;
            p = end;
        }
    }
    if (!first[0] && !find_line(output, ": error:", first, sizeof first) &&
        !find_line(output, ": fatal error:", first, sizeof first) &&
        !find_line(output, "CMake Error", first, sizeof first) &&
        !find_line(output, "undefined reference", first, sizeof first) &&
        !find_line(output, "overflowed", first, sizeof first) &&
        !find_line(output, "error", first, sizeof first))
        snprintf(first, sizeof first, "exit status %d; see %s", status, log_path);
    err_set(err, ERR_TOOL, "%s failed: %s", what, first);

    char detail[ERR_DETAIL_MAX];
    size_t used = 0;
    const char *failed = strstr(output, "FAILED: ");
    if (failed) {
        const char *cmd = strchr(failed, '\n');
        const char *cmd_end = cmd ? strchr(cmd + 1, '\n') : NULL;
        if (cmd && cmd_end) {
            int n = snprintf(detail, sizeof detail / 2, "command: %.*s\n",
                             (int)(cmd_end - cmd - 1), cmd + 1);
            used = n > 0 ? ((size_t)n < sizeof detail / 2 ? (size_t)n : sizeof detail / 2 - 1)
                         : 0;
        }
    }
    const char *last = tail(output, BUILD_TAIL_LINES);
    size_t room = sizeof detail - 1 - used;
    size_t n = strlen(last);
    if (n > room) { /* keep the end: the last lines matter most */
        last += n - room;
        n = room;
    }
    memcpy(detail + used, last, n);
    used += n;
    detail[used] = '\0';
    err_set_detail(err, detail, used);
    return ERR_TOOL;
}

static bool newer(const struct stat *a, const struct stat *b)
{
    return a->st_mtim.tv_sec > b->st_mtim.tv_sec ||
           (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec > b->st_mtim.tv_nsec);
}

/* Runs one tool into the log; on failure fills err from the output it produced. */
static int run_logged(const char *const argv[], const char *cwd, int log_fd, bool verbose,
                      int timeout_s, const char *what, const char *log_path, struct err *err)
{
    off_t start = lseek(log_fd, 0, SEEK_END);
    int status = 0;
    int rc = proj__run_limited(argv, cwd, log_fd, verbose, timeout_s, &status, err);
    if (rc == ERR_TIMEOUT) {
        err->code = ERR_TOOL; /* a build step's limit, not a transport's IoTimeoutError */
        err_prefix(err, "%s", what);
        return ERR_TOOL;
    }
    if (rc < 0)
        return rc;
    if (status == 0)
        return 0;
    char *output = read_from(log_fd, start);
    rc = tool_failure(err, what, output ? output : "", status, log_path);
    free(output);
    return rc;
}

static int read_sizes(const char *size_tool, const char *elf, int timeout_s,
                      struct proj_sizes *sizes, struct err *err)
{
    int fd = memfd_create("mtq-size", MFD_CLOEXEC);
    if (fd < 0)
        return err_errno(err, "memfd_create");
    const char *argv[] = {size_tool, "-B", elf, NULL};
    int status = 0;
    int rc = proj__run_limited(argv, NULL, fd, false, timeout_s, &status, err);
    char *out = rc == 0 ? read_from(fd, 0) : NULL;
    close(fd);
    if (rc < 0)
        return rc;
    unsigned long long t, d, b;
    const char *line2 = out ? strchr(out, '\n') : NULL;
    if (status != 0 || !line2 || sscanf(line2 + 1, "%llu %llu %llu", &t, &d, &b) != 3)
        rc = err_set(err, ERR_TOOL, "%s -B %s: unexpected output", size_tool, elf);
    else
        *sizes = (struct proj_sizes){t, d, b};
    free(out);
    return rc;
}

/* Where the project's build configuration was last made from: the prebuilt board library
 * and, on a second line, the prebuilt CRT (or ""). A change means configure again. */
static void read_recorded(const char *path, char *out, size_t outsz)
{
    char *text = NULL;
    out[0] = '\0';
    if (fs_read_file(path, 1u << 16, &text, NULL, NULL) == 0) {
        snprintf(out, outsz, "%s", text);
        free(text);
    }
}

/* Takes the project's build lock (kept until *fd is closed); ERR_BUSY naming the holder when
 * another build of the project runs. */
static int take_build_lock(const char *dir, int *fd, struct err *err)
{
    char path[PATH_MAX];
    proj__pathf(path, sizeof path, "%s/.mtq_build.lock", dir);
    if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
        return err_errno(err, "%s: cannot open the build lock", path);
    int r;
    while ((r = flock(*fd, LOCK_EX | LOCK_NB)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        int e = errno;
        char holder[32] = "";
        ssize_t n = pread(*fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? (size_t)n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(*fd);
        *fd = -1;
        if (e != EWOULDBLOCK)
            return err_set(err, -e, "%s: cannot take the build lock: %s", path, strerror(e));
        return err_set(err, ERR_BUSY, "build in progress: another build of %s is running "
                       "(pid %s); wait for it to finish", dir, holder[0] ? holder : "unknown");
    }
    char line[32];
    int len = snprintf(line, sizeof line, "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) == 0 && pwrite(*fd, line, (size_t)len, 0) < 0)
        log_debug("%s: cannot note the holder", path);
    return 0;
}

int proj__build(const char *project_dir, bool verbose, int timeout_s, struct proj_sizes *sizes,
                struct err *err)
{
    struct project_record s = {0};
    struct machine *m = calloc(1, sizeof *m);
    char *lib = NULL, *crt_lib = NULL;
    int log_fd = -1, lock_fd = -1, rc = 0;
    if (timeout_s <= 0)
        timeout_s = PROJ_BUILD_TIMEOUT_S;
    char dir[PATH_MAX], build[PATH_MAX], log_path[PATH_MAX], path[PATH_MAX];
    if (!m)
        return err_set(err, -ENOMEM, "build: out of memory");
    if (!realpath(project_dir, dir)) {
        rc = err_errno(err, "project directory %s", project_dir);
        goto out;
    }
    /* its path reaches build.ninja through CMake; a renamed project is checked again */
    if ((rc = opt_check_build_text(ERR_INVALID, "project directory", dir, err)) < 0 ||
        (rc = take_build_lock(dir, &lock_fd, err)) < 0 ||
        (rc = record_read(&s, dir, err)) < 0 ||
        (rc = record_require(&s, PROJ_BUILD_KEYS, err)) < 0)
        goto out;
    proj__pathf(path, sizeof path, "%s/machines/%s.json", dir, s.board);
    if ((rc = mach_load(m, path, err)) < 0)
        goto out;

    /* the tools first, so a missing one is named rather than buried in CMake's output */
    char cc[MACH_NAME_MAX + 8], size_tool[MACH_NAME_MAX + 8];
    snprintf(cc, sizeof cc, "%sgcc", m->cc_prefix);
    snprintf(size_tool, sizeof size_tool, "%ssize", m->cc_prefix);
    const char *tools[] = {"cmake", "ninja", cc};
    for (size_t i = 0; i < 3; i++)
        if (!spawn_find(tools[i], NULL, 0)) {
            rc = err_set(err, ERR_TOOL, "%s not found in PATH%s; run scripts/install-deps.sh",
                         tools[i], i == 2 ? " (the board's cross compiler)" : "");
            goto out;
        }

    proj__pathf(build, sizeof build, "%s/build", dir);
    proj__pathf(log_path, sizeof log_path, "%s/build.log", build);
    if ((rc = fs_mkdir_p(build, err)) < 0)
        goto out;
    struct stat st_build;
    if (lstat(build, &st_build) < 0 || !S_ISDIR(st_build.st_mode)) {
        rc = err_set(err, ERR_INVALID, "%s: not a plain directory (a symbolic link?); remove it "
                     "and build again", build);
        goto out;
    }
    /* NOFOLLOW: a link planted as build.log must not make the log overwrite its target */
    if ((log_fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                       0644)) < 0) {
        rc = err_errno(err, "%s", log_path);
        goto out;
    }

    bool hit = false;
    struct err cache_err = {0};
    int crc = proj__cache_board(dir, &s, log_fd, verbose, timeout_s, &lib, &hit, &cache_err);
    if (crc == ERR_TIMEOUT) /* the same sources would take as long in the project */
        goto cache_timeout;
    if (crc == ERR_STATE)
        log_debug("board cache not used: %s", cache_err.msg);
    else if (crc < 0)
        log_warn("board cache unavailable (%s); building the board layer in the project",
                 cache_err.msg);
    else
        log_debug("board layer: %s (%s)", lib, hit ? "cached" : "built now");
    /* host_driven: TVM's CRT, the slowest part of its build, comes from the cache too */
    if (!strcmp(s.project_type, "host_driven")) {
        crc = proj__cache_crt(dir, &s, log_fd, verbose, timeout_s, &crt_lib, &hit,
                              &cache_err);
        if (crc == ERR_TIMEOUT)
            goto cache_timeout;
        if (crc == ERR_STATE)
            log_debug("CRT cache not used: %s", cache_err.msg);
        else if (crc < 0)
            log_warn("CRT cache unavailable (%s); building the CRT in the project",
                     cache_err.msg);
        else
            log_debug("CRT: %s (%s)", crt_lib, hit ? "cached" : "built now");
    }

    /* the stamp records the prebuilt libraries the configuration points at */
    char stamp[PATH_MAX], ninja_file[PATH_MAX], cmake_file[PATH_MAX], recorded[2 * PATH_MAX];
    char wanted[2 * PATH_MAX + 2];
    snprintf(wanted, sizeof wanted, "%s%s%s", lib ? lib : "", crt_lib ? "\n" : "",
             crt_lib ? crt_lib : "");
    proj__pathf(stamp, sizeof stamp, "%s/mtq_configured", build);
    proj__pathf(ninja_file, sizeof ninja_file, "%s/build.ninja", build);
    proj__pathf(cmake_file, sizeof cmake_file, "%s/project.cmake", dir);
    read_recorded(stamp, recorded, sizeof recorded);
    struct stat st_stamp, st_cmake;
    bool configure = !fs_exists(ninja_file) || stat(stamp, &st_stamp) < 0 ||
                     stat(cmake_file, &st_cmake) < 0 || newer(&st_cmake, &st_stamp) ||
                     strcmp(recorded, wanted) != 0;
    if (configure) {
        char prebuilt[PATH_MAX + 32], prebuilt_crt[PATH_MAX + 32];
        snprintf(prebuilt, sizeof prebuilt, "-DMTQ_PREBUILT_BOARD_LIB=%s", lib ? lib : "");
        snprintf(prebuilt_crt, sizeof prebuilt_crt, "-DMTQ_PREBUILT_CRT_LIB=%s",
                 crt_lib ? crt_lib : "");
        /* only host_driven has the variable: elsewhere CMake would warn it went unused */
        const char *argv[] = {"cmake", "-S", dir, "-B", build, "-G", "Ninja", prebuilt,
                              strcmp(s.project_type, "host_driven") ? NULL : prebuilt_crt, NULL};
        if ((rc = run_logged(argv, dir, log_fd, verbose, timeout_s,
                             "firmware configure (cmake)", log_path, err)) < 0)
            goto out;
        if ((rc = fs_write_file(stamp, wanted, strlen(wanted), err)) < 0)
            goto out;
    }
    const char *argv[] = {"ninja", "-C", build, NULL};
    if ((rc = run_logged(argv, dir, log_fd, verbose, timeout_s, "firmware build", log_path,
                         err)) < 0)
        goto out;

    struct proj_sizes z = {0};
    proj__pathf(path, sizeof path, "%s/" RECORD_BUILT_ELF, dir);
    if ((rc = read_sizes(size_tool, path, timeout_s, &z, err)) < 0)
        goto out;
    log_info("firmware.elf for %s (%s, %s): text %" PRIu64 " data %" PRIu64 " bss %" PRIu64,
             s.board, s.libc, s.project_type, z.text, z.data, z.bss);
    char json[512];
    int n = snprintf(json, sizeof json,
                     "{\"board\": \"%s\", \"libc\": \"%s\", \"project_type\": \"%s\", "
                     "\"text\": %" PRIu64 ", \"data\": %" PRIu64 ", \"bss\": %" PRIu64 "}\n",
                     s.board, s.libc, s.project_type, z.text, z.data, z.bss);
    proj__pathf(path, sizeof path, "%s/sizes.json", build);
    if ((rc = fs_write_file(path, json, (size_t)n, err)) < 0)
        goto out;
    if (sizes)
        *sizes = z;
    goto out;
cache_timeout:
    rc = err_set(err, ERR_TOOL, "firmware build (cached libraries): %s", cache_err.msg);
out:
    if (log_fd >= 0)
        close(log_fd);
    if (lock_fd >= 0)
        close(lock_fd); /* drops the build lock */
    free(lib);
    free(crt_lib);
    free(m);
    record_close(&s);
    return rc;
}

int proj_build(struct server *srv, const cJSON *options, struct err *err)
{
    if (srv->is_template)
        return err_set(err, ERR_STATE, "build: %s is the template, not a project; call "
                       "generate_project and build with the server in the directory it made",
                       srv->dir);
    struct options opt;
    opt_get(cJSON_IsObject(options) ? options : NULL, &opt);
    bool verbose = opt.verbose || log_get_level() >= LOG_DEBUG;
    int rc = proj__apply_build_options(srv->dir, cJSON_IsObject(options) ? options : NULL, err);
    return rc < 0 ? rc : proj__build(srv->dir, verbose, opt.build_timeout_s, NULL, err);
}
