/* check_timers.c -- unit tests of taskmanager/chain/timers.c, the keyed operators' timer
 * service: random registrations, deletions (and registrations again after a deletion) and
 * pops in both time domains against a plain reference (an array of live timers): a timer
 * fires once, at or after nothing earlier is live, never after its deletion; snapshots
 * restore the live timers per key group.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "taskmanager/chain/timers.h"
#include "testutil.h"

#define NKEYS 40
#define NTIMES 30

/* The reference: live[domain][key][time]. */
static bool live[2][NKEYS][NTIMES];

static int ref_earliest(int d, int64_t *time)
{
    for (int t = 0; t < NTIMES; t++)
        for (int k = 0; k < NKEYS; k++)
            if (live[d][k][t]) {
                *time = t;
                return 1;
            }
    return 0;
}

static uint32_t ref_count(void)
{
    uint32_t n = 0;
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < NKEYS; k++)
            for (int t = 0; t < NTIMES; t++)
                n += live[d][k][t];
    return n;
}

static void key_of(int k, char *buf, uint32_t *len)
{
    *len = (uint32_t)snprintf(buf, 16, "key%d", k);
}

/* The key index of a popped timer (its key bytes are not NUL-terminated). */
static int key_index(const fl_timer *t)
{
    char buf[16] = {0};
    memcpy(buf, t->key, t->klen < sizeof buf - 1 ? t->klen : sizeof buf - 1);
    return atoi(buf + 3);
}

/* Pops every timer of domain d up to limit and checks each against the reference. */
static void pop_until(fl_timers *ts, int d, int64_t limit)
{
    fl_timer t;
    int64_t last = INT64_MIN;
    while (fl_timers_pop(ts, d, limit, &t)) {
        int k = key_index(&t);
        ck_assert_int_eq(t.domain, d);
        ck_assert_int_le(t.time, limit);
        ck_assert_int_ge(t.time, last);
        ck_assert_msg(live[d][k][t.time], "timer %d/%d/%lld fired but is not live", d, k,
                      (long long)t.time);
        int64_t earliest;
        ck_assert(ref_earliest(d, &earliest));
        ck_assert_int_eq(t.time, earliest);
        ck_assert_uint_eq(t.nslen, 2);
        ck_assert(!memcmp(t.ns, "ns", 2));
        ck_assert_int_eq(t.kg, k % 7);
        live[d][k][t.time] = false;
        last = t.time;
    }
    int64_t earliest;
    if (ref_earliest(d, &earliest))
        ck_assert_int_gt(earliest, limit);
    ck_assert_int_eq(fl_timers_next(ts, d), ref_earliest(d, &earliest) ? earliest : INT64_MAX);
}

START_TEST(test_random_register_delete_pop)
{
    fl_timers *ts = fl_timers_new();
    memset(live, 0, sizeof live);
    unsigned seed = 4242;
    char key[16];
    uint32_t klen;
    int64_t wm[2] = {-1, -1};
    for (int i = 0; i < 200000; i++) {
        int d = rand_r(&seed) % 2, k = rand_r(&seed) % NKEYS;
        int64_t t = wm[d] + 1 + rand_r(&seed) % 8;
        if (t >= NTIMES) { /* a new round: everything fires, time starts over */
            pop_until(ts, d, NTIMES);
            wm[d] = -1;
            continue;
        }
        key_of(k, key, &klen);
        int op = rand_r(&seed) % 10;
        if (op < 5) {
            fl_timers_register(ts, d, t, key, klen, k % 7, "ns", 2);
            live[d][k][t] = true;
        } else if (op < 8) {
            fl_timers_delete(ts, d, t, key, klen, "ns", 2);
            live[d][k][t] = false;
        } else {
            wm[d] += rand_r(&seed) % 3;
            pop_until(ts, d, wm[d]);
        }
        if (i % 1000 == 0)
            ck_assert_uint_eq(fl_timers_count(ts), ref_count());
    }
    pop_until(ts, 0, NTIMES);
    pop_until(ts, 1, NTIMES);
    ck_assert_uint_eq(fl_timers_count(ts), 0);
    fl_timers_free(ts);
}
END_TEST

/* Deleted then registered again: fires once. */
START_TEST(test_register_again_after_delete_fires_once)
{
    fl_timers *ts = fl_timers_new();
    fl_timer t;
    fl_timers_register(ts, FL_TIMER_EVENT, 10, "a", 1, 0, "", 0);
    fl_timers_delete(ts, FL_TIMER_EVENT, 10, "a", 1, "", 0);
    fl_timers_register(ts, FL_TIMER_EVENT, 10, "a", 1, 0, "", 0);
    fl_timers_register(ts, FL_TIMER_EVENT, 10, "a", 1, 0, "", 0); /* a no-op */
    ck_assert(fl_timers_pop(ts, FL_TIMER_EVENT, 100, &t));
    ck_assert_int_eq(t.time, 10);
    ck_assert(!fl_timers_pop(ts, FL_TIMER_EVENT, 100, &t));
    ck_assert_int_eq(fl_timers_next(ts, FL_TIMER_EVENT), INT64_MAX);
    fl_timers_free(ts);
}
END_TEST

/* Timers pop by time and, within a time, in registration order (Flink's queue order),
 * whatever order the times were registered in. */
START_TEST(test_order_by_time_then_registration)
{
    fl_timers *ts = fl_timers_new();
    int64_t times[] = {50, 20, 50, 10, 20, 50, 5, 10, 70, 20};
    int n = (int)(sizeof times / sizeof times[0]);
    char key[16];
    uint32_t klen;
    for (int i = 0; i < n; i++) {
        key_of(i, key, &klen);
        fl_timers_register(ts, FL_TIMER_EVENT, times[i], key, klen, 0, "", 0);
    }
    /* the expected order, computed here: stable sort of the indices by time */
    int order[16];
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && times[order[k - 1]] > times[order[k]]; k--) {
            int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    fl_timer t;
    for (int i = 0; i < n; i++) {
        ck_assert(fl_timers_pop(ts, FL_TIMER_EVENT, 100, &t));
        ck_assert_int_eq(t.time, times[order[i]]);
        ck_assert_int_eq(key_index(&t), order[i]);
        if (i == 2) /* registered while popping: after the queued ones of its time */
            fl_timers_register(ts, FL_TIMER_EVENT, 70, "key99", 5, 0, "", 0);
    }
    ck_assert(fl_timers_pop(ts, FL_TIMER_EVENT, 100, &t));
    ck_assert_int_eq(t.time, 70);
    ck_assert_int_eq(key_index(&t), 99);
    ck_assert(!fl_timers_pop(ts, FL_TIMER_EVENT, 100, &t));
    fl_timers_free(ts);
}
END_TEST

/* A snapshot restores the live timers of the key groups asked for, deleted ones not. */
START_TEST(test_snapshot_restores_live_timers_per_key_group)
{
    fl_timers *ts = fl_timers_new();
    char key[16];
    uint32_t klen;
    for (int k = 0; k < NKEYS; k++) {
        key_of(k, key, &klen);
        fl_timers_register(ts, FL_TIMER_EVENT, k, key, klen, k % 4, "ns", 2);
        if (k % 5 == 0)
            fl_timers_delete(ts, FL_TIMER_EVENT, k, key, klen, "ns", 2);
    }
    uint8_t *snap;
    size_t len;
    fl_timers_serialize(ts, &snap, &len);
    fl_timers *r = fl_timers_new();
    ck_assert_int_eq(fl_timers_restore(r, snap, len, 1, 2), 0);
    fl_timer t;
    int n = 0;
    while (fl_timers_pop(r, FL_TIMER_EVENT, INT64_MAX, &t)) {
        int k = key_index(&t);
        ck_assert_int_eq(t.time, k);
        ck_assert(k % 4 == 1 || k % 4 == 2);
        ck_assert(k % 5 != 0);
        n++;
    }
    int want = 0;
    for (int k = 0; k < NKEYS; k++)
        want += (k % 4 == 1 || k % 4 == 2) && k % 5 != 0;
    ck_assert_int_eq(n, want);
    ck_assert_int_eq(fl_timers_restore(r, snap, len / 2, 0, 3), -1); /* truncated */
    free(snap);
    fl_timers_free(r);
    fl_timers_free(ts);
}
END_TEST

static Suite *timers_suite(void)
{
    Suite *s = suite_create("timers");
    TCase *tc = tcase_create("timers");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_random_register_delete_pop);
    tcase_add_test(tc, test_register_again_after_delete_fires_once);
    tcase_add_test(tc, test_order_by_time_then_registration);
    tcase_add_test(tc, test_snapshot_restores_live_timers_per_key_group);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(timers_suite());
}
