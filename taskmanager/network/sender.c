/* sender.c -- the producer side of remote channels, on the network thread: the views (a
 * view is a remote consumer's handle on one subpartition), serving partition requests
 * (those waiting for their producer too), and the sender half of credit-based flow
 * control: a buffer goes out only against the consumer's credit. netenv.c calls it with
 * the frames of accepted connections, its work list and its tick; a producing task's
 * subpartition calls view_notify (under the subpartition lock) when buffers are ready.
 * See README.md for the protocol and network_internal.h for the lock order; the layouts
 * it shares with netenv.c are in netenv_internal.h.
 */
#include "common/frame.h"
#include "common/log.h"
#include "common/util.h"
#include "netenv_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

/* ---- views (producer side, network thread) ---------------------------------------- */

static void view_notify(fl_subpart_reader *r)
{
    view *v = (view *)r;
    fl_netenv *net = v->conn->net;
    pthread_mutex_lock(&net->work_lock);
    if (!v->in_work) {
        v->in_work = true;
        v->work_next = net->work_views;
        if (!net->work_views) /* else told already: the thread empties the list */
            wake_work(net);
        net->work_views = v;
    }
    pthread_mutex_unlock(&net->work_lock);
}

static void view_on_fail(fl_subpart_reader *r, const char *why)
{
    view *v = (view *)r;
    v->failed = true;
    snprintf(v->fail_msg, sizeof v->fail_msg, "%s", why);
    view_notify(r);
}

void fl_sender_release_view(view *v)
{
    netconn *nc = v->conn;
    fl_netenv *net = nc->net;
    fl_subpart_detach(v->sp, &v->reader);
    pthread_mutex_lock(&net->work_lock);
    if (v->in_work)
        for (view **pp = &net->work_views; *pp; pp = &(*pp)->work_next)
            if (*pp == v) {
                *pp = v->work_next;
                break;
            }
    pthread_mutex_unlock(&net->work_lock);
    for (view **pp = &nc->views; *pp; pp = &(*pp)->next)
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    free(v);
}

static void recycle_sent(const void *data, size_t len, void *extra)
{
    fl_buf_recycle(extra);
}

/* Writes one buffer frame of v. */
static void send_buffer(view *v, fl_buf *b, int backlog)
{
    struct evbuffer *out = bufferevent_get_output(v->conn->bev);
    uint8_t hdr[FL_FRAME_HDR_LEN + FL_NET_BUFFER_HDR];
    fl_frame_hdr h = {.type = FL_NET_BUFFER, .len = FL_NET_BUFFER_HDR + b->len,
                      .corr = v->receiver_id};
    fl_frame_hdr_encode(&h, hdr);
    be32(hdr + FL_FRAME_HDR_LEN, v->seq++);
    be32(hdr + FL_FRAME_HDR_LEN + 4, (uint32_t)backlog);
    hdr[FL_FRAME_HDR_LEN + 8] = b->kind;
    hdr[FL_FRAME_HDR_LEN + 9] = b->flags;
    hdr[FL_FRAME_HDR_LEN + 10] = hdr[FL_FRAME_HDR_LEN + 11] = 0;
    evbuffer_add(out, hdr, sizeof hdr);
    if (v->conn->net->tls) {
        /* under TLS each evbuffer chain becomes at least one TLS record: a header of its own
         * would be a record of its own. Copy the buffer behind it (encryption copies it
         * anyway): full records (shuffle over TLS 0.53 -> see bench/tls.sh). */
        evbuffer_add(out, b->data, b->len);
        fl_buf_recycle(b);
    } else {
        evbuffer_add_reference(out, b->data, b->len, recycle_sent, b);
    }
    v->told_backlog = backlog;
}

/* Out of credit with data queued, and the consumer believes nothing waits: tell it. A gate
 * without exclusive buffers (a wide one, see fl_gate_start) gives credit only against a
 * backlog it heard of; the last buffer's backlog or this frame is how it hears. */
static void announce_backlog(view *v)
{
    if (v->credit > 0 || v->told_backlog > 0)
        return;
    int n = fl_subpart_backlog(v->sp);
    if (n <= 0)
        return;
    uint8_t d[4];
    be32(d, (uint32_t)n);
    fl_netenv_send_frame(v->conn, FL_NET_BACKLOG, v->receiver_id, d, 4);
    v->told_backlog = n;
}

/* Sends what v's credit allows (priority events need none). */
void fl_sender_pump(view *v)
{
    netconn *nc = v->conn;
    struct evbuffer *out = bufferevent_get_output(nc->bev);
    pthread_mutex_lock(&v->sp->lock);
    bool failed = v->failed;
    char msg[600];
    snprintf(msg, sizeof msg, "producer of partition %s failed: %s", v->part->id, v->fail_msg);
    pthread_mutex_unlock(&v->sp->lock);
    if (failed) {
        fl_netenv_send_error(nc, v->receiver_id, msg);
        fl_sender_release_view(v);
        return;
    }
    for (;;) {
        int backlog = 0;
        fl_buf *b = fl_subpart_poll_priority(v->sp, &backlog);
        if (!b)
            break;
        send_buffer(v, b, backlog);
    }
    for (;;) {
        if (v->credit <= 0) {
            announce_backlog(v);
            return;
        }
        if (evbuffer_get_length(out) > OUT_HIGH) {
            nc->stalled = true;
            return;
        }
        int backlog = 0;
        fl_buf *b = fl_subpart_poll(v->sp, &backlog);
        if (!b)
            return;
        bool eop = b->kind == FL_BUF_EVENT && b->data[0] == FL_EV_END_OF_PARTITION;
        bool priority = b->kind == FL_BUF_PRIORITY;
        send_buffer(v, b, backlog);
        if (priority)
            continue; /* overtook in the queue meanwhile: no credit used */
        v->credit--;
        if (eop) {
            fl_sender_release_view(v);
            return;
        }
    }
}

view *fl_sender_find_view(netconn *nc, uint64_t receiver)
{
    for (view *v = nc->views; v; v = v->next)
        if (v->receiver_id == receiver)
            return v;
    return NULL;
}

/* Registry lock held: tries to serve a remote request; false when the partition is not
 * here (yet). */
static bool serve_request(fl_netenv *net, netconn *nc, uint64_t receiver, const char *id,
                          int sub, int credit, view **ready)
{
    fl_partition *p = fl_netenv_find_part(net, id);
    char why[300];
    if (!p)
        return false;
    if (sub < 0 || sub >= p->nsubs) {
        snprintf(why, sizeof why, "partition %s has no subpartition %d", id, sub);
        fl_netenv_send_error(nc, receiver, why);
        return true;
    }
    view *v = fl_xcalloc(1, sizeof *v);
    v->reader.notify = view_notify;
    v->reader.on_fail = view_on_fail;
    v->conn = nc;
    v->receiver_id = receiver;
    v->part = p;
    v->sp = &p->subs[sub];
    v->credit = credit;
    bool has_data;
    if (fl_subpart_attach(v->sp, &v->reader, &has_data, why, sizeof why) < 0) {
        free(v);
        fl_netenv_send_error(nc, receiver, why);
        return true;
    }
    v->next = nc->views;
    nc->views = v;
    if (has_data)
        *ready = v;
    return true;
}

void fl_sender_on_partition_request(fl_netenv *net, netconn *nc, uint64_t receiver,
                                    const uint8_t *d, uint32_t len)
{
    if (len < 10) {
        fl_netenv_send_error(nc, receiver, "malformed partition request");
        return;
    }
    uint32_t sub = rd32(d), credit = rd32(d + 4);
    uint32_t idlen = (uint32_t)d[8] << 8 | d[9];
    char id[FL_NET_ID_MAX];
    if (idlen >= sizeof id || 10 + idlen != len || credit > 1024 || sub > 1u << 20) {
        fl_netenv_send_error(nc, receiver, "malformed partition request");
        return;
    }
    memcpy(id, d + 10, idlen);
    id[idlen] = '\0';
    view *ready = NULL;
    pthread_mutex_lock(&net->reg_lock);
    if (!serve_request(net, nc, receiver, id, (int)sub, (int)credit, &ready)) {
        pending *r = fl_xcalloc(1, sizeof *r);
        snprintf(r->id, sizeof r->id, "%s", id);
        r->sub = (int)sub;
        r->conn = nc;
        r->receiver_id = receiver;
        r->credit = (int)credit;
        r->deadline = fl_mono_ms() + net->request_timeout_ms;
        r->next = net->pendings;
        net->pendings = r;
    }
    pthread_mutex_unlock(&net->reg_lock);
    if (ready)
        fl_sender_pump(ready);
}

void fl_sender_check_stuck(fl_netenv *net)
{
    int64_t now = fl_mono_ms();
    if (now - net->stuck_check_ms < 1000)
        return;
    net->stuck_check_ms = now;
    for (netconn *nc = net->conns; nc; nc = nc->next) {
        for (view *v = nc->views, *next; v; v = next) {
            next = v->next;
            int queued = fl_subpart_backlog(v->sp);
            pthread_mutex_lock(&net->work_lock);
            bool in_work = v->in_work;
            pthread_mutex_unlock(&net->work_lock);
            bool stuck = queued > 0 && !in_work && !nc->stalled &&
                         (v->credit > 0 || v->told_backlog == 0);
            if (!stuck || !v->suspect) {
                v->suspect = stuck;
                continue;
            }
            fl_error("BUG: channel stuck: subpartition %d of partition %s has %d buffers "
                     "queued for consumer %llu at %s with credit %d (told backlog %d), but "
                     "nobody serves it; serving it now",
                     v->sp->index, v->part->id, queued, (unsigned long long)v->receiver_id,
                     nc->peer, v->credit, v->told_backlog);
            v->suspect = false;
            net->stuck_found++;
            fl_sender_pump(v); /* may free v */
        }
    }
}

/* Serves remote requests whose partition has appeared; fails expired ones. Every view
 * served that has data already is pumped once the registry lock is released: they are
 * chained through ready_next, however many there are (a bounded array here once dropped
 * every view past the 64th, and their consumers waited forever). */
void fl_sender_scan_pendings(fl_netenv *net, bool expire)
{
    int64_t now = fl_mono_ms();
    view *ready = NULL, **tail = &ready;
    pthread_mutex_lock(&net->reg_lock);
    for (pending **pp = &net->pendings; *pp;) {
        pending *r = *pp;
        view *v = NULL;
        bool done;
        if (r->chan) {
            done = false; /* local requests attach at registration */
        } else {
            done = serve_request(net, r->conn, r->receiver_id, r->id, r->sub, r->credit, &v);
            if (v) {
                v->ready_next = NULL;
                *tail = v;
                tail = &v->ready_next;
            }
        }
        if (!done && expire && now >= r->deadline) {
            char why[400];
            snprintf(why, sizeof why,
                     "Partition %s not found: its producer did not start within %lld ms "
                     "(taskmanager.network.request-backoff.max)",
                     r->id, (long long)net->request_timeout_ms);
            if (r->chan)
                fl_gate_channel_lost(r->chan, why);
            else
                fl_netenv_send_error(r->conn, r->receiver_id, why);
            done = true;
        }
        if (done) {
            *pp = r->next;
            free(r);
        } else {
            pp = &r->next;
        }
    }
    pthread_mutex_unlock(&net->reg_lock);
    while (ready) {
        view *v = ready;
        ready = v->ready_next; /* before the pump, which may free v */
        fl_sender_pump(v);
    }
}

void fl_sender_resume(netconn *nc)
{
    if (!nc->stalled)
        return;
    nc->stalled = false;
    for (view *v = nc->views, *next; v; v = next) {
        next = v->next;
        if (v->credit > 0)
            fl_sender_pump(v);
    }
}

/* ---- the direct writer (plain TCP connections, handshake done) ---------------------
 * The bufferevent wrote its output once epoll said the socket was writable: every burst
 * of buffers cost an epoll_ctl to watch for writability, a loop turn, and an epoll_ctl to
 * stop (measured: 13 epoll_ctl per MB on a 1x1 producer). A directly written connection
 * writes its output (the same evbuffer, so frames stay in order and sent buffers are
 * recycled by their references) at the end of the loop turn that queued it, with
 * sendmsg(2) of up to 64 pieces per call, and watches for writability only while the
 * socket is full. */

#define TX_IOV 64

struct tx_direct {
    struct event *wev;   /* the socket was full: writable again */
    struct event *flush; /* made active when something was queued: written this loop turn */
    bool waiting;        /* wev added */
    bool flushing;       /* flush active */
};

static void on_out(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct tx_direct *tx = ((netconn *)arg)->tx;
    if (info->n_added && !tx->waiting && !tx->flushing) {
        tx->flushing = true;
        event_active(tx->flush, EV_WRITE, 0);
    }
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    netconn *nc = arg;
    struct tx_direct *tx = nc->tx;
    struct evbuffer *out = bufferevent_get_output(nc->bev);
    tx->flushing = false;
    size_t left;
    while ((left = evbuffer_get_length(out)) > 0) {
        struct evbuffer_iovec v[TX_IOV];
        struct iovec iov[TX_IOV];
        int n = evbuffer_peek(out, -1, NULL, v, TX_IOV);
        n = n > TX_IOV ? TX_IOV : n;
        size_t want = 0;
        for (int i = 0; i < n; i++) {
            iov[i] = (struct iovec){v[i].iov_base, v[i].iov_len};
            want += v[i].iov_len;
        }
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(bufferevent_getfd(nc->bev), &m, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        if (w < 0) {
            fl_netenv_close_conn(nc->net, nc, strerror(errno));
            return;
        }
        evbuffer_drain(out, (size_t)w); /* recycles the buffers sent whole */
        if ((size_t)w < want)
            break; /* the socket is full */
    }
    left = evbuffer_get_length(out);
    if (left && !tx->waiting) {
        event_add(tx->wev, NULL);
        tx->waiting = true;
    } else if (!left && tx->waiting) {
        event_del(tx->wev);
        tx->waiting = false;
    }
    if (left <= OUT_LOW)
        fl_sender_resume(nc);
}

void fl_tx_direct_start(netconn *nc)
{
    struct tx_direct *tx = fl_xcalloc(1, sizeof *tx);
    struct event_base *base = bufferevent_get_base(nc->bev);
    evutil_socket_t fd = bufferevent_getfd(nc->bev);
    tx->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_flush, nc);
    tx->flush = event_new(base, -1, 0, on_flush, nc);
    nc->tx = tx;
    bufferevent_disable(nc->bev, EV_WRITE);
    struct evbuffer *out = bufferevent_get_output(nc->bev);
    /* a socket bufferevent freezes its output's front (only it drains it); we do now */
    evbuffer_unfreeze(out, 1);
    evbuffer_add_cb(out, on_out, nc);
    if (evbuffer_get_length(out)) {
        tx->flushing = true;
        event_active(tx->flush, EV_WRITE, 0);
    }
}

void fl_tx_direct_free(netconn *nc)
{
    struct tx_direct *tx = nc->tx;
    if (!tx)
        return;
    nc->tx = NULL;
    evbuffer_remove_cb(bufferevent_get_output(nc->bev), on_out, nc);
    event_free(tx->wev);
    event_free(tx->flush);
    free(tx);
}
