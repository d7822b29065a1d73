/* job_master.c -- see job_master.h. Everything after fl_jm_start runs on the JobMaster's
 * own thread; other threads reach it through fl_jm_cancel / fl_jm_deliver (mails). */
#include "job_master.h"
#include "checkpoint_coordinator.h"
#include "job_state.h"
#include "log.h"
#include "pbarena.h"
#include "plan.h"
#include "restart.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define MAX_GROUPS 16
#define CANCEL_TIMEOUT_MS 30000
#define PUBLISH_EVERY_MS 500 /* metrics */
#define PUBLISH_TASKS_MS 20  /* task states: a burst of updates is one publication */

typedef struct exec {
    int state;
    int slot;                   /* index into jm->slots */
    uint64_t rin, rout, bin, bout, bp_ms, idle_ms, busy_ms;
    int64_t start_ms, end_ms;
} exec;

typedef struct vert {
    Fl__Pb__JobVertex *jv;
    int group;
    exec *x;
} vert;

struct fl_jm {
    fl_endpoint *ep;
    fl_jm_deps deps;
    Fl__Pb__JobGraph *g;
    fl_conf *conf;
    char id[40];
    vert *v;
    int nv;
    char groups[MAX_GROUPS][128];
    int ngroups, group_size[MAX_GROUPS], group_base[MAX_GROUPS], nslots_needed;
    fl_slot_grant *slots;
    int nslots;
    bool waiting_slots;
    bool slots_lost;            /* a TaskManager with our slots is gone: ask anew */

    int state;
    int attempt;
    fl_restart *restart;
    char root_cause[2048];
    int64_t created_ms, end_ms, running_since_ms, state_ts[FL_JOB_FAILED + 1];
    int64_t last_publish_ms;
    bool publish_pending;
    int64_t publish_due_ms;
    json_t *plan;
    struct event *slot_timer, *restart_timer, *cancel_timer, *publish_timer;
    Fl__Pb__ConfigEntry **conf_entries; /* jm->conf as deployment configuration */
    size_t nconf;
    fl_cc *cc;                          /* the checkpoint coordinator */
    fl_cc_task *cc_tasks;
    const Fl__Pb__CheckpointMetadata *restore; /* state the current attempt starts from */
    const char *restore_dir;
    json_t *savepoints;                 /* trigger id -> {status, location | failure} */
    uint64_t stop_token;                /* stop-with-savepoint in progress */
    bool stopping;                      /* cancelled after a stop: ends FINISHED */
};

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

void fl_job_status_free(fl_job_status *st)
{
    if (!st)
        return;
    json_decref(st->details);
    json_decref(st->overview);
    free(st);
}

void fl_job_status_drop(void *st)
{
    fl_job_status_free(st);
}

static void timer_in(struct event *ev, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

/* ---- status for the Dispatcher ---------------------------------------------------- */

static const char *vertex_status(const vert *vx)
{
    int c[FL_TASK_NSTATES] = {0}, n = vx->jv->parallelism;
    for (int i = 0; i < n; i++)
        c[vx->x[i].state]++;
    if (c[FL_TASK_FINISHED] == n)
        return "FINISHED";
    if (c[FL_TASK_FAILED])
        return "FAILED";
    if (c[FL_TASK_CANCELING])
        return "CANCELING";
    if (c[FL_TASK_CANCELED] == n)
        return "CANCELED";
    if (c[FL_TASK_RUNNING])
        return "RUNNING";
    if (c[FL_TASK_INITIALIZING])
        return "INITIALIZING";
    if (c[FL_TASK_DEPLOYING])
        return "DEPLOYING";
    if (c[FL_TASK_SCHEDULED])
        return "SCHEDULED";
    return "CREATED";
}

static json_t *task_counts(const int *c)
{
    json_t *o = json_object();
    for (int s = 0; s < FL_TASK_NSTATES; s++)
        json_object_set_new(o, fl_task_state_name(s), json_integer(c[s]));
    json_object_set_new(o, "RECONCILING", json_integer(0));
    return o;
}

static void publish(fl_jm *jm)
{
    int64_t now = fl_now_ms();
    int64_t start = jm->state_ts[FL_JOB_CREATED];
    int64_t end = fl_job_state_is_terminal(jm->state) ? jm->end_ms : -1;
    int total_counts[FL_TASK_NSTATES] = {0}, ntasks = 0;
    json_t *vertices = json_array();
    for (int vi = 0; vi < jm->nv; vi++) {
        vert *vx = &jm->v[vi];
        int c[FL_TASK_NSTATES] = {0};
        uint64_t rin = 0, rout = 0, bin = 0, bout = 0, bp = 0, idle = 0, busy = 0;
        int64_t vstart = -1, vend = -1;
        bool all_done = true;
        for (int i = 0; i < vx->jv->parallelism; i++) {
            exec *x = &vx->x[i];
            c[x->state]++;
            total_counts[x->state]++;
            ntasks++;
            rin += x->rin, rout += x->rout, bin += x->bin, bout += x->bout;
            bp += x->bp_ms, idle += x->idle_ms, busy += x->busy_ms;
            if (x->start_ms && (vstart < 0 || x->start_ms < vstart))
                vstart = x->start_ms;
            if (!fl_task_state_is_terminal(x->state))
                all_done = false;
            else if (x->end_ms > vend)
                vend = x->end_ms;
        }
        if (!all_done)
            vend = -1;
        json_t *metrics = json_pack(
            "{s:I, s:b, s:I, s:b, s:I, s:b, s:I, s:b, s:I, s:I, s:I}", "read-bytes", (json_int_t)bin,
            "read-bytes-complete", all_done, "write-bytes", (json_int_t)bout,
            "write-bytes-complete", all_done, "read-records", (json_int_t)rin,
            "read-records-complete", all_done, "write-records", (json_int_t)rout,
            "write-records-complete", all_done, "accumulated-backpressured-time", (json_int_t)bp,
            "accumulated-idle-time", (json_int_t)idle, "accumulated-busy-time", (json_int_t)busy);
        char vid[16];
        snprintf(vid, sizeof vid, "%d", vx->jv->id);
        json_array_append_new(
            vertices,
            json_pack("{s:s, s:s, s:i, s:i, s:s, s:I, s:I, s:I, s:o, s:o}", "id", vid, "name",
                      vx->jv->name,
                      "maxParallelism", vx->jv->max_parallelism, "parallelism",
                      vx->jv->parallelism, "status", vertex_status(vx), "start-time",
                      (json_int_t)vstart, "end-time", (json_int_t)vend, "duration",
                      (json_int_t)(vstart < 0 ? -1 : (vend < 0 ? now : vend) - vstart), "tasks",
                      task_counts(c), "metrics", metrics));
    }
    json_t *timestamps = json_object();
    for (int s = 0; s <= FL_JOB_FAILED; s++)
        json_object_set_new(timestamps, fl_job_state_name(s), json_integer(jm->state_ts[s]));
    int64_t duration = (end > 0 ? end : now) - start;
    json_t *details = json_pack(
        "{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:O, s:i}", "jid", jm->id,
        "name", jm->g->name, "isStoppable", 0, "state", fl_job_state_name(jm->state),
        "start-time", (json_int_t)start, "end-time", (json_int_t)end, "duration",
        (json_int_t)duration, "now", (json_int_t)now, "timestamps", timestamps, "vertices",
        vertices, "status-counts", task_counts(total_counts), "plan", jm->plan, "attempt",
        jm->attempt);
    if (jm->root_cause[0])
        json_object_set_new(details, "root-exception", json_string(jm->root_cause));
    json_object_set_new(details, "checkpoints", fl_cc_stats_json(jm->cc));
    json_object_set_new(details, "checkpoints-config", fl_cc_config_json(jm->cc));
    json_object_set(details, "savepoints", jm->savepoints);
    json_t *tasks = json_pack("{s:i}", "total", ntasks);
    static const char *lower[] = {"created",  "scheduled", "deploying", "initializing", "running",
                                  "finished", "canceling", "canceled",  "failed"};
    for (int s = 0; s < FL_TASK_NSTATES; s++)
        json_object_set_new(tasks, lower[s], json_integer(total_counts[s]));
    json_object_set_new(tasks, "reconciling", json_integer(0));
    json_t *overview =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:o}", "jid", jm->id, "name", jm->g->name,
                  "state", fl_job_state_name(jm->state), "start-time", (json_int_t)start,
                  "end-time", (json_int_t)end, "duration", (json_int_t)duration,
                  "last-modification", (json_int_t)now, "tasks", tasks);
    fl_job_status *st = fl_xcalloc(1, sizeof *st);
    snprintf(st->job_id, sizeof st->job_id, "%s", jm->id);
    st->state = jm->state;
    st->details = details;
    st->overview = overview;
    jm->last_publish_ms = fl_mono_ms();
    jm->publish_pending = false;
    fl_endpoint_post(jm->deps.dispatcher, jm->deps.on_status, st, fl_job_status_drop);
}

/* Publishes at most every `every` ms: PUBLISH_EVERY_MS for metric-only changes,
 * PUBLISH_TASKS_MS for task states (REST shows a restarted job RUNNING at once). */
static void publish_soon(fl_jm *jm, int every)
{
    int64_t now = fl_mono_ms(), due = jm->last_publish_ms + every;
    if (jm->publish_pending && jm->publish_due_ms <= due)
        return;
    if (due <= now) {
        publish(jm);
        return;
    }
    jm->publish_pending = true;
    jm->publish_due_ms = due;
    timer_in(jm->publish_timer, due - now);
}

static void on_publish_timer(evutil_socket_t fd, short what, void *arg)
{
    publish(arg);
}

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
    publish(jm);
}

/* ---- deployment ------------------------------------------------------------------- */

static bool is_pointwise(int partitioner)
{
    return partitioner == FL__PB__PARTITIONER__PART_FORWARD ||
           partitioner == FL__PB__PARTITIONER__PART_RESCALE;
}

/* Subpartitions of producer j of an edge with P producers and C consumers. */
static int producer_subpartitions(bool pointwise, int P, int C, int j)
{
    if (!pointwise)
        return C;
    if (P >= C)
        return 1;
    int n = 0;
    for (int i = 0; i < C; i++)
        n += (int)((int64_t)i * P / C) == j;
    return n;
}

static void partition_id(char *out, size_t len, const fl_jm *jm, int vertex, int subtask,
                         int output)
{
    snprintf(out, len, "%s/%d/%d/%d/%d", jm->id, jm->attempt, vertex, subtask, output);
}

static Fl__Pb__SubtaskLocation *location(fl_arena *a, const fl_jm *jm, int vertex, int subtask)
{
    const fl_slot_grant *s = &jm->slots[jm->v[vertex].x[subtask].slot];
    Fl__Pb__SubtaskLocation *l = fl_arena_alloc(a, sizeof *l);
    fl__pb__subtask_location__init(l);
    l->resource_id = fl_arena_str(a, s->resource_id);
    l->host = fl_arena_str(a, s->host);
    l->data_port = (uint32_t)s->data_port;
    return l;
}

static Fl__Pb__InputGateDescriptor *gate_desc(fl_arena *a, const fl_jm *jm,
                                              const Fl__Pb__VertexInput *in, int consumer,
                                              int C)
{
    const Fl__Pb__JobVertex *src = jm->g->vertices[in->source_vertex];
    const Fl__Pb__VertexOutput *o = src->outputs[in->source_output];
    int P = src->parallelism;
    bool pw = is_pointwise(o->partitioner);
    Fl__Pb__InputGateDescriptor *gd = fl_arena_alloc(a, sizeof *gd);
    fl__pb__input_gate_descriptor__init(gd);
    gd->input_index = in->input_index;
    gd->source_vertex = in->source_vertex;
    gd->source_output = in->source_output;
    gd->producer_parallelism = P;
    gd->partition_ids = fl_arena_alloc(a, (size_t)P * sizeof *gd->partition_ids);
    gd->producers = fl_arena_alloc(a, (size_t)P * sizeof *gd->producers);
    gd->subpartitions = fl_arena_alloc(a, (size_t)P * sizeof *gd->subpartitions);
    char pid[256];
    for (int j = 0; j < P; j++) {
        int sub;
        if (!pw) {
            sub = consumer;
        } else if (P >= C) {
            if ((int)((int64_t)j * C / P) != consumer)
                continue;
            sub = 0;
        } else {
            if ((int)((int64_t)consumer * P / C) != j)
                continue;
            int first = 0;
            while ((int)((int64_t)first * P / C) != j)
                first++;
            sub = consumer - first;
        }
        partition_id(pid, sizeof pid, jm, in->source_vertex, j, in->source_output);
        gd->partition_ids[gd->n_partition_ids++] = fl_arena_str(a, pid);
        gd->producers[gd->n_producers++] = location(a, jm, in->source_vertex, j);
        gd->subpartitions[gd->n_subpartitions++] = sub;
    }
    return gd;
}

static void on_deploy_reply(void *ctx, void *arg, fl_rpc_msg *reply, const char *error);
static void task_failed(fl_jm *jm, int vi, int i, const char *cause);

static void deploy(fl_jm *jm, int vi, int i)
{
    fl_arena a = {0};
    vert *vx = &jm->v[vi];
    exec *x = &vx->x[i];
    const fl_slot_grant *slot = &jm->slots[x->slot];
    Fl__Pb__TaskDeploymentDescriptor tdd = FL__PB__TASK_DEPLOYMENT_DESCRIPTOR__INIT;
    tdd.job_id = jm->id;
    tdd.job_name = jm->g->name;
    tdd.attempt = jm->attempt;
    tdd.vertex = vx->jv;
    tdd.subtask = i;
    tdd.slot_index = slot->slot_index;
    tdd.allocation_id = (char *)slot->allocation_id;
    tdd.bundle_sha256 = jm->g->bundle_sha256;
    tdd.bundle_name = jm->g->bundle_name;
    tdd.buffer_timeout_ms = jm->g->buffer_timeout_ms;
    /* the job's effective configuration: the cluster's plus its -D settings */
    tdd.n_config = jm->nconf;
    tdd.config = jm->conf_entries;
    tdd.n_gates = vx->jv->n_inputs;
    tdd.gates = fl_arena_alloc(&a, (tdd.n_gates + 1) * sizeof *tdd.gates);
    for (size_t k = 0; k < vx->jv->n_inputs; k++)
        tdd.gates[k] = gate_desc(&a, jm, vx->jv->inputs[k], i, vx->jv->parallelism);
    size_t no = vx->jv->n_outputs;
    tdd.n_output_partition_ids = tdd.n_output_consumers = no;
    tdd.output_partition_ids = fl_arena_alloc(&a, (no + 1) * sizeof(char *));
    tdd.output_consumers = fl_arena_alloc(&a, (no + 1) * sizeof(int32_t));
    char pid[256];
    for (size_t k = 0; k < no; k++) {
        const Fl__Pb__VertexOutput *o = vx->jv->outputs[k];
        partition_id(pid, sizeof pid, jm, vi, i, (int)k);
        tdd.output_partition_ids[k] = fl_arena_str(&a, pid);
        tdd.output_consumers[k] = producer_subpartitions(
            is_pointwise(o->partitioner), vx->jv->parallelism,
            jm->g->vertices[o->target_vertex]->parallelism, i);
    }
    if (jm->restore)
        tdd.restore = fl_cc_task_restore(&a, jm->restore, jm->restore_dir, vx->jv, i);
    if (tdd.restore)
        tdd.restore->failover = jm->attempt > 0;
    Fl__Pb__SubmitTask st = FL__PB__SUBMIT_TASK__INIT;
    st.tdd = &tdd;
    x->state = FL_TASK_DEPLOYING;
    x->start_ms = fl_now_ms();
    x->end_ms = 0;
    /* the reply tells which task: attempt, vertex and subtask packed into the pointer */
    uintptr_t tag = ((uintptr_t)(jm->attempt & 0xffff) << 40) | ((uintptr_t)vi << 20) | (uintptr_t)i;
    fl_rpc_call(jm->deps.rpc, slot->conn, FL_RPC_SUBMIT_TASK, &st.base,
                fl_conf_get_duration_ms(jm->conf, "rpc.ask-timeout"), jm->ep, on_deploy_reply,
                (void *)tag);
    fl_arena_free(&a);
}

static void deploy_all(fl_jm *jm)
{
    fl_info("Deploying job %s (%s), attempt %d, to %d slots", jm->g->name, jm->id, jm->attempt,
            jm->nslots);
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++)
            deploy(jm, vi, i);
    publish(jm);
}

static void on_deploy_reply(void *ctx, void *arg, fl_rpc_msg *reply, const char *error)
{
    fl_jm *jm = ctx;
    uintptr_t tag = (uintptr_t)arg;
    int attempt = (int)(tag >> 40), vi = (int)((tag >> 20) & 0xfffff), i = (int)(tag & 0xfffff);
    Fl__Pb__Ack *ack = reply ? (Fl__Pb__Ack *)reply->pb : NULL;
    if (attempt == (jm->attempt & 0xffff) && (!ack || !ack->ok)) {
        char cause[1200];
        snprintf(cause, sizeof cause, "Could not deploy the task: %s",
                 ack ? ack->error : error);
        task_failed(jm, vi, i, cause);
    }
    fl_rpc_msg_free(reply);
}

/* ---- slots ------------------------------------------------------------------------ */

static void on_slots_granted(void *ctx, fl_slot_grant *slots, int n);
static void on_slots_lost(void *ctx, const char *resource_id, const char *why);

static void request_slots(fl_jm *jm)
{
    jm->waiting_slots = true;
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++)
            jm->v[vi].x[i].state = FL_TASK_SCHEDULED;
    fl_rm_request_slots(jm->deps.rm, jm->id, jm->nslots_needed, jm->ep, on_slots_granted,
                        on_slots_lost);
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
    deploy_all(jm);
}

/* ---- failures, restarts, cancellation --------------------------------------------- */

static void cancel_tasks(fl_jm *jm)
{
    /* one CancelJobTasks per TaskManager connection */
    for (int s = 0; s < jm->nslots; s++) {
        bool seen = false;
        for (int t = 0; t < s; t++)
            seen |= jm->slots[t].conn == jm->slots[s].conn;
        if (seen)
            continue;
        Fl__Pb__CancelJobTasks c = FL__PB__CANCEL_JOB_TASKS__INIT;
        c.job_id = jm->id;
        c.attempt = jm->attempt;
        fl_rpc_send(jm->deps.rpc, jm->slots[s].conn, FL_RPC_CANCEL_JOB_TASKS, &c.base);
    }
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++) {
            exec *x = &jm->v[vi].x[i];
            if (x->state == FL_TASK_CREATED || x->state == FL_TASK_SCHEDULED)
                x->state = FL_TASK_CANCELED;
            else if (!fl_task_state_is_terminal(x->state))
                x->state = FL_TASK_CANCELING;
        }
    timer_in(jm->cancel_timer, CANCEL_TIMEOUT_MS);
}

static bool all_terminal(const fl_jm *jm)
{
    for (int vi = 0; vi < jm->nv; vi++)
        for (int i = 0; i < jm->v[vi].jv->parallelism; i++)
            if (!fl_task_state_is_terminal(jm->v[vi].x[i].state))
                return false;
    return true;
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
    set_state(jm, FL_JOB_RUNNING);
    if (jm->slots_lost) {
        /* ask again: spare slots or new TaskManagers serve the job as soon as they exist */
        fl_rm_release_slots(jm->deps.rm, jm->id);
        request_slots(jm);
        publish(jm);
    } else {
        deploy_all(jm);
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

static void task_failed(fl_jm *jm, int vi, int i, const char *cause)
{
    vert *vx = &jm->v[vi];
    exec *x = &vx->x[i];
    if (fl_task_state_is_terminal(x->state))
        return;
    x->state = FL_TASK_FAILED;
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
                jm->v[vi].x[i].state = FL_TASK_CANCELED;
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
                task_failed(jm, vi, i, why);
            } else {
                x->state = x->state == FL_TASK_CANCELING ? FL_TASK_CANCELED : FL_TASK_FAILED;
            }
        }
    check_terminal(jm);
    publish_soon(jm, PUBLISH_TASKS_MS);
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

static void on_task_update(fl_jm *jm, Fl__Pb__TaskStateUpdate *u)
{
    exec *x = find_exec(jm, u->attempt, u->vertex, u->subtask);
    if (!x || u->state < 0 || u->state >= FL_TASK_NSTATES)
        return;
    take_metrics(x, u->metrics);
    if (fl_task_state_is_terminal(x->state))
        return; /* a late report of a task we already gave up on */
    if (u->state == FL_TASK_FAILED) {
        task_failed(jm, u->vertex, u->subtask, u->error[0] ? u->error : "task failed");
        return;
    }
    x->state = u->state;
    if (fl_task_state_is_terminal(u->state))
        x->end_ms = fl_now_ms();
    if (jm->state == FL_JOB_RUNNING && u->state == FL_TASK_RUNNING) {
        const fl_cc_task *tasks;
        if (cc_tasks(jm, &tasks) > 0)
            fl_cc_start(jm->cc); /* every task runs: checkpoints may begin */
    }
    if (jm->state == FL_JOB_RUNNING) {
        bool done = true;
        for (int vi = 0; vi < jm->nv && done; vi++)
            for (int i = 0; i < jm->v[vi].jv->parallelism; i++)
                if (jm->v[vi].x[i].state != FL_TASK_FINISHED) {
                    done = false;
                    break;
                }
        if (done) {
            set_state(jm, FL_JOB_FINISHED);
            return;
        }
    } else {
        check_terminal(jm);
    }
    publish_soon(jm, PUBLISH_TASKS_MS);
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
        on_task_update(jm, (Fl__Pb__TaskStateUpdate *)msg->pb);
    } else if (msg->type == FL_RPC_TASK_METRICS_REPORT) {
        Fl__Pb__TaskMetricsReport *r = (Fl__Pb__TaskMetricsReport *)msg->pb;
        size_t n = FL_MIN(r->n_vertex, FL_MIN(r->n_subtask, r->n_metrics));
        for (size_t k = 0; k < n; k++) {
            exec *x = find_exec(jm, r->attempt, r->vertex[k], r->subtask[k]);
            if (x)
                take_metrics(x, r->metrics[k]);
        }
        publish_soon(jm, PUBLISH_EVERY_MS);
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
    publish_soon(arg, PUBLISH_TASKS_MS);
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
        /* stop-with-savepoint: the savepoint is taken, now end the job (FINISHED) */
        jm->stopping = true;
        fl_info("Stopping job %s (%s) after its savepoint %s.", jm->g->name, jm->id, path);
        set_state(jm, FL_JOB_CANCELLING);
        cancel_tasks(jm);
        check_terminal(jm);
    }
    publish(jm);
}

typedef struct savepoint_mail {
    uint64_t token;
    bool stop;
    char dir[1024];
} savepoint_mail;

static void run_savepoint(void *ctx, void *arg)
{
    fl_jm *jm = ctx;
    savepoint_mail *m = arg;
    char key[32];
    snprintf(key, sizeof key, "%016llx", (unsigned long long)m->token);
    json_object_set_new(jm->savepoints, key,
                        json_pack("{s:{s:s}}", "status", "id", "IN_PROGRESS"));
    if (m->stop)
        jm->stop_token = m->token;
    if (jm->state != FL_JOB_RUNNING)
        cc_savepoint_done(jm, m->token, NULL, "the job is not running");
    else
        fl_cc_trigger_savepoint(jm->cc, m->dir, m->token);
    free(m);
}

void fl_jm_trigger_savepoint(fl_jm *jm, const char *dir, uint64_t token, bool stop)
{
    savepoint_mail *m = fl_xcalloc(1, sizeof *m);
    m->token = token;
    m->stop = stop;
    snprintf(m->dir, sizeof m->dir, "%s", dir ? dir : "");
    fl_endpoint_post(jm->ep, run_savepoint, m, free);
}

/* ---- life cycle ------------------------------------------------------------------- */

fl_jm *fl_jm_new(const fl_jm_deps *deps, Fl__Pb__JobGraph *g, fl_conf *job_conf, fl_err *err)
{
    fl_jm *jm = fl_xcalloc(1, sizeof *jm);
    jm->deps = *deps;
    jm->g = g;
    jm->conf = job_conf;
    snprintf(jm->id, sizeof jm->id, "%s", g->job_id);
    char name[32];
    snprintf(name, sizeof name, "jobmaster-%.8s", g->job_id);
    jm->ep = fl_endpoint_new(name);
    if (!jm->ep) {
        fl_err_set(err, "cannot create the JobMaster thread");
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
    }
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
    jm->publish_timer = evtimer_new(base, on_publish_timer, jm);
    jm->state = FL_JOB_CREATED;
    jm->created_ms = jm->state_ts[FL_JOB_CREATED] = fl_now_ms();
    jm->savepoints = json_object();
    fl_cc_env cenv = {deps->rpc, base, g, job_conf, jm, cc_tasks, cc_attempt, cc_fail,
                      cc_savepoint_done, cc_changed};
    jm->cc = fl_cc_new(&cenv, err);
    if (!jm->cc)
        goto fail;
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
    set_state(jm, FL_JOB_RUNNING);
    request_slots(jm);
    publish(jm);
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
    fl_endpoint_free(jm->ep);
    for (int vi = 0; vi < jm->nv; vi++)
        free(jm->v[vi].x);
    free(jm->v);
    free(jm->slots);
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
