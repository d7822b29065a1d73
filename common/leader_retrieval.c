/* leader_retrieval.c -- see leader_retrieval.h. The retrieval service's session, reads and
 * watches run on its own "leader-retrieval" thread; its owner hears about changes by mail. */
#include "leader_retrieval.h"
#include "log.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

/* ---- the node's contents -------------------------------------------------------------- */

char *fl_leader_info_format(const fl_leader_info *li)
{
    json_t *o = json_pack("{s:s, s:i, s:s, s:s}", "rpc-host", li->rpc_host, "rpc-port",
                          li->rpc_port, "rest-url", li->rest_url, "session-id", li->session_id);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s ? s : fl_xstrdup("{}");
}

/* A string field of o into out (at most cap-1 bytes, no control character): 0 or -1. */
static int str_field(json_t *o, const char *name, char *out, size_t cap, fl_err *err)
{
    json_t *v = json_object_get(o, name);
    const char *s = json_string_value(v);
    if (!s || json_string_length(v) == 0 || json_string_length(v) >= cap ||
        strlen(s) != json_string_length(v)) {
        fl_err_set(err, "the leader's '%s' is missing or longer than %zu bytes", name, cap - 1);
        return -1;
    }
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            fl_err_set(err, "the leader's '%s' holds a control character", name);
            return -1;
        }
    snprintf(out, cap, "%s", s);
    return 0;
}

int fl_leader_info_parse(const char *data, size_t len, fl_leader_info *out, fl_err *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *o = json_loadb(data, len, 0, &jerr);
    int rc = -1;
    if (!o || !json_is_object(o)) {
        fl_err_set(err, "the leader's node does not hold a JSON object: %s", jerr.text);
        goto out;
    }
    json_t *port = json_object_get(o, "rpc-port");
    if (str_field(o, "rpc-host", out->rpc_host, sizeof out->rpc_host, err) < 0 ||
        str_field(o, "rest-url", out->rest_url, sizeof out->rest_url, err) < 0 ||
        str_field(o, "session-id", out->session_id, sizeof out->session_id, err) < 0)
        goto out;
    if (!json_is_integer(port) || json_integer_value(port) < 1 ||
        json_integer_value(port) > 65535) {
        fl_err_set(err, "the leader's rpc-port is not a port");
        goto out;
    }
    out->rpc_port = (int)json_integer_value(port);
    if (strncmp(out->rest_url, "http://", 7) != 0 && strncmp(out->rest_url, "https://", 8) != 0) {
        fl_err_set(err, "the leader's rest-url '%s' is not http[s]://host:port", out->rest_url);
        goto out;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}

bool fl_leader_info_equal(const fl_leader_info *a, const fl_leader_info *b)
{
    return a->rpc_port == b->rpc_port && !strcmp(a->rpc_host, b->rpc_host) &&
           !strcmp(a->rest_url, b->rest_url) && !strcmp(a->session_id, b->session_id);
}

int fl_leader_read(fl_zk *zk, bool watch, fl_leader_info *out, fl_err *err)
{
    /* an exists-watch fires on creation, change and deletion alike */
    int st = fl_zk_exists(zk, FL_LEADER_NODE, watch, NULL, NULL, err);
    if (st < 0)
        return st;
    char *data;
    size_t len;
    if ((st = fl_zk_get(zk, FL_LEADER_NODE, false, &data, &len, NULL, NULL, err)) < 0)
        return st;
    st = fl_leader_info_parse(data, len, out, err);
    free(data);
    return st;
}

/* ---- once, for the CLI ---------------------------------------------------------------- */

int fl_leader_lookup(const fl_conf *conf, fl_leader_info *out, fl_err *err)
{
    fl_zk_conf zc;
    if (fl_zk_conf_load(conf, &zc, err) < 0)
        return -1;
    fl_zk *zk = fl_zk_new(&zc, NULL, err);
    if (!zk)
        return -1;
    int rc = -1;
    if (fl_zk_wait_connected(zk, zc.connection_timeout_ms, err) < 0)
        goto out;
    /* a leader is being elected: look again for retry-wait x max-retry-attempts */
    int64_t end = fl_mono_ms() + zc.retry_wait_ms * zc.max_retries;
    for (;;) {
        int st = fl_leader_read(zk, false, out, err);
        if (st == 0) {
            rc = 0;
            break;
        }
        if (st != FL_ZK_NONODE && st != FL_ZK_CONNLOSS)
            break;
        if (fl_mono_ms() >= end) {
            if (st == FL_ZK_NONODE)
                fl_err_set(err, "no JobManager leads the cluster: ZooKeeper %s has no %s%s "
                                "(waited %lld ms: high-availability.zookeeper.client."
                                "retry-wait x max-retry-attempts)",
                           zc.quorum, zc.root, FL_LEADER_NODE,
                           (long long)(zc.retry_wait_ms * zc.max_retries));
            break;
        }
        usleep(100 * 1000);
    }
out:
    fl_zk_free(zk);
    return rc;
}

/* ---- following it, for TaskManagers ------------------------------------------------- */

struct fl_leader_retrieval {
    fl_endpoint *ep;        /* our thread */
    fl_endpoint *owner;
    fl_leader_fn fn;
    fl_zk_conf zc;
    fl_zk *zk;
    bool known;             /* what the owner was told last */
    fl_leader_info last;
    int64_t started_mono;
    bool warned;
    struct event *warn_timer;
};

typedef struct info_mail {
    fl_leader_fn fn;
    bool has;
    fl_leader_info info;
} info_mail;

static void run_info(void *ctx, void *arg)
{
    info_mail *m = arg;
    m->fn(ctx, m->has ? &m->info : NULL);
    free(m);
}

static void tell(fl_leader_retrieval *lr, const fl_leader_info *li)
{
    if ((!li && !lr->known) || (li && lr->known && fl_leader_info_equal(li, &lr->last)))
        return;
    lr->known = li != NULL;
    if (li) {
        lr->last = *li;
        fl_info("The leading JobManager is flint://%s:%d (REST %s, leader session %s)",
                li->rpc_host, li->rpc_port, li->rest_url, li->session_id);
    } else {
        fl_info("No JobManager leads the cluster now (%s%s is gone); waiting for the next",
                lr->zc.root, FL_LEADER_NODE);
    }
    info_mail *m = fl_xcalloc(1, sizeof *m);
    m->fn = lr->fn;
    m->has = li != NULL;
    if (li)
        m->info = *li;
    fl_endpoint_post(lr->owner, run_info, m, free);
}

static void look(fl_leader_retrieval *lr)
{
    fl_leader_info li;
    fl_err err;
    int st = fl_leader_read(lr->zk, true, &li, &err);
    if (st == 0)
        tell(lr, &li);
    else if (st == FL_ZK_NONODE)
        tell(lr, NULL);
    else if (st != FL_ZK_CONNLOSS && st != FL_ZK_EXPIRED)
        fl_warn_every(10, "Cannot read the leader: %s", err.msg); /* the next change retries */
}

static void on_state(void *ctx, fl_zk *zk, int state)
{
    fl_leader_retrieval *lr = ctx;
    fl_err err;
    if (state == FL_ZK_CONNECTED) {
        fl_info("Connected to ZooKeeper %s (session 0x%llx)", lr->zc.quorum,
                (unsigned long long)fl_zk_session_id(zk));
        lr->warned = false;
        look(lr);
    } else if (state == FL_ZK_SESSION_EXPIRED) {
        fl_warn("The ZooKeeper session expired; opening a new one");
        if (fl_zk_restart(zk, &err) < 0)
            fl_error("%s", err.msg);
    } else {
        fl_info("Lost the connection to ZooKeeper %s; reconnecting (the leader is kept until "
                "it changes)", lr->zc.quorum);
    }
}

static void on_watch(void *ctx, fl_zk *zk, const char *path, int event)
{
    fl_leader_retrieval *lr = ctx;
    if (!strcmp(path, FL_LEADER_NODE))
        look(lr);
}

static void on_warn_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_leader_retrieval *lr = arg;
    if (!lr->warned && !fl_zk_is_connected(lr->zk)) {
        lr->warned = true;
        fl_warn("Cannot reach ZooKeeper at %s (high-availability.zookeeper.quorum) after %lld "
                "ms; still trying", lr->zc.quorum, (long long)lr->zc.connection_timeout_ms);
    }
}

static void start_mail(void *ctx, void *arg)
{
    fl_leader_retrieval *lr = ctx;
    fl_err err;
    fl_zk_events ev = {lr->ep, lr, on_state, on_watch};
    lr->zk = fl_zk_new(&lr->zc, &ev, &err);
    if (!lr->zk)
        fl_error("Leader retrieval: %s", err.msg);
    struct timeval tv = {lr->zc.connection_timeout_ms / 1000,
                         (lr->zc.connection_timeout_ms % 1000) * 1000};
    evtimer_add(lr->warn_timer, &tv);
}

fl_leader_retrieval *fl_leader_retrieval_new(const fl_conf *conf, fl_endpoint *ep,
                                             fl_leader_fn fn, fl_err *err)
{
    fl_leader_retrieval *lr = fl_xcalloc(1, sizeof *lr);
    if (fl_zk_conf_load(conf, &lr->zc, err) < 0) {
        free(lr);
        return NULL;
    }
    lr->owner = ep;
    lr->fn = fn;
    lr->ep = fl_endpoint_new("leader-retrieval");
    if (!lr->ep) {
        fl_err_set(err, "cannot create the leader retrieval thread");
        free(lr);
        return NULL;
    }
    lr->warn_timer = evtimer_new(fl_endpoint_base(lr->ep), on_warn_timer, lr);
    return lr;
}

int fl_leader_retrieval_start(fl_leader_retrieval *lr, fl_err *err)
{
    lr->started_mono = fl_mono_ms();
    if (fl_endpoint_start(lr->ep, lr, err) < 0)
        return -1;
    fl_endpoint_post(lr->ep, start_mail, NULL, NULL);
    return 0;
}

void fl_leader_retrieval_free(fl_leader_retrieval *lr)
{
    if (!lr)
        return;
    fl_endpoint_stop(lr->ep);
    fl_zk_free(lr->zk);
    event_free(lr->warn_timer);
    fl_endpoint_free(lr->ep);
    free(lr);
}
