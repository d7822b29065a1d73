/* connlimit.c -- see connlimit.h. The thread owning the port only. */
#include "connlimit.h"
#include "frame.h"
#include "util.h"

#include <errno.h>
#include <malloc.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#define LOG_EVERY_S 10
#define ACCEPT_PAUSE_MS 250
#define TRIM_AFTER (1u << 20)

void fl_connlimit_conf_rpc(const fl_conf *conf, fl_connlimit_conf *c)
{
    c->port = "RPC";
    c->prefix = "rpc.server.";
    c->max_conns = (int)FL_MAX(1, fl_conf_get_int(conf, "rpc.server.max-connections"));
    c->handshake_ms = FL_MAX(1, fl_conf_get_duration_ms(conf, "rpc.server.handshake-timeout"));
    c->read_ms = FL_MAX(1, fl_conf_get_duration_ms(conf, "rpc.server.read-timeout"));
    c->handshake_frame = (uint32_t)FL_MIN(
        FL_MAX(1024, fl_conf_get_bytes(conf, "rpc.server.handshake.max-frame-size")),
        (int64_t)UINT32_MAX);
    c->max_buffered = (uint64_t)FL_MAX(1, fl_conf_get_bytes(conf, "rpc.server.max-buffered-memory"));
}

void fl_connlimit_conf_data(const fl_conf *conf, fl_connlimit_conf *c)
{
    c->port = "data";
    c->prefix = "taskmanager.network.server.";
    c->max_conns =
        (int)FL_MAX(1, fl_conf_get_int(conf, "taskmanager.network.server.max-connections"));
    c->handshake_ms = FL_MAX(
        1, fl_conf_get_duration_ms(conf, "taskmanager.network.server.handshake-timeout"));
    c->read_ms =
        FL_MAX(1, fl_conf_get_duration_ms(conf, "taskmanager.network.server.read-timeout"));
    c->handshake_frame = 4096;
    c->max_buffered = (uint64_t)FL_MAX(
        1, fl_conf_get_bytes(conf, "taskmanager.network.server.max-buffered-memory"));
}

void fl_connlimit_conf_default(fl_connlimit_conf *c, const char *port)
{
    c->port = port;
    c->prefix = "rpc.server.";
    c->max_conns = 1 << 20;
    c->handshake_ms = c->read_ms = INT64_MAX / 4;
    c->handshake_frame = UINT32_MAX;
    c->max_buffered = UINT64_MAX / 4;
}

void fl_connlimit_init(fl_connlimit *cl, const fl_connlimit_conf *c)
{
    memset(cl, 0, sizeof *cl);
    cl->c = *c;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    fl_connlimit *cl = arg;
    if (cl->listener)
        evconnlistener_enable(cl->listener);
}

void fl_connlimit_accept_error(fl_connlimit *cl)
{
    struct evconnlistener *l = cl->listener;
    int e = EVUTIL_SOCKET_ERROR();
    if (!l)
        return;
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        /* the listening socket stays readable: retrying at once would spin */
        evconnlistener_disable(l);
        if (!cl->resume)
            cl->resume = evtimer_new(evconnlistener_get_base(l), on_resume, cl);
        struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
        evtimer_add(cl->resume, &tv);
        fl_log_rl(&cl->rl_accept, 1, FL_LOG_WARN, LOG_EVERY_S,
                  "%s port: accept() failed: %s (%d connections open); not accepting for "
                  "%d ms", cl->c.port, strerror(e), cl->nconns, ACCEPT_PAUSE_MS);
        return;
    }
    fl_log_rl(&cl->rl_accept, 1, FL_LOG_WARN, LOG_EVERY_S, "%s port: accept() failed: %s",
              cl->c.port, strerror(e));
}

void fl_connlimit_watch(fl_connlimit *cl, struct evconnlistener *l, evconnlistener_errorcb cb)
{
    cl->listener = l;
    evconnlistener_set_error_cb(l, cb);
}

bool fl_connlimit_accept(fl_connlimit *cl, fl_conn_guard *g, const char *peer)
{
    memset(g, 0, sizeof *g);
    if (cl->nconns >= cl->c.max_conns) {
        fl_log_rl(&cl->rl_full, 1, FL_LOG_WARN, LOG_EVERY_S,
                  "%s port: refusing the connection from %s: %d connections are open "
                  "(%smax-connections)", cl->c.port, peer, cl->nconns, cl->c.prefix);
        return false;
    }
    cl->nconns++;
    g->counted = true;
    g->accepted_ms = fl_mono_ms();
    return true;
}

int fl_connlimit_track(fl_connlimit *cl, fl_conn_guard *g, struct evbuffer *in, bool progressed,
                       char *why, size_t whylen)
{
    size_t avail = evbuffer_get_length(in);
    uint64_t need = avail;
    if (avail >= FL_FRAME_HDR_LEN) {
        uint8_t raw[FL_FRAME_HDR_LEN];
        fl_frame_hdr h;
        evbuffer_copyout(in, raw, sizeof raw);
        if (fl_frame_hdr_decode(raw, UINT32_MAX, &h, NULL) == 0)
            need = FL_FRAME_HDR_LEN + (uint64_t)h.len;
    }
    if (need == 0) {
        g->frame_since_ms = 0;
    } else if (!g->frame_since_ms || progressed) {
        g->frame_since_ms = fl_mono_ms();
    }
    if (need > g->reserved && cl->buffered - g->reserved + need > cl->c.max_buffered) {
        snprintf(why, whylen, "a frame of %llu bytes would take the memory of partial frames on "
                              "the %s port above %llu bytes (%smax-buffered-memory)",
                 (unsigned long long)need, cl->c.port, (unsigned long long)cl->c.max_buffered,
                 cl->c.prefix);
        fl_log_rl(&cl->rl_memory, 1, FL_LOG_WARN, LOG_EVERY_S, "%s port: %s", cl->c.port, why);
        return -1;
    }
    cl->buffered = cl->buffered - g->reserved + need;
    g->reserved = need;
    return 0;
}

bool fl_connlimit_expired(fl_connlimit *cl, const fl_conn_guard *g, const char *peer,
                          int64_t now_ms, char *why, size_t whylen)
{
    if (g->counted && !g->established && now_ms - g->accepted_ms > cl->c.handshake_ms) {
        snprintf(why, whylen, "it did not prove itself (cluster secret, registration or first "
                              "request) within %lld ms (%shandshake-timeout)",
                 (long long)cl->c.handshake_ms, cl->c.prefix);
    } else if (g->frame_since_ms && now_ms - g->frame_since_ms > cl->c.read_ms) {
        snprintf(why, whylen, "a frame it began did not arrive whole within %lld ms "
                              "(%sread-timeout)", (long long)cl->c.read_ms, cl->c.prefix);
    } else {
        return false;
    }
    fl_log_rl(&cl->rl_expired, 1, FL_LOG_WARN, LOG_EVERY_S, "%s port: closing the connection "
              "with %s: %s", cl->c.port, peer, why);
    return true;
}

void fl_connlimit_release(fl_connlimit *cl, fl_conn_guard *g)
{
    bool large = g->reserved >= TRIM_AFTER;
    if (g->counted)
        cl->nconns--;
    cl->buffered -= g->reserved;
    memset(g, 0, sizeof *g);
    cl->trim_pending |= large;
}

void fl_connlimit_tick(fl_connlimit *cl)
{
    /* connections dropped with large frames half read (refused, timed out, gone): their
     * buffers are freed by now (libevent finalizes a bufferevent after the loop turn that
     * freed it); give the memory back to the system, so a flood leaves no fat daemon */
    if (cl->trim_pending) {
        cl->trim_pending = false;
        malloc_trim(0);
    }
}

void fl_connlimit_free(fl_connlimit *cl)
{
    if (cl->resume)
        event_free(cl->resume);
    cl->resume = NULL;
    cl->listener = NULL;
}
