/*
 * Machine files (machines/<board>.json): reading and validating them into struct machine.
 * Validation is strict (every required field present, of the right type, known kinds,
 * parseable hex, no unknown keys; the optional intc and uart.irq only together) because the firmware's CMake reads the same file with far weaker checks:
 * a typo should stop the server with "<file>: <field>: <problem>", not produce odd firmware.
 * Schema: machines/README.md.
 */
#include "machine.h"

#include "fs.h"

#include <cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Machine files are a few KiB; anything bigger is not one. */
#define MACH_FILE_MAX (64 * 1024)
/* The firmware reserves the last 16 bytes of ram (CONTRACTS.md); a region needs room beyond. */
#define MACH_RAM_MIN 0x1000

static const char *const known_archs[] = {"arm", "riscv", NULL};
const char *const mach_known_libcs[] = {"picolibc", "newlib", "newlib-nano", NULL};
static const char *const known_uarts[] = {"cmsdk_apb", "ns16550a", NULL};
static const char *const known_timers[] = {"cmsdk_timer", "riscv_mtime", NULL};
static const char *const known_exits[] = {"cmsdk_watchdog", "sifive_test", NULL};
static const char *const known_intcs[] = {"plic", NULL};
/* A PLIC has sources 1 to 1023 (0 means "none" in its claim register). */
#define MACH_PLIC_SOURCES 1024

/* Characters of a name QEMU or the compiler reads as one plain word: no ',' (QEMU's option
 * separator: "virt,dumpdtb=FILE" would write a host file), no '/', no '=' unless allowed. */
#define WORD_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

/* Where a field sits, for messages: the file and the dotted path of the object. */
struct ctx {
    const char *path;
    struct err *err;
};

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* Appends "a, b, c" to buf (size n). */
static void join_list(char *buf, size_t n, const char *const *list)
{
    buf[0] = '\0';
    for (size_t used = 0; *list; list++) {
        int w = snprintf(buf + used, n - used, "%s%s", used ? ", " : "", *list);
        if (w < 0 || (size_t)w >= n - used)
            return;
        used += (size_t)w;
    }
}

/* Fails with ERR_INVALID and "<file>: <field>: <problem>". */
static int bad(struct ctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct ctx *c, const char *field, const char *fmt, ...)
{
    char what[384];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return err_set(c->err, ERR_INVALID, "%s: %s: %s", c->path, field, what);
}

/* Rejects keys of obj not in allowed: a misspelt optional-looking key must not go unnoticed. */
static int check_keys(struct ctx *c, const cJSON *obj, const char *prefix,
                      const char *const *allowed)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        if (!in_list(item->string, allowed)) {
            char field[128];
            snprintf(field, sizeof(field), "%s%s%s", prefix, *prefix ? "." : "", item->string);
            char known[256];
            join_list(known, sizeof(known), allowed);
            return bad(c, field, "unknown field (known here: %s)", known);
        }
    }
    return 0;
}

/* The member `key` of obj; field is its dotted name for messages. */
static int get_member(struct ctx *c, const cJSON *obj, const char *key, const char *field,
                      const cJSON **out)
{
    *out = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!*out)
        return bad(c, field, "missing");
    return 0;
}

static int get_object(struct ctx *c, const cJSON *obj, const char *key, const char *field,
                      const cJSON **out)
{
    int rc = get_member(c, obj, key, field, out);
    if (rc < 0)
        return rc;
    if (!cJSON_IsObject(*out))
        return bad(c, field, "want an object");
    return 0;
}

static int get_string(struct ctx *c, const cJSON *obj, const char *key, const char *field,
                      char *dst, size_t dstsz)
{
    const cJSON *item;
    int rc = get_member(c, obj, key, field, &item);
    if (rc < 0)
        return rc;
    if (!cJSON_IsString(item))
        return bad(c, field, "want a string");
    if (strlen(item->valuestring) >= dstsz) {
        return bad(c, field, "too long (at most %zu characters)", dstsz - 1);
    }
    strcpy(dst, item->valuestring);
    return 0;
}

/* A string from a fixed set; the message lists the set. */
static int get_kind(struct ctx *c, const cJSON *obj, const char *key, const char *field,
                    char *dst, size_t dstsz, const char *const *known)
{
    int rc = get_string(c, obj, key, field, dst, dstsz);
    if (rc < 0)
        return rc;
    if (!in_list(dst, known)) {
        char list[160];
        join_list(list, sizeof(list), known);
        return bad(c, field, "unknown value '%.40s' (known: %s)", dst, list);
    }
    return 0;
}

/* An address or size: a string "0x" followed by 1 to 16 hex digits. */
static int get_hex(struct ctx *c, const cJSON *obj, const char *key, const char *field,
                   uint64_t *out, bool nonzero)
{
    const cJSON *item;
    int rc = get_member(c, obj, key, field, &item);
    if (rc < 0)
        return rc;
    if (!cJSON_IsString(item))
        return bad(c, field, "want a hex string like \"0x40004000\"");
    const char *s = item->valuestring;
    size_t n = strlen(s);
    if (n < 3 || n > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') ||
        strspn(s + 2, "0123456789abcdefABCDEF") != n - 2)
        return bad(c, field, "'%.40s' is not a hex string like \"0x40004000\"", s);
    *out = strtoull(s + 2, NULL, 16);
    if (nonzero && *out == 0)
        return bad(c, field, "must not be zero");
    return 0;
}

/* A JSON array of strings into dst[max][width]. */
static int get_string_list(struct ctx *c, const cJSON *obj, const char *key, const char *field,
                           char *dst, size_t width, size_t max, size_t *n)
{
    const cJSON *arr, *item;
    int rc = get_member(c, obj, key, field, &arr);
    if (rc < 0)
        return rc;
    if (!cJSON_IsArray(arr))
        return bad(c, field, "want an array of strings");
    *n = 0;
    cJSON_ArrayForEach(item, arr)
    {
        if (*n == max)
            return bad(c, field, "more than %zu entries", max);
        if (!cJSON_IsString(item))
            return bad(c, field, "want an array of strings");
        if (strlen(item->valuestring) >= width)
            return bad(c, field, "an entry is too long (at most %zu characters)", width - 1);
        strcpy(dst + *n * width, item->valuestring);
        (*n)++;
    }
    return 0;
}

static int get_region(struct ctx *c, const cJSON *mem, const char *key, struct mach_region *r)
{
    static const char *const keys[] = {"base", "size", NULL};
    char field[64], base_f[64], size_f[64];
    const cJSON *obj;
    snprintf(field, sizeof(field), "memory.%s", key);
    snprintf(base_f, sizeof(base_f), "memory.%s.base", key);
    snprintf(size_f, sizeof(size_f), "memory.%s.size", key);
    int rc = get_object(c, mem, key, field, &obj);
    if (rc == 0)
        rc = check_keys(c, obj, field, keys);
    if (rc == 0)
        rc = get_hex(c, obj, "base", base_f, &r->base, false);
    if (rc == 0)
        rc = get_hex(c, obj, "size", size_f, &r->size, true);
    if (rc == 0 && r->base + r->size < r->base)
        rc = bad(c, field, "base + size goes past the end of the address space");
    return rc;
}

/* True when s is non-empty, starts with prefix and the rest is made of WORD_CHARS and extra. */
static bool is_word(const char *s, const char *prefix, const char *extra)
{
    size_t p = strlen(prefix);
    if (strncmp(s, prefix, p) != 0 || !s[p])
        return false;
    for (s += p; *s; s++)
        if (!strchr(WORD_CHARS, *s) && !(extra && strchr(extra, *s)))
            return false;
    return true;
}

/* What the emulator runs and passes to QEMU and the compiler straight from the file: plain words
 * only, and qemu.args from a short list. Devices, chardevs, networks, semihosting, monitors,
 * files and the sandbox are the emulator's alone (docs/SECURITY.md "The board and QEMU"). */
static int check_commands(struct ctx *c, const struct machine *m)
{
    if (!is_word(m->qemu_binary, "qemu-system-", NULL))
        return bad(c, "qemu.binary", "'%s' is not a QEMU system emulator's name "
                   "(qemu-system-NAME, looked up on PATH)", m->qemu_binary);
    if (!is_word(m->qemu_machine, "", NULL))
        return bad(c, "qemu.machine", "'%s': want a plain machine name (no ',' options)",
                   m->qemu_machine);
    if (m->qemu_memory[0] && !is_word(m->qemu_memory, "", NULL))
        return bad(c, "qemu.memory", "'%s': want a plain size such as 16M", m->qemu_memory);
    for (size_t i = 0; i < m->n_qemu_args; i++) {
        const char *a = m->qemu_args[i], *v = i + 1 < m->n_qemu_args ? m->qemu_args[i + 1] : "";
        char field[32];
        snprintf(field, sizeof(field), "qemu.args[%zu]", i);
        if (strcmp(a, "-bios") == 0 && strcmp(v, "none") == 0) {
            i++;
            continue;
        }
        if (strcmp(a, "-cpu") == 0 && is_word(v, "", NULL)) {
            i++;
            continue;
        }
        return bad(c, field, "'%s%s%s' is not an argument a machine file may give QEMU "
                   "(allowed: -bios none, -cpu MODEL); devices, chardevs, networks and "
                   "semihosting are the emulator's to add", a, *v ? " " : "", v);
    }
    if (!is_word(m->cc_prefix, "", NULL) || m->cc_prefix[strlen(m->cc_prefix) - 1] != '-')
        return bad(c, "compiler.prefix", "'%s': want a toolchain prefix such as "
                   "arm-none-eabi- (looked up on PATH)", m->cc_prefix);
    for (size_t i = 0; i < m->n_cflags; i++)
        if (!is_word(m->cflags[i], "-m", "="))
            return bad(c, "compiler.flags", "'%s' is not a target option (-mNAME or "
                       "-mNAME=VALUE)", m->cflags[i]);
    return 0;
}

/* The exit device: where it carries no code (cmsdk_watchdog), a second UART carries it. */
static int get_exit(struct ctx *c, const cJSON *root, struct machine *m)
{
    static const char *const exit_keys[] = {"kind", "base", "status_uart", NULL};
    const cJSON *exitobj, *status;
    int rc;
    if ((rc = get_object(c, root, "exit", "exit", &exitobj)) < 0 ||
        (rc = check_keys(c, exitobj, "exit", exit_keys)) < 0 ||
        (rc = get_kind(c, exitobj, "kind", "exit.kind", m->exit_kind, sizeof(m->exit_kind),
                       known_exits)) < 0 ||
        (rc = get_hex(c, exitobj, "base", "exit.base", &m->exit_base, true)) < 0)
        return rc;
    bool needs = strcmp(m->exit_kind, "cmsdk_watchdog") == 0;
    status = cJSON_GetObjectItemCaseSensitive(exitobj, "status_uart");
    if (needs && !status)
        return bad(c, "exit.status_uart", "missing: %s carries no exit code, so the board "
                   "needs a second CMSDK UART for it", m->exit_kind);
    if (!needs && status)
        return bad(c, "exit.status_uart", "only for exit kind cmsdk_watchdog (%s carries the "
                   "code itself)", m->exit_kind);
    if (status && (rc = get_hex(c, exitobj, "status_uart", "exit.status_uart",
                                &m->exit_status_uart, true)) < 0)
        return rc;
    if (status && m->exit_status_uart == m->uart_base)
        return bad(c, "exit.status_uart", "is the console UART (uart.base); want the second one");
    return 0;
}

static int from_json(struct machine *m, const cJSON *root, struct ctx *c)
{
    static const char *const top_keys[] = {"name", "description", "arch", "cpu", "tvm_model",
        "qemu", "compiler", "libcs", "memory", "vector_base", "uart", "intc", "timer", "exit",
        "default_workspace_bytes", NULL};
    static const char *const qemu_keys[] = {"binary", "machine", "memory", "args",
                                            "icount_shift", NULL};
    static const char *const compiler_keys[] = {"prefix", "flags", NULL};
    static const char *const memory_keys[] = {"flash", "ram", NULL};
    static const char *const uart_keys[] = {"kind", "base", "irq", NULL};
    static const char *const intc_keys[] = {"kind", "base", NULL};
    static const char *const timer_keys[] = {"kind", "base", "hz", NULL};
    const cJSON *qemu, *compiler, *memory, *uart, *timer, *hz, *irq, *intc, *shift;
    int rc;

    if (!cJSON_IsObject(root))
        return bad(c, "(top level)", "want a JSON object");
    if ((rc = check_keys(c, root, "", top_keys)) < 0 ||
        (rc = get_string(c, root, "name", "name", m->name, sizeof(m->name))) < 0 ||
        (rc = get_string(c, root, "description", "description", m->description,
                         sizeof(m->description))) < 0 ||
        (rc = get_kind(c, root, "arch", "arch", m->arch, sizeof(m->arch), known_archs)) < 0 ||
        (rc = get_string(c, root, "cpu", "cpu", m->cpu, sizeof(m->cpu))) < 0)
        return rc;
    /* Optional: TVM's name for a similar real part (boards.json "model"); it lands in TVM
     * target strings, so only a plain identifier passes. */
    snprintf(m->tvm_model, sizeof m->tvm_model, "host");
    if (cJSON_GetObjectItemCaseSensitive(root, "tvm_model")) {
        if ((rc = get_string(c, root, "tvm_model", "tvm_model", m->tvm_model,
                             sizeof(m->tvm_model))) < 0)
            return rc;
        bool ok = m->tvm_model[0] != '\0';
        for (const char *k = m->tvm_model; ok && *k; k++)
            ok = isalnum((unsigned char)*k) || *k == '_';
        if (!ok)
            return bad(c, "tvm_model", "want one of TVM's micro models (letters, digits, '_'), "
                                       "such as \"sam3x8e\" or \"host\"");
    }

    if ((rc = get_object(c, root, "qemu", "qemu", &qemu)) < 0 ||
        (rc = check_keys(c, qemu, "qemu", qemu_keys)) < 0 ||
        (rc = get_string(c, qemu, "binary", "qemu.binary", m->qemu_binary,
                         sizeof(m->qemu_binary))) < 0 ||
        (rc = get_string(c, qemu, "machine", "qemu.machine", m->qemu_machine,
                         sizeof(m->qemu_machine))) < 0 ||
        (rc = get_string(c, qemu, "memory", "qemu.memory", m->qemu_memory,
                         sizeof(m->qemu_memory))) < 0 ||
        (rc = get_string_list(c, qemu, "args", "qemu.args", &m->qemu_args[0][0],
                              sizeof(m->qemu_args[0]), MACH_LIST_MAX, &m->n_qemu_args)) < 0)
        return rc;
    /* Optional (default 0): deterministic mode's -icount shift, 2^shift ns of virtual time per
     * instruction. The Cortex-M boards need one instruction to outlast a timer tick, so that
     * their tick count tells the instruction count exactly (firmware/board/timer_cmsdk_timer.c) */
    shift = cJSON_GetObjectItemCaseSensitive(qemu, "icount_shift");
    if (shift) {
        if (!cJSON_IsNumber(shift) || shift->valuedouble < 0 ||
            shift->valuedouble > MACH_ICOUNT_SHIFT_MAX ||
            shift->valuedouble != (double)(int)shift->valuedouble)
            return bad(c, "qemu.icount_shift", "want a whole number from 0 to %d (QEMU's limit)",
                       MACH_ICOUNT_SHIFT_MAX);
        m->icount_shift = (int)shift->valuedouble;
    }

    if ((rc = get_object(c, root, "compiler", "compiler", &compiler)) < 0 ||
        (rc = check_keys(c, compiler, "compiler", compiler_keys)) < 0 ||
        (rc = get_string(c, compiler, "prefix", "compiler.prefix", m->cc_prefix,
                         sizeof(m->cc_prefix))) < 0 ||
        (rc = get_string_list(c, compiler, "flags", "compiler.flags", &m->cflags[0][0],
                              sizeof(m->cflags[0]), MACH_LIST_MAX, &m->n_cflags)) < 0)
        return rc;

    if ((rc = get_string_list(c, root, "libcs", "libcs", &m->libcs[0][0], sizeof(m->libcs[0]),
                              sizeof(m->libcs) / sizeof(m->libcs[0]), &m->n_libcs)) < 0)
        return rc;
    if (m->n_libcs == 0)
        return bad(c, "libcs", "empty: list at least one C library (the first is the default)");
    for (size_t i = 0; i < m->n_libcs; i++) {
        if (!in_list(m->libcs[i], mach_known_libcs)) {
            char list[96];
            join_list(list, sizeof(list), mach_known_libcs);
            return bad(c, "libcs", "unknown C library '%s' (known: %s)", m->libcs[i], list);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->libcs[i], m->libcs[j]) == 0)
                return bad(c, "libcs", "'%s' is listed twice", m->libcs[i]);
    }

    if ((rc = get_object(c, root, "memory", "memory", &memory)) < 0 ||
        (rc = check_keys(c, memory, "memory", memory_keys)) < 0 ||
        (rc = get_region(c, memory, "flash", &m->flash)) < 0 ||
        (rc = get_region(c, memory, "ram", &m->ram)) < 0)
        return rc;
    if (m->ram.size < MACH_RAM_MIN)
        return bad(c, "memory.ram.size", "too small (at least 0x1000)");
    if (m->flash.base < m->ram.base + m->ram.size && m->ram.base < m->flash.base + m->flash.size)
        return bad(c, "memory", "the flash and ram regions overlap");

    if ((rc = get_hex(c, root, "vector_base", "vector_base", &m->vector_base, false)) < 0)
        return rc;

    if ((rc = get_object(c, root, "uart", "uart", &uart)) < 0 ||
        (rc = check_keys(c, uart, "uart", uart_keys)) < 0 ||
        (rc = get_kind(c, uart, "kind", "uart.kind", m->uart_kind, sizeof(m->uart_kind),
                       known_uarts)) < 0 ||
        (rc = get_hex(c, uart, "base", "uart.base", &m->uart_base, true)) < 0)
        return rc;

    /* Optional, and only together: the interrupt controller and the UART's line on it let the
     * firmware sleep in WFI until input comes (RISC-V; Cortex-M's NVIC is architectural). */
    intc = cJSON_GetObjectItemCaseSensitive(root, "intc");
    irq = cJSON_GetObjectItemCaseSensitive(uart, "irq");
    if (intc) {
        if (!cJSON_IsObject(intc))
            return bad(c, "intc", "want an object");
        if ((rc = check_keys(c, intc, "intc", intc_keys)) < 0 ||
            (rc = get_kind(c, intc, "kind", "intc.kind", m->intc_kind, sizeof(m->intc_kind),
                           known_intcs)) < 0 ||
            (rc = get_hex(c, intc, "base", "intc.base", &m->intc_base, true)) < 0)
            return rc;
        if (strcmp(m->arch, "riscv") != 0)
            return bad(c, "intc.kind", "a plic needs arch riscv (Cortex-M boards use the NVIC: "
                                       "leave intc out)");
        if (!irq)
            return bad(c, "uart.irq", "missing: intc needs the UART's interrupt source number");
    }
    if (irq) {
        if (!intc)
            return bad(c, "uart.irq", "needs an intc object (the interrupt controller it is on)");
        if (!cJSON_IsNumber(irq) || irq->valuedouble < 1 ||
            irq->valuedouble >= MACH_PLIC_SOURCES ||
            irq->valuedouble != (double)(uint32_t)irq->valuedouble)
            return bad(c, "uart.irq", "want a whole number from 1 to %d (the PLIC source)",
                       MACH_PLIC_SOURCES - 1);
        m->uart_irq = (uint32_t)irq->valuedouble;
    }

    if ((rc = get_object(c, root, "timer", "timer", &timer)) < 0 ||
        (rc = check_keys(c, timer, "timer", timer_keys)) < 0 ||
        (rc = get_kind(c, timer, "kind", "timer.kind", m->timer_kind, sizeof(m->timer_kind),
                       known_timers)) < 0 ||
        (rc = get_hex(c, timer, "base", "timer.base", &m->timer_base, true)) < 0 ||
        (rc = get_member(c, timer, "hz", "timer.hz", &hz)) < 0)
        return rc;
    /* A rate, not an address: a plain JSON integer reads best (25000000). */
    if (!cJSON_IsNumber(hz) || hz->valuedouble < 1 || hz->valuedouble > 1e12 ||
        hz->valuedouble != (double)(uint64_t)hz->valuedouble)
        return bad(c, "timer.hz", "want a positive whole number of ticks per second");
    m->timer_hz = (uint64_t)hz->valuedouble;

    if ((rc = get_exit(c, root, m)) < 0 || (rc = check_commands(c, m)) < 0)
        return rc;

    return get_hex(c, root, "default_workspace_bytes", "default_workspace_bytes",
                   &m->default_workspace_bytes, true);
}

/* The file's basename without ".json" into out; false if it does not end in ".json". */
static bool board_of_path(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    if (len <= 5 || strcmp(base + len - 5, ".json") != 0 || len - 5 >= n)
        return false;
    memcpy(out, base, len - 5);
    out[len - 5] = '\0';
    return true;
}

int mach_parse(struct machine *m, const char *text, size_t len, const char *name_for_messages,
               struct err *err)
{
    const char *end = NULL;
    cJSON *root;
    struct ctx c = {name_for_messages, err};

    memset(m, 0, sizeof(*m));
    if (strlen(name_for_messages) >= sizeof(m->path))
        return err_set(err, ERR_INVALID, "%.64s...: path too long", name_for_messages);
    strcpy(m->path, name_for_messages);
    if (!(root = cJSON_ParseWithLengthOpts(text, len, &end, 0)))
        return err_set(err, ERR_INVALID, "%s: bad JSON at byte %td", name_for_messages,
                       end ? end - text : 0);
    int rc = from_json(m, root, &c);
    cJSON_Delete(root);
    return rc;
}

int mach_load(struct machine *m, const char *path, struct err *err)
{
    char *text = NULL;
    size_t len = 0;
    struct ctx c = {path, err};
    char expect[MACH_NAME_MAX];

    memset(m, 0, sizeof(*m));
    if (strlen(path) >= sizeof(m->path))
        return err_set(err, ERR_INVALID, "%.64s...: path too long", path);
    strcpy(m->path, path);
    int rc = fs_read_file(path, MACH_FILE_MAX, &text, &len, err);
    if (rc < 0)
        goto out;
    if ((rc = mach_parse(m, text, len, path, err)) < 0)
        goto out;
    /* The server finds a board by file name; the firmware prints the name field. */
    if (!board_of_path(path, expect, sizeof(expect)) || strcmp(expect, m->name) != 0) {
        rc = bad(&c, "name", "'%s' differs from the file name (want <name>.json)", m->name);
        goto out;
    }
out:
    free(text);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mach_list(const char *dir, char ***names, size_t *n, struct err *err)
{
    char **list = NULL;
    size_t count = 0, cap = 0;
    int rc = 0;
    DIR *d = opendir(dir);
    *names = NULL;
    *n = 0;
    if (!d)
        return err_errno(err, "%s", dir);
    for (struct dirent *e; (e = readdir(d));) {
        char name[MACH_NAME_MAX];
        if (e->d_name[0] == '.' || !board_of_path(e->d_name, name, sizeof(name)))
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **bigger = realloc(list, ncap * sizeof(*list));
            if (!bigger) {
                rc = err_set(err, -ENOMEM, "%s: out of memory", dir);
                goto out;
            }
            list = bigger;
            cap = ncap;
        }
        if (!(list[count] = strdup(name))) {
            rc = err_set(err, -ENOMEM, "%s: out of memory", dir);
            goto out;
        }
        count++;
    }
    if (count)
        qsort(list, count, sizeof(*list), cmp_names);
out:
    closedir(d);
    if (rc < 0) {
        mach_free_names(list, count);
        return rc;
    }
    *names = list;
    *n = count;
    return 0;
}

void mach_free_names(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int mach_load_by_name(struct machine *m, const char *dir, const char *name, struct err *err)
{
    char path[4096];
    char **names = NULL;
    size_t n = 0;
    int rc;

    /* A name is a file name in dir, never a path: "../x" must not escape it. */
    bool ok = name[0] && name[0] != '.' && !strchr(name, '/') && strlen(name) < MACH_NAME_MAX;
    if (ok && snprintf(path, sizeof(path), "%s/%s.json", dir, name) >= (int)sizeof(path))
        return err_set(err, ERR_INVALID, "%s: path too long", dir);
    if (ok && fs_exists(path))
        return mach_load(m, path, err);

    if ((rc = mach_list(dir, &names, &n, err)) < 0)
        return err_prefix(err, "unknown board '%.64s'", name);
    char avail[ERR_MSG_MAX / 2] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof(avail); i++) {
        int w = snprintf(avail + used, sizeof(avail) - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    mach_free_names(names, n);
    return err_set(err, ERR_INVALID, "unknown board '%.64s': the boards are %s (in %.128s)", name,
                   n ? avail : "(none)", dir);
}

void mach_tvm_target(const struct machine *m, char *out, size_t outsz)
{
    if (strcmp(m->arch, "arm") == 0)
        snprintf(out, outsz, "c -keys=arm_cpu,cpu -device=arm_cpu -mcpu=%s -model=%s", m->cpu,
                 m->tvm_model);
    else
        snprintf(out, outsz, "c -keys=cpu -model=%s", m->tvm_model);
}

bool mach_has_fpu(const struct machine *m)
{
    for (size_t i = 0; i < m->n_cflags; i++)
        if (strcmp(m->cflags[i], "-mfloat-abi=hard") == 0)
            return true;
    return false;
}

bool mach_has_libc(const struct machine *m, const char *libc)
{
    for (size_t i = 0; i < m->n_libcs; i++)
        if (strcmp(m->libcs[i], libc) == 0)
            return true;
    return false;
}
