/* context.c -- the runtime context of the bundle API (flint.h's run-time calls, the
 * Collector and RuntimeContext of Flink) as the chain implements them: the table
 * fl_chain_ctx_api, which the task installs in common/api (runtime.h). Called by the
 * user's functions on their task's thread; emit is the per-record path (fl_out_emit:
 * direct calls into the chained operators and the record writers, nothing allocated).
 */
#include "operator.h"

#include <stdio.h>

static void ctx_emit(fl_out *out, const void *data, uint32_t len)
{
    fl_out_emit(out, data, len, out->ts);
}

static void ctx_emit_ts(fl_out *out, const void *data, uint32_t len, int64_t ts)
{
    fl_out_emit(out, data, len, ts);
}

static int ctx_subtask(const fl_ctx *ctx)
{
    return ctx->op->view->subtask;
}

static int ctx_parallelism(const fl_ctx *ctx)
{
    return ctx->op->view->parallelism;
}

static int ctx_attempt(const fl_ctx *ctx)
{
    return ctx->op->view->attempt;
}

static int ctx_max_parallelism(const fl_ctx *ctx)
{
    return ctx->op->view->max_parallelism;
}

static const char *ctx_task_name(const fl_ctx *ctx)
{
    return ctx->name;
}

static const void *ctx_config(const fl_ctx *ctx, uint32_t *len)
{
    if (len)
        *len = ctx->cfg_len;
    return ctx->cfg;
}

static void ctx_set_user(fl_ctx *ctx, void *user)
{
    ctx->user = user;
}

static void *ctx_user(const fl_ctx *ctx)
{
    return ctx->user;
}

void fl_op_ctx_failv(fl_ctx *ctx, const char *fmt, va_list ap)
{
    char msg[1500];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fl_op_fail(ctx->op, "%s (in %s)", msg, ctx->name);
}

void fl_op_ctx_fail(fl_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fl_op_ctx_failv(ctx, fmt, ap);
    va_end(ap);
}

static const void *ctx_key(const fl_ctx *ctx, uint32_t *len)
{
    if (!ctx->kb) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = ctx->kb->klen;
    return ctx->kb->key;
}

static int ctx_input(const fl_ctx *ctx)
{
    return ctx->input ? ctx->input : 1;
}

static const fl_window *ctx_window(const fl_ctx *ctx)
{
    return ctx->window;
}

const fl_api_ctx_ops fl_chain_ctx_api = {
    .emit = ctx_emit,
    .emit_ts = ctx_emit_ts,
    .subtask = ctx_subtask,
    .parallelism = ctx_parallelism,
    .max_parallelism = ctx_max_parallelism,
    .attempt = ctx_attempt,
    .task_name = ctx_task_name,
    .config = ctx_config,
    .set_user = ctx_set_user,
    .user = ctx_user,
    .failv = fl_op_ctx_failv,
    .key = ctx_key,
    .input = ctx_input,
    .window = ctx_window,
};
