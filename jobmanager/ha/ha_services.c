/* ha_services.c -- see ha.h: the "ha" thread (its ZooKeeper session's events, start and
 * stop), the mails to the listener, the terms, and the JobMasters' requests (checkpoint ids,
 * completed checkpoints, job results), which run on this thread in the order they came and
 * wait while ZooKeeper is unreachable. The election is leader_election.c's, the stores are
 * job_graph_store.c's, checkpoint_store.c's and job_result_store.c's.
 */
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "ha_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- terms ------------------------------------------------------------------------------ */

struct fl_leader_term {
    atomic_int refs;
    atomic_int state;
    char session[FL_SESSION_ID_LEN + 1];
    char latch[512];
};

fl_leader_term *fl_leader_term_new(const char *latch)
{
    fl_leader_term *t = fl_xcalloc(1, sizeof *t);
    atomic_init(&t->refs, 1);
    atomic_init(&t->state, FL_TERM_ACTIVE);
    fl_random_hex(t->session, FL_SESSION_ID_LEN / 2);
    snprintf(t->latch, sizeof t->latch, "%s", latch ? latch : "");
    return t;
}

fl_leader_term *fl_leader_term_ref(fl_leader_term *t)
{
    if (t)
        atomic_fetch_add(&t->refs, 1);
    return t;
}

void fl_leader_term_unref(fl_leader_term *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        free(t);
}

const char *fl_leader_term_session(const fl_leader_term *t)
{
    return t->session;
}

const char *fl_leader_term_latch(const fl_leader_term *t)
{
    return t->latch;
}

int fl_leader_term_state(const fl_leader_term *t)
{
    return atomic_load(&((fl_leader_term *)t)->state);
}

bool fl_leader_term_is_active(const fl_leader_term *t)
{
    return fl_leader_term_state(t) == FL_TERM_ACTIVE;
}

void fl_leader_term_set_state(fl_leader_term *t, int state)
{
    atomic_store(&t->state, state);
}

/* ---- recovery data ---------------------------------------------------------------------- */

void fl_ha_recovery_free(fl_ha_recovery *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->njobs; i++) {
        if (r->jobs[i].stored)
            fl__pb__stored_job_graph__free_unpacked(r->jobs[i].stored, NULL);
        free(r->jobs[i].checkpoints);
    }
    free(r->jobs);
    for (int i = 0; i < r->nresults; i++)
        fl__pb__job_result__free_unpacked(r->results[i], NULL);
    free(r->results);
    free(r);
}

/* ---- the listener ----------------------------------------------------------------------- */

enum { TELL_GRANTED, TELL_SUSPENDED, TELL_REVOKED, TELL_LEADER };

typedef struct tell_mail {
    int kind;
    fl_ha_listener l;
    fl_leader_term *term;
    fl_ha_recovery *rec;
    bool flag;
    bool has_leader;
    fl_leader_info leader;
    char why[300];
} tell_mail;

static void drop_tell(void *arg)
{
    tell_mail *m = arg;
    fl_leader_term_unref(m->term);
    fl_ha_recovery_free(m->rec);
    free(m);
}

static void run_tell(void *ctx, void *arg)
{
    tell_mail *m = arg;
    switch (m->kind) {
    case TELL_GRANTED:
        m->l.granted(ctx, m->term, m->rec);
        m->term = NULL;
        m->rec = NULL;
        break;
    case TELL_SUSPENDED:
        m->l.suspended(ctx, m->term, m->flag);
        m->term = NULL;
        break;
    case TELL_REVOKED:
        m->l.revoked(ctx, m->term, m->why);
        m->term = NULL;
        break;
    default:
        m->l.leader(ctx, m->has_leader ? &m->leader : NULL);
        break;
    }
    drop_tell(m);
}

static void tell(fl_ha *ha, tell_mail *m)
{
    if (!ha->has_listener) {
        drop_tell(m);
        return;
    }
    m->l = ha->l;
    fl_endpoint_post(ha->lep, run_tell, m, drop_tell);
}

void fl_ha_tell_granted(fl_ha *ha, fl_leader_term *term, fl_ha_recovery *rec)
{
    tell_mail *m = fl_xcalloc(1, sizeof *m);
    m->kind = TELL_GRANTED;
    m->term = term;
    m->rec = rec;
    tell(ha, m);
}

void fl_ha_tell_suspended(fl_ha *ha, fl_leader_term *term, bool suspended)
{
    tell_mail *m = fl_xcalloc(1, sizeof *m);
    m->kind = TELL_SUSPENDED;
    m->term = term;
    m->flag = suspended;
    tell(ha, m);
}

void fl_ha_tell_revoked(fl_ha *ha, fl_leader_term *term, const char *why)
{
    tell_mail *m = fl_xcalloc(1, sizeof *m);
    m->kind = TELL_REVOKED;
    m->term = term;
    snprintf(m->why, sizeof m->why, "%s", why);
    tell(ha, m);
}

void fl_ha_tell_leader(fl_ha *ha, const fl_leader_info *leader)
{
    tell_mail *m = fl_xcalloc(1, sizeof *m);
    m->kind = TELL_LEADER;
    m->has_leader = leader != NULL;
    if (leader)
        m->leader = *leader;
    tell(ha, m);
}

/* ---- JobMasters' handles ------------------------------------------------------------------ */

struct fl_ha_job {
    atomic_int refs;
    pthread_mutex_t mu;  /* closed and the posting of answers */
    bool closed;
    fl_ha *ha;
    fl_leader_term *term;
    char job_id[40];
    fl_ha_job_callbacks cb;
};

static void hj_unref(fl_ha_job *hj)
{
    if (hj && atomic_fetch_sub(&hj->refs, 1) == 1) {
        fl_leader_term_unref(hj->term);
        pthread_mutex_destroy(&hj->mu);
        free(hj);
    }
}

fl_ha_job *fl_ha_job_open(fl_ha *ha, fl_leader_term *term, const char *job_id,
                          const fl_ha_job_callbacks *cb)
{
    fl_ha_job *hj = fl_xcalloc(1, sizeof *hj);
    atomic_init(&hj->refs, 1);
    pthread_mutex_init(&hj->mu, NULL);
    hj->ha = ha;
    hj->term = fl_leader_term_ref(term);
    snprintf(hj->job_id, sizeof hj->job_id, "%s", job_id);
    hj->cb = *cb;
    return hj;
}

void fl_ha_job_close(fl_ha_job *hj)
{
    if (!hj)
        return;
    pthread_mutex_lock(&hj->mu);
    hj->closed = true;
    pthread_mutex_unlock(&hj->mu);
    hj_unref(hj);
}

typedef struct answer_mail {
    bool is_id;
    fl_ha_job_callbacks cb;
    int64_t id;
    int status;
    char why[600];
} answer_mail;

static void run_answer(void *ctx, void *arg)
{
    answer_mail *m = arg;
    if (m->is_id)
        m->cb.on_id(m->cb.arg, m->status < 0 ? -1 : m->id, m->status < 0 ? m->why : NULL);
    else
        m->cb.on_recorded(m->cb.arg, m->id, m->status, m->status < 0 ? m->why : NULL);
    free(m);
}

/* Posts an answer unless the JobMaster closed its handle. */
static void answer(fl_ha_job *hj, bool is_id, int64_t id, int status, const char *why)
{
    answer_mail *m = fl_xcalloc(1, sizeof *m);
    m->is_id = is_id;
    m->cb = hj->cb;
    m->id = id;
    m->status = status;
    snprintf(m->why, sizeof m->why, "%s", why ? why : "");
    pthread_mutex_lock(&hj->mu);
    if (hj->closed)
        free(m);
    else
        fl_endpoint_post(hj->cb.ep, run_answer, m, free);
    pthread_mutex_unlock(&hj->mu);
}

/* ---- requests ---------------------------------------------------------------------------- */

enum { REQ_NEXT_ID, REQ_RECORD, REQ_RESULT };

struct ha_req {
    ha_req *next;
    int kind;
    fl_ha_job *hj;            /* a reference; NULL for results */
    fl_leader_term *term;     /* a reference */
    int64_t id;               /* the checkpoint; the floor of the next id */
    char dir[1024];
    bool savepoint;
    int64_t *drop;
    int ndrop;
    Fl__Pb__JobResult *result;
};

static void req_free(ha_req *r)
{
    hj_unref(r->hj);
    fl_leader_term_unref(r->term);
    free(r->drop);
    if (r->result)
        fl__pb__job_result__free_unpacked(r->result, NULL);
    free(r);
}

static void req_drop(void *arg)
{
    req_free(arg);
}

static void req_fail(ha_req *r, const char *why)
{
    if (r->kind == REQ_NEXT_ID)
        answer(r->hj, true, -1, -1, why);
    else if (r->kind == REQ_RECORD)
        answer(r->hj, false, r->id, -1, why);
    else
        fl_warn("The result of job %s (%s) is not recorded: %s", r->result->job_id,
                r->result->state, why);
    req_free(r);
}

static void wait_for_connection(fl_ha *ha, ha_req *r)
{
    r->next = NULL;
    *ha->waiting_tail = r;
    ha->waiting_tail = &r->next;
}

/* Runs r now, or keeps it until ZooKeeper answers again; fails it when its term is over. */
static void run_req(fl_ha *ha, ha_req *r)
{
    fl_err err;
    int rc;
    if (r->term != ha->term || fl_leader_term_state(r->term) == FL_TERM_REVOKED) {
        req_fail(r, "this JobManager no longer leads the cluster");
        return;
    }
    if (!fl_leader_term_is_active(r->term) || !fl_zk_is_connected(ha->zk)) {
        wait_for_connection(ha, r);
        return;
    }
    const char *job = r->hj ? r->hj->job_id : r->result->job_id;
    int64_t id = 0;
    switch (r->kind) {
    case REQ_NEXT_ID:
        rc = fl_cks_next_id(ha, r->term, job, r->id, &id, &err);
        break;
    case REQ_RECORD:
        rc = fl_cks_record(ha, r->term, job, r->id, r->dir, r->savepoint, r->drop, r->ndrop,
                           &err);
        break;
    default:
        rc = fl_jrs_record(ha, r->term, r->result, &err);
        break;
    }
    if (rc == FL_ZK_CONNLOSS) {
        /* it may or may not have taken effect: again once ZooKeeper answers (each store
         * finds its own earlier work) */
        wait_for_connection(ha, r);
        return;
    }
    if (rc < 0) {
        req_fail(r, err.msg);
        return;
    }
    if (r->kind == REQ_NEXT_ID)
        answer(r->hj, true, id, 0, NULL);
    else if (r->kind == REQ_RECORD)
        answer(r->hj, false, r->id, 0, NULL);
    else
        fl_info("Recorded the result of job %s: %s", job, r->result->state);
    req_free(r);
}

void fl_ha_run_waiting(fl_ha *ha)
{
    ha_req *list = ha->waiting;
    ha->waiting = NULL;
    ha->waiting_tail = &ha->waiting;
    while (list) {
        ha_req *r = list;
        list = r->next;
        run_req(ha, r);
    }
}

void fl_ha_fail_waiting(fl_ha *ha, const char *why)
{
    while (ha->waiting) {
        ha_req *r = ha->waiting;
        ha->waiting = r->next;
        req_fail(r, why);
    }
    ha->waiting_tail = &ha->waiting;
}

static void run_req_mail(void *ctx, void *arg)
{
    run_req(ctx, arg);
}

static void post_req(fl_ha *ha, ha_req *r)
{
    fl_endpoint_post(ha->ep, run_req_mail, r, req_drop);
}

void fl_ha_job_next_id(fl_ha_job *hj, int64_t floor)
{
    ha_req *r = fl_xcalloc(1, sizeof *r);
    r->kind = REQ_NEXT_ID;
    r->hj = hj;
    atomic_fetch_add(&hj->refs, 1);
    r->term = fl_leader_term_ref(hj->term);
    r->id = floor;
    post_req(hj->ha, r);
}

void fl_ha_job_record(fl_ha_job *hj, int64_t id, const char *dir, bool savepoint,
                      const int64_t *drop, int ndrop)
{
    ha_req *r = fl_xcalloc(1, sizeof *r);
    r->kind = REQ_RECORD;
    r->hj = hj;
    atomic_fetch_add(&hj->refs, 1);
    r->term = fl_leader_term_ref(hj->term);
    r->id = id;
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    r->savepoint = savepoint;
    r->drop = fl_xcalloc((size_t)ndrop + 1, sizeof *r->drop);
    if (ndrop)
        memcpy(r->drop, drop, (size_t)ndrop * sizeof *drop);
    r->ndrop = ndrop;
    post_req(hj->ha, r);
}

void fl_ha_job_ended(fl_ha *ha, fl_leader_term *term, Fl__Pb__JobResult *res)
{
    ha_req *r = fl_xcalloc(1, sizeof *r);
    r->kind = REQ_RESULT;
    r->term = fl_leader_term_ref(term);
    r->result = res;
    post_req(ha, r);
}

/* ---- the thread --------------------------------------------------------------------------- */

static void on_state(void *ctx, fl_zk *zk, int state)
{
    fl_ha *ha = ctx;
    if (ha->stopping)
        return;
    if (state == FL_ZK_CONNECTED) {
        evtimer_del(ha->warn_timer);
        fl_election_connected(ha);
    } else if (state == FL_ZK_SESSION_EXPIRED) {
        fl_election_expired(ha);
    } else {
        fl_election_disconnected(ha);
    }
}

static void on_watch(void *ctx, fl_zk *zk, const char *path, int event)
{
    fl_ha *ha = ctx;
    if (!ha->stopping)
        fl_election_watch(ha, path);
}

static void on_suspend_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_election_suspend_timeout(arg);
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_election_retry(arg);
}

static void on_warn_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_ha *ha = arg;
    if (!fl_zk_is_connected(ha->zk))
        fl_warn("Cannot reach ZooKeeper at %s within %lld ms "
                "(high-availability.zookeeper.client.connection-timeout): this JobManager "
                "stands by until it can; still trying", ha->zc.quorum,
                (long long)ha->zc.connection_timeout_ms);
}

static void start_mail(void *ctx, void *arg)
{
    fl_ha *ha = ctx;
    fl_err err;
    fl_zk_events ev = {ha->ep, ha, on_state, on_watch};
    ha->zk = fl_zk_new(&ha->zc, &ev, &err);
    if (!ha->zk) {
        fl_error("High availability cannot start: %s", err.msg);
        return;
    }
    struct timeval tv = {ha->zc.connection_timeout_ms / 1000,
                         (ha->zc.connection_timeout_ms % 1000) * 1000};
    evtimer_add(ha->warn_timer, &tv);
}

static void ready_mail(void *ctx, void *arg)
{
    fl_ha *ha = ctx;
    fl_election_ready(ha, arg);
    fl_leader_term_unref(arg);
}

static void drop_term(void *arg)
{
    fl_leader_term_unref(arg);
}

void fl_ha_ready(fl_ha *ha, fl_leader_term *term)
{
    fl_endpoint_post(ha->ep, ready_mail, fl_leader_term_ref(term), drop_term);
}

static void stop_mail(void *ctx, void *arg)
{
    fl_ha *ha = ctx;
    fl_election_revoke(ha, "this JobManager is shutting down");
    ha->stopping = true;
    fl_ha_fail_waiting(ha, "this JobManager is shutting down");
    /* closing the session removes our latch and leader nodes now: a standby takes over
     * without waiting for the session timeout */
    fl_zk_free(ha->zk);
    ha->zk = NULL;
}

/* storageDir/<cluster-id> (file:// accepted), absolute, with the store directories. */
static int make_storage(fl_ha *ha, const fl_conf *conf, fl_err *err)
{
    const char *dir = fl_conf_get_str(conf, "high-availability.storageDir");
    if (!dir || !*dir) {
        fl_err_set(err, "high-availability.storageDir is not set: high availability "
                        "(high-availability.type: zookeeper) keeps submitted jobs and their "
                        "results there (a directory every JobManager reaches)");
        return -1;
    }
    if (fl_fs_check(dir, err) < 0) {
        fl_err_prefix(err, "high-availability.storageDir");
        return -1;
    }
    if (fl_fs_is_remote(dir)) {
        fl_err_set(err, "high-availability.storageDir '%s': S3 is not supported there yet; "
                        "give a directory every JobManager reaches (NFS)", dir);
        return -1;
    }
    if (!strncmp(dir, "file://", 7))
        dir += 7;
    if (dir[0] != '/') {
        fl_err_set(err, "high-availability.storageDir '%s' is not an absolute path", dir);
        return -1;
    }
    const char *cid = fl_conf_get_str(conf, "high-availability.cluster-id");
    while (*cid == '/')
        cid++;
    snprintf(ha->storage, sizeof ha->storage, "%.700s/%.200s", dir, *cid ? cid : "default");
    static const char *subs[] = {DIR_JOBGRAPHS, DIR_BLOBS, DIR_RESULTS};
    for (size_t i = 0; i < FL_ARRAY_LEN(subs); i++) {
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/%s", ha->storage, subs[i]);
        if (fl_mkdirs(sub, err) < 0) {
            fl_err_prefix(err, "high-availability.storageDir");
            return -1;
        }
    }
    return 0;
}

fl_ha *fl_ha_new(const fl_conf *conf, fl_err *err)
{
    fl_ha *ha = fl_xcalloc(1, sizeof *ha);
    ha->conf = conf;
    ha->waiting_tail = &ha->waiting;
    if (fl_zk_conf_load(conf, &ha->zc, err) < 0 || make_storage(ha, conf, err) < 0)
        goto fail;
    ha->max_results = (int)fl_conf_get_int(conf, "jobstore.max-capacity");
    fl_random_hex(ha->uuid, 8);
    ha->ep = fl_endpoint_new("ha");
    if (!ha->ep) {
        fl_err_set(err, "cannot create the HA thread");
        goto fail;
    }
    struct event_base *base = fl_endpoint_base(ha->ep);
    ha->suspend_timer = evtimer_new(base, on_suspend_timer, ha);
    ha->retry_timer = evtimer_new(base, on_retry_timer, ha);
    ha->warn_timer = evtimer_new(base, on_warn_timer, ha);
    return ha;
fail:
    free(ha);
    return NULL;
}

void fl_ha_set_listener(fl_ha *ha, fl_endpoint *ep, const fl_ha_listener *l)
{
    ha->lep = ep;
    ha->l = *l;
    ha->has_listener = true;
}

int fl_ha_start(fl_ha *ha, const fl_leader_info *self, fl_err *err)
{
    ha->self = *self;
    ha->self.session_id[0] = '\0';
    if (fl_endpoint_start(ha->ep, ha, err) < 0)
        return -1;
    ha->started = true;
    fl_info("High availability through ZooKeeper %s, cluster %s, storage %s: contending for "
            "leadership as flint://%s:%d (REST %s)", ha->zc.quorum, ha->zc.root, ha->storage,
            self->rpc_host, self->rpc_port, self->rest_url);
    fl_endpoint_post(ha->ep, start_mail, NULL, NULL);
    return 0;
}

void fl_ha_stop(fl_ha *ha)
{
    if (!ha || !ha->started)
        return;
    fl_endpoint_post(ha->ep, stop_mail, NULL, NULL);
    fl_endpoint_stop(ha->ep);
    ha->started = false;
}

void fl_ha_free(fl_ha *ha)
{
    if (!ha)
        return;
    fl_ha_stop(ha);
    fl_endpoint_free(ha->ep);
    fl_zk_free(ha->zk);
    fl_ha_fail_waiting(ha, "this JobManager is shutting down");
    fl_leader_term_unref(ha->term);
    event_free(ha->suspend_timer);
    event_free(ha->retry_timer);
    event_free(ha->warn_timer);
    free(ha);
}

const char *fl_ha_storage(const fl_ha *ha)
{
    return ha->storage;
}
