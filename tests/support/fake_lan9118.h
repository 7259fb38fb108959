/*
 * TEST DOUBLE of a board on the LAN9118 fast link, for the relay's unit tests: a thread that
 * runs the firmware's real protocol (firmware/link/frames.c, compiled for the host) over a
 * model of QEMU's lan9118 instead of the registers: its RX FIFO (2640 words, 176 frames; a
 * frame that does not fit is dropped, as QEMU drops it, and counted), and QEMU's net queue
 * for frames the host's socket refuses. Between the two sits a fault injector that drops,
 * duplicates, delays and reorders frames in both directions, and can make the device stop
 * reading for a while, as a board busy computing does.
 */
#ifndef MTQ_TEST_FAKE_LAN9118_H
#define MTQ_TEST_FAKE_LAN9118_H

#include "frames.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_faults {
    unsigned drop_pct;     /* frames dropped, each direction, before the FIFO / the socket */
    unsigned dup_pct;      /* frames sent twice */
    unsigned delay_pct;    /* frames held back up to delay_max_us */
    unsigned delay_max_us;
    bool reorder;          /* delayed frames may be overtaken (else the order is kept) */
    unsigned stall_pct;    /* polls after which the device stops reading for up to stall_max_us
                            * (QEMU keeps filling its FIFO meanwhile) */
    unsigned stall_max_us;
    uint32_t seed;         /* the fault injector's random numbers; 0: a fixed one */
};

/* What the model saw. A host that keeps its window has overflows == 0 whenever frames are
 * neither duplicated nor reordered (both create frames in the FIFO the host never counted). */
struct fake_counts {
    uint32_t fifo_max_words, fifo_max_frames; /* the most the RX FIFO ever held */
    uint64_t overflows;                       /* frames the FIFO had no room for */
    uint64_t to_device, to_host;              /* frames that reached the FIFO / the socket */
    uint64_t dropped, duplicated, delayed;    /* by the fault injector */
    uint32_t net_queue_max;                   /* QEMU's queue of frames the socket refused */
    uint32_t sessions;                        /* boots (frames_hello) */
    uint64_t hello_acks;                      /* HELLO_ACKs that came from the host */
};

struct fake_dev;

/* The board's program: called on the device's thread after its first HELLO was answered,
 * with the protocol's state. When it returns the board is gone: the device's end of the
 * socket closes and the exit fd becomes readable, as QEMU's pidfd does. */
typedef void fake_app_fn(struct fake_dev *d, struct frames *f, void *ctx);

/* Starts a board with these faults (NULL: none). *relay_fd: the host's end of the datagram
 * socketpair (for frame_relay_start, which takes it); *exit_fd: readable once the board is
 * gone (the double's; stays open until fake_dev_join). Returns NULL on a failed setup. */
struct fake_dev *fake_dev_start(const struct fake_faults *faults, fake_app_fn *app, void *ctx,
                                int *relay_fd, int *exit_fd);

/* From the app: the board reboots (the NIC's soft reset empties the FIFO), starts a new
 * session and says HELLO. */
void fake_dev_reboot(struct fake_dev *d, struct frames *f);

/* From the app: sends raw bytes as one frame, past frames.c (a hostile guest). */
void fake_dev_send_raw(struct fake_dev *d, const void *frame, size_t len);

/* From the app: the device is busy for us microseconds (QEMU keeps filling the FIFO). */
void fake_dev_busy(struct fake_dev *d, unsigned us);
/* From the app: the HELLO_ACKs that came from the host so far, and a wait (at most
 * timeout_s, the frames kept moving meanwhile) until n have: a guest that must hear each
 * answer before it speaks again, whatever the host's scheduling. Returns whether they came. */
uint64_t fake_dev_hello_acks(const struct fake_dev *d);
bool fake_dev_await_hello_acks(struct fake_dev *d, uint64_t n, double timeout_s);

/* Waits (at most timeout_s) for the app to return, then ends the board's thread whatever it
 * was doing (so a failed test never hangs), fills *counts (NULL: not wanted), closes the
 * double's fds and frees it. Returns whether the app had returned by itself. Accepts NULL. */
bool fake_dev_join(struct fake_dev *d, double timeout_s, struct fake_counts *counts);

#endif
