/*
 * Monotonic time and deadlines (common/mono.h): the three clocks agree, a deadline counts down
 * to 0 and stays there, and a negative timeout never expires.
 */
#include "mono.h"

#include <CUnit/Basic.h>
#include <time.h>

static void test_mono_clocks_agree_and_move_forward(void)
{
    int64_t ns = mono_now_ns(), ms = mono_now_ms();
    double s = mono_now_s();
    CU_ASSERT(ns > 0);
    CU_ASSERT(ms >= ns / 1000000 && ms - ns / 1000000 < 1000);
    CU_ASSERT(s >= (double)ns / 1e9 && s - (double)ns / 1e9 < 1.0);
    struct timespec pause = {0, 2000000};
    nanosleep(&pause, NULL);
    CU_ASSERT(mono_now_ns() - ns >= 2000000);
}

static void test_mono_deadlines_count_down_and_never_for_a_negative_timeout(void)
{
    CU_ASSERT_EQUAL(mono_deadline(-1), -1);
    CU_ASSERT_EQUAL(mono_left_ms(-1), -1);
    int64_t soon = mono_deadline(50);
    int left = mono_left_ms(soon);
    CU_ASSERT(left > 0 && left <= 50);
    struct timespec pause = {0, 60000000};
    nanosleep(&pause, NULL);
    CU_ASSERT_EQUAL(mono_left_ms(soon), 0);
    CU_ASSERT_EQUAL(mono_left_ms(mono_deadline(0)), 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("mono", NULL, NULL);
    CU_ADD_TEST(s, test_mono_clocks_agree_and_move_forward);
    CU_ADD_TEST(s, test_mono_deadlines_count_down_and_never_for_a_negative_timeout);
    if (CU_get_error() != CUE_SUCCESS)
        return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned bad = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return bad != 0;
}
