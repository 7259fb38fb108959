/*
 * ELF section sizes: see elf.h. Reads the header and the section header table only (a few
 * KiB) with pread, checking every offset against the file's size, since a half-written or
 * foreign file must give a message, not a crash.
 */
#include "elfsize.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads an unsigned little- or big-endian field of width bytes (1..8). */
static uint64_t field(const unsigned char *p, int width, bool big)
{
    uint64_t v = 0;
    for (int i = 0; i < width; i++)
        v |= (uint64_t)p[big ? width - 1 - i : i] << (8 * i);
    return v;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off, const char *path, const char *what,
                   struct err *err)
{
    ssize_t n = pread(fd, buf, len, (off_t)off);
    if (n < 0)
        return err_errno(err, "%s: reading the %s", path, what);
    if ((size_t)n != len)
        return err_set(err, ERR_INVALID, "%s: truncated ELF file (the %s is cut short)", path,
                       what);
    return 0;
}

int cli_elf_sizes(const char *path, struct cli_elf_sizes *out, struct err *err)
{
    int rc = 0;
    unsigned char *table = NULL;
    unsigned char eh[sizeof(Elf64_Ehdr)];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_errno(err, "%s", path);
    if (fstat(fd, &st) < 0) {
        rc = err_errno(err, "%s", path);
        goto out;
    }
    memset(eh, 0, sizeof eh);
    ssize_t got = pread(fd, eh, sizeof eh, 0);
    if (got < 0) {
        rc = err_errno(err, "%s", path);
        goto out;
    }
    if (got < EI_NIDENT || memcmp(eh, ELFMAG, SELFMAG) != 0) {
        rc = err_set(err, ERR_INVALID, "%s: not an ELF file", path);
        goto out;
    }
    bool is64 = eh[EI_CLASS] == ELFCLASS64, big = eh[EI_DATA] == ELFDATA2MSB;
    if ((eh[EI_CLASS] != ELFCLASS32 && !is64) ||
        (eh[EI_DATA] != ELFDATA2LSB && eh[EI_DATA] != ELFDATA2MSB)) {
        rc = err_set(err, ERR_INVALID, "%s: unknown ELF class or byte order", path);
        goto out;
    }
    size_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if ((size_t)got < ehsize) {
        rc = err_set(err, ERR_INVALID, "%s: truncated ELF file (the header is cut short)", path);
        goto out;
    }
    /* e_shoff, e_shentsize, e_shnum: offsets from the ELF specification's header layout */
    uint64_t shoff = is64 ? field(eh + offsetof(Elf64_Ehdr, e_shoff), 8, big)
                          : field(eh + offsetof(Elf32_Ehdr, e_shoff), 4, big);
    uint64_t shentsize = is64 ? field(eh + offsetof(Elf64_Ehdr, e_shentsize), 2, big)
                              : field(eh + offsetof(Elf32_Ehdr, e_shentsize), 2, big);
    uint64_t shnum = is64 ? field(eh + offsetof(Elf64_Ehdr, e_shnum), 2, big)
                          : field(eh + offsetof(Elf32_Ehdr, e_shnum), 2, big);
    size_t want = is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    if (shnum == 0 || shoff == 0) {
        rc = err_set(err, ERR_INVALID, "%s: the ELF file has no section headers", path);
        goto out;
    }
    if (shentsize < want || shoff > (uint64_t)st.st_size ||
        shnum * shentsize > (uint64_t)st.st_size - shoff) {
        rc = err_set(err, ERR_INVALID, "%s: the section header table lies outside the file "
                     "(truncated?)", path);
        goto out;
    }
    if (!(table = malloc(shnum * shentsize))) {
        rc = err_set(err, -ENOMEM, "%s: out of memory", path);
        goto out;
    }
    if ((rc = read_at(fd, table, shnum * shentsize, shoff, path, "section headers", err)) < 0)
        goto out;

    memset(out, 0, sizeof *out);
    out->bits = is64 ? 64 : 32;
    for (uint64_t i = 0; i < shnum; i++) {
        const unsigned char *sh = table + i * shentsize;
        uint64_t type, flags, size;
        if (is64) {
            type = field(sh + offsetof(Elf64_Shdr, sh_type), 4, big);
            flags = field(sh + offsetof(Elf64_Shdr, sh_flags), 8, big);
            size = field(sh + offsetof(Elf64_Shdr, sh_size), 8, big);
        } else {
            type = field(sh + offsetof(Elf32_Shdr, sh_type), 4, big);
            flags = field(sh + offsetof(Elf32_Shdr, sh_flags), 4, big);
            size = field(sh + offsetof(Elf32_Shdr, sh_size), 4, big);
        }
        if (!(flags & SHF_ALLOC) || type == SHT_NULL)
            continue;
        if (type == SHT_NOBITS)
            out->bss += size;
        else if (flags & SHF_WRITE)
            out->data += size;
        else
            out->text += size;
    }
out:
    free(table);
    close(fd);
    return rc;
}
