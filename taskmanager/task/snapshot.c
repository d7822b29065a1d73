/* snapshot.c -- the task side of checkpoints (DESIGN.md §6, Chandy-Lamport as asynchronous
 * barrier snapshots; the protocol is in README.md here).
 *
 * A source task takes checkpoint n when the JobMaster triggers it: it snapshots its
 * operators (its position included) and emits barrier n on every output, in band, after
 * all records emitted before. A task with inputs takes it when its aligner (barrier.c)
 * says so, through the actions below (fl_task_aligner_ops): snapshot and forward the
 * barrier (aligned), or snapshot, send the barrier ahead of the queued output and record
 * the in-flight input until every channel's barrier came (unaligned, channel_state.c).
 *
 * The snapshot's synchronous part runs on the task thread: keyed backends capture a
 * consistent copy (hashmap: references to its chunks; rocksdb: its memtables switched, the
 * files of a local RocksDB checkpoint listed by the I/O thread), operator state and timers
 * are serialized. Writing the files happens on the
 * TaskManager's snapshot I/O thread, which then posts the acknowledgement (state handles)
 * to the TaskExecutor.
 *
 * With checkpointing on, a bounded source does not end at once: it waits for a checkpoint
 * that covers everything it emitted to complete, so two-phase-commit sinks commit all of it
 * exactly once (Flink's final checkpoint).
 */
#include "common/log.h"
#include "internal.h"
#include "op_host.h"

#include "proto/rpc.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one operator's part ---------------------------------------------------------- */

struct fl_op_snap {
    char *uid;                 /* the operator's uid, copied (any length) */
    int subtask;
    const fl_kbackend_ops *kops;
    fl_kb_snapshot *keyed;
    const fl_kbackend_ops *bops;
    fl_kb_snapshot *bcast;
    fl_items items;
    uint8_t *timers;
    size_t timers_len;
    /* written (fl_op_snap_write), pointed to by the OperatorSubtaskState */
    Fl__Pb__KeyedStateHandle *keyed_handle, *bcast_handle;
    ProtobufCBinaryData *item_data;
};

fl_op_snap *fl_op_snapshot(fl_op *op, const fl_snapshot_ctx *sc, fl_err *err)
{
    fl_op_snap *s = fl_xcalloc(1, sizeof *s);
    s->uid = fl_xstrdup(op->spec->uid);
    s->subtask = op->view->subtask;
    if (op->ctx.kb) {
        s->kops = op->ctx.kb->ops;
        if (!(s->keyed = s->kops->snapshot(op->ctx.kb, sc, err)))
            goto fail;
    }
    if (op->bcast_kb) {
        char bprefix[320];
        fl_snapshot_ctx bsc = *sc;
        snprintf(bprefix, sizeof bprefix, "%s-broadcast", sc->prefix);
        bsc.prefix = bprefix;
        s->bops = op->bcast_kb->ops;
        if (!(s->bcast = s->bops->snapshot(op->bcast_kb, &bsc, err)))
            goto fail;
    }
    if (op->timers)
        fl_timers_serialize(op->timers, &s->timers, &s->timers_len);
    if (op->ops->snapshot_state)
        op->ops->snapshot_state(op, sc->checkpoint_id, &s->items);
    return s;
fail:
    fl_op_snap_free(s);
    return NULL;
}

/* Writes one backend's snapshot; its handle into *out. */
static int write_backend(const fl_kbackend_ops *kops, fl_kb_snapshot *snap,
                         Fl__Pb__KeyedStateHandle **out, uint64_t *size, fl_err *err)
{
    uint8_t *packed;
    size_t plen;
    if (kops->snapshot_write(snap, &packed, &plen, err) < 0)
        return -1;
    *out = fl__pb__keyed_state_handle__unpack(NULL, plen, packed);
    free(packed);
    if (!*out) {
        fl_err_set(err, "a state backend returned a bad handle");
        return -1;
    }
    *size += (*out)->incremental_size;
    return 0;
}

int fl_op_snap_write(fl_op_snap *s, Fl__Pb__OperatorSubtaskState *st, uint64_t *size,
                     fl_err *err)
{
    fl__pb__operator_subtask_state__init(st);
    st->uid = s->uid;
    st->subtask = s->subtask;
    if (s->keyed) {
        if (write_backend(s->kops, s->keyed, &s->keyed_handle, size, err) < 0)
            return -1;
        st->n_keyed = 1;
        st->keyed = &s->keyed_handle;
    }
    if (s->bcast) {
        if (write_backend(s->bops, s->bcast, &s->bcast_handle, size, err) < 0)
            return -1;
        st->n_broadcast = 1;
        st->broadcast = &s->bcast_handle;
    }
    s->item_data = fl_xcalloc((size_t)s->items.n + 1, sizeof *s->item_data);
    for (int k = 0; k < s->items.n; k++) {
        s->item_data[k].data = s->items.v[k];
        s->item_data[k].len = s->items.len[k];
        *size += s->items.len[k];
    }
    st->n_operator_state = (size_t)s->items.n;
    st->operator_state = s->item_data;
    st->timers.data = s->timers;
    st->timers.len = s->timers_len;
    *size += s->timers_len;
    return 0;
}

void fl_op_snap_free(fl_op_snap *s)
{
    if (!s)
        return;
    if (s->keyed)
        s->kops->snapshot_free(s->keyed);
    if (s->bcast)
        s->bops->snapshot_free(s->bcast);
    if (s->keyed_handle)
        fl__pb__keyed_state_handle__free_unpacked(s->keyed_handle, NULL);
    if (s->bcast_handle)
        fl__pb__keyed_state_handle__free_unpacked(s->bcast_handle, NULL);
    fl_items_clear(&s->items);
    free(s->item_data);
    free(s->timers);
    free(s->uid);
    free(s);
}

/* The handles of st, packed again for the backend's restore. */
static int restore_backend(fl_kbackend *kb, const char *dir,
                           Fl__Pb__KeyedStateHandle *const *handles, size_t n, fl_err *err)
{
    const uint8_t **h = fl_xcalloc(n, sizeof *h);
    size_t *lens = fl_xcalloc(n, sizeof *lens);
    uint8_t **packed = fl_xcalloc(n, sizeof *packed);
    for (size_t k = 0; k < n; k++) {
        lens[k] = protobuf_c_message_get_packed_size(&handles[k]->base);
        packed[k] = fl_xmalloc(lens[k]);
        protobuf_c_message_pack(&handles[k]->base, packed[k]);
        h[k] = packed[k];
    }
    int rc = kb->ops->restore(kb, dir, h, lens, n, err);
    for (size_t k = 0; k < n; k++)
        free(packed[k]);
    free(packed);
    free(lens);
    free(h);
    return rc;
}

int fl_op_restore(fl_op *op, const Fl__Pb__OperatorSubtaskState *st,
                  const char *checkpoint_dir, int64_t checkpoint_id, fl_err *err)
{
    if (op->ops->restore_state &&
        op->ops->restore_state(op, st->operator_state, st->n_operator_state, checkpoint_id,
                               err) < 0) {
        fl_err_prefix(err, "restoring %s", op->ctx.name);
        return -1;
    }
    if (op->ctx.kb && st->n_keyed &&
        restore_backend(op->ctx.kb, checkpoint_dir, st->keyed, st->n_keyed, err) < 0) {
        fl_err_prefix(err, "restoring %s", op->ctx.name);
        return -1;
    }
    /* one broadcast handle: every subtask holds the same broadcast state */
    if (op->bcast_kb && st->n_broadcast &&
        restore_backend(op->bcast_kb, checkpoint_dir, st->broadcast, 1, err) < 0)
        return -1;
    if (op->timers && st->timers.len &&
        fl_timers_restore(op->timers, st->timers.data, st->timers.len,
                          op->ctx.kb ? op->ctx.kb->kg_first : 0,
                          op->ctx.kb ? op->ctx.kb->kg_last : op->view->max_parallelism - 1) < 0) {
        fl_err_set(err, "restoring %s: damaged timers", op->ctx.name);
        return -1;
    }
    return 0;
}

/* ---- a task's checkpoint ---------------------------------------------------------- */

/* Every operator's part, carried to the I/O thread. */
typedef struct ckpt_job {
    char job_id[40];
    int attempt, vertex, subtask;
    int64_t id;
    int nops;
    fl_op_snap **ops;
    int64_t sync_ms, alignment_ms, started_ns;
    int64_t start_delay_ms;   /* trigger (JobManager's clock) -> first barrier here */
    fl_endpoint *owner;
    fl_mail_fn on_ack;
    char error[600];
    char tm[160];             /* "TaskManager <resource id>": declines name where they failed */
    fl_items channel;         /* unaligned: in-flight data, stored with the first operator */
} ckpt_job;

void fl_ckpt_ack_free(void *arg)
{
    fl_ckpt_ack *a = arg;
    if (a)
        free(a->msg);
    free(a);
}

static void free_job(ckpt_job *j)
{
    for (int i = 0; i < j->nops; i++)
        fl_op_snap_free(j->ops[i]);
    free(j->ops);
    fl_items_clear(&j->channel);
    free(j);
}

static void drop_job(void *arg)
{
    free_job(arg);
}

static void post_ack(fl_endpoint *owner, fl_mail_fn on_ack, Fl__Pb__AcknowledgeCheckpoint *a)
{
    fl_ckpt_ack *ack = fl_xmalloc(sizeof *ack);
    ack->len = protobuf_c_message_get_packed_size(&a->base);
    ack->msg = fl_xmalloc(ack->len);
    protobuf_c_message_pack(&a->base, ack->msg);
    fl_endpoint_post(owner, on_ack, ack, fl_ckpt_ack_free);
}

static void post_decline(fl_task *t, int64_t id, const char *why)
{
    Fl__Pb__AcknowledgeCheckpoint a = FL__PB__ACKNOWLEDGE_CHECKPOINT__INIT;
    a.job_id = (char *)t->tdd->job_id;
    a.attempt = t->tdd->attempt;
    a.checkpoint_id = id;
    a.vertex = t->tdd->vertex->id;
    a.subtask = t->view.subtask;
    char reason[800];
    snprintf(reason, sizeof reason, "on TaskManager %.120s: %s", t->env.resource_id, why);
    a.declined = true;
    a.reason = reason;
    post_ack(t->env.owner, t->env.on_ack, &a);
}

/* The I/O thread: writes every file, then acknowledges with the handles. */
static void write_job(void *ctx, void *arg)
{
    ckpt_job *j = arg;
    fl_err err;
    int64_t t0 = fl_mono_ns();
    Fl__Pb__AcknowledgeCheckpoint a = FL__PB__ACKNOWLEDGE_CHECKPOINT__INIT;
    Fl__Pb__OperatorSubtaskState **ops = fl_xcalloc((size_t)j->nops + 1, sizeof *ops);
    Fl__Pb__OperatorSubtaskState *states = fl_xcalloc((size_t)j->nops + 1, sizeof *states);
    bool failed = false;
    uint64_t size = 0;
    for (int i = 0; i < j->nops && !failed; i++) {
        Fl__Pb__OperatorSubtaskState *st = &states[i];
        if (fl_op_snap_write(j->ops[i], st, &size, &err) < 0) {
            snprintf(j->error, sizeof j->error, "%.590s", err.msg);
            failed = true;
            break;
        }
        if (i == 0 && j->channel.n) {
            st->n_channel_state = (size_t)j->channel.n;
            st->channel_state = fl_xcalloc((size_t)j->channel.n, sizeof *st->channel_state);
            for (int k = 0; k < j->channel.n; k++) {
                st->channel_state[k].data = j->channel.v[k];
                st->channel_state[k].len = j->channel.len[k];
                size += j->channel.len[k];
                a.persisted_bytes += j->channel.len[k];
            }
        }
        ops[i] = st;
    }
    a.job_id = j->job_id;
    a.attempt = j->attempt;
    a.checkpoint_id = j->id;
    a.vertex = j->vertex;
    a.subtask = j->subtask;
    char reason[800];
    if (failed) {
        snprintf(reason, sizeof reason, "%s: %s", j->tm, j->error);
        a.declined = true;
        a.reason = reason;
    } else {
        a.n_operators = (size_t)j->nops;
        a.operators = ops;
        a.state_size = size;
        a.sync_ms = (uint64_t)j->sync_ms;
        a.async_ms = (uint64_t)((fl_mono_ns() - t0) / 1000000);
        a.alignment_ms = (uint64_t)j->alignment_ms;
        a.start_delay_ms = (uint64_t)j->start_delay_ms;
    }
    post_ack(j->owner, j->on_ack, &a);
    if (j->nops)
        free(states[0].channel_state);
    free(states);
    free(ops);
    free_job(j);
}

/* The synchronous part: every operator's state into a job for the I/O thread. */
static ckpt_job *take_snapshot(fl_task *t, const fl_ckpt_request *r, fl_err *err)
{
    ckpt_job *j = fl_xcalloc(1, sizeof *j);
    snprintf(j->job_id, sizeof j->job_id, "%s", t->tdd->job_id);
    snprintf(j->tm, sizeof j->tm, "on TaskManager %.120s", t->env.resource_id);
    j->attempt = t->tdd->attempt;
    j->vertex = t->tdd->vertex->id;
    j->subtask = t->view.subtask;
    j->id = r->id;
    j->owner = t->env.owner;
    j->on_ack = t->env.on_ack;
    j->ops = fl_xcalloc((size_t)t->nops + 1, sizeof *j->ops);
    j->alignment_ms = t->aligner.start_ns ? (fl_mono_ns() - t->aligner.start_ns) / 1000000 : 0;
    j->started_ns = fl_mono_ns();
    /* the first barrier came alignment_ms ago; clocks of two hosts may disagree: never < 0 */
    j->start_delay_ms = FL_MAX(0, fl_now_ms() - j->alignment_ms - r->ts);
    t->aligner.start_ns = 0;
    for (int i = 0; i < t->nops; i++) {
        char prefix[300];
        snprintf(prefix, sizeof prefix, "v%d-s%d-op%d", j->vertex, j->subtask, i);
        fl_snapshot_ctx sc = {
            r->dir, r->shared_dir, prefix, r->id,
            fl_conf_get_bool(t->conf, "state.backend.incremental"), r->savepoint,
            fl_conf_get_bool(t->conf, "execution.checkpointing.snapshot-compression")};
        if (!(j->ops[i] = fl_op_snapshot(&t->ops[i], &sc, err))) {
            free_job(j);
            return NULL;
        }
        j->nops = i + 1;
    }
    return j;
}

static void post_job(fl_task *t, ckpt_job *j)
{
    j->sync_ms = (fl_mono_ns() - j->started_ns) / 1000000;
    fl_endpoint_post(t->env.io, write_job, j, drop_job);
}

/* An unaligned checkpoint still recording is given up: its recorded input too. */
static void drop_unaligned(fl_task *t)
{
    if (!t->ua_job)
        return;
    free_job(t->ua_job);
    t->ua_job = NULL;
    fl_task_drop_recorded_input(t);
}

/* ---- what the aligner has the task do --------------------------------------------- */

static void act_block(void *arg, int g, int c)
{
    fl_task *t = arg;
    fl_gate_block(t->gates[g], c);
}

static void act_unblock(void *arg, int g, int c)
{
    fl_task *t = arg;
    fl_gate_unblock(t->gates[g], c);
}

/* Aligned: snapshot, then the barrier on every output, ahead of later records. */
static void act_checkpoint(void *arg, const fl_ckpt_request *r)
{
    fl_task *t = arg;
    fl_err err;
    uint8_t payload[FL_EVENT_MAX_PAYLOAD];
    uint32_t plen = fl_barrier_encode(r, payload, sizeof payload);
    if (!plen) { /* before the snapshot: nothing of it has happened */
        post_decline(t, r->id, "the checkpoint directories are too long for a barrier");
        return;
    }
    ckpt_job *j = take_snapshot(t, r, &err);
    if (!j) {
        post_decline(t, r->id, err.msg);
        return;
    }
    for (int k = 0; k < t->nwriters; k++)
        fl_writer_event(&t->writers[k], FL_EV_BARRIER, payload, plen);
    post_job(t, j);
}

/* Unaligned: snapshot at once, the barrier AHEAD of the data queued in the output
 * partitions (that data becomes output channel state), then the input is recorded until
 * every channel's barrier came (fl_task_persist_input). */
static bool act_start_unaligned(void *arg, const fl_ckpt_request *r)
{
    fl_task *t = arg;
    fl_err err;
    if (t->ua_job) { /* an older one still recording: give it up */
        post_decline(t, t->ua_job->id, "a newer checkpoint started");
        drop_unaligned(t);
    }
    uint8_t payload[FL_EVENT_MAX_PAYLOAD];
    uint32_t plen = fl_barrier_encode(r, payload, sizeof payload);
    ckpt_job *j = plen ? take_snapshot(t, r, &err) : NULL;
    if (!j) {
        post_decline(t, r->id, plen ? err.msg : "the checkpoint directories are too long for a "
                                                "barrier");
        return false;
    }
    fl_task_capture_output(t, &j->channel, payload, plen);
    t->ua_job = j;
    return true;
}

static void act_finish_unaligned(void *arg)
{
    fl_task *t = arg;
    ckpt_job *j = t->ua_job;
    fl_task_take_recorded_input(t, &j->channel);
    t->ua_job = NULL;
    post_job(t, j);
}

static void act_decline(void *arg, int64_t id, const char *why)
{
    fl_task *t = arg;
    post_decline(t, id, why);
    if (t->ua_job && t->ua_job->id == id)
        drop_unaligned(t);
}

const fl_aligner_ops fl_task_aligner_ops = {
    .block = act_block,
    .unblock = act_unblock,
    .checkpoint = act_checkpoint,
    .start_unaligned = act_start_unaligned,
    .finish_unaligned = act_finish_unaligned,
    .decline = act_decline,
};

void fl_task_checkpoint_free(fl_task *t)
{
    if (t->ua_job)
        free_job(t->ua_job);
    t->ua_job = NULL;
    fl_bytes_free(&t->ua_in[0]);
    fl_bytes_free(&t->ua_in[1]);
}

/* ---- mails from the TaskExecutor -------------------------------------------------- */

typedef struct trigger_mail {
    fl_ckpt_request r;
} trigger_mail;

static void run_trigger(void *ctx, void *arg)
{
    fl_task *t = ctx;
    trigger_mail *m = arg;
    if (m->r.id > t->aligner.last && !fl_task_should_stop(t)) {
        /* stop --drain (Flink's): the end of event time goes first, so that every window
         * and event-time timer downstream fires before the savepoint's barrier */
        if (m->r.drain && t->nops > 0)
            fl_op_advance_watermark(&t->ops[0], FL_WATERMARK_MAX);
        fl_aligner_trigger(&t->aligner, &m->r);
        if (t->final_checkpoint < 0) /* a finished source: this one covers its end */
            t->final_checkpoint = m->r.id;
    }
    free(m);
}

void fl_task_trigger_checkpoint(fl_task *t, const fl_ckpt_request *r)
{
    trigger_mail *m = fl_xmalloc(sizeof *m);
    m->r = *r;
    fl_mailbox_post(t->mb, run_trigger, m, free);
}

typedef struct notify_mail {
    int64_t id;
    bool aborted;
} notify_mail;

static void run_notify(void *ctx, void *arg)
{
    fl_task *t = ctx;
    notify_mail *m = arg;
    if (!m->aborted && m->id > t->completed) {
        t->completed = m->id;
        for (int i = 0; i < t->nops; i++) {
            fl_op *op = &t->ops[i];
            if (op->ops->checkpoint_complete)
                op->ops->checkpoint_complete(op, m->id);
            if (op->ctx.kb)
                op->ctx.kb->ops->notify_complete(op->ctx.kb, m->id);
        }
    }
    free(m);
}

void fl_task_notify_checkpoint(fl_task *t, int64_t id, bool aborted)
{
    notify_mail *m = fl_xmalloc(sizeof *m);
    m->id = id;
    m->aborted = aborted;
    fl_mailbox_post(t->mb, run_notify, m, free);
}

/* ---- restoring -------------------------------------------------------------------- */

int fl_task_restore(fl_task *t, fl_err *err)
{
    const Fl__Pb__TaskRestore *r = t->tdd->restore;
    if (!r)
        return 0;
    t->aligner.last = t->completed = r->checkpoint_id;
    for (int i = 0; i < t->nops; i++) {
        fl_op *op = &t->ops[i];
        const Fl__Pb__OperatorSubtaskState *st = NULL;
        for (size_t k = 0; k < r->n_operators; k++)
            if (!strcmp(r->operators[k]->uid, op->spec->uid))
                st = r->operators[k];
        if (!st) /* not in the checkpoint (a new operator, or -n): starts afresh */
            continue;
        if (fl_op_restore(op, st, r->checkpoint_dir, r->checkpoint_id, err) < 0)
            return -1;
    }
    return 0;
}
