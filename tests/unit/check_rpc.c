/* check_rpc.c -- unit tests of common/rpc.c: two RPC services in one process on 127.0.0.1,
 * endpoints as receivers, one-way sends, calls matched by correlation id, deadlines, dying
 * connections, and raw TCP clients sending bad bytes.
 *
 * Service A listens; service B connects to it. A routes HEARTBEAT_REQUEST to endpoint
 * "a-main" and DISCONNECT to endpoint "a-other", both open to connections it has not admitted,
 * and TASK_METRICS_REPORT (admitted connections only) to "a-main"; B routes
 * HEARTBEAT_REQUEST to "b-main" and watches the connections it accepts. A request with the
 * registration id "admit-me" makes A admit its connection before answering (as the
 * ResourceManager admits a TaskManager it registered). Variants of the fixture give A and B
 * cluster secrets (auth.h) or give A tight bounds (connlimit.h).
 * A's HEARTBEAT_REQUEST handler behaves as the test sets W.mode (echo, silent, hold, close).
 * Everything the handlers see is recorded in W under W.sync; tests wait on it with
 * deadlines. Raw clients build their frames and protobuf bytes by hand.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/frame.h"
#include "common/mailbox.h"
#include "common/netaddr.h"
#include "common/rpc.h"
#include "testutil.h"

#define MAX_FRAME (1024u * 1024u)
#define NCALLS 64

typedef enum { MODE_ECHO, MODE_SILENT, MODE_HOLD, MODE_CLOSE } a_mode;

typedef struct got_msg {
    uint16_t type;
    uint8_t flags;
    uint64_t corr;
    fl_conn_id conn;
    char peer[64];
    char f1[64], f2[64];
    bool on_a_main, on_a_other, on_b_main;
} got_msg;

typedef struct reply_rec {
    int count;
    bool ok;        /* the reply matched its request */
    char error[256];
    bool on_b_main;
    int64_t at_ms;
} reply_rec;

typedef struct node {
    fl_rpc *rpc;
    fl_endpoint *ep;
    int port;
} node;

static struct world {
    tu_sync sync;
    node a, b;
    fl_endpoint *a_other;
    a_mode mode;
    /* received by A (both endpoints) and by B */
    got_msg arecv[256];
    int narecv;
    got_msg brecv[16];
    int nbrecv;
    /* MODE_HOLD: requests kept until hold_target are in, then answered scrambled */
    fl_rpc_msg *held[NCALLS + 8];
    int nheld, hold_target;
    /* connection events */
    fl_conn_id b_conn; /* B's id of its connection to A */
    int b_up, b_down;
    char b_why[256];
    fl_conn_id a_conns[64]; /* A's ids of accepted connections, in order */
    char a_peers[64][64];
    int a_up, a_down;
    fl_conn_id b_accepted[8]; /* B's ids of connections it accepted */
    int b_acc_up;
    int ngated;               /* TASK_METRICS_REPORTs A delivered */
    /* replies at B, by the call's arg */
    reply_rec rep[NCALLS + 8];
    int rep_order[NCALLS + 8];
    int nrep;
} W;

/* ---- handlers (endpoint threads) -------------------------------------------------- */

static void record(got_msg *g, const fl_rpc_msg *m)
{
    memset(g, 0, sizeof *g);
    g->type = m->type;
    g->flags = m->flags;
    g->corr = m->corr;
    g->conn = m->conn;
    snprintf(g->peer, sizeof g->peer, "%s", m->peer);
    g->on_a_main = fl_endpoint_in_thread(W.a.ep);
    g->on_a_other = fl_endpoint_in_thread(W.a_other);
    g->on_b_main = fl_endpoint_in_thread(W.b.ep);
    if (m->type == FL_RPC_HEARTBEAT_REQUEST) {
        const Fl__Pb__HeartbeatRequest *r = (const Fl__Pb__HeartbeatRequest *)m->pb;
        snprintf(g->f1, sizeof g->f1, "%s", r->registration_id);
    } else if (m->type == FL_RPC_DISCONNECT) {
        const Fl__Pb__Disconnect *d = (const Fl__Pb__Disconnect *)m->pb;
        snprintf(g->f1, sizeof g->f1, "%s", d->resource_id);
        snprintf(g->f2, sizeof g->f2, "%s", d->reason);
    }
}

static void echo_reply(const fl_rpc_msg *req)
{
    const Fl__Pb__HeartbeatRequest *r = (const Fl__Pb__HeartbeatRequest *)req->pb;
    Fl__Pb__HeartbeatResponse resp = FL__PB__HEARTBEAT_RESPONSE__INIT;
    resp.resource_id = "A";
    resp.registration_id = r->registration_id;
    ck_assert_int_eq(fl_rpc_reply(W.a.rpc, req, FL_RPC_HEARTBEAT_RESPONSE, &resp.base), 0);
}

static void a_on_heartbeat(void *ctx, fl_rpc_msg *m)
{
    tu_lock(&W.sync);
    if (W.narecv < (int)(sizeof W.arecv / sizeof W.arecv[0]))
        record(&W.arecv[W.narecv++], m);
    a_mode mode = W.mode;
    fl_rpc_msg *answer[NCALLS + 8];
    int nanswer = 0;
    if (mode == MODE_HOLD && m->corr != 0) {
        W.held[W.nheld++] = m;
        m = NULL;
        if (W.nheld == W.hold_target) {
            /* Answer in a scrambled order: k * 37 mod n visits every index once when n is
             * a power of two (37 is odd), and is neither the arrival order nor its reverse. */
            for (int k = 0; k < W.nheld; k++)
                answer[nanswer++] = W.held[(k * 37) % W.nheld];
            W.nheld = 0;
        }
    }
    tu_unlock_signal(&W.sync);
    /* "admit-me": as the ResourceManager admits a TaskManager it registered, before its
     * answer goes out */
    if (m && !strcmp(((const Fl__Pb__HeartbeatRequest *)m->pb)->registration_id, "admit-me"))
        fl_rpc_admit(W.a.rpc, m->conn);
    for (int i = 0; i < nanswer; i++) {
        echo_reply(answer[i]);
        fl_rpc_msg_free(answer[i]);
    }
    if (!m)
        return;
    if (mode == MODE_ECHO && m->corr != 0)
        echo_reply(m);
    else if (mode == MODE_CLOSE)
        fl_rpc_close(W.a.rpc, m->conn);
    fl_rpc_msg_free(m);
}

static void a_on_disconnect(void *ctx, fl_rpc_msg *m)
{
    tu_lock(&W.sync);
    record(&W.arecv[W.narecv++], m);
    tu_unlock_signal(&W.sync);
    fl_rpc_msg_free(m);
}

static void b_on_heartbeat(void *ctx, fl_rpc_msg *m)
{
    tu_lock(&W.sync);
    if (W.nbrecv < (int)(sizeof W.brecv / sizeof W.brecv[0]))
        record(&W.brecv[W.nbrecv++], m);
    tu_unlock_signal(&W.sync);
    fl_rpc_msg_free(m);
}

static void a_watch(void *ctx, fl_conn_id conn, const char *peer, bool up, const char *why)
{
    tu_lock(&W.sync);
    if (up) {
        if (W.a_up < 64) {
            W.a_conns[W.a_up] = conn;
            snprintf(W.a_peers[W.a_up], sizeof W.a_peers[0], "%s", peer);
        }
        W.a_up++;
    } else {
        W.a_down++;
    }
    tu_unlock_signal(&W.sync);
}

static void a_on_gated(void *ctx, fl_rpc_msg *m)
{
    tu_lock(&W.sync);
    W.ngated++;
    tu_unlock_signal(&W.sync);
    fl_rpc_msg_free(m);
}

static void b_watch(void *ctx, fl_conn_id conn, const char *peer, bool up, const char *why)
{
    tu_lock(&W.sync);
    if (up && W.b_acc_up < 8)
        W.b_accepted[W.b_acc_up++] = conn;
    tu_unlock_signal(&W.sync);
}

static void b_conn_fn(void *ctx, fl_conn_id conn, const char *peer, bool up, const char *why)
{
    tu_lock(&W.sync);
    if (up) {
        W.b_conn = conn;
        W.b_up++;
    } else {
        W.b_down++;
        snprintf(W.b_why, sizeof W.b_why, "%s", why ? why : "");
    }
    tu_unlock_signal(&W.sync);
}

static void b_reply(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
{
    int i = (int)(intptr_t)arg;
    tu_lock(&W.sync);
    reply_rec *r = &W.rep[i];
    r->count++;
    r->on_b_main = fl_endpoint_in_thread(W.b.ep);
    r->at_ms = tu_now_ms();
    if (W.nrep < (int)(sizeof W.rep_order / sizeof W.rep_order[0]))
        W.rep_order[W.nrep] = i;
    W.nrep++;
    if (reply) {
        char want[32];
        snprintf(want, sizeof want, "call-%d", i);
        const Fl__Pb__HeartbeatResponse *hr = (const Fl__Pb__HeartbeatResponse *)reply->pb;
        r->ok = error == NULL && reply->type == FL_RPC_HEARTBEAT_RESPONSE &&
                (reply->flags & FL_FRAME_F_RESPONSE) && strcmp(hr->registration_id, want) == 0 &&
                strcmp(hr->resource_id, "A") == 0;
    } else {
        snprintf(r->error, sizeof r->error, "%s", error ? error : "(null error)");
    }
    tu_unlock_signal(&W.sync);
    fl_rpc_msg_free(reply);
}

/* ---- fixture ---------------------------------------------------------------------- */

/* A and B, with cluster secrets sa and sb (NULL: none) and bounds la on A (NULL: none);
 * B connects to A when connect is set (and A then admits nothing yet). */
static void world_start(const fl_secret *sa, const fl_secret *sb, const fl_connlimit_conf *la,
                        bool connect)
{
    memset(&W, 0, sizeof W);
    tu_log_capture();
    tu_sync_init(&W.sync);
    fl_err err = {{0}};
    W.a.ep = fl_endpoint_new("a-main");
    W.a_other = fl_endpoint_new("a-other");
    W.b.ep = fl_endpoint_new("b-main");
    ck_assert(W.a.ep && W.a_other && W.b.ep);

    W.a.rpc = fl_rpc_new("rpc-a", MAX_FRAME);
    ck_assert_ptr_nonnull(W.a.rpc);
    if (la)
        fl_rpc_set_limits(W.a.rpc, la);
    if (sa)
        fl_rpc_set_secret(W.a.rpc, sa);
    ck_assert_msg(fl_rpc_listen(W.a.rpc, "127.0.0.1", 0, &W.a.port, &err) == 0, "%s", err.msg);
    fl_rpc_route_open(W.a.rpc, FL_RPC_HEARTBEAT_REQUEST, W.a.ep, a_on_heartbeat);
    fl_rpc_route_open(W.a.rpc, FL_RPC_DISCONNECT, W.a_other, a_on_disconnect);
    fl_rpc_route(W.a.rpc, FL_RPC_TASK_METRICS_REPORT, W.a.ep, a_on_gated);
    fl_rpc_watch(W.a.rpc, W.a.ep, a_watch);

    W.b.rpc = fl_rpc_new("rpc-b", MAX_FRAME);
    ck_assert_ptr_nonnull(W.b.rpc);
    if (sb)
        fl_rpc_set_secret(W.b.rpc, sb);
    ck_assert_msg(fl_rpc_listen(W.b.rpc, "127.0.0.1", 0, &W.b.port, &err) == 0, "%s", err.msg);
    fl_rpc_route(W.b.rpc, FL_RPC_HEARTBEAT_REQUEST, W.b.ep, b_on_heartbeat);
    fl_rpc_watch(W.b.rpc, W.b.ep, b_watch);

    ck_assert_int_eq(fl_endpoint_start(W.a.ep, &W, &err), 0);
    ck_assert_int_eq(fl_endpoint_start(W.a_other, &W, &err), 0);
    ck_assert_int_eq(fl_endpoint_start(W.b.ep, &W, &err), 0);
    ck_assert_int_eq(fl_rpc_start(W.a.rpc, &err), 0);
    ck_assert_int_eq(fl_rpc_start(W.b.rpc, &err), 0);
    if (!connect)
        return;
    fl_rpc_connect(W.b.rpc, "127.0.0.1", W.a.port, 2000, W.b.ep, b_conn_fn);
    ck_assert_msg(TU_WAIT_FOR(&W.sync, W.b_up == 1 && W.a_up == 1, 2000),
                  "B did not connect to A (b_up %d, a_up %d, b_down %d: %s)", W.b_up, W.a_up,
                  W.b_down, W.b_why);
}

static void world_setup(void)
{
    world_start(NULL, NULL, NULL, true);
}

static void world_teardown(void)
{
    fl_rpc_free(W.b.rpc);
    fl_rpc_free(W.a.rpc);
    fl_endpoint_free(W.a.ep);
    fl_endpoint_free(W.a_other);
    fl_endpoint_free(W.b.ep);
    for (int i = 0; i < W.nheld; i++)
        fl_rpc_msg_free(W.held[i]);
    tu_sync_destroy(&W.sync);
    tu_log_release();
}

/* ---- helpers ---------------------------------------------------------------------- */

static void b_send_heartbeat(const char *reg)
{
    Fl__Pb__HeartbeatRequest req = FL__PB__HEARTBEAT_REQUEST__INIT;
    req.registration_id = (char *)reg;
    ck_assert_int_eq(fl_rpc_send(W.b.rpc, W.b_conn, FL_RPC_HEARTBEAT_REQUEST, &req.base), 0);
}

static void b_call(int i, int64_t timeout_ms)
{
    char reg[32];
    snprintf(reg, sizeof reg, "call-%d", i);
    Fl__Pb__HeartbeatRequest req = FL__PB__HEARTBEAT_REQUEST__INIT;
    req.registration_id = reg;
    fl_rpc_call(W.b.rpc, W.b_conn, FL_RPC_HEARTBEAT_REQUEST, &req.base, timeout_ms, W.b.ep,
                b_reply, (void *)(intptr_t)i);
}

/* Index of the message A received with registration id reg, or -1. Lock held. */
static int find_arecv(const char *reg)
{
    for (int i = 0; i < W.narecv; i++)
        if (strcmp(W.arecv[i].f1, reg) == 0)
            return i;
    return -1;
}

/* The established B->A connection still carries traffic both ways: a one-way send from B,
 * a call from B answered by A, and a one-way send from A to B on A's side of it. */
static void assert_b_to_a_still_works(int call_index)
{
    char reg[32];
    snprintf(reg, sizeof reg, "still-alive-%d", call_index);
    b_send_heartbeat(reg);
    ck_assert_msg(TU_WAIT_FOR(&W.sync, find_arecv(reg) >= 0, 2000),
                  "A no longer receives from B");
    tu_lock(&W.sync);
    W.mode = MODE_ECHO;
    tu_unlock(&W.sync);
    b_call(call_index, 2000);
    ck_assert_msg(TU_WAIT_FOR(&W.sync, W.rep[call_index].count == 1, 2000),
                  "B's call got no answer");
    ck_assert_msg(W.rep[call_index].ok, "B's call failed: %s", W.rep[call_index].error);

    Fl__Pb__HeartbeatRequest req = FL__PB__HEARTBEAT_REQUEST__INIT;
    req.registration_id = "from-a";
    tu_lock(&W.sync);
    int before = W.nbrecv;
    tu_unlock(&W.sync);
    ck_assert_int_eq(fl_rpc_send(W.a.rpc, W.a_conns[0], FL_RPC_HEARTBEAT_REQUEST, &req.base), 0);
    ck_assert_msg(TU_WAIT_FOR(&W.sync, W.nbrecv == before + 1, 2000), "B no longer receives");
    ck_assert_str_eq(W.brecv[before].f1, "from-a");
    ck_assert(W.brecv[before].on_b_main);
    ck_assert_int_eq(W.b_down, 0);
}

/* ---- raw TCP clients -------------------------------------------------------------- */

static int raw_connect(int port, int *local_port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s",
                  strerror(errno));
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    getsockname(fd, (struct sockaddr *)&me, &len);
    if (local_port)
        *local_port = ntohs(me.sin_port);
    return fd;
}

static void raw_send(int fd, const void *bytes, size_t n)
{
    ck_assert_int_eq(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* True when the server closed fd (EOF or reset) within timeout_ms. Bytes that arrive first
 * are read and ignored. */
static bool raw_closed_within(int fd, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - tu_now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char buf[256];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0 || (r < 0 && errno == ECONNRESET))
            return true;
    }
}

/* Reads exactly n bytes within timeout_ms; false on EOF, error or timeout. */
static bool raw_read_exact(int fd, void *out, size_t n, int timeout_ms)
{
    int64_t deadline = tu_now_ms() + timeout_ms;
    size_t got = 0;
    while (got < n) {
        int64_t left = deadline - tu_now_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t r = recv(fd, (char *)out + got, n - got, 0);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* Header bytes as frame.h lays them out, built independently of frame.c. */
static size_t raw_frame(uint8_t *out, uint8_t flags, uint16_t type, uint32_t len, uint64_t corr,
                        const void *payload, size_t payload_len)
{
    out[0] = 0xF1;
    out[1] = flags;
    out[2] = (uint8_t)(type >> 8);
    out[3] = (uint8_t)type;
    out[4] = (uint8_t)(len >> 24);
    out[5] = (uint8_t)(len >> 16);
    out[6] = (uint8_t)(len >> 8);
    out[7] = (uint8_t)len;
    for (int i = 0; i < 8; i++)
        out[8 + i] = (uint8_t)(corr >> (56 - 8 * i));
    if (payload_len)
        memcpy(out + 16, payload, payload_len);
    return 16 + payload_len;
}

/* Reads A's echo of a HeartbeatRequest call: a HEARTBEAT_RESPONSE with corr and the
 * registration id reg. */
static void raw_expect_echo(int fd, uint64_t want_corr, const char *reg)
{
    uint8_t hdr[16], pb[128];
    ck_assert_msg(raw_read_exact(fd, hdr, 16, 2000), "no answer to a valid raw call");
    ck_assert_uint_eq(hdr[0], 0xF1);
    ck_assert_uint_eq(hdr[1] & FL_FRAME_F_RESPONSE, FL_FRAME_F_RESPONSE);
    ck_assert_uint_eq((unsigned)(hdr[2] << 8 | hdr[3]), FL_RPC_HEARTBEAT_RESPONSE);
    uint64_t corr = 0;
    for (int i = 0; i < 8; i++)
        corr = corr << 8 | hdr[8 + i];
    ck_assert_uint_eq(corr, want_corr);
    uint32_t len = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 | hdr[7];
    ck_assert_uint_lt(len, sizeof pb);
    ck_assert(raw_read_exact(fd, pb, len, 2000));
    Fl__Pb__HeartbeatResponse *resp = fl__pb__heartbeat_response__unpack(NULL, len, pb);
    ck_assert_ptr_nonnull(resp);
    ck_assert_str_eq(resp->registration_id, reg);
    ck_assert_str_eq(resp->resource_id, "A");
    fl__pb__heartbeat_response__free_unpacked(resp, NULL);
}

/* HeartbeatRequest{registration_id = s} in protobuf wire form: field 1, wire type 2. */
static size_t pb_heartbeat_request(uint8_t *out, const char *s)
{
    size_t n = strlen(s);
    out[0] = 0x0A;
    out[1] = (uint8_t)n;
    memcpy(out + 2, s, n);
    return 2 + n;
}

/* Connects a raw client, waits until A has accepted it, sends bytes, and checks that A
 * closes exactly that connection with one log line naming the peer and containing why. */
static void raw_bad_input_closes(const void *bytes, size_t n, const char *why)
{
    int local_port;
    int fd = raw_connect(W.a.port, &local_port);
    ck_assert(TU_WAIT_FOR(&W.sync, W.a_up == 2, 2000));
    raw_send(fd, bytes, n);
    ck_assert_msg(raw_closed_within(fd, 2000), "A kept a connection that sent bad bytes");
    close(fd);
    ck_assert_msg(TU_WAIT_FOR(&W.sync, W.a_down == 1, 2000), "A's watcher was not told");

    char peer[64], line[128];
    snprintf(peer, sizeof peer, "127.0.0.1:%d", local_port);
    ck_assert_str_eq(W.a_peers[1], peer);
    snprintf(line, sizeof line, "closing RPC connection with %s: ", peer);
    char *log = tu_log_text();
    ck_assert_msg(tu_count(log, line) == 1, "log should name %s once:\n%s", peer, log);
    ck_assert_msg(strstr(strstr(log, line), why) != NULL, "log lacks '%s':\n%s", why, log);
    free(log);

    assert_b_to_a_still_works(1);
}

/* ---- tests: basics ---------------------------------------------------------------- */

START_TEST(test_listen_reports_bound_port)
{
    ck_assert_int_gt(W.a.port, 0);
    ck_assert_int_lt(W.a.port, 65536);
    ck_assert_int_gt(W.b.port, 0);
    ck_assert_int_ne(W.a.port, W.b.port);
    /* The reported port is the one accepting: a raw connect shows up at A. */
    int local_port;
    int fd = raw_connect(W.a.port, &local_port);
    ck_assert(TU_WAIT_FOR(&W.sync, W.a_up == 2, 2000));
    char peer[64];
    snprintf(peer, sizeof peer, "127.0.0.1:%d", local_port);
    ck_assert_str_eq(W.a_peers[1], peer);
    close(fd);
    ck_assert(TU_WAIT_FOR(&W.sync, W.a_down == 1, 2000));
    /* A second listener on the same port fails with a message naming it. */
    fl_rpc *c = fl_rpc_new("rpc-c", MAX_FRAME);
    fl_err err = {{0}};
    int port = -1;
    ck_assert_int_eq(fl_rpc_listen(c, "127.0.0.1", W.a.port, &port, &err), -1);
    snprintf(peer, sizeof peer, "127.0.0.1:%d", W.a.port);
    ck_assert_msg(strstr(err.msg, peer) != NULL, "%s", err.msg);
    fl_rpc_free(c);
}
END_TEST

START_TEST(test_type_table)
{
    ck_assert_ptr_eq(fl_rpc_type_descriptor(FL_RPC_HEARTBEAT_REQUEST),
                     &fl__pb__heartbeat_request__descriptor);
    ck_assert_ptr_eq(fl_rpc_type_descriptor(FL_RPC_ACK), &fl__pb__ack__descriptor);
    ck_assert_ptr_null(fl_rpc_type_descriptor(0));
    ck_assert_ptr_null(fl_rpc_type_descriptor(999));
    ck_assert_str_eq(fl_rpc_type_name(FL_RPC_HEARTBEAT_REQUEST), "HEARTBEAT_REQUEST");
    ck_assert_str_eq(fl_rpc_type_name(999), "UNKNOWN");
    ck_assert_int_eq(FL_RPC_HEARTBEAT_REQUEST, 3); /* wire ids never change */
    ck_assert_int_eq(FL_RPC_ACK, 6);
}
END_TEST

START_TEST(test_one_way_send_routed_by_type)
{
    b_send_heartbeat("reg-42");
    Fl__Pb__Disconnect d = FL__PB__DISCONNECT__INIT;
    d.resource_id = "tm-1";
    d.reason = "going away";
    ck_assert_int_eq(fl_rpc_send(W.b.rpc, W.b_conn, FL_RPC_DISCONNECT, &d.base), 0);
    ck_assert(TU_WAIT_FOR(&W.sync, W.narecv == 2, 2000));
    tu_lock(&W.sync);
    int h = W.arecv[0].type == FL_RPC_HEARTBEAT_REQUEST ? 0 : 1;
    got_msg *hb = &W.arecv[h], *dc = &W.arecv[1 - h];
    ck_assert_uint_eq(hb->type, FL_RPC_HEARTBEAT_REQUEST);
    ck_assert_str_eq(hb->f1, "reg-42");
    ck_assert_uint_eq(hb->flags, 0);
    ck_assert_uint_eq(hb->corr, 0);
    ck_assert_uint_eq(hb->conn, W.a_conns[0]); /* A's id for the connection from B */
    ck_assert_msg(strncmp(hb->peer, "127.0.0.1:", 10) == 0, "peer %s", hb->peer);
    ck_assert(hb->on_a_main && !hb->on_a_other && !hb->on_b_main);
    ck_assert_uint_eq(dc->type, FL_RPC_DISCONNECT);
    ck_assert_str_eq(dc->f1, "tm-1");
    ck_assert_str_eq(dc->f2, "going away");
    ck_assert(dc->on_a_other && !dc->on_a_main);
    tu_unlock(&W.sync);
}
END_TEST

START_TEST(test_one_way_sends_keep_order)
{
    for (int i = 0; i < 200; i++) {
        char reg[32];
        snprintf(reg, sizeof reg, "seq-%d", i);
        b_send_heartbeat(reg);
    }
    ck_assert(TU_WAIT_FOR(&W.sync, W.narecv == 200, 3000));
    for (int i = 0; i < 200; i++) {
        char reg[32];
        snprintf(reg, sizeof reg, "seq-%d", i);
        ck_assert_str_eq(W.arecv[i].f1, reg);
    }
}
END_TEST

START_TEST(test_send_to_unknown_connection_is_dropped)
{
    Fl__Pb__HeartbeatRequest req = FL__PB__HEARTBEAT_REQUEST__INIT;
    req.registration_id = "nowhere";
    ck_assert_int_eq(fl_rpc_send(W.b.rpc, 987654, FL_RPC_HEARTBEAT_REQUEST, &req.base), 0);
    assert_b_to_a_still_works(1);
    tu_lock(&W.sync);
    ck_assert_int_eq(find_arecv("nowhere"), -1);
    tu_unlock(&W.sync);
}
END_TEST

/* ---- tests: calls ----------------------------------------------------------------- */

START_TEST(test_call_gets_its_response)
{
    W.mode = MODE_ECHO;
    b_call(1, 2000);
    ck_assert(TU_WAIT_FOR(&W.sync, W.rep[1].count == 1, 2000));
    tu_lock(&W.sync);
    ck_assert_msg(W.rep[1].ok, "bad reply: %s", W.rep[1].error);
    ck_assert(W.rep[1].on_b_main);
    ck_assert_int_eq(W.narecv, 1);
    ck_assert_uint_ne(W.arecv[0].corr, 0); /* a call carries a correlation id */
    ck_assert_uint_eq(W.arecv[0].flags & FL_FRAME_F_RESPONSE, 0);
    tu_unlock(&W.sync);
}
END_TEST

START_TEST(test_concurrent_calls_answered_out_of_order)
{
    W.mode = MODE_HOLD;
    W.hold_target = NCALLS;
    for (int i = 0; i < NCALLS; i++)
        b_call(i, 3000);
    ck_assert_msg(TU_WAIT_FOR(&W.sync, W.nrep == NCALLS, 3000), "%d of %d answers", W.nrep,
                  NCALLS);
    tu_lock(&W.sync);
    for (int i = 0; i < NCALLS; i++) {
        ck_assert_msg(W.rep[i].count == 1, "call %d answered %d times", i, W.rep[i].count);
        ck_assert_msg(W.rep[i].ok, "call %d got another call's answer (%s)", i, W.rep[i].error);
    }
    /* A answered in a scrambled order, so the answers arrived out of order. */
    int ascending = 0, descending = 0;
    for (int i = 1; i < NCALLS; i++) {
        ascending += W.rep_order[i] > W.rep_order[i - 1];
        descending += W.rep_order[i] < W.rep_order[i - 1];
    }
    ck_assert_msg(ascending > 8 && descending > 8, "answers came in order (%d up, %d down)",
                  ascending, descending);
    /* Every request had its own correlation id. */
    for (int i = 0; i < NCALLS; i++)
        for (int j = i + 1; j < NCALLS; j++)
            ck_assert_uint_ne(W.arecv[i].corr, W.arecv[j].corr);
    tu_unlock(&W.sync);
}
END_TEST

START_TEST(test_call_times_out_within_deadline)
{
    W.mode = MODE_HOLD;
    W.hold_target = 1000; /* never reached: A keeps the request unanswered */
    int64_t t0 = tu_now_ms();
    b_call(2, 300);
    ck_assert(TU_WAIT_FOR(&W.sync, W.rep[2].count == 1, 3000));
    int64_t took = W.rep[2].at_ms - t0;
    ck_assert_msg(strstr(W.rep[2].error, "timed out") != NULL, "error: %s", W.rep[2].error);
    ck_assert_msg(took >= 290 && took < 1500, "timed out after %lld ms for 300",
                  (long long)took);
    ck_assert(W.rep[2].on_b_main);

    /* The answer comes late: it is dropped, the call is not answered twice, and the
     * connection stays up. */
    tu_lock(&W.sync);
    ck_assert_int_eq(W.nheld, 1);
    fl_rpc_msg *late = W.held[0];
    W.nheld = 0;
    tu_unlock(&W.sync);
    echo_reply(late);
    fl_rpc_msg_free(late);
    assert_b_to_a_still_works(3); /* its answer travels after the late one */
    ck_assert_int_eq(W.rep[2].count, 1);
}
END_TEST

START_TEST(test_call_on_closing_connection_fails)
{
    W.mode = MODE_CLOSE; /* A closes the connection the request came on */
    int64_t t0 = tu_now_ms();
    b_call(4, 5000);
    ck_assert(TU_WAIT_FOR(&W.sync, W.rep[4].count == 1, 3000));
    ck_assert_msg(W.rep[4].at_ms - t0 < 2000, "the error waited for the deadline");
    ck_assert_msg(strstr(W.rep[4].error, "closed") != NULL, "error: %s", W.rep[4].error);
    ck_assert(TU_WAIT_FOR(&W.sync, W.b_down == 1, 2000));
    /* A call on the dead connection fails at once. */
    b_call(5, 5000);
    ck_assert(TU_WAIT_FOR(&W.sync, W.rep[5].count == 1, 2000));
    ck_assert_msg(strstr(W.rep[5].error, "not connected") != NULL, "error: %s", W.rep[5].error);
}
END_TEST

START_TEST(test_call_pending_when_peer_service_stops)
{
    W.mode = MODE_HOLD;
    W.hold_target = 1000;
    b_call(6, 5000);
    ck_assert(TU_WAIT_FOR(&W.sync, W.nheld == 1, 2000));
    int64_t t0 = tu_now_ms();
    fl_rpc_free(W.a.rpc);
    W.a.rpc = NULL;
    ck_assert(TU_WAIT_FOR(&W.sync, W.rep[6].count == 1, 3000));
    ck_assert_msg(W.rep[6].at_ms - t0 < 2000, "the error waited for the deadline");
    ck_assert_ptr_null(strstr(W.rep[6].error, "timed out"));
    ck_assert(TU_WAIT_FOR(&W.sync, W.b_down == 1, 2000));
}
END_TEST

START_TEST(test_call_unknown_connection_fails_at_once)
{
    Fl__Pb__HeartbeatRequest req = FL__PB__HEARTBEAT_REQUEST__INIT;
    int64_t t0 = tu_now_ms();
    fl_rpc_call(W.b.rpc, 987654, FL_RPC_HEARTBEAT_REQUEST, &req.base, 5000, W.b.ep, b_reply,
                (void *)(intptr_t)7);
    ck_assert(TU_WAIT_FOR(&W.sync, W.rep[7].count == 1, 2000));
    ck_assert_int_lt(W.rep[7].at_ms - t0, 1000);
    ck_assert_msg(strstr(W.rep[7].error, "not connected") != NULL, "error: %s", W.rep[7].error);
}
END_TEST

START_TEST(test_connect_refused_reports_down)
{
    /* A port nobody listens on: bind one, learn it, close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    int port = ntohs(sa.sin_port);
    close(fd);
    fl_rpc_connect(W.b.rpc, "127.0.0.1", port, 1000, W.b.ep, b_conn_fn);
    ck_assert(TU_WAIT_FOR(&W.sync, W.b_down == 1, 3000));
    ck_assert_int_eq(W.b_up, 1); /* only the fixture's connection ever came up */
    ck_assert(W.b_why[0] != '\0');
    /* The failed attempt closed only itself: the fixture's connection still works (its
     * down count is the refused attempt's, so check traffic directly). */
    b_send_heartbeat("after-refused");
    ck_assert(TU_WAIT_FOR(&W.sync, find_arecv("after-refused") >= 0, 2000));
}
END_TEST

/* ---- tests: raw clients ----------------------------------------------------------- */

START_TEST(test_raw_valid_frames_are_served)
{
    /* The control for the bad-input tests below: the same hand-built framing, when valid,
     * is delivered and answered, and does not close the connection. */
    W.mode = MODE_ECHO;
    int fd = raw_connect(W.a.port, NULL);
    uint8_t pb[64], frame[128];
    size_t pn = pb_heartbeat_request(pb, "abc");
    size_t n = raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, (uint32_t)pn, 0, pb, pn);
    raw_send(fd, frame, n);
    ck_assert(TU_WAIT_FOR(&W.sync, find_arecv("abc") >= 0, 2000));
    /* Admitted (answered after A admitted it): responses are read from it from now on. */
    pn = pb_heartbeat_request(pb, "admit-me");
    n = raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, (uint32_t)pn, 76, pb, pn);
    raw_send(fd, frame, n);
    raw_expect_echo(fd, 76, "admit-me");
    /* A response to a call nobody made is dropped quietly. */
    n = raw_frame(frame, FL_FRAME_F_RESPONSE, FL_RPC_ACK, 0, 424242, NULL, 0);
    raw_send(fd, frame, n);
    /* A call: the answer comes back with our correlation id. */
    pn = pb_heartbeat_request(pb, "abc2");
    n = raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, (uint32_t)pn, 77, pb, pn);
    raw_send(fd, frame, n);
    raw_expect_echo(fd, 77, "abc2");
    ck_assert_int_eq(W.a_down, 0);
    close(fd);
}
END_TEST

START_TEST(test_raw_garbage_closes_only_that_connection)
{
    static const char garbage[] = "GET / HTTP/1.0\r\nHost: flint\r\n\r\n";
    raw_bad_input_closes(garbage, sizeof garbage - 1, "not a Flint frame");
}
END_TEST

START_TEST(test_raw_one_gib_length_closes_before_payload)
{
    uint8_t frame[16];
    raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, 1u << 30, 1, NULL, 0);
    raw_bad_input_closes(frame, sizeof frame, "exceeds the maximum");
}
END_TEST

START_TEST(test_raw_unknown_type_closes)
{
    uint8_t frame[32];
    size_t n = raw_frame(frame, 0, 999, 2, 1, "\x08\x01", 2);
    raw_bad_input_closes(frame, n, "unknown message type 999");
}
END_TEST

START_TEST(test_raw_unrouted_type_closes)
{
    /* ACK is a known type, but A routes no one-way ACKs. */
    uint8_t frame[32];
    size_t n = raw_frame(frame, 0, FL_RPC_ACK, 2, 0, "\x08\x01", 2);
    raw_bad_input_closes(frame, n, "unexpected message type ACK");
}
END_TEST

START_TEST(test_raw_undecodable_payload_closes)
{
    /* Field 1 (string) claims 127 bytes and has 1. */
    uint8_t frame[32];
    size_t n = raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, 3, 0, "\x0a\x7f" "a", 3);
    raw_bad_input_closes(frame, n, "undecodable HEARTBEAT_REQUEST payload");
}
END_TEST

START_TEST(test_raw_garbage_after_valid_frame_closes)
{
    uint8_t pb[16], frame[64];
    size_t pn = pb_heartbeat_request(pb, "first");
    size_t n = raw_frame(frame, 0, FL_RPC_HEARTBEAT_REQUEST, (uint32_t)pn, 0, pb, pn);
    memcpy(frame + n, "\x00\x01\x02", 3);
    raw_bad_input_closes(frame, n + 3, "not a Flint frame");
    tu_lock(&W.sync);
    ck_assert_int_ge(find_arecv("first"), 0); /* the good frame before it was delivered */
    tu_unlock(&W.sync);
}
END_TEST

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

static Suite *rpc_suite(void)
{
    Suite *s = suite_create("rpc");
    TCase *tc = tcase_create("messages");
    tcase_add_checked_fixture(tc, world_setup, world_teardown);
    tcase_add_test(tc, test_listen_reports_bound_port);
    tcase_add_test(tc, test_type_table);
    tcase_add_test(tc, test_one_way_send_routed_by_type);
    tcase_add_test(tc, test_one_way_sends_keep_order);
    tcase_add_test(tc, test_send_to_unknown_connection_is_dropped);
    tcase_add_test(tc, test_connect_refused_reports_down);
    suite_add_tcase(s, tc);

    tc = tcase_create("calls");
    tcase_add_checked_fixture(tc, world_setup, world_teardown);
    tcase_add_test(tc, test_call_gets_its_response);
    tcase_add_test(tc, test_concurrent_calls_answered_out_of_order);
    tcase_add_test(tc, test_call_times_out_within_deadline);
    tcase_add_test(tc, test_call_on_closing_connection_fails);
    tcase_add_test(tc, test_call_pending_when_peer_service_stops);
    tcase_add_test(tc, test_call_unknown_connection_fails_at_once);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad-peers");
    tcase_add_checked_fixture(tc, world_setup, world_teardown);
    tcase_add_test(tc, test_raw_valid_frames_are_served);
    tcase_add_test(tc, test_raw_garbage_closes_only_that_connection);
    tcase_add_test(tc, test_raw_one_gib_length_closes_before_payload);
    tcase_add_test(tc, test_raw_unknown_type_closes);
    tcase_add_test(tc, test_raw_unrouted_type_closes);
    tcase_add_test(tc, test_raw_undecodable_payload_closes);
    tcase_add_test(tc, test_raw_garbage_after_valid_frame_closes);
    suite_add_tcase(s, tc);

    tc = tcase_create("trust");
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
    return tu_run(rpc_suite());
}
