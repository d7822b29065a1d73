/* check_network.c -- unit tests of the data plane (taskmanager/network): serializer and
 * deserializer, events in order, buffer recycling, credit enforcement, channel blocking,
 * pool exhaustion and partition-request timeouts, and the invariant checkers of gates and
 * pools after every mutation. Expected values are computed here from
 * the inputs, never read back from the code under test. */
#include "common/config.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/util.h"
#include "taskmanager/network/netenv_internal.h"
#include "taskmanager/network/network.h"
#include "taskmanager/network/network_internal.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static fl_netenv *make_net(const char *segment, const char *nbufs, const char *timeout)
{
    fl_conf *conf = fl_conf_new();
    fl_err err;
    fl_conf_set(conf, "taskmanager.memory.segment-size", segment, NULL);
    fl_conf_set(conf, "taskmanager.network.numberOfBuffers", nbufs, NULL);
    if (timeout)
        fl_conf_set(conf, "taskmanager.network.request-backoff.max", timeout, NULL);
    fl_netenv *net = fl_netenv_new(conf, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    int port;
    ck_assert_int_eq(fl_netenv_listen(net, "127.0.0.1", 0, &port, &err), 0);
    ck_assert_int_eq(fl_netenv_start(net, &err), 0);
    fl_conf_free(conf);
    return net;
}

/* Reads the next input, waiting up to 5 s. */
static int read_wait(fl_gate *g, fl_input *in)
{
    int64_t deadline = fl_mono_ms() + 5000;
    for (;;) {
        int r = fl_gate_read(g, in);
        if (r != 0)
            return r;
        if (fl_mono_ms() > deadline)
            return 0;
        struct pollfd pfd = {fl_gate_fd(g), POLLIN, 0};
        poll(&pfd, 1, 100);
    }
}

/* Deterministic content for record i of length len. */
static uint8_t byte_at(uint32_t i, uint32_t k)
{
    return (uint8_t)(i * 131u + k * 7u + 3u);
}

static uint32_t len_of(uint32_t i, uint32_t seg)
{
    switch (i % 6) {
    case 0: return 0;                 /* empty */
    case 1: return 1;
    case 2: return seg - 3;           /* nearly a buffer: will span */
    case 3: return 3 * seg + 17;      /* larger than a buffer */
    case 4: return 100;
    default: return (i * 977u) % (2 * seg);
    }
}

typedef struct producer_arg {
    fl_partition *p;
    uint32_t n, seg;
    int sub;
} producer_arg;

static void *produce_records(void *arg)
{
    producer_arg *a = arg;
    uint8_t *buf = malloc(4 * a->seg + 64);
    for (uint32_t i = 0; i < a->n; i++) {
        uint32_t len = len_of(i, a->seg);
        for (uint32_t k = 0; k < len; k++)
            buf[k] = byte_at(i, k);
        /* split each record into header and payload to exercise both */
        uint32_t h = len / 3;
        ck_assert_int_eq(fl_partition_emit(a->p, a->sub, buf, h, buf + h, len - h), 0);
    }
    ck_assert_int_eq(fl_partition_finish(a->p), 0);
    free(buf);
    return NULL;
}

static void check_records(fl_gate *g, uint32_t n, uint32_t seg)
{
    fl_input in;
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_int_eq(read_wait(g, &in), 1);
        ck_assert_int_eq(in.kind, FL_IN_RECORD);
        uint32_t len = len_of(i, seg);
        ck_assert_uint_eq(in.len, len);
        for (uint32_t k = 0; k < len; k++)
            if (in.data[k] != byte_at(i, k))
                ck_abort_msg("record %u byte %u differs", i, k);
    }
    ck_assert_int_eq(read_wait(g, &in), 1);
    ck_assert_int_eq(in.kind, FL_IN_EVENT);
    ck_assert_int_eq(in.event_type, FL_EV_END_OF_PARTITION);
    ck_assert(fl_gate_is_finished(g));
}

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
static void make_pair(const char *nbufs, fl_conf **conf, fl_netenv **prod, fl_netenv **cons,
                      int *pport)
{
    fl_err err;
    int cport;
    *conf = fl_conf_new();
    fl_conf_set(*conf, "taskmanager.memory.segment-size", "4kb", NULL);
    fl_conf_set(*conf, "taskmanager.network.numberOfBuffers", nbufs, NULL);
    *prod = fl_netenv_new(*conf, &err);
    *cons = fl_netenv_new(*conf, &err);
    ck_assert_ptr_nonnull(*prod);
    ck_assert_ptr_nonnull(*cons);
    ck_assert_int_eq(fl_netenv_listen(*prod, "127.0.0.1", 0, pport, &err), 0);
    ck_assert_int_eq(fl_netenv_listen(*cons, "127.0.0.1", 0, &cport, &err), 0);
    ck_assert_int_eq(fl_netenv_start(*prod, &err), 0);
    ck_assert_int_eq(fl_netenv_start(*cons, &err), 0);
}

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

START_TEST(test_insufficient_buffers_message)
{
    fl_netenv *net = make_net("4kb", "4", NULL);
    fl_err err;
    fl_partition *p = fl_partition_new(net, "j/x/0", 8, -1, NULL, &err);
    ck_assert(p == NULL);
    /* 8 subpartitions need 8 + 1 buffers; the pool has 4. */
    ck_assert_msg(strstr(err.msg, "Insufficient number of network buffers: required 9, but only "
                                  "4 available") != NULL,
                  "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "taskmanager.memory.network.fraction") != NULL, "%s", err.msg);
    ck_assert_int_eq(fl_netenv_buffers_available(net), 4); /* nothing leaked */
    fl_netenv_free(net);
}
END_TEST

START_TEST(test_request_timeout)
{
    fl_netenv *net = make_net("4kb", "8", "200 ms");
    fl_err err;
    fl_gate *g = fl_gate_new(net, 1, "gate", NULL);
    fl_gate_set_channel(g, 0, "j/none/0", 0, NULL, 0);
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    fl_input in;
    int64_t t0 = fl_mono_ms();
    ck_assert_int_eq(read_wait(g, &in), -1);
    ck_assert_int_ge(fl_mono_ms() - t0, 150);
    ck_assert_msg(strstr(fl_gate_error(g), "j/none/0 not found") != NULL, "%s", fl_gate_error(g));
    fl_gate_free(g);
    fl_netenv_free(net);
}
END_TEST

/* A fake producer that sends more buffers than the credit it was given. */
static int fake_port;
static int fake_ls;

static sem_t fake_go;

static void *fake_producer(void *arg)
{
    int s = accept(fake_ls, NULL, NULL);
    uint8_t hdr[FL_FRAME_HDR_LEN], body[512];
    fl_frame_hdr h;
    ck_assert_int_eq(read(s, hdr, sizeof hdr), (ssize_t)sizeof hdr);
    ck_assert_int_eq(fl_frame_hdr_decode(hdr, 1 << 20, &h, NULL), 0);
    ck_assert_int_eq(h.type, FL_NET_PARTITION_REQUEST);
    ck_assert_int_eq(read(s, body, h.len), (ssize_t)h.len);
    uint32_t credit = (uint32_t)body[4] << 24 | body[5] << 16 | body[6] << 8 | body[7];
    sem_wait(&fake_go); /* the test has looked at the initial credit */
    /* send credit + 1 data buffers */
    for (uint32_t i = 0; i <= credit; i++) {
        uint8_t frame[FL_FRAME_HDR_LEN + FL_NET_BUFFER_HDR + 8] = {0};
        fl_frame_hdr bh = {.type = FL_NET_BUFFER, .len = FL_NET_BUFFER_HDR + 8, .corr = h.corr};
        fl_frame_hdr_encode(&bh, frame);
        uint8_t *p = frame + FL_FRAME_HDR_LEN;
        p[3] = (uint8_t)i;                 /* seq */
        p[7] = (uint8_t)(10 - i);          /* backlog */
        p[FL_NET_BUFFER_HDR] = 4;          /* one record of 4 bytes: length prefix 4 */
        ck_assert_int_eq(write(s, frame, sizeof frame), (ssize_t)sizeof frame);
    }
    usleep(500000);
    close(s);
    return NULL;
}

START_TEST(test_credit_never_exceeded)
{
    /* No floating buffers: the gate has exactly buffers-per-channel = 2 credits. */
    fl_conf *conf = fl_conf_new();
    fl_err err;
    fl_conf_set(conf, "taskmanager.memory.segment-size", "4kb", NULL);
    fl_conf_set(conf, "taskmanager.network.numberOfBuffers", "8", NULL);
    fl_conf_set(conf, "taskmanager.network.memory.floating-buffers-per-gate", "0", NULL);
    fl_netenv *net = fl_netenv_new(conf, &err);
    int port;
    fl_netenv_listen(net, "127.0.0.1", 0, &port, &err);
    fl_netenv_start(net, &err);
    fake_ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    bind(fake_ls, (struct sockaddr *)&sa, sizeof sa);
    listen(fake_ls, 1);
    getsockname(fake_ls, (struct sockaddr *)&sa, &sl);
    fake_port = ntohs(sa.sin_port);
    pthread_t t;
    sem_init(&fake_go, 0, 0);
    pthread_create(&t, NULL, fake_producer, NULL);
    fl_gate *g = fl_gate_new(net, 1, "gate", NULL);
    fl_gate_set_channel(g, 0, "j/f/0", 0, "127.0.0.1", fake_port);
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    int free_bufs;
    ck_assert_int_eq(fl_gate_channel_credit(g, 0, &free_bufs), 2);
    ck_assert_int_eq(free_bufs, 2);
    sem_post(&fake_go);
    /* The first two buffers are fine; the third came without credit: the gate fails. Not
     * a buffer is read (recycled, its credit announced again) before: the third would be
     * within credit then, on a machine where the reader ran between the producer's writes. */
    int64_t deadline = fl_mono_ms() + 10000;
    while (!fl_gate_failed(g) && fl_mono_ms() < deadline)
        usleep(1000);
    ck_assert_msg(fl_gate_failed(g), "the gate took a buffer sent without credit");
    fl_input in;
    int records = 0, r;
    while ((r = read_wait(g, &in)) == 1) {
        records++;
        int credit = fl_gate_channel_credit(g, 0, &free_bufs);
        ck_assert_int_ge(credit, 0);
        ck_assert_int_le(credit, free_bufs);
    }
    ck_assert_int_eq(r, -1);
    ck_assert_int_le(records, 2);
    ck_assert_msg(strstr(fl_gate_error(g), "arrived without credit") != NULL, "%s",
                  fl_gate_error(g));
    pthread_join(t, NULL);
    close(fake_ls);
    fl_gate_free(g);
    ck_assert_int_eq(fl_netenv_buffers_available(net), 8);
    fl_netenv_free(net);
    fl_conf_free(conf);
}
END_TEST

/* ---- the direct reader ---------------------------------------------------------------
 * A fake producer trickles its frames in chunks of 1, 2, 3, ... bytes, so the consumer's
 * direct reader (receive.c) finds every split: inside a frame header, inside a BUFFER
 * frame's 12-byte header, inside its payload, between a control frame and the next. Then
 * a connection that breaks in the middle of a payload: the channel fails with the
 * connection-lost message and the buffer being read goes back to its pool. */

static int trickle_mode; /* 0: whole stream in chunks; 1: stop halfway through a payload */
#define TRICKLE_LEN 3000u

static size_t put_frame(uint8_t *d, uint16_t type, uint64_t corr, const uint8_t *payload,
                        uint32_t len)
{
    fl_frame_hdr h = {.type = type, .len = len, .corr = corr};
    fl_frame_hdr_encode(&h, d);
    memcpy(d + FL_FRAME_HDR_LEN, payload, len);
    return FL_FRAME_HDR_LEN + len;
}

static void *trickle_producer(void *arg)
{
    int s = accept(fake_ls, NULL, NULL);
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t hdr[FL_FRAME_HDR_LEN], body[512];
    fl_frame_hdr h;
    ck_assert_int_eq(read(s, hdr, sizeof hdr), (ssize_t)sizeof hdr);
    ck_assert_int_eq(fl_frame_hdr_decode(hdr, 1 << 20, &h, NULL), 0);
    ck_assert_int_eq(h.type, FL_NET_PARTITION_REQUEST);
    ck_assert_int_eq(read(s, body, h.len), (ssize_t)h.len);
    static uint8_t stream[2 * TRICKLE_LEN + 256], pl[TRICKLE_LEN + 64];
    size_t n = 0;
    uint8_t backlog[4] = {0, 0, 0, 1};
    n += put_frame(stream + n, FL_NET_BACKLOG, h.corr, backlog, 4);
    /* buffer 0: one record of TRICKLE_LEN - 4 bytes */
    memset(pl, 0, FL_NET_BUFFER_HDR);
    pl[7] = 1; /* backlog */
    uint32_t rlen = TRICKLE_LEN - 4;
    uint8_t *r = pl + FL_NET_BUFFER_HDR;
    r[0] = (uint8_t)rlen;
    r[1] = (uint8_t)(rlen >> 8);
    r[2] = r[3] = 0;
    for (uint32_t k = 0; k < rlen; k++)
        r[4 + k] = byte_at(7, k);
    n += put_frame(stream + n, FL_NET_BUFFER, h.corr, pl, FL_NET_BUFFER_HDR + TRICKLE_LEN);
    size_t cut = n - TRICKLE_LEN / 2; /* mode 1 stops in the middle of this payload */
    /* buffer 1: END_OF_PARTITION */
    memset(pl, 0, FL_NET_BUFFER_HDR + 1);
    pl[3] = 1; /* seq */
    pl[8] = FL_BUF_EVENT;
    pl[FL_NET_BUFFER_HDR] = FL_EV_END_OF_PARTITION;
    n += put_frame(stream + n, FL_NET_BUFFER, h.corr, pl, FL_NET_BUFFER_HDR + 1);
    size_t end = trickle_mode ? cut : n;
    for (size_t off = 0, chunk = 1; off < end; off += chunk, chunk = chunk % 37 + 1) {
        size_t k = chunk < end - off ? chunk : end - off;
        ck_assert_int_eq(write(s, stream + off, k), (ssize_t)k);
        usleep(200);
    }
    if (trickle_mode)
        usleep(100000); /* the consumer holds the claimed buffer, half filled */
    close(s); /* after END_OF_PARTITION the close fails nothing */
    return NULL;
}

static void trickle(int mode)
{
    fl_netenv *net = make_net("4kb", "8", NULL);
    fake_ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    bind(fake_ls, (struct sockaddr *)&sa, sizeof sa);
    listen(fake_ls, 1);
    getsockname(fake_ls, (struct sockaddr *)&sa, &sl);
    trickle_mode = mode;
    pthread_t t;
    pthread_create(&t, NULL, trickle_producer, NULL);
    fl_gate *g = fl_gate_new(net, 1, "gate", NULL);
    fl_gate_set_channel(g, 0, "j/t/0", 0, "127.0.0.1", ntohs(sa.sin_port));
    fl_err err;
    ck_assert_int_eq(fl_gate_start(g, &err), 0);
    fl_input in;
    if (mode == 0) {
        ck_assert_int_eq(read_wait(g, &in), 1);
        ck_assert_int_eq(in.kind, FL_IN_RECORD);
        ck_assert_uint_eq(in.len, TRICKLE_LEN - 4);
        for (uint32_t k = 0; k < in.len; k++)
            if (in.data[k] != byte_at(7, k))
                ck_abort_msg("record byte %u differs", k);
        ck_assert_int_eq(read_wait(g, &in), 1);
        ck_assert_int_eq(in.kind, FL_IN_EVENT);
        ck_assert_int_eq(in.event_type, FL_EV_END_OF_PARTITION);
        ck_assert(fl_gate_is_finished(g));
    } else {
        int r = read_wait(g, &in);
        ck_assert_int_eq(r, -1);
        ck_assert_msg(strstr(fl_gate_error(g), "Connection to TaskManager at 127.0.0.1:") &&
                          strstr(fl_gate_error(g), "lost: connection closed by peer"),
                      "%s", fl_gate_error(g));
    }
    fl_gate_free(g);
    pthread_join(t, NULL);
    close(fake_ls);
    /* every buffer is back, the one the reader held when the connection broke too */
    int64_t deadline = fl_mono_ms() + 3000;
    while (fl_netenv_buffers_available(net) < 8 && fl_mono_ms() < deadline)
        usleep(10000);
    ck_assert_int_eq(fl_netenv_buffers_available(net), 8);
    fl_netenv_free(net);
}

START_TEST(test_direct_reader_every_split)
{
    trickle(0);
}
END_TEST

START_TEST(test_direct_reader_lost_mid_payload)
{
    trickle(1);
}
END_TEST

/* ---- many requests served at once ---------------------------------------------------
 * 10,000 remote channels request subpartitions of a partition that does not exist yet;
 * while the producer's network thread is held, the partition appears and every
 * subpartition gets a record: the next scan serves 10,000 requests that all have data at
 * once. Each channel must deliver its record and END_OF_PARTITION. */

#define MANY 10000

static sem_t hold_sem;

static void hold_network(void *ctx, void *arg)
{
    sem_wait(&hold_sem);
}

static void *finish_partition(void *p)
{
    ck_assert_int_eq(fl_partition_finish(p), 0);
    return NULL;
}

static int count_pendings(fl_netenv *net)
{
    int n = 0;
    pthread_mutex_lock(&net->reg_lock);
    for (pending *r = net->pendings; r; r = r->next)
        n++;
    pthread_mutex_unlock(&net->reg_lock);
    return n;
}

static void many_requests(int nchan, const char *gate_max)
{
    fl_conf *conf = fl_conf_new();
    fl_err err;
    fl_conf_set(conf, "taskmanager.network.memory.read-buffer.required-per-gate.max", gate_max,
                NULL);
    fl_conf_set(conf, "taskmanager.memory.segment-size", "4kb", NULL);
    fl_conf_set(conf, "taskmanager.network.numberOfBuffers", "24000", NULL);
    fl_conf_set(conf, "taskmanager.network.memory.buffers-per-channel", "2", NULL);
    fl_conf_set(conf, "taskmanager.network.memory.floating-buffers-per-gate", "0", NULL);
    fl_netenv *prod = fl_netenv_new(conf, &err), *cons = fl_netenv_new(conf, &err);
    ck_assert(prod && cons);
    int pport, cport;
    ck_assert_int_eq(fl_netenv_listen(prod, "127.0.0.1", 0, &pport, &err), 0);
    ck_assert_int_eq(fl_netenv_listen(cons, "127.0.0.1", 0, &cport, &err), 0);
    ck_assert_int_eq(fl_netenv_start(prod, &err), 0);
    ck_assert_int_eq(fl_netenv_start(cons, &err), 0);

    fl_gate *g = fl_gate_new(cons, nchan, "wide gate", NULL);
    for (int c = 0; c < nchan; c++)
        fl_gate_set_channel(g, c, "j/many/0", c, "127.0.0.1", pport);
    ck_assert_msg(fl_gate_start(g, &err) == 0, "%s", err.msg);
    int64_t deadline = fl_mono_ms() + 20000;
    while (count_pendings(prod) < nchan && fl_mono_ms() < deadline)
        usleep(10000);
    ck_assert_int_eq(count_pendings(prod), nchan);

    /* hold the producer's network thread while every subpartition fills */
    sem_init(&hold_sem, 0, 0);
    ck_assert_int_eq(fl_endpoint_post(prod->ep, hold_network, NULL, NULL), 0);
    fl_partition *p = fl_partition_new(prod, "j/many/0", nchan, -1, NULL, &err);
    ck_assert_msg(p != NULL, "%s", err.msg);
    for (int c = 0; c < nchan; c++) {
        uint32_t v = (uint32_t)c * 2654435761u;
        ck_assert_int_eq(fl_partition_emit(p, c, &v, sizeof v, NULL, 0), 0);
    }
    fl_partition_flush(p); /* a buffer queued in every subpartition */
    ck_assert_int_eq(count_pendings(prod), nchan); /* none served yet */
    sem_post(&hold_sem);
    /* the ends take more buffers, which come back as the consumer reads: another thread */
    pthread_t fin;
    pthread_create(&fin, NULL, finish_partition, p);

    /* every channel: its one record, then its end */
    uint8_t *got = calloc(nchan, 1);
    int records = 0, ends = 0;
    fl_input in;
    while (ends < nchan) {
        int r = read_wait(g, &in);
        ck_assert_msg(r == 1, "after %d records and %d ends of %d channels: %s", records, ends,
                      nchan, r < 0 ? fl_gate_error(g) : "nothing more arrived in 5 s");
        ck_assert_int_lt(in.channel, nchan);
        if (in.kind == FL_IN_RECORD) {
            uint32_t v, want = (uint32_t)in.channel * 2654435761u;
            ck_assert_uint_eq(in.len, sizeof v);
            memcpy(&v, in.data, sizeof v);
            ck_assert_uint_eq(v, want);
            ck_assert_int_eq(got[in.channel], 0);
            got[in.channel] = 1;
            records++;
        } else {
            ck_assert_int_eq(in.event_type, FL_EV_END_OF_PARTITION);
            ck_assert_int_eq(got[in.channel], 1);
            got[in.channel] = 2;
            ends++;
        }
    }
    ck_assert_int_eq(records, nchan);
    ck_assert(fl_gate_is_finished(g));
    pthread_join(fin, NULL);
    /* served by the scan itself, not rescued by the stuck-channel check */
    int rescued = atomic_load(&prod->stuck_found);
    ck_assert_msg(rescued == 0, "%d channels were stuck until the check served them", rescued);
    free(got);
    fl_partition_release(p);
    fl_gate_free(g);
    fl_netenv_free(cons);
    fl_netenv_free(prod);
    fl_conf_free(conf);
    sem_destroy(&hold_sem);
}


START_TEST(test_many_pending_requests_served_at_once)
{
    many_requests(MANY, "1000000"); /* 10,000 channels with exclusive buffers */
}
END_TEST

/* The same through a wide gate: no exclusive buffers, 64 floating ones lent by backlog. */
START_TEST(test_wide_gate_floating_only)
{
    many_requests(3000, "64");
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
    tcase_add_test(tc, test_insufficient_buffers_message);
    tcase_add_test(tc, test_request_timeout);
    tcase_add_test(tc, test_credit_never_exceeded);
    tcase_add_test(tc, test_direct_reader_every_split);
    tcase_add_test(tc, test_direct_reader_lost_mid_payload);
    tcase_add_test(tc, test_many_pending_requests_served_at_once);
    tcase_add_test(tc, test_wide_gate_floating_only);
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
