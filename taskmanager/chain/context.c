/* api.c -- the run-time half of the bundle API (include/flint/flint.h): emitting, the
 * runtime context and keyed value state. Called by user functions on their task's thread;
 * fl_emit is the per-record path: direct calls into the chained operators and the record
 * writers, nothing allocated. */
#include "task/task_internal.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_emit_ts(fl_out *out, const void *data, uint32_t len, int64_t ts)
{
    if (FL_UNLIKELY(out->capture)) {
        if (len > out->cap_size) {
            out->cap_size = len * 2 + 64;
            out->cap = fl_xrealloc(out->cap, out->cap_size);
        }
        if (len)
            memcpy(out->cap, data, len);
        out->cap_len = len;
        out->ncaptured++;
        return;
    }
    fl_rec r = {data, len, ts};
    out->emitted++;
    for (int i = 0; i < out->nchained; i++)
        out->chained[i]->process(out->chained[i], &r);
    for (int i = 0; i < out->nwriters; i++)
        fl_writer_write(out->writers[i], &r);
}

void fl_emit(fl_out *out, const void *data, uint32_t len)
{
    fl_emit_ts(out, data, len, out->ts);
}

int fl_ctx_subtask(const fl_ctx *ctx)
{
    return ctx->task->subtask;
}

int fl_ctx_parallelism(const fl_ctx *ctx)
{
    return ctx->task->parallelism;
}

int fl_ctx_attempt(const fl_ctx *ctx)
{
    return ctx->task->tdd->attempt;
}

int fl_ctx_max_parallelism(const fl_ctx *ctx)
{
    return ctx->task->max_parallelism;
}

const char *fl_ctx_task_name(const fl_ctx *ctx)
{
    return ctx->name;
}

const void *fl_ctx_config(const fl_ctx *ctx, uint32_t *len)
{
    if (len)
        *len = ctx->cfg_len;
    return ctx->cfg;
}

void fl_ctx_set_user(fl_ctx *ctx, void *user)
{
    ctx->user = user;
}

void *fl_ctx_user(const fl_ctx *ctx)
{
    return ctx->user;
}

void fl_ctx_fail(fl_ctx *ctx, const char *fmt, ...)
{
    char msg[1500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fl_task_fail(ctx->task, "%s (in %s)", msg, ctx->name);
}

const void *fl_ctx_key(const fl_ctx *ctx, uint32_t *len)
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
