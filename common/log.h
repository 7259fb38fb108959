/*
 * Logging to stderr, one line per call: "<program>: <level>: message".
 * stdout belongs to command results and the server's replies go to their own fd, so
 * diagnostics never mix with either. The level and program name are set once in main().
 */
#ifndef MTQ_LOG_H
#define MTQ_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Sets the name printed before every line (default "microtvm-qemu"). Keeps the pointer. */
void log_set_program(const char *name);

/* Lines above this level are dropped (default LOG_WARN). */
void log_set_level(enum log_level level);

enum log_level log_get_level(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
