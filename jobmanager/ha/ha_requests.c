/* ha_requests.c -- see ha.h: the JobMasters' handles (fl_ha_job) and their requests to
 * the HA services (checkpoint ids, completed checkpoints, job results). Each request is
 * posted to the "ha" thread, runs there in the order it came against the stores
 * (checkpoint_store.c, job_result_store.c), waits while ZooKeeper is unreachable or the
 * term suspended (fl_ha_run_waiting when it answers again) and fails once its term is
 * over; the answer is posted back to the JobMaster unless it closed its handle. The
 * election (leader_election.c) runs and fails the waiting ones; nothing here calls it.
 */
#include "common/log.h"
#include "common/util.h"
#include "ha_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
