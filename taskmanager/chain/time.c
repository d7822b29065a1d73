/* time.c -- event time in a chain (DESIGN.md §5): watermarks and idleness through a chain
 * and over the network, timers firing on watermarks and on processing time, and the time
 * half of the bundle API (fl_chain_time_api: timestamps, watermarks, timers, side
 * outputs). Task thread only.
 *
 * An operator's watermark only moves forward. When it moves, the operator (its
 * process_watermark; by default fl_op_default_watermark) first fires the event-time timers
 * it reaches, so that the results they produce precede the watermark, then forwards the
 * watermark to every output: chained operators by call, network outputs as an in-band
 * WATERMARK event to every subpartition, side outputs alike.
 */
#include "operator.h"

#include <string.h>

/* ---- watermarks ------------------------------------------------------------------- */

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

void fl_op_fire_timers(fl_op *op, fl_timer_domain domain, int64_t limit)
{
    fl_timer t;
    fl_kbackend *kb = op->ctx.kb;
    bool prefetch = op->ops->prefetch_timer && kb && kb->ops->prefetch;
    while (!fl_op_should_stop(op) && fl_timers_pop(op->timers, domain, limit, &t)) {
        fl_timer next;
        if (prefetch) /* the next two timers' state: misses overlap this firing */
            for (int step = 0; step < 2; step++)
                if (fl_timers_peek(op->timers, domain, (uint32_t)(1 - step), &next) &&
                    next.time <= limit)
                    op->ops->prefetch_timer(op, &next, step);
        if (kb)
            fl_kbackend_set_key(kb, t.key, t.klen);
        op->ctx.ts = t.time;
        op->ctx.time_domain = domain == FL_TIMER_EVENT ? FL_EVENT_TIME : FL_PROCESSING_TIME;
        op->out.ts = t.time;
        op->ops->on_timer(op, &t);
        if (kb)
            kb->key = NULL;
    }
}

void fl_op_default_watermark(fl_op *op, int64_t wm)
{
    if (op->timers && op->ops->on_timer)
        fl_op_fire_timers(op, FL_TIMER_EVENT, wm);
    fl_op_forward_watermark(op, wm);
}

void fl_op_advance_watermark(fl_op *op, int64_t wm)
{
    if (wm <= op->watermark)
        return;
    op->watermark = wm;
    op->ops->process_watermark(op, wm);
}

/* A keyed process function's timer fired (its key current). */
void fl_op_user_on_timer(fl_op *op, const fl_timer *t)
{
    op->timer_fn(&op->ctx, t->time, &op->out);
}

/* ---- the bundle API: time, timers, side outputs ----------------------------------- */

static int64_t time_timestamp(const fl_ctx *ctx)
{
    return ctx->ts;
}

static int64_t time_current_watermark(const fl_ctx *ctx)
{
    return ctx->op->watermark;
}

static int64_t time_current_processing_time(const fl_ctx *ctx)
{
    return fl_view_now_ms(ctx->op->view);
}

static int time_domain(const fl_ctx *ctx)
{
    return ctx->time_domain;
}

static bool timer_ready(fl_ctx *ctx, const char *what)
{
    if (!ctx->op->timers || !ctx->kb || !ctx->kb->key) {
        fl_op_ctx_fail(ctx, "%s: timers need a keyed process function (fl_keyed_process or "
                            "a keyed fl_co_process) with an on_timer function, used while "
                            "processing a record or timer",
                       what);
        return false;
    }
    return true;
}

static void reg(fl_ctx *ctx, fl_timer_domain domain, int64_t ts, bool add, const char *what)
{
    if (!timer_ready(ctx, what))
        return;
    fl_kbackend *kb = ctx->kb;
    if (add)
        fl_timers_register(ctx->op->timers, domain, ts, kb->key, kb->klen, kb->kg, NULL, 0);
    else
        fl_timers_delete(ctx->op->timers, domain, ts, kb->key, kb->klen, NULL, 0);
}

static void time_register_event_timer(fl_ctx *ctx, int64_t ts)
{
    reg(ctx, FL_TIMER_EVENT, ts, true, "register_event_timer");
}

static void time_register_processing_timer(fl_ctx *ctx, int64_t ts)
{
    reg(ctx, FL_TIMER_PROCESSING, ts, true, "register_processing_timer");
}

static void time_delete_event_timer(fl_ctx *ctx, int64_t ts)
{
    reg(ctx, FL_TIMER_EVENT, ts, false, "delete_event_timer");
}

static void time_delete_processing_timer(fl_ctx *ctx, int64_t ts)
{
    reg(ctx, FL_TIMER_PROCESSING, ts, false, "delete_processing_timer");
}

static void time_output(fl_ctx *ctx, const char *tag, const void *data, uint32_t len, int64_t ts)
{
    fl_op_emit_side(ctx->op, tag, data, len, ts);
}

const fl_api_time_ops fl_chain_time_api = {
    .timestamp = time_timestamp,
    .current_watermark = time_current_watermark,
    .current_processing_time = time_current_processing_time,
    .time_domain = time_domain,
    .register_event_timer = time_register_event_timer,
    .register_processing_timer = time_register_processing_timer,
    .delete_event_timer = time_delete_event_timer,
    .delete_processing_timer = time_delete_processing_timer,
    .output = time_output,
};
