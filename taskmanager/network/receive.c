/* receive.c -- frames coming in on data connections, on the network thread: the control
 * frames of both sides (partition requests, credit, backlog, cancel, errors) and the BUFFER
 * frames a consumer receives, each read into one of its channel's credited buffers.
 *
 * Two readers. The bufferevent's (TLS connections, and every connection until its
 * cluster-secret handshake is done) hands whole frames from the bufferevent's input. The
 * direct reader reads a plain TCP connection itself once its handshake is done: libevent
 * tells it the socket is readable, and on a connection to a producer its readv puts a
 * BUFFER frame's payload straight into the channel's buffer and the next frame's header
 * behind it into a small header area; a read with no payload under way takes up to
 * RX_STAGE bytes into a staging area, from which small frames are parsed. About one system
 * call per 32 KiB buffer, no FIONREAD and no copy of the payload (libevent read at most
 * 4 KiB per readiness: an epoll_wait, an ioctl(FIONREAD) and a readv each, then a copy out
 * of the evbuffer). While a frame is incomplete, SO_RCVLOWAT asks the kernel to wake the
 * thread only when the rest of it is there, not for every segment. A producer's side reads
 * its consumers' control frames the same way, through the staging area.
 *
 * A claimed buffer is held across reads. It is handed to its channel only if the channel's
 * receiver slot is still the same (fl_gate_deliver under the receiver lock); a channel
 * closed meanwhile gets nothing, and the buffer goes back to its gate's local pool, which
 * lives until its last buffer is back.
 */
#include "common/auth.h"
#include "common/log.h"
#include "common/util.h"
#include "netenv_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

/* The staging area of a read with no payload under way: several small frames (events,
 * flushes of a few records, control frames) per system call, and little of a large frame's
 * payload (copied from here into its buffer). */
#define RX_STAGE 4096
/* The header read behind a payload: the next BUFFER frame's headers, nothing of its
 * payload (which is then read into its own buffer). */
#define RX_NEXT_HDR (FL_FRAME_HDR_LEN + FL_NET_BUFFER_HDR)
/* Reads per readiness before other connections get their turn (16 x 32 KiB). */
#define RX_ROUNDS 16
/* SO_RCVLOWAT never above this (the kernel caps it at half the receive buffer anyway). */
#define RX_LOWAT_MAX (256u << 10)

typedef struct rx_frame {
    uint64_t receiver;
    uint32_t seq, backlog, len;
    uint8_t kind, flags;
    fl_buf *b;              /* claimed buffer; NULL: the payload is skipped */
    fl_buf_owner *lp_owner; /* where b goes if its channel disappears */
} rx_frame;

struct rx_direct {
    struct event *ev;
    evutil_socket_t fd;
    bool in_payload;        /* reading f's payload; else a frame header */
    rx_frame f;
    uint32_t have, need;    /* payload bytes read and still to come */
    bool decoded;           /* h holds the header in hbuf */
    fl_frame_hdr h;
    uint32_t hhave, hwant;  /* header (and control payload) bytes gathered and wanted */
    int lowat;              /* SO_RCVLOWAT as last set */
    uint8_t hbuf[FL_FRAME_HDR_LEN + FL_NET_MAX_CONTROL];
    uint8_t stage[RX_STAGE];
};

/* ---- BUFFER frames ---------------------------------------------------------------- */

/* A BUFFER frame's header (bh: its 12 bytes after the frame header): claims the buffer its
 * payload goes to; f->b stays NULL when the receiver is gone (its gate was closed
 * meanwhile: the payload is skipped). -1 with why on a protocol violation. */
static int rx_begin(netconn *nc, const fl_frame_hdr *h, const uint8_t *bh, rx_frame *f,
                    char *why, size_t whylen)
{
    fl_netenv *net = nc->net;
    f->receiver = h->corr;
    f->seq = rd32(bh);
    f->backlog = rd32(bh + 4);
    f->len = h->len - FL_NET_BUFFER_HDR;
    f->kind = bh[8];
    f->flags = bh[9];
    f->b = NULL;
    f->lp_owner = NULL;
    int rc = 0;
    pthread_mutex_lock(&net->rcv_lock);
    recv_slot *s = fl_netenv_find_slot(net, h->corr);
    if (!s || s->conn != nc) {
        /* skipped */
    } else if (f->seq != s->c->expected_seq || f->kind > FL_BUF_PRIORITY ||
               f->backlog > (1u << 24)) {
        snprintf(why, whylen, "out-of-order or malformed buffer %u for receiver %llu", f->seq,
                 (unsigned long long)h->corr);
        rc = -1;
    } else if (!(f->b = fl_gate_claim(s->c, f->kind, f->len, &f->lp_owner))) {
        snprintf(why, whylen, "buffer of %u bytes arrived without credit", f->len);
        rc = -1;
    } else {
        s->c->expected_seq++;
    }
    pthread_mutex_unlock(&net->rcv_lock);
    return rc;
}

/* A claimed buffer whose channel is gone goes back to its gate's pool (a heap buffer of a
 * priority event frees itself). */
static void rx_abandon(rx_frame *f)
{
    if (!f->b)
        return;
    if (f->lp_owner)
        f->b->owner = f->lp_owner;
    fl_buf_recycle(f->b);
    f->b = NULL;
}

/* f's payload is in f->b: to its channel, if the channel is still there. */
static void rx_end(netconn *nc, rx_frame *f)
{
    fl_netenv *net = nc->net;
    if (!f->b)
        return;
    pthread_mutex_lock(&net->rcv_lock);
    recv_slot *s = fl_netenv_find_slot(net, f->receiver);
    if (s && s->conn == nc) {
        fl_gate_deliver(s->c, f->b, f->kind, f->flags, f->len, (int)f->backlog);
        f->b = NULL;
    }
    pthread_mutex_unlock(&net->rcv_lock);
    rx_abandon(f);
}

/* ---- control frames --------------------------------------------------------------- */

/* One control frame with its payload (at most FL_NET_MAX_CONTROL bytes). */
static int rx_control(netconn *nc, const fl_frame_hdr *h, const uint8_t *small, char *why,
                      size_t whylen)
{
    fl_netenv *net = nc->net;
    switch (h->type) {
    case FL_NET_PARTITION_REQUEST:
        if (nc->key[0])
            break;
        nc->g.established = true; /* a consumer: no handshake deadline any more */
        fl_sender_on_partition_request(net, nc, h->corr, small, h->len);
        return 0;
    case FL_NET_ADD_CREDIT: {
        view *v = nc->key[0] || h->len != 4 ? NULL : fl_sender_find_view(nc, h->corr);
        if (v) {
            uint32_t add = rd32(small);
            if (add > 1024 || v->credit + (int)add > 1 << 20) {
                snprintf(why, whylen, "implausible credit %u", add);
                return -1;
            }
            v->credit += (int)add;
            fl_sender_pump(v);
        }
        return 0;
    }
    case FL_NET_BACKLOG: {
        if (!nc->key[0] || h->len != 4)
            break;
        uint32_t backlog = rd32(small);
        if (backlog > (1u << 24)) {
            snprintf(why, whylen, "implausible backlog %u", backlog);
            return -1;
        }
        pthread_mutex_lock(&net->rcv_lock);
        recv_slot *s = fl_netenv_find_slot(net, h->corr);
        if (s && s->conn == nc)
            fl_gate_backlog(s->c, (int)backlog);
        pthread_mutex_unlock(&net->rcv_lock);
        return 0;
    }
    case FL_NET_CANCEL: {
        view *v = nc->key[0] ? NULL : fl_sender_find_view(nc, h->corr);
        if (v)
            fl_sender_release_view(v);
        return 0;
    }
    case FL_NET_ERROR: {
        if (!nc->key[0])
            break;
        char msg[1100];
        snprintf(msg, sizeof msg, "TaskManager at %s reports: %.*s", nc->key, (int)h->len,
                 (const char *)small);
        pthread_mutex_lock(&net->rcv_lock);
        for (uint32_t i = 0; i < net->nslots; i++) {
            recv_slot *s = &net->slots[i];
            if (s->c && s->conn == nc &&
                (h->corr == 0 || fl_receiver_id(i, s->gen) == h->corr))
                fl_gate_channel_lost(s->c, msg);
        }
        pthread_mutex_unlock(&net->rcv_lock);
        return 0;
    }
    }
    snprintf(why, whylen, "unexpected data-plane frame type %u", h->type);
    return -1;
}

/* A frame header no data connection may carry here (both readers): -1 with why. */
static int check_header(netconn *nc, const fl_frame_hdr *h, char *why, size_t whylen)
{
    if (fl_auth_is_handshake_type(h->type) && !nc->net->secret.set) {
        snprintf(why, whylen, "the peer requires the cluster secret, but "
                              "security.cluster.secret-file is not set here");
        return -1;
    }
    if (h->type == FL_NET_BUFFER && (h->len < FL_NET_BUFFER_HDR || !nc->key[0])) {
        snprintf(why, whylen, "unexpected data buffer");
        return -1;
    }
    if (h->type != FL_NET_BUFFER && h->len > FL_NET_MAX_CONTROL) {
        snprintf(why, whylen, "control frame of %u bytes is too large", h->len);
        return -1;
    }
    return 0;
}

/* ---- the bufferevent's reader ----------------------------------------------------- */

/* One frame whose payload is next in `in`; -1 closes the connection (why set). */
static int rx_frame_from(netconn *nc, const fl_frame_hdr *h, struct evbuffer *in, char *why,
                         size_t whylen)
{
    if (check_header(nc, h, why, whylen) < 0)
        return -1;
    if (h->type == FL_NET_BUFFER) {
        uint8_t bh[FL_NET_BUFFER_HDR];
        rx_frame f;
        evbuffer_remove(in, bh, sizeof bh);
        if (rx_begin(nc, h, bh, &f, why, whylen) < 0)
            return -1;
        if (f.b)
            evbuffer_remove(in, f.b->data, f.len);
        else
            evbuffer_drain(in, f.len);
        rx_end(nc, &f);
        return 0;
    }
    uint8_t small[FL_NET_MAX_CONTROL];
    evbuffer_remove(in, small, h->len);
    return rx_control(nc, h, small, why, whylen);
}

void fl_rx_on_read(struct bufferevent *bev, void *arg)
{
    netconn *nc = arg;
    fl_netenv *net = nc->net;
    struct evbuffer *in = bufferevent_get_input(bev);
    fl_frame_hdr h;
    fl_err err;
    char why[600];
    bool progressed = false;
    if (nc->authing) {
        int rc = fl_auth_step(&nc->auth, in, bufferevent_get_output(bev), why, sizeof why);
        if (rc < 0)
            goto refuse;
        if (rc == 0)
            goto track;
        fl_netenv_auth_done(nc);
        if (fl_rx_direct_eligible(nc)) { /* the rest is read directly from now on */
            fl_rx_direct_start(nc, in);
            return;
        }
    }
    /* a consumer sends control frames only: a larger one is refused at its header */
    uint32_t max = nc->key[0] ? net->max_frame : FL_NET_MAX_CONTROL;
    for (;;) {
        int rc = fl_frame_next(in, max, &h, &err);
        if (rc == 0)
            goto track;
        if (rc < 0) {
            snprintf(why, sizeof why, "%.500s", err.msg);
            goto refuse;
        }
        if (rx_frame_from(nc, &h, in, why, sizeof why) < 0)
            goto refuse;
        progressed = true;
    }
track:
    if (fl_connlimit_track(&net->cl, &nc->g, in, progressed, why, sizeof why) == 0)
        return;
refuse:
    fl_netenv_refuse(nc, why);
}

/* ---- the direct reader (plain TCP connections to producers) ----------------------- */

/* The payload of rx's frame is complete. */
static void payload_done(netconn *nc, struct rx_direct *rx, bool *progressed)
{
    rx_end(nc, &rx->f);
    rx->in_payload = false;
    *progressed = true;
}

/* Parses n bytes read outside a payload's buffer. -1 when nc was closed (not to be
 * touched any more). */
static int feed(netconn *nc, const uint8_t *p, size_t n, bool *progressed)
{
    struct rx_direct *rx = nc->rx;
    char why[600];
    fl_err err;
    while (n) {
        if (rx->in_payload) {
            uint32_t k = (uint32_t)FL_MIN(n, (size_t)rx->need);
            if (rx->f.b)
                memcpy(rx->f.b->data + rx->have, p, k);
            rx->have += k;
            rx->need -= k;
            p += k;
            n -= k;
            if (!rx->need)
                payload_done(nc, rx, progressed);
            continue;
        }
        uint32_t k = (uint32_t)FL_MIN(n, (size_t)(rx->hwant - rx->hhave));
        memcpy(rx->hbuf + rx->hhave, p, k);
        rx->hhave += k;
        p += k;
        n -= k;
        if (rx->hhave < rx->hwant)
            continue;
        if (!rx->decoded) {
            /* a consumer sends control frames only: a larger one is refused here */
            uint32_t max = nc->key[0] ? nc->net->max_frame : FL_NET_MAX_CONTROL;
            if (fl_frame_hdr_decode(rx->hbuf, max, &rx->h, &err) < 0) {
                snprintf(why, sizeof why, "%.500s", err.msg);
                goto refuse;
            }
            if (check_header(nc, &rx->h, why, sizeof why) < 0)
                goto refuse;
            rx->decoded = true;
            rx->hwant = FL_FRAME_HDR_LEN +
                        (rx->h.type == FL_NET_BUFFER ? FL_NET_BUFFER_HDR : rx->h.len);
            if (rx->hhave < rx->hwant)
                continue;
        }
        rx->decoded = false;
        rx->hhave = 0;
        rx->hwant = FL_FRAME_HDR_LEN;
        if (rx->h.type == FL_NET_BUFFER) {
            if (rx_begin(nc, &rx->h, rx->hbuf + FL_FRAME_HDR_LEN, &rx->f, why, sizeof why) < 0)
                goto refuse;
            rx->in_payload = true;
            rx->have = 0;
            rx->need = rx->f.len;
            if (!rx->need)
                payload_done(nc, rx, progressed);
        } else {
            if (rx_control(nc, &rx->h, rx->hbuf + FL_FRAME_HDR_LEN, why, sizeof why) < 0)
                goto refuse;
            *progressed = true;
        }
    }
    return 0;
refuse:
    fl_netenv_refuse(nc, why);
    return -1;
}

/* The bytes the frame under way still needs (0: none begun). */
static uint32_t frame_rest(const struct rx_direct *rx)
{
    if (rx->in_payload)
        return rx->need;
    if (!rx->hhave)
        return 0;
    return rx->hwant - rx->hhave + (rx->decoded && rx->h.type == FL_NET_BUFFER
                                        ? rx->h.len - FL_NET_BUFFER_HDR : 0);
}

/* Wake the thread only when the rest of the frame under way is there (at least a byte). */
static void set_lowat(struct rx_direct *rx)
{
    int want = (int)FL_MAX(1u, FL_MIN(frame_rest(rx), RX_LOWAT_MAX));
    if (want != rx->lowat && setsockopt(rx->fd, SOL_SOCKET, SO_RCVLOWAT, &want, sizeof want) == 0)
        rx->lowat = want;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    netconn *nc = arg;
    struct rx_direct *rx = nc->rx;
    bool progressed = false;
    for (int round = 0; round < RX_ROUNDS; round++) {
        struct iovec iov[2];
        int n = 0;
        bool direct = rx->in_payload && rx->f.b;
        if (direct)
            iov[n++] = (struct iovec){rx->f.b->data + rx->have, rx->need};
        /* behind a payload only the next headers: its payload then goes to its buffer */
        size_t stage = direct ? RX_NEXT_HDR : sizeof rx->stage;
        iov[n++] = (struct iovec){rx->stage, stage};
        size_t want = (direct ? rx->need : 0) + stage;
        ssize_t r = readv(fd, iov, n);
        if (r == 0) {
            fl_netenv_close_conn(nc->net, nc, "connection closed by peer");
            return;
        }
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            fl_netenv_close_conn(nc->net, nc, strerror(errno));
            return;
        }
        size_t spill = (size_t)r;
        if (direct) {
            uint32_t k = (uint32_t)FL_MIN(spill, (size_t)rx->need);
            rx->have += k;
            rx->need -= k;
            spill -= k;
            if (!rx->need)
                payload_done(nc, rx, &progressed);
        }
        if (spill && feed(nc, rx->stage, spill, &progressed) < 0)
            return;
        if ((size_t)r < want)
            break; /* the socket is drained */
    }
    set_lowat(rx);
    /* a frame begun must arrive whole within the read timeout (the sweep checks) */
    if (!frame_rest(rx))
        nc->g.frame_since_ms = 0;
    else if (!nc->g.frame_since_ms || progressed)
        nc->g.frame_since_ms = fl_mono_ms();
}

bool fl_rx_direct_eligible(const netconn *nc)
{
    return !nc->net->tls && !nc->authing && !nc->rx;
}

int fl_rx_direct_start(netconn *nc, struct evbuffer *in)
{
    struct rx_direct *rx = fl_xcalloc(1, sizeof *rx);
    rx->fd = bufferevent_getfd(nc->bev);
    rx->hwant = FL_FRAME_HDR_LEN;
    rx->lowat = 1;
    bufferevent_disable(nc->bev, EV_READ);
    rx->ev = event_new(bufferevent_get_base(nc->bev), rx->fd, EV_READ | EV_PERSIST, on_readable,
                       nc);
    event_add(rx->ev, NULL);
    nc->rx = rx;
    fl_tx_direct_start(nc);
    bool progressed = false;
    size_t n;
    while ((n = evbuffer_get_length(in)) > 0) {
        n = FL_MIN(n, sizeof rx->stage);
        evbuffer_remove(in, rx->stage, n);
        if (feed(nc, rx->stage, n, &progressed) < 0)
            return -1;
    }
    /* the partial-frame memory the bufferevent's input held is free now; the frame under
     * way (in pool buffers from now on) keeps its read deadline */
    char why[300];
    int64_t since = nc->g.frame_since_ms;
    fl_connlimit_track(&nc->net->cl, &nc->g, in, progressed, why, sizeof why);
    nc->g.frame_since_ms = frame_rest(rx) ? (since ? since : fl_mono_ms()) : 0;
    set_lowat(rx);
    return 0;
}

void fl_rx_direct_free(netconn *nc)
{
    struct rx_direct *rx = nc->rx;
    if (!rx)
        return;
    event_free(rx->ev);
    if (rx->in_payload)
        rx_abandon(&rx->f);
    free(rx);
    nc->rx = NULL;
}
