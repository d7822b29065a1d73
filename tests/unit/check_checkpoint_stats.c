/* check_checkpoint_stats.c -- unit tests of jobmanager/checkpoint_stats.c (issue 12): the
 * history keeps web.checkpoints.history checkpoints, newest first, and lets go of an
 * evicted checkpoint's per-subtask records (a reference held elsewhere keeps them alive);
 * acknowledgements land in the subtask's slot; a published view shares a finished
 * checkpoint's records and copies one in progress, so later acknowledgements do not reach
 * a view another thread reads; the latest_* copies hold no records.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "jobmanager/checkpoint_internal.h"
#include "testutil.h"

/* A coordinator with only what the statistics use: a history of cap entries. */
static fl_cc *cc_new(int cap)
{
    fl_cc *cc = calloc(1, sizeof *cc);
    cc->hist_cap = cap;
    cc->history = calloc((size_t)cap, sizeof *cc->history);
    return cc;
}

static void cc_free(fl_cc *cc)
{
    for (int i = 0; i < cc->nhist; i++)
        fl_ckpt_subs_unref(cc->history[i].subs);
    free(cc->history);
    free(cc);
}

/* Checkpoint id of 2 vertices at parallelism 2 added IN_PROGRESS. */
static void add(fl_cc *cc, int64_t id)
{
    fl_cc_task tasks[4] = {{.vertex = 0, .subtask = 0}, {.vertex = 0, .subtask = 1},
                           {.vertex = 1, .subtask = 0}, {.vertex = 1, .subtask = 1}};
    pending p = {.id = id, .ts = 1000 * id, .tasks = tasks, .ntasks = 4};
    hist h = {.id = id, .trigger_ts = p.ts, .status = "IN_PROGRESS", .nsub = 4,
              .subs = fl_cc_subs_new(&p, false)};
    fl_cc_history_add(cc, &h);
}

static int refs(const fl_ckpt_subs *s)
{
    return atomic_load(&((fl_ckpt_subs *)s)->refs);
}

START_TEST(history_is_bounded_newest_first)
{
    fl_cc *cc = cc_new(3);
    add(cc, 1);
    fl_ckpt_subs *first = fl_ckpt_subs_ref(cc->history[0].subs); /* as a view would */
    ck_assert_int_eq(refs(first), 2);
    for (int64_t id = 2; id <= 5; id++)
        add(cc, id);
    ck_assert_int_eq(cc->nhist, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(cc->history[i].id, 5 - i);
        ck_assert_int_eq(cc->history[i].subs->id, 5 - i);
    }
    ck_assert_ptr_null(fl_cc_history_find(cc, 1));
    ck_assert_ptr_null(fl_cc_history_find(cc, 2));
    ck_assert_ptr_nonnull(fl_cc_history_find(cc, 3));
    /* checkpoint 1 left the history: only our reference is left (ASan: nothing leaks) */
    ck_assert_int_eq(refs(first), 1);
    ck_assert_int_eq(first->n, 4);
    fl_ckpt_subs_unref(first);
    cc_free(cc);
}
END_TEST

START_TEST(acks_land_in_their_slot)
{
    fl_cc *cc = cc_new(10);
    add(cc, 7);
    hist *h = fl_cc_history_find(cc, 7);
    Fl__Pb__AcknowledgeCheckpoint a = FL__PB__ACKNOWLEDGE_CHECKPOINT__INIT;
    a.state_size = 123;
    a.sync_ms = 4;
    a.async_ms = 5;
    a.alignment_ms = 6;
    a.start_delay_ms = 7;
    a.persisted_bytes = 8;
    fl_cc_stats_ack(h, 2, &a, 7500);
    fl_cc_stats_ack(h, 99, &a, 7500); /* out of range: ignored */
    fl_cc_stats_ack(h, -1, &a, 7500);
    const fl_ckpt_sub *s = &h->subs->s[2];
    ck_assert_int_eq(s->vertex, 1);
    ck_assert_int_eq(s->subtask, 0);
    ck_assert_int_eq(s->ack_ts, 7500);
    ck_assert_int_eq(s->state_size, 123);
    ck_assert_int_eq(s->sync_ms, 4);
    ck_assert_int_eq(s->async_ms, 5);
    ck_assert_int_eq(s->alignment_ms, 6);
    ck_assert_int_eq(s->start_delay_ms, 7);
    ck_assert_int_eq(s->persisted, 8);
    for (int i = 0; i < 4; i++)
        if (i != 2)
            ck_assert_int_eq(h->subs->s[i].ack_ts, 0);
    hist latest;
    fl_cc_set_latest(&latest, h);
    ck_assert_int_eq(latest.id, 7);
    ck_assert_ptr_null(latest.subs);
    cc_free(cc);
}
END_TEST

START_TEST(view_shares_finished_copies_in_progress)
{
    fl_cc *cc = cc_new(10);
    add(cc, 1);
    add(cc, 2);
    fl_cc_history_find(cc, 1)->status = "COMPLETED";
    fl_ckpt_view *v = fl_cc_view(cc);
    ck_assert_int_eq(v->n, 2);
    const fl_ckpt_subs *done = fl_ckpt_view_find(v, 1), *running = fl_ckpt_view_find(v, 2);
    ck_assert_ptr_eq(done, fl_cc_history_find(cc, 1)->subs);
    ck_assert_int_eq(refs(done), 2);
    ck_assert_ptr_ne(running, fl_cc_history_find(cc, 2)->subs);
    ck_assert_int_eq(refs(running), 1);
    ck_assert_ptr_null(fl_ckpt_view_find(v, 3));
    /* an acknowledgement after publication does not reach the copy */
    Fl__Pb__AcknowledgeCheckpoint a = FL__PB__ACKNOWLEDGE_CHECKPOINT__INIT;
    a.state_size = 9;
    fl_cc_stats_ack(fl_cc_history_find(cc, 2), 0, &a, 2500);
    ck_assert_int_eq(running->s[0].ack_ts, 0);
    ck_assert_int_eq(fl_cc_history_find(cc, 2)->subs->s[0].ack_ts, 2500);
    fl_ckpt_view_free(v);
    ck_assert_int_eq(refs(fl_cc_history_find(cc, 1)->subs), 1);
    fl_ckpt_view_free(NULL);
    cc_free(cc);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("checkpoint_stats");
    TCase *tc = tcase_create("history");
    tcase_add_test(tc, history_is_bounded_newest_first);
    tcase_add_test(tc, acks_land_in_their_slot);
    tcase_add_test(tc, view_shares_finished_copies_in_progress);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(stats_suite());
}
