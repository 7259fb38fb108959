/*
 * Firmware sizes from ELF section headers (cli/elfsize.h): against binutils' `size` on this
 * very program (ELF64), against a hand-built big-endian ELF32, and on files that are not ELF
 * or are cut short.
 */
#include "elfsize.h"

#include "asserts.h"
#include "runner.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/mtq-test-cli-elfsize-XXXXXX";
static char self[PATH_MAX];

static int suite_init(void)
{
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0 || !mkdtemp(tmpdir))
        return -1;
    self[n] = '\0';
    return 0;
}

static int suite_clean(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL_FATAL(f);
    ASSERT_EQ(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void test_sizes_match_binutils_size_on_this_program(void)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "size -B '%s' 2>/dev/null", self);
    FILE *p = popen(cmd, "r");
    char line[512];
    uint64_t text = 0, data = 0, bss = 0;
    int fields = 0;
    if (p && fgets(line, sizeof line, p) && fgets(line, sizeof line, p))
        fields = sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNu64, &text, &data, &bss);
    if (p)
        pclose(p);
    if (fields != 3) {
        printf("(binutils size not found: comparison skipped) ");
        return;
    }
    struct cli_elf_sizes sz;
    struct err e;
    ASSERT_OK_FATAL(cli_elf_sizes(self, &sz, &e), &e);
    if (sz.text != text || sz.data != data || sz.bss != bss)
        fprintf(stderr, "\nours %" PRIu64 "/%" PRIu64 "/%" PRIu64 ", size says %" PRIu64 "/%"
                PRIu64 "/%" PRIu64 "\n", sz.text, sz.data, sz.bss, text, data, bss);
    ASSERT_EQ(sz.text, text);
    ASSERT_EQ(sz.data, data);
    ASSERT_EQ(sz.bss, bss);
    ASSERT_EQ(sz.bits, (int)(sizeof(void *) * 8));
}

static void put_be(unsigned char *p, uint64_t v, int width)
{
    for (int i = 0; i < width; i++)
        p[i] = (unsigned char)(v >> (8 * (width - 1 - i)));
}

static void test_a_big_endian_elf32_is_counted_by_section_kind(void)
{
    /* header, then 5 section headers: null, code, data, bss, and a non-allocated note */
    unsigned char img[sizeof(Elf32_Ehdr) + 5 * sizeof(Elf32_Shdr)];
    memset(img, 0, sizeof img);
    memcpy(img, ELFMAG, SELFMAG);
    img[EI_CLASS] = ELFCLASS32;
    img[EI_DATA] = ELFDATA2MSB;
    img[EI_VERSION] = EV_CURRENT;
    put_be(img + offsetof(Elf32_Ehdr, e_shoff), sizeof(Elf32_Ehdr), 4);
    put_be(img + offsetof(Elf32_Ehdr, e_shentsize), sizeof(Elf32_Shdr), 2);
    put_be(img + offsetof(Elf32_Ehdr, e_shnum), 5, 2);
    const struct { uint32_t type, flags, size; } secs[5] = {
        {SHT_NULL, 0, 0},
        {SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 1000},
        {SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, 24},
        {SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 4096},
        {SHT_PROGBITS, 0, 77777},
    };
    for (int i = 0; i < 5; i++) {
        unsigned char *sh = img + sizeof(Elf32_Ehdr) + (size_t)i * sizeof(Elf32_Shdr);
        put_be(sh + offsetof(Elf32_Shdr, sh_type), secs[i].type, 4);
        put_be(sh + offsetof(Elf32_Shdr, sh_flags), secs[i].flags, 4);
        put_be(sh + offsetof(Elf32_Shdr, sh_size), secs[i].size, 4);
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/be32.elf", tmpdir);
    write_file(path, img, sizeof img);
    struct cli_elf_sizes sz;
    struct err e;
    ASSERT_OK_FATAL(cli_elf_sizes(path, &sz, &e), &e);
    ASSERT_EQ(sz.bits, 32);
    ASSERT_EQ(sz.text, 1000);
    ASSERT_EQ(sz.data, 24);
    ASSERT_EQ(sz.bss, 4096);

    /* the same file cut inside its section headers */
    write_file(path, img, sizeof img - 10);
    ASSERT_EQ(cli_elf_sizes(path, &sz, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "outside the file");
}

static void test_files_that_are_not_elf_are_named_in_the_error(void)
{
    char path[PATH_MAX];
    struct cli_elf_sizes sz;
    struct err e;
    snprintf(path, sizeof path, "%s/text.elf", tmpdir);
    write_file(path, "just some text, long enough to be a header of something\n", 57);
    ASSERT_EQ(cli_elf_sizes(path, &sz, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "text.elf: not an ELF file");

    unsigned char head[20] = {0x7f, 'E', 'L', 'F', ELFCLASS64, ELFDATA2LSB, 1};
    write_file(path, head, sizeof head);
    ASSERT_EQ(cli_elf_sizes(path, &sz, &e), ERR_INVALID);
    ASSERT_STR_CONTAINS(e.msg, "truncated");

    snprintf(path, sizeof path, "%s/missing.elf", tmpdir);
    ASSERT_EQ(cli_elf_sizes(path, &sz, &e), -ENOENT);
    ASSERT_STR_CONTAINS(e.msg, "missing.elf");
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("cli_elfsize", suite_init, suite_clean);
    CU_ADD_TEST(s, test_sizes_match_binutils_size_on_this_program);
    CU_ADD_TEST(s, test_a_big_endian_elf32_is_counted_by_section_kind);
    CU_ADD_TEST(s, test_files_that_are_not_elf_are_named_in_the_error);
    return TEST_RUN;
}
