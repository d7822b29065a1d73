/* task_executor.c -- see task_executor.h. After start, everything runs on the taskexecutor
 * thread. */
#include "task_executor.h"
#include "common/bundle.h"
#include "common/bundle_sign.h"
#include "common/job_state.h"
#include "common/leader_retrieval.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/path.h"
#include "common/sha256.h"
#include "common/supervise.h"
#include "common/util.h"
#include "common/workdir.h"
#include "taskmanager/network/network.h"
#include "taskmanager/state/keyed.h"
#include "taskmanager/task/task.h"
#include "tm_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

/* A job bundle this TaskManager has (or is fetching). */
typedef struct bundle_entry {
    struct bundle_entry *next;
    uint8_t sha[32];
    char hex[65];
    enum { B_FETCHING, B_READY, B_FAILED } state;
    fl_bundle bundle;
    char name[256];           /* the bundle's file name, for messages */
    uint8_t sig[FL_BUNDLE_SIG_LEN]; /* the signature the deployment that fetches it sent */
    size_t siglen;
    char error[600];
    int refs; /* tasks using it */
} bundle_entry;

/* The TaskExecutor's record of a task: waiting for its bundle, or running. */
typedef struct te_task {
    struct te_task *next;
    char job_id[40];
    int attempt, vertex, subtask, slot;
    fl_rpc_msg *msg;      /* the SubmitTask until the task takes it */
    fl_task *task;        /* once started */
    bundle_entry *bundle;
    fl_ptable **tables;   /* per gate, until the task takes them */
    int ntables;
} te_task;

/* A producer table this TaskManager was sent (once per job attempt and vertex). */
typedef struct te_ptable {
    struct te_ptable *next;
    char job_id[40];
    int attempt, vertex;
    fl_ptable *t;
} te_ptable;

enum te_state { TE_DISCONNECTED, TE_CONNECTING, TE_REGISTERING, TE_REGISTERED, TE_STOPPING };

typedef struct te_slot {
    char job_id[40];
    char allocation_id[40];
} te_slot;

struct fl_te {
    fl_endpoint *ep;
    fl_rpc *rpc;
    const fl_conf *conf;
    char resource_id[128];
    char host[256];
    int rpc_port, data_port;
    char jm_host[256];
    int jm_port;
    int nslots;
    te_slot *slots;
    Fl__Pb__SlotStatus *slot_status;  /* the slot report, sized once by the slot count */
    Fl__Pb__SlotStatus **slot_ptrs;

    enum te_state state;
    fl_conn_id conn;
    char registration_id[40];
    /* the leader: with high availability as ZooKeeper names it (lr), else the configured
     * JobManager; its session id (the fencing token) as its registration answer gave it */
    fl_leader_retrieval *lr;
    bool have_leader;
    char expected_session[FL_SESSION_ID_LEN + 1]; /* ZooKeeper's; "" without HA */
    char leader_session[FL_SESSION_ID_LEN + 1];   /* the registered leader's */
    bool retarget;             /* a new leader came while connecting: go there next */
    int64_t idle_wait_since;   /* mono ms: registration waits for cancelled tasks to stop */
    int64_t backoff_ms, backoff_initial_ms, backoff_max_ms, ask_timeout_ms;
    int64_t hb_timeout_ms;     /* from the ResourceManager's answer */
    int64_t last_rm_heard;     /* mono ms */
    int64_t started_mono;
    bool ever_registered;
    struct event *retry_timer, *watchdog, *metrics_timer;

    fl_netenv *net;
    fl_endpoint *io;          /* snapshot I/O thread: writes checkpoint files */
    char tmp_dir[1024];       /* io.tmp.dirs */
    te_task *tasks;
    bundle_entry *bundles;
    te_ptable *ptables;        /* producer tables of the jobs with tasks here */
    char blob_dir[4096];
    int blob_lock;             /* held while blob_dir is ours (common/workdir.h) */
    fl_trusted_keys *trusted;  /* security.bundles.trusted-keys: NULL, bundles unchecked */
    bool refused;              /* the ResourceManager refused us for good */
    fl_prom_reporter *prom;    /* metrics.reporter.prom.port, or NULL */
};

static void cancel_all_tasks(fl_te *te, const char *why);

static void connect_rm(fl_te *te);

static void schedule_retry(fl_te *te)
{
    if (te->state == TE_STOPPING)
        return;
    te->state = TE_DISCONNECTED;
    struct timeval tv = {te->backoff_ms / 1000, (te->backoff_ms % 1000) * 1000};
    evtimer_add(te->retry_timer, &tv);
    te->backoff_ms = FL_MIN(te->backoff_ms * 2, te->backoff_max_ms);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    connect_rm(arg);
}

/* How long a (re-)registration waits for the tasks it cancelled to stop, so that the
 * leader it registers with finds every slot free; a task stuck longer does not keep its
 * TaskManager out of the cluster. */
#define IDLE_WAIT_MAX_MS 10000

/* The slot report, in te->slot_status (heap: a large slot count would not fit a stack). */
static void fill_slots(fl_te *te)
{
    Fl__Pb__SlotStatus *st = te->slot_status, **ptrs = te->slot_ptrs;
    for (int i = 0; i < te->nslots; i++) {
        fl__pb__slot_status__init(&st[i]);
        st[i].index = (uint32_t)i;
        st[i].job_id = te->slots[i].job_id;
        st[i].allocation_id = te->slots[i].allocation_id;
        ptrs[i] = &st[i];
    }
}

static void on_registration(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
{
    fl_te *te = ctx;
    fl_conn_id conn = (fl_conn_id)(uintptr_t)arg;
    if (te->state != TE_REGISTERING || conn != te->conn) {
        fl_rpc_msg_free(reply);
        return;
    }
    if (!reply) {
        fl_warn("Registration at ResourceManager %s:%d failed: %s", te->jm_host, te->jm_port,
                error);
        fl_rpc_close(te->rpc, conn); /* the down event schedules the retry */
        return;
    }
    Fl__Pb__RegistrationResponse *r = (Fl__Pb__RegistrationResponse *)reply->pb;
    if (!r->accepted && r->permanent) {
        /* its configuration: no retry can help. Stop (exit status 2), saying why. */
        fl_error("ResourceManager %s:%d refused the registration for good: %s. Stopping.",
                 te->jm_host, te->jm_port, r->reason);
        te->refused = true;
        kill(getpid(), SIGTERM);
    } else if (!r->accepted) {
        fl_warn("ResourceManager %s:%d refused the registration: %s", te->jm_host, te->jm_port,
                r->reason);
        fl_rpc_close(te->rpc, conn);
    } else if (strlen(r->leader_session_id) != FL_SESSION_ID_LEN ||
               (te->expected_session[0] &&
                strcmp(r->leader_session_id, te->expected_session) != 0)) {
        fl_warn("ResourceManager %s:%d accepted us as leader session '%.40s', but ZooKeeper "
                "names session %s as the leader: not registering with it", te->jm_host,
                te->jm_port, r->leader_session_id, te->expected_session);
        fl_rpc_close(te->rpc, conn);
    } else {
        snprintf(te->leader_session, sizeof te->leader_session, "%s", r->leader_session_id);
        te->state = TE_REGISTERED;
        snprintf(te->registration_id, sizeof te->registration_id, "%s", r->registration_id);
        te->hb_timeout_ms = r->heartbeat_timeout_ms ? (int64_t)r->heartbeat_timeout_ms : 50000;
        te->last_rm_heard = fl_mono_ms();
        te->backoff_ms = te->backoff_initial_ms;
        fl_info("Successful registration at resource manager flint://%s:%d/resourcemanager "
                "under registration id %s%s, leader session %s (%lld ms after start).",
                te->jm_host, te->jm_port, r->registration_id,
                te->ever_registered ? " (re-registered)" : "", te->leader_session,
                (long long)(fl_mono_ms() - te->started_mono));
        te->ever_registered = true;
    }
    fl_rpc_msg_free(reply);
}

static void on_rm_conn(void *ctx, fl_conn_id conn, const char *peer, bool up, const char *why)
{
    fl_te *te = ctx;
    if (te->state == TE_STOPPING)
        return;
    if (up) {
        if (te->state != TE_CONNECTING || te->retarget) { /* stale, or the leader changed */
            fl_rpc_close(te->rpc, conn);
            return;
        }
        te->conn = conn;
        te->state = TE_REGISTERING;
        /* no slot report: the tasks of the previous JobManager stopped before this
         * registration (connect_rm waits for them), a new leader redeploys what it
         * recovers, and a registration must stay small (rpc.server.handshake.max-frame-size) */
        Fl__Pb__RegisterTaskManager req = FL__PB__REGISTER_TASK_MANAGER__INIT;
        req.resource_id = te->resource_id;
        req.host = te->host;
        req.rpc_port = (uint32_t)te->rpc_port;
        req.data_port = (uint32_t)te->data_port;
        req.num_slots = (uint32_t)te->nslots;
        if (!te->ever_registered && fl_supervise_crash_report())
            req.crash_report = (char *)fl_supervise_crash_report();
        fl_rpc_call(te->rpc, conn, FL_RPC_REGISTER_TASK_MANAGER, &req.base, te->ask_timeout_ms,
                    te->ep, on_registration, (void *)(uintptr_t)conn);
        return;
    }
    if (te->state == TE_CONNECTING || conn == te->conn) {
        if (te->state == TE_REGISTERED) {
            fl_warn("Lost connection to ResourceManager %s: %s. Trying to re-register.", peer,
                    why);
            cancel_all_tasks(te, "the JobManager is gone");
        }
        else
            fl_debug("Could not reach ResourceManager %s: %s; retrying in %lld ms", peer, why,
                     (long long)te->backoff_ms);
        te->conn = 0;
        te->leader_session[0] = '\0';
        if (te->retarget) { /* straight to the new leader */
            te->retarget = false;
            te->backoff_ms = te->backoff_initial_ms;
            te->state = TE_DISCONNECTED;
            connect_rm(te);
        } else {
            schedule_retry(te);
        }
    }
}

static void connect_rm(fl_te *te)
{
    if (te->state == TE_STOPPING)
        return;
    te->state = TE_DISCONNECTED;
    if (te->lr && !te->have_leader)
        return; /* on_leader connects once ZooKeeper names one */
    if (te->tasks) {
        /* the tasks cancelled when the JobManager went are still stopping: the next leader
         * should find their slots free (remove_task comes back here) */
        int64_t now = fl_mono_ms();
        if (!te->idle_wait_since)
            te->idle_wait_since = now;
        if (now - te->idle_wait_since < IDLE_WAIT_MAX_MS) {
            struct timeval tv = {0, 200 * 1000};
            evtimer_add(te->retry_timer, &tv);
            return;
        }
        int n = 0;
        for (te_task *x = te->tasks; x; x = x->next)
            n++;
        fl_warn("%d task(s) did not stop within %d ms of their cancellation; registering "
                "anyway", n, IDLE_WAIT_MAX_MS);
    }
    te->idle_wait_since = 0;
    te->state = TE_CONNECTING;
    fl_rpc_connect(te->rpc, te->jm_host, te->jm_port, te->ask_timeout_ms, te->ep, on_rm_conn);
}

static void on_heartbeat_request(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__HeartbeatRequest *h = (Fl__Pb__HeartbeatRequest *)msg->pb;
    if (te->state == TE_REGISTERED && msg->conn == te->conn &&
        strcmp(h->registration_id, te->registration_id) == 0 &&
        strcmp(h->leader_session_id, te->leader_session) == 0) {
        te->last_rm_heard = fl_mono_ms();
        Fl__Pb__HeartbeatResponse resp = FL__PB__HEARTBEAT_RESPONSE__INIT;
        Fl__Pb__MetricsTaskManager pm;
        fl_tm_fill_process_metrics(te->net, te->conf, &pm);
        resp.metrics = &pm;
        fill_slots(te);
        resp.resource_id = te->resource_id;
        resp.registration_id = te->registration_id;
        resp.n_slots = (size_t)te->nslots;
        resp.slots = te->slot_ptrs;
        fl_rpc_send(te->rpc, msg->conn, FL_RPC_HEARTBEAT_RESPONSE, &resp.base);
    }
    fl_rpc_msg_free(msg);
}

static void on_disconnect(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__Disconnect *d = (Fl__Pb__Disconnect *)msg->pb;
    if (msg->conn == te->conn && te->state != TE_STOPPING &&
        (te->state != TE_REGISTERED || !strcmp(d->leader_session_id, te->leader_session))) {
        fl_warn("ResourceManager %s disconnected us: %s. Registering again.", msg->peer,
                d->reason);
        fl_rpc_close(te->rpc, msg->conn);
    }
    fl_rpc_msg_free(msg);
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
    fl_te *te = arg;
    if (te->state != TE_REGISTERED)
        return;
    int64_t silent = fl_mono_ms() - te->last_rm_heard;
    if (silent > te->hb_timeout_ms) {
        fl_warn("The heartbeat of ResourceManager flint://%s:%d/resourcemanager timed out "
                "(%lld ms); re-registering.",
                te->jm_host, te->jm_port, (long long)silent);
        fl_rpc_close(te->rpc, te->conn);
    }
}

/* ---- slots ------------------------------------------------------------------------ */

static void free_slot_if_unused(fl_te *te, int slot)
{
    for (te_task *x = te->tasks; x; x = x->next)
        if (x->slot == slot)
            return;
    te->slots[slot].job_id[0] = te->slots[slot].allocation_id[0] = '\0';
}

/* ---- reporting -------------------------------------------------------------------- */

static void fill_metrics(fl_task *t, Fl__Pb__TaskMetrics *m)
{
    fl_tm_fill_task_metrics(t, m);
}

/* The Prometheus reporter's scrape (this thread): the running tasks and the process. */
static void prom_fill(void *ctx, struct evbuffer *out)
{
    fl_te *te = ctx;
    int n = 0;
    for (te_task *x = te->tasks; x; x = x->next)
        n += x->task != NULL;
    fl_task **ts = fl_xcalloc((size_t)n + 1, sizeof *ts);
    n = 0;
    for (te_task *x = te->tasks; x; x = x->next)
        if (x->task)
            ts[n++] = x->task;
    fl_tm_prom_write(out, te->resource_id, te->host, te->net, te->conf, ts, n);
    free(ts);
}

static void send_state(fl_te *te, te_task *x, int state, const char *error)
{
    if (te->state != TE_REGISTERED)
        return;
    Fl__Pb__TaskStateUpdate u = FL__PB__TASK_STATE_UPDATE__INIT;
    Fl__Pb__TaskMetrics m;
    fill_metrics(x->task, &m);
    u.job_id = x->job_id;
    u.attempt = x->attempt;
    u.vertex = x->vertex;
    u.subtask = x->subtask;
    u.state = state;
    u.error = (char *)(error ? error : "");
    u.metrics = &m;
    fl_rpc_send(te->rpc, te->conn, FL_RPC_TASK_STATE_UPDATE, &u.base);
    fl_tm_task_metrics_clear(&m);
}

/* ---- producer tables ---------------------------------------------------------------- */

/* Drops the tables of job_id (NULL: all) of attempts below `below` (INT32_MAX: all). */
static void drop_ptables(fl_te *te, const char *job_id, int below)
{
    for (te_ptable **pp = &te->ptables; *pp;) {
        te_ptable *p = *pp;
        if ((!job_id || !strcmp(p->job_id, job_id)) && p->attempt < below) {
            *pp = p->next;
            fl_ptable_unref(p->t);
            free(p);
        } else {
            pp = &p->next;
        }
    }
}

static te_ptable *find_ptable(fl_te *te, const char *job_id, int attempt, int vertex)
{
    for (te_ptable *p = te->ptables; p; p = p->next)
        if (p->attempt == attempt && p->vertex == vertex && !strcmp(p->job_id, job_id))
            return p;
    return NULL;
}

/* Keeps the tables a deployment brings (older attempts of the job go); -1 with why. */
static int take_ptables(fl_te *te, const Fl__Pb__TaskDeploymentDescriptor *d, char *why,
                        size_t len)
{
    for (size_t k = 0; k < d->n_producer_tables; k++) {
        fl_ptable *t = fl_ptable_new(d->producer_tables[k].data, d->producer_tables[k].len);
        if (!t || t->pb->attempt != d->attempt) {
            fl_ptable_unref(t);
            snprintf(why, len, "malformed producer table in the deployment of %s", d->job_id);
            return -1;
        }
        drop_ptables(te, d->job_id, d->attempt);
        te_ptable *p = find_ptable(te, d->job_id, d->attempt, t->pb->vertex);
        if (!p) {
            p = fl_xcalloc(1, sizeof *p);
            snprintf(p->job_id, sizeof p->job_id, "%s", d->job_id);
            p->attempt = d->attempt;
            p->vertex = t->pb->vertex;
            p->next = te->ptables;
            te->ptables = p;
        } else {
            fl_ptable_unref(p->t);
        }
        p->t = t;
    }
    return 0;
}

static void free_tables(fl_ptable **tables, size_t n)
{
    for (size_t g = 0; g < n; g++)
        fl_ptable_unref(tables[g]);
    free(tables);
}

static void remove_task(fl_te *te, te_task *x)
{
    for (te_task **pp = &te->tasks; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    fl_task_free(x->task); /* joins: the task posted its last report already */
    fl_rpc_msg_free(x->msg);
    if (x->tables)
        free_tables(x->tables, (size_t)x->ntables);
    bool job_here = false;
    for (te_task *y = te->tasks; y && !job_here; y = y->next)
        job_here = !strcmp(y->job_id, x->job_id);
    if (!job_here)
        drop_ptables(te, x->job_id, INT32_MAX); /* the job is done here */
    if (x->bundle && --x->bundle->refs == 0 && x->bundle->state == B_READY) {
        fl_bundle_close(&x->bundle->bundle);
        x->bundle->state = B_FETCHING; /* reloaded from the cache file next time */
    }
    int slot = x->slot;
    free(x);
    free_slot_if_unused(te, slot);
    if (!te->tasks && te->idle_wait_since && te->state == TE_DISCONNECTED) {
        evtimer_del(te->retry_timer); /* every cancelled task stopped: register now */
        connect_rm(te);
    }
}

/* A task's report (mail from its thread). */
static void on_task_report(void *ctx, void *arg)
{
    fl_te *te = ctx;
    fl_task_report *r = arg;
    te_task *x;
    for (x = te->tasks; x && x->task != r->task; x = x->next)
        ;
    if (x)
        send_state(te, x, r->state, r->error);
    if (r->crashed && te->state == TE_REGISTERED) {
        /* the process dies in a moment (common/crash.h): its slots go now, so that a
         * restart of the job is not deployed to them. The crashing task's thread is not
         * joined (remove_task): it never returns. */
        fl_warn("Leaving the ResourceManager: %s", r->error);
        Fl__Pb__Disconnect d = FL__PB__DISCONNECT__INIT;
        d.resource_id = te->resource_id;
        d.reason = r->error;
        fl_rpc_send(te->rpc, te->conn, FL_RPC_DISCONNECT, &d.base);
        te->state = TE_STOPPING;
        evtimer_del(te->retry_timer);
    } else if (x && fl_task_state_is_terminal(r->state)) {
        remove_task(te, x);
    }
    free(r);
}

static void on_metrics_tick(evutil_socket_t fd, short what, void *arg)
{
    fl_te *te = arg;
    if (te->state != TE_REGISTERED)
        return;
    /* one report per job attempt with its running tasks */
    for (te_task *x = te->tasks; x; x = x->next) {
        bool first = true;
        for (te_task *y = te->tasks; y != x; y = y->next)
            if (!strcmp(y->job_id, x->job_id) && y->attempt == x->attempt)
                first = false;
        if (!first)
            continue;
        int n = 0;
        for (te_task *y = x; y; y = y->next)
            n += !strcmp(y->job_id, x->job_id) && y->attempt == x->attempt && y->task;
        if (!n)
            continue;
        /* once a second per job attempt: the heap, not a stack array sized by the job */
        Fl__Pb__TaskMetricsReport rep = FL__PB__TASK_METRICS_REPORT__INIT;
        int32_t *vs = fl_xcalloc((size_t)n, sizeof *vs), *ss = fl_xcalloc((size_t)n, sizeof *ss);
        Fl__Pb__TaskMetrics *ms = fl_xcalloc((size_t)n, sizeof *ms);
        Fl__Pb__TaskMetrics **mp = fl_xcalloc((size_t)n, sizeof *mp);
        Fl__Pb__LatencyHistogram *lh = fl_xcalloc((size_t)n * FL_TASK_LATENCY_SOURCES, sizeof *lh);
        Fl__Pb__LatencyHistogram **lp = fl_xcalloc((size_t)n * FL_TASK_LATENCY_SOURCES, sizeof *lp);
        int k = 0;
        for (te_task *y = x; y; y = y->next)
            if (!strcmp(y->job_id, x->job_id) && y->attempt == x->attempt && y->task) {
                vs[k] = y->vertex;
                ss[k] = y->subtask;
                fill_metrics(y->task, &ms[k]);
                fl_tm_fill_task_latency(y->task, &ms[k], &lh[k * FL_TASK_LATENCY_SOURCES],
                                        &lp[k * FL_TASK_LATENCY_SOURCES]);
                mp[k] = &ms[k];
                k++;
            }
        rep.job_id = x->job_id;
        rep.attempt = x->attempt;
        rep.n_vertex = rep.n_subtask = rep.n_metrics = (size_t)n;
        rep.vertex = vs;
        rep.subtask = ss;
        rep.metrics = mp;
        fl_rpc_send(te->rpc, te->conn, FL_RPC_TASK_METRICS_REPORT, &rep.base);
        for (int i = 0; i < k; i++)
            fl_tm_task_metrics_clear(&ms[i]);
        free(vs);
        free(ss);
        free(ms);
        free(mp);
        free(lh);
        free(lp);
    }
}

/* ---- bundles and task start ------------------------------------------------------- */

/* A task's checkpoint acknowledgement (mail from the I/O thread): relay it. */
static void on_ckpt_ack(void *ctx, void *arg)
{
    fl_te *te = ctx;
    fl_ckpt_ack *a = arg;
    Fl__Pb__AcknowledgeCheckpoint *m = fl__pb__acknowledge_checkpoint__unpack(NULL, a->len, a->msg);
    if (m && te->state == TE_REGISTERED)
        fl_rpc_send(te->rpc, te->conn, FL_RPC_ACKNOWLEDGE_CHECKPOINT, &m->base);
    if (m)
        fl__pb__acknowledge_checkpoint__free_unpacked(m, NULL);
    fl_ckpt_ack_free(a);
}

/* True when msg came on the connection of the JobManager we registered with and carries
 * its leader session id (the fencing token): commands from anyone else, or from a leader
 * that another has replaced, are refused (the RPC service closes accepted connections that
 * send them; this is the second and third line). */
static bool from_leader(fl_te *te, const fl_rpc_msg *msg, const char *token)
{
    if (te->state == TE_REGISTERED && msg->conn == te->conn &&
        strcmp(token, te->leader_session) == 0)
        return true;
    if (te->state == TE_REGISTERED && msg->conn == te->conn)
        fl_warn_every(10, "Refusing %s from %s: it carries leader session '%.40s', not %s "
                      "(a leader that was replaced)", fl_rpc_type_name(msg->type), msg->peer,
                      token, te->leader_session);
    else
        fl_warn_every(10, "Refusing %s from %s: not the JobManager this TaskManager is "
                      "registered with", fl_rpc_type_name(msg->type), msg->peer);
    return false;
}

static te_task *find_task(fl_te *te, const char *job, int attempt, int vertex, int subtask)
{
    for (te_task *x = te->tasks; x; x = x->next)
        if (x->task && !strcmp(x->job_id, job) && x->attempt == attempt &&
            x->vertex == vertex && x->subtask == subtask)
            return x;
    return NULL;
}

static void on_trigger_checkpoint(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__TriggerCheckpoint *t = (Fl__Pb__TriggerCheckpoint *)msg->pb;
    fl_ckpt_request r = {0};
    char why[200] = "";
    if (!from_leader(te, msg, t->leader_session_id)) {
        fl_rpc_msg_free(msg);
        return;
    }
    r.id = t->checkpoint_id;
    r.ts = t->timestamp;
    r.savepoint = t->savepoint;
    r.exactly_once = t->exactly_once;
    r.unaligned = t->unaligned;
    r.drain = t->drain;
    /* never truncated: a shortened path is another directory */
    if (strlen(t->dir) >= FL_CKPT_DIR_MAX || strlen(t->shared_dir) >= FL_CKPT_DIR_MAX ||
        r.id <= 0)
        snprintf(why, sizeof why, "invalid checkpoint %lld or directory paths (at most %d "
                                  "bytes each, got %zu and %zu)", (long long)r.id,
                 FL_CKPT_DIR_MAX - 1, strlen(t->dir), strlen(t->shared_dir));
    snprintf(r.dir, sizeof r.dir, "%s", t->dir);
    snprintf(r.shared_dir, sizeof r.shared_dir, "%s", t->shared_dir);
    size_t n = FL_MIN(t->n_vertex, t->n_subtask);
    for (size_t i = 0; i < n; i++) {
        te_task *x = why[0] ? NULL
                            : find_task(te, t->job_id, t->attempt, t->vertex[i], t->subtask[i]);
        if (x) {
            fl_task_trigger_checkpoint(x->task, &r);
        } else {
            /* not running here (any more): decline so the checkpoint is not left waiting */
            Fl__Pb__AcknowledgeCheckpoint a = FL__PB__ACKNOWLEDGE_CHECKPOINT__INIT;
            a.job_id = t->job_id;
            a.attempt = t->attempt;
            a.checkpoint_id = t->checkpoint_id;
            a.vertex = t->vertex[i];
            a.subtask = t->subtask[i];
            a.declined = true;
            a.reason = why[0] ? why : "the task is not running";
            a.task_not_running = !why[0];
            fl_rpc_send(te->rpc, msg->conn, FL_RPC_ACKNOWLEDGE_CHECKPOINT, &a.base);
        }
    }
    fl_rpc_msg_free(msg);
}

static void on_notify_checkpoint(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__NotifyCheckpoint *n = (Fl__Pb__NotifyCheckpoint *)msg->pb;
    if (!from_leader(te, msg, n->leader_session_id)) {
        fl_rpc_msg_free(msg);
        return;
    }
    for (te_task *x = te->tasks; x; x = x->next)
        if (x->task && !strcmp(x->job_id, n->job_id) && x->attempt == n->attempt)
            fl_task_notify_checkpoint(x->task, n->checkpoint_id, n->aborted);
    fl_rpc_msg_free(msg);
}

static void start_task(fl_te *te, te_task *x)
{
    fl_task_env env = {te->net, te->resource_id, te->ep, on_task_report,
                       te->io, on_ckpt_ack, te->tmp_dir};
    fl_rpc_msg *msg = x->msg;
    x->msg = NULL;
    x->task = fl_task_new(&env, msg, &x->bundle->bundle, x->tables);
    x->tables = NULL; /* the task's now */
    fl_err err;
    if (fl_task_start(x->task, &err) < 0) {
        send_state(te, x, FL_TASK_FAILED, err.msg);
        remove_task(te, x);
    }
}

/* Starts (or fails) every task waiting for bundle b. */
static void bundle_settled(fl_te *te, bundle_entry *b)
{
    te_task *x = te->tasks, *next;
    for (; x; x = next) {
        next = x->next;
        if (x->bundle != b || x->task)
            continue;
        if (b->state == B_READY) {
            start_task(te, x);
        } else {
            send_state(te, x, FL_TASK_FAILED, b->error);
            remove_task(te, x);
        }
    }
}

static void bundle_path(const fl_te *te, const bundle_entry *b, char *out, size_t len)
{
    snprintf(out, len, "%s/%s.so", te->blob_dir, b->hex);
}

static void load_bundle(fl_te *te, bundle_entry *b)
{
    char path[4200];
    fl_err err;
    bundle_path(te, b, path, sizeof path);
    if (fl_bundle_open(&b->bundle, path, false, &err) < 0) {
        b->state = B_FAILED;
        snprintf(b->error, sizeof b->error, "Cannot load the job bundle: %.500s", err.msg);
    } else {
        b->state = B_READY;
    }
}

static void on_blob(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
{
    fl_te *te = ctx;
    bundle_entry *b = arg;
    Fl__Pb__BlobResponse *r = reply ? (Fl__Pb__BlobResponse *)reply->pb : NULL;
    uint8_t digest[32];
    char path[4200], tmp[4300];
    if (!r || !r->found) {
        b->state = B_FAILED;
        snprintf(b->error, sizeof b->error, "Cannot fetch the job bundle %.16s from the "
                                            "JobManager: %s",
                 b->hex, r ? "not found" : error);
        goto out;
    }
    fl_sha256(r->data.data, r->data.len, digest);
    if (memcmp(digest, b->sha, 32) != 0) {
        b->state = B_FAILED;
        snprintf(b->error, sizeof b->error, "The fetched job bundle does not match its hash");
        goto out;
    }
    /* before the bytes are stored, so that nothing unverified is ever loaded: a bundle in
     * the cache was verified when fetched (the cache is this process's own) */
    fl_err verr;
    if (te->trusted && fl_bundle_verify(te->trusted, b->name, r->data.data, r->data.len,
                                        b->siglen ? b->sig : NULL, b->siglen, &verr) < 0) {
        b->state = B_FAILED;
        snprintf(b->error, sizeof b->error, "TaskManager %.100s refused to load it: %.400s",
                 te->resource_id, verr.msg);
        fl_warn("%s", b->error);
        goto out;
    }
    bundle_path(te, b, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (fd < 0 || write(fd, r->data.data, r->data.len) != (ssize_t)r->data.len ||
        close(fd) < 0 || rename(tmp, path) < 0) {
        b->state = B_FAILED;
        snprintf(b->error, sizeof b->error, "Cannot store the job bundle in %.300s: %s",
                 te->blob_dir, strerror(errno));
        goto out;
    }
    load_bundle(te, b);
out:
    fl_rpc_msg_free(reply);
    bundle_settled(te, b);
}

static bundle_entry *get_bundle(fl_te *te, const uint8_t sha[32])
{
    bundle_entry *b;
    for (b = te->bundles; b; b = b->next)
        if (!memcmp(b->sha, sha, 32))
            break;
    if (!b) {
        b = fl_xcalloc(1, sizeof *b);
        memcpy(b->sha, sha, 32);
        fl_sha256_hex(sha, b->hex);
        b->state = B_FETCHING;
        b->next = te->bundles;
        te->bundles = b;
    }
    return b;
}

static void reply_ack(fl_te *te, const fl_rpc_msg *req, bool ok, const char *error)
{
    Fl__Pb__Ack ack = FL__PB__ACK__INIT;
    ack.ok = ok;
    ack.error = (char *)(error ? error : "");
    fl_rpc_reply(te->rpc, req, FL_RPC_ACK, &ack.base);
}

static void on_submit_task(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__TaskDeploymentDescriptor *d = ((Fl__Pb__SubmitTask *)msg->pb)->tdd;
    char why[300];
    if (!from_leader(te, msg, ((Fl__Pb__SubmitTask *)msg->pb)->leader_session_id)) {
        reply_ack(te, msg, false, "not the leader this TaskManager is registered with");
        fl_rpc_msg_free(msg);
        return;
    }
    if (!d || !d->vertex || d->bundle_sha256.len != 32 || !d->job_id[0] ||
        strlen(d->job_id) >= sizeof te->slots[0].job_id ||
        strlen(d->allocation_id) >= sizeof te->slots[0].allocation_id || d->subtask < 0 ||
        d->subtask >= d->vertex->parallelism || d->vertex->max_parallelism < 1 ||
        d->vertex->parallelism > d->vertex->max_parallelism) {
        reply_ack(te, msg, false, "malformed task deployment descriptor");
        fl_rpc_msg_free(msg);
        return;
    }
    /* the producer tables first: later deployments here rely on them even if this fails */
    if (take_ptables(te, d, why, sizeof why) < 0) {
        reply_ack(te, msg, false, why);
        fl_rpc_msg_free(msg);
        return;
    }
    fl_ptable **tables = fl_xcalloc(d->n_gates + 1, sizeof *tables);
    for (size_t g = 0; g < d->n_gates; g++) {
        te_ptable *p = find_ptable(te, d->job_id, d->attempt, d->gates[g]->source_vertex);
        if (!p) {
            free_tables(tables, g);
            snprintf(why, sizeof why, "no producer table of vertex %d for input %zu",
                     d->gates[g]->source_vertex, g);
            reply_ack(te, msg, false, why);
            fl_rpc_msg_free(msg);
            return;
        }
        fl_ptable_ref(p->t);
        tables[g] = p->t;
    }
    if (d->slot_index < 0 || d->slot_index >= te->nslots) {
        snprintf(why, sizeof why, "TaskManager %s has no slot %d", te->resource_id,
                 d->slot_index);
        free_tables(tables, d->n_gates);
        reply_ack(te, msg, false, why);
        fl_rpc_msg_free(msg);
        return;
    }
    te_slot *slot = &te->slots[d->slot_index];
    if (slot->job_id[0] && (strcmp(slot->job_id, d->job_id) ||
                            strcmp(slot->allocation_id, d->allocation_id))) {
        snprintf(why, sizeof why, "slot %d of TaskManager %s belongs to job %s",
                 d->slot_index, te->resource_id, slot->job_id);
        free_tables(tables, d->n_gates);
        reply_ack(te, msg, false, why);
        fl_rpc_msg_free(msg);
        return;
    }
    snprintf(slot->job_id, sizeof slot->job_id, "%s", d->job_id);
    snprintf(slot->allocation_id, sizeof slot->allocation_id, "%s", d->allocation_id);
    te_task *x = fl_xcalloc(1, sizeof *x);
    snprintf(x->job_id, sizeof x->job_id, "%s", d->job_id);
    x->attempt = d->attempt;
    x->vertex = d->vertex->id;
    x->subtask = d->subtask;
    x->slot = d->slot_index;
    x->msg = msg;
    x->tables = tables;
    x->ntables = (int)d->n_gates;
    x->bundle = get_bundle(te, d->bundle_sha256.data);
    x->bundle->refs++;
    if (x->bundle->state == B_FAILED) {
        /* the tasks that waited for it have failed: this deployment tries again (a fetch
         * that timed out, or a signature this one may carry) */
        x->bundle->state = B_FETCHING;
    }
    if (x->bundle->state == B_FETCHING) {
        bundle_entry *nb = x->bundle;
        snprintf(nb->name, sizeof nb->name, "%s", d->bundle_name);
        nb->siglen = d->bundle_signature.len; /* a wrong length is refused, naming it */
        if (nb->siglen) /* unsigned: data is NULL */
            memcpy(nb->sig, d->bundle_signature.data, FL_MIN(nb->siglen, sizeof nb->sig));
    }
    x->next = te->tasks;
    te->tasks = x;
    reply_ack(te, msg, true, NULL);
    bundle_entry *b = x->bundle;
    if (b->state == B_READY) {
        start_task(te, x);
    } else {
        /* fetching: in the cache already (another job used it), being fetched, or not */
        char path[4200];
        bundle_path(te, b, path, sizeof path);
        bool fetching = false;
        for (te_task *y = te->tasks; y; y = y->next)
            fetching |= y != x && y->bundle == b && !y->task;
        if (fetching)
            return;
        if (access(path, F_OK) == 0) {
            load_bundle(te, b);
            bundle_settled(te, b);
            return;
        }
        Fl__Pb__BlobRequest req = FL__PB__BLOB_REQUEST__INIT;
        req.sha256.data = b->sha;
        req.sha256.len = 32;
        fl_rpc_call(te->rpc, te->conn, FL_RPC_BLOB_REQUEST, &req.base, te->ask_timeout_ms, te->ep,
                    on_blob, b);
    }
}

static void cancel_tasks_of(fl_te *te, const char *job_id, int attempt, const char *why)
{
    te_task *x = te->tasks, *next;
    for (; x; x = next) {
        next = x->next;
        if (job_id && (strcmp(x->job_id, job_id) || (attempt >= 0 && x->attempt != attempt)))
            continue;
        if (x->task) {
            fl_task_cancel(x->task); /* it reports CANCELED when it has stopped */
        } else {
            send_state(te, x, FL_TASK_CANCELED, NULL);
            remove_task(te, x);
        }
    }
    /* partitions nobody will consume any more */
    char prefix[64];
    if (job_id && attempt >= 0)
        snprintf(prefix, sizeof prefix, "%s/%d/", job_id, attempt);
    else
        snprintf(prefix, sizeof prefix, "%s", job_id ? job_id : "");
    fl_netenv_release_partitions(te->net, prefix, why);
}

static void cancel_all_tasks(fl_te *te, const char *why)
{
    if (te->tasks)
        fl_warn("Cancelling all tasks: %s", why);
    cancel_tasks_of(te, NULL, -1, why);
    drop_ptables(te, NULL, INT32_MAX);
}

/* Region failover: only the named tasks of the attempt, and only their partitions (other
 * regions' tasks of the same attempt run on). */
static void cancel_some_tasks(fl_te *te, const Fl__Pb__CancelJobTasks *c)
{
    size_t n = FL_MIN(c->n_vertex, c->n_subtask);
    for (size_t k = 0; k < n; k++) {
        te_task *x = find_task(te, c->job_id, c->attempt, c->vertex[k], c->subtask[k]);
        if (x) {
            fl_task_cancel(x->task); /* it reports CANCELED when it has stopped */
        } else {
            for (x = te->tasks; x; x = x->next) /* deployed, its bundle still coming */
                if (!x->task && !strcmp(x->job_id, c->job_id) && x->attempt == c->attempt &&
                    x->vertex == c->vertex[k] && x->subtask == c->subtask[k])
                    break;
            if (x) {
                send_state(te, x, FL_TASK_CANCELED, NULL);
                remove_task(te, x);
            }
        }
        char prefix[96];
        snprintf(prefix, sizeof prefix, "%s/%d/%d/%d/", c->job_id, c->attempt, c->vertex[k],
                 c->subtask[k]);
        fl_netenv_release_partitions(te->net, prefix, "region cancelled");
    }
}

static void on_log_request(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    fl_tm_answer_log_request(te->rpc, te->conf, msg);
}

static void on_cancel_job_tasks(void *ctx, fl_rpc_msg *msg)
{
    fl_te *te = ctx;
    Fl__Pb__CancelJobTasks *c = (Fl__Pb__CancelJobTasks *)msg->pb;
    if (c->n_vertex > 0 && from_leader(te, msg, c->leader_session_id)) {
        cancel_some_tasks(te, c);
    } else if (from_leader(te, msg, c->leader_session_id)) {
        cancel_tasks_of(te, c->job_id, c->attempt, "job cancelled");
        drop_ptables(te, c->job_id, c->attempt == INT32_MAX ? INT32_MAX : c->attempt + 1);
    }
    fl_rpc_msg_free(msg);
}

/* The leader ZooKeeper names (high availability): register with it when it is another. */
static void on_leader(void *ctx, const fl_leader_info *li)
{
    fl_te *te = ctx;
    if (!li || te->state == TE_STOPPING)
        return; /* between two leaders: stay with the one we have until the next appears */
    if (te->have_leader && !strcmp(li->session_id, te->expected_session) &&
        !strcmp(li->rpc_host, te->jm_host) && li->rpc_port == te->jm_port)
        return;
    bool had = te->have_leader;
    te->have_leader = true;
    snprintf(te->expected_session, sizeof te->expected_session, "%s", li->session_id);
    snprintf(te->jm_host, sizeof te->jm_host, "%s", li->rpc_host);
    te->jm_port = li->rpc_port;
    fl_info("%s leader: flint://%s:%d (leader session %s)%s", had ? "New" : "Found the",
            te->jm_host, te->jm_port, te->expected_session,
            te->state == TE_REGISTERED ? "; leaving the old one" : "");
    te->backoff_ms = te->backoff_initial_ms;
    switch (te->state) {
    case TE_DISCONNECTED:
        evtimer_del(te->retry_timer);
        connect_rm(te);
        break;
    case TE_CONNECTING:
        te->retarget = true; /* its answer, whatever it is, leads to the new one */
        break;
    default: /* registering or registered with the old one: its down event goes on */
        te->retarget = true;
        fl_rpc_close(te->rpc, te->conn);
        break;
    }
}

fl_te *fl_te_new(const fl_conf *conf, fl_rpc *rpc, fl_netenv *net, const fl_te_addr *addr)
{
    fl_te *te = fl_xcalloc(1, sizeof *te);
    te->ep = fl_endpoint_new("taskexecutor");
    if (!te->ep) {
        free(te);
        return NULL;
    }
    te->rpc = rpc;
    te->conf = conf;
    snprintf(te->resource_id, sizeof te->resource_id, "%s", addr->resource_id);
    snprintf(te->host, sizeof te->host, "%s", addr->host);
    te->rpc_port = addr->rpc_port;
    te->data_port = addr->data_port;
    snprintf(te->jm_host, sizeof te->jm_host, "%s",
             fl_conf_get_str(conf, "jobmanager.rpc.address"));
    te->jm_port = (int)fl_conf_get_int(conf, "jobmanager.rpc.port");
    if (fl_ha_enabled(conf)) {
        fl_err lerr;
        te->lr = fl_leader_retrieval_new(conf, te->ep, on_leader, &lerr);
        if (!te->lr) {
            fl_error("%s", lerr.msg);
            fl_endpoint_free(te->ep);
            free(te);
            return NULL;
        }
        te->jm_host[0] = '\0';
        te->jm_port = 0;
    }
    te->nslots = (int)fl_conf_get_int(conf, "taskmanager.numberOfTaskSlots");
    te->slots = fl_xcalloc((size_t)te->nslots, sizeof *te->slots);
    te->slot_status = fl_xcalloc((size_t)te->nslots, sizeof *te->slot_status);
    te->slot_ptrs = fl_xcalloc((size_t)te->nslots, sizeof *te->slot_ptrs);
    te->backoff_initial_ms =
        FL_MAX(1, fl_conf_get_duration_ms(conf, "cluster.registration.initial-timeout"));
    te->backoff_max_ms = FL_MAX(te->backoff_initial_ms,
                                fl_conf_get_duration_ms(conf, "cluster.registration.max-timeout"));
    te->backoff_ms = te->backoff_initial_ms;
    te->ask_timeout_ms = fl_conf_get_duration_ms(conf, "rpc.ask-timeout");
    te->hb_timeout_ms = fl_conf_get_duration_ms(conf, "heartbeat.timeout");
    struct event_base *base = fl_endpoint_base(te->ep);
    te->retry_timer = evtimer_new(base, on_retry, te);
    te->watchdog = event_new(base, -1, EV_PERSIST, on_watchdog, te);
    te->metrics_timer = event_new(base, -1, EV_PERSIST, on_metrics_tick, te);
    te->net = net;
    /* what TaskManagers killed with -9 left behind, then our own bundle cache (locked while
     * we live, so that the next TaskManager to start after us removes it if we cannot) */
    const char *blob_parent = fl_conf_get_str(conf, "blob.storage.directory");
    if (!blob_parent || !*blob_parent)
        blob_parent = "/tmp";
    fl_workdir_reap(blob_parent, "flint-tm-blobs-");
    fl_kbackend_rocksdb_reap(fl_conf_get_str(conf, "io.tmp.dirs"));
    fl_err werr;
    te->blob_lock = fl_workdir_new(blob_parent, "flint-tm-blobs-", te->blob_dir,
                                   sizeof te->blob_dir, &werr);
    if (te->blob_lock < 0) {
        fl_error("cannot create a bundle cache directory: %s", werr.msg);
        te->blob_dir[0] = '\0';
    }
    fl_rpc_route(rpc, FL_RPC_HEARTBEAT_REQUEST, te->ep, on_heartbeat_request);
    fl_rpc_route(rpc, FL_RPC_DISCONNECT, te->ep, on_disconnect);
    fl_rpc_route(rpc, FL_RPC_SUBMIT_TASK, te->ep, on_submit_task);
    fl_rpc_route(rpc, FL_RPC_CANCEL_JOB_TASKS, te->ep, on_cancel_job_tasks);
    fl_rpc_route(rpc, FL_RPC_TRIGGER_CHECKPOINT, te->ep, on_trigger_checkpoint);
    fl_rpc_route(rpc, FL_RPC_NOTIFY_CHECKPOINT, te->ep, on_notify_checkpoint);
    fl_rpc_route(rpc, FL_RPC_LOG_REQUEST, te->ep, on_log_request);
    te->io = fl_endpoint_new("snapshot-io");
    snprintf(te->tmp_dir, sizeof te->tmp_dir, "%s", fl_conf_get_str(conf, "io.tmp.dirs"));
    return te;
}

static void start_mail(void *ctx, void *arg)
{
    connect_rm(ctx);
}

int fl_te_start(fl_te *te, fl_err *err)
{
    if (fl_trusted_keys_load(te->conf, &te->trusted, err) < 0)
        return -1;
    if (te->trusted)
        fl_info("Job bundles are loaded only when signed by one of %d trusted key(s) "
                "(security.bundles.trusted-keys).",
                fl_trusted_keys_count(te->trusted));
    te->started_mono = fl_mono_ms();
    struct timeval tick = {0, 100 * 1000};
    event_add(te->watchdog, &tick);
    int64_t mi = FL_MAX(50, fl_conf_get_duration_ms(te->conf, "metrics.report-interval"));
    struct timeval mtv = {mi / 1000, (mi % 1000) * 1000};
    event_add(te->metrics_timer, &mtv);
    fl_err perr;
    if (fl_prom_reporter_start(fl_endpoint_base(te->ep), te->conf,
                               fl_conf_get_str(te->conf, "taskmanager.bind-host"), prom_fill, te,
                               &te->prom, &perr) < 0)
        fl_error("No Prometheus reporter: %s", perr.msg); /* as Flink: the TaskManager runs on */
    if (fl_endpoint_start(te->io, te, err) < 0 || fl_endpoint_start(te->ep, te, err) < 0)
        return -1;
    fl_endpoint_post(te->ep, start_mail, NULL, NULL);
    if (te->lr && fl_leader_retrieval_start(te->lr, err) < 0)
        return -1;
    return 0;
}

static void shutdown_mail(void *ctx, void *arg)
{
    fl_te *te = ctx;
    if (te->state == TE_REGISTERED) {
        Fl__Pb__Disconnect d = FL__PB__DISCONNECT__INIT;
        d.resource_id = te->resource_id;
        d.reason = "TaskManager is shutting down";
        fl_rpc_send(te->rpc, te->conn, FL_RPC_DISCONNECT, &d.base);
    }
    te->state = TE_STOPPING;
    evtimer_del(te->retry_timer);
    cancel_all_tasks(te, "the TaskManager is shutting down");
}

void fl_te_shutdown(fl_te *te)
{
    fl_endpoint_post(te->ep, shutdown_mail, NULL, NULL);
    fl_endpoint_stop(te->ep);
}

void fl_te_free(fl_te *te)
{
    if (!te)
        return;
    fl_endpoint_stop(te->ep);
    fl_endpoint_stop(te->io);
    fl_leader_retrieval_free(te->lr); /* its mails to our stopped thread are dropped */
    /* tasks were cancelled at shutdown; wait for their threads */
    while (te->tasks) {
        te_task *x = te->tasks;
        if (x->task)
            fl_task_cancel(x->task);
        remove_task(te, x);
    }
    while (te->bundles) {
        bundle_entry *b = te->bundles;
        te->bundles = b->next;
        if (b->state == B_READY)
            fl_bundle_close(&b->bundle);
        free(b);
    }
    if (te->blob_dir[0]) {
        if (fl_remove_tree(te->blob_dir) != 0)
            fl_warn("could not remove %s", te->blob_dir);
    }
    if (te->blob_lock >= 0)
        close(te->blob_lock);
    fl_trusted_keys_free(te->trusted);
    event_free(te->retry_timer);
    event_free(te->watchdog);
    event_free(te->metrics_timer);
    fl_prom_reporter_free(te->prom);
    fl_endpoint_free(te->ep);
    fl_endpoint_free(te->io);
    drop_ptables(te, NULL, INT32_MAX);
    free(te->slots);
    free(te->slot_status);
    free(te->slot_ptrs);
    free(te);
}

bool fl_te_refused(const fl_te *te)
{
    return te->refused;
}
