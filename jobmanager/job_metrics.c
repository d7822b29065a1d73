/* job_metrics.c -- the JobMaster's metrics of a job for REST (issue 12): per vertex, per
 * subtask its host, state and Flink's task metrics (numRecordsIn, numRecordsOutPerSecond,
 * busyTimeMsPerSecond, ...), built with each status publication (job_status.c) and handed
 * to the Dispatcher with it; rest_metrics.c answers the metric endpoints from it. JobMaster
 * thread.
 *
 * Layout: {"vertices": [{"id", "name", "parallelism", "subtasks": [{"subtask", "status",
 * "attempt", "host", "taskmanager-id", "start-time", "end-time", "duration",
 * "metrics": {Flink name: value}}]}], "numRestarts", "uptime", "downtime"}.
 */
#include "common/util.h"
#include "job_master_internal.h"

#include <stdio.h>

/* A subtask's metrics by Flink's names. A subtask that stopped moves nothing: its rates
 * are 0, as Flink's meters fall to 0. */
static json_t *subtask_metrics(const fl_vertex *vx, const fl_exec *x)
{
    const fl_subtask_metrics *sm = &x->sm;
    bool live = x->state == FL_TASK_RUNNING && sm->has_rates;
    double r[FL_TM_NCOUNTERS];
    for (int k = 0; k < FL_TM_NCOUNTERS; k++)
        r[k] = live ? sm->rate[k] : 0;
    json_t *m = json_object();
    json_object_set_new(m, "numRecordsIn", json_integer((json_int_t)sm->v[FL_TM_RIN]));
    json_object_set_new(m, "numRecordsOut", json_integer((json_int_t)sm->v[FL_TM_ROUT]));
    json_object_set_new(m, "numBytesIn", json_integer((json_int_t)sm->v[FL_TM_BIN]));
    json_object_set_new(m, "numBytesOut", json_integer((json_int_t)sm->v[FL_TM_BOUT]));
    json_object_set_new(m, "numRecordsInPerSecond", json_real(r[FL_TM_RIN]));
    json_object_set_new(m, "numRecordsOutPerSecond", json_real(r[FL_TM_ROUT]));
    json_object_set_new(m, "numBytesInPerSecond", json_real(r[FL_TM_BIN]));
    json_object_set_new(m, "numBytesOutPerSecond", json_real(r[FL_TM_BOUT]));
    json_object_set_new(m, "backPressuredTimeMsPerSecond", json_integer((json_int_t)(r[FL_TM_BP_MS] + 0.5)));
    json_object_set_new(m, "idleTimeMsPerSecond", json_integer((json_int_t)(r[FL_TM_IDLE_MS] + 0.5)));
    /* Flink's is NaN before the first measurement; JSON has no NaN: absent then */
    if (live)
        json_object_set_new(m, "busyTimeMsPerSecond",
                            json_integer((json_int_t)(r[FL_TM_BUSY_MS] + 0.5)));
    json_object_set_new(m, "accumulatedBackPressuredTimeMs", json_integer((json_int_t)sm->v[FL_TM_BP_MS]));
    json_object_set_new(m, "accumulatedIdleTimeMs", json_integer((json_int_t)sm->v[FL_TM_IDLE_MS]));
    json_object_set_new(m, "accumulatedBusyTimeMs", json_integer((json_int_t)sm->v[FL_TM_BUSY_MS]));
    json_object_set_new(m, "isBackPressured", json_boolean(live && r[FL_TM_BP_MS] > 100));
    json_object_set_new(m, "currentInputWatermark", json_integer(sm->base_ms ? sm->wm : INT64_MIN));
    json_object_set_new(m, "buffers.inPoolUsage", json_real(sm->in_pool));
    json_object_set_new(m, "buffers.outPoolUsage", json_real(sm->out_pool));
    /* operator scope, as Flink's REST names it: <operator name>.numRecordsIn (an operator
     * named as an earlier one of the chain is told apart by its position) */
    size_t nc = vx->jv->n_chain;
    for (size_t k = 0; k < nc; k++) {
        const fl_op_counts *o = &vx->ops[(size_t)x->subtask * nc + k];
        char prefix[180], name[240];
        snprintf(prefix, sizeof prefix, "%.150s", vx->jv->chain[k]->name);
        snprintf(name, sizeof name, "%s.numRecordsIn", prefix);
        if (json_object_get(m, name))
            snprintf(prefix, sizeof prefix, "%.150s[%zu]", vx->jv->chain[k]->name, k);
        const struct {
            const char *metric;
            json_t *v;
        } f[] = {{"numRecordsIn", json_integer((json_int_t)o->in)},
                 {"numRecordsOut", json_integer((json_int_t)o->out)},
                 {"numRecordsInPerSecond", json_real(live ? o->in_rate : 0)},
                 {"numRecordsOutPerSecond", json_real(live ? o->out_rate : 0)}};
        for (size_t j = 0; j < FL_ARRAY_LEN(f); j++) {
            snprintf(name, sizeof name, "%s.%s", prefix, f[j].metric);
            json_object_set_new(m, name, f[j].v);
        }
    }
    return m;
}

/* The latency markers' histograms as Flink's job-scope metrics:
 * latency.source_id.S.operator_id.V.operator_subtask_index.I.latency_{min,max,mean,p50,p95,p99}. */
static void add_latency(json_t *lat, const fl_vertex *vx, int i, const fl_subtask_metrics *sm)
{
    for (int k = 0; k < sm->nlat; k++) {
        const struct fl_subtask_latency *l = &sm->lat[k];
        const struct {
            const char *n;
            double v;
        } f[] = {{"min", l->min}, {"max", l->max}, {"mean", l->mean},
                 {"p50", l->p50}, {"p95", l->p95}, {"p99", l->p99}};
        for (size_t j = 0; j < FL_ARRAY_LEN(f); j++) {
            char name[160];
            snprintf(name, sizeof name,
                     "latency.source_id.%d.operator_id.%d.operator_subtask_index.%d.latency_%s",
                     l->source, vx->jv->id, i, f[j].n);
            json_object_set_new(lat, name, json_real(f[j].v));
        }
    }
}

json_t *fl_jm_metrics_json(const fl_jm *jm)
{
    int64_t now = fl_now_ms();
    json_t *vertices = json_array();
    json_t *lat = json_object();
    for (int vi = 0; vi < jm->s.eg.nv; vi++) {
        const fl_vertex *vx = &jm->s.eg.v[vi];
        json_t *subs = json_array();
        for (int i = 0; i < vx->jv->parallelism; i++) {
            const fl_exec *x = &vx->x[i];
            if (x->state == FL_TASK_RUNNING)
                add_latency(lat, vx, i, &x->sm);
            const fl_slot_grant *g = x->slot >= 0 && x->slot < jm->s.nslots ? &jm->s.slots[x->slot] : NULL;
            int64_t end = fl_task_state_is_terminal(x->state) ? x->end_ms : -1;
            json_array_append_new(
                subs, json_pack("{s:i, s:s, s:i, s:s, s:s, s:I, s:I, s:I, s:o}", "subtask", i,
                                "status", fl_task_state_name(x->state), "attempt", x->attempt,
                                "host", g ? g->host : "(unassigned)", "taskmanager-id",
                                g ? g->resource_id : "(unassigned)", "start-time",
                                (json_int_t)(x->start_ms ? x->start_ms : -1), "end-time",
                                (json_int_t)end, "duration",
                                (json_int_t)(x->start_ms ? (end > 0 ? end : now) - x->start_ms : -1),
                                "metrics", subtask_metrics(vx, x)));
        }
        char vid[16];
        snprintf(vid, sizeof vid, "%d", vx->jv->id);
        json_array_append_new(vertices, json_pack("{s:s, s:s, s:i, s:i, s:o}", "id", vid, "name",
                                                  vx->jv->name, "parallelism", vx->jv->parallelism,
                                                  "maxParallelism", vx->jv->max_parallelism,
                                                  "subtasks", subs));
    }
    bool running = jm->s.state == FL_JOB_RUNNING && jm->s.running_since_ms > 0;
    return json_pack("{s:o, s:i, s:I, s:I, s:o}", "vertices", vertices, "numRestarts",
                     jm->s.attempt, "uptime",
                     (json_int_t)(running ? fl_mono_ms() - jm->s.running_since_ms : 0), "now",
                     (json_int_t)now, "latency", lat);
}
