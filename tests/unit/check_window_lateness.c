/* check_window_lateness.c -- unit tests of the window operator past the watermark: allowed
 * lateness (late firings, clean-up at end - 1 + lateness, late elements to the side output
 * or counted as dropped, a sliding element late only when all its windows are), per-window
 * and per-key user state, and processing-time windows firing by the wall clock; the
 * lateness paths again on RocksDB. Records, user functions and the harness are
 * windows_util.h's (shared with check_windows.c); every expected result is written out by
 * hand.
 */
#include "windows_util.h"

/* ---- lateness ---------------------------------------------------------------------- */

START_TEST(test_allowed_lateness_side_output)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    h->win.allowed_lateness = 5;
    h->win.late_tag = "late";
    start(h);
    push(h, 1, 1, 1);
    push(h, 1, 2, 3);
    wm(h, 9);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 1, 2, 3, 12);
    push(h, 1, 3, 4); /* late but within lateness: a late firing with the updated result */
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 1, 0, 10, 1, 3, 6, 123);
    wm(h, 13);
    push(h, 1, 4, 2); /* 9 + 5 > 13: still allowed */
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 2, 0, 10, 1, 4, 10, 1234);
    ck_assert(has_state(h, 1, 0, 10));
    wm(h, 14); /* clean-up at end - 1 + lateness */
    ck_assert_int_eq(h->nout, 3);
    ck_assert(!has_state(h, 1, 0, 10));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
    push(h, 1, 5, 5); /* 9 + 5 <= 14: too late, to the side output as it came */
    ck_assert_int_eq(h->nout, 3);
    ck_assert_int_eq(h->nlate, 1);
    ev x;
    ck_assert_uint_eq(h->late[0].len, sizeof x);
    memcpy(&x, h->late[0].data, sizeof x);
    ck_assert(x.key == 1 && x.val == 5);
    ck_assert_int_eq(h->late[0].ts, 5);
    ck_assert_uint_eq(fl_window_op_dropped(h->op), 0);
    ck_assert(!has_state(h, 1, 0, 10));
    push(h, 1, 6, 12); /* the next window is fine */
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 4);
    expect_res(h, 3, 10, 20, 1, 1, 6, 6);
    ck_assert_int_eq(h->nlate, 1);
}
END_TEST

/* Whether the user state "firings" of key holds a value in namespace window [start, end)
 * (len 16) or in no namespace (len 0). */
static bool has_user_state(harness *h, uint32_t key, int64_t start, int64_t end, uint32_t nslen)
{
    fl_kbackend *kb = h->op->ctx.kb;
    uint8_t ns[16];
    memcpy(ns, &start, 8);
    memcpy(ns + 8, &end, 8);
    fl_kbackend_set_key(kb, &key, 4);
    const void *v;
    uint32_t len;
    return kb->ops->get(fl_kstate_get_or_create(kb, "user:firings"), ns, nslen, &v, &len);
}

START_TEST(test_per_window_user_state)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    h->win.allowed_lateness = 5;
    h->win.process_fn = "wt_process_firings";
    start(h);
    push(h, 1, 1, 1);
    push(h, 1, 2, 12);
    push(h, 2, 3, 3);
    wm(h, 9);
    ck_assert_int_eq(h->nout, 2); /* [0,10) of keys 1 and 2: their first firing */
    expect_res(h, 0, 0, 10, 1, 1, 0, 1);
    expect_res(h, 1, 0, 10, 2, 1, 0, 1);
    push(h, 1, 4, 4); /* a late firing of [0,10) sees the window's state: its second */
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 2, 0, 10, 1, 2, 0, 2);
    ck_assert(has_user_state(h, 1, 0, 10, 16));
    ck_assert(!has_user_state(h, 1, 0, 0, 0));
    wm(h, 14); /* clean-up of [0,10): the per-window state goes with it */
    ck_assert(!has_user_state(h, 1, 0, 10, 16));
    ck_assert(!has_user_state(h, 2, 0, 10, 16));
    wm(h, 19); /* [10,20) of key 1: a window of its own, first firing */
    ck_assert_int_eq(h->nout, 4);
    expect_res(h, 3, 10, 20, 1, 1, 0, 1);
    wm(h, FL_WATERMARK_MAX);
    ck_assert(!has_user_state(h, 1, 10, 20, 16));
}
END_TEST

START_TEST(test_session_user_state_per_key)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    h->win.process_fn = "wt_process_firings";
    start(h);
    push(h, 1, 1, 1);
    wm(h, 20);
    push(h, 1, 2, 30);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2); /* two sessions of key 1: the state spans both */
    expect_res(h, 0, 1, 11, 1, 1, 0, 1);
    expect_res(h, 1, 30, 40, 1, 1, 0, 2);
    ck_assert(has_user_state(h, 1, 0, 0, 0));
}
END_TEST

START_TEST(test_late_dropped_counted)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    start(h);
    push(h, 1, 1, 1);
    wm(h, 9);
    ck_assert_int_eq(h->nout, 1);
    push(h, 1, 2, 9); /* no lateness: 9 <= 9 is late */
    push(h, 2, 3, 0);
    ck_assert_int_eq(h->nout, 1);
    ck_assert_int_eq(h->nlate, 0);
    ck_assert_uint_eq(fl_window_op_dropped(h->op), 2);
    ck_assert(!has_state(h, 2, 0, 10));
    tu_log_capture();
    fl_log_min_level = FL_LOG_INFO;
    ck_assert_int_eq(fl_harness_free(h->fh), 0); /* the operator is released */
    h->fh = NULL;
    char *log = tu_log_text();
    ck_assert_msg(strstr(log, "dropped 2 late elements") != NULL, "log: %s", log);
    free(log);
    tu_log_release();
}
END_TEST

START_TEST(test_sliding_late_only_when_all_windows_late)
{
    harness *h = setup(FL_SLIDING_EVENT_TIME, 10, 5, 0, 0);
    start(h);
    wm(h, 10);
    push(h, 1, 7, 7); /* [0, 10) is late, [5, 15) is not: kept */
    push(h, 1, 3, 3); /* [-5, 5) and [0, 10) both late: dropped */
    ck_assert_uint_eq(fl_window_op_dropped(h->op), 1);
    ck_assert(!has_state(h, 1, 0, 10));
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 5, 15, 1, 1, 7, 7);
}
END_TEST

START_TEST(test_session_lateness)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    h->win.allowed_lateness = 20;
    h->win.late_tag = "late";
    start(h);
    push(h, 1, 1, 0);
    wm(h, 15);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 1, 1, 1, 1);
    push(h, 1, 2, 5); /* merges into [0, 15), which is past the watermark: fires at once */
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 1, 0, 15, 1, 2, 3, 12);
    wm(h, 34); /* clean-up of [0, 15) at 14 + 20 */
    ck_assert(!has_state(h, 1, 0, 15));
    ck_assert(!has_state(h, 1, 0, 10));
    push(h, 1, 3, 4); /* [4, 14): 13 + 20 <= 34: late */
    ck_assert_int_eq(h->nlate, 1);
    ck_assert_int_eq(h->nout, 2);
    ck_assert(!has_state(h, 1, 4, 14));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
}
END_TEST

/* ---- processing time --------------------------------------------------------------- */

START_TEST(test_processing_time_by_wall_clock)
{
    harness *h = setup(FL_TUMBLING_PROCESSING_TIME, 200, 200, 0, 0);
    start(h);
    /* start early in a window so the three elements share it */
    int64_t deadline = fl_mono_ms() + 2000;
    while (fl_now_ms() % 200 >= 50 && fl_mono_ms() < deadline)
        usleep(1000);
    int64_t t0 = fl_now_ms();
    push(h, 1, 1, FL_NO_TIMESTAMP);
    push(h, 1, 2, 123); /* event timestamps do not matter */
    push(h, 1, 3, -5);
    int64_t t1 = fl_now_ms();
    ck_assert_msg(t0 / 200 == t1 / 200, "the pushes straddled a window boundary");
    int64_t start_ms = t0 - t0 % 200, end_ms = start_ms + 200;
    wm(h, FL_WATERMARK_MAX); /* event time does not fire processing-time windows */
    fl_op_fire_timers(h->op, FL_TIMER_PROCESSING, fl_now_ms());
    ck_assert_int_eq(h->nout, 0);
    int64_t seen = 0;
    deadline = fl_mono_ms() + 3000;
    while (h->nout == 0 && fl_mono_ms() < deadline) {
        usleep(2000);
        seen = fl_now_ms();
        fl_op_fire_timers(h->op, FL_TIMER_PROCESSING, seen);
    }
    ck_assert_int_eq(h->nout, 1);
    ck_assert_int_ge(seen, end_ms - 1);
    expect_res(h, 0, start_ms, end_ms, 1, 3, 6, 123);
    ck_assert(!has_state(h, 1, start_ms, end_ms));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
}
END_TEST

static Suite *window_lateness_suite(void)
{
    Suite *s = suite_create("window-lateness");
    TCase *tc = tcase_create("lateness");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_allowed_lateness_side_output);
    tcase_add_test(tc, test_late_dropped_counted);
    tcase_add_test(tc, test_sliding_late_only_when_all_windows_late);
    tcase_add_test(tc, test_session_lateness);
    tcase_add_test(tc, test_per_window_user_state);
    tcase_add_test(tc, test_session_user_state_per_key);
    suite_add_tcase(s, tc);
    /* the same paths on RocksDB: values from get live only until the next get */
    tc = tcase_create("rocksdb");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, rocksdb_on, teardown);
    tcase_add_test(tc, test_allowed_lateness_side_output);
    tcase_add_test(tc, test_session_lateness);
    tcase_add_test(tc, test_per_window_user_state);
    suite_add_tcase(s, tc);
    tc = tcase_create("processing-time");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_processing_time_by_wall_clock);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_ERROR);
    return tu_run(window_lateness_suite());
}
