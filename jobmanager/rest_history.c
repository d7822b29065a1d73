/* rest_history.c -- what a job went through, from its JobMaster's latest status (issue 12):
 *
 *   GET /jobs/:jobid/exceptions                           Flink's root exception and its
 *       exceptionHistory ({"entries":[{exceptionName, stacktrace, timestamp, taskName,
 *       location, taskManagerId, failureLabels, concurrentExceptions}], "truncated"}),
 *       newest first, at most web.exception-history-size (exception_history.h)
 *   GET /jobs/:jobid/checkpoints/details/:checkpointid    one checkpoint of the history with
 *       Flink's per-vertex `tasks` (id, status, latest_ack_timestamp, state_size,
 *       checkpointed_size, end_to_end_duration, num_subtasks, num_acknowledged_subtasks,
 *       alignment_buffered / processed_data / persisted_data)
 *   GET /jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid    one vertex's
 *       totals, a summary (min/max/avg/p50..p999) and each subtask (ack_timestamp,
 *       checkpoint.sync/async, state_size, alignment, start_delay), from checkpoint_stats.h
 *
 * Dispatcher thread.
 */
#include "dispatcher_internal.h"

#include "common/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void get_job_exceptions(void *ctx, struct evhttp_request *req, const fl_rest_params *p)
{
    job_entry *j = fl_disp_job_param(ctx, req, p);
    if (!j)
        return;
    json_t *cause = json_object_get(j->details, "root-exception");
    json_t *hist = json_object_get(j->details, "exceptionHistory");
    json_t *o = json_pack("{s:O, s:[], s:b}", "root-exception", cause ? cause : json_null(),
                          "all-exceptions", "truncated", 0);
    /* Flink's timestamp is the root exception's: the newest entry's, else the end */
    json_t *newest = json_array_get(json_object_get(hist, "entries"), 0);
    json_object_set(o, "timestamp", newest ? json_object_get(newest, "timestamp")
                                           : json_object_get(j->details, "end-time"));
    json_object_set_new(o, "exceptionHistory",
                        hist ? json_incref(hist) : json_pack("{s:[], s:b}", "entries",
                                                             "truncated", 0));
    fl_rest_reply_json(req, 200, o);
}


/* ---- checkpoint details (checkpoint_stats.h) -------------------------------------- */

/* Flink's StatsSummaryDto of n values (sorted here): min, max, avg and percentiles by the
 * nearest rank. */
static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static json_t *summary_json(int64_t *v, int n)
{
    if (n == 0)
        return json_pack("{s:I, s:I, s:I}", "min", (json_int_t)0, "max", (json_int_t)0, "avg",
                         (json_int_t)0);
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    int64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    static const struct { const char *name; double q; } pct[] = {
        {"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p999", 0.999}};
    json_t *o = json_pack("{s:I, s:I, s:I}", "min", (json_int_t)v[0], "max",
                          (json_int_t)v[n - 1], "avg", (json_int_t)(sum / n));
    for (size_t k = 0; k < sizeof pct / sizeof pct[0]; k++) {
        int rank = (int)(pct[k].q * n + 0.999999); /* ceil without libm */
        json_object_set_new(o, pct[k].name, json_real((double)v[rank < 1 ? 0 : rank - 1]));
    }
    return o;
}

/* The subtasks [*lo, *hi) of vertex in s (they are in (vertex, subtask) order). */
static bool vertex_range(const fl_ckpt_subs *s, int vertex, int *lo, int *hi)
{
    int i = 0;
    while (i < s->n && s->s[i].vertex != vertex)
        i++;
    *lo = i;
    while (i < s->n && s->s[i].vertex == vertex)
        i++;
    *hi = i;
    return *hi > *lo;
}

/* Flink's TaskCheckpointStatistics of one vertex. */
static json_t *task_json(const fl_ckpt_subs *s, int lo, int hi, const char *status)
{
    int64_t latest = -1;
    uint64_t size = 0, persisted = 0;
    int acked = 0;
    for (int i = lo; i < hi; i++) {
        const fl_ckpt_sub *x = &s->s[i];
        if (!x->ack_ts)
            continue;
        acked++;
        size += x->state_size, persisted += x->persisted;
        if (x->ack_ts > latest)
            latest = x->ack_ts;
    }
    json_t *o = json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:i, s:i}", "id", (json_int_t)s->id,
                          "status", status, "latest_ack_timestamp", (json_int_t)latest,
                          "state_size", (json_int_t)size, "checkpointed_size",
                          (json_int_t)size, "end_to_end_duration",
                          (json_int_t)(latest < 0 ? -1 : FL_MAX(0, latest - s->trigger_ts)),
                          "num_subtasks", hi - lo, "num_acknowledged_subtasks", acked);
    /* Flint does not count the bytes read while aligning (Flink's processed_data) */
    json_object_set_new(o, "alignment_buffered", json_integer(0));
    json_object_set_new(o, "processed_data", json_integer(0));
    json_object_set_new(o, "persisted_data", json_integer((json_int_t)persisted));
    return o;
}

/* Flink's `tasks` of a checkpoint: vertex id -> TaskCheckpointStatistics. */
static json_t *tasks_json(const fl_ckpt_subs *s, const char *status)
{
    json_t *o = json_object();
    for (int i = 0; s && i < s->n;) {
        int lo, hi;
        vertex_range(s, s->s[i].vertex, &lo, &hi);
        char vid[16];
        snprintf(vid, sizeof vid, "%d", s->s[i].vertex);
        json_object_set_new(o, vid, task_json(s, lo, hi, status));
        i = hi;
    }
    return o;
}

static json_t *subtask_json(const fl_ckpt_subs *s, const fl_ckpt_sub *x)
{
    if (!x->ack_ts)
        return json_pack("{s:i, s:s}", "index", x->subtask, "status", "pending_or_failed");
    json_t *o = json_pack("{s:i, s:s, s:I, s:I, s:I, s:I}", "index", x->subtask, "status",
                          "completed", "ack_timestamp", (json_int_t)x->ack_ts,
                          "end_to_end_duration",
                          (json_int_t)FL_MAX(0, x->ack_ts - s->trigger_ts), "state_size",
                          (json_int_t)x->state_size, "checkpointed_size",
                          (json_int_t)x->state_size);
    json_object_set_new(o, "checkpoint", json_pack("{s:I, s:I}", "sync", (json_int_t)x->sync_ms,
                                                   "async", (json_int_t)x->async_ms));
    json_object_set_new(o, "alignment",
                        json_pack("{s:I, s:I, s:I, s:I}", "buffered", (json_int_t)0,
                                  "processed", (json_int_t)0, "persisted",
                                  (json_int_t)x->persisted, "duration",
                                  (json_int_t)x->alignment_ms));
    json_object_set_new(o, "start_delay", json_integer(x->start_delay_ms));
    json_object_set_new(o, "unaligned_checkpoint", json_boolean(s->unaligned || x->persisted));
    json_object_set_new(o, "aborted", json_false());
    return o;
}

/* Flink's TaskCheckpointStatisticsWithSubtaskDetails: the vertex's totals, a summary over
 * its acknowledged subtasks and every subtask. */
static json_t *vertex_details_json(const fl_ckpt_subs *s, int lo, int hi, const char *status)
{
    json_t *o = task_json(s, lo, hi, status);
    json_t *subtasks = json_array();
    int n = hi - lo, m = 0;
    enum { SIZE, E2E, SYNC, ASYNC, PERSISTED, ALIGN, DELAY, NCOLS };
    int64_t *col[NCOLS];
    for (int c = 0; c < NCOLS; c++)
        col[c] = fl_xcalloc((size_t)n + 1, sizeof(int64_t));
    for (int i = lo; i < hi; i++) {
        const fl_ckpt_sub *x = &s->s[i];
        json_array_append_new(subtasks, subtask_json(s, x));
        if (!x->ack_ts)
            continue;
        col[SIZE][m] = (int64_t)x->state_size;
        col[E2E][m] = FL_MAX(0, x->ack_ts - s->trigger_ts);
        col[SYNC][m] = x->sync_ms;
        col[ASYNC][m] = x->async_ms;
        col[PERSISTED][m] = (int64_t)x->persisted;
        col[ALIGN][m] = x->alignment_ms;
        col[DELAY][m] = x->start_delay_ms;
        m++;
    }
    int64_t *zero = fl_xcalloc((size_t)m + 1, sizeof(int64_t));
    json_t *summary = json_pack(
        "{s:o, s:o, s:o, s:{s:o, s:o}, s:{s:o, s:o, s:o, s:o}, s:o}", "state_size",
        summary_json(col[SIZE], m), "checkpointed_size", summary_json(col[SIZE], m),
        "end_to_end_duration", summary_json(col[E2E], m), "checkpoint_duration", "sync",
        summary_json(col[SYNC], m), "async", summary_json(col[ASYNC], m), "alignment",
        "buffered", summary_json(zero, m), "processed", summary_json(zero, m), "persisted",
        summary_json(col[PERSISTED], m), "duration", summary_json(col[ALIGN], m),
        "start_delay", summary_json(col[DELAY], m));
    free(zero);
    for (int c = 0; c < NCOLS; c++)
        free(col[c]);
    json_object_set_new(o, "summary", summary);
    json_object_set_new(o, "subtasks", subtasks);
    return o;
}

/* The checkpoint's status in its history entry h. */
static const char *status_of(const json_t *h)
{
    const char *s = json_string_value(json_object_get(h, "status"));
    return s ? s : "UNKNOWN";
}

/* The history entry of :jobid's :checkpointid (its job in *jp, its id in *idp), or NULL
 * with the reply sent. */
static json_t *find_checkpoint(void *ctx, struct evhttp_request *req, const fl_rest_params *p,
                               job_entry **jp, long long *idp)
{
    job_entry *j = *jp = fl_disp_job_param(ctx, req, p);
    if (!j)
        return NULL;
    const char *s = fl_rest_param(p, "checkpointid");
    char *end;
    errno = 0;
    long long id = strtoll(s, &end, 10);
    if (!*s || *end || errno || id < 0) {
        fl_rest_error(req, 400, "'%.64s' is not a checkpoint id.", s);
        return NULL;
    }
    *idp = id;
    json_t *hist = json_object_get(json_object_get(j->details, "checkpoints"), "history");
    size_t i;
    json_t *h;
    json_array_foreach(hist, i, h) {
        if (json_integer_value(json_object_get(h, "id")) == id)
            return h;
    }
    fl_rest_error(req, 404, "Could not find checkpointing statistics for checkpoint %lld.", id);
    return NULL;
}

static void get_checkpoint_details(void *ctx, struct evhttp_request *req,
                                   const fl_rest_params *p)
{
    job_entry *j;
    long long id;
    json_t *h = find_checkpoint(ctx, req, p, &j, &id);
    if (!h)
        return;
    json_t *o = json_deep_copy(h);
    json_object_set_new(o, "@class", json_string(json_is_true(json_object_get(
                                                     h, "is_savepoint"))
                                                     ? "savepoint"
                                                     : "checkpoint"));
    json_object_set_new(o, "tasks",
                        tasks_json(fl_ckpt_view_find(j->ckpt_view, id), status_of(h)));
    fl_rest_reply_json(req, 200, o);
}

static void get_checkpoint_subtasks(void *ctx, struct evhttp_request *req,
                                    const fl_rest_params *p)
{
    job_entry *j;
    long long id;
    json_t *h = find_checkpoint(ctx, req, p, &j, &id);
    if (!h)
        return;
    const char *vs = fl_rest_param(p, "vertexid");
    const fl_ckpt_subs *s = fl_ckpt_view_find(j->ckpt_view, id);
    char *end;
    errno = 0;
    long v = strtol(vs, &end, 10);
    int lo, hi;
    if (!*vs || *end || errno || v < 0 || v > INT32_MAX || !s || !vertex_range(s, (int)v, &lo, &hi)) {
        fl_rest_error(req, 404, "There is no checkpoint statistics for task %.64s.", vs);
        return;
    }
    fl_rest_reply_json(req, 200, vertex_details_json(s, lo, hi, status_of(h)));
}

void fl_disp_history_routes(fl_dispatcher *d)
{
    fl_rest_route(d->rest, "GET", "/jobs/:jobid/exceptions", get_job_exceptions);
    fl_rest_route(d->rest, "GET", "/jobs/:jobid/checkpoints/details/:checkpointid",
                  get_checkpoint_details);
    fl_rest_route(d->rest, "GET",
                  "/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid",
                  get_checkpoint_subtasks);
}
