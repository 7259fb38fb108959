/*
 * newlib and newlib-nano glue: the few system calls they need, on the board layer instead of
 * libnosys (which fails every call) or rdimon (semihosting, which would print to QEMU's stdout
 * instead of the transport). Files 0-2 are the UART; the heap is [__heap_start, __heap_end)
 * from the linker script, and running out returns ENOMEM instead of growing into the stack.
 */
#include "board.h"

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

extern uint8_t __heap_start[], __heap_end[];

/* Declared here: newlib's headers do not declare the underscore system calls. */
void *_sbrk(ptrdiff_t incr);
int _write(int fd, const void *buf, size_t n);
int _read(int fd, void *buf, size_t n);
int _close(int fd);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
off_t _lseek(int fd, off_t off, int whence);
int _kill(int pid, int sig);
int _getpid(void);
_Noreturn void _exit(int code);

void *_sbrk(ptrdiff_t incr)
{
    static uint8_t *brk = __heap_start;
    if (incr > __heap_end - brk || incr < __heap_start - brk) {
        errno = ENOMEM;
        return (void *)-1;
    }
    uint8_t *old = brk;
    brk += incr;
    return old;
}

int _write(int fd, const void *buf, size_t n)
{
    if (fd < 0 || fd > 2) {
        errno = EBADF;
        return -1;
    }
    uart_write(buf, n);
    return (int)n;
}

int _read(int fd, void *buf, size_t n)
{
    if (fd != 0) {
        errno = EBADF;
        return -1;
    }
    if (n == 0)
        return 0;
    /* Block for the first byte only, like a terminal: callers loop for more. */
    uint8_t *p = buf;
    size_t got = 0;
    p[got++] = (uint8_t)uart_getc();
    for (int c; got < n && (c = uart_try_getc()) >= 0;)
        p[got++] = (uint8_t)c;
    return (int)got;
}

int _close(int fd)
{
    (void)fd;
    return 0;
}

int _fstat(int fd, struct stat *st)
{
    (void)fd;
    st->st_mode = S_IFCHR;
    return 0;
}

int _isatty(int fd)
{
    return fd >= 0 && fd <= 2;
}

off_t _lseek(int fd, off_t off, int whence)
{
    (void)fd;
    (void)off;
    (void)whence;
    errno = ESPIPE;
    return -1;
}

int _kill(int pid, int sig)
{
    (void)pid;
    (void)sig;
    errno = EINVAL;
    return -1;
}

int _getpid(void)
{
    return 1;
}

_Noreturn void _exit(int code)
{
    board_exit(code);
}
