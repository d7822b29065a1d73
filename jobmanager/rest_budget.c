/* rest_budget.c -- see rest_budget.h.
 *
 * evhttp (libevent 2.1) has no hook when it accepts a connection, only evhttp_set_bevcb,
 * which asks us for the bufferevent just before it builds the connection around it. So:
 *   1. bevcb makes the bufferevent, takes a reference to it, puts a callback on its input
 *      buffer (counting the bytes read from the socket) and arms a zero timer;
 *   2. the timer (or the first bytes, whichever comes first) finds the evhttp_connection:
 *      evhttp installs its callbacks on the bufferevent with the connection as their
 *      argument, read back with bufferevent_getcb; a bufferevent whose callbacks are gone
 *      was already freed by evhttp (our reference kept it readable). The connection gets a
 *      close callback, which returns its bytes, and our reference is dropped.
 * Each watched connection is a budget_conn on a list; a request's answer finds its
 * connection through evhttp_connection_get_bufferevent.
 */
#include "rest_budget.h"
#include "common/log.h"
#include "common/tls.h"
#include "common/util.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

/* A released body at least this large trims the heap afterwards. */
#define TRIM_AFTER_BYTES (1u << 20)
#define TRIM_DELAY_MS 200

typedef struct budget_conn {
    struct budget_conn *prev, *next;
    fl_rest_budget *b;
    struct bufferevent *bev;
    struct evbuffer_cb_entry *count_cb;
    struct event *resolve_timer;       /* until the connection is found */
    struct evhttp_connection *evcon;   /* NULL until found */
    bool have_ref;                     /* our reference to bev is held */
    bool refused;                      /* its body limit was set to 0 */
    size_t held;                       /* bytes counted for it */
} budget_conn;

struct fl_rest_budget {
    struct event_base *base;
    size_t max_body, max_total;
    size_t held;              /* sum of the connections' held */
    size_t released;          /* since the last heap trim */
    budget_conn *conns;
    struct event *trim_timer;
    bool logged_full;
    struct fl_tls *tls;       /* TLS connections (NULL: plain) */
};

static void release(budget_conn *c)
{
    fl_rest_budget *b = c->b;
    b->held -= c->held;
    b->released += c->held;
    c->held = 0;
    if (b->released >= TRIM_AFTER_BYTES && !evtimer_pending(b->trim_timer, NULL)) {
        struct timeval tv = {0, TRIM_DELAY_MS * 1000};
        evtimer_add(b->trim_timer, &tv);
    }
}

/* Forgets c: its bytes, its callback, its timer, its reference. */
static void drop(budget_conn *c)
{
    release(c);
    if (c->count_cb)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->count_cb);
    if (c->resolve_timer)
        event_free(c->resolve_timer);
    if (c->have_ref)
        bufferevent_decref(c->bev);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->b->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    drop(arg);
}

/* Finds c's evhttp connection (see the top). false when evhttp already freed it (c is
 * gone then). */
static bool resolve(budget_conn *c)
{
    if (c->evcon)
        return true;
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *arg;
    bufferevent_getcb(c->bev, &rd, &wr, &ev, &arg);
    if (!ev || !arg) {
        drop(c);
        return false;
    }
    c->evcon = arg;
    evhttp_connection_set_closecb(c->evcon, on_close, c);
    event_free(c->resolve_timer);
    c->resolve_timer = NULL;
    bufferevent_decref(c->bev);
    c->have_ref = false;
    return true;
}

static void on_resolve_timer(evutil_socket_t fd, short what, void *arg)
{
    resolve(arg);
}

/* Bytes arrived on c's socket. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    budget_conn *c = arg;
    fl_rest_budget *b = c->b;
    if (!info->n_added || c->refused)
        return;
    c->held += info->n_added;
    b->held += info->n_added;
    if (b->held <= b->max_total)
        return;
    if (!resolve(c))
        return;
    /* evhttp answers 413 at its next look at the body, and closes the connection */
    c->refused = true;
    evhttp_connection_set_max_body_size(c->evcon, 0);
    if (!b->logged_full) {
        char *addr;
        uint16_t port;
        evhttp_connection_get_peer(c->evcon, &addr, &port);
        fl_warn("REST: request bodies being received take more than "
                "rest.server.max-concurrent-content-length (%zu bytes): the body from %s:%u "
                "is refused (413). Logged once.",
                b->max_total, addr ? addr : "?", port);
        b->logged_full = true;
    }
    release(c);
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    fl_rest_budget *b = arg;
    struct bufferevent *bev = b->tls ? fl_tls_accept_bev(b->tls, base, -1)
                                     : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev && b->tls) {
        /* never let evhttp fall back to a plain connection on a TLS port */
        fl_error("REST: cannot make a TLS connection (out of memory?)");
        return NULL;
    }
    if (!bev)
        return NULL; /* evhttp makes its own: not counted */
    budget_conn *c = fl_xcalloc(1, sizeof *c);
    c->b = b;
    c->bev = bev;
    bufferevent_incref(bev);
    c->have_ref = true;
    c->count_cb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
    c->resolve_timer = evtimer_new(base, on_resolve_timer, c);
    struct timeval now = {0, 0};
    evtimer_add(c->resolve_timer, &now);
    c->next = b->conns;
    if (b->conns)
        b->conns->prev = c;
    b->conns = c;
    return bev;
}

static void on_trim(evutil_socket_t fd, short what, void *arg)
{
    fl_rest_budget *b = arg;
    b->released = 0;
    malloc_trim(0); /* the freed body's pages go back to the system */
}

fl_rest_budget *fl_rest_budget_new(struct event_base *base, struct evhttp *http,
                                   size_t max_body, size_t max_total, struct fl_tls *tls)
{
    fl_rest_budget *b = fl_xcalloc(1, sizeof *b);
    b->base = base;
    b->max_body = max_body;
    b->max_total = max_total;
    b->tls = tls;
    b->trim_timer = evtimer_new(base, on_trim, b);
    evhttp_set_max_body_size(http, (ev_ssize_t)max_body);
    evhttp_set_bevcb(http, make_bev, b);
    return b;
}

void fl_rest_budget_request_done(fl_rest_budget *b, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    for (budget_conn *c = b->conns; bev && c; c = c->next)
        if (c->bev == bev) {
            release(c);
            if (c->refused && c->evcon) { /* kept alive after all: counted again */
                c->refused = false;
                evhttp_connection_set_max_body_size(c->evcon, (ev_ssize_t)b->max_body);
            }
            return;
        }
}

size_t fl_rest_budget_held(const fl_rest_budget *b)
{
    return b->held;
}

void fl_rest_budget_free(fl_rest_budget *b)
{
    if (!b)
        return;
    while (b->conns) /* evhttp_free closed the found ones already; these it never built */
        drop(b->conns);
    event_free(b->trim_timer);
    free(b);
}
