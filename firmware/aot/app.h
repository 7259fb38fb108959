/*
 * The aot_standalone application's command loop, without main(): a byte-at-a-time parser of the
 * '%'-terminated line protocol in firmware/README.md, and the replies. Kept apart from main so
 * the host reference (tests/support/host_board.c) and the unit tests drive exactly this code.
 * It reads no input itself and writes replies with link_write (link.h; the banner goes on the
 * UART); it never allocates.
 */
#ifndef MTQ_AOT_APP_H
#define MTQ_AOT_APP_H

struct aot_tensor;

/* The class index infer% reports: the index of the maximum of t, ties going to the first index
 * (np.argmax's rule; aot_standalone) or, with ties_to_last, to the last (TVM's Zephyr demo
 * compares with >=; aot_standalone_demo). -1 when t's dtype is not a plain number. */
long aot_app_argmax(const struct aot_tensor *t, int ties_to_last);

/* Sends the boot banner line: "#microtvm-qemu:aot_standalone:<board>:<libc>\n". */
void aot_app_send_banner(void);

/* Loads the default inputs and empties the command parser. Call once before aot_app_feed.
 * Built with MTQ_AOT_DEMO (aot_standalone_demo), input 0 then comes from input_data[] of the
 * project's include/tvm/input_data.h, as in TVM's Zephyr demo. */
void aot_app_init(void);

/* Takes one received byte. A '%' ends a command, which is then answered; '\r' and '\n' are
 * ignored everywhere, so a host may end commands with newlines too. Never fails: bad input gets
 * an "error:..." line. The exit command does not return (board_exit). */
void aot_app_feed(int byte);

#endif
