/* check_rpc_trust.c -- unit tests of common/rpc.c on whom a service trusts and how far:
 * message types gated on admission, responses from the wrong connection, the cluster
 * secret's handshake (auth.h), the port's bounds (connlimit.h) and fl_tcp_tune. The
 * fixture (services A and B) is rpc_util.h; sends and calls are in check_rpc.c.
 */
#include "rpc_util.h"

/* ---- tests: trust ------------------------------------------------------------------- */

/* A raw client admitted by A: the "admit-me" call, answered after A admitted it. */
static void raw_admit(int fd, uint64_t corr)
{
    uint8_t pb[64], frame[128];
    size_t pn = pb_heartbeat_request(pb, "admit-me");
    size_t n = raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, (uint32_t)pn, corr, pb, pn);
    raw_send(fd, frame, n);
    raw_expect_echo(fd, corr, "admit-me");
}

/* TaskMetricsReport{job_id = "j"}: field 1, wire type 2. */
static size_t raw_metrics_frame(uint8_t *frame)
{
    return raw_frame(frame, 0, FL_RPC_TASK_METRICS_REPORT, 3, 0, "\x0a\x01j", 3);
}

START_TEST(test_gated_type_from_unadmitted_closes)
{
    uint8_t frame[64];
    size_t n = raw_metrics_frame(frame);
    raw_bad_input_closes(frame, n, "TASK_METRICS_REPORT from a connection that has not registered");
    ck_assert_int_eq(W.ngated, 0);
}
END_TEST

START_TEST(test_gated_type_after_admission)
{
    int fd = raw_connect(W.a.port, NULL);
    ck_assert(TU_WAIT_FOR(&W.sync, W.a_up == 2, 2000));
    raw_admit(fd, 5);
    uint8_t frame[64];
    size_t n = raw_metrics_frame(frame);
    raw_send(fd, frame, n);
    ck_assert(TU_WAIT_FOR(&W.sync, W.ngated == 1, 2000));
    ck_assert_int_eq(W.a_down, 0);
    close(fd);
}
END_TEST

START_TEST(test_unadmitted_response_closes)
{
    uint8_t frame[32];
    size_t n = raw_frame(frame, FL_FRAME_F_RESPONSE, FL_RPC_ACK, 0, 1, NULL, 0);
    raw_bad_input_closes(frame, n, "a response (ACK) from a connection that has not registered");
}
END_TEST

/* A response with the correlation id of a call made on another connection does not answer
 * it: B's call to A is held by A; a client admitted by B answers it first with forged
 * contents; B must take A's own answer. */
START_TEST(test_response_from_other_connection_ignored)
{
    tu_lock(&W.sync);
    W.mode = MODE_HOLD;
    W.hold_target = 100; /* held until released below */
    tu_unlock(&W.sync);
    b_call(0, 5000);
    ck_assert(TU_WAIT_FOR(&W.sync, W.nheld == 1, 2000));
    uint64_t corr = W.held[0]->corr;
    int fd = raw_connect(W.b.port, NULL);
    ck_assert(TU_WAIT_FOR(&W.sync, W.b_acc_up == 1, 2000));
    fl_rpc_admit(W.b.rpc, W.b_accepted[0]);
    /* B's RPC thread takes mails in order: once a message B sends after the admission
     * reaches the client, the admission is in effect */
    Fl__Pb__HeartbeatRequest ping = FL__PB__HEARTBEAT_REQUEST__INIT;
    ping.registration_id = "ping";
    ck_assert_int_eq(fl_rpc_send(W.b.rpc, W.b_accepted[0], FL_RPC_HEARTBEAT_REQUEST, &ping.base), 0);
    uint8_t hdr[16], pb[64], frame[128];
    size_t pn, n;
    ck_assert(raw_read_exact(fd, hdr, 16, 2000));
    ck_assert_uint_eq((unsigned)(hdr[2] << 8 | hdr[3]), FL_RPC_HEARTBEAT_REQUEST);
    ck_assert(raw_read_exact(fd, pb, hdr[7], 2000));
    /* HeartbeatResponse{resource_id "FORGED", registration_id "call-0"} */
    uint8_t forged[] = {0x0a, 6, 'F', 'O', 'R', 'G', 'E', 'D', 0x12, 6, 'c', 'a', 'l', 'l', '-', '0'};
    n = raw_frame(frame, FL_FRAME_F_RESPONSE, FL_RPC_HEARTBEAT_RESPONSE, sizeof forged, corr,
                  forged, sizeof forged);
    raw_send(fd, frame, n);
    /* ordered after the forged response on that connection: B has read it */
    int before = W.nbrecv;
    pn = pb_heartbeat_request(pb, "after-forged");
    n = raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, (uint32_t)pn, 0, pb, pn);
    raw_send(fd, frame, n);
    ck_assert(TU_WAIT_FOR(&W.sync, W.nbrecv > before, 2000));
    ck_assert_int_eq(W.rep[0].count, 0);
    tu_lock(&W.sync);
    fl_rpc_msg *held = W.held[0];
    W.nheld = 0;
    tu_unlock(&W.sync);
    echo_reply(held);
    fl_rpc_msg_free(held);
    ck_assert(TU_WAIT_FOR(&W.sync, W.rep[0].count == 1, 2000));
    ck_assert_msg(W.rep[0].ok, "B took the forged answer: %s", W.rep[0].error);
    close(fd);
}
END_TEST

/* ---- tests: the cluster secret ------------------------------------------------------ */

static fl_secret test_secret(const char *text)
{
    fl_secret k;
    fl_err err;
    ck_assert_int_eq(fl_secret_from_bytes(&k, text, strlen(text), &err), 0);
    return k;
}

static void world_same_secret(void)
{
    fl_secret k = test_secret("a shared cluster secret");
    world_start(&k, &k, NULL, true);
}

static void world_unconnected(void)
{
    world_start(NULL, NULL, NULL, false);
}

START_TEST(test_secret_both_sides)
{
    assert_b_to_a_still_works(0);
}
END_TEST

/* A connector C with secret sb (or none) meets an acceptor with another: the acceptor
 * never reports the connection up, C is told why it ended (C without a secret saw it come
 * up: it had nothing to prove before the challenge came). */
static void secret_mismatch(const fl_secret *sb, const char *why)
{
    fl_secret ka = test_secret("the acceptor's secret");
    fl_err err;
    fl_rpc *c = fl_rpc_new("rpc-c", MAX_FRAME);
    if (sb)
        fl_rpc_set_secret(c, sb);
    fl_rpc *acc = fl_rpc_new("rpc-acc", MAX_FRAME);
    int port;
    fl_rpc_set_secret(acc, &ka);
    ck_assert_int_eq(fl_rpc_listen(acc, "127.0.0.1", 0, &port, &err), 0);
    fl_rpc_route_open(acc, FL_RPC_HEARTBEAT_REQUEST, W.a.ep, a_on_heartbeat);
    fl_rpc_watch(acc, W.a.ep, a_watch);
    ck_assert_int_eq(fl_rpc_start(acc, &err), 0);
    ck_assert_int_eq(fl_rpc_start(c, &err), 0);
    fl_rpc_connect(c, "127.0.0.1", port, 2000, W.b.ep, b_conn_fn);
    ck_assert(TU_WAIT_FOR(&W.sync, W.b_down == 1, 3000));
    ck_assert_int_eq(W.b_up, sb ? 0 : 1);
    ck_assert_msg(strstr(W.b_why, why) != NULL, "B's reason '%s' lacks '%s'", W.b_why, why);
    ck_assert_int_eq(W.a_up, 0);
    fl_rpc_free(c);
    fl_rpc_free(acc);
}

START_TEST(test_secret_wrong)
{
    fl_secret kb = test_secret("a different secret");
    secret_mismatch(&kb, "closed by peer");
    char *log = tu_log_text();
    ck_assert_msg(strstr(log, "wrong security.cluster.secret-file") != NULL, "%s", log);
    free(log);
}
END_TEST

START_TEST(test_secret_missing_on_connector)
{
    secret_mismatch(NULL, "security.cluster.secret-file is not set here");
}
END_TEST

/* A raw client that knows no secret gets the challenge and nothing else. */
START_TEST(test_secret_raw_client_gets_nothing)
{
    int fd = raw_connect(W.a.port, NULL);
    uint8_t hdr[16], nonce[32];
    ck_assert(raw_read_exact(fd, hdr, 16, 2000));
    ck_assert_uint_eq((unsigned)(hdr[2] << 8 | hdr[3]), FL_AUTH_CHALLENGE);
    ck_assert(raw_read_exact(fd, nonce, 32, 2000));
    uint8_t pb[64], frame[128];
    size_t pn = pb_heartbeat_request(pb, "no-secret");
    size_t n = raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, (uint32_t)pn, 9, pb, pn);
    raw_send(fd, frame, n);
    ck_assert(raw_closed_within(fd, 2000));
    close(fd);
    tu_lock(&W.sync);
    ck_assert_int_eq(find_arecv("no-secret"), -1);
    ck_assert_int_eq(W.a_up, 1); /* B only */
    tu_unlock(&W.sync);
}
END_TEST

/* ---- tests: bounds --------------------------------------------------------------------- */

static void world_tight(void)
{
    fl_connlimit_conf lc;
    fl_connlimit_conf_default(&lc, "RPC");
    lc.max_conns = 3;
    lc.handshake_ms = 600;
    lc.read_ms = 600;
    lc.handshake_frame = 1024;
    lc.max_buffered = 100000;
    world_start(NULL, NULL, &lc, true);
    /* B registers (admit-me) so that the deadline spares it */
    Fl__Pb__HeartbeatRequest req = FL__PB__HEARTBEAT_REQUEST__INIT;
    req.registration_id = "admit-me";
    fl_rpc_call(W.b.rpc, W.b_conn, FL_RPC_HEARTBEAT_REQUEST, &req.base, 2000, W.b.ep, b_reply,
                (void *)(intptr_t)NCALLS);
    ck_assert(TU_WAIT_FOR(&W.sync, W.rep[NCALLS].count == 1, 2000));
}

START_TEST(test_bound_max_connections)
{
    int f1 = raw_connect(W.a.port, NULL), f2 = raw_connect(W.a.port, NULL);
    ck_assert(TU_WAIT_FOR(&W.sync, W.a_up == 3, 2000));
    int f3 = raw_connect(W.a.port, NULL);
    ck_assert_msg(raw_closed_within(f3, 1000), "a 4th connection was kept (max 3)");
    close(f1);
    ck_assert(TU_WAIT_FOR(&W.sync, W.a_down == 1, 2000));
    int f4 = raw_connect(W.a.port, NULL);
    ck_assert(TU_WAIT_FOR(&W.sync, W.a_up == 4, 2000)); /* room again */
    char *log = tu_log_text();
    ck_assert_int_eq(tu_count(log, "refusing the connection"), 1);
    free(log);
    close(f2);
    close(f3);
    close(f4);
    assert_b_to_a_still_works(0);
}
END_TEST

START_TEST(test_bound_handshake_deadline)
{
    int64_t t0 = tu_now_ms();
    int fd = raw_connect(W.a.port, NULL);
    ck_assert_msg(raw_closed_within(fd, 3000), "an idle unregistered connection was kept");
    ck_assert_int_ge(tu_now_ms() - t0, 500);
    close(fd);
    char *log = tu_log_text();
    ck_assert_ptr_nonnull(strstr(log, "handshake-timeout"));
    free(log);
    assert_b_to_a_still_works(0); /* admitted: spared */
}
END_TEST

START_TEST(test_bound_handshake_frame)
{
    uint8_t frame[16];
    size_t n = raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, 2000, 0, NULL, 0);
    raw_bad_input_closes(frame, n, "exceeds the maximum of 1024 bytes");
}
END_TEST

START_TEST(test_bound_partial_memory_and_read_deadline)
{
    int f1 = raw_connect(W.a.port, NULL), f2 = raw_connect(W.a.port, NULL);
    ck_assert(TU_WAIT_FOR(&W.sync, W.a_up == 3, 2000));
    raw_admit(f1, 1);
    raw_admit(f2, 2);
    uint8_t frame[16 + 100];
    memset(frame, 0, sizeof frame);
    size_t n = raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, 60000, 0, NULL, 0);
    raw_send(f1, frame, n + 100); /* 60,000 reserved of 100,000 */
    raw_send(f2, frame, n + 100); /* 120,000: over */
    ck_assert_msg(raw_closed_within(f2, 2000), "the frame over the memory budget was kept");
    /* f1's stalled frame meets the read deadline */
    ck_assert_msg(raw_closed_within(f1, 3000), "a stalled partial frame was kept");
    char *log = tu_log_text();
    ck_assert_ptr_nonnull(strstr(log, "max-buffered-memory"));
    ck_assert_ptr_nonnull(strstr(log, "read-timeout"));
    free(log);
    close(f1);
    close(f2);
    assert_b_to_a_still_works(0);
}
END_TEST

/* fl_tcp_tune, as every daemon connection gets it: no Nagle; and where the kernel knows
 * TCP_RTO_MAX_MS (option 44, Linux 6.15) the backoff cap reads back as FL_TCP_RTO_MAX_MS,
 * where it does not the option cannot be read at all (never a silent half). */
START_TEST(test_tcp_tune_caps_backoff_where_the_kernel_can)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    bool capped = fl_tcp_tune(fd);
    int v = 0;
    socklen_t len = sizeof v;
    ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
    ck_assert_int_ne(v, 0);
    v = 0;
    len = sizeof v;
    int rc = getsockopt(fd, IPPROTO_TCP, 44 /* TCP_RTO_MAX_MS */, &v, &len);
    if (capped) {
        ck_assert_int_eq(rc, 0);
        ck_assert_int_eq(v, FL_TCP_RTO_MAX_MS);
    } else {
        ck_assert_int_ne(rc, 0);
    }
    close(fd);
}
END_TEST

static Suite *rpc_trust_suite(void)
{
    Suite *s = suite_create("rpc-trust");
    TCase *tc = tcase_create("trust");
    tcase_add_checked_fixture(tc, world_setup, world_teardown);
    tcase_add_test(tc, test_gated_type_from_unadmitted_closes);
    tcase_add_test(tc, test_gated_type_after_admission);
    tcase_add_test(tc, test_unadmitted_response_closes);
    tcase_add_test(tc, test_response_from_other_connection_ignored);
    suite_add_tcase(s, tc);

    tc = tcase_create("secret");
    tcase_add_checked_fixture(tc, world_same_secret, world_teardown);
    tcase_add_test(tc, test_secret_both_sides);
    tcase_add_test(tc, test_secret_raw_client_gets_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("secret-mismatch");
    tcase_add_checked_fixture(tc, world_unconnected, world_teardown);
    tcase_add_test(tc, test_secret_wrong);
    tcase_add_test(tc, test_secret_missing_on_connector);
    suite_add_tcase(s, tc);

    tc = tcase_create("bounds");
    tcase_add_checked_fixture(tc, world_tight, world_teardown);
    tcase_add_test(tc, test_bound_max_connections);
    tcase_add_test(tc, test_bound_handshake_deadline);
    tcase_add_test(tc, test_bound_handshake_frame);
    tcase_add_test(tc, test_bound_partial_memory_and_read_deadline);
    suite_add_tcase(s, tc);

    tc = tcase_create("tuning");
    tcase_add_test(tc, test_tcp_tune_caps_backoff_where_the_kernel_can);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(rpc_trust_suite());
}