/* Diagnostics on stderr; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

/* The two process-wide settings STYLE.md allows: written once in main(), read everywhere. */
static const char *program = "microtvm-qemu";
static enum log_level threshold = LOG_WARN;

void log_set_program(const char *name)
{
    program = name;
}

void log_set_level(enum log_level level)
{
    threshold = level;
}

enum log_level log_get_level(void)
{
    return threshold;
}

static void emit(enum log_level level, const char *fmt, va_list ap)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > threshold)
        return;
    /* one fprintf per piece is fine: stderr is unbuffered, and lines stay short */
    char line[2048];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "%s: %s: %s\n", program, names[level], line);
}

#define LOG_FN(fn, level)                                                                          \
    void fn(const char *fmt, ...)                                                                  \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        emit(level, fmt, ap);                                                                      \
        va_end(ap);                                                                                \
    }

LOG_FN(log_error, LOG_ERROR)
LOG_FN(log_warn, LOG_WARN)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_debug, LOG_DEBUG)
