/* rpc.c -- see rpc.h. Everything below "rpc thread" runs on the service's own endpoint. */
#include "rpc.h"
#include "frame.h"
#include "log.h"
#include "netaddr.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

typedef struct route {
    uint16_t type;
    bool open; /* also from accepted connections not admitted yet */
    fl_endpoint *ep;
    fl_rpc_handler fn;
} route;

typedef struct rconn {
    struct rconn *next;
    struct fl_rpc *rpc;
    fl_conn_id id;
    struct bufferevent *bev;
    char peer[64];
    bool up;               /* reported up to its owner (after the secret handshake) */
    bool accepted;         /* by our listener (else opened by us: trusted) */
    bool admitted;         /* accepted, and its owner knows who it is (fl_rpc_admit) */
    bool authing;          /* the cluster-secret handshake is under way */
    fl_auth auth;
    fl_conn_guard g;       /* its share of the port's bounds */
    fl_endpoint *owner_ep; /* told when the connection comes up and goes down */
    fl_rpc_conn_fn owner_fn;
} rconn;

typedef struct pending {
    struct pending *next;
    uint64_t corr;
    fl_conn_id conn;
    fl_endpoint *ep;
    fl_rpc_reply_fn fn;
    void *arg;
    struct event *timer;
    int64_t timeout_ms;
    struct fl_rpc *rpc;
} pending;

struct fl_rpc {
    fl_endpoint *ep;
    uint32_t max_frame;
    fl_connlimit cl;            /* the port's bounds (rpc thread after start) */
    fl_secret secret;
    fl_tls *tls;                /* internal TLS (tls.h), NULL when off; not ours */
    struct event *sweep;        /* closes connections that overstay their deadlines */
    fl_ratelimit rl_close;      /* "closing RPC connection" lines */
    struct evconnlistener *listener;
    route routes[64];
    size_t nroutes;
    fl_endpoint *watch_ep;
    fl_rpc_conn_fn watch_fn;
    rconn *conns;        /* rpc thread */
    pending *pendings;  /* rpc thread */
    atomic_uint_fast64_t next_conn, next_corr;
};

/* ---- deliveries to endpoints ------------------------------------------------------ */

typedef struct msg_delivery {
    fl_rpc_handler fn;
    fl_rpc_msg *msg;
} msg_delivery;

void fl_rpc_msg_free(fl_rpc_msg *msg)
{
    if (!msg)
        return;
    if (msg->pb)
        protobuf_c_message_free_unpacked(msg->pb, NULL);
    free(msg);
}

void fl_rpc_msg_drop(void *msg)
{
    fl_rpc_msg_free(msg);
}

static void run_msg(void *ctx, void *arg)
{
    msg_delivery *d = arg;
    d->fn(ctx, d->msg);
    free(d);
}

static void drop_msg(void *arg)
{
    msg_delivery *d = arg;
    fl_rpc_msg_free(d->msg);
    free(d);
}

typedef struct conn_event {
    fl_rpc_conn_fn fn;
    fl_conn_id conn;
    bool up;
    char peer[64];
    char why[256];
} conn_event;

static void run_conn_event(void *ctx, void *arg)
{
    conn_event *e = arg;
    e->fn(ctx, e->conn, e->peer, e->up, e->why);
    free(e);
}

static void notify_conn(fl_endpoint *ep, fl_rpc_conn_fn fn, fl_conn_id id, const char *peer,
                        bool up, const char *why)
{
    if (!ep || !fn)
        return;
    conn_event *e = fl_xcalloc(1, sizeof *e);
    e->fn = fn;
    e->conn = id;
    e->up = up;
    snprintf(e->peer, sizeof e->peer, "%s", peer);
    snprintf(e->why, sizeof e->why, "%s", why ? why : "");
    fl_endpoint_post(ep, run_conn_event, e, free);
}

typedef struct reply_delivery {
    fl_rpc_reply_fn fn;
    void *arg;
    fl_rpc_msg *reply;
    char error[256];
} reply_delivery;

static void run_reply(void *ctx, void *arg)
{
    reply_delivery *d = arg;
    d->fn(ctx, d->arg, d->reply, d->reply ? NULL : d->error);
    free(d);
}

static void drop_reply(void *arg)
{
    reply_delivery *d = arg;
    fl_rpc_msg_free(d->reply);
    free(d);
}

/* Completes a pending call (rpc thread); takes reply. */
static void finish_pending(pending *p, fl_rpc_msg *reply, const char *error)
{
    reply_delivery *d = fl_xcalloc(1, sizeof *d);
    d->fn = p->fn;
    d->arg = p->arg;
    d->reply = reply;
    if (error)
        snprintf(d->error, sizeof d->error, "%s", error);
    fl_endpoint_post(p->ep, run_reply, d, drop_reply);
    if (p->timer)
        event_free(p->timer);
    free(p);
}

/* The pending call corr made on conn (a response from another connection matches nothing). */
static pending *unlink_pending(fl_rpc *rpc, uint64_t corr, fl_conn_id conn)
{
    for (pending **pp = &rpc->pendings; *pp; pp = &(*pp)->next) {
        if ((*pp)->corr == corr && (*pp)->conn == conn) {
            pending *p = *pp;
            *pp = p->next;
            return p;
        }
    }
    return NULL;
}

/* ---- connections (rpc thread) ----------------------------------------------------- */

static rconn *find_conn(fl_rpc *rpc, fl_conn_id id)
{
    for (rconn *c = rpc->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void close_conn(fl_rpc *rpc, rconn *c, const char *why)
{
    for (rconn **cp = &rpc->conns; *cp; cp = &(*cp)->next) {
        if (*cp == c) {
            *cp = c->next;
            break;
        }
    }
    bufferevent_free(c->bev);
    fl_connlimit_release(&rpc->cl, &c->g);
    char msg[256];
    snprintf(msg, sizeof msg, "connection to %s closed: %s", c->peer, why);
    for (pending **pp = &rpc->pendings; *pp;) {
        pending *p = *pp;
        if (p->conn == c->id) {
            *pp = p->next;
            finish_pending(p, NULL, msg);
        } else {
            pp = &p->next;
        }
    }
    if (c->up || !c->accepted) /* an accepted one was never reported before it came up */
        notify_conn(c->owner_ep, c->owner_fn, c->id, c->peer, false, why);
    free(c);
}

/* Closes c after bad input, with a log line (at most 5 per 10 s: a flood costs a few). */
static void refuse_conn(fl_rpc *rpc, rconn *c, const char *why)
{
    fl_log_rl(&rpc->rl_close, 5, FL_LOG_WARN, 10, "closing RPC connection with %s: %s", c->peer,
              why);
    close_conn(rpc, c, why);
}

static const route *find_route(const fl_rpc *rpc, uint16_t type)
{
    for (size_t i = 0; i < rpc->nroutes; i++)
        if (rpc->routes[i].type == type)
            return &rpc->routes[i];
    return NULL;
}

/* Handles one complete frame whose payload is next in `in`. -1 closes the connection. */
static int handle_frame(fl_rpc *rpc, rconn *c, const fl_frame_hdr *h, struct evbuffer *in,
                        char *why, size_t whylen)
{
    const ProtobufCMessageDescriptor *desc = fl_rpc_type_descriptor(h->type);
    const route *r = NULL;
    pending *p = NULL;
    if (!desc) {
        snprintf(why, whylen, "unknown message type %u", h->type);
        return -1;
    }
    bool trusted = !c->accepted || c->admitted;
    if ((h->flags & FL_FRAME_F_RESPONSE) && !trusted) {
        snprintf(why, whylen, "a response (%s) from a connection that has not registered",
                 fl_rpc_type_name(h->type));
        return -1;
    }
    if (h->flags & FL_FRAME_F_RESPONSE) {
        p = unlink_pending(rpc, h->corr, c->id);
        if (!p) { /* a late answer to a call that timed out */
            fl_debug("dropping late %s from %s (correlation id %llu)", fl_rpc_type_name(h->type),
                     c->peer, (unsigned long long)h->corr);
            evbuffer_drain(in, h->len);
            return 0;
        }
    } else if (!(r = find_route(rpc, h->type))) {
        snprintf(why, whylen, "unexpected message type %s", fl_rpc_type_name(h->type));
        return -1;
    } else if (!r->open && !trusted) {
        snprintf(why, whylen, "%s from a connection that has not registered",
                 fl_rpc_type_name(h->type));
        return -1;
    }
    const uint8_t *payload = h->len ? evbuffer_pullup(in, h->len) : (const uint8_t *)"";
    ProtobufCMessage *pb = protobuf_c_message_unpack(desc, NULL, h->len, payload);
    evbuffer_drain(in, h->len);
    if (!pb) {
        snprintf(why, whylen, "undecodable %s payload of %u bytes", fl_rpc_type_name(h->type),
                 h->len);
        if (p)
            finish_pending(p, NULL, why);
        return -1;
    }
    fl_rpc_msg *m = fl_xcalloc(1, sizeof *m);
    m->conn = c->id;
    m->type = h->type;
    m->flags = h->flags;
    m->corr = h->corr;
    m->pb = pb;
    snprintf(m->peer, sizeof m->peer, "%s", c->peer);
    if (p) {
        finish_pending(p, m, NULL);
    } else {
        msg_delivery *d = fl_xmalloc(sizeof *d);
        d->fn = r->fn;
        d->msg = m;
        fl_endpoint_post(r->ep, run_msg, d, drop_msg);
    }
    return 0;
}

/* The cluster-secret handshake is done: the connection is what it claims, report it up. */
static void auth_done(fl_rpc *rpc, rconn *c)
{
    c->authing = false;
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    c->up = true;
    notify_conn(c->owner_ep, c->owner_fn, c->id, c->peer, true, NULL);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    rconn *c = arg;
    fl_rpc *rpc = c->rpc;
    struct evbuffer *in = bufferevent_get_input(bev);
    fl_frame_hdr h;
    fl_err err;
    char why[300];
    bool progressed = false;
    if (c->authing) {
        int rc = fl_auth_step(&c->auth, in, bufferevent_get_output(bev), why, sizeof why);
        if (rc < 0)
            goto refuse;
        if (rc == 0)
            goto track;
        auth_done(rpc, c);
    }
    /* a connection that has not registered sends small frames only */
    uint32_t max = !c->accepted || c->admitted ? rpc->max_frame
                                                : FL_MIN(rpc->max_frame, rpc->cl.c.handshake_frame);
    for (;;) {
        int rc = fl_frame_next(in, max, &h, &err);
        if (rc == 0)
            goto track;
        if (rc < 0) {
            snprintf(why, sizeof why, "%.290s", err.msg);
            goto refuse;
        }
        if (fl_auth_is_handshake_type(h.type) && !c->accepted && !rpc->secret.set) {
            snprintf(why, sizeof why, "the peer requires the cluster secret, but "
                                      "security.cluster.secret-file is not set here");
            goto refuse;
        }
        if (handle_frame(rpc, c, &h, in, why, sizeof why) < 0)
            goto refuse;
        progressed = true;
    }
track:
    if (fl_connlimit_track(&rpc->cl, &c->g, in, progressed, why, sizeof why) == 0)
        return;
refuse:
    refuse_conn(rpc, c, why);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    rconn *c = arg;
    fl_rpc *rpc = c->rpc;
    if (what & BEV_EVENT_CONNECTED) {
        fl_tcp_tune(bufferevent_getfd(bev));
        if (rpc->secret.set) {
            /* up once both sides proved the secret; the acceptor speaks first */
            struct timeval tv = {rpc->cl.c.handshake_ms / 1000,
                                 (rpc->cl.c.handshake_ms % 1000) * 1000};
            bufferevent_set_timeouts(bev, &tv, NULL);
            fl_auth_connect(&c->auth, &rpc->secret);
            c->authing = true;
            return;
        }
        bufferevent_set_timeouts(bev, NULL, NULL);
        c->up = true;
        notify_conn(c->owner_ep, c->owner_fn, c->id, c->peer, true, NULL);
        return;
    }
    const char *why = (what & BEV_EVENT_EOF)       ? "closed by peer"
                    : c->authing && (what & BEV_EVENT_TIMEOUT)
                        ? "no cluster-secret handshake from the peer (is "
                          "security.cluster.secret-file set on every daemon?)"
                    : (what & BEV_EVENT_TIMEOUT)   ? "connect timed out"
                    : EVUTIL_SOCKET_ERROR() != 0   ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
                                                   : "error";
    char buf[400], tls[300];
    const char *tls_why = (what & BEV_EVENT_ERROR) ? fl_tls_error(bev, tls, sizeof tls) : NULL;
    snprintf(buf, sizeof buf, "%s", tls_why ? tls_why : why);
    if (tls_why) /* a peer without a certificate of the cluster's CA, or not speaking TLS */
        fl_log_rl(&rpc->rl_close, 5, FL_LOG_WARN, 10, "refusing the RPC connection %s %s: %s",
                  c->accepted ? "from" : "to", c->peer, tls_why);
    if (!c->up)
        fl_debug("connecting to %s failed: %s", c->peer, buf);
    if (c->authing)
        fl_log_rl(&rpc->rl_close, 5, FL_LOG_WARN, 10, "closing RPC connection with %s during "
                  "the cluster-secret handshake: %s", c->peer, buf);
    close_conn(rpc, c, buf);
}

static rconn *add_conn(fl_rpc *rpc, struct bufferevent *bev, const char *peer, fl_endpoint *ep,
                      fl_rpc_conn_fn fn)
{
    rconn *c = fl_xcalloc(1, sizeof *c);
    c->rpc = rpc;
    c->id = atomic_fetch_add(&rpc->next_conn, 1);
    c->bev = bev;
    c->owner_ep = ep;
    c->owner_fn = fn;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    c->next = rpc->conns;
    rpc->conns = c;
    bufferevent_setcb(bev, on_read, NULL, on_event, c);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    return c;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    fl_rpc *rpc = arg;
    char peer[64];
    fl_conn_guard g;
    fl_sockaddr_str(sa, peer, sizeof peer);
    if (!fl_connlimit_accept(&rpc->cl, &g, peer)) {
        evutil_closesocket(fd);
        return;
    }
    fl_tcp_tune(fd);
    struct bufferevent *bev =
        rpc->tls ? fl_tls_accept_bev(rpc->tls, evconnlistener_get_base(l), fd)
                 : bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        fl_connlimit_release(&rpc->cl, &g);
        evutil_closesocket(fd);
        return;
    }
    rconn *c = add_conn(rpc, bev, peer, rpc->watch_ep, rpc->watch_fn);
    c->accepted = true;
    c->g = g;
    if (rpc->secret.set) {
        fl_auth_accept(&c->auth, &rpc->secret, bufferevent_get_output(bev));
        c->authing = true; /* reported up once the peer proved the secret */
        return;
    }
    c->up = true;
    notify_conn(c->owner_ep, c->owner_fn, c->id, c->peer, true, NULL);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    fl_connlimit_accept_error(&((fl_rpc *)arg)->cl);
}

/* Every second: connections that overstayed their handshake or a partial frame go. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    fl_rpc *rpc = arg;
    int64_t now = fl_mono_ms();
    char why[300];
    fl_connlimit_tick(&rpc->cl);
    for (rconn *c = rpc->conns, *next; c; c = next) {
        next = c->next;
        if (fl_connlimit_expired(&rpc->cl, &c->g, c->peer, now, why, sizeof why))
            close_conn(rpc, c, why);
    }
}

/* ---- requests from other threads -------------------------------------------------- */

typedef struct out_frame {
    fl_rpc *rpc;
    fl_conn_id conn;
    size_t len;
    uint8_t *bytes;
    pending *call; /* set for fl_rpc_call */
} out_frame;

static void drop_out(void *arg)
{
    out_frame *o = arg;
    if (o->call) {
        o->call->ep = NULL; /* the service is gone: nobody can be told */
        free(o->call);
    }
    free(o->bytes);
    free(o);
}

static void on_call_timeout(evutil_socket_t fd, short what, void *arg)
{
    pending *p = arg;
    fl_rpc *rpc = p->rpc;
    char msg[128];
    unlink_pending(rpc, p->corr, p->conn);
    snprintf(msg, sizeof msg, "request timed out after %lld ms", (long long)p->timeout_ms);
    finish_pending(p, NULL, msg);
}

static void do_send(void *ctx, void *arg)
{
    out_frame *o = arg;
    fl_rpc *rpc = o->rpc;
    rconn *c = find_conn(rpc, o->conn);
    if (o->call) {
        pending *p = o->call;
        o->call = NULL;
        if (!c) {
            finish_pending(p, NULL, "not connected");
            goto out;
        }
        p->rpc = rpc;
        p->timer = evtimer_new(fl_endpoint_base(rpc->ep), on_call_timeout, p);
        struct timeval tv = {p->timeout_ms / 1000, (p->timeout_ms % 1000) * 1000};
        evtimer_add(p->timer, &tv);
        p->next = rpc->pendings;
        rpc->pendings = p;
    }
    if (c)
        bufferevent_write(c->bev, o->bytes, o->len);
out:
    free(o->bytes);
    free(o);
}

static out_frame *pack(fl_rpc *rpc, fl_conn_id conn, uint16_t type, uint8_t flags, uint64_t corr,
                       const ProtobufCMessage *msg)
{
    const ProtobufCMessageDescriptor *desc = fl_rpc_type_descriptor(type);
    if (desc != msg->descriptor) {
        fl_error("BUG: message %s sent as type %s", msg->descriptor->name,
                 fl_rpc_type_name(type));
        abort();
    }
    size_t n = protobuf_c_message_get_packed_size(msg);
    out_frame *o = fl_xcalloc(1, sizeof *o);
    o->rpc = rpc;
    o->conn = conn;
    o->len = FL_FRAME_HDR_LEN + n;
    o->bytes = fl_xmalloc(o->len);
    fl_frame_hdr h = {.flags = flags, .type = type, .len = (uint32_t)n, .corr = corr};
    fl_frame_hdr_encode(&h, o->bytes);
    protobuf_c_message_pack(msg, o->bytes + FL_FRAME_HDR_LEN);
    return o;
}

int fl_rpc_send(fl_rpc *rpc, fl_conn_id conn, uint16_t type, const ProtobufCMessage *msg)
{
    return fl_endpoint_post(rpc->ep, do_send, pack(rpc, conn, type, 0, 0, msg), drop_out);
}

int fl_rpc_reply(fl_rpc *rpc, const fl_rpc_msg *req, uint16_t type, const ProtobufCMessage *msg)
{
    out_frame *o = pack(rpc, req->conn, type, FL_FRAME_F_RESPONSE, req->corr, msg);
    return fl_endpoint_post(rpc->ep, do_send, o, drop_out);
}

void fl_rpc_call(fl_rpc *rpc, fl_conn_id conn, uint16_t type, const ProtobufCMessage *msg,
                 int64_t timeout_ms, fl_endpoint *ep, fl_rpc_reply_fn fn, void *arg)
{
    uint64_t corr = atomic_fetch_add(&rpc->next_corr, 1);
    out_frame *o = pack(rpc, conn, type, 0, corr, msg);
    pending *p = fl_xcalloc(1, sizeof *p);
    p->corr = corr;
    p->conn = conn;
    p->ep = ep;
    p->fn = fn;
    p->arg = arg;
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    o->call = p;
    fl_endpoint_post(rpc->ep, do_send, o, drop_out);
}

typedef struct connect_req {
    fl_rpc *rpc;
    struct sockaddr_storage ss;
    int sslen;
    char peer[64];
    int64_t timeout_ms;
    fl_endpoint *ep;
    fl_rpc_conn_fn fn;
    char error[256];
} connect_req;

static void do_connect(void *ctx, void *arg)
{
    connect_req *r = arg;
    fl_rpc *rpc = r->rpc;
    if (r->error[0]) {
        notify_conn(r->ep, r->fn, atomic_fetch_add(&rpc->next_conn, 1), r->peer, false,
                    r->error);
        free(r);
        return;
    }
    struct bufferevent *bev =
        rpc->tls ? fl_tls_connect_bev(rpc->tls, fl_endpoint_base(rpc->ep))
                 : bufferevent_socket_new(fl_endpoint_base(rpc->ep), -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        notify_conn(r->ep, r->fn, atomic_fetch_add(&rpc->next_conn, 1), r->peer, false,
                    "cannot create a socket");
        free(r);
        return;
    }
    rconn *c = add_conn(rpc, bev, r->peer, r->ep, r->fn);
    struct timeval tv = {r->timeout_ms / 1000, (r->timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(bev, NULL, &tv);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&r->ss, r->sslen) < 0) {
        /* on_event may already have closed it; look it up again */
        rconn *still = find_conn(rpc, c->id);
        if (still)
            close_conn(rpc, still, "connect failed");
    }
    free(r);
}

void fl_rpc_connect(fl_rpc *rpc, const char *host, int port, int64_t timeout_ms, fl_endpoint *ep,
                    fl_rpc_conn_fn fn)
{
    connect_req *r = fl_xcalloc(1, sizeof *r);
    fl_err err;
    r->rpc = rpc;
    r->ep = ep;
    r->fn = fn;
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
    snprintf(r->peer, sizeof r->peer, "%s:%d", host, port);
    if (fl_resolve(host, port, &r->ss, &r->sslen, &err) < 0)
        snprintf(r->error, sizeof r->error, "%.250s", err.msg);
    else
        fl_sockaddr_str((struct sockaddr *)&r->ss, r->peer, sizeof r->peer);
    fl_endpoint_post(rpc->ep, do_connect, r, free);
}

static void do_close(void *ctx, void *arg)
{
    fl_rpc *rpc = ctx;
    fl_conn_id *id = arg;
    rconn *c = find_conn(rpc, *id);
    if (c)
        close_conn(rpc, c, "closed locally");
    free(id);
}

static void do_admit(void *ctx, void *arg)
{
    fl_rpc *rpc = ctx;
    fl_conn_id *id = arg;
    rconn *c = find_conn(rpc, *id);
    if (c) {
        c->admitted = true;
        c->g.established = true;
    }
    free(id);
}

void fl_rpc_admit(fl_rpc *rpc, fl_conn_id conn)
{
    fl_conn_id *id = fl_xmalloc(sizeof *id);
    *id = conn;
    fl_endpoint_post(rpc->ep, do_admit, id, free);
}

void fl_rpc_close(fl_rpc *rpc, fl_conn_id conn)
{
    fl_conn_id *id = fl_xmalloc(sizeof *id);
    *id = conn;
    fl_endpoint_post(rpc->ep, do_close, id, free);
}

/* ---- life cycle ------------------------------------------------------------------- */

fl_rpc *fl_rpc_new(const char *name, uint32_t max_frame)
{
    fl_rpc *rpc = fl_xcalloc(1, sizeof *rpc);
    rpc->ep = fl_endpoint_new(name);
    if (!rpc->ep) {
        free(rpc);
        return NULL;
    }
    rpc->max_frame = max_frame;
    fl_connlimit_conf lc;
    fl_connlimit_conf_default(&lc, "RPC");
    fl_connlimit_init(&rpc->cl, &lc);
    rpc->sweep = event_new(fl_endpoint_base(rpc->ep), -1, EV_PERSIST, on_sweep, rpc);
    struct timeval tv = {1, 0};
    event_add(rpc->sweep, &tv);
    atomic_init(&rpc->next_conn, 1);
    atomic_init(&rpc->next_corr, 1);
    return rpc;
}

void fl_rpc_set_limits(fl_rpc *rpc, const fl_connlimit_conf *limits)
{
    fl_connlimit_init(&rpc->cl, limits);
}

void fl_rpc_set_secret(fl_rpc *rpc, const fl_secret *secret)
{
    rpc->secret = *secret;
}

void fl_rpc_set_tls(fl_rpc *rpc, fl_tls *tls)
{
    rpc->tls = tls;
}

int fl_rpc_listen(fl_rpc *rpc, const char *bind_host, int port, int *bound_port, fl_err *err)
{
    struct sockaddr_storage ss;
    int sslen;
    if (fl_resolve(bind_host, port, &ss, &sslen, err) < 0)
        return -1;
    rpc->listener = evconnlistener_new_bind(fl_endpoint_base(rpc->ep), on_accept, rpc,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                                LEV_OPT_CLOSE_ON_EXEC,
                                            FL_LISTEN_BACKLOG, (struct sockaddr *)&ss, sslen);
    if (!rpc->listener) {
        char addr[64];
        fl_sockaddr_str((struct sockaddr *)&ss, addr, sizeof addr);
        fl_err_set(err, "cannot listen on %s: %s", addr, strerror(errno));
        return -1;
    }
    fl_connlimit_watch(&rpc->cl, rpc->listener, on_accept_error);
    if (bound_port) {
        struct sockaddr_storage got;
        socklen_t len = sizeof got;
        getsockname(evconnlistener_get_fd(rpc->listener), (struct sockaddr *)&got, &len);
        *bound_port = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
                                                : ntohs(((struct sockaddr_in *)&got)->sin_port);
    }
    return 0;
}

static void add_route(fl_rpc *rpc, uint16_t type, bool open, fl_endpoint *ep, fl_rpc_handler fn)
{
    if (rpc->nroutes == FL_ARRAY_LEN(rpc->routes) || !fl_rpc_type_descriptor(type)) {
        fl_error("BUG: cannot route RPC type %u", type);
        abort();
    }
    rpc->routes[rpc->nroutes++] = (route){type, open, ep, fn};
}

void fl_rpc_route(fl_rpc *rpc, uint16_t type, fl_endpoint *ep, fl_rpc_handler fn)
{
    add_route(rpc, type, false, ep, fn);
}

void fl_rpc_route_open(fl_rpc *rpc, uint16_t type, fl_endpoint *ep, fl_rpc_handler fn)
{
    add_route(rpc, type, true, ep, fn);
}

void fl_rpc_watch(fl_rpc *rpc, fl_endpoint *ep, fl_rpc_conn_fn fn)
{
    rpc->watch_ep = ep;
    rpc->watch_fn = fn;
}

int fl_rpc_start(fl_rpc *rpc, fl_err *err)
{
    return fl_endpoint_start(rpc->ep, rpc, err);
}

static void do_shutdown(void *ctx, void *arg)
{
    fl_rpc *rpc = ctx;
    if (rpc->listener) {
        evconnlistener_free(rpc->listener);
        rpc->listener = NULL;
        rpc->cl.listener = NULL;
    }
    if (rpc->sweep)
        event_del(rpc->sweep);
    while (rpc->conns) {
        rconn *c = rpc->conns;
        c->owner_ep = NULL; /* shutting down: nobody to tell */
        /* Best effort to get queued messages (a TaskManager's Disconnect) out first. */
        evutil_socket_t fd = bufferevent_getfd(c->bev);
        struct evbuffer *out = bufferevent_get_output(c->bev);
        if (fd >= 0 && c->up) {
            /* A socket bufferevent freezes its output's start; we are its last user. */
            evbuffer_unfreeze(out, 1);
            while (evbuffer_get_length(out) && evbuffer_write(out, fd) > 0)
                ;
            /* Close gracefully: a socket closed with unread input sends RST, and the peer
             * may then drop what we just wrote. */
            char sink[4096];
            shutdown(fd, SHUT_WR);
            while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0)
                ;
        }
        close_conn(rpc, c, "shutting down");
    }
}

void fl_rpc_stop(fl_rpc *rpc)
{
    if (!rpc)
        return;
    fl_endpoint_post(rpc->ep, do_shutdown, NULL, NULL);
    fl_endpoint_stop(rpc->ep);
    /* Not started, or mails raced the stop: close what is left on this thread. */
    do_shutdown(rpc, NULL);
}

void fl_rpc_free(fl_rpc *rpc)
{
    if (!rpc)
        return;
    fl_rpc_stop(rpc);
    while (rpc->pendings) {
        pending *p = rpc->pendings;
        rpc->pendings = p->next;
        event_free(p->timer);
        free(p);
    }
    if (rpc->sweep)
        event_free(rpc->sweep);
    fl_connlimit_free(&rpc->cl);
    fl_endpoint_free(rpc->ep);
    free(rpc);
}
