/* job_status.c -- the JobMaster's status for the Dispatcher: the bodies of GET /jobs/:id and
 * its entry in GET /jobs/overview (vertices, task counts, metrics, checkpoints, savepoints),
 * built from the ExecutionGraph and handed to the Dispatcher as an fl_job_status. job_master.c
 * publishes after each state change, at most every FL_JM_PUBLISH_TASKS_MS for task states and
 * FL_JM_PUBLISH_EVERY_MS for metrics. Runs on the JobMaster's thread; the status it posts is the
 * Dispatcher's.
 */
#include "checkpoint_stats.h"
#include "common/util.h"
#include "job_master_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_job_status_free(fl_job_status *st)
{
    if (!st)
        return;
    json_decref(st->details);
    json_decref(st->overview);
    json_decref(st->metrics);
    fl_ckpt_view_free(st->ckpt_view);
    free(st);
}

void fl_job_status_drop(void *st)
{
    fl_job_status_free(st);
}

/* ---- status for the Dispatcher ---------------------------------------------------- */

static const char *vertex_status(const fl_vertex *vx)
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

void fl_jm_publish(fl_jm *jm)
{
    int64_t t0 = fl_mono_ms();
    int64_t now = fl_now_ms();
    int64_t start = jm->s.state_ts[FL_JOB_CREATED];
    int64_t end = fl_job_state_is_terminal(jm->s.state) ? jm->s.end_ms : -1;
    int total_counts[FL_TASK_NSTATES] = {0}, ntasks = 0;
    json_t *vertices = json_array();
    for (int vi = 0; vi < jm->s.eg.nv; vi++) {
        fl_vertex *vx = &jm->s.eg.v[vi];
        int c[FL_TASK_NSTATES] = {0};
        uint64_t rin = 0, rout = 0, bin = 0, bout = 0, bp = 0, idle = 0, busy = 0;
        int64_t vstart = -1, vend = -1;
        bool all_done = true;
        json_t *attempts = json_array(); /* Flink's subtasks[].attempt of the vertex */
        for (int i = 0; i < vx->jv->parallelism; i++) {
            fl_exec *x = &vx->x[i];
            json_array_append_new(attempts, json_integer(x->attempt));
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
        json_object_set_new(json_array_get(vertices, json_array_size(vertices) - 1),
                            "subtask-attempts", attempts);
    }
    json_t *timestamps = json_object();
    for (int s = 0; s <= FL_JOB_FAILED; s++)
        json_object_set_new(timestamps, fl_job_state_name(s), json_integer(jm->s.state_ts[s]));
    int64_t duration = (end > 0 ? end : now) - start;
    json_t *details = json_pack(
        "{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:O, s:i}", "jid", jm->id,
        "name", jm->g->name, "isStoppable", 0, "state", fl_job_state_name(jm->s.state),
        "start-time", (json_int_t)start, "end-time", (json_int_t)end, "duration",
        (json_int_t)duration, "now", (json_int_t)now, "timestamps", timestamps, "vertices",
        vertices, "status-counts", task_counts(total_counts), "plan", jm->plan, "attempt",
        jm->s.attempt);
    json_object_set_new(details, "failover-strategy", json_string(jm->s.failover_strategy));
    json_object_set_new(details, "regions", json_integer(jm->s.eg.nregions));
    json_object_set_new(details, "region-restarts", json_integer(jm->s.region_restarts));
    if (jm->last_rescale)
        json_object_set(details, "last-rescale", jm->last_rescale);
    if (jm->s.root_cause[0])
        json_object_set_new(details, "root-exception", json_string(jm->s.root_cause));
    json_object_set_new(details, "exceptionHistory", fl_exc_history_json(&jm->s.hist));
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
                  "state", fl_job_state_name(jm->s.state), "start-time", (json_int_t)start,
                  "end-time", (json_int_t)end, "duration", (json_int_t)duration,
                  "last-modification", (json_int_t)now, "tasks", tasks);
    fl_job_status *st = fl_xcalloc(1, sizeof *st);
    snprintf(st->job_id, sizeof st->job_id, "%s", jm->id);
    st->state = jm->s.state;
    st->serial = jm->serial;
    st->details = details;
    st->overview = overview;
    st->metrics = fl_jm_metrics_json(jm);
    st->ckpt_view = fl_cc_view(jm->cc);
    jm->last_publish_ms = fl_mono_ms();
    jm->publish_cost_ms = jm->last_publish_ms - t0;
    jm->publish_pending = false;
    fl_endpoint_post(jm->deps.dispatcher, jm->deps.on_status, st, fl_job_status_drop);
}

/* Publishes at most every `every` ms: FL_JM_PUBLISH_EVERY_MS for metric-only changes,
 * FL_JM_PUBLISH_TASKS_MS for task states (REST shows a restarted job RUNNING at once). */
void fl_jm_publish_soon(fl_jm *jm, int every)
{
    /* A publication is O(subtasks): at 20,000 of them it takes 100s of ms, and one every
     * 20 ms during a deployment storm left the job master no time to deploy (10,000 x
     * 10,000 took 24 minutes instead of seconds). Publishing takes at most a tenth of the
     * thread's time, whatever the job's size. */
    int64_t gap = FL_MAX((int64_t)every, 10 * jm->publish_cost_ms);
    int64_t now = fl_mono_ms(), due = jm->last_publish_ms + gap;
    if (jm->publish_pending && jm->publish_due_ms <= due)
        return;
    if (due <= now) {
        fl_jm_publish(jm);
        return;
    }
    jm->publish_pending = true;
    jm->publish_due_ms = due;
    fl_sched_timer_in(jm->publish_timer, due - now);
}

void fl_jm_on_publish_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_jm_publish(arg);
}
