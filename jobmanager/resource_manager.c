/* resource_manager.c -- see resource_manager.h. All functions but the life cycle run on
 * the ResourceManager's thread. */
#include "resource_manager.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/util.h"
#include "jobmanager/ha/ha.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

typedef struct slot {
    char job_id[40];        /* empty when free */
    char allocation_id[40];
} slot;

typedef struct tm_entry {
    struct tm_entry *next;
    char resource_id[128];
    char registration_id[40];
    char host[256];
    int rpc_port, data_port;
    int nslots;
    slot *slots;
    fl_conn_id conn;
    int64_t last_heard_mono; /* for the timeout */
    int64_t last_heartbeat_ms;
    int64_t registered_ms;
    fl_tm_process proc;      /* issue 12: its process, from its heartbeats */
} tm_entry;

/* A job holding or waiting for slots. */
typedef struct lease {
    struct lease *next;
    char job_id[40];
    int want;               /* slots requested and not granted yet; 0 once granted */
    fl_endpoint *ep;
    fl_slots_granted_fn granted;
    fl_slots_lost_fn lost;
} lease;

struct fl_rm {
    fl_endpoint *ep;
    fl_leader_term *term;   /* while leading: its session id fences what we send */
    lease *leases;
    bool spread;
    fl_rpc *rpc;
    int64_t hb_interval_ms, hb_timeout_ms;
    struct event *hb_timer;
    tm_entry *tms;
    fl_endpoint *watch_ep;
    fl_cluster_view_fn watch_fn;
    struct event *publish_timer;
    int64_t last_publish_ms;      /* mono */
    bool publish_pending;
};

#define PUBLISH_MIN_MS 100 /* one view per this much at most: a storm is one publication */

void fl_cluster_view_free(fl_cluster_view *v)
{
    if (!v)
        return;
    free(v->tms);
    free(v);
}

typedef struct view_mail {
    fl_cluster_view_fn fn;
    fl_cluster_view *view;
} view_mail;

static void run_view_mail(void *ctx, void *arg)
{
    view_mail *m = arg;
    m->fn(ctx, m->view);
    free(m);
}

static void drop_view_mail(void *arg)
{
    view_mail *m = arg;
    fl_cluster_view_free(m->view);
    free(m);
}

static void publish(fl_rm *rm)
{
    rm->publish_pending = false;
    rm->last_publish_ms = fl_mono_ms();
    if (!rm->watch_ep)
        return;
    fl_cluster_view *v = fl_xcalloc(1, sizeof *v);
    for (tm_entry *t = rm->tms; t; t = t->next)
        v->n++;
    v->tms = fl_xcalloc((size_t)v->n, sizeof *v->tms);
    int i = 0;
    for (tm_entry *t = rm->tms; t; t = t->next, i++) {
        fl_tm_view *tv = &v->tms[v->n - 1 - i]; /* registration order */
        snprintf(tv->resource_id, sizeof tv->resource_id, "%s", t->resource_id);
        snprintf(tv->path, sizeof tv->path, "flint://%s:%d/taskmanager", t->host, t->rpc_port);
        snprintf(tv->host, sizeof tv->host, "%s", t->host);
        tv->rpc_port = t->rpc_port;
        tv->data_port = t->data_port;
        tv->slots_total = t->nslots;
        for (int s = 0; s < t->nslots; s++)
            if (!t->slots[s].job_id[0])
                tv->slots_free++;
        tv->last_heartbeat_ms = t->last_heartbeat_ms;
        tv->registered_ms = t->registered_ms;
        tv->proc = t->proc;
        tv->conn = t->conn;
    }
    view_mail *m = fl_xmalloc(sizeof *m);
    m->fn = rm->watch_fn;
    m->view = v;
    fl_endpoint_post(rm->watch_ep, run_view_mail, m, drop_view_mail);
}

static void on_publish_timer(evutil_socket_t fd, short what, void *arg)
{
    publish(arg);
}

/* Publishes now, or PUBLISH_MIN_MS after the last publication: the view copies every
 * TaskManager, and 1,000 of them answering heartbeats (or registering) each made one, which
 * held the ResourceManager for a good part of every heartbeat interval. */
static void publish_soon(fl_rm *rm)
{
    if (rm->publish_pending)
        return;
    int64_t wait = rm->last_publish_ms + PUBLISH_MIN_MS - fl_mono_ms();
    if (wait <= 0) {
        publish(rm);
        return;
    }
    rm->publish_pending = true;
    struct timeval tv = {wait / 1000, (wait % 1000) * 1000};
    evtimer_add(rm->publish_timer, &tv);
}

static tm_entry *find_tm(fl_rm *rm, const char *resource_id)
{
    for (tm_entry *t = rm->tms; t; t = t->next)
        if (strcmp(t->resource_id, resource_id) == 0)
            return t;
    return NULL;
}

static lease *find_lease(fl_rm *rm, const char *job_id)
{
    for (lease *l = rm->leases; l; l = l->next)
        if (strcmp(l->job_id, job_id) == 0)
            return l;
    return NULL;
}

typedef struct lost_mail {
    fl_slots_lost_fn fn;
    char resource_id[128];
    char why[256];
} lost_mail;

static void run_lost(void *ctx, void *arg)
{
    lost_mail *m = arg;
    m->fn(ctx, m->resource_id, m->why);
    free(m);
}

/* Tells every job with slots on t that they are gone. */
static void notify_lost(fl_rm *rm, tm_entry *t, const char *why)
{
    for (lease *l = rm->leases; l; l = l->next) {
        bool holds = false;
        for (int s = 0; s < t->nslots; s++)
            holds |= strcmp(t->slots[s].job_id, l->job_id) == 0;
        if (!holds || !l->lost)
            continue;
        lost_mail *m = fl_xcalloc(1, sizeof *m);
        m->fn = l->lost;
        snprintf(m->resource_id, sizeof m->resource_id, "%s", t->resource_id);
        snprintf(m->why, sizeof m->why, "%s", why);
        fl_endpoint_post(l->ep, run_lost, m, free);
    }
}

static void serve_leases(fl_rm *rm);

static void remove_tm(fl_rm *rm, tm_entry *t, const char *why)
{
    notify_lost(rm, t, why);
    for (tm_entry **tp = &rm->tms; *tp; tp = &(*tp)->next)
        if (*tp == t) {
            *tp = t->next;
            break;
        }
    free(t->slots);
    free(t);
    publish_soon(rm);
}

/* The TaskManager's own view of its slots counts only when it (re-)registers: after that
 * the ResourceManager is the authority, and heartbeats merely confirm. */
static void apply_slot_report(tm_entry *t, Fl__Pb__SlotStatus **slots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (slots[i]->index >= (uint32_t)t->nslots)
            continue;
        slot *s = &t->slots[slots[i]->index];
        snprintf(s->job_id, sizeof s->job_id, "%s", slots[i]->job_id);
        snprintf(s->allocation_id, sizeof s->allocation_id, "%s", slots[i]->allocation_id);
    }
}

static tm_entry *find_tm_by_conn(fl_rm *rm, fl_conn_id conn)
{
    for (tm_entry *t = rm->tms; t; t = t->next)
        if (t->conn == conn)
            return t;
    return NULL;
}

/* A loopback address is reachable only on its own host: from a TaskManager that connects
 * from elsewhere it would send every other TaskManager to itself. */
static bool advertises_loopback_from_afar(const char *host, const char *peer)
{
    char peer_host[64];
    fl_peer_host(peer, peer_host, sizeof peer_host);
    return fl_host_is_loopback(host) && !fl_host_is_loopback(peer_host);
}

/* Why a registration cannot be accepted, or NULL. why is the caller's buffer. */
static const char *check_registration(fl_rm *rm, const fl_rpc_msg *msg, char *why, size_t len)
{
    const Fl__Pb__RegisterTaskManager *r = (const Fl__Pb__RegisterTaskManager *)msg->pb;
    if (!r->resource_id[0] || strlen(r->resource_id) >= sizeof rm->tms->resource_id)
        snprintf(why, len, "the resource id must be 1 to %zu bytes",
                 sizeof rm->tms->resource_id - 1);
    else if (!r->host[0] || strlen(r->host) >= sizeof rm->tms->host)
        snprintf(why, len, "the host must be 1 to %zu bytes", sizeof rm->tms->host - 1);
    else if (r->num_slots == 0 || r->num_slots > FL_MAX_TM_SLOTS)
        snprintf(why, len, "%u slots: a TaskManager offers 1 to %d "
                           "(taskmanager.numberOfTaskSlots)", r->num_slots, FL_MAX_TM_SLOTS);
    else if (r->rpc_port == 0 || r->rpc_port > 65535 || r->data_port == 0 ||
             r->data_port > 65535)
        snprintf(why, len, "invalid ports (RPC %u, data %u)", r->rpc_port, r->data_port);
    else if (advertises_loopback_from_afar(r->host, msg->peer))
        snprintf(why, len, "TaskManager %s advertises the loopback address '%s' but connects "
                           "from %s: TaskManagers on other hosts could not reach it. Set "
                           "taskmanager.host to an address they reach, or leave it unset (the "
                           "address of the route to the JobManager is used)",
                 r->resource_id, r->host, msg->peer);
    else
        return NULL;
    return why;
}

static void on_register(void *ctx, fl_rpc_msg *msg)
{
    fl_rm *rm = ctx;
    Fl__Pb__RegisterTaskManager *r = (Fl__Pb__RegisterTaskManager *)msg->pb;
    Fl__Pb__RegistrationResponse resp = FL__PB__REGISTRATION_RESPONSE__INIT;
    char regid[33], why[700];

    if (!rm->term) {
        snprintf(why, sizeof why, "this JobManager does not lead the cluster (high "
                                  "availability): register with the leader ZooKeeper names");
        resp.reason = why;
    } else {
        resp.reason = (char *)check_registration(rm, msg, why, sizeof why);
        resp.permanent = resp.reason != NULL; /* what it is, not who else is there */
    }
    tm_entry *t = resp.reason ? NULL : find_tm(rm, r->resource_id);
    tm_entry *same_conn = resp.reason ? NULL : find_tm_by_conn(rm, msg->conn);
    if (!resp.reason && t && t->conn != msg->conn) {
        /* Never evict a live TaskManager on someone's word: the id's owner keeps it until
         * its connection closes or its heartbeats stop; then the newcomer may retry. */
        snprintf(why, sizeof why, "resource id %s is registered by a live TaskManager "
                                  "(flint://%s:%d/taskmanager); it stays registered until its "
                                  "connection closes or its heartbeat times out",
                 t->resource_id, t->host, t->rpc_port);
        resp.reason = why;
    } else if (!resp.reason && same_conn && same_conn != t) {
        snprintf(why, sizeof why, "this connection registered TaskManager %s already",
                 same_conn->resource_id);
        resp.reason = why;
    }
    if (resp.reason) {
        resp.accepted = false;
        fl_warn_every(10, "Refusing the registration of TaskManager %.128s from %s: %s",
                      r->resource_id, msg->peer, resp.reason);
        fl_rpc_reply(rm->rpc, msg, FL_RPC_REGISTRATION_RESPONSE, &resp.base);
        fl_rpc_msg_free(msg);
        return;
    }
    if (t) {
        /* The same connection registers again: replace the old record. */
        fl_info("TaskManager %s re-registers; replacing its previous registration",
                r->resource_id);
        remove_tm(rm, t, "TaskManager re-registered");
    }
    t = fl_xcalloc(1, sizeof *t);
    snprintf(t->resource_id, sizeof t->resource_id, "%s", r->resource_id);
    snprintf(t->host, sizeof t->host, "%s", r->host);
    t->rpc_port = (int)r->rpc_port;
    t->data_port = (int)r->data_port;
    t->nslots = (int)r->num_slots;
    t->slots = fl_xcalloc((size_t)t->nslots, sizeof *t->slots);
    /* every slot is free: a TaskManager registers only once the tasks of its previous
     * JobManager stopped, and a new leader redeploys every job it recovers */
    (void)apply_slot_report;
    t->conn = msg->conn;
    t->last_heard_mono = fl_mono_ms();
    t->last_heartbeat_ms = t->registered_ms = fl_now_ms();
    fl_random_hex(regid, 16);
    snprintf(t->registration_id, sizeof t->registration_id, "%s", regid);
    t->next = rm->tms;
    rm->tms = t;
    fl_info("Registering TaskManager with ResourceID %s (flint://%s:%u/taskmanager, %u slots, "
            "data port %u) at ResourceManager",
            t->resource_id, t->host, r->rpc_port, r->num_slots, r->data_port);
    if (r->crash_report && r->crash_report[0]) {
        /* from the network: one line of printable text */
        char crash[1024];
        snprintf(crash, sizeof crash, "%s", r->crash_report);
        for (char *c = crash; *c; c++)
            if ((unsigned char)*c < 0x20)
                *c = ' ';
        fl_warn("TaskManager %s was restarted by its supervisor after a crash: %s",
                t->resource_id, crash);
    }

    /* before the reply: whatever the TaskManager sends after it is read as a peer's */
    fl_rpc_admit(rm->rpc, msg->conn);
    resp.accepted = true;
    resp.registration_id = regid;
    resp.heartbeat_interval_ms = (uint64_t)rm->hb_interval_ms;
    resp.heartbeat_timeout_ms = (uint64_t)rm->hb_timeout_ms;
    resp.leader_session_id = (char *)fl_leader_term_session(rm->term);
    fl_rpc_reply(rm->rpc, msg, FL_RPC_REGISTRATION_RESPONSE, &resp.base);
    fl_rpc_msg_free(msg);
    serve_leases(rm);
    publish_soon(rm);
}

static void send_disconnect(fl_rm *rm, fl_conn_id conn, const char *resource_id, const char *why)
{
    Fl__Pb__Disconnect d = FL__PB__DISCONNECT__INIT;
    d.resource_id = (char *)resource_id;
    d.reason = (char *)why;
    d.leader_session_id = rm->term ? (char *)fl_leader_term_session(rm->term) : "";
    fl_rpc_send(rm->rpc, conn, FL_RPC_DISCONNECT, &d.base);
}

static void on_heartbeat_response(void *ctx, fl_rpc_msg *msg)
{
    fl_rm *rm = ctx;
    Fl__Pb__HeartbeatResponse *h = (Fl__Pb__HeartbeatResponse *)msg->pb;
    tm_entry *t = find_tm(rm, h->resource_id);
    if (!t || strcmp(t->registration_id, h->registration_id) != 0 || t->conn != msg->conn) {
        fl_log_every(FL_LOG_INFO, 10, "Heartbeat from unknown TaskManager %.128s (%s); asking "
                     "it to register again", h->resource_id, msg->peer);
        send_disconnect(rm, msg->conn, h->resource_id, "unknown TaskManager: register again");
    } else {
        t->last_heard_mono = fl_mono_ms();
        t->last_heartbeat_ms = fl_now_ms();
        fl_tm_process_take(&t->proc, h->metrics, t->last_heard_mono);
        publish_soon(rm);
    }
    fl_rpc_msg_free(msg);
}

static void on_disconnect(void *ctx, fl_rpc_msg *msg)
{
    fl_rm *rm = ctx;
    Fl__Pb__Disconnect *d = (Fl__Pb__Disconnect *)msg->pb;
    tm_entry *t = find_tm(rm, d->resource_id);
    if (t && t->conn == msg->conn) {
        fl_info("TaskManager %s disconnects: %s; removing it and its %d slots", t->resource_id,
                d->reason, t->nslots);
        char why[420];
        snprintf(why, sizeof why, "TaskManager %s disconnected: %.200s", t->resource_id,
                 d->reason);
        remove_tm(rm, t, why);
    }
    fl_rpc_msg_free(msg);
}

static void on_conn(void *ctx, fl_conn_id conn, const char *peer, bool up, const char *why)
{
    fl_rm *rm = ctx;
    if (up)
        return;
    for (tm_entry *t = rm->tms; t; t = t->next) {
        if (t->conn == conn) {
            fl_warn("Connection to TaskManager %s (%s) lost: %s; removing it and its %d slots",
                    t->resource_id, peer, why, t->nslots);
            char msg[400];
            snprintf(msg, sizeof msg, "TaskManager %s (%s) lost: %.200s", t->resource_id, peer,
                     why);
            remove_tm(rm, t, msg);
            return;
        }
    }
}

static void on_heartbeat_tick(evutil_socket_t fd, short what, void *arg)
{
    fl_rm *rm = arg;
    int64_t now = fl_mono_ms();
    for (tm_entry *t = rm->tms, *next; t; t = next) {
        next = t->next;
        if (now - t->last_heard_mono > rm->hb_timeout_ms) {
            fl_warn("The heartbeat of TaskManager with id %s timed out after %lld ms; removing "
                    "it and its %d slots",
                    t->resource_id, (long long)(now - t->last_heard_mono), t->nslots);
            send_disconnect(rm, t->conn, t->resource_id, "heartbeat timed out");
            char msg[300];
            snprintf(msg, sizeof msg, "The heartbeat of TaskManager with id %s timed out.",
                     t->resource_id);
            remove_tm(rm, t, msg);
            continue;
        }
        Fl__Pb__HeartbeatRequest req = FL__PB__HEARTBEAT_REQUEST__INIT;
        req.registration_id = t->registration_id;
        req.leader_session_id = (char *)fl_leader_term_session(rm->term);
        fl_rpc_send(rm->rpc, t->conn, FL_RPC_HEARTBEAT_REQUEST, &req.base);
    }
}

fl_rm *fl_rm_new(const fl_conf *conf, fl_rpc *rpc)
{
    fl_rm *rm = fl_xcalloc(1, sizeof *rm);
    rm->ep = fl_endpoint_new("resourcemanager");
    if (!rm->ep) {
        free(rm);
        return NULL;
    }
    rm->rpc = rpc;
    rm->hb_interval_ms = fl_conf_get_duration_ms(conf, "heartbeat.interval");
    rm->hb_timeout_ms = fl_conf_get_duration_ms(conf, "heartbeat.timeout");
    rm->spread = fl_conf_get_bool(conf, "cluster.evenly-spread-out-slots");
    rm->hb_timer = event_new(fl_endpoint_base(rm->ep), -1, EV_PERSIST, on_heartbeat_tick, rm);
    rm->publish_timer = evtimer_new(fl_endpoint_base(rm->ep), on_publish_timer, rm);
    fl_rpc_route_open(rpc, FL_RPC_REGISTER_TASK_MANAGER, rm->ep, on_register);
    fl_rpc_route(rpc, FL_RPC_HEARTBEAT_RESPONSE, rm->ep, on_heartbeat_response);
    fl_rpc_route(rpc, FL_RPC_DISCONNECT, rm->ep, on_disconnect);
    fl_rpc_watch(rpc, rm->ep, on_conn);
    return rm;
}

void fl_rm_watch(fl_rm *rm, fl_endpoint *ep, fl_cluster_view_fn fn)
{
    rm->watch_ep = ep;
    rm->watch_fn = fn;
}

static void publish_mail(void *ctx, void *arg)
{
    publish_soon(ctx);
}

int fl_rm_start(fl_rm *rm, fl_err *err)
{
    struct timeval tv = {rm->hb_interval_ms / 1000, (rm->hb_interval_ms % 1000) * 1000};
    event_add(rm->hb_timer, &tv);
    if (fl_endpoint_start(rm->ep, rm, err) < 0)
        return -1;
    fl_endpoint_post(rm->ep, publish_mail, NULL, NULL);
    return 0;
}

/* ---- slots ------------------------------------------------------------------------ */

typedef struct grant_mail {
    fl_slots_granted_fn fn;
    fl_slot_grant *slots;
    int n;
} grant_mail;

static void run_grant(void *ctx, void *arg)
{
    grant_mail *m = arg;
    m->fn(ctx, m->slots, m->n);
    free(m);
}

static void drop_grant(void *arg)
{
    grant_mail *m = arg;
    free(m->slots);
    free(m);
}

static int free_slots(fl_rm *rm)
{
    int n = 0;
    for (tm_entry *t = rm->tms; t; t = t->next)
        for (int s = 0; s < t->nslots; s++)
            n += !t->slots[s].job_id[0];
    return n;
}

/* Grants waiting requests, oldest first, while enough slots are free. */
static void serve_leases(fl_rm *rm)
{
    /* TaskManagers in registration order (the list is newest first) */
    int ntm = 0;
    for (tm_entry *t = rm->tms; t; t = t->next)
        ntm++;
    tm_entry **order = fl_xcalloc((size_t)ntm + 1, sizeof *order);
    int k = ntm;
    for (tm_entry *t = rm->tms; t; t = t->next)
        order[--k] = t;
    /* leases oldest first: the list is newest first too */
    int nl = 0;
    for (lease *l = rm->leases; l; l = l->next)
        nl++;
    lease **lorder = fl_xcalloc((size_t)nl + 1, sizeof *lorder);
    k = nl;
    for (lease *l = rm->leases; l; l = l->next)
        lorder[--k] = l;
    for (int li = 0; li < nl; li++) {
        lease *l = lorder[li];
        if (l->want == 0 || free_slots(rm) < l->want)
            continue;
        fl_slot_grant *g = fl_xcalloc((size_t)l->want, sizeof *g);
        int got = 0;
        /* pack: fill TaskManagers one after the other; spread: one slot per TM per round */
        for (int round = 0; got < l->want; round++) {
            bool any = false;
            for (int ti = 0; ti < ntm && got < l->want; ti++) {
                tm_entry *t = order[ti];
                int taken_here = 0;
                for (int s = 0; s < t->nslots && got < l->want; s++) {
                    if (t->slots[s].job_id[0])
                        continue;
                    snprintf(t->slots[s].job_id, sizeof t->slots[s].job_id, "%s", l->job_id);
                    fl_random_hex(t->slots[s].allocation_id, 16);
                    fl_slot_grant *sg = &g[got++];
                    snprintf(sg->resource_id, sizeof sg->resource_id, "%s", t->resource_id);
                    sg->slot_index = s;
                    snprintf(sg->allocation_id, sizeof sg->allocation_id, "%s",
                             t->slots[s].allocation_id);
                    sg->conn = t->conn;
                    snprintf(sg->host, sizeof sg->host, "%s", t->host);
                    sg->data_port = t->data_port;
                    any = true;
                    if (rm->spread && ++taken_here == 1)
                        break;
                }
            }
            if (!any)
                break;
        }
        fl_info("Granting %d slots to job %s", got, l->job_id);
        l->want = 0;
        grant_mail *m = fl_xmalloc(sizeof *m);
        m->fn = l->granted;
        m->slots = g;
        m->n = got;
        fl_endpoint_post(l->ep, run_grant, m, drop_grant);
    }
    free(order);
    free(lorder);
    publish_soon(rm);
}

typedef struct request_mail {
    const fl_leader_term *term;
    char job_id[40];
    int n;
    fl_endpoint *ep;
    fl_slots_granted_fn granted;
    fl_slots_lost_fn lost;
} request_mail;

static void release_job(fl_rm *rm, const char *job_id)
{
    for (lease **lp = &rm->leases; *lp; lp = &(*lp)->next)
        if (strcmp((*lp)->job_id, job_id) == 0) {
            lease *l = *lp;
            *lp = l->next;
            free(l);
            break;
        }
    int n = 0;
    for (tm_entry *t = rm->tms; t; t = t->next)
        for (int s = 0; s < t->nslots; s++)
            if (strcmp(t->slots[s].job_id, job_id) == 0) {
                t->slots[s].job_id[0] = t->slots[s].allocation_id[0] = '\0';
                n++;
            }
    if (n)
        fl_info("Released %d slots of job %s", n, job_id);
}

static void do_request(void *ctx, void *arg)
{
    fl_rm *rm = ctx;
    request_mail *r = arg;
    if (!rm->term || r->term != rm->term) {
        fl_debug("Dropping the slot request of job %s: it comes from another leadership",
                 r->job_id);
        free(r);
        return;
    }
    lease *l = find_lease(rm, r->job_id);
    if (!l) {
        l = fl_xcalloc(1, sizeof *l);
        snprintf(l->job_id, sizeof l->job_id, "%s", r->job_id);
        l->next = rm->leases;
        rm->leases = l;
    }
    l->want = r->n;
    l->ep = r->ep;
    l->granted = r->granted;
    l->lost = r->lost;
    fl_info("Job %s requests %d slots (%d free)", r->job_id, r->n, free_slots(rm));
    free(r);
    serve_leases(rm);
}

void fl_rm_request_slots(fl_rm *rm, const fl_leader_term *term, const char *job_id, int n,
                         fl_endpoint *ep, fl_slots_granted_fn granted, fl_slots_lost_fn lost)
{
    request_mail *r = fl_xcalloc(1, sizeof *r);
    r->term = term;
    snprintf(r->job_id, sizeof r->job_id, "%s", job_id);
    r->n = n;
    r->ep = ep;
    r->granted = granted;
    r->lost = lost;
    fl_endpoint_post(rm->ep, do_request, r, free);
}

static void do_release(void *ctx, void *arg)
{
    fl_rm *rm = ctx;
    release_job(rm, arg);
    free(arg);
    serve_leases(rm);
}

void fl_rm_release_slots(fl_rm *rm, const char *job_id)
{
    fl_endpoint_post(rm->ep, do_release, fl_xstrdup(job_id), free);
}

/* ---- leadership -------------------------------------------------------------------- */

static void lead_mail(void *ctx, void *arg)
{
    fl_rm *rm = ctx;
    fl_leader_term_unref(rm->term);
    rm->term = arg;
    fl_info("The ResourceManager leads with session %s: accepting TaskManagers",
            fl_leader_term_session(rm->term));
}

static void drop_term(void *arg)
{
    fl_leader_term_unref(arg);
}

void fl_rm_grant(fl_rm *rm, fl_leader_term *term)
{
    fl_endpoint_post(rm->ep, lead_mail, fl_leader_term_ref(term), drop_term);
}

typedef struct revoke_mail {
    fl_endpoint *ep;
    fl_mail_fn done;
} revoke_mail;

static void revoke_mail_run(void *ctx, void *arg)
{
    fl_rm *rm = ctx;
    revoke_mail *m = arg;
    int ntm = 0;
    while (rm->leases) {
        lease *l = rm->leases;
        rm->leases = l->next;
        free(l);
    }
    /* the TaskManagers learn of the new leader through ZooKeeper; closing their
     * connections only makes those that have not yet stop our tasks sooner */
    while (rm->tms) {
        tm_entry *t = rm->tms;
        rm->tms = t->next;
        fl_rpc_close(rm->rpc, t->conn);
        free(t->slots);
        free(t);
        ntm++;
    }
    if (rm->term)
        fl_info("The ResourceManager no longer leads (session %s): forgot %d TaskManagers",
                fl_leader_term_session(rm->term), ntm);
    fl_leader_term_unref(rm->term);
    rm->term = NULL;
    publish_soon(rm);
    fl_endpoint_post(m->ep, m->done, NULL, NULL);
    free(m);
}

void fl_rm_revoke(fl_rm *rm, fl_endpoint *ep, fl_mail_fn done)
{
    revoke_mail *m = fl_xmalloc(sizeof *m);
    m->ep = ep;
    m->done = done;
    fl_endpoint_post(rm->ep, revoke_mail_run, m, free);
}

fl_endpoint *fl_rm_endpoint(fl_rm *rm)
{
    return rm->ep;
}

void fl_rm_stop(fl_rm *rm)
{
    if (rm)
        fl_endpoint_stop(rm->ep);
}

void fl_rm_free(fl_rm *rm)
{
    if (!rm)
        return;
    fl_endpoint_stop(rm->ep);
    event_free(rm->hb_timer);
    event_free(rm->publish_timer);
    fl_leader_term_unref(rm->term);
    while (rm->tms) {
        tm_entry *t = rm->tms;
        rm->tms = t->next;
        free(t->slots);
        free(t);
    }
    while (rm->leases) {
        lease *l = rm->leases;
        rm->leases = l->next;
        free(l);
    }
    fl_endpoint_free(rm->ep);
    free(rm);
}
