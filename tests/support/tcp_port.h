/*
 * Test support: a loopback TCP port that is free now, for the tests that give QEMU a port to
 * listen on (the gdb stub, a TCP-attached UART).
 */
#ifndef MTQ_TEST_TCP_PORT_H
#define MTQ_TEST_TCP_PORT_H

/* A port the kernel just handed out on 127.0.0.1 and released again, or -1. Another process
 * may take it before the test binds it: good enough on a test host, not a guarantee. */
int tcp_port_free(void);

#endif
