/* check_windows.c -- unit tests of the window operator (taskmanager/operators/window/),
 * driven in-process through the operator test harness (tests/harness/): the operator is
 * built from an OperatorSpec as its task builds it, records and watermarks are pushed in,
 * and sink operators of the test record what comes out (main output, late side output,
 * and the order of results and watermarks).
 *
 * Covered: window assignment (tumbling and sliding, positive and negative offsets, sizes
 * that do not divide the epoch, negative timestamps), firing at end - 1, the window
 * functions (with the count evictor) and windowAll, session merging (a bridging element
 * merges two sessions; contents combine by concatenation, the aggregate's merge, or the
 * reduce function; the count trigger's counts add up), trigger results (CONTINUE, FIRE,
 * PURGE, FIRE_AND_PURGE from a custom trigger, count triggers, count windows), and the
 * same paths on RocksDB. Lateness, per-window state and processing time are in
 * check_window_lateness.c; the records, user functions and harness both use in
 * windows_util.h. Every expected window and result is written out here by hand (the
 * windows of the odd sizes were worked out with start = ts - ((ts - offset) mod size) on
 * paper), never computed by the code under test.
 */
#include "windows_util.h"

/* ---- assignment -------------------------------------------------------------------- */

START_TEST(test_tumbling_no_offset_negative_ts)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    start(h);
    push(h, 1, 1, -1);
    push(h, 1, 2, -10);
    push(h, 1, 3, -11);
    push(h, 1, 4, 0);
    push(h, 1, 5, 9);
    push(h, 1, 6, 10);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 4);
    expect_res(h, 0, -20, -10, 1, 1, 3, 3);
    expect_res(h, 1, -10, 0, 1, 2, 3, 12);
    expect_res(h, 2, 0, 10, 1, 2, 9, 45);
    expect_res(h, 3, 10, 20, 1, 1, 6, 6);
}
END_TEST

START_TEST(test_tumbling_offsets)
{
    /* offset 3: windows [..., -17, -7, 3, 13, ...) */
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 3, 0);
    start(h);
    push(h, 1, 1, -1); /* -1 - ((-4) mod 10 = 6) = -7 */
    push(h, 1, 2, 2);
    push(h, 1, 3, 3);
    push(h, 1, 4, -8); /* -8 - ((-11) mod 10 = 9) = -17 */
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, -17, -7, 1, 1, 4, 4);
    expect_res(h, 1, -7, 3, 1, 2, 3, 12);
    expect_res(h, 2, 3, 13, 1, 1, 3, 3);
    teardown();

    /* offset -3: windows [..., -13, -3, 7, 17, ...) */
    h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, -3, 0);
    start(h);
    push(h, 1, 1, 0);
    push(h, 1, 2, 7);
    push(h, 1, 3, 6);
    push(h, 1, 4, -4); /* -4 - ((-1) mod 10 = 9) = -13 */
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, -13, -3, 1, 1, 4, 4);
    expect_res(h, 1, -3, 7, 1, 2, 4, 13);
    expect_res(h, 2, 7, 17, 1, 1, 2, 2);
}
END_TEST

START_TEST(test_tumbling_sizes_not_dividing_epoch)
{
    /* size 7: 1700000000003 = 7 * 242857142857 + 4 */
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 7, 7, 0, 0);
    start(h);
    push(h, 1, 1, 1700000000003LL);
    push(h, 2, 2, -1700000000003LL); /* = 7 * -242857142858 + 3 */
    push(h, 3, 3, -1);
    push(h, 3, 4, -7);
    push(h, 3, 5, -8);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 4);
    expect_res(h, 0, -1700000000006LL, -1699999999999LL, 2, 1, 2, 2);
    expect_res(h, 1, -14, -7, 3, 1, 5, 5);
    expect_res(h, 2, -7, 0, 3, 2, 7, 34);
    expect_res(h, 3, 1699999999999LL, 1700000000006LL, 1, 1, 1, 1);
    teardown();

    /* size 7 with offsets 2 and -3 */
    h = setup(FL_TUMBLING_EVENT_TIME, 7, 7, 2, 0);
    start(h);
    push(h, 1, 1, 6);  /* 6 - (4 mod 7) = 2 */
    push(h, 1, 2, 1);  /* 1 - ((-1) mod 7 = 6) = -5 */
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, -5, 2, 1, 1, 2, 2);
    expect_res(h, 1, 2, 9, 1, 1, 1, 1);
    teardown();

    h = setup(FL_TUMBLING_EVENT_TIME, 7, 7, -3, 0);
    start(h);
    push(h, 1, 1, -1); /* -1 - (2 mod 7) = -3 */
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, -3, 4, 1, 1, 1, 1);
    teardown();

    /* days in UTC+8 (offset -8 h) and UTC-8 (offset +8 h) */
    h = setup(FL_TUMBLING_EVENT_TIME, 86400000, 86400000, -28800000, 0);
    start(h);
    push(h, 1, 1, 1700000000000LL);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 1699977600000LL, 1700064000000LL, 1, 1, 1, 1);
    teardown();

    h = setup(FL_TUMBLING_EVENT_TIME, 86400000, 86400000, 28800000, 0);
    start(h);
    push(h, 1, 1, 1700000000000LL);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 1699948800000LL, 1700035200000LL, 1, 1, 1, 1);
}
END_TEST

START_TEST(test_sliding)
{
    /* size 10 slide 5: ts 7 is in [0, 10) and [5, 15) */
    harness *h = setup(FL_SLIDING_EVENT_TIME, 10, 5, 0, 0);
    start(h);
    push(h, 1, 1, 7);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, 0, 10, 1, 1, 1, 1);
    expect_res(h, 1, 5, 15, 1, 1, 1, 1);
    teardown();

    /* size 10 slide 4 (not a multiple): ts 7 in [0, 10), [4, 14); ts -5 in [-12, -2),
     * [-8, 2) */
    h = setup(FL_SLIDING_EVENT_TIME, 10, 4, 0, 0);
    start(h);
    push(h, 1, 1, 7);
    push(h, 2, 2, -5);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 4);
    expect_res(h, 0, -12, -2, 2, 1, 2, 2);
    expect_res(h, 1, -8, 2, 2, 1, 2, 2);
    expect_res(h, 2, 0, 10, 1, 1, 1, 1);
    expect_res(h, 3, 4, 14, 1, 1, 1, 1);
    teardown();

    /* offset 1: ts 7 in [1, 11), [5, 15) */
    h = setup(FL_SLIDING_EVENT_TIME, 10, 4, 1, 0);
    start(h);
    push(h, 1, 1, 7);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, 1, 11, 1, 1, 1, 1);
    expect_res(h, 1, 5, 15, 1, 1, 1, 1);
    teardown();

    /* offset -1: ts 7 in three windows [-1, 9), [3, 13), [7, 17) */
    h = setup(FL_SLIDING_EVENT_TIME, 10, 4, -1, 0);
    start(h);
    push(h, 1, 1, 7);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, -1, 9, 1, 1, 1, 1);
    expect_res(h, 1, 3, 13, 1, 1, 1, 1);
    expect_res(h, 2, 7, 17, 1, 1, 1, 1);
    teardown();

    /* size 10 slide 3 offset -2, negative ts -1: [-8, 2), [-5, 5), [-2, 8) */
    h = setup(FL_SLIDING_EVENT_TIME, 10, 3, -2, 0);
    start(h);
    push(h, 1, 1, -1);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, -8, 2, 1, 1, 1, 1);
    expect_res(h, 1, -5, 5, 1, 1, 1, 1);
    expect_res(h, 2, -2, 8, 1, 1, 1, 1);
}
END_TEST

/* ---- firing, functions ------------------------------------------------------------- */

START_TEST(test_fires_at_end_minus_one_before_watermark)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    use_reduce(h, NULL);
    start(h);
    push(h, 1, 1, 1);
    push(h, 1, 2, 5);
    push(h, 2, 4, 3);
    push(h, 1, 8, 12);
    wm(h, 8);
    ck_assert_int_eq(h->nout, 0);
    wm(h, 9);
    ck_assert_int_eq(h->nout, 2);
    expect_ev(h, 0, 1, 3, 9);
    expect_ev(h, 1, 2, 4, 9);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_ev(h, 2, 1, 8, 19);
    /* results come before the watermark that fired them */
    expect_trace(h, "wrrwrw");
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
    ck_assert(!has_state(h, 1, 0, 10));
    ck_assert(!has_state(h, 1, 10, 20));
}
END_TEST

START_TEST(test_window_functions)
{
    /* reduce + process */
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    use_reduce(h, "wt_process_reduced");
    start(h);
    push(h, 7, 5, 0);
    push(h, 7, 6, 9);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 7, 1, 11, -1);
    teardown();

    /* aggregate alone: getResult's bytes */
    h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    use_aggregate(h, NULL);
    start(h);
    push(h, 7, 5, 0);
    push(h, 7, 6, 9);
    push(h, 7, 20, 10);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    acc c;
    ck_assert_uint_eq(h->out[0].len, sizeof c);
    memcpy(&c, h->out[0].data, sizeof c);
    ck_assert(c.n == 2 && c.sum == 11 && c.merges == 0);
    ck_assert_int_eq(h->out[0].ts, 9);
    memcpy(&c, h->out[1].data, sizeof c);
    ck_assert(c.n == 1 && c.sum == 20 && c.merges == 0);
    ck_assert_int_eq(h->out[1].ts, 19);
    teardown();

    /* aggregate + process */
    h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    use_aggregate(h, "wt_process_agg");
    start(h);
    push(h, 7, 5, 0);
    push(h, 7, 6, 9);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 7, 2, 11, 0);
}
END_TEST

START_TEST(test_window_all)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    h->win.all = true;
    h->key.len = 0;
    start(h);
    push(h, 1, 1, 1);
    push(h, 2, 2, 2);
    push(h, 3, 3, 3);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 0xffffffffu, 3, 6, 123);
}
END_TEST

START_TEST(test_missing_timestamp_fails)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    start(h);
    ev e = {1, 1};
    ck_assert_int_eq(fl_harness_process(h->fh, &e, sizeof e, FL_NO_TIMESTAMP), -1);
    const char *error = fl_harness_error(h->fh);
    ck_assert_msg(strstr(error, "without a timestamp") != NULL, "%s", error);
}
END_TEST

/* ---- sessions ---------------------------------------------------------------------- */

START_TEST(test_session_bridge_merges_lists)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    start(h);
    push(h, 1, 1, 0);  /* [0, 10) */
    push(h, 1, 2, 18); /* [18, 28) */
    push(h, 2, 7, 50); /* another key: [50, 60) */
    wm(h, 5);
    ck_assert_int_eq(h->nout, 0);
    ck_assert(has_state(h, 1, 0, 10));
    ck_assert(has_state(h, 1, 18, 28));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 3);
    push(h, 1, 3, 9); /* [9, 19) touches both: one session [0, 28) */
    ck_assert(!has_state(h, 1, 0, 10));
    ck_assert(!has_state(h, 1, 18, 28));
    ck_assert(has_state(h, 1, 0, 28));
    /* the merged windows' timers went; the merged one's is there */
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 2);
    wm(h, 26);
    ck_assert_int_eq(h->nout, 0);
    wm(h, 27);
    ck_assert_int_eq(h->nout, 1);
    /* contents: the surviving (earliest) session's, the merged one's, then the new element */
    expect_res(h, 0, 0, 28, 1, 3, 6, 123);
    ck_assert(!has_state(h, 1, 0, 28));
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 1, 50, 60, 2, 1, 7, 7);
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
}
END_TEST

START_TEST(test_session_touching_and_separate)
{
    /* As Flink's TimeWindow.intersects: [0, 10) and [10, 20) touch, so they merge;
     * [0, 10) and [11, 21) stay apart. */
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    start(h);
    push(h, 1, 1, 0);
    push(h, 1, 2, 10);
    push(h, 2, 3, 0);
    push(h, 2, 4, 11);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, 0, 10, 2, 1, 3, 3);
    expect_res(h, 1, 0, 20, 1, 2, 3, 12);
    expect_res(h, 2, 11, 21, 2, 1, 4, 4);
}
END_TEST

START_TEST(test_session_chain_of_merges)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    start(h);
    push(h, 1, 1, 0);  /* [0, 10) */
    push(h, 1, 2, 12); /* [12, 22) */
    push(h, 1, 3, 24); /* [24, 34) */
    push(h, 1, 4, 10); /* [10, 20) joins the first two: [0, 22) */
    ck_assert(has_state(h, 1, 0, 22));
    ck_assert(has_state(h, 1, 24, 34));
    push(h, 1, 5, 14); /* [14, 24) joins [0, 22) and [24, 34): [0, 34) */
    ck_assert(!has_state(h, 1, 0, 22));
    ck_assert(!has_state(h, 1, 24, 34));
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 34, 1, 5, 15, 12435);
}
END_TEST

START_TEST(test_session_merge_aggregate_and_reduce)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    use_aggregate(h, "wt_process_agg");
    start(h);
    push(h, 1, 1, 0);
    push(h, 1, 2, 18);
    push(h, 1, 4, 9);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    /* {1, 1, 0} merged with {1, 2, 0}: {2, 3, 1}; then add 4 */
    expect_res(h, 0, 0, 28, 1, 3, 7, 1);
    teardown();

    h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    use_reduce(h, NULL);
    start(h);
    push(h, 1, 1, 0);
    push(h, 1, 2, 18);
    push(h, 1, 4, 9);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 1);
    expect_ev(h, 0, 1, 7, 27);
}
END_TEST

START_TEST(test_session_count_trigger_merges_counts)
{
    harness *h = setup(FL_EVENT_TIME_SESSION, 0, 0, 0, 10);
    h->win.trigger = 1;
    h->win.trigger_count = 3;
    start(h);
    push(h, 1, 1, 0);
    push(h, 1, 2, 18);
    ck_assert_int_eq(h->nout, 0);
    push(h, 1, 3, 9); /* counts 1 + 1 merged, + 1: the third element fires */
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 28, 1, 3, 6, 123);
    wm(h, FL_WATERMARK_MAX); /* a count trigger does not fire on time; clean-up at 27 */
    ck_assert_int_eq(h->nout, 1);
    ck_assert(!has_state(h, 1, 0, 28));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
}
END_TEST

/* ---- triggers ---------------------------------------------------------------------- */

START_TEST(test_custom_trigger_results)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 10, 10, 0, 0);
    h->win.trigger = 2;
    h->win.trigger_on_element = "wt_trig_element";
    h->win.trigger_on_event_time = "wt_trig_event";
    h->win.trigger_clear = "wt_trig_clear";
    start(h);
    push(h, 1, 1, 1); /* CONTINUE */
    ck_assert_int_eq(h->nout, 0);
    push(h, 1, 102, 2); /* FIRE: 1, 2 */
    ck_assert_int_eq(h->nout, 1);
    expect_res(h, 0, 0, 10, 1, 2, 3, 12);
    push(h, 1, 4, 3); /* CONTINUE */
    push(h, 1, 308, 4); /* FIRE_AND_PURGE: 1, 2, 4, 8, then empty */
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 1, 0, 10, 1, 4, 15, 1248);
    push(h, 1, 16, 5); /* CONTINUE */
    push(h, 1, 232, 6); /* PURGE: nothing emitted, 16 and 32 gone */
    ck_assert_int_eq(h->nout, 2);
    push(h, 1, 64, 7); /* CONTINUE */
    ck_assert(has_state(h, 1, 0, 10));
    wm(h, 9); /* the trigger's timer: FIRE with what is left */
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 2, 0, 10, 1, 1, 64, 4);
    /* the clean-up (same time, no lateness) ran the trigger's clear: nothing remains */
    ck_assert(!has_state(h, 1, 0, 10));
    ck_assert_uint_eq(fl_timers_count(h->op->timers), 0);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 3);
}
END_TEST

START_TEST(test_count_trigger_on_time_window)
{
    harness *h = setup(FL_TUMBLING_EVENT_TIME, 100, 100, 0, 0);
    h->win.trigger = 1;
    h->win.trigger_count = 3;
    start(h);
    for (int i = 1; i <= 7; i++)
        push(h, 1, i, i);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, 0, 100, 1, 3, 6, 123);
    expect_res(h, 1, 0, 100, 1, 6, 21, 123456); /* FIRE keeps the contents */
    wm(h, 99);                                   /* no time firing; the clean-up clears */
    ck_assert_int_eq(h->nout, 2);
    ck_assert(!has_state(h, 1, 0, 100));
}
END_TEST

START_TEST(test_count_windows)
{
    /* countWindow(3): global windows, fire and purge every 3 */
    harness *h = setup(FL_GLOBAL_WINDOWS, 0, 0, 0, 0);
    h->win.trigger = 1;
    h->win.trigger_count = 3;
    h->win.purge_on_fire = true;
    start(h);
    for (int i = 1; i <= 7; i++)
        push(h, 1, i, FL_NO_TIMESTAMP);
    wm(h, FL_WATERMARK_MAX);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, INT64_MIN, INT64_MAX, 1, 3, 6, 123);
    expect_res(h, 1, INT64_MIN, INT64_MAX, 1, 3, 15, 456);
    teardown();

    /* countWindow(3, 2): the last 3 elements every 2 (CountEvictor + CountTrigger) */
    h = setup(FL_GLOBAL_WINDOWS, 0, 0, 0, 0);
    h->win.trigger = 1;
    h->win.trigger_count = 2;
    h->win.evictor_count = 3;
    start(h);
    for (int i = 1; i <= 7; i++)
        push(h, 1, i, FL_NO_TIMESTAMP);
    ck_assert_int_eq(h->nout, 3);
    expect_res(h, 0, INT64_MIN, INT64_MAX, 1, 2, 3, 12);
    expect_res(h, 1, INT64_MIN, INT64_MAX, 1, 3, 9, 234);
    expect_res(h, 2, INT64_MIN, INT64_MAX, 1, 3, 15, 456);
    teardown();

    /* the same with reduce: the kept elements are folded at firing */
    h = setup(FL_GLOBAL_WINDOWS, 0, 0, 0, 0);
    h->win.trigger = 1;
    h->win.trigger_count = 2;
    h->win.evictor_count = 3;
    use_reduce(h, NULL);
    start(h);
    for (int i = 1; i <= 6; i++)
        push(h, 1, i, FL_NO_TIMESTAMP);
    ck_assert_int_eq(h->nout, 3);
    expect_ev(h, 0, 1, 3, INT64_MAX);
    expect_ev(h, 1, 1, 9, INT64_MAX);
    expect_ev(h, 2, 1, 15, INT64_MAX);
    teardown();

    /* and aggregate + process with an evictor of 2 */
    h = setup(FL_GLOBAL_WINDOWS, 0, 0, 0, 0);
    h->win.trigger = 1;
    h->win.trigger_count = 3;
    h->win.evictor_count = 2;
    use_aggregate(h, "wt_process_agg");
    start(h);
    for (int i = 1; i <= 6; i++)
        push(h, 1, i, FL_NO_TIMESTAMP);
    ck_assert_int_eq(h->nout, 2);
    expect_res(h, 0, INT64_MIN, INT64_MAX, 1, 2, 5, 0);
    expect_res(h, 1, INT64_MIN, INT64_MAX, 1, 2, 11, 0);
}
END_TEST

static Suite *windows_suite(void)
{
    Suite *s = suite_create("windows");
    TCase *tc = tcase_create("assign");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_tumbling_no_offset_negative_ts);
    tcase_add_test(tc, test_tumbling_offsets);
    tcase_add_test(tc, test_tumbling_sizes_not_dividing_epoch);
    tcase_add_test(tc, test_sliding);
    suite_add_tcase(s, tc);
    tc = tcase_create("functions");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_fires_at_end_minus_one_before_watermark);
    tcase_add_test(tc, test_window_functions);
    tcase_add_test(tc, test_window_all);
    tcase_add_test(tc, test_missing_timestamp_fails);
    suite_add_tcase(s, tc);
    tc = tcase_create("sessions");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_session_bridge_merges_lists);
    tcase_add_test(tc, test_session_touching_and_separate);
    tcase_add_test(tc, test_session_chain_of_merges);
    tcase_add_test(tc, test_session_merge_aggregate_and_reduce);
    tcase_add_test(tc, test_session_count_trigger_merges_counts);
    suite_add_tcase(s, tc);
    tc = tcase_create("triggers");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_custom_trigger_results);
    tcase_add_test(tc, test_count_trigger_on_time_window);
    tcase_add_test(tc, test_count_windows);
    suite_add_tcase(s, tc);
    /* the same paths on RocksDB: values from get live only until the next get */
    tc = tcase_create("rocksdb");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, rocksdb_on, teardown);
    tcase_add_test(tc, test_fires_at_end_minus_one_before_watermark);
    tcase_add_test(tc, test_window_functions);
    tcase_add_test(tc, test_session_bridge_merges_lists);
    tcase_add_test(tc, test_session_chain_of_merges);
    tcase_add_test(tc, test_session_merge_aggregate_and_reduce);
    tcase_add_test(tc, test_session_count_trigger_merges_counts);
    tcase_add_test(tc, test_custom_trigger_results);
    tcase_add_test(tc, test_count_windows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_ERROR);
    return tu_run(windows_suite());
}
