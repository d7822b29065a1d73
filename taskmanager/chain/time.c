/* time.c -- event time in the runtime (DESIGN.md §5): watermarks through a chain and over
 * the network, timers firing on watermarks and on the wall clock, the timestamp/watermark
 * assigner, side outputs, and the time half of the context API. Task thread only.
 *
 * An operator's watermark only moves forward. When it moves, the operator first fires the
 * event-time timers it reaches (so results they produce precede the watermark), then
 * forwards the watermark to every output: chained operators by call, network outputs as an
 * in-band WATERMARK event to every subpartition, side outputs alike.
 */
#include "log.h"
#include "task/task_internal.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* ---- watermarks ------------------------------------------------------------------- */

void fl_writer_event(fl_writer *w, uint8_t type, const void *payload, uint32_t len)
{
    if (fl_partition_emit_event(w->part, -1, type, payload, len) < 0)
        fl_task_fail(w->task, "%s", fl_partition_error(w->part));
}

static void forward_out(fl_out *out, int64_t wm)
{
    for (int i = 0; i < out->nchained; i++)
        fl_op_advance_watermark(out->chained[i], wm);
    for (int i = 0; i < out->nwriters; i++)
        fl_writer_event(out->writers[i], FL_EV_WATERMARK, &wm, sizeof wm);
}

void fl_op_forward_watermark(fl_op *op, int64_t wm)
{
    forward_out(&op->out, wm);
    for (int i = 0; i < op->nsides; i++)
        forward_out(&op->sides[i].out, wm);
}

static void status_out(fl_out *out, bool idle)
{
    uint8_t v = idle;
    for (int i = 0; i < out->nchained; i++)
        fl_op_forward_status(out->chained[i], idle);
    for (int i = 0; i < out->nwriters; i++)
        fl_writer_event(out->writers[i], FL_EV_WATERMARK_STATUS, &v, 1);
}

void fl_op_forward_status(fl_op *op, bool idle)
{
    status_out(&op->out, idle);
    for (int i = 0; i < op->nsides; i++)
        status_out(&op->sides[i].out, idle);
}

void fl_op_fire_timers(fl_op *op, int domain, int64_t limit)
{
    fl_timer t;
    fl_kbackend *kb = op->ctx.kb;
    while (!fl_task_should_stop(op->ctx.task) && fl_timers_pop(op->timers, domain, limit, &t)) {
        fl_timer next;
        if (op->prefetch_timer) /* the next two timers' state: misses overlap this firing */
            for (int step = 0; step < 2; step++)
                if (fl_timers_peek(op->timers, domain, (uint32_t)(1 - step), &next) &&
                    next.time <= limit)
                    op->prefetch_timer(op, &next, step);
        if (kb)
            fl_kbackend_set_key(kb, t.key, t.klen);
        op->ctx.ts = t.time;
        op->ctx.time_domain = domain == FL_TIMER_EVENT ? FL_EVENT_TIME : FL_PROCESSING_TIME;
        op->out.ts = t.time;
        op->on_timer(op, &t);
        if (kb)
            kb->key = NULL;
    }
}

void fl_op_default_watermark(fl_op *op, int64_t wm)
{
    if (op->timers && op->on_timer)
        fl_op_fire_timers(op, FL_TIMER_EVENT, wm);
    fl_op_forward_watermark(op, wm);
}

void fl_op_advance_watermark(fl_op *op, int64_t wm)
{
    if (wm <= op->watermark)
        return;
    op->watermark = wm;
    op->process_watermark(op, wm);
}

/* ---- side outputs ----------------------------------------------------------------- */

void fl_op_emit_side(fl_op *op, const char *tag, const void *data, uint32_t len, int64_t ts)
{
    for (int i = 0; i < op->nsides; i++)
        if (strcmp(op->sides[i].tag, tag) == 0) {
            fl_emit_ts(&op->sides[i].out, data, len, ts);
            return;
        }
}

void fl_ctx_output(fl_ctx *ctx, const char *tag, const void *data, uint32_t len, int64_t ts)
{
    fl_op_emit_side(ctx->op, tag, data, len, ts);
}

/* ---- the timestamp / watermark assigner -------------------------------------------
 * Its position is checkpointed (the largest timestamp seen and the last watermark sent)
 * and sent again first thing after a restore: the replayed records meet the watermark
 * they met before the failure, so late data is judged as it was and the results are as if
 * the failure had not happened. (Flink restarts the watermark from nothing; this goes one
 * step further.) */

typedef struct assigner {
    int kind;
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
    fl_emit_ts(&op->out, in->data, in->len, ts);
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

int fl_assigner_init(fl_task *t, fl_op *op, fl_err *err)
{
    const Fl__Pb__WatermarkSpec *w = op->spec->watermarks;
    if (!w || w->kind < FL_WM_BOUNDED || w->kind > FL_WM_PUNCTUATED) {
        fl_err_set(err, "%s: no watermark strategy", op->spec->name);
        return -1;
    }
    assigner *a = fl_xcalloc(1, sizeof *a);
    op->state = a;
    op->release = free_state;
    a->kind = w->kind;
    a->ooo = w->kind == FL_WM_BOUNDED ? w->out_of_orderness_ms : 0;
    a->idle_ms = w->idle_timeout_ms;
    a->max_ts = INT64_MIN;
    a->emitted = INT64_MIN;
    a->per_record = t->wm_interval_ms == 0;
    a->last_activity_ms = fl_now_ms();
    a->ts = (fl_timestamp_fn)fl_bundle_sym(t->bundle, w->timestamp_fn);
    if (!a->ts) {
        fl_err_set(err, "timestamp assigner '%s' not found in the bundle", w->timestamp_fn);
        return -1;
    }
    if (w->kind == FL_WM_PUNCTUATED &&
        !(a->punct = (fl_punctuated_fn)fl_bundle_sym(t->bundle, w->punctuated_fn))) {
        fl_err_set(err, "watermark generator '%s' not found in the bundle", w->punctuated_fn);
        return -1;
    }
    a->restored = INT64_MIN;
    op->process = process_assign;
    op->process_watermark = assign_watermark;
    op->periodic = assign_periodic;
    op->snapshot_state = assign_snapshot;
    op->restore_state = assign_restore;
    return 0;
}

/* ---- the context API: time and timers --------------------------------------------- */

int64_t fl_ctx_timestamp(const fl_ctx *ctx)
{
    return ctx->ts;
}

int64_t fl_ctx_current_watermark(const fl_ctx *ctx)
{
    return ctx->op->watermark;
}

int64_t fl_ctx_current_processing_time(const fl_ctx *ctx)
{
    return fl_now_ms();
}

int fl_ctx_time_domain(const fl_ctx *ctx)
{
    return ctx->time_domain;
}

int fl_ctx_input(const fl_ctx *ctx)
{
    return ctx->input ? ctx->input : 1;
}

static bool timer_ready(fl_ctx *ctx, const char *what)
{
    if (!ctx->op->timers || !ctx->kb || !ctx->kb->key) {
        fl_ctx_fail(ctx, "%s: timers need a keyed process function (fl_keyed_process or a "
                         "keyed fl_co_process) with an on_timer function, used while "
                         "processing a record or timer",
                    what);
        return false;
    }
    return true;
}

static void reg(fl_ctx *ctx, int domain, int64_t ts, bool add, const char *what)
{
    if (!timer_ready(ctx, what))
        return;
    fl_kbackend *kb = ctx->kb;
    if (add)
        fl_timers_register(ctx->op->timers, domain, ts, kb->key, kb->klen, kb->kg, NULL, 0);
    else
        fl_timers_delete(ctx->op->timers, domain, ts, kb->key, kb->klen, NULL, 0);
}

void fl_ctx_register_event_timer(fl_ctx *ctx, int64_t ts)
{
    reg(ctx, FL_TIMER_EVENT, ts, true, "register_event_timer");
}

void fl_ctx_register_processing_timer(fl_ctx *ctx, int64_t ts)
{
    reg(ctx, FL_TIMER_PROCESSING, ts, true, "register_processing_timer");
}

void fl_ctx_delete_event_timer(fl_ctx *ctx, int64_t ts)
{
    reg(ctx, FL_TIMER_EVENT, ts, false, "delete_event_timer");
}

void fl_ctx_delete_processing_timer(fl_ctx *ctx, int64_t ts)
{
    reg(ctx, FL_TIMER_PROCESSING, ts, false, "delete_processing_timer");
}

const fl_window *fl_ctx_window(const fl_ctx *ctx)
{
    return ctx->window;
}
