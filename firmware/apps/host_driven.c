/*
 * The host_driven firmware: TVM's C runtime RPC server on the transport's link (link.h: the
 * board's UART, or its fast link), so that TVM on the host drives the model (graph or AOT
 * executor, time_evaluator, AutoTVM). Sends the banner on the UART (docs/BOARD_CONTRACT.md "The
 * UART conventions"), brings up the link, starts the server, then hands every received byte to it.
 *
 * Why the receive path cannot overflow: there is no receive buffer of ours to overflow. The
 * link is polled, and a byte is taken from it only when the loop below is ready to give it to
 * MicroTVMRpcServerLoop, which runs a whole request (and writes its reply) before returning.
 * While the server is busy, further bytes wait in QEMU's UART model and the host's pty, which
 * holds them (QEMU_NOTES.md: input is held, not dropped), or in QEMU's socket for the fast link
 * (a virtio port takes host bytes only into buffers the firmware posted). The only buffer is the CRT's own
 * packet buffer (TVM_CRT_MAX_PACKET_SIZE_BYTES), and the host never sends a packet larger than
 * the size the device reports. TVM's Zephyr firmware instead copied bytes from an interrupt into
 * a fixed ring buffer and aborted when it filled, which made its QEMU CI flaky.
 */
#include "board.h"
#include "link.h"

#include <stdint.h>

#include <tvm/runtime/crt/microtvm_rpc_server.h>
#include <tvm/runtime/crt/platform.h>
#ifdef MTQ_CRT_GRAPH_EXECUTOR
#include <tvm/runtime/crt/graph_executor_module.h>
#endif

/* The server's write callback: all bytes, blocking while the link cannot take them (the fast
 * link buffers them until the next wait for input, link.h). */
static ssize_t write_link(void *context, const uint8_t *data, size_t num_bytes)
{
    (void)context;
    link_write(data, num_bytes);
    return (ssize_t)num_bytes;
}

/* The end of a session, on the link where the host reads the session, then the exit. */
static _Noreturn void shut_down(void)
{
    static const char line[] = "\n#microtvm-qemu:shutdown\n";
    link_write(line, sizeof line - 1);
    link_flush();
    board_exit(0);
}

int main(void)
{
    board_init();
    uart_puts("#microtvm-qemu:" BOARD_PROJECT_TYPE ":" BOARD_NAME ":" BOARD_LIBC "\n");
    link_init();

    tvm_crt_error_t err = TVMPlatformInitialize();
    if (err != kTvmErrorNoError)
        TVMPlatformAbort(err);
    microtvm_rpc_server_t server = MicroTVMRpcServerInit(write_link, NULL);
#ifdef MTQ_CRT_GRAPH_EXECUTOR
    /* lets the host create a graph executor on the device ("tvm.graph_executor.create");
     * the RPC server registers the AOT executor itself */
    err = TVMGraphExecutorModule_Register();
    if (err != kTvmErrorNoError)
        TVMPlatformAbort(err);
#endif

    static uint8_t received[512];
    for (;;) {
        /* what has come, at once: the RPC server takes any number of bytes */
        uint8_t *cursor = received;
        size_t left = link_read(received, sizeof received);
        while (left > 0) {
            err = MicroTVMRpcServerLoop(server, &cursor, &left);
            /* Framing errors (a packet cut short by a new one, a bad escape) are the host
             * resynchronising after a reset or a timeout: the unframer has already dropped the
             * packet and waits for the next start, so carry on. Anything else (no memory, a
             * session in a bad state) cannot be recovered here. */
            if (err == kTvmErrorFramingShortPacket || err == kTvmErrorFramingInvalidEscape)
                continue;
            /* The host ended the RPC session (kShutdown): the CRT serves nothing more until
             * it is restarted. TVM's Zephyr firmware rebooted; we end the emulation cleanly,
             * and the next open_transport boots the board again. */
            if (err == kTvmErrorPlatformShutdown)
                shut_down();
            if (err != kTvmErrorNoError)
                TVMPlatformAbort(err);
        }
    }
}
