/* assigner.c -- the timestamp / watermark assigner (Flink's
 * assignTimestampsAndWatermarks, DESIGN.md §5) behind its const table (operators.h): it
 * gives each record its event time with the bundle's timestamp function and emits
 * watermarks of its strategy (bounded out-of-orderness, monotonous, punctuated), after
 * every record or every auto-watermark interval, with idleness when no record came for
 * the strategy's idle timeout. Task thread only.
 *
 * Its position is checkpointed (the largest timestamp seen and the last watermark sent)
 * and sent again first thing after a restore: the replayed records meet the watermark
 * they met before the failure, so late data is judged as it was and the results are as if
 * the failure had not happened. (Flink restarts the watermark from nothing; this goes one
 * step further.)
 */
#include "operators.h"
#include "taskmanager/chain/operator.h"

#include <stdlib.h>
#include <string.h>

typedef struct assigner {
    enum fl_watermark_kind kind;
    int64_t ooo;
    fl_timestamp_fn ts;
    fl_punctuated_fn punct;
    int64_t idle_ms;
    int64_t max_ts;
    int64_t emitted;          /* last watermark sent */
    bool per_record;          /* auto-watermark-interval 0 */
    uint64_t records, records_at_check;
    int64_t last_activity_ms;
    bool idle;
    int64_t restored;         /* a restored watermark not sent yet, or INT64_MIN */
} assigner;

static void assigner_emit(fl_op *op, int64_t wm)
{
    assigner *a = op->state;
    if (wm <= a->emitted)
        return;
    a->emitted = wm;
    op->watermark = wm;
    fl_op_forward_watermark(op, wm);
}

static void assigner_current(fl_op *op)
{
    assigner *a = op->state;
    if (a->kind != FL_WM_PUNCTUATED && a->max_ts != INT64_MIN)
        assigner_emit(op, a->max_ts - a->ooo - 1);
}

/* After a restore: the watermark of the checkpoint, before anything else. */
static void assigner_resume(fl_op *op)
{
    assigner *a = op->state;
    int64_t wm = a->restored;
    a->restored = INT64_MIN;
    assigner_emit(op, wm);
}

static void process_assign(fl_op *op, const fl_rec *in)
{
    assigner *a = op->state;
    if (FL_UNLIKELY(a->restored != INT64_MIN))
        assigner_resume(op);
    int64_t ts = a->ts(in);
    if (FL_UNLIKELY(a->idle)) {
        a->idle = false;
        fl_op_forward_status(op, false);
    }
    a->records++;
    if (ts > a->max_ts)
        a->max_ts = ts;
    op->ctx.ts = ts;
    fl_out_emit(&op->out, in->data, in->len, ts);
    if (a->kind == FL_WM_PUNCTUATED) {
        int64_t wm = a->punct(in, ts);
        if (wm != FL_NO_WATERMARK)
            assigner_emit(op, wm);
    } else if (a->per_record) {
        assigner_current(op);
    }
}

/* Upstream watermarks are replaced by our own; only the end of input (+inf) passes. */
static void assign_watermark(fl_op *op, int64_t wm)
{
    if (wm == FL_WATERMARK_MAX)
        assigner_emit(op, wm);
}

static void assign_periodic(fl_op *op, int64_t now_ms)
{
    assigner *a = op->state;
    if (a->restored != INT64_MIN)
        assigner_resume(op);
    if (a->records != a->records_at_check) {
        a->records_at_check = a->records;
        a->last_activity_ms = now_ms;
    } else if (a->idle_ms > 0 && !a->idle && now_ms - a->last_activity_ms >= a->idle_ms) {
        a->idle = true; /* stop holding consumers' watermark back */
        fl_op_forward_status(op, true);
        return;
    }
    if (!a->per_record)
        assigner_current(op);
}

static void free_state(fl_op *op)
{
    free(op->state);
}

static void assign_snapshot(fl_op *op, int64_t id, fl_items *items)
{
    assigner *a = op->state;
    int64_t v[2] = {a->max_ts, a->restored != INT64_MIN ? a->restored : a->emitted};
    fl_items_add(items, v, sizeof v);
}

/* One item per subtask of the checkpoint; at another parallelism the smallest positions
 * (no record is judged later than it was). */
static int assign_restore(fl_op *op, const ProtobufCBinaryData *items, size_t n, int64_t id,
                          fl_err *err)
{
    assigner *a = op->state;
    int64_t max_ts = INT64_MAX, wm = INT64_MAX, v[2];
    for (size_t i = 0; i < n; i++) {
        if (items[i].len != sizeof v) {
            fl_err_set(err, "damaged watermark state");
            return -1;
        }
        memcpy(v, items[i].data, sizeof v);
        max_ts = FL_MIN(max_ts, v[0]);
        wm = FL_MIN(wm, v[1]);
    }
    if (n) {
        a->max_ts = max_ts;
        a->restored = wm;
    }
    return 0;
}

static int init_assigner(fl_op *op, fl_err *err)
{
    const fl_task_view *v = op->view;
    const Fl__Pb__WatermarkSpec *w = op->spec->watermarks;
    if (!w || w->kind < FL_WM_BOUNDED || w->kind > FL_WM_PUNCTUATED) {
        fl_err_set(err, "%s: no watermark strategy", op->spec->name);
        return -1;
    }
    assigner *a = fl_xcalloc(1, sizeof *a);
    op->state = a;
    a->kind = w->kind;
    a->ooo = w->kind == FL_WM_BOUNDED ? w->out_of_orderness_ms : 0;
    a->idle_ms = w->idle_timeout_ms;
    a->max_ts = INT64_MIN;
    a->emitted = INT64_MIN;
    a->per_record = v->wm_interval_ms == 0;
    a->last_activity_ms = fl_view_now_ms(v);
    a->ts = (fl_timestamp_fn)fl_bundle_sym(v->bundle, w->timestamp_fn);
    if (!a->ts) {
        fl_err_set(err, "timestamp assigner '%s' not found in the bundle", w->timestamp_fn);
        return -1;
    }
    if (w->kind == FL_WM_PUNCTUATED &&
        !(a->punct = (fl_punctuated_fn)fl_bundle_sym(v->bundle, w->punctuated_fn))) {
        fl_err_set(err, "watermark generator '%s' not found in the bundle", w->punctuated_fn);
        return -1;
    }
    a->restored = INT64_MIN;
    return 0;
}

/* Upstream watermarks are replaced by its own; only the end of input (+inf) passes. */
const fl_op_ops fl_assigner_ops = {
    .name = "timestamps/watermarks",
    .init = init_assigner,
    .process = process_assign,
    .process_watermark = assign_watermark,
    .periodic = assign_periodic,
    .snapshot_state = assign_snapshot,
    .restore_state = assign_restore,
    .release = free_state,
};
