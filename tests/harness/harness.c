/* harness.c -- the operator test harness (harness.h). The operator's outputs feed
 * collectors: operators of a kind of their own that record what reaches them. Everything
 * runs on the caller's thread.
 */
#include "harness.h"
#include "common/pbarena.h"
#include "common/util.h"
#include "jobmanager/checkpoint_coordinator.h"
#include "taskmanager/task/op_host.h"

#include "proto/checkpoint.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SIDES 4

struct fl_harness {
    fl_op op;
    fl_failure failure;
    fl_task_view view;
    fl_conf *conf;
    fl_bundle bundle;         /* none: functions are found in the test binary */
    char name[64];
    char dir[256];
    int64_t now_ms;
    fl_op collector;          /* the main output's */
    fl_harness_output out;
    fl_op side_collectors[MAX_SIDES];
    fl_harness_output sides[MAX_SIDES];
    const char *side_tags[MAX_SIDES];
    int nsides;
    int64_t input_wm[2];
    bool opened;
};

/* ---- collectors ------------------------------------------------------------------- */

static fl_harness_elem *push_elem(fl_harness_output *o, fl_harness_kind kind, int64_t at)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->v = fl_xrealloc(o->v, (size_t)o->cap * sizeof *o->v);
    }
    fl_harness_elem *e = &o->v[o->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->at = at;
    return e;
}

static void collect_record(fl_op *op, const fl_rec *in)
{
    fl_harness_output *o = op->state;
    fl_harness_elem *e = push_elem(o, FL_HARNESS_RECORD, in->ts);
    e->len = in->len;
    e->data = fl_xmalloc(in->len ? in->len : 1);
    if (in->len)
        memcpy(e->data, in->data, in->len);
    o->nrecords++;
}

static void collect_watermark(fl_op *op, int64_t wm)
{
    push_elem(op->state, FL_HARNESS_WATERMARK, wm);
}

static const fl_op_ops collector_ops = {
    .name = "harness collector",
    .process = collect_record,
    .process_watermark = collect_watermark,
};

static void collector_init(fl_op *c, fl_harness *h, fl_harness_output *o)
{
    memset(c, 0, sizeof *c);
    c->ops = &collector_ops;
    c->view = &h->view;
    c->state = o;
    c->watermark = FL_NO_WATERMARK;
}

static void output_clear(fl_harness_output *o)
{
    for (int i = 0; i < o->n; i++)
        free(o->v[i].data);
    o->n = o->nrecords = 0;
}

/* ---- checkpoints ------------------------------------------------------------------ */

void fl_harness_ckpt_init(fl_harness_ckpt *c, const char *base, int64_t id)
{
    fl_err err;
    memset(c, 0, sizeof *c);
    c->id = id;
    snprintf(c->dir, sizeof c->dir, "%s/chk-%lld", base, (long long)id);
    snprintf(c->shared_dir, sizeof c->shared_dir, "%s/shared", base);
    if (fl_mkdirs(c->dir, &err) < 0 || fl_mkdirs(c->shared_dir, &err) < 0)
        fprintf(stderr, "harness: %s\n", err.msg);
}

void fl_harness_ckpt_free(fl_harness_ckpt *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->states[i]);
    free(c->states);
    free(c->lens);
    c->states = NULL;
    c->lens = NULL;
    c->n = 0;
}

static void ckpt_add(fl_harness_ckpt *c, const Fl__Pb__OperatorSubtaskState *st)
{
    c->states = fl_xrealloc(c->states, (size_t)(c->n + 1) * sizeof *c->states);
    c->lens = fl_xrealloc(c->lens, (size_t)(c->n + 1) * sizeof *c->lens);
    c->lens[c->n] = protobuf_c_message_get_packed_size(&st->base);
    c->states[c->n] = fl_xmalloc(c->lens[c->n] + 1);
    protobuf_c_message_pack(&st->base, c->states[c->n]);
    c->n++;
}

/* This subtask's share of c, as the JobMaster assigns it (fl_cc_task_restore). */
static int restore(fl_harness *h, const Fl__Pb__OperatorSpec *spec, const fl_harness_ckpt *c,
                   fl_err *err)
{
    int rc = 0;
    fl_arena arena = {0};
    Fl__Pb__OperatorSubtaskState **subs = fl_xcalloc((size_t)c->n + 1, sizeof *subs);
    for (int i = 0; i < c->n; i++)
        if (!(subs[i] = fl__pb__operator_subtask_state__unpack(NULL, c->lens[i], c->states[i]))) {
            fl_err_set(err, "harness: a snapshot of the checkpoint does not decode");
            rc = -1;
            goto out;
        }
    Fl__Pb__OperatorState os = FL__PB__OPERATOR_STATE__INIT;
    Fl__Pb__OperatorState *osp = &os;
    os.uid = spec->uid;
    os.parallelism = c->parallelism;
    os.max_parallelism = c->max_parallelism;
    os.n_subtasks = (size_t)c->n;
    os.subtasks = subs;
    Fl__Pb__CheckpointMetadata meta = FL__PB__CHECKPOINT_METADATA__INIT;
    meta.checkpoint_id = c->id;
    meta.n_operators = 1;
    meta.operators = &osp;
    Fl__Pb__OperatorSpec *chain[1] = {(Fl__Pb__OperatorSpec *)spec};
    Fl__Pb__JobVertex jv = FL__PB__JOB_VERTEX__INIT;
    jv.n_chain = 1;
    jv.chain = chain;
    jv.parallelism = h->view.parallelism;
    jv.max_parallelism = h->view.max_parallelism;
    Fl__Pb__TaskRestore *r = fl_cc_task_restore(&arena, &meta, c->dir, &jv, h->view.subtask);
    if (r && r->n_operators)
        rc = fl_op_restore(&h->op, r->operators[0], r->checkpoint_dir, r->checkpoint_id, err);
out:
    for (int i = 0; i < c->n; i++)
        if (subs[i])
            fl__pb__operator_subtask_state__free_unpacked(subs[i], NULL);
    free(subs);
    fl_arena_free(&arena);
    return rc;
}

/* ---- the harness ------------------------------------------------------------------ */

static int64_t harness_clock(void *arg)
{
    return ((fl_harness *)arg)->now_ms;
}

fl_harness *fl_harness_new(const Fl__Pb__OperatorSpec *spec, const fl_harness_opts *opts,
                           fl_err *err)
{
    fl_harness *h = fl_xcalloc(1, sizeof *h);
    const char *tmp = getenv("TMPDIR");
    char v[64];
    fl_task_install_api();
    snprintf(h->dir, sizeof h->dir, "%s/flint-harness-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(h->dir)) {
        fl_err_set(err, "harness: mkdtemp(%s) failed", h->dir);
        h->dir[0] = '\0';
        goto fail;
    }
    h->conf = fl_conf_new();
    fl_conf_set(h->conf, "state.backend.type", opts->backend ? opts->backend : "hashmap", NULL);
    snprintf(v, sizeof v, "%lld ms", (long long)opts->wm_interval_ms);
    fl_conf_set(h->conf, "pipeline.auto-watermark-interval", v, NULL);
    if (opts->checkpointing)
        fl_conf_set(h->conf, "execution.checkpointing.interval", "1 s", NULL);
    h->now_ms = opts->now_ms;
    atomic_init(&h->failure.cancelled, false);
    int parallelism = opts->parallelism > 0 ? opts->parallelism : 1;
    snprintf(h->name, sizeof h->name, "harness (%d/%d)", opts->subtask + 1, parallelism);
    h->view = (fl_task_view){
        .job_id = "0123456789abcdef0123456789abcdef",
        .vertex = 0,
        .subtask = opts->subtask,
        .parallelism = parallelism,
        .max_parallelism = opts->max_parallelism > 0 ? opts->max_parallelism : 128,
        .name = h->name,
        .conf = h->conf,
        .bundle = &h->bundle,
        .wm_interval_ms = opts->wm_interval_ms,
        .checkpointing = opts->checkpointing,
        .failover = opts->failover,
        .clock_ms = opts->wall_clock ? NULL : harness_clock,
        .clock_arg = h,
        .failure = &h->failure,
    };
    h->input_wm[0] = h->input_wm[1] = FL_NO_WATERMARK;
    if (fl_op_assemble(&h->op, spec, &h->view, 0, h->dir, err) < 0)
        goto fail;
    collector_init(&h->collector, h, &h->out);
    fl_out_connect_op(&h->op.out, &h->collector);
    for (int i = 0; i < MAX_SIDES && opts->side_tags[i]; i++) {
        collector_init(&h->side_collectors[i], h, &h->sides[i]);
        h->side_tags[i] = opts->side_tags[i];
        fl_out_connect_op(fl_op_add_side(&h->op, opts->side_tags[i]), &h->side_collectors[i]);
        h->nsides++;
    }
    if (opts->restore && restore(h, spec, opts->restore, err) < 0)
        goto fail;
    fl_op_open(&h->op);
    h->opened = true;
    if (h->failure.failed) {
        fl_err_set(err, "%s", h->failure.error);
        goto fail;
    }
    return h;
fail:
    fl_harness_free(h);
    return NULL;
}

int fl_harness_free(fl_harness *h)
{
    if (!h)
        return 0;
    if (h->opened)
        fl_op_close(&h->op);
    fl_op_release(&h->op);
    output_clear(&h->out);
    free(h->out.v);
    for (int i = 0; i < h->nsides; i++) {
        output_clear(&h->sides[i]);
        free(h->sides[i].v);
    }
    fl_conf_free(h->conf);
    int rc = h->dir[0] ? rmdir(h->dir) : 0;
    if (rc < 0)
        fprintf(stderr, "harness: %s is not empty\n", h->dir);
    free(h);
    return rc;
}

static int status(const fl_harness *h)
{
    return h->failure.failed ? -1 : 0;
}

int fl_harness_process(fl_harness *h, const void *data, uint32_t len, int64_t ts)
{
    fl_rec r = {data, len, ts};
    h->op.ops->process(&h->op, &r);
    return status(h);
}

int fl_harness_process2(fl_harness *h, const void *data, uint32_t len, int64_t ts)
{
    fl_rec r = {data, len, ts};
    if (!h->op.ops->process2) {
        fl_fail(&h->failure, "harness: %s has one input", h->op.ops->name);
        return -1;
    }
    h->op.ops->process2(&h->op, &r);
    return status(h);
}

/* As the task: a one-input operator takes its input's watermark; a two-input one the
 * minimum of both inputs'. */
static int watermark(fl_harness *h, int k, int64_t wm)
{
    if (wm <= h->input_wm[k])
        return status(h);
    h->input_wm[k] = wm;
    if (!h->op.ops->process2) {
        fl_op_advance_watermark(&h->op, wm);
        return status(h);
    }
    h->op.input_wm[k] = wm;
    fl_op_advance_watermark(&h->op, FL_MIN(h->input_wm[0], h->input_wm[1]));
    return status(h);
}

int fl_harness_watermark(fl_harness *h, int64_t wm)
{
    return watermark(h, 0, wm);
}

int fl_harness_watermark2(fl_harness *h, int64_t wm)
{
    return watermark(h, 1, wm);
}

int fl_harness_set_processing_time(fl_harness *h, int64_t now_ms)
{
    h->now_ms = now_ms; /* with the wall clock: the time the work runs for */
    if (h->op.ops->periodic)
        h->op.ops->periodic(&h->op, now_ms);
    if (h->op.timers && h->op.ops->on_timer)
        fl_op_fire_timers(&h->op, FL_TIMER_PROCESSING, now_ms);
    return status(h);
}

int fl_harness_poll(fl_harness *h, int *st)
{
    if (!h->op.ops->poll) {
        fl_fail(&h->failure, "harness: %s is not a source", h->op.ops->name);
        return -1;
    }
    *st = h->op.ops->poll(&h->op);
    return status(h);
}

int fl_harness_finish(fl_harness *h)
{
    if (h->op.ops->finish)
        h->op.ops->finish(&h->op);
    return status(h);
}

int fl_harness_barrier(fl_harness *h, fl_harness_ckpt *c)
{
    fl_err err;
    char prefix[64];
    uint64_t size = 0;
    Fl__Pb__OperatorSubtaskState st;
    snprintf(prefix, sizeof prefix, "v0-s%d-op0", h->view.subtask);
    fl_snapshot_ctx sc = {
        c->dir, c->shared_dir, prefix, c->id,
        fl_conf_get_bool(h->conf, "state.backend.incremental"), false,
        fl_conf_get_bool(h->conf, "execution.checkpointing.snapshot-compression")};
    fl_op_snap *s = fl_op_snapshot(&h->op, &sc, &err);
    if (!s || fl_op_snap_write(s, &st, &size, &err) < 0) {
        fl_fail(&h->failure, "harness: snapshot %lld: %s", (long long)c->id, err.msg);
        fl_op_snap_free(s);
        return -1;
    }
    ckpt_add(c, &st);
    c->parallelism = h->view.parallelism;
    c->max_parallelism = h->view.max_parallelism;
    fl_op_snap_free(s);
    push_elem(&h->out, FL_HARNESS_BARRIER, c->id);
    return status(h);
}

int fl_harness_notify_complete(fl_harness *h, int64_t id)
{
    if (h->op.ops->checkpoint_complete)
        h->op.ops->checkpoint_complete(&h->op, id);
    if (h->op.ctx.kb)
        h->op.ctx.kb->ops->notify_complete(h->op.ctx.kb, id);
    return status(h);
}

const fl_harness_output *fl_harness_get_output(const fl_harness *h)
{
    return &h->out;
}

const fl_harness_output *fl_harness_get_side_output(const fl_harness *h, const char *tag)
{
    for (int i = 0; i < h->nsides; i++)
        if (!strcmp(h->side_tags[i], tag))
            return &h->sides[i];
    return NULL;
}

const fl_harness_elem *fl_harness_record(const fl_harness_output *out, int i)
{
    for (int k = 0; k < out->n; k++)
        if (out->v[k].kind == FL_HARNESS_RECORD && i-- == 0)
            return &out->v[k];
    return NULL;
}

void fl_harness_clear_output(fl_harness *h)
{
    output_clear(&h->out);
    for (int i = 0; i < h->nsides; i++)
        output_clear(&h->sides[i]);
}

const char *fl_harness_error(const fl_harness *h)
{
    return h->failure.failed ? h->failure.error : NULL;
}

fl_op *fl_harness_op(fl_harness *h)
{
    return &h->op;
}

const char *fl_harness_dir(const fl_harness *h)
{
    return h->dir;
}
