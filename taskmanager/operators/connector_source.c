/* connector_source.c -- the operator that runs a source written against
 * flint/connectors.h (fl_from_source), behind its const table (operators.h), and the
 * run-time calls of that API (fl_connector_api, installed by the task runtime; the sink's
 * half is in connector_sink.c).
 *
 * The operator owns the splits: their positions (from the reader's split_state, with the
 * split's largest timestamp) are its operator state, one item per split, so a restore at
 * any parallelism deals them over the subtasks (chain/items.h). It also owns the
 * watermarks, per split as Flink's SourceOperator does: each split's watermark follows
 * its own largest timestamp (or punctuations), the source emits the minimum over the
 * splits that are neither finished nor idle, and when every split is idle (no record for
 * the strategy's idle timeout) -- or the subtask has no split at all -- the source is idle
 * and stops holding its consumers' watermark back. A split that never had a record holds
 * the watermark back until it turns idle. Task thread only.
 */
#include "common/api/connectors.h"
#include "operators.h"
#include "taskmanager/chain/operator.h"

#include <stdlib.h>
#include <string.h>

#define SPLIT_STATE_MAX (64 << 10)

typedef struct csplit {
    int64_t max_ts;           /* largest timestamp emitted (INT64_MIN: none yet) */
    int64_t punct_wm;         /* punctuated strategies: the last punctuation */
    uint64_t records, records_at_check;
    int64_t last_activity_ms;
    bool finished, idle;
} csplit;

typedef struct csrc {
    const fl_source_def *def;
    csplit *splits;
    int n, cap;
    bool opened, started, restored;
    /* the watermark strategy (kind 0: none) */
    int kind;
    int64_t ooo, idle_ms;
    fl_timestamp_fn ts_fn;
    fl_punctuated_fn punct_fn;
    bool per_record;
    int64_t emitted_wm;
    bool idle;                /* the source as a whole told its consumers it is idle */
    uint8_t *scratch;         /* split state at a snapshot */
} csrc;

static csplit *new_split(fl_op *op, int64_t max_ts)
{
    csrc *s = op->state;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->splits = fl_xrealloc(s->splits, (size_t)s->cap * sizeof *s->splits);
    }
    csplit *sp = &s->splits[s->n++];
    memset(sp, 0, sizeof *sp);
    sp->max_ts = max_ts;
    sp->punct_wm = INT64_MIN;
    sp->last_activity_ms = fl_view_now_ms(op->view);
    return sp;
}

/* The split's own watermark (INT64_MIN: none yet). */
static int64_t split_watermark(const csrc *s, const csplit *sp)
{
    if (s->kind == FL_WM_PUNCTUATED)
        return sp->punct_wm;
    return sp->max_ts == INT64_MIN ? INT64_MIN : sp->max_ts - s->ooo - 1;
}

static void set_idle(fl_op *op, bool idle)
{
    csrc *s = op->state;
    if (s->idle != idle) {
        s->idle = idle;
        fl_op_forward_status(op, idle);
    }
}

/* The minimum over the active splits, or idleness when there is none. now_ms < 0: no
 * idleness check (a per-record update). */
static void update_watermark(fl_op *op, int64_t now_ms)
{
    csrc *s = op->state;
    int64_t min = INT64_MAX;
    bool active = false, unfinished = false;
    for (int i = 0; i < s->n; i++) {
        csplit *sp = &s->splits[i];
        if (sp->finished)
            continue;
        unfinished = true;
        if (now_ms >= 0) {
            if (sp->records != sp->records_at_check) {
                sp->records_at_check = sp->records;
                sp->last_activity_ms = now_ms;
                sp->idle = false;
            } else if (s->idle_ms > 0 && now_ms - sp->last_activity_ms >= s->idle_ms) {
                sp->idle = true;
            }
        }
        if (sp->idle)
            continue;
        active = true;
        int64_t wm = split_watermark(s, sp);
        if (wm < min)
            min = wm;
    }
    if (!active) {
        /* every split idle, or none assigned: do not hold the consumers back (a source
         * whose splits all finished ends instead, with the +inf watermark) */
        if (unfinished || s->n == 0)
            set_idle(op, true);
        return;
    }
    set_idle(op, false);
    if (s->kind && min != INT64_MIN && min > s->emitted_wm) {
        s->emitted_wm = min;
        op->watermark = min;
        fl_op_forward_watermark(op, min);
    }
}

/* The splits of a fresh start, once, before the first poll or snapshot. */
static bool ensure_started(fl_op *op)
{
    csrc *s = op->state;
    if (s->started)
        return true;
    s->started = true;
    if (!s->restored && s->def->discover && s->def->discover(&op->ctx) < 0) {
        if (!op->view->failure->failed)
            fl_op_fail(op, "%s: discovering its splits failed", op->ctx.name);
        return false;
    }
    return !op->view->failure->failed;
}

static int conn_poll(fl_op *op)
{
    csrc *s = op->state;
    if (FL_UNLIKELY(!s->started) && !ensure_started(op))
        return FL_SOURCE_END;
    return s->def->poll(&op->ctx);
}

static void conn_periodic(fl_op *op, int64_t now_ms)
{
    csrc *s = op->state;
    if (s->started)
        update_watermark(op, now_ms);
}

/* Item: the split's largest timestamp, then the reader's bytes of its position. */
static void conn_snapshot(fl_op *op, int64_t id, fl_items *items)
{
    csrc *s = op->state;
    if (!ensure_started(op))
        return;
    for (int i = 0; i < s->n; i++) {
        memcpy(s->scratch, &s->splits[i].max_ts, 8);
        uint32_t n = s->def->split_state(&op->ctx, i, s->scratch + 8, SPLIT_STATE_MAX - 8);
        if (n > SPLIT_STATE_MAX - 8) {
            fl_op_fail(op, "%s: split state of %u bytes (at most %d)", op->ctx.name, n,
                       SPLIT_STATE_MAX - 8);
            return;
        }
        fl_items_add(items, s->scratch, 8 + (size_t)n);
    }
}

static int conn_restore(fl_op *op, const ProtobufCBinaryData *items, size_t n, int64_t id,
                        fl_err *err)
{
    csrc *s = op->state;
    s->restored = true;
    for (size_t i = 0; i < n; i++) {
        int64_t max_ts;
        if (items[i].len < 8) {
            fl_err_set(err, "damaged source state of %s", op->ctx.name);
            return -1;
        }
        memcpy(&max_ts, items[i].data, 8);
        new_split(op, max_ts);
        if (s->def->add_split(&op->ctx, s->n - 1, items[i].data + 8,
                              (uint32_t)(items[i].len - 8)) < 0) {
            fl_err_set(err, "%s", op->view->failure->failed ? op->view->failure->error
                                                            : "restoring a split failed");
            return -1;
        }
    }
    return 0;
}

static void conn_complete(fl_op *op, int64_t id)
{
    csrc *s = op->state;
    if (s->def->checkpoint_complete)
        s->def->checkpoint_complete(&op->ctx, id);
}

static void conn_release(fl_op *op)
{
    csrc *s = op->state;
    if (!s)
        return;
    if (s->opened && s->def->close)
        s->def->close(&op->ctx);
    free(s->splits);
    free(s->scratch);
    free(s);
}

/* Set-up around def: the bundle's (fl_from_source) or a built-in one. */
static int conn_setup(fl_op *op, const fl_source_def *def, fl_err *err)
{
    const fl_task_view *v = op->view;
    csrc *s = fl_xcalloc(1, sizeof *s);
    op->state = s;
    s->def = def;
    if (!s->def || !s->def->poll || !s->def->add_split || !s->def->split_state) {
        fl_err_set(err, "source definition '%s' not found in the bundle, or without poll, "
                        "add_split and split_state", op->spec->fn);
        return -1;
    }
    s->emitted_wm = INT64_MIN;
    s->scratch = fl_xmalloc(SPLIT_STATE_MAX);
    const Fl__Pb__WatermarkSpec *w = op->spec->watermarks;
    if (w && w->kind) {
        s->kind = w->kind;
        s->ooo = w->kind == FL_WM_BOUNDED ? w->out_of_orderness_ms : 0;
        s->idle_ms = w->idle_timeout_ms;
        s->per_record = v->wm_interval_ms == 0;
        if (w->timestamp_fn && *w->timestamp_fn &&
            !(s->ts_fn = (fl_timestamp_fn)fl_bundle_sym(v->bundle, w->timestamp_fn))) {
            fl_err_set(err, "timestamp assigner '%s' not found in the bundle", w->timestamp_fn);
            return -1;
        }
        if (w->kind == FL_WM_PUNCTUATED &&
            !(s->punct_fn = (fl_punctuated_fn)fl_bundle_sym(v->bundle, w->punctuated_fn))) {
            fl_err_set(err, "watermark generator '%s' not found in the bundle", w->punctuated_fn);
            return -1;
        }
    }
    if (s->def->open && s->def->open(&op->ctx) < 0) {
        fl_err_set(err, "%s", v->failure->failed ? v->failure->error : "opening the source failed");
        s->opened = true; /* close what open made */
        return -1;
    }
    s->opened = true;
    return 0;
}

static int conn_init(fl_op *op, fl_err *err)
{
    return conn_setup(op, fl_bundle_sym(op->view->bundle, op->spec->fn), err);
}

static int text_file_init(fl_op *op, fl_err *err)
{
    return conn_setup(op, &fl_file_source_def, err);
}

const fl_op_ops fl_connector_source_ops = {
    .name = "connector source",
    .init = conn_init,
    .poll = conn_poll,
    .process_watermark = fl_op_default_watermark,
    .periodic = conn_periodic,
    .snapshot_state = conn_snapshot,
    .restore_state = conn_restore,
    .checkpoint_complete = conn_complete,
    .release = conn_release,
};

/* fl_read_text_file: the built-in file connector (sources.c) run the same way. */
const fl_op_ops fl_text_file_source_ops = {
    .name = "text file source",
    .init = text_file_init,
    .poll = conn_poll,
    .process_watermark = fl_op_default_watermark,
    .periodic = conn_periodic,
    .snapshot_state = conn_snapshot,
    .restore_state = conn_restore,
    .checkpoint_complete = conn_complete,
    .release = conn_release,
};

/* ---- the run-time calls of the source API ----------------------------------------- */

static int api_add_split(fl_ctx *ctx, const void *state, uint32_t len)
{
    fl_op *op = ctx->op;
    if (op->ops->poll != conn_poll) { /* any connector source, built-in or the bundle's */
        fl_op_ctx_fail(ctx, "fl_source_add_split outside a connector source");
        return -1;
    }
    csrc *s = op->state;
    new_split(op, INT64_MIN);
    if (s->def->add_split(ctx, s->n - 1, state, len) < 0) {
        s->n--;
        return -1;
    }
    return s->n - 1;
}

static void api_emit(fl_ctx *ctx, int split, const void *data, uint32_t len, int64_t ts)
{
    fl_op *op = ctx->op;
    csrc *s = op->state;
    if (FL_UNLIKELY((unsigned)split >= (unsigned)s->n)) {
        fl_op_ctx_fail(ctx, "fl_source_emit: no split %d (%d splits)", split, s->n);
        return;
    }
    csplit *sp = &s->splits[split];
    fl_rec r = {data, len, ts};
    if (s->ts_fn)
        ts = r.ts = s->ts_fn(&r);
    sp->records++;
    if (ts > sp->max_ts)
        sp->max_ts = ts;
    if (FL_UNLIKELY(sp->idle || s->idle)) {
        sp->idle = false;
        set_idle(op, false);
    }
    op->ctx.ts = ts;
    fl_out_emit(&op->out, data, len, ts);
    if (s->punct_fn) {
        int64_t wm = s->punct_fn(&r, ts);
        if (wm != FL_NO_WATERMARK && wm > sp->punct_wm)
            sp->punct_wm = wm;
    }
    if (s->per_record)
        update_watermark(op, -1);
}

static void api_split_finished(fl_ctx *ctx, int split)
{
    csrc *s = ctx->op->state;
    if ((unsigned)split < (unsigned)s->n)
        s->splits[split].finished = true;
}

static const char *api_job_id(const fl_ctx *ctx)
{
    return ctx->op->view->job_id;
}

static int64_t api_checkpoint_interval(const fl_ctx *ctx)
{
    const fl_task_view *v = ctx->op->view;
    if (!v->checkpointing)
        return 0;
    return fl_conf_get_duration_ms(v->conf, "execution.checkpointing.interval");
}

const fl_api_conn_ops fl_connector_api = {
    .add_split = api_add_split,
    .emit = api_emit,
    .split_finished = api_split_finished,
    .add_committable = fl_connector_sink_add_committable,
    .job_id = api_job_id,
    .checkpoint_interval = api_checkpoint_interval,
    .set_position = fl_custom_source_set_position,
    .restored_position = fl_custom_source_restored_position,
};
