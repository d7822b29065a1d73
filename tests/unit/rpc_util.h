/* rpc_util.h -- what the RPC tests (check_rpc.c, check_rpc_trust.c) share: two RPC services
 * in one process on 127.0.0.1 and their endpoints (the fixture W, started with or without
 * cluster secrets or tight bounds), the handlers that record what they see, calls and
 * sends from B, and raw TCP clients that build frames and protobuf bytes by hand.
 * Header-only (static inline), as testutil.h, so each test binary stays one .c file.
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
#ifndef FL_RPC_UTIL_H
#define FL_RPC_UTIL_H

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

static inline void record(got_msg *g, const fl_rpc_msg *m)
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

static inline void echo_reply(const fl_rpc_msg *req)
{
    const Fl__Pb__HeartbeatRequest *r = (const Fl__Pb__HeartbeatRequest *)req->pb;
    Fl__Pb__HeartbeatResponse resp = FL__PB__HEARTBEAT_RESPONSE__INIT;
    resp.resource_id = "A";
    resp.registration_id = r->registration_id;
    ck_assert_int_eq(fl_rpc_reply(W.a.rpc, req, FL_RPC_HEARTBEAT_RESPONSE, &resp.base), 0);
}

static inline void a_on_heartbeat(void *ctx, fl_rpc_msg *m)
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

static inline void a_on_disconnect(void *ctx, fl_rpc_msg *m)
{
    tu_lock(&W.sync);
    record(&W.arecv[W.narecv++], m);
    tu_unlock_signal(&W.sync);
    fl_rpc_msg_free(m);
}

static inline void b_on_heartbeat(void *ctx, fl_rpc_msg *m)
{
    tu_lock(&W.sync);
    if (W.nbrecv < (int)(sizeof W.brecv / sizeof W.brecv[0]))
        record(&W.brecv[W.nbrecv++], m);
    tu_unlock_signal(&W.sync);
    fl_rpc_msg_free(m);
}

static inline void a_watch(void *ctx, fl_conn_id conn, const char *peer, bool up, const char *why)
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

static inline void a_on_gated(void *ctx, fl_rpc_msg *m)
{
    tu_lock(&W.sync);
    W.ngated++;
    tu_unlock_signal(&W.sync);
    fl_rpc_msg_free(m);
}

static inline void b_watch(void *ctx, fl_conn_id conn, const char *peer, bool up, const char *why)
{
    tu_lock(&W.sync);
    if (up && W.b_acc_up < 8)
        W.b_accepted[W.b_acc_up++] = conn;
    tu_unlock_signal(&W.sync);
}

static inline void b_conn_fn(void *ctx, fl_conn_id conn, const char *peer, bool up, const char *why)
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

static inline void b_reply(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
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
static inline void world_start(const fl_secret *sa, const fl_secret *sb, const fl_connlimit_conf *la,
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

static inline void world_setup(void)
{
    world_start(NULL, NULL, NULL, true);
}

static inline void world_teardown(void)
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

static inline void b_send_heartbeat(const char *reg)
{
    Fl__Pb__HeartbeatRequest req = FL__PB__HEARTBEAT_REQUEST__INIT;
    req.registration_id = (char *)reg;
    ck_assert_int_eq(fl_rpc_send(W.b.rpc, W.b_conn, FL_RPC_HEARTBEAT_REQUEST, &req.base), 0);
}

static inline void b_call(int i, int64_t timeout_ms)
{
    char reg[32];
    snprintf(reg, sizeof reg, "call-%d", i);
    Fl__Pb__HeartbeatRequest req = FL__PB__HEARTBEAT_REQUEST__INIT;
    req.registration_id = reg;
    fl_rpc_call(W.b.rpc, W.b_conn, FL_RPC_HEARTBEAT_REQUEST, &req.base, timeout_ms, W.b.ep,
                b_reply, (void *)(intptr_t)i);
}

/* Index of the message A received with registration id reg, or -1. Lock held. */
static inline int find_arecv(const char *reg)
{
    for (int i = 0; i < W.narecv; i++)
        if (strcmp(W.arecv[i].f1, reg) == 0)
            return i;
    return -1;
}

/* The established B->A connection still carries traffic both ways: a one-way send from B,
 * a call from B answered by A, and a one-way send from A to B on A's side of it. */
static inline void assert_b_to_a_still_works(int call_index)
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

static inline int raw_connect(int port, int *local_port)
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

static inline void raw_send(int fd, const void *bytes, size_t n)
{
    ck_assert_int_eq(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* True when the server closed fd (EOF or reset) within timeout_ms. Bytes that arrive first
 * are read and ignored. */
static inline bool raw_closed_within(int fd, int timeout_ms)
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
static inline bool raw_read_exact(int fd, void *out, size_t n, int timeout_ms)
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
static inline size_t raw_frame(uint8_t *out, uint8_t flags, uint16_t type, uint32_t len, uint64_t corr,
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
static inline void raw_expect_echo(int fd, uint64_t want_corr, const char *reg)
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
static inline size_t pb_heartbeat_request(uint8_t *out, const char *s)
{
    size_t n = strlen(s);
    out[0] = 0x0A;
    out[1] = (uint8_t)n;
    memcpy(out + 2, s, n);
    return 2 + n;
}

/* Connects a raw client, waits until A has accepted it, sends bytes, and checks that A
 * closes exactly that connection with one log line naming the peer and containing why. */
static inline void raw_bad_input_closes(const void *bytes, size_t n, const char *why)
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

#endif
