/* connlimit.h -- the bounds of a server port: how many connections it holds, how long an
 * accepted connection may take to prove itself (cluster secret, registration or first
 * request) and to finish a frame it began, how much memory partial frames take per
 * connection and over all of them, and what happens when accept(2) runs out of file
 * descriptors (accepting pauses briefly instead of spinning). A bound that is reached closes
 * or refuses the connection and logs one line per cause at most every 10 s, with the count
 * of the lines suppressed meanwhile (log.h).
 *
 * Used by the RPC service (common/rpc.c: rpc.server.*) and the data server
 * (taskmanager/network/netenv.c: taskmanager.network.server.*), each on its own thread:
 * an fl_connlimit and its fl_conn_guards are touched only by the thread that owns the port.
 */
#ifndef FL_CONNLIMIT_H
#define FL_CONNLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "log.h"

/* listen(2) backlog of a server port (the kernel caps it at net.core.somaxconn): a burst of
 * connections waits in the kernel to be accepted (and refused at once when the port is
 * full) instead of having its handshakes dropped and retried seconds later. */
#define FL_LISTEN_BACKLOG 4096

#include <event2/listener.h>

struct evbuffer;
struct event;

typedef struct fl_connlimit_conf {
    const char *port;            /* "RPC", "data": names the port in log lines */
    const char *prefix;          /* the keys' prefix: "rpc.server." */
    int max_conns;               /* accepted connections held at once */
    int64_t handshake_ms;        /* an accepted connection proves itself within this */
    int64_t read_ms;             /* a frame begun arrives whole within this */
    uint32_t handshake_frame;    /* largest frame before it proved itself */
    uint64_t max_buffered;       /* bytes of partial frames over all connections */
} fl_connlimit_conf;

/* The bounds of an RPC port (rpc.server.*) and of a data port
 * (taskmanager.network.server.*; handshake_frame is for the caller to set). */
void fl_connlimit_conf_rpc(const fl_conf *conf, fl_connlimit_conf *c);
void fl_connlimit_conf_data(const fl_conf *conf, fl_connlimit_conf *c);
/* Generous bounds for tests and tools that configure none. */
void fl_connlimit_conf_default(fl_connlimit_conf *c, const char *port);

typedef struct fl_connlimit {
    fl_connlimit_conf c;
    int nconns;                  /* accepted connections counted */
    uint64_t buffered;           /* bytes reserved by partial frames */
    struct evconnlistener *listener;
    struct event *resume;        /* re-enables accepting after a descriptor shortage */
    bool trim_pending;           /* a large partial frame was dropped: trim at the tick */
    fl_ratelimit rl_full, rl_memory, rl_accept, rl_expired;
} fl_connlimit;

/* One connection's share. Zeroed = an outgoing connection (no handshake deadline). */
typedef struct fl_conn_guard {
    bool counted;                /* an accepted connection, counted in nconns */
    bool established;            /* proved itself: no handshake deadline, full frame size */
    int64_t accepted_ms;         /* monotonic */
    int64_t frame_since_ms;      /* a partial frame is pending since (0: none) */
    uint64_t reserved;           /* its partial frame's bytes in buffered */
} fl_conn_guard;

void fl_connlimit_init(fl_connlimit *cl, const fl_connlimit_conf *c);
/* Installs cb as the listener's accept-error callback (it receives the listener's own
 * argument; it calls fl_connlimit_accept_error with this fl_connlimit). */
void fl_connlimit_watch(fl_connlimit *cl, struct evconnlistener *l, evconnlistener_errorcb cb);
/* accept(2) on the watched listener failed: on EMFILE, ENFILE, ENOBUFS or ENOMEM accepting
 * stops for 250 ms (logged once per 10 s) rather than being retried at once, which spins. */
void fl_connlimit_accept_error(fl_connlimit *cl);
/* A connection was accepted: true when it may stay (g is counted), false when the port holds
 * max_conns already (the caller closes it at once; logged once per 10 s). */
bool fl_connlimit_accept(fl_connlimit *cl, fl_conn_guard *g, const char *peer);
/* Accounts the partial frame at the front of in after a read (progressed: a whole frame was
 * consumed since the last call). -1 with why when the total for the port would exceed
 * max_buffered (the caller closes the connection). */
int fl_connlimit_track(fl_connlimit *cl, fl_conn_guard *g, struct evbuffer *in, bool progressed,
                       char *why, size_t whylen);
/* For a periodic sweep: true (why set, logged) when the connection overstayed its handshake
 * or its partial frame; the caller closes it. */
bool fl_connlimit_expired(fl_connlimit *cl, const fl_conn_guard *g, const char *peer,
                          int64_t now_ms, char *why, size_t whylen);
/* The connection is gone: returns its share. */
void fl_connlimit_release(fl_connlimit *cl, fl_conn_guard *g);
/* Once per sweep (a second): when a connection holding a partial frame of 1 MiB or more was
 * released since the last tick, returns freed memory to the system (malloc_trim). */
void fl_connlimit_tick(fl_connlimit *cl);
/* Frees the resume timer (the listener is the caller's). */
void fl_connlimit_free(fl_connlimit *cl);

#endif
