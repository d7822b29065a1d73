/* connector_sink.c -- the operator that runs a sink written against flint/connectors.h
 * (fl_sink_to), behind its const table (operators.h): the two-phase commit protocol of
 * Flink's TwoPhaseCommitSinkFunction around the connector's callbacks.
 *
 *   barrier c        pre_commit(c): the connector flushes and pre-commits its transaction
 *                    and hands back committables; every committable not yet committed is
 *                    the operator state of c (one item each: the checkpoint id, then the
 *                    connector's bytes)
 *   c completed      commit() of each committable of a checkpoint <= c, in order
 *   restore from c   commit() of each committable in c's state (c completed, so they must
 *                    be committed: idempotently, they may have been already), then
 *                    recover(c): abort what a crashed attempt left after c
 *   fresh start      recover(-1), before the first record
 *   end of input     pre_commit(FL_SINK_END_OF_INPUT) and commit of everything at once
 *
 * Committables dealt to another subtask by a rescale are committed there: a connector's
 * committable must name its transaction, not depend on the subtask. Task thread only.
 */
#include "common/api/connectors.h"
#include "operators.h"
#include "taskmanager/chain/operator.h"

#include <stdlib.h>
#include <string.h>

static void sink_process(fl_op *op, const fl_rec *in);

typedef struct committable {
    int64_t checkpoint;
    uint8_t *data;
    uint32_t len;
} committable;

typedef struct csink {
    const fl_sink_def *def;
    committable *pending;
    int n, cap;
    int64_t collecting;       /* the checkpoint whose pre_commit is running, or -1 */
    bool opened, recovered;
} csink;

void fl_connector_sink_add_committable(fl_ctx *ctx, const void *data, uint32_t len)
{
    fl_op *op = ctx->op;
    csink *s = op->state;
    if (op->ops->process != sink_process || s->collecting < 0) { /* built-in or the bundle's */
        fl_op_ctx_fail(ctx, "fl_sink_add_committable outside a connector sink's pre_commit");
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->pending = fl_xrealloc(s->pending, (size_t)s->cap * sizeof *s->pending);
    }
    committable *c = &s->pending[s->n++];
    c->checkpoint = s->collecting;
    c->len = len;
    c->data = fl_xmalloc(len ? len : 1);
    memcpy(c->data, data, len);
}

static bool sink_failed(fl_op *op, const char *what)
{
    if (!op->view->failure->failed)
        fl_op_fail(op, "%s: %s failed", op->ctx.name, what);
    return false;
}

/* recover(-1) on a fresh start, before anything is written. */
static bool ensure_recovered(fl_op *op)
{
    csink *s = op->state;
    if (s->recovered)
        return true;
    s->recovered = true;
    if (s->def->recover && s->def->recover(&op->ctx, -1) < 0)
        return sink_failed(op, "recovering");
    return true;
}

static void sink_process(fl_op *op, const fl_rec *in)
{
    csink *s = op->state;
    if (FL_UNLIKELY(!s->recovered) && !ensure_recovered(op))
        return;
    s->def->write(&op->ctx, in);
}

static bool pre_commit(fl_op *op, int64_t id)
{
    csink *s = op->state;
    s->collecting = id;
    int rc = s->def->pre_commit(&op->ctx, id);
    s->collecting = -1;
    return rc < 0 ? sink_failed(op, "pre-committing") : true;
}

/* Commits the pending committables of checkpoints <= id, in order; stops at a failure. */
static void commit_upto(fl_op *op, int64_t id)
{
    csink *s = op->state;
    int w = 0, i = 0;
    for (; i < s->n; i++) {
        committable *c = &s->pending[i];
        if (c->checkpoint > id || op->view->failure->failed) {
            s->pending[w++] = *c;
            continue;
        }
        if (s->def->commit && s->def->commit(&op->ctx, c->checkpoint, c->data, c->len) < 0) {
            sink_failed(op, "committing");
            s->pending[w++] = *c;
            continue;
        }
        free(c->data);
    }
    s->n = w;
}

static void sink_snapshot(fl_op *op, int64_t id, fl_items *items)
{
    csink *s = op->state;
    if (!ensure_recovered(op) || !pre_commit(op, id))
        return;
    size_t cap = 0;
    uint8_t *buf = NULL;
    for (int i = 0; i < s->n; i++) {
        committable *c = &s->pending[i];
        if (8 + (size_t)c->len > cap) {
            cap = 8 + (size_t)c->len;
            buf = fl_xrealloc(buf, cap);
        }
        memcpy(buf, &c->checkpoint, 8);
        memcpy(buf + 8, c->data, c->len);
        fl_items_add(items, buf, 8 + (size_t)c->len);
    }
    free(buf);
}

static void sink_complete(fl_op *op, int64_t id)
{
    commit_upto(op, id);
}

static void sink_finish(fl_op *op)
{
    if (ensure_recovered(op) && pre_commit(op, FL_SINK_END_OF_INPUT))
        commit_upto(op, INT64_MAX);
}

static void sink_periodic(fl_op *op, int64_t now_ms)
{
    csink *s = op->state;
    if (s->def->tick && s->recovered)
        s->def->tick(&op->ctx, now_ms);
}

static int sink_restore(fl_op *op, const ProtobufCBinaryData *items, size_t n, int64_t id,
                        fl_err *err)
{
    csink *s = op->state;
    for (size_t i = 0; i < n; i++) {
        int64_t cp;
        if (items[i].len < 8) {
            fl_err_set(err, "damaged sink state of %s", op->ctx.name);
            return -1;
        }
        memcpy(&cp, items[i].data, 8);
        if (s->def->commit &&
            s->def->commit(&op->ctx, cp, items[i].data + 8, (uint32_t)(items[i].len - 8)) < 0) {
            fl_err_set(err, "%s", op->view->failure->failed
                                      ? op->view->failure->error
                                      : "committing a restored transaction failed");
            return -1;
        }
    }
    s->recovered = true;
    if (s->def->recover && s->def->recover(&op->ctx, id) < 0) {
        fl_err_set(err, "%s", op->view->failure->failed ? op->view->failure->error
                                                        : "recovering the sink failed");
        return -1;
    }
    return 0;
}

static void sink_release(fl_op *op)
{
    csink *s = op->state;
    if (!s)
        return;
    if (s->opened && s->def->close)
        s->def->close(&op->ctx);
    for (int i = 0; i < s->n; i++)
        free(s->pending[i].data);
    free(s->pending);
    free(s);
}

/* Set-up around def: the bundle's (fl_sink_to) or a built-in one. */
static int sink_setup(fl_op *op, const fl_sink_def *def, fl_err *err)
{
    const fl_task_view *v = op->view;
    csink *s = fl_xcalloc(1, sizeof *s);
    op->state = s;
    s->collecting = -1;
    s->def = def;
    if (!s->def || !s->def->write || !s->def->pre_commit) {
        fl_err_set(err, "sink definition '%s' not found in the bundle, or without write and "
                        "pre_commit", op->spec->fn);
        return -1;
    }
    s->opened = true; /* close runs whatever open did */
    if (s->def->open && s->def->open(&op->ctx) < 0) {
        fl_err_set(err, "%s", v->failure->failed ? v->failure->error : "opening the sink failed");
        return -1;
    }
    return 0;
}

static int sink_init(fl_op *op, fl_err *err)
{
    return sink_setup(op, fl_bundle_sym(op->view->bundle, op->spec->fn), err);
}

static int file_sink_init(fl_op *op, fl_err *err)
{
    return sink_setup(op, &fl_file_sink_def, err);
}

const fl_op_ops fl_connector_sink_ops = {
    .name = "connector sink",
    .init = sink_init,
    .process = sink_process,
    .process_watermark = fl_op_default_watermark,
    .periodic = sink_periodic,
    .finish = sink_finish,
    .snapshot_state = sink_snapshot,
    .restore_state = sink_restore,
    .checkpoint_complete = sink_complete,
    .release = sink_release,
};

/* fl_write_file: the built-in file connector (sinks.c) run the same way. */
const fl_op_ops fl_file_sink_ops = {
    .name = "file sink",
    .init = file_sink_init,
    .process = sink_process,
    .process_watermark = fl_op_default_watermark,
    .periodic = sink_periodic,
    .finish = sink_finish,
    .snapshot_state = sink_snapshot,
    .restore_state = sink_restore,
    .checkpoint_complete = sink_complete,
    .release = sink_release,
};
