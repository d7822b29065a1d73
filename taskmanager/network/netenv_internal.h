/* netenv_internal.h -- the network thread's layouts, shared by netenv.c (connections,
 * receiving, life cycle) and sender.c (the producer side: views, partition requests);
 * nobody else includes this. The protocol is described in README.md. */
#ifndef FL_NETENV_INTERNAL_H
#define FL_NETENV_INTERNAL_H

#include <unistd.h>

#include <event2/event.h>

#include "common/auth.h"
#include "common/connlimit.h"
#include "common/frame.h"
#include "common/mailbox.h"
#include "network_internal.h"

#define OUT_HIGH (4u << 20) /* stop feeding a connection above this many queued bytes */
#define OUT_LOW (1u << 20)  /* and resume below this */

typedef struct netconn netconn;

typedef struct view {
    fl_subpart_reader reader; /* first: the subpartition calls back through it */
    struct view *next;        /* conn's views (network thread) */
    struct view *work_next;   /* under work_lock */
    struct view *ready_next;  /* a scan's list of new views with data (network thread) */
    bool in_work;             /* under work_lock */
    netconn *conn;
    uint64_t receiver_id;
    fl_partition *part;
    fl_subpart *sp;
    int credit;
    int told_backlog;         /* the backlog the consumer heard last */
    bool suspect;             /* looked stuck at the last check (fl_sender_check_stuck) */
    uint32_t seq;
    bool failed;              /* under sp->lock */
    char fail_msg[256];       /* under sp->lock */
} view;

struct netconn {
    netconn *next;
    fl_netenv *net;
    struct bufferevent *bev;
    char peer[64];
    char key[300];            /* "host:port" of client connections, "" for accepted ones */
    view *views;              /* accepted connections: the subpartitions read through it */
    bool stalled;             /* output above OUT_HIGH */
    bool connected;           /* client connections: the connect completed */
    bool authing;             /* the cluster-secret handshake is under way (auth.h) */
    fl_auth auth;
    fl_conn_guard g;          /* its share of the data port's bounds (connlimit.h) */
    struct rx_direct *rx;     /* plain TCP, handshake done: read by receive.c directly */
    struct tx_direct *tx;     /* and written by sender.c directly */
};

typedef struct pending {
    struct pending *next;
    char id[FL_NET_ID_MAX];
    int sub;
    int64_t deadline;
    fl_chan *chan;            /* local request */
    netconn *conn;            /* remote request */
    uint64_t receiver_id;
    int credit;
} pending;

/* The id a consumer gives a channel: its slot and the slot's generation, so that a stale id
 * is never mistaken for a new one. */
static inline uint64_t fl_receiver_id(uint32_t slot, uint32_t gen)
{
    return (uint64_t)gen << 32 | (slot + 1);
}

typedef struct recv_slot {
    fl_chan *c;
    netconn *conn;
    uint32_t gen;
} recv_slot;

struct fl_netenv {
    fl_endpoint *ep;
    struct evconnlistener *listener;
    fl_netpool *pool;
    int bpc, floating, gate_max_required;
    int64_t request_timeout_ms;
    int64_t hb_interval_ms, hb_timeout_ms; /* dead data connections are found within these */
    uint32_t max_frame;
    struct event *tick;

    pthread_mutex_t reg_lock;  /* partitions and pendings */
    fl_partition *parts;
    pending *pendings;

    pthread_mutex_t work_lock;
    view *work_views;
    fl_chan *work_credits;
    int work_efd;
    struct event *work_ev;
    struct event *work_now;    /* the network thread queued work itself: this loop turn */

    pthread_mutex_t rcv_lock;  /* receiver slots */
    recv_slot *slots;
    uint32_t nslots;

    netconn *conns;            /* network thread */
    int64_t stuck_check_ms;    /* network thread: the last fl_sender_check_stuck */
    _Atomic int stuck_found;   /* views it had to serve (bugs; tests read it) */
    fl_connlimit cl;           /* the data port's bounds (network thread) */
    fl_secret secret;          /* cluster secret: every connection proves it */
    struct fl_tls *tls;        /* internal TLS (common/tls.h), NULL when off; not ours */
    struct event *sweep;       /* closes connections that overstay their deadlines */
    fl_ratelimit rl_close;     /* "closing data connection" lines */
};

/* Called with the work lock held, by any thread, when the work list was empty. The network
 * thread itself (credit it borrowed floating buffers for while reading, say) has its work
 * done at the end of this loop turn, without writing and reading its eventfd. */
static inline void wake_work(fl_netenv *net)
{
    if (fl_endpoint_in_thread(net->ep)) {
        event_active(net->work_now, 0, 0);
        return;
    }
    uint64_t one = 1;
    ssize_t w = write(net->work_efd, &one, sizeof one);
    (void)w;
}

static inline void be32(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)(v >> 24);
    d[1] = (uint8_t)(v >> 16);
    d[2] = (uint8_t)(v >> 8);
    d[3] = (uint8_t)v;
}

static inline uint32_t rd32(const uint8_t *d)
{
    return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

/* netenv.c */
/* Registry lock held: the registered partition with this id, or NULL. */
fl_partition *fl_netenv_find_part(fl_netenv *net, const char *id);
/* Queues a frame on nc. */
void fl_netenv_send_frame(netconn *nc, uint16_t type, uint64_t receiver, const void *payload,
                          uint32_t len);
/* Queues an ERROR frame for receiver (0: the whole connection) on nc. */
void fl_netenv_send_error(netconn *nc, uint64_t receiver, const char *msg);

/* The receiver slot of id, or NULL (rcv_lock held). */
recv_slot *fl_netenv_find_slot(fl_netenv *net, uint64_t id);
/* Closes nc: fails what reads or writes through it, frees it. */
void fl_netenv_close_conn(fl_netenv *net, netconn *nc, const char *why);
/* Logs why (rate-limited), tells an accepted peer, and closes nc. */
void fl_netenv_refuse(netconn *nc, const char *why);
/* The cluster-secret handshake of nc is done; a connector may send what it queued. */
void fl_netenv_auth_done(netconn *nc);

/* receive.c: frames coming in (network thread) */
struct bufferevent;
struct evbuffer;
/* The bufferevent's read callback of every data connection (until a direct reader takes
 * over). */
void fl_rx_on_read(struct bufferevent *bev, void *arg);
/* Whether nc may be read directly: plain TCP, handshake done. */
bool fl_rx_direct_eligible(const netconn *nc);
/* From now on nc is read by the direct reader; `in` holds what its bufferevent read
 * already. -1 when nc was closed meanwhile. */
int fl_rx_direct_start(netconn *nc, struct evbuffer *in);
/* Frees nc's direct reader, if any (its partly read buffer goes back to its pool). */
void fl_rx_direct_free(netconn *nc);

/* sender.c: the producer side of remote channels (network thread) */
/* Detaches v from its subpartition and frees it. */
void fl_sender_release_view(view *v);
/* Sends what v's credit allows (priority events need none). */
void fl_sender_pump(view *v);
/* The view of nc for receiver, or NULL. */
view *fl_sender_find_view(netconn *nc, uint64_t receiver);
/* A PARTITION_REQUEST frame: serves it, or keeps it waiting for its producer. */
void fl_sender_on_partition_request(fl_netenv *net, netconn *nc, uint64_t receiver,
                                    const uint8_t *d, uint32_t len);
/* Serves remote requests whose partition has appeared; fails expired ones (expire). */
void fl_sender_scan_pendings(fl_netenv *net, bool expire);
/* A connection whose output had exceeded OUT_HIGH drained below OUT_LOW: its views send
 * again. */
void fl_sender_resume(netconn *nc);
/* From now on nc's output (plain TCP, handshake done) is written by the direct writer. */
void fl_tx_direct_start(netconn *nc);
/* Frees nc's direct writer, if any (the output itself is the bufferevent's). */
void fl_tx_direct_free(netconn *nc);
/* The sender's invariant, checked about once a second: a view with data queued either has
 * credit and is being served (in the work list, or its connection is stalled), or has no
 * credit and its consumer knows of the backlog. A view seen breaking it twice in a row is
 * a bug (a view nobody will pump: its consumer would wait forever): logged with the
 * partition, subpartition and consumer, and served. */
void fl_sender_check_stuck(fl_netenv *net);

#endif
