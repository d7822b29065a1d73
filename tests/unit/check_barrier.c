/* check_barrier.c -- unit tests of barrier alignment (taskmanager/task/barrier.c), the
 * protocol of taskmanager/task/README.md, with the task's actions replaced by a recorder:
 * each test feeds barriers and ends of partition on (gate, channel) and checks what the
 * aligner had the task do (block, unblock, checkpoint, start or finish an unaligned one,
 * decline), in order, and the state of every channel afterwards.
 *
 * Covered: aligned exactly once (channels held until all barriers came, then one
 * checkpoint and every channel released) and at least once (nothing held); the end of a
 * partition during an alignment (it counts as arrived) and before one (not waited for);
 * a newer barrier cancelling an unfinished alignment (declined, released) and an older one
 * ignored; unaligned barriers (at once, the other channels recorded until their barrier
 * or end); the switch of an alignment to unaligned on aligned-checkpoint-timeout (held
 * channels go on and are not recorded); a declined unaligned start; a savepoint's aligned
 * barrier overtaking an unaligned checkpoint still recording; a newer unaligned barrier
 * during a recording; triggers at a source; corrupt barriers and the barrier's encoding.
 * Expected actions are written out by hand from the protocol, never computed by the code
 * under test.
 */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "taskmanager/network/network.h"
#include "taskmanager/task/barrier.h"
#include "testutil.h"

/* ---- the recorder ------------------------------------------------------------------ */

typedef struct rec {
    char log[2048];           /* "b0.1 u0.1 C5 S6 F D5 " ... */
    bool refuse_unaligned;    /* start_unaligned declines */
} rec;

static void say(void *arg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(void *arg, const char *fmt, ...)
{
    rec *r = arg;
    size_t n = strlen(r->log);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->log + n, sizeof r->log - n, fmt, ap);
    va_end(ap);
}

static void act_block(void *arg, int g, int c)
{
    say(arg, "b%d.%d ", g, c);
}

static void act_unblock(void *arg, int g, int c)
{
    say(arg, "u%d.%d ", g, c);
}

static void act_checkpoint(void *arg, const fl_ckpt_request *r)
{
    say(arg, "C%lld ", (long long)r->id);
}

static bool act_start_unaligned(void *arg, const fl_ckpt_request *r)
{
    rec *x = arg;
    ck_assert(r->unaligned);
    say(x, "%c%lld ", x->refuse_unaligned ? 'X' : 'S', (long long)r->id);
    return !x->refuse_unaligned;
}

static void act_finish_unaligned(void *arg)
{
    say(arg, "F ");
}

static void act_decline(void *arg, int64_t id, const char *why)
{
    ck_assert(why && *why);
    say(arg, "D%lld ", (long long)id);
}

static const fl_aligner_ops recorder = {
    .block = act_block,
    .unblock = act_unblock,
    .checkpoint = act_checkpoint,
    .start_unaligned = act_start_unaligned,
    .finish_unaligned = act_finish_unaligned,
    .decline = act_decline,
};

static rec R;
static fl_aligner A;

/* Two gates: gate 0 with 2 channels, gate 1 with 1. */
static void setup2x(int64_t timeout_ms)
{
    int n[2] = {2, 1};
    memset(&R, 0, sizeof R);
    fl_aligner_init(&A, &recorder, &R, "test (1/1)", 2, n, timeout_ms);
}

static void setup(void)
{
    setup2x(0);
}

static void teardown(void)
{
    fl_aligner_free(&A);
}

static void expect(const char *log)
{
    ck_assert_str_eq(R.log, log);
    R.log[0] = '\0';
}

/* A barrier of checkpoint id (flags as fl_barrier_encode's) on (g, c). */
static void barrier(int g, int c, int64_t id, bool exactly_once, bool unaligned,
                    bool savepoint)
{
    fl_ckpt_request r = {.id = id, .ts = 1000 + id, .exactly_once = exactly_once,
                         .unaligned = unaligned, .savepoint = savepoint};
    snprintf(r.dir, sizeof r.dir, "/ck/chk-%lld", (long long)id);
    snprintf(r.shared_dir, sizeof r.shared_dir, "/ck/shared");
    uint8_t buf[FL_EVENT_MAX_PAYLOAD];
    uint32_t len = fl_barrier_encode(&r, buf, sizeof buf);
    ck_assert_uint_gt(len, 0);
    ck_assert_int_eq(fl_aligner_on_barrier(&A, g, c, buf, len), 0);
}

static void aligned(int g, int c, int64_t id)
{
    barrier(g, c, id, true, false, false);
}

static void chan_is(int g, int c, fl_align_chan s)
{
    ck_assert_msg(A.chan[g][c] == s, "channel %d.%d is %d, expected %d", g, c, A.chan[g][c], s);
}

/* ---- aligned ----------------------------------------------------------------------- */

START_TEST(test_aligned_exactly_once)
{
    aligned(0, 1, 5);
    expect("b0.1 ");
    chan_is(0, 1, FL_ALIGN_BLOCKED);
    chan_is(0, 0, FL_ALIGN_WAITING);
    ck_assert_int_eq(A.id, 5);
    aligned(1, 0, 5);
    expect("b1.0 ");
    aligned(0, 0, 5); /* the last: every held channel goes on, then the snapshot */
    expect("b0.0 u0.0 u0.1 u1.0 C5 ");
    for (int c = 0; c < 2; c++)
        chan_is(0, c, FL_ALIGN_WAITING);
    chan_is(1, 0, FL_ALIGN_WAITING);
    ck_assert_int_eq(A.id, 0);
    ck_assert_int_eq(A.last, 5);
    /* the next checkpoint aligns afresh; a late duplicate of 5 is ignored */
    aligned(0, 0, 5);
    expect("");
    aligned(0, 0, 6);
    expect("b0.0 ");
    ck_assert_int_eq(A.id, 6);
}
END_TEST

START_TEST(test_aligned_at_least_once)
{
    barrier(0, 0, 3, false, false, false);
    barrier(1, 0, 3, false, false, false);
    expect("");
    chan_is(0, 0, FL_ALIGN_ARRIVED);
    barrier(0, 1, 3, false, false, false);
    expect("C3 ");
    chan_is(0, 0, FL_ALIGN_WAITING);
    ck_assert_int_eq(A.id, 0);
}
END_TEST

START_TEST(test_end_of_partition_counts_as_arrived)
{
    aligned(0, 0, 7);
    expect("b0.0 ");
    fl_aligner_on_end(&A, 1, 0); /* nothing more will come from it */
    expect("");
    chan_is(1, 0, FL_ALIGN_FINISHED);
    fl_aligner_on_end(&A, 0, 1);
    expect("u0.0 C7 ");
    chan_is(0, 0, FL_ALIGN_WAITING);
    chan_is(0, 1, FL_ALIGN_FINISHED);
    /* the next alignment waits for the one channel still open */
    aligned(0, 0, 8);
    expect("b0.0 u0.0 C8 ");
    ck_assert_int_eq(A.last, 8);
}
END_TEST

START_TEST(test_end_before_any_barrier)
{
    fl_aligner_on_end(&A, 0, 0);
    fl_aligner_on_end(&A, 1, 0);
    expect("");
    aligned(0, 1, 2); /* the only open channel: aligned at once */
    expect("b0.1 u0.1 C2 ");
    /* an end of a channel that delivered the barrier changes no count */
    aligned(0, 1, 3);
    expect("b0.1 u0.1 C3 ");
}
END_TEST

/* ---- cancellation ------------------------------------------------------------------ */

START_TEST(test_newer_barrier_cancels_alignment)
{
    aligned(0, 0, 4);
    aligned(1, 0, 4);
    expect("b0.0 b1.0 ");
    aligned(0, 1, 5); /* 4 given up: declined, its held channels released */
    expect("D4 u0.0 u1.0 b0.1 ");
    ck_assert_int_eq(A.last, 4);
    ck_assert_int_eq(A.id, 5);
    chan_is(0, 0, FL_ALIGN_WAITING);
    aligned(0, 0, 4); /* the rest of 4's barriers are ignored */
    aligned(1, 0, 4);
    expect("");
    aligned(0, 0, 5);
    aligned(1, 0, 5);
    expect("b0.0 b1.0 u0.0 u0.1 u1.0 C5 ");
}
END_TEST

START_TEST(test_older_barrier_ignored)
{
    aligned(0, 0, 9);
    aligned(1, 0, 9);
    aligned(0, 1, 9);
    expect("b0.0 b1.0 b0.1 u0.0 u0.1 u1.0 C9 ");
    aligned(0, 0, 8);
    aligned(0, 1, 9);
    expect("");
    ck_assert_int_eq(A.id, 0);
}
END_TEST

START_TEST(test_corrupt_barrier)
{
    uint8_t junk[30] = {0};
    ck_assert_int_eq(fl_aligner_on_barrier(&A, 0, 0, junk, 10), -1);
    ck_assert_int_eq(fl_aligner_on_barrier(&A, 0, 0, junk, sizeof junk), -1); /* id 0 */
    int64_t id = 3;
    memcpy(junk, &id, 8);
    uint16_t n1 = 2000; /* a directory longer than the payload */
    memcpy(junk + 17, &n1, 2);
    ck_assert_int_eq(fl_aligner_on_barrier(&A, 0, 0, junk, sizeof junk), -1);
    expect("");
}
END_TEST

/* ---- unaligned --------------------------------------------------------------------- */

START_TEST(test_unaligned_records_until_barriers)
{
    barrier(0, 1, 6, true, true, false);
    expect("S6 ");
    chan_is(0, 1, FL_ALIGN_ARRIVED);
    chan_is(0, 0, FL_ALIGN_RECORDING);
    chan_is(1, 0, FL_ALIGN_RECORDING);
    ck_assert(fl_aligner_is_recording(&A, 0, 0));
    ck_assert(!fl_aligner_is_recording(&A, 0, 1));
    ck_assert_int_eq(A.recording, 2);
    barrier(1, 0, 6, true, true, false);
    expect("");
    ck_assert(!fl_aligner_is_recording(&A, 1, 0));
    fl_aligner_on_end(&A, 0, 0); /* an end completes the channel's state too */
    expect("F ");
    ck_assert_int_eq(A.recording, 0);
    ck_assert_int_eq(A.id, 0);
    ck_assert_int_eq(A.unaligned_id, 0);
    chan_is(0, 1, FL_ALIGN_WAITING);
    chan_is(0, 0, FL_ALIGN_FINISHED);
    ck_assert_int_eq(A.last, 6);
}
END_TEST

START_TEST(test_unaligned_single_channel)
{
    fl_aligner_on_end(&A, 0, 0);
    fl_aligner_on_end(&A, 1, 0);
    barrier(0, 1, 2, true, true, false); /* nothing else to record: complete at once */
    expect("S2 F ");
    chan_is(0, 1, FL_ALIGN_WAITING);
}
END_TEST

START_TEST(test_unaligned_declined)
{
    R.refuse_unaligned = true;
    barrier(0, 0, 3, true, true, false);
    expect("X3 ");
    ck_assert_int_eq(A.recording, 0);
    ck_assert_int_eq(A.last, 3);
    chan_is(0, 0, FL_ALIGN_WAITING);
    chan_is(0, 1, FL_ALIGN_WAITING);
    barrier(0, 1, 3, true, true, false); /* its other barriers: ignored */
    expect("");
}
END_TEST

START_TEST(test_newer_unaligned_restarts_recording)
{
    barrier(0, 0, 4, true, true, false);
    expect("S4 ");
    barrier(0, 1, 4, true, true, false);
    expect("");
    /* 5 overtakes 4 (the task gives 4 up when it starts 5): every other channel records
     * again, the one that had delivered 4's barrier too */
    barrier(1, 0, 5, true, true, false);
    expect("S5 ");
    chan_is(0, 0, FL_ALIGN_RECORDING);
    chan_is(0, 1, FL_ALIGN_RECORDING);
    chan_is(1, 0, FL_ALIGN_ARRIVED);
    ck_assert_int_eq(A.recording, 2);
    barrier(0, 0, 5, true, true, false);
    barrier(0, 1, 5, true, true, false);
    expect("F ");
}
END_TEST

START_TEST(test_savepoint_overtakes_recording)
{
    barrier(0, 0, 7, true, true, false);
    expect("S7 ");
    /* savepoints are aligned: 8's barrier gives the recording of 7 up and aligns */
    barrier(0, 0, 8, true, false, true);
    expect("D7 b0.0 ");
    ck_assert_int_eq(A.unaligned_id, 0);
    ck_assert_int_eq(A.recording, 0);
    ck_assert(!fl_aligner_is_recording(&A, 0, 1));
    barrier(0, 1, 7, true, true, false); /* 7's late barriers change nothing */
    barrier(1, 0, 7, true, true, false);
    expect("");
    aligned(0, 1, 8);
    aligned(1, 0, 8);
    expect("b0.1 b1.0 u0.0 u0.1 u1.0 C8 ");
}
END_TEST

START_TEST(test_timeout_switches_to_unaligned)
{
    teardown();
    setup2x(100);
    aligned(0, 0, 5);
    expect("b0.0 ");
    int64_t t0 = A.start_ns;
    fl_aligner_check_timeout(&A, t0 + 50 * 1000000LL);
    expect("");
    tu_log_capture();
    fl_aligner_check_timeout(&A, t0 + 101 * 1000000LL);
    char *log = tu_log_text();
    ck_assert_msg(strstr(log, "alignment of checkpoint 5 exceeded 100 ms") != NULL, "%s", log);
    free(log);
    tu_log_release();
    /* the snapshot now; the held channel goes on and is not recorded: its barrier came */
    expect("S5 u0.0 ");
    chan_is(0, 0, FL_ALIGN_ARRIVED);
    chan_is(0, 1, FL_ALIGN_RECORDING);
    chan_is(1, 0, FL_ALIGN_RECORDING);
    fl_aligner_check_timeout(&A, t0 + 500 * 1000000LL); /* once */
    expect("");
    aligned(0, 1, 5); /* the rest of the barriers come as they were sent: aligned */
    aligned(1, 0, 5);
    expect("F ");
    ck_assert_int_eq(A.id, 0);
}
END_TEST

START_TEST(test_no_timeout_without_unaligned)
{
    aligned(0, 0, 5);
    fl_aligner_check_timeout(&A, A.start_ns + 3600 * 1000000000LL);
    expect("b0.0 ");
}
END_TEST

/* ---- triggers (sources) -------------------------------------------------------------- */

START_TEST(test_trigger_at_source)
{
    teardown();
    fl_aligner_init(&A, &recorder, &R, "source (1/1)", 0, NULL, 0);
    fl_ckpt_request r = {.id = 3, .exactly_once = true};
    fl_aligner_trigger(&A, &r);
    expect("C3 ");
    ck_assert_int_eq(A.last, 3);
    r.id = 4;
    r.unaligned = true;
    fl_aligner_trigger(&A, &r);
    expect("S4 F ");
    ck_assert_int_eq(A.last, 4);
}
END_TEST

/* ---- the barrier in the stream ------------------------------------------------------- */

START_TEST(test_barrier_encoding)
{
    fl_ckpt_request r = {.id = 42, .ts = 1700000000000, .savepoint = true, .exactly_once = true,
                         .unaligned = false}, d;
    snprintf(r.dir, sizeof r.dir, "/data/sp/savepoint-1");
    snprintf(r.shared_dir, sizeof r.shared_dir, "/data/ck/job/shared");
    uint8_t buf[FL_EVENT_MAX_PAYLOAD];
    uint32_t len = fl_barrier_encode(&r, buf, sizeof buf);
    ck_assert_uint_eq(len, 21 + strlen(r.dir) + strlen(r.shared_dir));
    ck_assert(fl_barrier_decode(buf, len, &d));
    ck_assert_int_eq(d.id, 42);
    ck_assert_int_eq(d.ts, 1700000000000);
    ck_assert(d.savepoint && d.exactly_once && !d.unaligned);
    ck_assert_str_eq(d.dir, r.dir);
    ck_assert_str_eq(d.shared_dir, r.shared_dir);
    for (uint32_t cut = 0; cut < len; cut++) /* every truncation is refused */
        ck_assert(!fl_barrier_decode(buf, cut, &d));
    ck_assert_uint_eq(fl_barrier_encode(&r, buf, 30), 0); /* does not fit: none */
}
END_TEST

static Suite *barrier_suite(void)
{
    Suite *s = suite_create("barrier");
    TCase *tc = tcase_create("aligned");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_aligned_exactly_once);
    tcase_add_test(tc, test_aligned_at_least_once);
    tcase_add_test(tc, test_end_of_partition_counts_as_arrived);
    tcase_add_test(tc, test_end_before_any_barrier);
    suite_add_tcase(s, tc);
    tc = tcase_create("cancel");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_newer_barrier_cancels_alignment);
    tcase_add_test(tc, test_older_barrier_ignored);
    tcase_add_test(tc, test_corrupt_barrier);
    suite_add_tcase(s, tc);
    tc = tcase_create("unaligned");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_unaligned_records_until_barriers);
    tcase_add_test(tc, test_unaligned_single_channel);
    tcase_add_test(tc, test_unaligned_declined);
    tcase_add_test(tc, test_newer_unaligned_restarts_recording);
    tcase_add_test(tc, test_savepoint_overtakes_recording);
    tcase_add_test(tc, test_timeout_switches_to_unaligned);
    tcase_add_test(tc, test_no_timeout_without_unaligned);
    suite_add_tcase(s, tc);
    tc = tcase_create("stream");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_trigger_at_source);
    tcase_add_test(tc, test_barrier_encoding);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(barrier_suite());
}
