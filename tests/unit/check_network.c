/* check_network.c -- unit tests of the data plane (taskmanager/network): serializer and
 * deserializer (records spanning buffers, huge and empty ones, local and remote), events in
 * order with records, priority events overtaking queued data, buffer recycling, channel
 * blocking, and the invariant checkers of gates and pools after every mutation. Pool
 * exhaustion, request timeouts, credit and the direct reader are in check_network_remote.c;
 * the shared helpers in network_util.h. Expected values are computed here from the inputs,
 * never read back from the code under test. */
#include "network_util.h"

START_TEST(test_local_spanning_huge_empty)
{
    fl_netenv *net = make_net("4kb", "64", NULL);
    int64_t total = fl_netenv_buffers_total(net);
    fl_err err;
    fl_partition *p = fl_partition_new(net, "j/v/0", 1, -1, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    fl_gate *g = fl_gate_new(net, 1, "test gate", NULL);
    fl_gate_set_channel(g, 0, "j/v/0", 0, NULL, 0);
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    producer_arg a = {p, 600, 4096, 0};
    pthread_t t;
    pthread_create(&t, NULL, produce_records, &a);
    check_records(g, a.n, a.seg);
    pthread_join(t, NULL);
    fl_partition_release(p);
    fl_gate_free(g);
    ck_assert_int_eq(fl_netenv_buffers_available(net), total);
    fl_netenv_free(net);
}
END_TEST

/* Two network environments in one process (4 KiB buffers, nbufs each): the consumer reaches
 * the producer (listening on *pport) over loopback TCP, with credit-based flow control. */
START_TEST(test_remote_spanning_huge_empty)
{
    fl_conf *conf = NULL;
    fl_netenv *prod, *cons;
    int pport;
    make_pair("64", &conf, &prod, &cons, &pport);
    fl_err err;
    fl_gate *g = fl_gate_new(cons, 1, "remote gate", NULL);
    fl_gate_set_channel(g, 0, "j/v/1", 0, "127.0.0.1", pport);
    ck_assert_int_eq(fl_gate_start(g, &err), 0); /* before the producer exists: it waits */
    usleep(50000);
    fl_partition *p = fl_partition_new(prod, "j/v/1", 1, 5, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    producer_arg a = {p, 900, 4096, 0};
    pthread_t t;
    pthread_create(&t, NULL, produce_records, &a);
    check_records(g, a.n, a.seg);
    pthread_join(t, NULL);
    fl_partition_release(p);
    fl_gate_free(g);
    /* every buffer is back in both pools */
    int64_t deadline = fl_mono_ms() + 3000;
    while (fl_netenv_buffers_available(prod) < 64 && fl_mono_ms() < deadline)
        usleep(10000);
    ck_assert_int_eq(fl_netenv_buffers_available(prod), 64);
    ck_assert_int_eq(fl_netenv_buffers_available(cons), 64);
    fl_netenv_free(cons);
    fl_netenv_free(prod);
    fl_conf_free(conf);
}
END_TEST

START_TEST(test_events_in_order_with_records)
{
    fl_netenv *net = make_net("4kb", "32", NULL);
    fl_err err;
    fl_partition *p = fl_partition_new(net, "j/e/0", 1, -1, NULL, &err);
    fl_gate *g = fl_gate_new(net, 1, "gate", NULL);
    fl_gate_set_channel(g, 0, "j/e/0", 0, NULL, 0);
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    /* r0 r1 WM(7) r2 BARRIER(9) r3 EOP, each record one byte = its number */
    uint8_t r;
    int64_t wm = 7, chk = 9;
    r = 0, fl_partition_emit(p, 0, &r, 1, NULL, 0);
    r = 1, fl_partition_emit(p, 0, &r, 1, NULL, 0);
    fl_partition_emit_event(p, 0, FL_EV_WATERMARK, &wm, sizeof wm);
    r = 2, fl_partition_emit(p, 0, &r, 1, NULL, 0);
    fl_partition_emit_event(p, -1, FL_EV_BARRIER, &chk, sizeof chk);
    r = 3, fl_partition_emit(p, 0, &r, 1, NULL, 0);
    fl_partition_finish(p);
    const int want_kind[] = {FL_IN_RECORD, FL_IN_RECORD, FL_IN_EVENT, FL_IN_RECORD,
                             FL_IN_EVENT,  FL_IN_RECORD, FL_IN_EVENT};
    const int want_val[] = {0, 1, FL_EV_WATERMARK, 2, FL_EV_BARRIER, 3, FL_EV_END_OF_PARTITION};
    fl_input in;
    for (int i = 0; i < 7; i++) {
        ck_assert_int_eq(read_wait(g, &in), 1);
        ck_assert_int_eq(in.kind, want_kind[i]);
        if (in.kind == FL_IN_RECORD) {
            ck_assert_uint_eq(in.len, 1);
            ck_assert_int_eq(in.data[0], want_val[i]);
        } else {
            ck_assert_int_eq(in.event_type, want_val[i]);
        }
        if (in.event_type == FL_EV_WATERMARK && in.kind == FL_IN_EVENT) {
            int64_t got;
            memcpy(&got, in.data, sizeof got);
            ck_assert_int_eq(got, 7);
        }
    }
    fl_partition_release(p);
    fl_gate_free(g);
    fl_netenv_free(net);
}
END_TEST

/* ---- priority events (unaligned checkpoints) --------------------------------------- */

typedef struct captured {
    uint8_t *p;
    size_t len;
} captured;

static void capture(void *arg, int sub, const uint8_t *data, uint32_t len)
{
    captured *c = arg;
    ck_assert_int_eq(sub, 0);
    c->p = realloc(c->p, c->len + len);
    memcpy(c->p + c->len, data, len);
    c->len += len;
}

/* Records of PRIO_REC bytes, each beginning with its number: 14 bytes with the prefix, so a
 * record boundary falls inside nearly every buffer (each one begins with the end of a
 * record). */
#define PRIO_REC 10

static void emit_numbered(fl_partition *p, uint32_t n)
{
    uint8_t r[PRIO_REC];
    for (uint32_t i = 0; i < n; i++) {
        memset(r, (int)(i & 0xff), PRIO_REC);
        memcpy(r, &i, 4);
        ck_assert_int_eq(fl_partition_emit(p, 0, r, PRIO_REC, NULL, 0), 0);
    }
}

/* Reads records from..n-1 with one priority barrier among them and the end of the partition;
 * each record once, in order. Returns the number of records read before the barrier. */
static uint32_t read_around_barrier(fl_gate *g, uint32_t from, uint32_t n)
{
    fl_input in;
    uint32_t want = from, at = UINT32_MAX;
    for (;;) {
        ck_assert_int_eq(read_wait(g, &in), 1);
        if (in.kind == FL_IN_EVENT && in.event_type == FL_EV_END_OF_PARTITION)
            break;
        if (in.kind == FL_IN_EVENT) {
            ck_assert_int_eq(in.event_type, FL_EV_BARRIER);
            ck_assert(in.priority);
            ck_assert_uint_eq(at, UINT32_MAX);
            at = want;
            continue;
        }
        uint32_t idx;
        ck_assert_uint_eq(in.len, PRIO_REC);
        memcpy(&idx, in.data, 4);
        ck_assert_uint_eq(idx, want);
        want++;
    }
    ck_assert_uint_ne(at, UINT32_MAX);
    ck_assert_uint_eq(want, n);
    return at;
}

static void read_records(fl_gate *g, uint32_t k)
{
    fl_input in;
    for (uint32_t i = 0; i < k; i++) {
        ck_assert_int_eq(read_wait(g, &in), 1);
        ck_assert_int_eq(in.kind, FL_IN_RECORD);
    }
}

/* The event must still go right behind the buffer the consumer is on, the data it overtakes
 * must begin with a whole record (it is replayed into a fresh consumer), and the consumer
 * sees every record once, in order, the event among them. */
START_TEST(test_priority_overtakes_small_records)
{
    fl_netenv *net = make_net("4kb", "256", NULL);
    fl_err err;
    fl_partition *p = fl_partition_new(net, "j/pr/0", 1, -1, NULL, &err);
    ck_assert_ptr_nonnull(p);
    fl_gate *g = fl_gate_new(net, 1, "gate", NULL);
    fl_gate_set_channel(g, 0, "j/pr/0", 0, NULL, 0);
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    const uint32_t n = 2000; /* 7 of the pool's 10 buffers */
    emit_numbered(p, n);
    const uint32_t before = 3; /* the consumer is inside the first buffer */
    read_records(g, before);
    int64_t chk = 4;
    captured c = {0};
    ck_assert_int_eq(fl_partition_emit_priority(p, FL_EV_BARRIER, &chk, sizeof chk, capture, &c),
                     0);
    /* the overtaken bytes: whole records, consecutive, up to the last one emitted */
    uint32_t first = UINT32_MAX, next = 0;
    for (size_t off = 0; off < c.len;) {
        ck_assert_uint_ge(c.len - off, 4 + PRIO_REC);
        uint32_t len, idx;
        memcpy(&len, c.p + off, 4);
        ck_assert_uint_eq(len, PRIO_REC);
        memcpy(&idx, c.p + off + 4, 4);
        if (first == UINT32_MAX)
            first = next = idx;
        ck_assert_uint_eq(idx, next);
        next++;
        off += 4 + len;
    }
    ck_assert_uint_eq(next, n);
    /* behind the first two buffers at most (4096 / 14 = 292 records each), not the tail */
    ck_assert_uint_le(first, 2 * 4096 / (4 + PRIO_REC) + 1);
    ck_assert_uint_gt(first, before);
    fl_partition_finish(p);
    ck_assert_uint_eq(read_around_barrier(g, before, n), first); /* exactly where it overtook */
    free(c.p);
    fl_partition_release(p);
    fl_gate_free(g);
    fl_netenv_free(net);
}
END_TEST

/* The same across TaskManagers: the event travels without credit and, at the consumer, goes
 * ahead of every buffer received (even one that ends a record begun in a buffer already
 * read) and of the rest of the buffer being read; every record arrives once, in order. */
START_TEST(test_priority_overtakes_remote)
{
    fl_conf *conf = NULL;
    fl_netenv *prod, *cons;
    int pport;
    make_pair("256", &conf, &prod, &cons, &pport);
    fl_err err;
    fl_partition *p = fl_partition_new(prod, "j/pr/1", 1, -1, NULL, &err);
    ck_assert_ptr_nonnull(p);
    fl_gate *g = fl_gate_new(cons, 1, "remote gate", NULL);
    fl_gate_set_channel(g, 0, "j/pr/1", 0, "127.0.0.1", pport);
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    const uint32_t n = 2000;
    emit_numbered(p, n);
    fl_partition_flush(p);
    const uint32_t before = 3;
    read_records(g, before);
    int64_t chk = 5;
    captured c = {0};
    ck_assert_int_eq(fl_partition_emit_priority(p, FL_EV_BARRIER, &chk, sizeof chk, capture, &c),
                     0);
    struct pollfd pfd = {fl_gate_priority_fd(g), POLLIN, 0};
    ck_assert_int_eq(poll(&pfd, 1, 10000), 1); /* it reached the consumer */
    fl_partition_finish(p);
    /* ahead of the rest of the buffer being read */
    ck_assert_uint_eq(read_around_barrier(g, before, n), before);
    free(c.p);
    fl_partition_release(p);
    fl_gate_free(g);
    fl_netenv_free(cons);
    fl_netenv_free(prod);
    fl_conf_free(conf);
}
END_TEST

START_TEST(test_recycling_million_buffers)
{
    fl_netenv *net = make_net("4kb", "16", NULL);
    int64_t total = fl_netenv_buffers_total(net);
    fl_err err;
    fl_partition *p = fl_partition_new(net, "j/r/0", 1, -1, NULL, &err);
    fl_gate *g = fl_gate_new(net, 1, "gate", NULL);
    fl_gate_set_channel(g, 0, "j/r/0", 0, NULL, 0);
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    /* 1,000,000 records of 4000 bytes: 4004 serialized bytes, one per 4096-byte buffer. */
    static uint8_t rec[4000];
    const long n = 1000000;
    long seen = 0;
    fl_input in;
    for (long i = 0; i < n; i++) {
        memcpy(rec, &i, sizeof i);
        ck_assert_int_eq(fl_partition_emit(p, 0, rec, sizeof rec, NULL, 0), 0);
        /* consume as we go on this thread: the pool has only 16 buffers */
        while (fl_gate_read(g, &in) == 1) {
            long got;
            memcpy(&got, in.data, sizeof got);
            ck_assert_int_eq(got, seen);
            seen++;
        }
    }
    fl_partition_flush(p);
    while (fl_gate_read(g, &in) == 1)
        seen++;
    ck_assert_int_eq(seen, n);
    fl_partition_finish(p);
    ck_assert_int_eq(read_wait(g, &in), 1);
    ck_assert_int_eq(in.event_type, FL_EV_END_OF_PARTITION);
    fl_partition_release(p);
    fl_gate_free(g);
    ck_assert_int_eq(fl_netenv_buffers_available(net), total);
    fl_netenv_free(net);
}
END_TEST

START_TEST(test_block_unblock)
{
    fl_netenv *net = make_net("4kb", "32", NULL);
    fl_err err;
    fl_partition *p0 = fl_partition_new(net, "j/b/0", 1, 0, NULL, &err);
    fl_partition *p1 = fl_partition_new(net, "j/b/1", 1, 0, NULL, &err);
    fl_gate *g = fl_gate_new(net, 2, "gate", NULL);
    fl_gate_set_channel(g, 0, "j/b/0", 0, NULL, 0);
    fl_gate_set_channel(g, 1, "j/b/1", 0, NULL, 0);
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    fl_gate_block(g, 0);
    uint8_t a = 'a', b = 'b';
    fl_partition_emit(p0, 0, &a, 1, NULL, 0);
    fl_partition_emit(p1, 0, &b, 1, NULL, 0);
    fl_input in;
    ck_assert_int_eq(read_wait(g, &in), 1);
    ck_assert_int_eq(in.channel, 1);
    ck_assert_int_eq(in.data[0], 'b');
    ck_assert_int_eq(fl_gate_read(g, &in), 0); /* channel 0 has data but is blocked */
    fl_gate_unblock(g, 0);
    ck_assert_int_eq(read_wait(g, &in), 1);
    ck_assert_int_eq(in.channel, 0);
    ck_assert_int_eq(in.data[0], 'a');
    fl_partition_release(p0);
    fl_partition_release(p1);
    fl_gate_free(g);
    fl_netenv_free(net);
}
END_TEST

/* ---- invariants: fl_gate_validate, fl_netpool_validate, fl_lpool_validate after every
 * mutation ------------------------------------------------------------------------------ */

static void gate_valid(fl_gate *g, const char *when)
{
    fl_err err;
    ck_assert_msg(fl_gate_validate(g, &err) == 0, "%s: %s", when, err.msg);
}

static void pool_valid(fl_netenv *net, const char *when)
{
    fl_err err;
    ck_assert_msg(fl_netpool_validate(fl_netenv_pool(net), &err) == 0, "%s: %s", when, err.msg);
}

START_TEST(test_pool_invariants)
{
    fl_netenv *net = make_net("4kb", "16", NULL);
    fl_netpool *pool = fl_netenv_pool(net);
    fl_err err;
    pool_valid(net, "new");
    fl_lpool *a = fl_lpool_new(pool, 2, 6, "a", &err), *b = fl_lpool_new(pool, 4, 4, "b", &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    pool_valid(net, "two local pools");
    fl_buf *held[6];
    for (int i = 0; i < 6; i++) {
        held[i] = fl_lpool_try_get(a);
        ck_assert_ptr_nonnull(held[i]);
        ck_assert_msg(fl_lpool_validate(a, &err) == 0, "get %d: %s", i, err.msg);
    }
    ck_assert_ptr_null(fl_lpool_try_get(a));
    fl_lpool_set_wake_batch(a, 3);
    for (int i = 5; i >= 0; i--) {
        fl_buf_recycle(held[i]);
        ck_assert_msg(fl_lpool_validate(a, &err) == 0, "recycle %d: %s", i, err.msg);
    }
    held[0] = fl_lpool_try_get(b);
    fl_lpool_close(b); /* its free buffers go back now, the one held when recycled */
    pool_valid(net, "closed with one out");
    ck_assert_int_eq(fl_netpool_available(pool), 16 - 6 - 1);
    fl_buf_recycle(held[0]);
    pool_valid(net, "the last buffer back");
    fl_lpool_close(a);
    pool_valid(net, "all back");
    ck_assert_int_eq(fl_netpool_available(pool), 16);
    fl_netenv_free(net);
}
END_TEST

/* Remote channels with credit, a local one blocked and unblocked: the gate's invariants
 * after every read, block and unblock, while the network thread delivers. */
START_TEST(test_gate_invariants)
{
    fl_conf *conf = NULL;
    fl_netenv *prod, *cons;
    int pport;
    make_pair("64", &conf, &prod, &cons, &pport);
    fl_err err;
    fl_partition *p0 = fl_partition_new(prod, "j/i/0", 1, 5, NULL, &err);
    fl_partition *p1 = fl_partition_new(prod, "j/i/1", 1, 5, NULL, &err);
    fl_partition *p2 = fl_partition_new(cons, "j/i/2", 1, 0, NULL, &err);
    ck_assert_ptr_nonnull(p0);
    ck_assert_ptr_nonnull(p2);
    fl_gate *g = fl_gate_new(cons, 3, "checked gate", NULL);
    fl_gate_set_channel(g, 0, "j/i/0", 0, "127.0.0.1", pport);
    fl_gate_set_channel(g, 1, "j/i/1", 0, "127.0.0.1", pport);
    fl_gate_set_channel(g, 2, "j/i/2", 0, NULL, 0);
    gate_valid(g, "new");
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    gate_valid(g, "started");
    producer_arg a0 = {p0, 300, 4096, 0}, a1 = {p1, 300, 4096, 0};
    pthread_t t0, t1;
    pthread_create(&t0, NULL, produce_records, &a0);
    pthread_create(&t1, NULL, produce_records, &a1);
    uint8_t x = 'x';
    fl_gate_block(g, 2);
    gate_valid(g, "blocked");
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(fl_partition_emit(p2, 0, &x, 1, NULL, 0), 0);
    ck_assert_int_eq(fl_partition_finish(p2), 0);
    fl_input in;
    int ends = 0, local = 0;
    for (long n = 0; ends < 3; n++) {
        ck_assert_int_eq(read_wait(g, &in), 1);
        gate_valid(g, "after a read");
        if (in.kind == FL_IN_EVENT && in.event_type == FL_EV_END_OF_PARTITION)
            ends++;
        else if (in.channel == 2)
            local++;
        if (n == 400) { /* the blocked channel was held until now */
            ck_assert_int_eq(local, 0);
            fl_gate_unblock(g, 2);
            gate_valid(g, "unblocked");
        }
        if (n % 97 == 0) {
            fl_gate_block(g, 0);
            gate_valid(g, "remote blocked");
            fl_gate_unblock(g, 0);
            gate_valid(g, "remote unblocked");
        }
    }
    ck_assert_int_eq(local, 5);
    ck_assert(fl_gate_is_finished(g));
    pthread_join(t0, NULL);
    pthread_join(t1, NULL);
    pool_valid(cons, "consumer pool, gate open");
    fl_partition_release(p0);
    fl_partition_release(p1);
    fl_partition_release(p2);
    fl_gate_free(g);
    pool_valid(cons, "consumer pool");
    fl_netenv_free(cons);
    fl_netenv_free(prod);
    fl_conf_free(conf);
}
END_TEST

static Suite *network_suite(void)
{
    Suite *s = suite_create("network");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_local_spanning_huge_empty);
    tcase_add_test(tc, test_remote_spanning_huge_empty);
    tcase_add_test(tc, test_events_in_order_with_records);
    tcase_add_test(tc, test_priority_overtakes_small_records);
    tcase_add_test(tc, test_priority_overtakes_remote);
    tcase_add_test(tc, test_recycling_million_buffers);
    tcase_add_test(tc, test_block_unblock);
    tcase_add_test(tc, test_pool_invariants);
    tcase_add_test(tc, test_gate_invariants);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    fl_log_init(FL_LOG_ERROR);
    SRunner *sr = srunner_create(network_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
