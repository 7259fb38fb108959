/*
 * The board configuration of the host reference (tests/support/host_board.c): what CMake
 * generates from machines/<board>.json for a real board. The timer is a counter that advances
 * by one per read at 1 kHz, so a run takes exactly one tick (1 ms) and the host's replies are
 * the same on every run.
 */
#ifndef MTQ_HOST_BOARD_CONFIG_H
#define MTQ_HOST_BOARD_CONFIG_H

#define BOARD_NAME "host"
#define BOARD_ARCH "host"
#define BOARD_LIBC "glibc"
#define BOARD_TIMER_HZ 1000u

#endif
