/* job_master.c -- see job_master.h: the JobMaster's thread and life cycle, the messages of
 * TaskExecutors, the checkpoint coordinator's callbacks, savepoints, and the world the
 * scheduler acts on (its ops: the ResourceManager, CancelJobTasks, deployment, the restore
 * point, publication). The job's state machine is scheduler.c over the ExecutionGraph of
 * execution_graph.c; the status it publishes is built in job_status.c, the task deployment
 * descriptors in deployment.c; the shared layout is in job_master_internal.h. Everything
 * after fl_jm_start runs on the JobMaster's own thread; other threads reach it through
 * fl_jm_cancel / fl_jm_deliver (mails). */
#include "common/log.h"
#include "common/plan.h"
#include "common/util.h"
#include "job_master_internal.h"
#include "jobmanager/ha/ha.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t next_serial;

static void collect_conf(void *arg, const char *key, const char *value)
{
    fl_jm *jm = arg;
    Fl__Pb__ConfigEntry *e = fl_xmalloc(sizeof *e);
    fl__pb__config_entry__init(e);
    e->key = fl_xstrdup(key);
    e->value = fl_xstrdup(value);
    jm->conf_entries = fl_xrealloc(jm->conf_entries, (jm->nconf + 1) * sizeof *jm->conf_entries);
    jm->conf_entries[jm->nconf++] = e;
}

/* ---- the scheduler's ops: the world it acts on ----------------------------------- */

static void on_slots_granted(void *ctx, fl_slot_grant *slots, int n)
{
    fl_jm *jm = ctx;
    fl_sched_on_slots(&jm->s, slots, n);
}

static void on_slots_lost(void *ctx, const char *resource_id, const char *why)
{
    fl_jm *jm = ctx;
    fl_sched_on_slots_lost(&jm->s, resource_id, why);
}

static void op_request_slots(void *ctx, int n)
{
    fl_jm *jm = ctx;
    fl_rm_request_slots(jm->deps.rm, jm->deps.term, jm->id, n, jm->ep, on_slots_granted,
                        on_slots_lost);
}

static void op_release_slots(void *ctx)
{
    fl_jm *jm = ctx;
    fl_rm_release_slots(jm->deps.rm, jm->id);
}

static void op_cancel_tasks(void *ctx)
{
    fl_jm *jm = ctx;
    /* one CancelJobTasks per TaskManager */
    const int *slot_of_host;
    int nhosts = jm->s.nslots ? fl_jm_hosts(jm, &slot_of_host) : 0;
    for (int h = 0; h < nhosts; h++) {
        Fl__Pb__CancelJobTasks c = FL__PB__CANCEL_JOB_TASKS__INIT;
        c.job_id = jm->id;
        c.attempt = -1; /* every attempt: regions may have restarted apart */
        c.leader_session_id = (char *)fl_leader_term_session(jm->deps.term);
        fl_rpc_send(jm->deps.rpc, jm->s.slots[slot_of_host[h]].conn, FL_RPC_CANCEL_JOB_TASKS,
                    &c.base);
    }
}

/* One CancelJobTasks per TaskManager of region r, naming its tasks there: a region's
 * executions share one attempt, but other regions may have that attempt too. */
static void op_cancel_region(void *ctx, int r)
{
    fl_jm *jm = ctx;
    const fl_region *rg = &jm->s.eg.regions[r];
    int32_t *vs = fl_xcalloc((size_t)rg->n + 1, sizeof *vs);
    int32_t *ss = fl_xcalloc((size_t)rg->n + 1, sizeof *ss);
    bool *done = fl_xcalloc((size_t)rg->n + 1, sizeof *done);
    for (int k = 0; k < rg->n; k++) {
        if (done[k] || rg->x[k]->slot >= jm->s.nslots || jm->s.slot_lost[rg->x[k]->slot])
            continue; /* a lost TaskManager's tasks are gone with it */
        fl_conn_id conn = jm->s.slots[rg->x[k]->slot].conn;
        size_t m = 0;
        for (int q = k; q < rg->n; q++) /* O(tasks x hosts of the region) */
            if (!done[q] && rg->x[q]->slot < jm->s.nslots &&
                jm->s.slots[rg->x[q]->slot].conn == conn) {
                done[q] = true;
                vs[m] = rg->x[q]->vertex;
                ss[m++] = rg->x[q]->subtask;
            }
        Fl__Pb__CancelJobTasks c = FL__PB__CANCEL_JOB_TASKS__INIT;
        c.job_id = jm->id;
        c.attempt = rg->x[0]->attempt;
        c.leader_session_id = (char *)fl_leader_term_session(jm->deps.term);
        c.n_vertex = c.n_subtask = m;
        c.vertex = vs;
        c.subtask = ss;
        fl_rpc_send(jm->deps.rpc, conn, FL_RPC_CANCEL_JOB_TASKS, &c.base);
    }
    free(vs);
    free(ss);
    free(done);
}

static void op_pause_checkpoints(void *ctx)
{
    fl_jm *jm = ctx;
    fl_cc_stop(jm->cc); /* pending ones abort; all_running starts them again */
}

static void op_deploy(void *ctx)
{
    fl_jm_deploy_all(ctx);
}

/* A restart resumes from the latest completed checkpoint (or the savepoint the job started
 * from). */
static void op_new_attempt(void *ctx)
{
    fl_jm *jm = ctx;
    const char *dir = NULL;
    jm->restore = fl_cc_restore_point(jm->cc, &dir);
    jm->restore_dir = dir;
    if (jm->restore)
        fl_info("Job %s (%s) restores from checkpoint %lld (%s).", jm->g->name, jm->id,
                (long long)jm->restore->checkpoint_id, dir);
}

static void op_job_state_changed(void *ctx, fl_job_state from, fl_job_state to)
{
    fl_jm *jm = ctx;
    if (from == FL_JOB_RUNNING && jm->cc)
        fl_cc_stop(jm->cc);
    fl_jm_publish(jm);
}

static int cc_tasks(void *arg, const fl_cc_task **out);

static void op_all_running(void *ctx)
{
    fl_jm *jm = ctx;
    const fl_cc_task *tasks;
    if (cc_tasks(jm, &tasks) > 0)
        fl_cc_start(jm->cc); /* every task runs: checkpoints may begin */
}

static void op_publish(void *ctx, bool now)
{
    if (now)
        fl_jm_publish(ctx);
    else
        fl_jm_publish_soon(ctx, FL_JM_PUBLISH_TASKS_MS);
}

/* A rescale took effect: the plan shows the new parallelism, the status when and what. */
static void op_rescaled(void *ctx, const int *from)
{
    fl_jm *jm = ctx;
    json_t *f = json_object(), *t = json_object();
    char vid[16], desc[512];
    int n = 0;
    for (size_t v = 0; v < jm->g->n_vertices; v++) {
        snprintf(vid, sizeof vid, "%d", jm->g->vertices[v]->id);
        json_object_set_new(f, vid, json_integer(from[v]));
        json_object_set_new(t, vid, json_integer(jm->g->vertices[v]->parallelism));
        if (n < (int)sizeof desc - 40)
            n += snprintf(desc + n, sizeof desc - (size_t)n, "%s%s %d -> %d", v ? ", " : "",
                          jm->g->vertices[v]->name, from[v], jm->g->vertices[v]->parallelism);
    }
    const char *why = jm->s.rescale_why[0] ? jm->s.rescale_why : "resource requirements changed";
    fl_info("Job %s (%s) rescaled (%s): %s.", jm->g->name, jm->id, why, desc);
    json_decref(jm->last_rescale);
    jm->last_rescale = json_pack("{s:I, s:s, s:o, s:o}", "timestamp", (json_int_t)fl_now_ms(),
                                 "reason", why, "from", f, "to", t);
    json_decref(jm->plan);
    jm->plan = fl_plan_json(jm->g);
}

static const fl_sched_ops jm_sched_ops = {
    .request_slots = op_request_slots,
    .release_slots = op_release_slots,
    .cancel_tasks = op_cancel_tasks,
    .cancel_region = op_cancel_region,
    .pause_checkpoints = op_pause_checkpoints,
    .deploy = op_deploy,
    .new_attempt = op_new_attempt,
    .job_state_changed = op_job_state_changed,
    .all_running = op_all_running,
    .publish = op_publish,
    .rescaled = op_rescaled,
};

/* ---- messages from TaskExecutors -------------------------------------------------- */

static void take_metrics(fl_jm *jm, fl_exec *x, const Fl__Pb__TaskMetrics *m)
{
    if (!m)
        return;
    const fl_vertex *vx = &jm->s.eg.v[x->vertex];
    size_t nc = vx->jv->n_chain;
    int64_t old_base = x->sm.base_ms;
    x->rin = m->records_in, x->rout = m->records_out, x->bin = m->bytes_in;
    x->bout = m->bytes_out, x->bp_ms = m->backpressure_ms, x->idle_ms = m->idle_ms;
    x->busy_ms = m->busy_ms;
    fl_subtask_metrics_take(&x->sm, m, fl_mono_ms());
    fl_op_counts_take(&vx->ops[(size_t)x->subtask * nc], nc, m, &x->sm, old_base);
}

/* The execution a TaskExecutor's message names, when it is of the attempt running now. */
static fl_exec *find_exec(fl_jm *jm, int attempt, int vi, int i)
{
    fl_exec *x = fl_eg_exec(&jm->s.eg, vi, i);
    return x && x->attempt == attempt ? x : NULL;
}

/* True when msg came from the connection of the TaskManager that holds x's slot. */
static bool from_holder(const fl_jm *jm, const fl_exec *x, const fl_rpc_msg *msg, int vi, int i)
{
    if (x->slot < jm->s.nslots && jm->s.slots[x->slot].conn == msg->conn)
        return true;
    fl_warn_every(10, "Job %s (%s): refusing %s for task %d.%d from %s: that task runs on "
                  "TaskManager %s", jm->g->name, jm->id, fl_rpc_type_name(msg->type), vi, i,
                  msg->peer, x->slot < jm->s.nslots ? jm->s.slots[x->slot].resource_id
                                                    : "(none)");
    return false;
}

static void on_task_update(fl_jm *jm, const fl_rpc_msg *msg)
{
    Fl__Pb__TaskStateUpdate *u = (Fl__Pb__TaskStateUpdate *)msg->pb;
    fl_exec *x = find_exec(jm, u->attempt, u->vertex, u->subtask);
    if (!x || u->state < 0 || u->state >= FL_TASK_NSTATES ||
        !from_holder(jm, x, msg, u->vertex, u->subtask))
        return;
    take_metrics(jm, x, u->metrics);
    fl_sched_on_task_state(&jm->s, u->vertex, u->subtask, (fl_task_state)u->state, u->error);
}

static void run_deliver(void *ctx, void *arg)
{
    fl_jm *jm = ctx;
    fl_rpc_msg *msg = arg;
    if (msg->type == FL_RPC_ACKNOWLEDGE_CHECKPOINT) {
        fl_cc_on_ack(jm->cc, msg);
        return;
    }
    if (msg->type == FL_RPC_TASK_STATE_UPDATE) {
        on_task_update(jm, msg);
    } else if (msg->type == FL_RPC_TASK_METRICS_REPORT) {
        Fl__Pb__TaskMetricsReport *r = (Fl__Pb__TaskMetricsReport *)msg->pb;
        size_t n = FL_MIN(r->n_vertex, FL_MIN(r->n_subtask, r->n_metrics));
        for (size_t k = 0; k < n; k++) {
            fl_exec *x = find_exec(jm, r->attempt, r->vertex[k], r->subtask[k]);
            if (x && r->metrics[k] && from_holder(jm, x, msg, r->vertex[k], r->subtask[k]))
                take_metrics(jm, x, r->metrics[k]);
        }
        fl_jm_publish_soon(jm, FL_JM_PUBLISH_EVERY_MS);
    }
    fl_rpc_msg_free(msg);
}

void fl_jm_deliver(fl_jm *jm, fl_rpc_msg *msg)
{
    fl_endpoint_post(jm->ep, run_deliver, msg, fl_rpc_msg_drop);
}

static void run_cancel(void *ctx, void *arg)
{
    fl_jm *jm = ctx;
    fl_sched_cancel(&jm->s);
}

void fl_jm_cancel(fl_jm *jm)
{
    fl_endpoint_post(jm->ep, run_cancel, NULL, NULL);
}

static void run_rescale(void *ctx, void *arg)
{
    fl_jm *jm = ctx;
    if (fl_sched_rescale(&jm->s, arg) < 0)
        fl_warn("Job %s (%s): no rescale, the job is %s.", jm->g->name, jm->id,
                fl_job_state_name(jm->s.state));
    free(arg);
}

void fl_jm_rescale(fl_jm *jm, int *parallelism)
{
    fl_endpoint_post(jm->ep, run_rescale, parallelism, free);
}

static void run_cluster_slots(void *ctx, void *arg)
{
    fl_jm *jm = ctx;
    fl_sched_cluster_slots(&jm->s, (int)(intptr_t)arg);
    fl_jm_publish_soon(jm, FL_JM_PUBLISH_TASKS_MS);
}

void fl_jm_cluster_slots(fl_jm *jm, int slots)
{
    fl_endpoint_post(jm->ep, run_cluster_slots, (void *)(intptr_t)slots, NULL);
}

/* ---- checkpoint coordinator callbacks ---------------------------------------------- */

/* Every task of the attempt, when all of them run (finished ones are marked). */
static int cc_tasks(void *arg, const fl_cc_task **out)
{
    fl_jm *jm = arg;
    fl_exec_graph *eg = &jm->s.eg;
    if (jm->s.state != FL_JOB_RUNNING || jm->s.waiting_slots)
        return 0;
    jm->cc_tasks = fl_xrealloc(jm->cc_tasks, (size_t)eg->ntasks * sizeof *jm->cc_tasks);
    int k = 0;
    for (int vi = 0; vi < eg->nv; vi++)
        for (int i = 0; i < eg->v[vi].jv->parallelism; i++) {
            fl_exec *x = &eg->v[vi].x[i];
            if (x->state != FL_TASK_RUNNING && x->state != FL_TASK_FINISHED)
                return 0;
            jm->cc_tasks[k++] = (fl_cc_task){eg->v[vi].jv->id, i, x->attempt,
                                             jm->s.slots[x->slot].conn,
                                             x->state == FL_TASK_FINISHED};
        }
    *out = jm->cc_tasks;
    return k;
}

static void cc_fail(void *arg, const char *why)
{
    fl_sched_fail(&((fl_jm *)arg)->s, why);
}

static void cc_changed(void *arg)
{
    fl_jm_publish_soon(arg, FL_JM_PUBLISH_TASKS_MS);
}

static void cc_savepoint_done(void *arg, uint64_t token, const char *path, const char *error)
{
    fl_jm *jm = arg;
    char key[32];
    snprintf(key, sizeof key, "%016llx", (unsigned long long)token);
    json_t *entry = path ? json_pack("{s:{s:s}, s:{s:s}}", "status", "id", "COMPLETED",
                                     "operation", "location", path)
                         : json_pack("{s:{s:s}, s:{s:s}}", "status", "id", "COMPLETED",
                                     "operation", "failure-cause", error ? error : "failed");
    json_object_set_new(jm->savepoints, key, entry);
    if (path && token == jm->stop_token && jm->s.state == FL_JOB_RUNNING) {
        /* stop-with-savepoint: the savepoint is taken, now end the job (FINISHED; a
         * savepoint with cancel-job: CANCELED) */
        fl_info("Stopping job %s (%s) after its savepoint %s.", jm->g->name, jm->id, path);
        fl_sched_stop(&jm->s, !jm->stop_cancels);
    }
    fl_jm_publish(jm);
}

typedef struct savepoint_mail {
    uint64_t token;
    bool stop, cancel, drain;
    char *dir; /* as the request gave it: the coordinator judges its length */
} savepoint_mail;

static void drop_savepoint_mail(void *arg)
{
    savepoint_mail *m = arg;
    free(m->dir);
    free(m);
}

static void run_savepoint(void *ctx, void *arg)
{
    fl_jm *jm = ctx;
    savepoint_mail *m = arg;
    char key[32];
    snprintf(key, sizeof key, "%016llx", (unsigned long long)m->token);
    json_object_set_new(jm->savepoints, key,
                        json_pack("{s:{s:s}}", "status", "id", "IN_PROGRESS"));
    if (m->stop || m->cancel) {
        jm->stop_token = m->token;
        jm->stop_cancels = m->cancel;
    }
    if (jm->s.state != FL_JOB_RUNNING)
        cc_savepoint_done(jm, m->token, NULL, "the job is not running");
    else
        fl_cc_trigger_savepoint(jm->cc, m->dir, m->token, m->drain);
    drop_savepoint_mail(m);
}

void fl_jm_trigger_savepoint(fl_jm *jm, const char *dir, uint64_t token, bool stop,
                             bool cancel, bool drain)
{
    savepoint_mail *m = fl_xcalloc(1, sizeof *m);
    m->token = token;
    m->stop = stop;
    m->cancel = cancel && !stop;
    m->drain = drain;
    m->dir = fl_xstrdup(dir ? dir : "");
    fl_endpoint_post(jm->ep, run_savepoint, m, drop_savepoint_mail);
}

/* ---- life cycle ------------------------------------------------------------------- */

fl_jm *fl_jm_new(const fl_jm_deps *deps, Fl__Pb__JobGraph *g, fl_conf *job_conf, fl_err *err)
{
    fl_jm *jm = fl_xcalloc(1, sizeof *jm);
    jm->deps = *deps;
    fl_leader_term_ref(deps->term);
    jm->serial = atomic_fetch_add(&next_serial, 1) + 1;
    jm->g = g;
    jm->conf = job_conf;
    snprintf(jm->id, sizeof jm->id, "%s", g->job_id);
    char name[32];
    snprintf(name, sizeof name, "jobmaster-%.8s", g->job_id);
    jm->ep = fl_endpoint_new(name);
    if (!jm->ep) {
        fl_err_set(err, "cannot create the JobMaster thread");
        fl_leader_term_unref(deps->term);
        free(jm);
        return NULL;
    }
    struct event_base *base = fl_endpoint_base(jm->ep);
    if (fl_sched_init(&jm->s, &jm_sched_ops, jm, g, job_conf, base, err) < 0)
        goto fail;
    jm->dep.attempt = -1;
    fl_conf_foreach(job_conf, false, collect_conf, jm);
    jm->plan = fl_plan_json(g);
    jm->publish_timer = evtimer_new(base, fl_jm_on_publish_timer, jm);
    jm->savepoints = json_object();
    fl_cc_env cenv = {deps->rpc, base,    g,          job_conf,          jm,
                      cc_tasks,  cc_fail, cc_savepoint_done, cc_changed, deps->term};
    jm->cc = fl_cc_new(&cenv, err);
    if (!jm->cc)
        goto fail;
    if (deps->ha) {
        fl_ha_job_callbacks cb = {jm->ep, jm->cc, fl_cc_on_id, fl_cc_on_recorded};
        jm->hj = fl_ha_job_open(deps->ha, deps->term, jm->id, &cb);
        fl_cc_set_store(jm->cc, jm->hj);
    }
    return jm;
fail:
    fl_jm_free(jm);
    return NULL;
}

static void start_mail(void *ctx, void *arg)
{
    fl_jm *jm = ctx;
    fl_info("Job %s (%s): %d vertices, %d slots needed, restart strategy %s", jm->g->name,
            jm->id, jm->s.eg.nv, jm->s.eg.nslots_needed, fl_restart_describe(jm->s.restart));
    if (jm->g->savepoint_path && jm->g->savepoint_path[0]) {
        fl_err err;
        if (fl_cc_set_savepoint(jm->cc, jm->g->savepoint_path, jm->g->allow_non_restored,
                                &err) < 0) {
            fl_warn("Job %s (%s) cannot start: %s", jm->g->name, jm->id, err.msg);
            fl_sched_fail_to_start(&jm->s, err.msg);
            return;
        }
        const char *dir;
        jm->restore = fl_cc_restore_point(jm->cc, &dir);
        jm->restore_dir = dir;
        fl_info("Job %s (%s) starts from savepoint %s.", jm->g->name, jm->id, dir);
    }
    if (jm->recovered && fl_cc_retained(jm->cc) > 0) {
        /* a new leader: the latest retained checkpoint that reads back, as after a failure;
         * never from scratch (the sinks committed what its checkpoints hold) */
        const char *dir = NULL;
        jm->restore = fl_cc_restore_point(jm->cc, &dir);
        jm->restore_dir = dir;
        if (!jm->restore || jm->restore->savepoint) { /* none read back */
            char cause[512];
            snprintf(cause, sizeof cause,
                     "None of the %d retained checkpoints of job %s can be read (the "
                     "JobManager's log names each file and why); the job is not started "
                     "from scratch, which would repeat its committed output.",
                     fl_cc_retained(jm->cc), jm->id);
            fl_error("Job %s (%s) cannot be recovered: %s", jm->g->name, jm->id, cause);
            fl_sched_fail_to_start(&jm->s, cause);
            return;
        }
        fl_info("Job %s (%s) restores from checkpoint %lld (%s) (recovered by a new leader).",
                jm->g->name, jm->id, (long long)jm->restore->checkpoint_id, dir);
    } else if (jm->recovered) {
        fl_info("Job %s (%s) recovered by a new leader: it has no completed checkpoint, so it "
                "starts %s.", jm->g->name, jm->id,
                jm->restore ? "from its savepoint again" : "from the beginning");
    }
    fl_sched_start(&jm->s);
}

void fl_jm_recover(fl_jm *jm, const fl_ha_checkpoint *ckpts, int n, int64_t submitted_ms)
{
    jm->recovered = true;
    fl_cc_recover(jm->cc, ckpts, n);
    if (submitted_ms > 0)
        jm->s.created_ms = jm->s.state_ts[FL_JOB_CREATED] = submitted_ms;
}

static void run_resume(void *ctx, void *arg)
{
    fl_jm *jm = ctx;
    if (jm->cc)
        fl_cc_resume(jm->cc);
    if (jm->deploy_held)
        fl_jm_deploy_resume(jm);
}

void fl_jm_resume(fl_jm *jm)
{
    fl_endpoint_post(jm->ep, run_resume, NULL, NULL);
}

uint64_t fl_jm_serial(const fl_jm *jm)
{
    return jm->serial;
}

int fl_jm_start(fl_jm *jm, fl_err *err)
{
    if (fl_endpoint_start(jm->ep, jm, err) < 0)
        return -1;
    fl_endpoint_post(jm->ep, start_mail, NULL, NULL);
    return 0;
}

void fl_jm_stop(fl_jm *jm)
{
    if (jm)
        fl_endpoint_stop(jm->ep);
}

void fl_jm_free(fl_jm *jm)
{
    if (!jm)
        return;
    fl_endpoint_stop(jm->ep);
    if (jm->publish_timer)
        event_free(jm->publish_timer);
    fl_jm_deploy_free(jm);
    fl_sched_destroy(&jm->s); /* its timers, before the event base goes */
    fl_ha_job_close(jm->hj); /* no answer reaches the endpoint after this */
    fl_endpoint_free(jm->ep);
    fl_leader_term_unref(jm->deps.term);
    json_decref(jm->plan);
    json_decref(jm->last_rescale);
    json_decref(jm->savepoints);
    fl_cc_free(jm->cc);
    free(jm->cc_tasks);
    for (size_t i = 0; i < jm->nconf; i++) {
        free(jm->conf_entries[i]->key);
        free(jm->conf_entries[i]->value);
        free(jm->conf_entries[i]);
    }
    free(jm->conf_entries);
    fl_conf_free(jm->conf);
    protobuf_c_message_free_unpacked(&jm->g->base, NULL);
    free(jm);
}
