/*
 * Monotonic time and deadlines (common/mono.h): the three clocks agree, a deadline counts down
 * to 0 and stays there, and a negative timeout never expires.
 */
#include "mono.h"

#include "asserts.h"
#include "runner.h"

#include <time.h>

static void test_mono_clocks_agree_and_move_forward(void)
{
    int64_t ns = mono_now_ns(), ms = mono_now_ms();
    double s = mono_now_s();
    ASSERT_TRUE(ns > 0);
    ASSERT_TRUE(ms >= ns / 1000000 && ms - ns / 1000000 < 1000);
    ASSERT_TRUE(s >= (double)ns / 1e9 && s - (double)ns / 1e9 < 1.0);
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    ASSERT_TRUE(mono_now_ns() - ns >= 2000000);
}

static void test_mono_deadlines_count_down_and_never_for_a_negative_timeout(void)
{
    ASSERT_EQ(mono_deadline(-1), -1);
    ASSERT_EQ(mono_left_ms(-1), -1);
    int64_t soon = mono_deadline(50);
    int left = mono_left_ms(soon);
    ASSERT_TRUE(left > 0 && left <= 50);
    struct timespec pause = {0, 60000000};
    nanosleep(&pause, NULL);
    ASSERT_EQ(mono_left_ms(soon), 0);
    ASSERT_EQ(mono_left_ms(mono_deadline(0)), 0);
}

int test_register(void)
{
    CU_pSuite s = CU_add_suite("mono", NULL, NULL);
    CU_ADD_TEST(s, test_mono_clocks_agree_and_move_forward);
    CU_ADD_TEST(s, test_mono_deadlines_count_down_and_never_for_a_negative_timeout);
    return TEST_RUN;
}
