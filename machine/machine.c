/*
 * Machine files (machines/<board>.json): reading and validating them into struct machine.
 * Validation is strict (every required field present, of the right type, known kinds, parseable
 * hex, no unknown keys; the optional intc and uart.irq only together) because the firmware's
 * CMake reads the same file with far weaker checks: a typo should stop the server with
 * "<file>: <field>: <problem>", not produce odd firmware. Every field is one row of the table
 * `fields` below (its path, its kind, its place in struct machine); the rules that span fields
 * are rows too, so the table is also the order of the checks. Schema: machines/README.md.
 */
#include "machine.h"

#include "fs.h"

#include <cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Machine files are a few KiB; anything bigger is not one. */
#define MACH_FILE_MAX (64 * 1024)
/* The last 16 bytes of ram hold the boot seed and counter (docs/BOARD_CONTRACT.md "Board RAM
 * reservations"); a region needs room beyond them. */
#define MACH_RAM_MIN 0x1000
/* A PLIC has sources 1 to 1023 (0 means "none" in its claim register). */
#define MACH_PLIC_SOURCE_MAX 1023

#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const known_archs[] = {"arm", "riscv", NULL};
const char *const mach_known_libcs[] = {"picolibc", "newlib", "newlib-nano", NULL};
static const char *const known_uarts[] = {"cmsdk_apb", "ns16550a", NULL};
static const char *const known_timers[] = {"cmsdk_timer", "riscv_mtime", NULL};
static const char *const known_exits[] = {"cmsdk_watchdog", "sifive_test", NULL};
static const char *const known_intcs[] = {"plic", NULL};
/* Fast link kinds (machines/README.md "fast_link") and how people call them. */
static const char *const known_fast_links[] = {"virtio_serial", "lan9118", NULL};
static const char *const fast_link_labels[] = {"virtio-serial", "LAN9118 Ethernet", NULL};
/* The highest interrupt line number a fast link may name: a PLIC's last source, well above
 * the 480 external interrupts an Armv7-M or Armv8-M NVIC can have. */
#define MACH_IRQ_MAX 1023

/* Characters of a name QEMU or the compiler reads as one plain word: no ',' (QEMU's option
 * separator: "virt,dumpdtb=FILE" would write a host file), no '/', no '=' unless allowed. */
#define WORD_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

/* The file being read, for messages. */
struct ctx {
    const char *path;
    struct err *err;
};

/* How a row of the field table is read. */
enum field_type {
    F_OBJECT,      /* a JSON object; a key under it without a row of its own is refused */
    F_STRING,      /* a string, into char[size] */
    F_KIND,        /* a string from choices, into char[size] */
    F_HEX,         /* an address: "0x" and 1 to 16 hex digits, into uint64_t */
    F_HEX_NONZERO, /* the same, and not zero (a size, a device's registers) */
    F_STRINGS,     /* an array of at most max strings, into char[max][size]; their count at count */
    F_NUMBER,      /* a whole JSON number from min to max_value, into an integer of size bytes */
    F_CHECK,       /* no field of its own: check() runs here, once the rows above it are read */
};

struct field;
/* A rule over fields already read (root: the file, for what is present). */
typedef int check_fn(struct ctx *c, const cJSON *root, struct machine *m, const struct field *f);

/* One row: a field of the file, by its dotted path, and where it goes in struct machine. */
struct field {
    const char *path;           /* "memory.ram.size"; F_CHECK: the field its message names */
    enum field_type type;
    bool optional;              /* absent is fine: the member keeps its fallback, or zero */
    size_t at, size;            /* the member's offset and size (F_STRINGS: one entry's) */
    size_t max, count;          /* F_STRINGS: most entries, and the offset of their size_t count */
    const char *const *choices; /* F_KIND */
    const char *fallback;       /* an optional F_STRING's value when absent */
    double min, max_value;      /* F_NUMBER */
    const char *want;           /* F_NUMBER: the message when the value is not one of those */
    check_fn *check;            /* F_CHECK */
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

/* The item at a dotted path under root, or NULL when any part of the path is absent. */
static const cJSON *lookup(const cJSON *root, const char *path)
{
    char key[64];
    const cJSON *at = root;
    while (at && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        at = cJSON_IsObject(at) ? cJSON_GetObjectItemCaseSensitive(at, key) : NULL;
        path += n + (path[n] == '.');
    }
    return at;
}

/* The member of m a row describes. */
static void *member(struct machine *m, const struct field *f)
{
    return (char *)m + f->at;
}

/* ---- reading one field of each type ---- */

static int read_string(struct ctx *c, const cJSON *item, struct machine *m, const struct field *f)
{
    if (!cJSON_IsString(item))
        return bad(c, f->path, "want a string");
    if (strlen(item->valuestring) >= f->size)
        return bad(c, f->path, "too long (at most %zu characters)", f->size - 1);
    strcpy(member(m, f), item->valuestring);
    if (f->type == F_KIND && !in_list(item->valuestring, f->choices)) {
        char list[160];
        join_list(list, sizeof(list), f->choices);
        return bad(c, f->path, "unknown value '%.40s' (known: %s)", item->valuestring, list);
    }
    return 0;
}

/* An address or size: a string "0x" followed by 1 to 16 hex digits. */
static int read_hex(struct ctx *c, const cJSON *item, struct machine *m, const struct field *f)
{
    if (!cJSON_IsString(item))
        return bad(c, f->path, "want a hex string like \"0x40004000\"");
    const char *s = item->valuestring;
    size_t n = strlen(s);
    if (n < 3 || n > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') ||
        strspn(s + 2, "0123456789abcdefABCDEF") != n - 2)
        return bad(c, f->path, "'%.40s' is not a hex string like \"0x40004000\"", s);
    uint64_t v = strtoull(s + 2, NULL, 16);
    if (f->type == F_HEX_NONZERO && v == 0)
        return bad(c, f->path, "must not be zero");
    memcpy(member(m, f), &v, sizeof v);
    return 0;
}

static int read_strings(struct ctx *c, const cJSON *arr, struct machine *m,
                        const struct field *f)
{
    const cJSON *item;
    char *dst = member(m, f);
    size_t n = 0;
    if (!cJSON_IsArray(arr))
        return bad(c, f->path, "want an array of strings");
    cJSON_ArrayForEach(item, arr)
    {
        if (n == f->max)
            return bad(c, f->path, "more than %zu entries", f->max);
        if (!cJSON_IsString(item))
            return bad(c, f->path, "want an array of strings");
        if (strlen(item->valuestring) >= f->size)
            return bad(c, f->path, "an entry is too long (at most %zu characters)", f->size - 1);
        strcpy(dst + n * f->size, item->valuestring);
        n++;
    }
    memcpy((char *)m + f->count, &n, sizeof n);
    return 0;
}

/* A count or a rate, not an address: a plain JSON integer reads best (25000000). */
static int read_number(struct ctx *c, const cJSON *item, struct machine *m,
                       const struct field *f)
{
    if (!cJSON_IsNumber(item) || item->valuedouble < f->min || item->valuedouble > f->max_value ||
        item->valuedouble != (double)(uint64_t)item->valuedouble)
        return bad(c, f->path, "%s", f->want);
    _Static_assert(sizeof(int) == sizeof(uint32_t), "int members are stored as 32 bits");
    uint64_t v = (uint64_t)item->valuedouble;
    uint32_t v32 = (uint32_t)v; /* an int or uint32_t member: max_value keeps v in range */
    if (f->size == sizeof v)
        memcpy(member(m, f), &v, sizeof v);
    else
        memcpy(member(m, f), &v32, sizeof v32);
    return 0;
}

/* Rejects keys of obj (at path) without a row: a misspelt optional key must not go unnoticed. */
static int check_keys(struct ctx *c, const cJSON *obj, const char *path);

static int read_field(struct ctx *c, const cJSON *root, struct machine *m, const struct field *f)
{
    if (f->type == F_CHECK)
        return f->check(c, root, m, f);
    const char *dot = strrchr(f->path, '.');
    char parent_path[64];
    snprintf(parent_path, sizeof parent_path, "%.*s", dot ? (int)(dot - f->path) : 0, f->path);
    const cJSON *parent = lookup(root, parent_path);
    if (!parent)
        return 0; /* under an optional object the file leaves out */
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(parent, dot ? dot + 1 : f->path);
    if (!item && !f->optional)
        return bad(c, f->path, "missing");
    if (!item) {
        if (f->fallback)
            snprintf(member(m, f), f->size, "%s", f->fallback);
        return 0;
    }
    switch (f->type) {
    case F_OBJECT:
        return cJSON_IsObject(item) ? check_keys(c, item, f->path)
                                    : bad(c, f->path, "want an object");
    case F_STRING:
    case F_KIND:
        return read_string(c, item, m, f);
    case F_HEX:
    case F_HEX_NONZERO:
        return read_hex(c, item, m, f);
    case F_STRINGS:
        return read_strings(c, item, m, f);
    case F_NUMBER:
        return read_number(c, item, m, f);
    case F_CHECK:
        break;
    }
    return 0;
}

/* ---- the rules that span fields (F_CHECK rows) ---- */

/* TVM's name for a similar real part (boards.json "model") lands in TVM target strings, so
 * only a plain identifier passes. */
static int check_tvm_model(struct ctx *c, const cJSON *root, struct machine *m,
                           const struct field *f)
{
    (void)root;
    bool ok = m->tvm_model[0] != '\0';
    for (const char *k = m->tvm_model; ok && *k; k++)
        ok = isalnum((unsigned char)*k) || *k == '_';
    if (!ok)
        return bad(c, f->path, "want one of TVM's micro models (letters, digits, '_'), such as "
                               "\"sam3x8e\" or \"host\"");
    return 0;
}

static int check_libcs(struct ctx *c, const cJSON *root, struct machine *m, const struct field *f)
{
    (void)root;
    if (m->n_libcs == 0)
        return bad(c, f->path, "empty: list at least one C library (the first is the default)");
    for (size_t i = 0; i < m->n_libcs; i++) {
        if (!in_list(m->libcs[i], mach_known_libcs)) {
            char list[96];
            join_list(list, sizeof(list), mach_known_libcs);
            return bad(c, f->path, "unknown C library '%s' (known: %s)", m->libcs[i], list);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->libcs[i], m->libcs[j]) == 0)
                return bad(c, f->path, "'%s' is listed twice", m->libcs[i]);
    }
    return 0;
}

/* The region at f->at must end inside the 64-bit address space. */
static int check_region_end(struct ctx *c, const cJSON *root, struct machine *m,
                            const struct field *f)
{
    (void)root;
    const struct mach_region *r = member(m, f);
    if (r->base + r->size < r->base)
        return bad(c, f->path, "base + size goes past the end of the address space");
    return 0;
}

static int check_memory(struct ctx *c, const cJSON *root, struct machine *m, const struct field *f)
{
    (void)root;
    if (m->ram.size < MACH_RAM_MIN)
        return bad(c, "memory.ram.size", "too small (at least 0x1000)");
    if (m->flash.base < m->ram.base + m->ram.size && m->ram.base < m->flash.base + m->flash.size)
        return bad(c, f->path, "the flash and ram regions overlap");
    return 0;
}

/* The interrupt controller lets the firmware sleep in WFI until input comes: RISC-V only
 * (Cortex-M's NVIC is architectural), and only with the UART's line on it. */
static int check_intc(struct ctx *c, const cJSON *root, struct machine *m, const struct field *f)
{
    bool intc = lookup(root, "intc") != NULL, irq = lookup(root, "uart.irq") != NULL;
    if (intc && strcmp(m->arch, "riscv") != 0)
        return bad(c, "intc.kind", "a plic needs arch riscv (Cortex-M boards use the NVIC: "
                                   "leave intc out)");
    if (intc && !irq)
        return bad(c, f->path, "missing: intc needs the UART's interrupt source number");
    if (irq && !intc)
        return bad(c, f->path, "needs an intc object (the interrupt controller it is on)");
    return 0;
}

/* An exit device that carries no code (the watchdog ends QEMU with 0) needs a second UART for
 * the status line; one that carries the code itself takes none. */
static int check_exit_status(struct ctx *c, const cJSON *root, struct machine *m,
                             const struct field *f)
{
    bool needs = strcmp(m->exit_kind, "cmsdk_watchdog") == 0;
    bool given = lookup(root, f->path) != NULL;
    if (needs && !given)
        return bad(c, f->path, "missing: %s carries no exit code, so the board needs a second "
                               "CMSDK UART for it", m->exit_kind);
    if (!needs && given)
        return bad(c, f->path, "only for exit kind cmsdk_watchdog (%s carries the code itself)",
                   m->exit_kind);
    return 0;
}

static int check_status_uart(struct ctx *c, const cJSON *root, struct machine *m,
                             const struct field *f)
{
    (void)root;
    if (m->exit_status_uart && m->exit_status_uart == m->uart_base)
        return bad(c, f->path, "is the console UART (uart.base); want the second one");
    return 0;
}

/* The fast link is a second device: never the console UART's registers. */
static int check_fast_link(struct ctx *c, const cJSON *root, struct machine *m,
                           const struct field *f)
{
    if (lookup(root, "fast_link") && m->fast_link_base == m->uart_base)
        return bad(c, f->path, "is the console UART (uart.base)");
    return 0;
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
static int check_commands(struct ctx *c, const cJSON *root, struct machine *m,
                          const struct field *f)
{
    (void)root;
    (void)f;
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

/* ---- the table: every field of a machine file, and the checks, in the order they run ----
 * A new field is a row; a new optional object (a fast link, say) is an F_OBJECT row with
 * .optional = true, a row per member (skipped when the object is absent, required or optional
 * when it is there) and F_CHECK rows for the rules between them, plus the members in struct
 * machine and the row in machines/README.md. */

#define MEMBER(x) .at = offsetof(struct machine, x), .size = sizeof(((struct machine *)0)->x)
#define ENTRIES(x, n)                                                                          \
    .at = offsetof(struct machine, x), .size = sizeof(((struct machine *)0)->x[0]),            \
    .max = sizeof(((struct machine *)0)->x) / sizeof(((struct machine *)0)->x[0]),             \
    .count = offsetof(struct machine, n)

static const struct field fields[] = {
    {.path = "name", .type = F_STRING, MEMBER(name)},
    {.path = "description", .type = F_STRING, MEMBER(description)},
    {.path = "arch", .type = F_KIND, MEMBER(arch), .choices = known_archs},
    {.path = "cpu", .type = F_STRING, MEMBER(cpu)},
    {.path = "tvm_model", .type = F_STRING, .optional = true, MEMBER(tvm_model),
     .fallback = "host"},
    {.path = "tvm_model", .type = F_CHECK, .check = check_tvm_model},

    {.path = "qemu", .type = F_OBJECT},
    {.path = "qemu.binary", .type = F_STRING, MEMBER(qemu_binary)},
    {.path = "qemu.machine", .type = F_STRING, MEMBER(qemu_machine)},
    {.path = "qemu.memory", .type = F_STRING, MEMBER(qemu_memory)},
    {.path = "qemu.args", .type = F_STRINGS, ENTRIES(qemu_args, n_qemu_args)},
    /* deterministic mode's -icount shift, 2^shift ns of virtual time per instruction. The
     * Cortex-M boards need one instruction to outlast a timer tick, so that their tick count
     * tells the instruction count exactly (firmware/board/timer_cmsdk_timer.c) */
    {.path = "qemu.icount_shift", .type = F_NUMBER, .optional = true, MEMBER(icount_shift),
     .min = 0, .max_value = MACH_ICOUNT_SHIFT_MAX,
     .want = "want a whole number from 0 to " STR(MACH_ICOUNT_SHIFT_MAX) " (QEMU's limit)"},

    {.path = "compiler", .type = F_OBJECT},
    {.path = "compiler.prefix", .type = F_STRING, MEMBER(cc_prefix)},
    {.path = "compiler.flags", .type = F_STRINGS, ENTRIES(cflags, n_cflags)},

    {.path = "libcs", .type = F_STRINGS, ENTRIES(libcs, n_libcs)},
    {.path = "libcs", .type = F_CHECK, .check = check_libcs},

    {.path = "memory", .type = F_OBJECT},
    {.path = "memory.flash", .type = F_OBJECT},
    {.path = "memory.flash.base", .type = F_HEX, MEMBER(flash.base)},
    {.path = "memory.flash.size", .type = F_HEX_NONZERO, MEMBER(flash.size)},
    {.path = "memory.flash", .type = F_CHECK, MEMBER(flash), .check = check_region_end},
    {.path = "memory.ram", .type = F_OBJECT},
    {.path = "memory.ram.base", .type = F_HEX, MEMBER(ram.base)},
    {.path = "memory.ram.size", .type = F_HEX_NONZERO, MEMBER(ram.size)},
    {.path = "memory.ram", .type = F_CHECK, MEMBER(ram), .check = check_region_end},
    {.path = "memory", .type = F_CHECK, .check = check_memory},

    {.path = "vector_base", .type = F_HEX, MEMBER(vector_base)},

    {.path = "uart", .type = F_OBJECT},
    {.path = "uart.kind", .type = F_KIND, MEMBER(uart_kind), .choices = known_uarts},
    {.path = "uart.base", .type = F_HEX_NONZERO, MEMBER(uart_base)},
    {.path = "intc", .type = F_OBJECT, .optional = true},
    {.path = "intc.kind", .type = F_KIND, MEMBER(intc_kind), .choices = known_intcs},
    {.path = "intc.base", .type = F_HEX_NONZERO, MEMBER(intc_base)},
    {.path = "uart.irq", .type = F_CHECK, .check = check_intc},
    {.path = "uart.irq", .type = F_NUMBER, .optional = true, MEMBER(uart_irq), .min = 1,
     .max_value = MACH_PLIC_SOURCE_MAX,
     .want = "want a whole number from 1 to " STR(MACH_PLIC_SOURCE_MAX) " (the PLIC source)"},

    {.path = "timer", .type = F_OBJECT},
    {.path = "timer.kind", .type = F_KIND, MEMBER(timer_kind), .choices = known_timers},
    {.path = "timer.base", .type = F_HEX_NONZERO, MEMBER(timer_base)},
    {.path = "timer.hz", .type = F_NUMBER, MEMBER(timer_hz), .min = 1, .max_value = 1e12,
     .want = "want a positive whole number of ticks per second"},

    {.path = "exit", .type = F_OBJECT},
    {.path = "exit.kind", .type = F_KIND, MEMBER(exit_kind), .choices = known_exits},
    {.path = "exit.base", .type = F_HEX_NONZERO, MEMBER(exit_base)},
    {.path = "exit.status_uart", .type = F_CHECK, .check = check_exit_status},
    {.path = "exit.status_uart", .type = F_HEX_NONZERO, .optional = true, MEMBER(exit_status_uart)},
    {.path = "exit.status_uart", .type = F_CHECK, .check = check_status_uart},

    {.path = "qemu", .type = F_CHECK, .check = check_commands},

    /* optional: a device the firmware can use instead of the UART for the transport. Its QEMU
     * arguments are the server's (server/fast_link.c), never the file's: the file only says
     * which kind of device sits where */
    {.path = "fast_link", .type = F_OBJECT, .optional = true},
    {.path = "fast_link.kind", .type = F_KIND, MEMBER(fast_link_kind), .choices = known_fast_links},
    {.path = "fast_link.base", .type = F_HEX_NONZERO, MEMBER(fast_link_base)},
    {.path = "fast_link.irq", .type = F_NUMBER, MEMBER(fast_link_irq), .min = 0,
     .max_value = MACH_IRQ_MAX,
     .want = "want a whole number from 0 to " STR(MACH_IRQ_MAX) " (the device's interrupt line: "
             "a PLIC source or an NVIC interrupt)"},
    {.path = "fast_link.base", .type = F_CHECK, .check = check_fast_link},
    {.path = "default_workspace_bytes", .type = F_HEX_NONZERO, MEMBER(default_workspace_bytes)},
};

#define N_FIELDS (sizeof fields / sizeof fields[0])

static int check_keys(struct ctx *c, const cJSON *obj, const char *path)
{
    const char *known[N_FIELDS + 1];
    size_t n_known = 0, plen = strlen(path);
    /* the rows directly under path, in table order */
    for (size_t i = 0; i < N_FIELDS; i++) {
        const char *p = fields[i].path;
        bool under = fields[i].type != F_CHECK && strncmp(p, path, plen) == 0 &&
                     (!plen || p[plen] == '.');
        const char *leaf = under ? p + plen + (plen ? 1 : 0) : NULL;
        under = under && !strchr(leaf, '.');
        bool seen = false;
        for (size_t k = 0; under && k < n_known; k++)
            seen = seen || strcmp(known[k], leaf) == 0;
        if (under && !seen)
            known[n_known++] = leaf;
    }
    known[n_known] = NULL;
    const cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        if (!in_list(item->string, known)) {
            char field[128], list[256];
            snprintf(field, sizeof(field), "%s%s%s", path, plen ? "." : "", item->string);
            join_list(list, sizeof(list), known);
            return bad(c, field, "unknown field (known here: %s)", list);
        }
    }
    return 0;
}

static int from_json(struct machine *m, const cJSON *root, struct ctx *c)
{
    if (!cJSON_IsObject(root))
        return bad(c, "(top level)", "want a JSON object");
    int rc = check_keys(c, root, "");
    for (size_t i = 0; rc == 0 && i < N_FIELDS; i++)
        rc = read_field(c, root, m, &fields[i]);
    return rc;
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

bool mach_has_fast_link(const struct machine *m)
{
    return m->fast_link_kind[0] != '\0';
}

const char *mach_links(const struct machine *m, char *out, size_t outsz)
{
    const char *label = m->fast_link_kind;
    for (size_t i = 0; known_fast_links[i]; i++)
        if (strcmp(m->fast_link_kind, known_fast_links[i]) == 0)
            label = fast_link_labels[i];
    if (mach_has_fast_link(m))
        snprintf(out, outsz, "uart, fast (%s)", label);
    else
        snprintf(out, outsz, "uart");
    return out;
}
