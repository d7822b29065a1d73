/* check_mailbox.c -- unit tests of common/mailbox.c: the bare mailbox (posting from many
 * threads, FIFO per poster, close and free semantics, the wake-up fd) and fl_endpoint (mails
 * run on the endpoint's thread, stop runs what was posted before it).
 */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/mailbox.h"
#include "testutil.h"

static void log_setup(void)
{
    tu_log_capture();
}

static void log_teardown(void)
{
    tu_log_release();
}

/* 0 when fd is not readable within timeout_ms, 1 when it is. */
static int readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, timeout_ms);
    ck_assert_int_ge(r, 0);
    return r > 0 && (p.revents & POLLIN);
}

/* ---- many posters ----------------------------------------------------------------- */

#define POSTERS 8
#define PER_POSTER 100000

typedef struct fifo_state {
    int64_t next_seq[POSTERS]; /* owner thread only */
    int64_t total;
    int bad_thread, bad_seq; /* first violation, -1 if none */
    int64_t bad_expected;
} fifo_state;

typedef struct poster {
    fl_mailbox *mb;
    int id;
    pthread_barrier_t *go;
    int refused;
} poster;

/* A mail's argument is (thread << 32 | seq), so posting allocates nothing of the test's. */
static void fifo_mail(void *ctx, void *arg)
{
    fifo_state *st = ctx;
    uint64_t v = (uint64_t)(uintptr_t)arg;
    int t = (int)(v >> 32), seq = (int)(v & 0xffffffffu);
    if (st->bad_thread < 0 && (t < 0 || t >= POSTERS || seq != st->next_seq[t])) {
        st->bad_thread = t;
        st->bad_seq = seq;
        st->bad_expected = t >= 0 && t < POSTERS ? st->next_seq[t] : -1;
    }
    if (t >= 0 && t < POSTERS)
        st->next_seq[t] = seq + 1;
    st->total++;
}

static void *poster_main(void *arg)
{
    poster *p = arg;
    pthread_barrier_wait(p->go);
    for (uint64_t seq = 0; seq < PER_POSTER; seq++) {
        uint64_t v = (uint64_t)p->id << 32 | seq;
        if (fl_mailbox_post(p->mb, fifo_mail, (void *)(uintptr_t)v, NULL) < 0)
            p->refused++;
    }
    return NULL;
}

START_TEST(test_fifo_per_poster_many_threads)
{
    fl_mailbox *mb = fl_mailbox_new();
    ck_assert_ptr_nonnull(mb);
    fifo_state st;
    memset(&st, 0, sizeof st);
    st.bad_thread = -1;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, POSTERS + 1);
    pthread_t th[POSTERS];
    poster ps[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        ps[i] = (poster){.mb = mb, .id = i, .go = &go, .refused = 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, poster_main, &ps[i]), 0);
    }
    pthread_barrier_wait(&go);
    /* The owner: wait on the fd, run what is there, until everything arrived. */
    const int64_t want = (int64_t)POSTERS * PER_POSTER;
    int64_t deadline = tu_now_ms() + 20000;
    int rounds = 0;
    while (st.total < want && tu_now_ms() < deadline) {
        if (readable(fl_mailbox_fd(mb), 1000)) {
            int ran = fl_mailbox_run(mb, &st);
            ck_assert_int_ge(ran, 0);
            rounds++;
        }
    }
    for (int i = 0; i < POSTERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    ck_assert_msg(st.bad_thread < 0, "poster %d: seq %d ran when %lld was due", st.bad_thread,
                  st.bad_seq, (long long)st.bad_expected);
    ck_assert_msg(st.total == want, "%lld of %lld mails ran", (long long)st.total,
                  (long long)want);
    for (int i = 0; i < POSTERS; i++) {
        ck_assert_int_eq(ps[i].refused, 0);
        ck_assert_int_eq(st.next_seq[i], PER_POSTER);
    }
    ck_assert(!fl_mailbox_has_mail(mb));
    ck_assert_int_eq(fl_mailbox_run(mb, &st), 0);
    ck_assert_int_gt(rounds, 0);
    fl_mailbox_free(mb);
}
END_TEST

/* ---- single-thread semantics ------------------------------------------------------ */

typedef struct counts {
    int ran[16];
    int dropped[16];
    int order[16];
    int norder;
    void *ctx_seen;
} counts;

static counts *g_counts; /* the test's counters, for the drop function (no ctx there) */

static void count_mail(void *ctx, void *arg)
{
    counts *c = ctx;
    int i = (int)(intptr_t)arg;
    c->ran[i]++;
    c->order[c->norder++] = i;
    c->ctx_seen = ctx;
}

static void count_drop(void *arg)
{
    g_counts->dropped[(int)(intptr_t)arg]++;
}

START_TEST(test_run_in_post_order_with_ctx)
{
    counts c;
    memset(&c, 0, sizeof c);
    g_counts = &c;
    fl_mailbox *mb = fl_mailbox_new();
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(fl_mailbox_post(mb, count_mail, (void *)(intptr_t)i, count_drop), 0);
    ck_assert(fl_mailbox_has_mail(mb));
    ck_assert_int_eq(fl_mailbox_run(mb, &c), 10);
    ck_assert_int_eq(c.norder, 10);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(c.order[i], i);
        ck_assert_int_eq(c.ran[i], 1);
        ck_assert_int_eq(c.dropped[i], 0);
    }
    ck_assert_ptr_eq(c.ctx_seen, &c);
    ck_assert_int_eq(fl_mailbox_run(mb, &c), 0);
    fl_mailbox_free(mb);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(c.dropped[i], 0); /* ran mails are not dropped again */
}
END_TEST

START_TEST(test_post_to_closed_drops)
{
    counts c;
    memset(&c, 0, sizeof c);
    g_counts = &c;
    fl_mailbox *mb = fl_mailbox_new();
    ck_assert_int_eq(fl_mailbox_post(mb, count_mail, (void *)(intptr_t)1, count_drop), 0);
    fl_mailbox_close(mb);
    ck_assert_int_eq(fl_mailbox_post(mb, count_mail, (void *)(intptr_t)2, count_drop), -1);
    ck_assert_int_eq(c.dropped[2], 1); /* dropped at once, by the poster */
    ck_assert_int_eq(fl_mailbox_post(mb, count_mail, (void *)(intptr_t)3, NULL), -1);
    /* What was queued before the close still runs; the refused ones never do. */
    ck_assert_int_eq(fl_mailbox_run(mb, &c), 1);
    ck_assert_int_eq(c.ran[1], 1);
    ck_assert_int_eq(c.ran[2], 0);
    ck_assert_int_eq(c.ran[3], 0);
    ck_assert_int_eq(c.dropped[1], 0);
    ck_assert_int_eq(c.dropped[2], 1);
    fl_mailbox_free(mb);
    ck_assert_int_eq(c.dropped[2], 1);
}
END_TEST

START_TEST(test_free_drops_pending_once)
{
    counts c;
    memset(&c, 0, sizeof c);
    g_counts = &c;
    fl_mailbox *mb = fl_mailbox_new();
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(fl_mailbox_post(mb, count_mail, (void *)(intptr_t)i,
                                         i == 5 ? NULL : count_drop),
                         0);
    fl_mailbox_free(mb);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(c.dropped[i], 1);
        ck_assert_int_eq(c.ran[i], 0);
    }
    ck_assert_int_eq(c.ran[5], 0);
    fl_mailbox_free(NULL);
}
END_TEST

START_TEST(test_fd_readable_on_post_cleared_by_run)
{
    counts c;
    memset(&c, 0, sizeof c);
    fl_mailbox *mb = fl_mailbox_new();
    int fd = fl_mailbox_fd(mb);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(readable(fd, 0), 0);
    ck_assert(!fl_mailbox_has_mail(mb));
    fl_mailbox_post(mb, count_mail, (void *)(intptr_t)0, NULL);
    ck_assert_int_eq(readable(fd, 1000), 1);
    ck_assert(fl_mailbox_has_mail(mb));
    fl_mailbox_post(mb, count_mail, (void *)(intptr_t)1, NULL);
    ck_assert_int_eq(readable(fd, 0), 1);
    ck_assert_int_eq(fl_mailbox_run(mb, &c), 2);
    ck_assert_int_eq(readable(fd, 0), 0);
    ck_assert(!fl_mailbox_has_mail(mb));
    /* and again: the fd re-arms on the next post */
    fl_mailbox_post(mb, count_mail, (void *)(intptr_t)2, NULL);
    ck_assert_int_eq(readable(fd, 1000), 1);
    ck_assert_int_eq(fl_mailbox_run(mb, &c), 1);
    ck_assert_int_eq(readable(fd, 0), 0);
    fl_mailbox_free(mb);
}
END_TEST

typedef struct late_post {
    fl_mailbox *mb;
    tu_sync sync;
    bool polling;
} late_post;

static void *post_when_polled(void *arg)
{
    late_post *lp = arg;
    TU_WAIT_FOR(&lp->sync, lp->polling, 2000);
    fl_mailbox_post(lp->mb, count_mail, (void *)(intptr_t)4, NULL);
    return NULL;
}

START_TEST(test_fd_wakes_a_blocked_poll)
{
    counts c;
    memset(&c, 0, sizeof c);
    late_post lp = {.mb = fl_mailbox_new(), .polling = false};
    tu_sync_init(&lp.sync);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, post_when_polled, &lp), 0);
    tu_lock(&lp.sync);
    lp.polling = true;
    tu_unlock_signal(&lp.sync);
    int64_t t0 = tu_now_ms();
    ck_assert_int_eq(readable(fl_mailbox_fd(lp.mb), 3000), 1);
    ck_assert_int_lt(tu_now_ms() - t0, 2500);
    pthread_join(th, NULL);
    ck_assert_int_eq(fl_mailbox_run(lp.mb, &c), 1);
    ck_assert_int_eq(c.ran[4], 1);
    fl_mailbox_free(lp.mb);
    tu_sync_destroy(&lp.sync);
}
END_TEST

static fl_mailbox *g_mb;

static void repost_mail(void *ctx, void *arg)
{
    counts *c = ctx;
    c->ran[0]++;
    fl_mailbox_post(g_mb, count_mail, (void *)(intptr_t)1, NULL);
}

START_TEST(test_mail_posted_while_running_waits_for_next_run)
{
    counts c;
    memset(&c, 0, sizeof c);
    g_mb = fl_mailbox_new();
    fl_mailbox_post(g_mb, repost_mail, NULL, NULL);
    ck_assert_int_eq(fl_mailbox_run(g_mb, &c), 1);
    ck_assert_int_eq(c.ran[1], 0);
    /* The mail posted during the run must have re-armed the fd. */
    ck_assert_int_eq(readable(fl_mailbox_fd(g_mb), 0), 1);
    ck_assert(fl_mailbox_has_mail(g_mb));
    ck_assert_int_eq(fl_mailbox_run(g_mb, &c), 1);
    ck_assert_int_eq(c.ran[1], 1);
    ck_assert_int_eq(readable(fl_mailbox_fd(g_mb), 0), 0);
    fl_mailbox_free(g_mb);
}
END_TEST

/* ---- endpoints -------------------------------------------------------------------- */

typedef struct ep_probe {
    tu_sync sync;
    fl_endpoint *ep;
    int ran;
    int in_thread;     /* mails that saw fl_endpoint_in_thread true */
    int not_in_thread; /* ... and false */
    pthread_t thread;
    void *ctx_seen;
    int dropped;
    int order[1000];
} ep_probe;

static void probe_mail(void *ctx, void *arg)
{
    ep_probe *p = arg;
    bool in = fl_endpoint_in_thread(p->ep);
    tu_lock(&p->sync);
    if (in)
        p->in_thread++;
    else
        p->not_in_thread++;
    p->thread = pthread_self();
    p->ctx_seen = ctx;
    p->ran++;
    tu_unlock_signal(&p->sync);
}

static void probe_drop(void *arg)
{
    ep_probe *p = arg;
    tu_lock(&p->sync);
    p->dropped++;
    tu_unlock_signal(&p->sync);
}

START_TEST(test_endpoint_mails_run_on_its_thread)
{
    ep_probe p;
    memset(&p, 0, sizeof p);
    tu_sync_init(&p.sync);
    p.ep = fl_endpoint_new("probe");
    ck_assert_ptr_nonnull(p.ep);
    ck_assert_str_eq(fl_endpoint_name(p.ep), "probe");
    ck_assert_ptr_nonnull(fl_endpoint_base(p.ep));
    int ctx = 0;
    fl_err err = {{0}};
    ck_assert_int_eq(fl_endpoint_start(p.ep, &ctx, &err), 0);
    ck_assert(!fl_endpoint_in_thread(p.ep)); /* the test's thread is not the endpoint's */
    ck_assert_int_eq(fl_endpoint_post(p.ep, probe_mail, &p, probe_drop), 0);
    ck_assert(TU_WAIT_FOR(&p.sync, p.ran == 1, 2000));
    tu_lock(&p.sync);
    ck_assert_int_eq(p.in_thread, 1);
    ck_assert_int_eq(p.not_in_thread, 0);
    ck_assert(!pthread_equal(p.thread, pthread_self()));
    ck_assert_ptr_eq(p.ctx_seen, &ctx);
    tu_unlock(&p.sync);
    fl_endpoint_free(p.ep);
    ck_assert_int_eq(p.dropped, 0);
    tu_sync_destroy(&p.sync);
}
END_TEST

START_TEST(test_endpoint_mail_posted_before_start)
{
    /* Mails may be queued during set-up; they run on the thread once it starts. Many
     * endpoints, because a race between the thread's first mail and start returning
     * shows only sometimes. */
    for (int round = 0; round < 200; round++) {
        ep_probe p;
        memset(&p, 0, sizeof p);
        tu_sync_init(&p.sync);
        p.ep = fl_endpoint_new("early");
        ck_assert_int_eq(fl_endpoint_post(p.ep, probe_mail, &p, probe_drop), 0);
        fl_err err = {{0}};
        ck_assert_int_eq(fl_endpoint_start(p.ep, NULL, &err), 0);
        ck_assert(TU_WAIT_FOR(&p.sync, p.ran == 1, 2000));
        fl_endpoint_free(p.ep);
        ck_assert_msg(p.in_thread == 1, "round %d: fl_endpoint_in_thread false inside a mail",
                      round);
        tu_sync_destroy(&p.sync);
    }
}
END_TEST

static void seq_mail(void *ctx, void *arg)
{
    ep_probe *p = ctx;
    /* Endpoint thread only, and stop joins it: no lock needed for order. */
    if (p->ran < 1000)
        p->order[p->ran] = (int)(intptr_t)arg;
    p->ran++;
    if (fl_endpoint_in_thread(p->ep))
        p->in_thread++;
}

static void block_mail(void *ctx, void *arg)
{
    /* Holds the endpoint until the test has queued everything, so stop finds a backlog. */
    ep_probe *p = ctx;
    TU_WAIT_FOR(&p->sync, p->dropped == -1, 2000);
}

START_TEST(test_endpoint_stop_runs_earlier_mails)
{
    ep_probe p;
    memset(&p, 0, sizeof p);
    tu_sync_init(&p.sync);
    p.ep = fl_endpoint_new("stopper");
    fl_err err = {{0}};
    ck_assert_int_eq(fl_endpoint_start(p.ep, &p, &err), 0);
    ck_assert_int_eq(fl_endpoint_post(p.ep, block_mail, NULL, NULL), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(fl_endpoint_post(p.ep, seq_mail, (void *)(intptr_t)i, NULL), 0);
    tu_lock(&p.sync);
    p.dropped = -1; /* release block_mail */
    tu_unlock_signal(&p.sync);
    fl_endpoint_stop(p.ep);
    ck_assert_int_eq(p.ran, 1000);
    ck_assert_int_eq(p.in_thread, 1000);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(p.order[i], i);
    /* After stop, posts are refused and dropped. */
    p.dropped = 0;
    ck_assert_int_eq(fl_endpoint_post(p.ep, probe_mail, &p, probe_drop), -1);
    ck_assert_int_eq(p.dropped, 1);
    ck_assert(!fl_endpoint_in_thread(p.ep));
    fl_endpoint_stop(p.ep); /* a second stop is harmless */
    fl_endpoint_free(p.ep);
    ck_assert_int_eq(p.ran, 1000);
    tu_sync_destroy(&p.sync);
}
END_TEST

START_TEST(test_endpoint_never_started)
{
    ep_probe p;
    memset(&p, 0, sizeof p);
    tu_sync_init(&p.sync);
    p.ep = fl_endpoint_new("idle");
    ck_assert(!fl_endpoint_in_thread(p.ep));
    ck_assert_int_eq(fl_endpoint_post(p.ep, probe_mail, &p, probe_drop), 0);
    fl_endpoint_stop(p.ep); /* not running: nothing to stop */
    fl_endpoint_free(p.ep);  /* drops the mail that never ran */
    ck_assert_int_eq(p.ran, 0);
    ck_assert_int_eq(p.dropped, 1);
    fl_endpoint_free(NULL);
    tu_sync_destroy(&p.sync);
}
END_TEST

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
    ep_probe *p = arg;
    probe_mail(NULL, p);
}

START_TEST(test_endpoint_base_events_run_on_its_thread)
{
    ep_probe p;
    memset(&p, 0, sizeof p);
    tu_sync_init(&p.sync);
    p.ep = fl_endpoint_new("timer");
    struct event *ev = evtimer_new(fl_endpoint_base(p.ep), timer_fired, &p);
    struct timeval tv = {0, 10000};
    evtimer_add(ev, &tv);
    fl_err err = {{0}};
    ck_assert_int_eq(fl_endpoint_start(p.ep, NULL, &err), 0);
    ck_assert(TU_WAIT_FOR(&p.sync, p.ran == 1, 2000));
    fl_endpoint_stop(p.ep);
    ck_assert_int_eq(p.in_thread, 1);
    event_free(ev);
    fl_endpoint_free(p.ep);
    tu_sync_destroy(&p.sync);
}
END_TEST

static Suite *mailbox_suite(void)
{
    Suite *s = suite_create("mailbox");
    TCase *tc = tcase_create("mailbox");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_set_timeout(tc, 30); /* the 800k-mail test under ASan; it takes ~1 s normally */
    tcase_add_test(tc, test_fifo_per_poster_many_threads);
    tcase_add_test(tc, test_run_in_post_order_with_ctx);
    tcase_add_test(tc, test_post_to_closed_drops);
    tcase_add_test(tc, test_free_drops_pending_once);
    tcase_add_test(tc, test_fd_readable_on_post_cleared_by_run);
    tcase_add_test(tc, test_fd_wakes_a_blocked_poll);
    tcase_add_test(tc, test_mail_posted_while_running_waits_for_next_run);
    suite_add_tcase(s, tc);

    tc = tcase_create("endpoint");
    tcase_add_checked_fixture(tc, log_setup, log_teardown);
    tcase_add_test(tc, test_endpoint_mails_run_on_its_thread);
    tcase_add_test(tc, test_endpoint_mail_posted_before_start);
    tcase_add_test(tc, test_endpoint_stop_runs_earlier_mails);
    tcase_add_test(tc, test_endpoint_never_started);
    tcase_add_test(tc, test_endpoint_base_events_run_on_its_thread);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(mailbox_suite());
}
