/*
 * aot_standalone: the model runs on the board by itself. After the banner the firmware answers
 * '%'-terminated commands over the UART (firmware/README.md): TVM's demo protocol (init%, infer%)
 * and ours for tensors, outputs and exact counts. All the logic is in firmware/aot/app.c, so the
 * host reference runs the same code; this file only wires it to the board.
 */
#include "app.h"
#include "board.h"

int main(void)
{
    board_init();
    aot_app_init();
    /* The banner goes last: once it is out the host may send commands
     * (docs/BOARD_CONTRACT.md "The UART conventions"). */
    aot_app_send_banner();
    for (;;)
        aot_app_feed(uart_getc());
}
