/*
 * Firmware sizes from an ELF file's section headers, the way `size` (Berkeley format) counts
 * them: text = allocated read-only sections with contents (code, rodata, vectors), data =
 * allocated writable sections with contents, bss = allocated sections without contents.
 * Read here rather than by running <prefix>size, so `info` needs no tool per architecture.
 */
#ifndef MTQ_CLI_ELFSIZE_H
#define MTQ_CLI_ELFSIZE_H

#include "err.h"

#include <stdint.h>

struct cli_elf_sizes {
    uint64_t text; /* bytes in flash that never change */
    uint64_t data; /* bytes in flash copied to RAM at start: they cost both */
    uint64_t bss;  /* bytes of RAM zeroed at start */
    int bits;      /* 32 or 64 */
};

/* Reads path's section headers (ELF32 or ELF64, either byte order). A file that is not ELF,
 * or whose headers point outside it, fails with ERR_INVALID naming the file and the problem. */
int cli_elf_sizes(const char *path, struct cli_elf_sizes *out, struct err *err);

#endif
