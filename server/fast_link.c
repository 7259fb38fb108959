/*
 * The table of fast link kinds and the socket pair behind each board's link (fast_link.h).
 * QEMU gets its end of a socketpair the server made, as fd 3 (emulator/emu.c moves it there in
 * the child): no chardev on a path, no netdev with a host or port, nothing listening, so a
 * project can no more reach the host through the link than through the UART.
 */
#include "fast_link.h"

#include "frame_relay.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* virtio-serial: a virtserialport (MULTIPORT; port 0 is virtconsole's, whose guest-to-host
 * bytes QEMU drops when the host does not drain, FAST_LINKS.md 3.4) on a socket chardev. The
 * guest sees a virtio-mmio console device in the first slot QEMU fills (machines/riscv32-virt.json). */
static const char *const virtio_serial_args[] = {
    "-device", "virtio-serial-device",
    "-chardev", "socket,id=link0,fd=3",
    "-device", "virtserialport,chardev=link0,nr=1",
    NULL};

/* LAN9118: the mps2 boards' Ethernet controller on a socket netdev; with a SOCK_DGRAM pair one
 * datagram is one Ethernet frame (FAST_LINKS.md 4). The legacy -net nic is the only way to
 * give the boards' built-in controller a netdev. Its frames carry the stream through the
 * frame relay (frame_relay.c), which keeps QEMU's lan9118 from ever dropping one. */
static const char *const lan9118_args[] = {
    "-netdev", "socket,id=link0,fd=3",
    "-net", "nic,netdev=link0,model=lan9118",
    NULL};

static int lan9118_start(int sock_fd, int exit_fd, int *stream_fd, void **adapter,
                         struct err *err)
{
    struct frame_relay *r = NULL;
    int rc = frame_relay_start(sock_fd, exit_fd, stream_fd, &r, err);
    *adapter = r;
    return rc;
}

/* The relay's counters go to the debug log (-v): a slow link shows why (timeouts, rewinds,
 * a window that never fills). */
static void lan9118_stop(void *adapter)
{
    struct frame_host_stats st;
    if (!adapter)
        return;
    frame_relay_stop(adapter, &st);
    log_debug("lan9118 link: %llu frames in, %llu out; %llu bytes in, %llu out; %llu timeouts, "
              "%llu rewinds, %llu resend requests; %llu malformed, %llu stale, %llu duplicate, "
              "%llu out of order; at most %u FIFO words and %u frames in flight",
              (unsigned long long)st.frames_in, (unsigned long long)st.frames_out,
              (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
              (unsigned long long)st.timeouts, (unsigned long long)st.rewinds,
              (unsigned long long)st.resend_requests, (unsigned long long)st.malformed,
              (unsigned long long)st.stale, (unsigned long long)st.duplicates,
              (unsigned long long)st.out_of_order, st.max_flight_words, st.max_flight_frames);
}

static const struct fast_link_kind kinds[] = {
    {"virtio_serial", "virtio-serial", SOCK_STREAM, virtio_serial_args, NULL, NULL},
    {"lan9118", "LAN9118", SOCK_DGRAM, lan9118_args, lan9118_start, lan9118_stop},
};

/* What QEMU may queue towards us before its writes wait: a bulk transfer's bursts. */
#define LINK_SOCKET_BUFFER (1 << 20)

const struct fast_link_kind *fast_link_kind_at(size_t i)
{
    return i < sizeof kinds / sizeof kinds[0] ? &kinds[i] : NULL;
}

const struct fast_link_kind *fast_link_kind_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

/* "riscv32-virt, riscv64-virt" into out: the boards in dir whose fast link this server
 * drives; "none" when there are none (or dir cannot be read). */
static void boards_with_fast_links(const char *dir, char *out, size_t outsz)
{
    char **names = NULL;
    size_t n = 0, used = 0;
    snprintf(out, outsz, "none");
    struct machine *m = calloc(1, sizeof *m);
    if (!m || !dir || mach_list(dir, &names, &n, NULL) < 0) {
        free(m);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (mach_load_by_name(m, dir, names[i], NULL) < 0 || !mach_has_fast_link(m) ||
            !fast_link_kind_find(m->fast_link_kind))
            continue;
        int w = snprintf(out + used, outsz - used, "%s%s", used ? ", " : "", names[i]);
        if (w < 0 || (size_t)w >= outsz - used)
            break;
        used += (size_t)w;
    }
    mach_free_names(names, n);
    free(m);
}

int fast_link_check_board(const struct machine *m, const char *link, const char *machines_dir,
                          struct err *err)
{
    char boards[256];
    if (strcmp(link, "fast") != 0)
        return 0;
    if (mach_has_fast_link(m) && fast_link_kind_find(m->fast_link_kind))
        return 0;
    boards_with_fast_links(machines_dir, boards, sizeof boards);
    if (mach_has_fast_link(m))
        return err_set(err, ERR_OPTION, "option link: fast: %s's fast link (%s) is not "
                       "available yet in this server; use link=uart, or a board whose fast "
                       "link is (%s)", m->name, m->fast_link_kind, boards);
    return err_set(err, ERR_OPTION, "option link: fast: %s has no fast link (its machine "
                   "file has no fast_link); use link=uart, or a board that has one (%s)",
                   m->name, boards);
}

void fast_link_init(struct fast_link *l)
{
    memset(l, 0, sizeof *l);
    l->qemu_fd = l->sock_fd = l->stream_fd = -1;
}

int fast_link_open(struct fast_link *l, const struct fast_link_kind *k, struct err *err)
{
    int pair[2];
    fast_link_init(l);
    if (socketpair(AF_UNIX, k->sock_type | SOCK_CLOEXEC, 0, pair) < 0)
        return err_errno(err, "creating the %s link's socket pair", k->label);
    int size = LINK_SOCKET_BUFFER;
    for (int i = 0; i < 2; i++) { /* best effort: the kernel caps it at its own limits */
        setsockopt(pair[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        setsockopt(pair[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    int flags = fcntl(pair[0], F_GETFL);
    if (flags < 0 || fcntl(pair[0], F_SETFL, flags | O_NONBLOCK) < 0) {
        int rc = err_errno(err, "making the %s link non-blocking", k->label);
        close(pair[0]);
        close(pair[1]);
        return rc;
    }
    l->kind = k;
    l->sock_fd = pair[0];
    l->qemu_fd = pair[1];
    return 0;
}

int fast_link_start(struct fast_link *l, int exit_fd, struct err *err)
{
    if (l->qemu_fd >= 0)
        close(l->qemu_fd);
    l->qemu_fd = -1;
    if (!l->kind->adapter_start) {
        l->stream_fd = l->sock_fd;
        l->sock_fd = -1;
        return 0;
    }
    int sock = l->sock_fd;
    l->sock_fd = -1; /* the adapter takes it, also when it fails */
    int rc = l->kind->adapter_start(sock, exit_fd, &l->stream_fd, &l->adapter, err);
    if (rc < 0) {
        l->stream_fd = -1;
        l->adapter = NULL;
        fast_link_close(l);
    }
    return rc;
}

void fast_link_close(struct fast_link *l)
{
    if (!l)
        return;
    if (l->adapter && l->kind && l->kind->adapter_stop)
        l->kind->adapter_stop(l->adapter);
    if (l->stream_fd >= 0)
        close(l->stream_fd);
    if (l->sock_fd >= 0)
        close(l->sock_fd);
    if (l->qemu_fd >= 0)
        close(l->qemu_fd);
    fast_link_init(l);
}
