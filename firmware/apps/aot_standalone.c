/*
 * aot_standalone: the model runs on the board by itself. After the banner the firmware answers
 * '%'-terminated commands over the link (link.h: the UART, or the fast link; firmware/README.md):
 * TVM's demo protocol (init%, infer%)
 * and ours for tensors, outputs and exact counts. All the logic is in firmware/aot/app.c, so the
 * host reference runs the same code; this file only wires it to the board.
 */
#include "app.h"
#include "board.h"
#include "link.h"

int main(void)
{
    board_init();
    aot_app_init();
    /* The banner goes last: once it is out (and the link is up) the host may send commands
     * (docs/BOARD_CONTRACT.md "The UART conventions"). */
    aot_app_send_banner();
    link_init();
    for (;;)
        aot_app_feed(link_getc());
}
