/* check_connlimit.c -- unit tests of common/connlimit.c (the bounds of a server port) and of
 * the rate limit of common/log.c that keeps a flood from becoming a flood of log lines.
 *
 * Connections are fl_conn_guards and their input evbuffers, no sockets; deadlines are judged
 * at times the test passes in, so nothing waits. Log lines are captured (testutil.h) and
 * counted.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/connlimit.h"
#include "common/frame.h"
#include "common/util.h"
#include "testutil.h"

static fl_connlimit_conf conf_of(int max_conns, uint64_t max_buffered)
{
    fl_connlimit_conf c;
    fl_connlimit_conf_default(&c, "RPC");
    c.max_conns = max_conns;
    c.max_buffered = max_buffered;
    c.handshake_ms = 2000;
    c.read_ms = 5000;
    return c;
}

/* A frame header claiming len bytes, then `have` of them. */
static void put_partial(struct evbuffer *in, uint32_t len, uint32_t have)
{
    uint8_t hdr[FL_FRAME_HDR_LEN];
    fl_frame_hdr h = {.type = 4, .len = len};
    fl_frame_hdr_encode(&h, hdr);
    evbuffer_add(in, hdr, sizeof hdr);
    char *zeros = calloc(1, have ? have : 1);
    evbuffer_add(in, zeros, have);
    free(zeros);
}

START_TEST(test_max_connections)
{
    fl_connlimit cl;
    fl_connlimit_conf c = conf_of(2, 1 << 20);
    fl_conn_guard g[4];
    fl_connlimit_init(&cl, &c);
    ck_assert(fl_connlimit_accept(&cl, &g[0], "1.1.1.1:1"));
    ck_assert(fl_connlimit_accept(&cl, &g[1], "1.1.1.1:2"));
    ck_assert(!fl_connlimit_accept(&cl, &g[2], "1.1.1.1:3"));
    ck_assert(!fl_connlimit_accept(&cl, &g[3], "1.1.1.1:4"));
    ck_assert_int_eq(cl.nconns, 2);
    fl_connlimit_release(&cl, &g[0]);
    ck_assert(fl_connlimit_accept(&cl, &g[2], "1.1.1.1:5"));
    /* an outgoing connection (zeroed guard) does not count */
    fl_conn_guard out = {0};
    fl_connlimit_release(&cl, &out);
    ck_assert_int_eq(cl.nconns, 2);
    /* the refusals were logged once (the second within the same 10 s is counted) */
    char *log = tu_log_text();
    ck_assert_int_eq(tu_count(log, "refusing the connection"), 1);
    ck_assert_ptr_nonnull(strstr(log, "rpc.server.max-connections"));
    free(log);
    fl_connlimit_free(&cl);
}
END_TEST

START_TEST(test_partial_frame_budget)
{
    fl_connlimit cl;
    fl_connlimit_conf c = conf_of(10, 100000);
    fl_conn_guard a, b;
    char why[300];
    fl_connlimit_init(&cl, &c);
    fl_connlimit_accept(&cl, &a, "a");
    fl_connlimit_accept(&cl, &b, "b");
    struct evbuffer *ia = evbuffer_new(), *ib = evbuffer_new();
    /* a: a 60,000-byte frame begun: its whole size is reserved at the header */
    put_partial(ia, 60000, 10);
    ck_assert_int_eq(fl_connlimit_track(&cl, &a, ia, false, why, sizeof why), 0);
    ck_assert_uint_eq(cl.buffered, 60016);
    /* b: 50,000 more would pass the 100,000 total */
    put_partial(ib, 50000, 0);
    ck_assert_int_eq(fl_connlimit_track(&cl, &b, ib, false, why, sizeof why), -1);
    ck_assert_ptr_nonnull(strstr(why, "max-buffered-memory"));
    ck_assert_uint_eq(cl.buffered, 60016);
    fl_connlimit_release(&cl, &b);
    /* a's frame is consumed: its share returns */
    evbuffer_drain(ia, evbuffer_get_length(ia));
    ck_assert_int_eq(fl_connlimit_track(&cl, &a, ia, true, why, sizeof why), 0);
    ck_assert_uint_eq(cl.buffered, 0);
    ck_assert_uint_eq(a.frame_since_ms, 0);
    /* fewer than 16 bytes: what is there counts */
    evbuffer_add(ia, "\xF1\0\0", 3);
    ck_assert_int_eq(fl_connlimit_track(&cl, &a, ia, false, why, sizeof why), 0);
    ck_assert_uint_eq(cl.buffered, 3);
    fl_connlimit_release(&cl, &a);
    ck_assert_uint_eq(cl.buffered, 0);
    ck_assert_int_eq(cl.nconns, 0);
    evbuffer_free(ia);
    evbuffer_free(ib);
    fl_connlimit_free(&cl);
}
END_TEST

START_TEST(test_deadlines)
{
    fl_connlimit cl;
    fl_connlimit_conf c = conf_of(10, 1 << 20);
    fl_conn_guard g, est;
    char why[300];
    fl_connlimit_init(&cl, &c);
    fl_connlimit_accept(&cl, &g, "slow");
    fl_connlimit_accept(&cl, &est, "peer");
    est.established = true;
    int64_t t = g.accepted_ms;
    ck_assert(!fl_connlimit_expired(&cl, &g, "slow", t + 1999, why, sizeof why));
    ck_assert(fl_connlimit_expired(&cl, &g, "slow", t + 2001, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "handshake-timeout"));
    /* established: no handshake deadline; a frame begun and stalled: the read deadline */
    ck_assert(!fl_connlimit_expired(&cl, &est, "peer", t + 60000, why, sizeof why));
    struct evbuffer *in = evbuffer_new();
    put_partial(in, 1000, 10);
    ck_assert_int_eq(fl_connlimit_track(&cl, &est, in, false, why, sizeof why), 0);
    int64_t since = est.frame_since_ms;
    ck_assert(since > 0);
    ck_assert(!fl_connlimit_expired(&cl, &est, "peer", since + 4999, why, sizeof why));
    ck_assert(fl_connlimit_expired(&cl, &est, "peer", since + 5001, why, sizeof why));
    ck_assert_ptr_nonnull(strstr(why, "read-timeout"));
    /* more bytes of the same frame do not restart its clock */
    evbuffer_add(in, "0123456789", 10);
    ck_assert_int_eq(fl_connlimit_track(&cl, &est, in, false, why, sizeof why), 0);
    ck_assert_int_eq(est.frame_since_ms, since);
    evbuffer_free(in);
    fl_connlimit_release(&cl, &g);
    fl_connlimit_release(&cl, &est);
    fl_connlimit_free(&cl);
}
END_TEST

/* ---- the log rate limit ---------------------------------------------------------------- */

START_TEST(test_ratelimit)
{
    fl_ratelimit rl = {0};
    uint64_t n = 99;
    ck_assert(fl_ratelimit_pass(&rl, 60000, 2, &n));
    ck_assert_uint_eq(n, 0);
    ck_assert(fl_ratelimit_pass(&rl, 60000, 2, &n));
    for (int i = 0; i < 1000; i++)
        ck_assert(!fl_ratelimit_pass(&rl, 60000, 2, &n));
    /* a new window: the next line carries the count */
    atomic_store(&rl.window_ms, fl_mono_ms() - 61000);
    ck_assert(fl_ratelimit_pass(&rl, 60000, 2, &n));
    ck_assert_uint_eq(n, 1000);
}
END_TEST

static void log_many(int n)
{
    for (int i = 0; i < n; i++)
        fl_warn_every(10, "the same cause, event %d", i);
}

START_TEST(test_log_every)
{
    log_many(100000);
    char *log = tu_log_text();
    ck_assert_int_eq(tu_count(log, "the same cause"), 1);
    ck_assert_ptr_nonnull(strstr(log, "event 0"));
    free(log);
}
END_TEST

static Suite *connlimit_suite(void)
{
    Suite *s = suite_create("connlimit");
    TCase *tc = tcase_create("bounds");
    tcase_add_checked_fixture(tc, tu_log_capture, tu_log_release);
    tcase_add_test(tc, test_max_connections);
    tcase_add_test(tc, test_partial_frame_budget);
    tcase_add_test(tc, test_deadlines);
    suite_add_tcase(s, tc);
    tc = tcase_create("log");
    tcase_add_checked_fixture(tc, tu_log_capture, tu_log_release);
    tcase_add_test(tc, test_ratelimit);
    tcase_add_test(tc, test_log_every);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(connlimit_suite());
}
