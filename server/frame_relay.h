/*
 * The LAN9118 fast link's host adapter (issue 11): a thread that turns the datagram socket
 * QEMU's lan9118 talks on (-netdev socket,fd=3 over a SOCK_DGRAM socketpair: one datagram,
 * one Ethernet frame) into a byte stream for the session (one end of a SOCK_STREAM
 * socketpair, used exactly like the UART's pty master). The protocol is frame_host.c.
 *
 * Backpressure: a session that stops reading stops the relay granting the device window, so
 * the device stops after FRAME_HOST_RX_BYTES; a session that writes more than the device
 * takes finds its stream full. Nothing grows without bound whatever the guest sends.
 * The stream ends (EOF, after everything the device sent has been delivered) when QEMU exits
 * (exit_fd) or the link hangs up.
 */
#ifndef MTQ_FRAME_RELAY_H
#define MTQ_FRAME_RELAY_H

#include "err.h"
#include "frame_host.h"

struct frame_relay;

/* Starts the relay's thread. dgram_fd: the server's end of the SOCK_DGRAM socketpair whose
 * other end QEMU holds; the relay takes it, also when it fails (frame_relay_stop closes it;
 * a failed start already has). exit_fd: readable once QEMU has exited (its pidfd), or -1; stays the
 * caller's and must stay open until frame_relay_stop. *stream_fd: the session's end of the
 * stream, non-blocking and close-on-exec, the caller's to close (after or before stopping
 * the relay). Returns 0, or an error (-errno) with nothing left open. */
int frame_relay_start(int dgram_fd, int exit_fd, int *stream_fd, struct frame_relay **out,
                      struct err *err);

/* Stops the thread (at once, whatever it was doing), joins it, closes the relay's fds
 * (dgram_fd and its end of the stream) and frees r. final, if not NULL, gets the protocol's
 * counters as they ended (read once the thread is gone, so nothing the session already
 * holds is missing from them). Accepts NULL. */
void frame_relay_stop(struct frame_relay *r, struct frame_host_stats *final);

/* Whether the relay has ended (QEMU exited, or the link or the session hung up) and closed
 * its end of the stream. */
bool frame_relay_ended(struct frame_relay *r);

#endif
