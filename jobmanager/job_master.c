/* job_master.c -- see job_master.h: the JobMaster's life cycle, job states, slots, failures,
 * restarts and cancellation, the messages of TaskExecutors and the checkpoint coordinator's
 * callbacks. The status it publishes is built in job_status.c, the task deployment
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

#define CANCEL_TIMEOUT_MS 30000

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

/* ---- job state -------------------------------------------------------------------- */

static void set_state(fl_jm *jm, int state)
{
    if (jm->state == state)
        return;
    fl_info("Job %s (%s) switched from state %s to %s.", jm->g->name, jm->id,
            fl_job_state_name(jm->state), fl_job_state_name(state));
    if (jm->state == FL_JOB_RUNNING && jm->cc)
        fl_cc_stop(jm->cc);
    jm->state = state;
    jm->state_ts[state] = fl_now_ms();
    if (state == FL_JOB_RUNNING)
        jm->running_since_ms = fl_mono_ms();
    if (fl_job_state_is_terminal(state)) {
        jm->end_ms = fl_now_ms();
        evtimer_del(jm->slot_timer);
        evtimer_del(jm->restart_timer);
        evtimer_del(jm->cancel_timer);
        fl_rm_release_slots(jm->deps.rm, jm->id);
        jm->waiting_slots = false;
    }
    fl_jm_publish(jm);
}

/* ---- slots ------------------------------------------------------------------------ */

static void on_slots_granted(void *ctx, fl_slot_grant *slots, int n);
static void on_slots_lost(void *ctx, const char *resource_id, const char *why);

static void request_slots(fl_jm *jm)
{
    jm->waiting_slots = true;
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++)
            fl_jm_set_exec_state(jm, &jm->v[vi].x[i], FL_TASK_SCHEDULED);
    fl_rm_request_slots(jm->deps.rm, jm->deps.term, jm->id, jm->nslots_needed, jm->ep,
                        on_slots_granted, on_slots_lost);
    timer_in(jm->slot_timer, fl_conf_get_duration_ms(jm->conf, "slot.request.timeout"));
}

static void on_slots_granted(void *ctx, fl_slot_grant *slots, int n)
{
    fl_jm *jm = ctx;
    if (!jm->waiting_slots || n != jm->nslots_needed) {
        free(slots);
        return;
    }
    jm->waiting_slots = false;
    evtimer_del(jm->slot_timer);
    free(jm->slots);
    jm->slots = slots;
    jm->nslots = n;
    jm->slots_lost = false;
    fl_jm_deploy_all(jm);
}

/* ---- failures, restarts, cancellation --------------------------------------------- */

void fl_jm_set_exec_state(fl_jm *jm, exec *x, int state)
{
    jm->nstate[x->state]--;
    jm->nstate[state]++;
    x->state = state;
}

static void cancel_tasks(fl_jm *jm)
{
    /* one CancelJobTasks per TaskManager */
    const int *slot_of_host;
    int nhosts = jm->nslots ? fl_jm_hosts(jm, &slot_of_host) : 0;
    for (int h = 0; h < nhosts; h++) {
        Fl__Pb__CancelJobTasks c = FL__PB__CANCEL_JOB_TASKS__INIT;
        c.job_id = jm->id;
        c.attempt = jm->attempt;
        c.leader_session_id = (char *)fl_leader_term_session(jm->deps.term);
        fl_rpc_send(jm->deps.rpc, jm->slots[slot_of_host[h]].conn, FL_RPC_CANCEL_JOB_TASKS,
                    &c.base);
    }
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++) {
            exec *x = &jm->v[vi].x[i];
            if (x->state == FL_TASK_CREATED || x->state == FL_TASK_SCHEDULED)
                fl_jm_set_exec_state(jm, x, FL_TASK_CANCELED);
            else if (!fl_task_state_is_terminal(x->state))
                fl_jm_set_exec_state(jm, x, FL_TASK_CANCELING);
        }
    timer_in(jm->cancel_timer, CANCEL_TIMEOUT_MS);
}

static bool all_terminal(const fl_jm *jm)
{
    return jm->nstate[FL_TASK_FINISHED] + jm->nstate[FL_TASK_CANCELED] +
               jm->nstate[FL_TASK_FAILED] == jm->ntasks;
}

static void restart_now(fl_jm *jm)
{
    jm->attempt++;
    /* resume from the latest completed checkpoint (or the savepoint the job started from) */
    const char *dir = NULL;
    jm->restore = fl_cc_restore_point(jm->cc, &dir);
    jm->restore_dir = dir;
    if (jm->restore)
        fl_info("Job %s (%s) restores from checkpoint %lld (%s).", jm->g->name, jm->id,
                (long long)jm->restore->checkpoint_id, dir);
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++) {
            exec *x = &jm->v[vi].x[i];
            memset(x, 0, sizeof *x);
            x->slot = jm->group_base[jm->v[vi].group] + i;
        }
    memset(jm->nstate, 0, sizeof jm->nstate);
    jm->nstate[FL_TASK_CREATED] = jm->ntasks;
    set_state(jm, FL_JOB_RUNNING);
    if (jm->slots_lost) {
        /* ask again: spare slots or new TaskManagers serve the job as soon as they exist */
        fl_rm_release_slots(jm->deps.rm, jm->id);
        request_slots(jm);
        fl_jm_publish(jm);
    } else {
        fl_jm_deploy_all(jm);
    }
}

static void on_restart_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_jm *jm = arg;
    if (jm->state == FL_JOB_RESTARTING)
        restart_now(jm);
}

/* Called whenever tasks may all have stopped. */
static void check_terminal(fl_jm *jm)
{
    if (!all_terminal(jm))
        return;
    evtimer_del(jm->cancel_timer);
    if (jm->state == FL_JOB_CANCELLING) {
        set_state(jm, jm->stopping ? FL_JOB_FINISHED : FL_JOB_CANCELED);
    } else if (jm->state == FL_JOB_FAILING) {
        int64_t delay = fl_restart_next(jm->restart, fl_mono_ms(), jm->running_since_ms);
        if (delay < 0) {
            fl_info("Job %s (%s): the restart strategy %s gives up.", jm->g->name, jm->id,
                    fl_restart_describe(jm->restart));
            set_state(jm, FL_JOB_FAILED);
        } else {
            fl_info("Job %s (%s) restarts in %lld ms (%s).", jm->g->name, jm->id,
                    (long long)delay, fl_restart_describe(jm->restart));
            set_state(jm, FL_JOB_RESTARTING);
            timer_in(jm->restart_timer, delay);
        }
    }
}

static void fail_job(fl_jm *jm, const char *cause)
{
    if (jm->state != FL_JOB_RUNNING)
        return;
    snprintf(jm->root_cause, sizeof jm->root_cause, "%s", cause);
    fl_warn("Job %s (%s) failed: %s", jm->g->name, jm->id, cause);
    set_state(jm, FL_JOB_FAILING);
    if (jm->waiting_slots) {
        jm->waiting_slots = false;
        evtimer_del(jm->slot_timer);
        fl_rm_release_slots(jm->deps.rm, jm->id);
        jm->slots_lost = true;
    }
    cancel_tasks(jm);
    check_terminal(jm);
}

void fl_jm_task_failed(fl_jm *jm, int vi, int i, const char *cause)
{
    vert *vx = &jm->v[vi];
    exec *x = &vx->x[i];
    if (fl_task_state_is_terminal(x->state))
        return;
    fl_jm_set_exec_state(jm, x, FL_TASK_FAILED);
    x->end_ms = fl_now_ms();
    char where[2400];
    const char *tm = x->slot < jm->nslots ? jm->slots[x->slot].resource_id : "?";
    snprintf(where, sizeof where, "%.1900s (from %s (%d/%d) on TaskManager %s)", cause,
             vx->jv->name, i + 1, vx->jv->parallelism, tm);
    if (jm->state == FL_JOB_RUNNING)
        fail_job(jm, where);
    else
        check_terminal(jm);
}

static void on_slot_timeout(evutil_socket_t fd, short what, void *arg)
{
    fl_jm *jm = arg;
    if (!jm->waiting_slots)
        return;
    char cause[512];
    snprintf(cause, sizeof cause,
             "NoResourceAvailableException: Could not acquire the minimum required resources: "
             "the job needs %d slots and did not get them within %lld ms "
             "(slot.request.timeout).",
             jm->nslots_needed, (long long)fl_conf_get_duration_ms(jm->conf, "slot.request.timeout"));
    fail_job(jm, cause);
}

static void on_cancel_timeout(evutil_socket_t fd, short what, void *arg)
{
    fl_jm *jm = arg;
    fl_warn("Job %s (%s): tasks did not stop within %d ms; considering them gone", jm->g->name,
            jm->id, CANCEL_TIMEOUT_MS);
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++)
            if (!fl_task_state_is_terminal(jm->v[vi].x[i].state))
                fl_jm_set_exec_state(jm, &jm->v[vi].x[i], FL_TASK_CANCELED);
    jm->slots_lost = true;
    check_terminal(jm);
}

static void on_slots_lost(void *ctx, const char *resource_id, const char *why)
{
    fl_jm *jm = ctx;
    bool ours = false;
    for (int s = 0; s < jm->nslots; s++)
        ours |= strcmp(jm->slots[s].resource_id, resource_id) == 0;
    if (!ours)
        return;
    jm->slots_lost = true;
    /* tasks there are gone with their TaskManager */
    bool failed_now = false;
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++) {
            exec *x = &jm->v[vi].x[i];
            if (x->slot >= jm->nslots || strcmp(jm->slots[x->slot].resource_id, resource_id))
                continue;
            if (fl_task_state_is_terminal(x->state))
                continue;
            if (!failed_now && jm->state == FL_JOB_RUNNING) {
                failed_now = true;
                fl_jm_task_failed(jm, vi, i, why);
            } else {
                fl_jm_set_exec_state(jm, x, x->state == FL_TASK_CANCELING ? FL_TASK_CANCELED
                                                                          : FL_TASK_FAILED);
            }
        }
    check_terminal(jm);
    fl_jm_publish_soon(jm, PUBLISH_TASKS_MS);
}

/* ---- messages from TaskExecutors -------------------------------------------------- */

static void take_metrics(exec *x, const Fl__Pb__TaskMetrics *m)
{
    if (!m)
        return;
    x->rin = m->records_in, x->rout = m->records_out, x->bin = m->bytes_in;
    x->bout = m->bytes_out, x->bp_ms = m->backpressure_ms, x->idle_ms = m->idle_ms;
    x->busy_ms = m->busy_ms;
}

static int cc_tasks(void *arg, const fl_cc_task **out);

static exec *find_exec(fl_jm *jm, int attempt, int vi, int i)
{
    if (attempt != jm->attempt || vi < 0 || vi >= jm->nv || i < 0 ||
        i >= jm->v[vi].jv->parallelism)
        return NULL;
    return &jm->v[vi].x[i];
}

/* True when msg came from the connection of the TaskManager that holds x's slot. */
static bool from_holder(const fl_jm *jm, const exec *x, const fl_rpc_msg *msg, int vi, int i)
{
    if (x->slot < jm->nslots && jm->slots[x->slot].conn == msg->conn)
        return true;
    fl_warn_every(10, "Job %s (%s): refusing %s for task %d.%d from %s: that task runs on "
                  "TaskManager %s", jm->g->name, jm->id, fl_rpc_type_name(msg->type), vi, i,
                  msg->peer, x->slot < jm->nslots ? jm->slots[x->slot].resource_id : "(none)");
    return false;
}

static void on_task_update(fl_jm *jm, const fl_rpc_msg *msg)
{
    Fl__Pb__TaskStateUpdate *u = (Fl__Pb__TaskStateUpdate *)msg->pb;
    exec *x = find_exec(jm, u->attempt, u->vertex, u->subtask);
    if (!x || u->state < 0 || u->state >= FL_TASK_NSTATES ||
        !from_holder(jm, x, msg, u->vertex, u->subtask))
        return;
    take_metrics(x, u->metrics);
    if (fl_task_state_is_terminal(x->state))
        return; /* a late report of a task we already gave up on */
    if (u->state == FL_TASK_FAILED) {
        fl_jm_task_failed(jm, u->vertex, u->subtask, u->error[0] ? u->error : "task failed");
        return;
    }
    fl_jm_set_exec_state(jm, x, u->state);
    if (fl_task_state_is_terminal(u->state))
        x->end_ms = fl_now_ms();
    if (jm->state == FL_JOB_RUNNING && u->state == FL_TASK_RUNNING &&
        jm->nstate[FL_TASK_RUNNING] + jm->nstate[FL_TASK_FINISHED] == jm->ntasks) {
        const fl_cc_task *tasks;
        if (cc_tasks(jm, &tasks) > 0)
            fl_cc_start(jm->cc); /* every task runs: checkpoints may begin */
    }
    if (jm->state == FL_JOB_RUNNING) {
        if (jm->nstate[FL_TASK_FINISHED] == jm->ntasks) {
            set_state(jm, FL_JOB_FINISHED);
            return;
        }
    } else {
        check_terminal(jm);
    }
    fl_jm_publish_soon(jm, PUBLISH_TASKS_MS);
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
            exec *x = find_exec(jm, r->attempt, r->vertex[k], r->subtask[k]);
            if (x && r->metrics[k] && from_holder(jm, x, msg, r->vertex[k], r->subtask[k]))
                take_metrics(x, r->metrics[k]);
        }
        fl_jm_publish_soon(jm, PUBLISH_EVERY_MS);
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
    switch (jm->state) {
    case FL_JOB_RUNNING:
    case FL_JOB_FAILING:
        fl_info("Cancelling job %s (%s).", jm->g->name, jm->id);
        set_state(jm, FL_JOB_CANCELLING);
        if (jm->waiting_slots) {
            jm->waiting_slots = false;
            fl_rm_release_slots(jm->deps.rm, jm->id);
        }
        cancel_tasks(jm);
        check_terminal(jm);
        break;
    case FL_JOB_RESTARTING:
    case FL_JOB_CREATED:
        set_state(jm, FL_JOB_CANCELED);
        break;
    default:
        break;
    }
}

void fl_jm_cancel(fl_jm *jm)
{
    fl_endpoint_post(jm->ep, run_cancel, NULL, NULL);
}

/* ---- checkpoint coordinator callbacks ---------------------------------------------- */

/* Every task of the attempt, when all of them run (finished ones are marked). */
static int cc_tasks(void *arg, const fl_cc_task **out)
{
    fl_jm *jm = arg;
    int n = 0;
    if (jm->state != FL_JOB_RUNNING || jm->waiting_slots)
        return 0;
    for (int vi = 0; vi < jm->nv; vi++)
        n += jm->v[vi].jv->parallelism;
    jm->cc_tasks = fl_xrealloc(jm->cc_tasks, (size_t)n * sizeof *jm->cc_tasks);
    int k = 0;
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++) {
            exec *x = &jm->v[vi].x[i];
            if (x->state != FL_TASK_RUNNING && x->state != FL_TASK_FINISHED)
                return 0;
            jm->cc_tasks[k++] = (fl_cc_task){jm->v[vi].jv->id, i, jm->slots[x->slot].conn,
                                             x->state == FL_TASK_FINISHED};
        }
    *out = jm->cc_tasks;
    return k;
}

static int cc_attempt(void *arg)
{
    return ((fl_jm *)arg)->attempt;
}

static void cc_fail(void *arg, const char *why)
{
    fail_job(arg, why);
}

static void cc_changed(void *arg)
{
    fl_jm_publish_soon(arg, PUBLISH_TASKS_MS);
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
    if (path && token == jm->stop_token && jm->state == FL_JOB_RUNNING) {
        /* stop-with-savepoint: the savepoint is taken, now end the job (FINISHED; a
         * savepoint with cancel-job: CANCELED) */
        jm->stopping = !jm->stop_cancels;
        fl_info("Stopping job %s (%s) after its savepoint %s.", jm->g->name, jm->id, path);
        set_state(jm, FL_JOB_CANCELLING);
        cancel_tasks(jm);
        check_terminal(jm);
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
    if (jm->state != FL_JOB_RUNNING)
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
    jm->nv = (int)g->n_vertices;
    jm->v = fl_xcalloc((size_t)jm->nv, sizeof *jm->v);
    for (int vi = 0; vi < jm->nv; vi++) {
        vert *vx = &jm->v[vi];
        vx->jv = g->vertices[vi];
        const char *grp = vx->jv->slot_sharing_group[0] ? vx->jv->slot_sharing_group : "default";
        int gi;
        if (strlen(grp) >= sizeof jm->groups[0]) { /* a shortened name is another group */
            fl_err_set(err, "the slot sharing group of vertex %d is longer than %zu bytes", vi,
                       sizeof jm->groups[0] - 1);
            goto fail;
        }
        for (gi = 0; gi < jm->ngroups && strcmp(jm->groups[gi], grp); gi++)
            ;
        if (gi == jm->ngroups) {
            if (gi == MAX_GROUPS) {
                fl_err_set(err, "too many slot sharing groups (at most %d)", MAX_GROUPS);
                goto fail;
            }
            snprintf(jm->groups[gi], sizeof jm->groups[gi], "%s", grp);
            jm->ngroups++;
        }
        vx->group = gi;
        if (vx->jv->parallelism > jm->group_size[gi])
            jm->group_size[gi] = vx->jv->parallelism;
        vx->x = fl_xcalloc((size_t)vx->jv->parallelism, sizeof *vx->x);
        jm->ntasks += vx->jv->parallelism;
    }
    jm->nstate[FL_TASK_CREATED] = jm->ntasks;
    jm->dep.attempt = -1;
    for (int gi = 0; gi < jm->ngroups; gi++) {
        jm->group_base[gi] = jm->nslots_needed;
        jm->nslots_needed += jm->group_size[gi];
    }
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++)
            jm->v[vi].x[i].slot = jm->group_base[jm->v[vi].group] + i;
    jm->restart = fl_restart_new(job_conf);
    fl_conf_foreach(job_conf, false, collect_conf, jm);
    jm->plan = fl_plan_json(g);
    struct event_base *base = fl_endpoint_base(jm->ep);
    jm->slot_timer = evtimer_new(base, on_slot_timeout, jm);
    jm->restart_timer = evtimer_new(base, on_restart_timer, jm);
    jm->cancel_timer = evtimer_new(base, on_cancel_timeout, jm);
    jm->publish_timer = evtimer_new(base, fl_jm_on_publish_timer, jm);
    jm->state = FL_JOB_CREATED;
    jm->created_ms = jm->state_ts[FL_JOB_CREATED] = fl_now_ms();
    jm->savepoints = json_object();
    fl_cc_env cenv = {deps->rpc, base,       g,          job_conf,         jm,
                      cc_tasks,  cc_attempt, cc_fail,    cc_savepoint_done, cc_changed,
                      deps->term};
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
            jm->id, jm->nv, jm->nslots_needed, fl_restart_describe(jm->restart));
    if (jm->g->savepoint_path && jm->g->savepoint_path[0]) {
        fl_err err;
        if (fl_cc_set_savepoint(jm->cc, jm->g->savepoint_path, jm->g->allow_non_restored,
                                &err) < 0) {
            snprintf(jm->root_cause, sizeof jm->root_cause, "%s", err.msg);
            fl_warn("Job %s (%s) cannot start: %s", jm->g->name, jm->id, err.msg);
            set_state(jm, FL_JOB_FAILED);
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
            snprintf(jm->root_cause, sizeof jm->root_cause,
                     "None of the %d retained checkpoints of job %s can be read (the "
                     "JobManager's log names each file and why); the job is not started "
                     "from scratch, which would repeat its committed output.",
                     fl_cc_retained(jm->cc), jm->id);
            fl_error("Job %s (%s) cannot be recovered: %s", jm->g->name, jm->id,
                     jm->root_cause);
            set_state(jm, FL_JOB_FAILED);
            return;
        }
        fl_info("Job %s (%s) restores from checkpoint %lld (%s) (recovered by a new leader).",
                jm->g->name, jm->id, (long long)jm->restore->checkpoint_id, dir);
    } else if (jm->recovered) {
        fl_info("Job %s (%s) recovered by a new leader: it has no completed checkpoint, so it "
                "starts %s.", jm->g->name, jm->id,
                jm->restore ? "from its savepoint again" : "from the beginning");
    }
    set_state(jm, FL_JOB_RUNNING);
    request_slots(jm);
    fl_jm_publish(jm);
}

void fl_jm_recover(fl_jm *jm, const fl_ha_checkpoint *ckpts, int n, int64_t submitted_ms)
{
    jm->recovered = true;
    fl_cc_recover(jm->cc, ckpts, n);
    if (submitted_ms > 0)
        jm->created_ms = jm->state_ts[FL_JOB_CREATED] = submitted_ms;
}

static void run_resume(void *ctx, void *arg)
{
    fl_jm *jm = ctx;
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
    if (jm->slot_timer) {
        event_free(jm->slot_timer);
        event_free(jm->restart_timer);
        event_free(jm->cancel_timer);
        event_free(jm->publish_timer);
    }
    fl_ha_job_close(jm->hj); /* no answer reaches the endpoint after this */
    fl_endpoint_free(jm->ep);
    fl_leader_term_unref(jm->deps.term);
    for (int vi = 0; vi < jm->nv; vi++)
        free(jm->v[vi].x);
    free(jm->v);
    free(jm->slots);
    fl_jm_deploy_free(jm);
    fl_restart_free(jm->restart);
    json_decref(jm->plan);
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
