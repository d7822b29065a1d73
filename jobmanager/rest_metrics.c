/* rest_metrics.c -- Flink's monitoring REST endpoints (issue 12) and the JobManager's
 * Prometheus reporter. Dispatcher thread only.
 *
 * The numbers come from what the Dispatcher already holds: each job's metrics as its
 * JobMaster last published them (job_metrics.c: per subtask, from the TaskManagers' reports
 * every metrics.report-interval) and its checkpoint statistics, and the ResourceManager's
 * cluster view (TaskManager processes, from their heartbeats). Nothing here reaches a task:
 * a request costs the record path nothing.
 *
 *   GET /jobs/:jobid/vertices/:vertexid                    subtasks: host, status, metrics
 *   GET /jobs/:jobid/vertices/:vertexid/metrics[?get=]     "<subtask>.<name>"
 *   GET /jobs/:jobid/vertices/:vertexid/subtasks/metrics[?get=&agg=&subtasks=]  aggregated
 *   GET /jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/metrics[?get=]
 *   GET /jobs/:jobid/vertices/:vertexid/backpressure       levels and ratios
 *   GET /jobs/:jobid/metrics[?get=]                        restarts, uptime, checkpoints
 *   GET /taskmanagers/:taskmanagerid/metrics[?get=]        CPU, memory, network buffers
 *   GET /jobmanager/metrics[?get=]                         task managers, slots, process
 *   GET /jobs/:jobid/plan                                  the job graph
 *
 * A metrics list without ?get= is [{"id": name}]; with ?get=a,b it is [{"id", "value"}] of
 * the names that exist, values as strings, as Flink's MetricCollectionResponseBody.
 */
#include "common/job_state.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/util.h"
#include "dispatcher_internal.h"
#include "resource_manager.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

/* Flink's thresholds of backPressuredTimeMsPerSecond / 1000 */
#define BP_LOW 0.10
#define BP_HIGH 0.50

/* ---- metric sets: a JSON object, name -> number ----------------------------------------- */

static void value_str(const json_t *v, char *buf, size_t n)
{
    if (json_is_boolean(v)) {
        snprintf(buf, n, "%s", json_is_true(v) ? "true" : "false");
        return;
    }
    if (json_is_integer(v)) {
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        return;
    }
    double d = json_number_value(v);
    if (isnan(d))
        snprintf(buf, n, "NaN");
    else if (d == floor(d) && fabs(d) < 1e15)
        snprintf(buf, n, "%.1f", d); /* Java's Double.toString: "12.0" */
    else /* the shortest form that reads back as d, as Java's */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, n, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
}

/* Answers set (taken over) as Flink's metric list. */
static void reply_metrics(struct evhttp_request *req, const fl_rest_params *p, json_t *set)
{
    json_t *arr = json_array();
    const char *get = fl_rest_query(p, "get");
    const char *name;
    json_t *v;
    if (!get) {
        json_object_foreach(set, name, v)
            json_array_append_new(arr, json_pack("{s:s}", "id", name));
    } else {
        /* the router bounds the query's length, so the list is bounded too */
        char *list = fl_xstrdup(get), *save = NULL;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char val[64];
            if (!(v = json_object_get(set, t)))
                continue; /* as Flink: unknown names are left out */
            value_str(v, val, sizeof val);
            json_array_append_new(arr, json_pack("{s:s, s:s}", "id", t, "value", val));
        }
        free(list);
    }
    json_decref(set);
    fl_rest_reply_json(req, 200, arr);
}

/* The vertex of :vertexid in j's metrics, or NULL having answered 404. */
static json_t *vertex_param(fl_dispatcher *d, struct evhttp_request *req,
                            const fl_rest_params *p, job_entry **jp)
{
    job_entry *j = fl_disp_job_param(d, req, p);
    if (!j)
        return NULL;
    const char *vid = fl_rest_param(p, "vertexid");
    json_t *vs = json_object_get(j->metrics, "vertices"), *vx;
    size_t i;
    json_array_foreach(vs, i, vx)
        if (strcmp(json_string_value(json_object_get(vx, "id")), vid) == 0) {
            if (jp)
                *jp = j;
            return vx;
        }
    fl_rest_error(req, 404, "Vertex %s not found in job %s.", vid, j->id);
    return NULL;
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

/* ---- vertices -------------------------------------------------------------------------- */

static void get_vertex(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j;
    json_t *vx = vertex_param(ctx, req, p, &j);
    if (!vx)
        return;
    json_t *subs = json_array(), *s;
    size_t i;
    json_array_foreach(json_object_get(vx, "subtasks"), i, s)
    {
        const json_t *m = json_object_get(s, "metrics");
        json_t *io = json_pack(
            "{s:I, s:b, s:I, s:b, s:I, s:b, s:I, s:b, s:I, s:I, s:I}", "read-bytes",
            (json_int_t)num(m, "numBytesIn"), "read-bytes-complete", 1, "write-bytes",
            (json_int_t)num(m, "numBytesOut"), "write-bytes-complete", 1, "read-records",
            (json_int_t)num(m, "numRecordsIn"), "read-records-complete", 1, "write-records",
            (json_int_t)num(m, "numRecordsOut"), "write-records-complete", 1,
            "accumulated-backpressured-time", (json_int_t)num(m, "accumulatedBackPressuredTimeMs"),
            "accumulated-idle-time", (json_int_t)num(m, "accumulatedIdleTimeMs"),
            "accumulated-busy-time", (json_int_t)num(m, "accumulatedBusyTimeMs"));
        json_t *o = json_deep_copy(s);
        json_object_set_new(o, "metrics", io);
        json_array_append_new(subs, o);
    }
    fl_rest_reply_json(req, 200,
                       json_pack("{s:O, s:O, s:O, s:O, s:I, s:o}", "id",
                                 json_object_get(vx, "id"), "name", json_object_get(vx, "name"),
                                 "parallelism", json_object_get(vx, "parallelism"),
                                 "maxParallelism", json_object_get(vx, "maxParallelism"), "now",
                                 (json_int_t)fl_now_ms(), "subtasks", subs));
}

static void get_vertex_metrics(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    json_t *vx = vertex_param(ctx, req, p, NULL);
    if (!vx)
        return;
    json_t *set = json_object(), *s, *v;
    size_t i;
    const char *name;
    json_array_foreach(json_object_get(vx, "subtasks"), i, s)
    {
        json_object_foreach(json_object_get(s, "metrics"), name, v)
        {
            char id[128];
            snprintf(id, sizeof id, "%zu.%s", i, name);
            json_object_set(set, id, v);
        }
    }
    reply_metrics(req, p, set);
}

static void get_subtask_metrics(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    json_t *vx = vertex_param(ctx, req, p, NULL);
    if (!vx)
        return;
    const char *idx = fl_rest_param(p, "subtaskindex");
    char *end;
    long k = strtol(idx, &end, 10);
    json_t *subs = json_object_get(vx, "subtasks");
    if (*end || end == idx || k < 0 || (size_t)k >= json_array_size(subs)) {
        fl_rest_error(req, 404, "Subtask %s not found in vertex %s (parallelism %zu).", idx,
                      fl_rest_param(p, "vertexid"), json_array_size(subs));
        return;
    }
    reply_metrics(req, p, json_copy(json_object_get(json_array_get(subs, (size_t)k), "metrics")));
}

/* Flink's AggregatedSubtaskMetricsHandler: per name min, max, avg, sum over the subtasks
 * (?subtasks=0,2 picks some; ?agg=min,sum some aggregates). */
static void get_subtasks_metrics(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    json_t *vx = vertex_param(ctx, req, p, NULL);
    if (!vx)
        return;
    json_t *subs = json_object_get(vx, "subtasks");
    size_t n = json_array_size(subs);
    bool *pick = fl_xcalloc(n + 1, sizeof *pick);
    const char *only = fl_rest_query(p, "subtasks"), *agg = fl_rest_query(p, "agg");
    for (size_t i = 0; i < n; i++)
        pick[i] = only == NULL;
    if (only) {
        char *list = fl_xstrdup(only), *save = NULL, *end;
        for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            long k = strtol(t, &end, 10);
            if (!*end && end != t && k >= 0 && (size_t)k < n)
                pick[k] = true;
        }
        free(list);
    }
    static const char *aggs[] = {"min", "max", "avg", "sum"};
    bool want[4];
    for (int a = 0; a < 4; a++)
        want[a] = !agg || strstr(agg, aggs[a]) != NULL;
    const char *get = fl_rest_query(p, "get");
    json_t *arr = json_array(), *v;
    const char *name;
    json_object_foreach(json_object_get(json_array_get(subs, 0), "metrics"), name, v)
    {
        if (get) { /* a whole name of the comma list */
            size_t len = strlen(name);
            const char *at = get;
            bool found = false;
            while ((at = strstr(at, name)) != NULL && !found) {
                found = (at == get || at[-1] == ',') && (at[len] == ',' || !at[len]);
                at++;
            }
            if (!found)
                continue;
        }
        double mn = INFINITY, mx = -INFINITY, sum = 0;
        int cnt = 0;
        for (size_t i = 0; i < n; i++) {
            const json_t *xv =
                json_object_get(json_object_get(json_array_get(subs, i), "metrics"), name);
            if (!pick[i] || !json_is_number(xv)) /* not measured yet there */
                continue;
            double x = json_number_value(xv);
            mn = x < mn ? x : mn, mx = x > mx ? x : mx, sum += x, cnt++;
        }
        json_t *o = json_pack("{s:s}", "id", name);
        double vals[4] = {cnt ? mn : 0, cnt ? mx : 0, cnt ? sum / cnt : 0, sum};
        for (int a = 0; a < 4; a++)
            if (want[a])
                json_object_set_new(o, aggs[a], json_real(vals[a]));
        json_array_append_new(arr, o);
    }
    free(pick);
    fl_rest_reply_json(req, 200, arr);
}

static const char *bp_level(double ratio)
{
    return ratio > BP_HIGH ? "high" : ratio > BP_LOW ? "low" : "ok";
}

/* Flink's JobVertexBackPressureHandler (since 1.13: from the tasks' time metrics, no
 * stack sampling): per subtask backPressuredTimeMsPerSecond / 1000 as its ratio. */
static void get_backpressure(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j;
    json_t *vx = vertex_param(ctx, req, p, &j);
    if (!vx)
        return;
    json_t *subs = json_array(), *s;
    size_t i;
    double worst = 0;
    bool measured = false;
    json_array_foreach(json_object_get(vx, "subtasks"), i, s)
    {
        const json_t *m = json_object_get(s, "metrics");
        double bp = num(m, "backPressuredTimeMsPerSecond") / 1000;
        double idle = num(m, "idleTimeMsPerSecond") / 1000;
        double busy = num(m, "busyTimeMsPerSecond") / 1000;
        measured |= json_object_get(m, "busyTimeMsPerSecond") != NULL; /* absent before */
        worst = bp > worst ? bp : worst;
        json_array_append_new(
            subs, json_pack("{s:I, s:O, s:s, s:f, s:f, s:f}", "subtask", (json_int_t)i,
                            "attempt-number", json_object_get(s, "attempt"), "backpressureLevel",
                            bp_level(bp), "ratio", bp, "idleRatio", idle, "busyRatio", busy));
    }
    /* "deprecated" is Flink's word for "no statistics yet" */
    fl_rest_reply_json(req, 200,
                       json_pack("{s:s, s:s, s:I, s:o}", "status", measured ? "ok" : "deprecated",
                                 "backpressureLevel", bp_level(worst), "end-timestamp",
                                 (json_int_t)fl_now_ms(), "subtasks", subs));
}

/* ---- jobs, TaskManagers, the JobManager ------------------------------------------------- */

static json_t *job_metric_set(const job_entry *j)
{
    json_t *set = json_object();
    const json_t *m = j->metrics;
    double uptime = num(m, "uptime");
    if (uptime > 0) /* published a moment ago: add the moment */
        uptime += (double)(fl_now_ms() - (int64_t)num(m, "now"));
    json_object_set_new(set, "numRestarts", json_integer((json_int_t)num(m, "numRestarts")));
    json_object_set_new(set, "fullRestarts", json_integer((json_int_t)num(m, "numRestarts")));
    json_object_set_new(set, "uptime", json_integer((json_int_t)uptime));
    json_object_set_new(set, "downtime", json_integer(0));
    const json_t *ck = json_object_get(j->details, "checkpoints");
    const json_t *counts = json_object_get(ck, "counts");
    const json_t *last = json_object_get(json_object_get(ck, "latest"), "completed");
    const json_t *restored = json_object_get(json_object_get(ck, "latest"), "restored");
    json_object_set_new(set, "numberOfCompletedCheckpoints",
                        json_integer((json_int_t)num(counts, "completed")));
    json_object_set_new(set, "numberOfFailedCheckpoints",
                        json_integer((json_int_t)num(counts, "failed")));
    json_object_set_new(set, "numberOfInProgressCheckpoints",
                        json_integer((json_int_t)num(counts, "in_progress")));
    json_object_set_new(set, "totalNumberOfCheckpoints",
                        json_integer((json_int_t)num(counts, "total")));
    json_object_set_new(set, "lastCheckpointDuration",
                        json_integer(last ? (json_int_t)num(last, "end_to_end_duration") : -1));
    json_object_set_new(set, "lastCheckpointSize",
                        json_integer(last ? (json_int_t)num(last, "state_size") : -1));
    json_object_set_new(set, "lastCheckpointRestoreTimestamp",
                        json_integer(restored ? (json_int_t)num(restored, "restore_timestamp")
                                              : -1));
    /* latency markers' histograms (metrics.latency.interval), job scope as in Flink */
    json_object_update(set, json_object_get(m, "latency"));
    return set;
}

static void get_job_metrics(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    if (j)
        reply_metrics(req, p, job_metric_set(j));
}

/* A process's metrics by Flink's names: the JVM's where Flink's dashboard reads them
 * (Status.JVM.CPU.*), the process's own otherwise. */
static void set_process(json_t *set, const fl_proc_stats *ps, double cpu_load)
{
    json_object_set_new(set, "Status.JVM.CPU.Load", json_real(cpu_load));
    json_object_set_new(set, "Status.JVM.CPU.Time", json_integer((json_int_t)ps->cpu_time_ms));
    json_object_set_new(set, "Status.JVM.Threads.Count", json_integer(ps->threads));
    json_object_set_new(set, "Status.Process.Memory.RSS", json_integer((json_int_t)ps->rss_bytes));
    json_object_set_new(set, "Status.Process.Memory.Virtual",
                        json_integer((json_int_t)ps->vm_bytes));
    json_object_set_new(set, "Status.Process.CPU.Cores", json_integer(ps->cpu_cores));
}

static json_t *tm_metric_set(const fl_tm_view *t)
{
    json_t *set = json_object();
    const fl_tm_process *pr = &t->proc;
    fl_proc_stats ps = {pr->cpu_time_ms, pr->rss_bytes, pr->vm_bytes, pr->threads, pr->cores};
    set_process(set, &ps, pr->cpu_load);
    json_object_set_new(set, "Status.Shuffle.Netty.TotalMemorySegments",
                        json_integer(pr->net_total));
    json_object_set_new(set, "Status.Shuffle.Netty.AvailableMemorySegments",
                        json_integer(pr->net_available));
    json_object_set_new(set, "Status.Shuffle.Netty.UsedMemorySegments",
                        json_integer(pr->net_total - pr->net_available));
    json_object_set_new(set, "Status.Shuffle.Netty.TotalMemory",
                        json_integer(pr->net_total * (json_int_t)pr->segment_bytes));
    json_object_set_new(set, "Status.Shuffle.Netty.AvailableMemory",
                        json_integer(pr->net_available * (json_int_t)pr->segment_bytes));
    return set;
}

static void get_tm_metrics(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    fl_dispatcher *d = ctx;
    const char *id = fl_rest_param(p, "taskmanagerid");
    for (int i = 0; d->view && i < d->view->n; i++)
        if (strcmp(d->view->tms[i].resource_id, id) == 0) {
            reply_metrics(req, p, tm_metric_set(&d->view->tms[i]));
            return;
        }
    fl_rest_error(req, 404, "TaskManager %s does not exist.", id);
}

/* The JobManager's own process: CPU load between two looks at least 500 ms apart. */
static double jm_cpu_load(fl_dispatcher *d, const fl_proc_stats *ps)
{
    int64_t now = fl_mono_ms();
    if (d->cpu.at_ms && now - d->cpu.at_ms >= 500 && ps->cpu_time_ms >= d->cpu.cpu_ms)
        d->cpu.load = (double)(ps->cpu_time_ms - d->cpu.cpu_ms) / (double)(now - d->cpu.at_ms) /
                      ps->cpu_cores;
    if (!d->cpu.at_ms || now - d->cpu.at_ms >= 500)
        d->cpu.at_ms = now, d->cpu.cpu_ms = ps->cpu_time_ms;
    return d->cpu.load > 1 ? 1 : d->cpu.load;
}

static json_t *jm_metric_set(fl_dispatcher *d)
{
    json_t *set = json_object();
    int total = 0, avail = 0, running = 0;
    for (int i = 0; d->view && i < d->view->n; i++)
        total += d->view->tms[i].slots_total, avail += d->view->tms[i].slots_free;
    for (job_entry *j = d->jobs; j; j = j->next)
        running += j->state == FL_JOB_RUNNING;
    json_object_set_new(set, "numRegisteredTaskManagers", json_integer(d->view ? d->view->n : 0));
    json_object_set_new(set, "numRunningJobs", json_integer(running));
    json_object_set_new(set, "taskSlotsTotal", json_integer(total));
    json_object_set_new(set, "taskSlotsAvailable", json_integer(avail));
    fl_proc_stats ps;
    fl_proc_stats_read(&ps);
    set_process(set, &ps, jm_cpu_load(d, &ps));
    return set;
}

static void get_jm_metrics(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    reply_metrics(req, p, jm_metric_set(ctx));
}

/* ---- Prometheus ------------------------------------------------------------------------- */

/* Every name of set as a gauge "prefix_Name" (dots become underscores, as Flink's reporter
 * does), with the labels given. */
static void prom_set(struct evbuffer *out, const char *prefix, json_t *set, const char *k1,
                     const char *v1, const char *k2, const char *v2)
{
    const char *name;
    json_t *v;
    json_object_foreach(set, name, v)
    {
        char full[192];
        snprintf(full, sizeof full, "%s_%s", prefix, name);
        for (char *c = full; *c; c++)
            if (*c == '.')
                *c = '_';
        fl_prom_family(out, full, "gauge");
        fl_prom_sample(out, full, json_number_value(v), k1, v1, k2, v2, NULL);
    }
}

static void prom_fill(void *ctx, struct evbuffer *out)
{
    fl_dispatcher *d = ctx;
    const char *host = fl_conf_get_str(d->conf, "jobmanager.rpc.address");
    json_t *set = jm_metric_set(d);
    prom_set(out, "flint_jobmanager", set, "host", host, NULL, NULL);
    json_decref(set);
    /* a family's samples must be together: job metrics name by name, the jobs inside */
    json_t *per_job = json_array();
    for (job_entry *j = d->jobs; j; j = j->next)
        if (j->metrics && !fl_job_state_is_terminal(j->state))
            json_array_append_new(per_job, job_metric_set(j));
    json_t *first = json_array_get(per_job, 0), *v;
    const char *name;
    json_object_foreach(first, name, v)
    {
        char full[192];
        snprintf(full, sizeof full, "flint_jobmanager_job_%s", name);
        fl_prom_family(out, full, "gauge");
        size_t i = 0;
        for (job_entry *j = d->jobs; j; j = j->next) {
            if (!j->metrics || fl_job_state_is_terminal(j->state))
                continue;
            const json_t *details = j->details;
            fl_prom_sample(out, full, num(json_array_get(per_job, i++), name), "host", host,
                           "job_id", j->id, "job_name",
                           json_string_value(json_object_get(details, "name")), NULL);
        }
    }
    json_decref(per_job);
}

int fl_disp_prom_start(fl_dispatcher *d, fl_err *err)
{
    return fl_prom_reporter_start(fl_endpoint_base(d->ep), d->conf,
                                  fl_conf_get_str(d->conf, "jobmanager.bind-host"), prom_fill, d,
                                  &d->prom, err);
}

/* Flink's GET /jobs/:jobid/plan: {"plan": the job graph's nodes and edges} */
static void get_plan(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    if (j)
        fl_rest_reply_json(req, 200, json_pack("{s:O}", "plan", json_object_get(j->details, "plan")));
}

void fl_disp_metrics_routes(fl_dispatcher *d)
{
    fl_rest *r = d->rest;
    fl_rest_route(r, "GET", "/jobs/:jobid/plan", get_plan);
    fl_rest_route(r, "GET", "/jobs/:jobid/metrics", get_job_metrics);
    fl_rest_route(r, "GET", "/jobs/:jobid/vertices/:vertexid", get_vertex);
    fl_rest_route(r, "GET", "/jobs/:jobid/vertices/:vertexid/metrics", get_vertex_metrics);
    fl_rest_route(r, "GET", "/jobs/:jobid/vertices/:vertexid/backpressure", get_backpressure);
    fl_rest_route(r, "GET", "/jobs/:jobid/vertices/:vertexid/subtasks/metrics",
                  get_subtasks_metrics);
    fl_rest_route(r, "GET", "/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/metrics",
                  get_subtask_metrics);
    fl_rest_route(r, "GET", "/taskmanagers/:taskmanagerid/metrics", get_tm_metrics);
    fl_rest_route(r, "GET", "/jobmanager/metrics", get_jm_metrics);
}
