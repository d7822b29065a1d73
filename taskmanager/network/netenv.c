/* netenv.c -- the network thread: partition registry, data server, connections between
 * TaskManagers, the receiver side of remote channels (partition requests, credit) and the
 * thread's life cycle; the producer side (views, serving requests, sending with credit) is
 * sender.c. See README.md for the protocol and network_internal.h for the lock order.
 *
 * The network thread owns connections and views (a view is a remote consumer's handle on
 * one subpartition). Other threads reach it through its mailbox (requests, cancels) and
 * through a locked work list with an eventfd (views with new data, channels with new
 * credit), so nothing allocates per buffer.
 */
#include "common/frame.h"
#include "common/log.h"
#include "common/mailbox.h"
#include "common/netaddr.h"
#include "common/rpc.h"
#include "common/tls.h"
#include "common/util.h"
#include "netenv_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

/* ---- frames ----------------------------------------------------------------------- */

void fl_netenv_send_frame(netconn *nc, uint16_t type, uint64_t receiver, const void *payload,
                          uint32_t len)
{
    fl_frame_hdr h = {.type = type, .len = len, .corr = receiver};
    struct evbuffer *out = bufferevent_get_output(nc->bev);
    /* A directly written connection (plain TCP, handshake done) sends what is queued at the
     * end of the loop turn (sender.c, the direct writer), in one sendmsg(2): the credit of
     * several channels announced in one turn goes out together. */
    fl_frame_append(out, &h, payload);
}

void fl_netenv_send_error(netconn *nc, uint64_t receiver, const char *msg)
{
    fl_netenv_send_frame(nc, FL_NET_ERROR, receiver, msg, (uint32_t)FL_MIN(strlen(msg), 1000));
}

/* ---- registry (any thread) -------------------------------------------------------- */

fl_netpool *fl_netenv_pool(fl_netenv *net)
{
    return net->pool;
}

int fl_netenv_buffers_per_channel(const fl_netenv *net)
{
    return net->bpc;
}

int fl_netenv_floating_per_gate(const fl_netenv *net)
{
    return net->floating;
}

int fl_netenv_gate_max_required(const fl_netenv *net)
{
    return net->gate_max_required;
}

int64_t fl_netenv_buffers_total(fl_netenv *net)
{
    return fl_netpool_total(net->pool);
}

int64_t fl_netenv_buffers_available(fl_netenv *net)
{
    return fl_netpool_available(net->pool);
}

fl_partition *fl_netenv_find_part(fl_netenv *net, const char *id)
{
    for (fl_partition *p = net->parts; p; p = p->reg_next)
        if (strcmp(p->id, id) == 0)
            return p;
    return NULL;
}

static void local_subpart_lost(fl_chan *c, const char *why)
{
    fl_gate_channel_lost(c, why);
}

/* Registry lock held: attaches a local channel, or reports why not. */
static void attach_local(fl_partition *p, fl_chan *c)
{
    char why[300];
    bool has_data = false;
    if (c->sub < 0 || c->sub >= p->nsubs) {
        snprintf(why, sizeof why, "partition %s has no subpartition %d", p->id, c->sub);
        local_subpart_lost(c, why);
        return;
    }
    fl_subpart *sp = &p->subs[c->sub];
    fl_gate_attached(c, p, sp); /* published before any notify can arrive */
    if (fl_subpart_attach(sp, &c->reader, &has_data, why, sizeof why) < 0) {
        local_subpart_lost(c, why);
        return;
    }
    if (has_data)
        c->reader.notify(&c->reader);
}

int fl_netenv_register(fl_netenv *net, fl_partition *p, fl_err *err)
{
    pthread_mutex_lock(&net->reg_lock);
    if (fl_netenv_find_part(net, p->id)) {
        pthread_mutex_unlock(&net->reg_lock);
        fl_err_set(err, "partition %s is already registered", p->id);
        return -1;
    }
    p->reg_next = net->parts;
    net->parts = p;
    p->registered = true;
    bool remote_waiting = false;
    for (pending **pp = &net->pendings; *pp;) {
        pending *r = *pp;
        if (strcmp(r->id, p->id) != 0) {
            pp = &r->next;
            continue;
        }
        if (r->chan) {
            *pp = r->next;
            attach_local(p, r->chan);
            free(r);
        } else {
            remote_waiting = true;
            pp = &r->next;
        }
    }
    pthread_mutex_unlock(&net->reg_lock);
    if (remote_waiting)
        wake_work(net);
    return 0;
}

void fl_netenv_unregister(fl_netenv *net, fl_partition *p)
{
    pthread_mutex_lock(&net->reg_lock);
    bool was = p->registered;
    if (was) {
        for (fl_partition **pp = &net->parts; *pp; pp = &(*pp)->reg_next)
            if (*pp == p) {
                *pp = p->reg_next;
                break;
            }
        p->registered = false;
    }
    pthread_mutex_unlock(&net->reg_lock);
    if (was)
        fl_partition_unref(p);
}

void fl_netenv_release_partitions(fl_netenv *net, const char *prefix, const char *why)
{
    size_t n = strlen(prefix);
    for (;;) {
        fl_partition *victim = NULL;
        pthread_mutex_lock(&net->reg_lock);
        for (fl_partition *p = net->parts; p; p = p->reg_next)
            if (strncmp(p->id, prefix, n) == 0) {
                victim = p;
                fl_partition_ref(victim);
                break;
            }
        pthread_mutex_unlock(&net->reg_lock);
        if (!victim)
            return;
        fl_partition_fail(victim, why);
        fl_netenv_unregister(net, victim);
        fl_partition_unref(victim);
    }
}

void fl_netenv_request_local(fl_netenv *net, fl_chan *c)
{
    pthread_mutex_lock(&net->reg_lock);
    fl_partition *p = fl_netenv_find_part(net, c->partition_id);
    if (p) {
        attach_local(p, c);
    } else {
        pending *r = fl_xcalloc(1, sizeof *r);
        snprintf(r->id, sizeof r->id, "%s", c->partition_id);
        r->sub = c->sub;
        r->chan = c;
        r->deadline = fl_mono_ms() + net->request_timeout_ms;
        r->next = net->pendings;
        net->pendings = r;
    }
    pthread_mutex_unlock(&net->reg_lock);
}

void fl_netenv_cancel_local(fl_netenv *net, fl_chan *c)
{
    pthread_mutex_lock(&net->reg_lock);
    for (pending **pp = &net->pendings; *pp;) {
        pending *r = *pp;
        if (r->chan == c) {
            *pp = r->next;
            free(r);
        } else {
            pp = &r->next;
        }
    }
    pthread_mutex_unlock(&net->reg_lock);
}

/* ---- receivers (consumer side) ---------------------------------------------------- */

recv_slot *fl_netenv_find_slot(fl_netenv *net, uint64_t id)
{
    uint32_t slot = (uint32_t)id - 1;
    if ((uint32_t)id == 0 || slot >= net->nslots)
        return NULL;
    recv_slot *s = &net->slots[slot];
    return s->c && s->gen == (uint32_t)(id >> 32) ? s : NULL;
}

typedef struct remote_req {
    uint64_t receiver_id;
    char host[256];
    int port;
    char id[FL_NET_ID_MAX];
    int sub;
    int credit;
} remote_req;

static void do_request_remote(void *ctx, void *arg);

void fl_netenv_request_remote(fl_netenv *net, fl_chan *c)
{
    pthread_mutex_lock(&net->rcv_lock);
    uint32_t i;
    for (i = 0; i < net->nslots && net->slots[i].c; i++)
        ;
    if (i == net->nslots) {
        uint32_t n = net->nslots ? net->nslots * 2 : 64;
        net->slots = fl_xrealloc(net->slots, n * sizeof *net->slots);
        memset(net->slots + net->nslots, 0, (n - net->nslots) * sizeof *net->slots);
        net->nslots = n;
    }
    recv_slot *s = &net->slots[i];
    s->c = c;
    s->conn = NULL;
    s->gen++;
    c->receiver_id = fl_receiver_id(i, s->gen);
    pthread_mutex_unlock(&net->rcv_lock);

    remote_req *r = fl_xcalloc(1, sizeof *r);
    r->receiver_id = c->receiver_id;
    snprintf(r->host, sizeof r->host, "%s", c->host);
    r->port = c->port;
    snprintf(r->id, sizeof r->id, "%s", c->partition_id);
    r->sub = c->sub;
    r->credit = c->announced; /* the exclusive buffers, assigned in fl_gate_start */
    fl_endpoint_post(net->ep, do_request_remote, r, free);
}

typedef struct cancel_req {
    uint64_t receiver_id;
    netconn *conn; /* compared, never dereferenced unless still in net->conns */
} cancel_req;

static void do_cancel_remote(void *ctx, void *arg)
{
    fl_netenv *net = ctx;
    cancel_req *r = arg;
    for (netconn *nc = net->conns; nc; nc = nc->next)
        if (nc == r->conn)
            fl_netenv_send_frame(nc, FL_NET_CANCEL, r->receiver_id, NULL, 0);
    free(r);
}

void fl_netenv_cancel_remote(fl_netenv *net, fl_chan *c)
{
    netconn *conn = NULL;
    bool had = false;
    pthread_mutex_lock(&net->rcv_lock);
    recv_slot *s = fl_netenv_find_slot(net, c->receiver_id);
    if (s) {
        conn = s->conn;
        s->c = NULL;
        s->conn = NULL;
        had = true;
    }
    pthread_mutex_unlock(&net->rcv_lock);
    pthread_mutex_lock(&net->work_lock);
    if (c->credit_queued) {
        for (fl_chan **pp = &net->work_credits; *pp; pp = &(*pp)->credit_next)
            if (*pp == c) {
                *pp = c->credit_next;
                break;
            }
        c->credit_queued = false;
    }
    pthread_mutex_unlock(&net->work_lock);
    if (had && conn && !c->eop) {
        cancel_req *r = fl_xmalloc(sizeof *r);
        r->receiver_id = c->receiver_id;
        r->conn = conn;
        fl_endpoint_post(net->ep, do_cancel_remote, r, free);
    }
}

void fl_netenv_queue_credit(fl_netenv *net, fl_chan *c)
{
    pthread_mutex_lock(&net->work_lock);
    if (!c->credit_queued) {
        c->credit_queued = true;
        c->credit_next = net->work_credits;
        /* the network thread empties the list before it sleeps: a list that was not
         * empty has been told of already */
        if (!net->work_credits)
            wake_work(net);
        net->work_credits = c;
    }
    pthread_mutex_unlock(&net->work_lock);
}

/* ---- connections ------------------------------------------------------------------ */

void fl_netenv_close_conn(fl_netenv *net, netconn *nc, const char *why)
{
    for (netconn **pp = &net->conns; *pp; pp = &(*pp)->next)
        if (*pp == nc) {
            *pp = nc->next;
            break;
        }
    /* Producer side: consumers that had not finished make their producers fail. */
    char msg[800];
    snprintf(msg, sizeof msg, "consumer at %s disconnected: %s", nc->peer, why);
    while (nc->views) {
        view *v = nc->views;
        fl_partition *p = v->part;
        fl_partition_ref(p);
        fl_sender_release_view(v);
        fl_partition_fail(p, msg);
        fl_partition_unref(p);
    }
    /* Consumer side: channels reading through this connection fail their tasks. */
    if (nc->key[0] && !nc->connected)
        snprintf(msg, sizeof msg,
                 "Cannot connect to TaskManager at %s, the data address it advertises "
                 "(taskmanager.host, or its route to the JobManager): %s", nc->key, why);
    else
        snprintf(msg, sizeof msg, "Connection to TaskManager at %s (%s) lost: %s", nc->key,
                 nc->peer, why);
    pthread_mutex_lock(&net->rcv_lock);
    for (uint32_t i = 0; i < net->nslots; i++) {
        if (net->slots[i].c && net->slots[i].conn == nc) {
            net->slots[i].conn = NULL;
            fl_gate_channel_lost(net->slots[i].c, msg);
        }
    }
    pthread_mutex_unlock(&net->rcv_lock);
    pthread_mutex_lock(&net->reg_lock);
    for (pending **pp = &net->pendings; *pp;) {
        if ((*pp)->conn == nc) {
            pending *r = *pp;
            *pp = r->next;
            free(r);
        } else {
            pp = &(*pp)->next;
        }
    }
    pthread_mutex_unlock(&net->reg_lock);
    fl_rx_direct_free(nc); /* before the bufferevent closes the descriptor */
    fl_tx_direct_free(nc);
    bufferevent_free(nc->bev);
    fl_connlimit_release(&net->cl, &nc->g);
    free(nc);
}

void fl_netenv_refuse(netconn *nc, const char *why)
{
    fl_netenv *net = nc->net;
    fl_log_rl(&net->rl_close, 5, FL_LOG_WARN, 10, "closing data connection with %s: %s",
              nc->peer, why);
    if (!nc->key[0] && !nc->authing)
        fl_netenv_send_error(nc, 0, why);
    fl_netenv_close_conn(net, nc, why);
}

void fl_netenv_auth_done(netconn *nc)
{
    nc->authing = false;
    bufferevent_set_timeouts(nc->bev, NULL, NULL);
    if (nc->key[0])
        bufferevent_enable(nc->bev, EV_WRITE);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    fl_sender_resume(arg);
}

/* Every data connection: tuned as every daemon connection (fl_tcp_tune), and a peer that
 * stops answering is found, as the JobManager finds a silent TaskManager, while a
 * partition that heals within heartbeat.timeout (T) breaks nothing. Data unacknowledged
 * for U (TCP_USER_TIMEOUT), or keepalive probes every heartbeat.interval going unanswered
 * that long on an idle connection, close the connection and fail its channels. U is
 * T + 2 s where the retransmission backoff is capped at a second (the first
 * retransmission after a heal at t < T comes before t + 1 s), else 2T + 1 s: TCP
 * retransmits at 0.2, 0.6, 1.4, 3.0 s ... after the send, so the first retransmission
 * after a heal at t can come at 2t + RTO. With U = T a partition healed at 1.5 s of a 3 s
 * timeout killed every connection with data in flight at 3 s (a slowed proof run of
 * test_nemesis). Without any of this a partition between two TaskManagers (heartbeats to
 * the JobManager still flowing) left a connection waiting for the kernel's 15 minutes of
 * retransmissions. */
static void tune_socket(fl_netenv *net, evutil_socket_t fd)
{
    bool capped = fl_tcp_tune(fd);
    int one = 1;
    int idle = (int)FL_MAX(1, net->hb_interval_ms / 1000);
    int cnt = (int)FL_MAX(1, (net->hb_timeout_ms - net->hb_interval_ms) / 1000 / idle);
    int64_t u = capped ? net->hb_timeout_ms + 2 * FL_TCP_RTO_MAX_MS : 2 * net->hb_timeout_ms + 1000;
    unsigned int user_timeout = (unsigned int)FL_MIN(u, (int64_t)UINT32_MAX);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    netconn *nc = arg;
    if (what & BEV_EVENT_CONNECTED) {
        tune_socket(nc->net, bufferevent_getfd(bev));
        bufferevent_set_timeouts(bev, NULL, NULL);
        nc->connected = true;
        if (nc->net->secret.set) {
            /* hold what is queued (partition requests) until the challenge came: the
             * response goes ahead of it (auth.h) */
            int64_t ms = nc->net->cl.c.handshake_ms;
            struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
            bufferevent_disable(bev, EV_WRITE);
            bufferevent_set_timeouts(bev, &tv, NULL);
            fl_auth_connect(&nc->auth, &nc->net->secret);
            nc->authing = true;
        } else if (fl_rx_direct_eligible(nc)) {
            fl_rx_direct_start(nc, bufferevent_get_input(bev));
        }
        return;
    }
    const char *why = (what & BEV_EVENT_EOF)     ? "connection closed by peer"
                    : nc->authing && (what & BEV_EVENT_TIMEOUT)
                        ? "no cluster-secret handshake from the peer (is "
                          "security.cluster.secret-file set on every TaskManager?)"
                    : (what & BEV_EVENT_TIMEOUT) ? "connect timed out"
                    : EVUTIL_SOCKET_ERROR()      ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
                                                 : "connection error";
    char buf[400], tls[300];
    const char *tls_why = (what & BEV_EVENT_ERROR) ? fl_tls_error(bev, tls, sizeof tls) : NULL;
    snprintf(buf, sizeof buf, "%s", tls_why ? tls_why : why);
    if (tls_why) /* a peer without a certificate of the cluster's CA, or not speaking TLS */
        fl_log_rl(&nc->net->rl_close, 5, FL_LOG_WARN, 10, "refusing the data connection %s %s: %s",
                  nc->key[0] ? "to" : "from", nc->key[0] ? nc->key : nc->peer, tls_why);
    fl_netenv_close_conn(nc->net, nc, buf);
}

static netconn *add_conn(fl_netenv *net, struct bufferevent *bev, const char *peer,
                         const char *key)
{
    netconn *nc = fl_xcalloc(1, sizeof *nc);
    nc->net = net;
    nc->bev = bev;
    snprintf(nc->peer, sizeof nc->peer, "%s", peer);
    snprintf(nc->key, sizeof nc->key, "%s", key);
    nc->next = net->conns;
    net->conns = nc;
    bufferevent_setcb(bev, fl_rx_on_read, on_write, on_event, nc);
    bufferevent_setwatermark(bev, EV_WRITE, OUT_LOW, 0);
    bufferevent_set_max_single_read(bev, 1 << 20);
    bufferevent_set_max_single_write(bev, 1 << 20);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    return nc;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    fl_netenv *net = arg;
    char peer[64];
    fl_conn_guard g;
    fl_sockaddr_str(sa, peer, sizeof peer);
    if (!fl_connlimit_accept(&net->cl, &g, peer)) {
        evutil_closesocket(fd);
        return;
    }
    tune_socket(net, fd);
    struct bufferevent *bev =
        net->tls ? fl_tls_accept_bev(net->tls, evconnlistener_get_base(l), fd)
                 : bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        fl_connlimit_release(&net->cl, &g);
        evutil_closesocket(fd);
        return;
    }
    netconn *nc = add_conn(net, bev, peer, "");
    nc->g = g;
    if (net->secret.set) {
        fl_auth_accept(&nc->auth, &net->secret, bufferevent_get_output(bev));
        nc->authing = true;
    } else if (fl_rx_direct_eligible(nc)) {
        fl_rx_direct_start(nc, bufferevent_get_input(bev));
    }
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    fl_connlimit_accept_error(&((fl_netenv *)arg)->cl);
}

/* Every second: connections that overstayed their handshake or a partial frame go. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
    fl_netenv *net = arg;
    int64_t now = fl_mono_ms();
    char why[300];
    fl_connlimit_tick(&net->cl);
    for (netconn *nc = net->conns, *next; nc; nc = next) {
        next = nc->next;
        if (fl_connlimit_expired(&net->cl, &nc->g, nc->peer, now, why, sizeof why))
            fl_netenv_close_conn(net, nc, why);
    }
}

static netconn *client_conn(fl_netenv *net, const char *host, int port, char *why, size_t wl)
{
    char key[300];
    snprintf(key, sizeof key, "%s:%d", host, port);
    for (netconn *nc = net->conns; nc; nc = nc->next)
        if (strcmp(nc->key, key) == 0)
            return nc;
    struct sockaddr_storage ss;
    int sslen;
    fl_err err;
    if (fl_resolve(host, port, &ss, &sslen, &err) < 0) {
        snprintf(why, wl, "%.250s", err.msg);
        return NULL;
    }
    struct bufferevent *bev =
        net->tls ? fl_tls_connect_bev(net->tls, fl_endpoint_base(net->ep))
                 : bufferevent_socket_new(fl_endpoint_base(net->ep), -1, BEV_OPT_CLOSE_ON_FREE);
    char peer[64];
    fl_sockaddr_str((struct sockaddr *)&ss, peer, sizeof peer);
    netconn *nc = add_conn(net, bev, peer, key);
    struct timeval tv = {10, 0};
    bufferevent_set_timeouts(bev, NULL, &tv);
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, sslen) < 0) {
        /* on_event may have closed it already */
        for (netconn *c = net->conns; c; c = c->next)
            if (c == nc)
                fl_netenv_close_conn(net, nc, "connect failed");
        snprintf(why, wl, "cannot connect to %.250s", key);
        return NULL;
    }
    return nc;
}

static void do_request_remote(void *ctx, void *arg)
{
    fl_netenv *net = ctx;
    remote_req *r = arg;
    char why[300];
    netconn *nc = client_conn(net, r->host, r->port, why, sizeof why);
    pthread_mutex_lock(&net->rcv_lock);
    recv_slot *s = fl_netenv_find_slot(net, r->receiver_id);
    if (s && !nc) {
        char msg[700];
        snprintf(msg, sizeof msg, "Cannot reach TaskManager at %s:%d: %s", r->host, r->port, why);
        fl_gate_channel_lost(s->c, msg);
    } else if (s) {
        s->conn = nc;
        uint8_t d[10 + FL_NET_ID_MAX];
        uint32_t idlen = (uint32_t)strlen(r->id);
        be32(d, (uint32_t)r->sub);
        be32(d + 4, (uint32_t)r->credit);
        d[8] = (uint8_t)(idlen >> 8);
        d[9] = (uint8_t)idlen;
        memcpy(d + 10, r->id, idlen);
        fl_netenv_send_frame(nc, FL_NET_PARTITION_REQUEST, r->receiver_id, d, 10 + idlen);
    }
    pthread_mutex_unlock(&net->rcv_lock);
    free(r);
}

/* ---- the work list ---------------------------------------------------------------- */

static void do_work(fl_netenv *net);

static void on_work(evutil_socket_t fd, short what, void *arg)
{
    uint64_t count;
    ssize_t r = read(((fl_netenv *)arg)->work_efd, &count, sizeof count);
    (void)r;
    do_work(arg);
}

static void on_work_now(evutil_socket_t fd, short what, void *arg)
{
    do_work(arg);
}

static void do_work(fl_netenv *net)
{
    /* Credit: copy receiver ids under the work lock; resolve them under the receiver lock,
     * so a gate that is closing meanwhile is never touched. */
    for (;;) {
        uint64_t ids[64];
        int n = 0;
        pthread_mutex_lock(&net->work_lock);
        while (net->work_credits && n < 64) {
            fl_chan *c = net->work_credits;
            net->work_credits = c->credit_next;
            c->credit_queued = false;
            ids[n++] = c->receiver_id;
        }
        pthread_mutex_unlock(&net->work_lock);
        if (!n)
            break;
        for (int i = 0; i < n; i++) {
            pthread_mutex_lock(&net->rcv_lock);
            recv_slot *s = fl_netenv_find_slot(net, ids[i]);
            netconn *nc = s ? s->conn : NULL;
            int k = nc ? fl_gate_take_credit(s->c) : 0;
            if (k > 0) {
                uint8_t d[4];
                be32(d, (uint32_t)k);
                fl_netenv_send_frame(nc, FL_NET_ADD_CREDIT, ids[i], d, 4);
            }
            pthread_mutex_unlock(&net->rcv_lock);
        }
    }
    for (;;) {
        pthread_mutex_lock(&net->work_lock);
        view *v = net->work_views;
        if (v) {
            net->work_views = v->work_next;
            v->in_work = false;
        }
        pthread_mutex_unlock(&net->work_lock);
        if (!v)
            break;
        fl_sender_pump(v);
    }
    fl_sender_scan_pendings(net, false);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    fl_sender_scan_pendings(arg, true);
    fl_sender_check_stuck(arg);
}

/* ---- life cycle ------------------------------------------------------------------- */

fl_netenv *fl_netenv_new(const fl_conf *conf, fl_err *err)
{
    int64_t nbufs = fl_netpool_configured_count(conf);
    int64_t seg = fl_conf_get_bytes(conf, "taskmanager.memory.segment-size");
    fl_netpool *pool = fl_netpool_new(nbufs, (uint32_t)FL_MIN(seg, (int64_t)UINT32_MAX), err);
    if (!pool)
        return NULL;
    fl_netenv *net = fl_xcalloc(1, sizeof *net);
    net->pool = pool;
    net->bpc = (int)FL_MAX(1, fl_conf_get_int(conf, "taskmanager.network.memory.buffers-per-channel"));
    net->floating = (int)FL_MAX(0, fl_conf_get_int(conf, "taskmanager.network.memory.floating-buffers-per-gate"));
    net->gate_max_required = (int)FL_MIN(INT32_MAX, FL_MAX(1, fl_conf_get_int(
        conf, "taskmanager.network.memory.read-buffer.required-per-gate.max")));
    net->request_timeout_ms = fl_conf_get_duration_ms(conf, "taskmanager.network.request-backoff.max");
    net->hb_interval_ms = FL_MAX(1000, fl_conf_get_duration_ms(conf, "heartbeat.interval"));
    net->hb_timeout_ms = FL_MAX(net->hb_interval_ms, fl_conf_get_duration_ms(conf, "heartbeat.timeout"));
    net->max_frame = fl_netpool_segment_size(pool) + FL_NET_BUFFER_HDR;
    pthread_mutex_init(&net->reg_lock, NULL);
    fl_net_mutex_init(&net->work_lock);
    fl_net_mutex_init(&net->rcv_lock);
    net->work_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    net->ep = fl_endpoint_new("network");
    if (!net->ep || net->work_efd < 0) {
        fl_err_set(err, "cannot create the network thread");
        fl_netenv_free(net);
        return NULL;
    }
    struct event_base *base = fl_endpoint_base(net->ep);
    fl_connlimit_conf lc;
    fl_connlimit_conf_data(conf, &lc);
    lc.handshake_frame = FL_NET_MAX_CONTROL;
    fl_connlimit_init(&net->cl, &lc);
    net->sweep = event_new(base, -1, EV_PERSIST, on_sweep, net);
    struct timeval sweep_tv = {1, 0};
    event_add(net->sweep, &sweep_tv);
    net->work_ev = event_new(base, net->work_efd, EV_READ | EV_PERSIST, on_work, net);
    net->work_now = event_new(base, -1, 0, on_work_now, net);
    net->tick = event_new(base, -1, EV_PERSIST, on_tick, net);
    event_add(net->work_ev, NULL);
    struct timeval tv = {0, 100000};
    event_add(net->tick, &tv);
    return net;
}

void fl_netenv_set_secret(fl_netenv *net, const fl_secret *secret)
{
    net->secret = *secret;
}

void fl_netenv_set_tls(fl_netenv *net, struct fl_tls *tls)
{
    net->tls = tls;
}

int fl_netenv_listen(fl_netenv *net, const char *bind_host, int port, int *bound_port,
                     fl_err *err)
{
    struct sockaddr_storage ss;
    int sslen;
    if (fl_resolve(bind_host, port, &ss, &sslen, err) < 0)
        return -1;
    net->listener = evconnlistener_new_bind(fl_endpoint_base(net->ep), on_accept, net,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                                LEV_OPT_CLOSE_ON_EXEC,
                                            FL_LISTEN_BACKLOG, (struct sockaddr *)&ss, sslen);
    if (!net->listener) {
        fl_err_set(err, "cannot listen on %s:%d: %s", bind_host, port, strerror(errno));
        return -1;
    }
    fl_connlimit_watch(&net->cl, net->listener, on_accept_error);
    struct sockaddr_storage got;
    socklen_t len = sizeof got;
    getsockname(evconnlistener_get_fd(net->listener), (struct sockaddr *)&got, &len);
    char s[64];
    fl_sockaddr_str((struct sockaddr *)&got, s, sizeof s);
    *bound_port = atoi(strrchr(s, ':') + 1);
    return 0;
}

void fl_net_task_thread(int64_t buffer_timeout_ms)
{
    if (buffer_timeout_ms == 0)
        return;
    struct sched_param sp = {0};
    int rc = pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
    if (rc) /* a sandbox may refuse it: the data plane works as before, with more switches */
        fl_debug("SCHED_BATCH refused: %s", strerror(rc));
}

int fl_netenv_start(fl_netenv *net, fl_err *err)
{
    return fl_endpoint_start(net->ep, net, err);
}

static void do_shutdown(void *ctx, void *arg)
{
    fl_netenv *net = ctx;
    if (net->listener) {
        evconnlistener_free(net->listener);
        net->listener = NULL;
        net->cl.listener = NULL;
    }
    if (net->sweep)
        event_del(net->sweep);
    while (net->conns)
        fl_netenv_close_conn(net, net->conns, "TaskManager shutting down");
}

void fl_netenv_free(fl_netenv *net)
{
    if (!net)
        return;
    if (net->ep) {
        fl_endpoint_post(net->ep, do_shutdown, NULL, NULL);
        fl_endpoint_stop(net->ep);
        do_shutdown(net, NULL);
    }
    fl_netenv_release_partitions(net, "", "TaskManager shutting down");
    while (net->pendings) {
        pending *r = net->pendings;
        net->pendings = r->next;
        free(r);
    }
    if (net->work_ev)
        event_free(net->work_ev);
    if (net->work_now)
        event_free(net->work_now);
    if (net->tick)
        event_free(net->tick);
    if (net->sweep)
        event_free(net->sweep);
    fl_connlimit_free(&net->cl);
    fl_endpoint_free(net->ep);
    if (net->work_efd >= 0)
        close(net->work_efd);
    free(net->slots);
    pthread_mutex_destroy(&net->reg_lock);
    pthread_mutex_destroy(&net->work_lock);
    pthread_mutex_destroy(&net->rcv_lock);
    fl_netpool_free(net->pool);
    free(net);
}
