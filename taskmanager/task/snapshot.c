/* checkpoint.c -- the task side of checkpoints (DESIGN.md §6, Chandy-Lamport as
 * asynchronous barrier snapshots).
 *
 * A source task takes checkpoint n when the JobMaster triggers it: it snapshots its
 * operators (its position included) and emits barrier n on every output, in band, after
 * all records emitted before. A task with inputs aligns: in EXACTLY_ONCE mode a channel
 * that delivered barrier n is blocked until barrier n arrived on every channel (a channel
 * that ended counts as arrived); in AT_LEAST_ONCE mode nothing is blocked, the barriers
 * are only counted. Then the task snapshots and forwards the barrier. A newer barrier
 * overtaking an unfinished alignment aborts it (the older checkpoint is declined).
 *
 * The snapshot's synchronous part runs on the task thread: keyed backends capture a
 * consistent copy (hashmap: into memory; rocksdb: a local RocksDB checkpoint), operator
 * state and timers are serialized. Writing the files happens on the TaskManager's snapshot
 * I/O thread, which then posts the acknowledgement (state handles) to the TaskExecutor.
 *
 * With checkpointing on, a bounded source does not end at once: it waits for a checkpoint
 * that covers everything it emitted to complete, so two-phase-commit sinks commit all of it
 * exactly once (Flink's final checkpoint).
 */
#include "checkpoint.pb-c.h"
#include "keygroup.h"
#include "log.h"
#include "rpc.pb-c.h"
#include "task/task_internal.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One operator's part, carried to the I/O thread. */
typedef struct op_snap {
    char *uid;                 /* the operator's uid, copied (any length) */
    const fl_kbackend_ops *kops;
    fl_kb_snapshot *keyed;
    const fl_kbackend_ops *bops;
    fl_kb_snapshot *bcast;
    fl_items items;
    uint8_t *timers;
    size_t timers_len;
} op_snap;

typedef struct ckpt_job {
    char job_id[40];
    int attempt, vertex, subtask;
    int64_t id;
    int nops;
    op_snap *ops;
    int64_t sync_ms, alignment_ms, started_ns;
    fl_endpoint *owner;
    fl_mail_fn on_ack;
    char error[600];
    char tm[160];             /* "TaskManager <resource id>": declines name where they failed */
    fl_items channel;         /* unaligned: in-flight data, stored with the first operator */
} ckpt_job;

static void unaligned_start(fl_task *t, const fl_ckpt_request *r);
static void unaligned_channel_done(fl_task *t, int g, int c);

/* ---- operator-state items --------------------------------------------------------- */

void fl_items_add(fl_items *it, const void *data, size_t len)
{
    if (it->n == it->cap) {
        it->cap = it->cap ? it->cap * 2 : 8;
        it->v = fl_xrealloc(it->v, (size_t)it->cap * sizeof *it->v);
        it->len = fl_xrealloc(it->len, (size_t)it->cap * sizeof *it->len);
    }
    it->v[it->n] = fl_xmalloc(len ? len : 1);
    memcpy(it->v[it->n], data, len);
    it->len[it->n++] = len;
}

void fl_items_clear(fl_items *it)
{
    for (int i = 0; i < it->n; i++)
        free(it->v[i]);
    free(it->v);
    free(it->len);
    memset(it, 0, sizeof *it);
}

void fl_ckpt_ack_free(void *arg)
{
    fl_ckpt_ack *a = arg;
    if (a)
        free(a->msg);
    free(a);
}

/* ---- backends --------------------------------------------------------------------- */

fl_kbackend *fl_task_new_backend(fl_task *t, fl_op *op, fl_err *err)
{
    int first, last;
    fl_key_group_range(t->subtask, t->parallelism, t->max_parallelism, &first, &last);
    const char *type = fl_conf_get_str(t->conf, "state.backend.type");
    if (type && !strcmp(type, "rocksdb")) {
        char name[256];
        snprintf(name, sizeof name, "%.32s-v%d-s%d-op%d", t->tdd->job_id, t->tdd->vertex->id,
                 t->subtask, op->index);
        return fl_kbackend_rocksdb_new(t->max_parallelism, first, last,
                                       t->env.tmp_dir ? t->env.tmp_dir : "/tmp", name, err);
    }
    return fl_kbackend_hashmap_new(t->max_parallelism, first, last);
}

/* ---- barriers --------------------------------------------------------------------- */

/* payload: i64 id, i64 ts, u8 flags (1 savepoint, 2 exactly once, 4 unaligned), u16 len + dir,
 * u16 len + shared dir. The length, or 0 when the two directories do not fit cap bytes
 * (the JobManager keeps them within FL_CKPT_DIR_MAX each; this is the last line). */
static uint32_t encode_barrier(const fl_ckpt_request *r, uint8_t *out, size_t cap)
{
    uint8_t *p = out;
    uint8_t flags = (uint8_t)((r->savepoint ? 1 : 0) | (r->exactly_once ? 2 : 0) |
                              (r->unaligned ? 4 : 0));
    size_t l1 = strnlen(r->dir, sizeof r->dir), l2 = strnlen(r->shared_dir, sizeof r->shared_dir);
    if (21 + l1 + l2 > cap)
        return 0;
    uint16_t n1 = (uint16_t)l1, n2 = (uint16_t)l2;
    memcpy(p, &r->id, 8);
    memcpy(p + 8, &r->ts, 8);
    p[16] = flags;
    memcpy(p + 17, &n1, 2);
    memcpy(p + 19, r->dir, n1);
    memcpy(p + 19 + n1, &n2, 2);
    memcpy(p + 21 + n1, r->shared_dir, n2);
    return 21u + n1 + n2;
}

static bool decode_barrier(const uint8_t *p, uint32_t len, fl_ckpt_request *r)
{
    uint16_t n1, n2;
    memset(r, 0, sizeof *r);
    if (len < 21)
        return false;
    memcpy(&r->id, p, 8);
    memcpy(&r->ts, p + 8, 8);
    r->savepoint = p[16] & 1;
    r->exactly_once = (p[16] & 2) != 0;
    r->unaligned = (p[16] & 4) != 0;
    memcpy(&n1, p + 17, 2);
    if (n1 >= sizeof r->dir || 21u + n1 > len)
        return false;
    memcpy(r->dir, p + 19, n1);
    memcpy(&n2, p + 19 + n1, 2);
    if (n2 >= sizeof r->shared_dir || 21u + n1 + n2 > len)
        return false;
    memcpy(r->shared_dir, p + 21 + n1, n2);
    return r->id > 0;
}

static void unblock_all(fl_task *t)
{
    for (int g = 0; g < t->ngates; g++) {
        int n = fl_gate_channels(t->gates[g]);
        for (int c = 0; c < n; c++) {
            t->barrier_seen[g][c] = 0;
            if (fl_gate_is_blocked(t->gates[g], c))
                fl_gate_unblock(t->gates[g], c);
        }
    }
    t->align_id = 0;
}

static void post_decline(fl_task *t, int64_t id, const char *why);

/* Counts channels still open: the barrier can only come from those. */
static int open_channels(fl_task *t)
{
    int n = 0;
    for (int g = 0; g < t->ngates; g++)
        for (int c = 0; c < fl_gate_channels(t->gates[g]); c++)
            n += t->chan_state[g][c] != 2;
    return n;
}

static void maybe_complete_alignment(fl_task *t)
{
    if (t->align_id && t->align_received >= t->align_total) {
        fl_ckpt_request r = t->align_req;
        unblock_all(t);
        fl_task_checkpoint(t, &r);
    }
}

void fl_task_on_barrier(fl_task *t, int g, int c, const uint8_t *payload, uint32_t len)
{
    fl_ckpt_request r;
    if (!decode_barrier(payload, len, &r)) {
        fl_task_fail(t, "corrupt checkpoint barrier on input channel %d", c);
        return;
    }
    if (t->ua_job && r.id == t->ua_job->id) {
        unaligned_channel_done(t, g, c); /* this channel's data before the barrier is kept */
        return;
    }
    if (r.id <= t->last_checkpoint)
        return; /* an older checkpoint, already taken or given up */
    if (r.unaligned && t->ngates) {
        t->barrier_seen[g][c] = 1;
        unaligned_start(t, &r);
        return;
    }
    if (t->align_id && r.id > t->align_id) {
        /* a newer barrier overtook an unfinished alignment: give the older one up */
        post_decline(t, t->align_id, "a newer checkpoint barrier arrived during alignment");
        t->last_checkpoint = t->align_id;
        unblock_all(t);
    }
    if (!t->align_id) {
        t->align_id = r.id;
        t->align_req = r;
        t->align_received = 0;
        t->align_total = open_channels(t);
        t->align_start_ns = fl_mono_ns();
    }
    if (!t->barrier_seen[g][c]) {
        t->barrier_seen[g][c] = 1;
        t->align_received++;
        if (r.exactly_once)
            fl_gate_block(t->gates[g], c);
    }
    maybe_complete_alignment(t);
}

void fl_task_on_channel_end(fl_task *t, int g, int c)
{
    if (t->ua_job) {
        unaligned_channel_done(t, g, c);
        return;
    }
    if (t->align_id && !t->barrier_seen[g][c]) {
        t->barrier_seen[g][c] = 1; /* nothing more will come from it: aligned */
        t->align_received++;
        maybe_complete_alignment(t);
    }
}

/* ---- taking a snapshot ------------------------------------------------------------ */

static void free_job(ckpt_job *j)
{
    for (int i = 0; i < j->nops; i++) {
        op_snap *o = &j->ops[i];
        if (o->keyed)
            o->kops->snapshot_free(o->keyed);
        if (o->bcast)
            o->bops->snapshot_free(o->bcast);
        fl_items_clear(&o->items);
        free(o->timers);
        free(o->uid);
    }
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
    a.subtask = t->subtask;
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
    Fl__Pb__KeyedStateHandle **handles = fl_xcalloc((size_t)j->nops * 2 + 1, sizeof *handles);
    ProtobufCBinaryData *items = NULL;
    int nitems_total = 0;
    for (int i = 0; i < j->nops; i++)
        nitems_total += j->ops[i].items.n;
    items = fl_xcalloc((size_t)nitems_total + 1, sizeof *items);
    int nh = 0, ni = 0;
    bool failed = false;
    uint64_t size = 0;
    for (int i = 0; i < j->nops && !failed; i++) {
        op_snap *o = &j->ops[i];
        Fl__Pb__OperatorSubtaskState *st = &states[i];
        fl__pb__operator_subtask_state__init(st);
        st->uid = o->uid;
        st->subtask = j->subtask;
        for (int w = 0; w < 2 && !failed; w++) {
            fl_kb_snapshot *snap = w == 0 ? o->keyed : o->bcast;
            const fl_kbackend_ops *kops = w == 0 ? o->kops : o->bops;
            if (!snap)
                continue;
            uint8_t *packed;
            size_t plen;
            if (kops->snapshot_write(snap, &packed, &plen, &err) < 0) {
                snprintf(j->error, sizeof j->error, "%.590s", err.msg);
                failed = true;
                break;
            }
            Fl__Pb__KeyedStateHandle *h = fl__pb__keyed_state_handle__unpack(NULL, plen, packed);
            free(packed);
            if (!h) {
                snprintf(j->error, sizeof j->error, "a state backend returned a bad handle");
                failed = true;
                break;
            }
            handles[nh++] = h;
            size += h->incremental_size;
            if (w == 0) {
                st->n_keyed = 1;
                st->keyed = &handles[nh - 1];
            } else {
                st->n_broadcast = 1;
                st->broadcast = &handles[nh - 1];
            }
        }
        st->n_operator_state = (size_t)o->items.n;
        st->operator_state = items + ni;
        for (int k = 0; k < o->items.n; k++) {
            items[ni].data = o->items.v[k];
            items[ni++].len = o->items.len[k];
            size += o->items.len[k];
        }
        st->timers.data = o->timers;
        st->timers.len = o->timers_len;
        size += o->timers_len;
        if (i == 0 && j->channel.n) {
            st->n_channel_state = (size_t)j->channel.n;
            st->channel_state = fl_xcalloc((size_t)j->channel.n, sizeof *st->channel_state);
            for (int k = 0; k < j->channel.n; k++) {
                st->channel_state[k].data = j->channel.v[k];
                st->channel_state[k].len = j->channel.len[k];
                size += j->channel.len[k];
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
    }
    post_ack(j->owner, j->on_ack, &a);
    for (int k = 0; k < nh; k++)
        fl__pb__keyed_state_handle__free_unpacked(handles[k], NULL);
    if (j->nops)
        free(states[0].channel_state);
    free(handles);
    free(items);
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
    j->subtask = t->subtask;
    j->id = r->id;
    j->owner = t->env.owner;
    j->on_ack = t->env.on_ack;
    j->nops = t->nops;
    j->ops = fl_xcalloc((size_t)t->nops, sizeof *j->ops);
    j->alignment_ms = t->align_start_ns ? (fl_mono_ns() - t->align_start_ns) / 1000000 : 0;
    j->started_ns = fl_mono_ns();
    t->align_start_ns = 0;
    t->last_checkpoint = r->id;
    for (int i = 0; i < t->nops; i++) {
        fl_op *op = &t->ops[i];
        op_snap *o = &j->ops[i];
        o->uid = fl_xstrdup(op->spec->uid);
        char prefix[300];
        snprintf(prefix, sizeof prefix, "v%d-s%d-op%d", j->vertex, j->subtask, i);
        fl_snapshot_ctx sc = {r->dir, r->shared_dir, prefix, r->id,
                              fl_conf_get_bool(t->conf, "state.backend.incremental"),
                              r->savepoint};
        if (op->ctx.kb) {
            o->kops = op->ctx.kb->ops;
            if (!(o->keyed = o->kops->snapshot(op->ctx.kb, &sc, err)))
                goto fail;
        }
        if (op->bcast_kb) {
            char bprefix[320];
            snprintf(bprefix, sizeof bprefix, "%s-broadcast", prefix);
            sc.prefix = bprefix;
            o->bops = op->bcast_kb->ops;
            if (!(o->bcast = o->bops->snapshot(op->bcast_kb, &sc, err)))
                goto fail;
        }
        if (op->timers)
            fl_timers_serialize(op->timers, &o->timers, &o->timers_len);
        if (op->snapshot_state)
            op->snapshot_state(op, r->id, &o->items);
    }
    return j;
fail:
    free_job(j);
    return NULL;
}

static void post_job(fl_task *t, ckpt_job *j)
{
    j->sync_ms = (fl_mono_ns() - j->started_ns) / 1000000;
    fl_endpoint_post(t->env.io, write_job, j, drop_job);
}

void fl_task_checkpoint(fl_task *t, const fl_ckpt_request *r)
{
    fl_err err;
    uint8_t payload[FL_EVENT_MAX_PAYLOAD];
    uint32_t plen = encode_barrier(r, payload, sizeof payload);
    if (!plen) { /* before the snapshot: nothing of it has happened */
        t->last_checkpoint = FL_MAX(t->last_checkpoint, r->id);
        post_decline(t, r->id, "the checkpoint directories are too long for a barrier");
        return;
    }
    ckpt_job *j = take_snapshot(t, r, &err);
    if (!j) {
        post_decline(t, r->id, err.msg);
        return;
    }
    /* the barrier goes on right after the snapshot, ahead of later records */
    for (int k = 0; k < t->nwriters; k++)
        fl_writer_event(&t->writers[k], FL_EV_BARRIER, payload, plen);
    post_job(t, j);
}

/* ---- unaligned checkpoints ---------------------------------------------------------
 * On the first barrier: snapshot at once, send the barrier AHEAD of the data queued in the
 * output partitions (that data becomes output channel state), and keep, as input channel
 * state, every record that arrives on a channel before that channel's barrier (plus what
 * the barrier overtook in our input queues). The acknowledgement waits until every channel
 * delivered its barrier. On restore, output channel state is sent again and input channel
 * state processed before anything new. Items: [u8 0][u32 input][elements] for input,
 * [u8 1][u32 output][u32 subpartition][bytes] for output. */

typedef struct capture_arg {
    ckpt_job *job;
    uint32_t output;
    int sub;
    fl_bytes b;
} capture_arg;

/* The overtaken buffers of one subpartition become one item: records span buffers. */
static void capture_flush(capture_arg *c)
{
    if (c->b.len)
        fl_items_add(&c->job->channel, c->b.p, c->b.len);
    c->b.len = 0;
}

static void capture_output(void *arg, int sub, const uint8_t *data, uint32_t len)
{
    capture_arg *c = arg;
    if (c->b.len && sub != c->sub)
        capture_flush(c);
    if (!c->b.len) {
        uint8_t kind = 1;
        c->sub = sub;
        fl_bytes_put(&c->b, &kind, 1);
        fl_bytes_u32(&c->b, c->output);
        fl_bytes_u32(&c->b, (uint32_t)sub);
    }
    fl_bytes_put(&c->b, data, len);
}

static void unaligned_finish(fl_task *t)
{
    ckpt_job *j = t->ua_job;
    for (int k = 0; k < 2; k++) {
        if (!t->ua_in[k].len)
            continue;
        fl_bytes b = {0};
        uint8_t kind = 0;
        fl_bytes_put(&b, &kind, 1);
        fl_bytes_u32(&b, (uint32_t)k);
        fl_bytes_put(&b, t->ua_in[k].p, t->ua_in[k].len);
        fl_items_add(&j->channel, b.p, b.len);
        fl_bytes_free(&b);
        t->ua_in[k].len = 0;
    }
    t->ua_job = NULL;
    t->ua_waiting = 0;
    post_job(t, j);
}

/* Starts an unaligned checkpoint; `arrived` channels already delivered its barrier. */
static void unaligned_start(fl_task *t, const fl_ckpt_request *r)
{
    fl_err err;
    fl_ckpt_request ur = *r;
    ur.unaligned = true;
    if (t->ua_job) { /* an older one still recording: give it up */
        post_decline(t, t->ua_job->id, "a newer checkpoint started");
        free_job(t->ua_job);
        t->ua_job = NULL;
    }
    uint8_t payload[FL_EVENT_MAX_PAYLOAD];
    uint32_t plen = encode_barrier(&ur, payload, sizeof payload);
    ckpt_job *j = plen ? take_snapshot(t, &ur, &err) : NULL;
    if (!j) {
        if (!plen)
            t->last_checkpoint = FL_MAX(t->last_checkpoint, r->id);
        post_decline(t, r->id, plen ? err.msg : "the checkpoint directories are too long for a "
                                                "barrier");
        unblock_all(t);
        return;
    }
    for (int k = 0; k < t->nwriters; k++) {
        capture_arg c = {j, (uint32_t)k, 0, {0}};
        if (fl_partition_emit_priority(t->writers[k].part, FL_EV_BARRIER, payload, plen,
                                       capture_output, &c) < 0)
            fl_task_fail(t, "%s", fl_partition_error(t->writers[k].part));
        capture_flush(&c);
        fl_bytes_free(&c.b);
    }
    /* record every open channel whose barrier has not come yet */
    t->ua_waiting = 0;
    for (int g = 0; g < t->ngates; g++)
        for (int c = 0; c < fl_gate_channels(t->gates[g]); c++) {
            bool rec = t->chan_state[g][c] != 2 && !t->barrier_seen[g][c];
            t->ua_rec[g][c] = rec;
            t->ua_waiting += rec;
        }
    /* channels blocked by an alignment that turned unaligned go on at once */
    unblock_all(t);
    t->align_id = r->id; /* keep counting this checkpoint's barriers */
    t->ua_job = j;
    if (!t->ua_waiting)
        unaligned_finish(t);
}

/* A channel's barrier (or end) arrived while an unaligned checkpoint records. */
static void unaligned_channel_done(fl_task *t, int g, int c)
{
    if (t->ua_job && t->ua_rec[g][c]) {
        t->ua_rec[g][c] = 0;
        if (--t->ua_waiting == 0) {
            unaligned_finish(t);
            t->align_id = 0;
            for (int gg = 0; gg < t->ngates; gg++)
                memset(t->barrier_seen[gg], 0, (size_t)fl_gate_channels(t->gates[gg]));
        }
    }
}

void fl_task_persist_input(fl_task *t, int g, const fl_input *in)
{
    if (!t->ua_job)
        return; /* the checkpoint was given up */
    fl_bytes *b = &t->ua_in[t->gate_input[g]];
    fl_bytes_u32(b, in->len);
    fl_bytes_put(b, in->data, in->len);
}

void fl_task_checkpoint_free(fl_task *t)
{
    if (t->ua_job)
        free_job(t->ua_job);
    t->ua_job = NULL;
    fl_bytes_free(&t->ua_in[0]);
    fl_bytes_free(&t->ua_in[1]);
}

void fl_task_check_alignment(fl_task *t)
{
    if (t->align_id && !t->ua_job && t->aligned_timeout_ms > 0 && t->align_start_ns &&
        fl_mono_ns() - t->align_start_ns > t->aligned_timeout_ms * 1000000) {
        fl_info("%s: alignment of checkpoint %lld exceeded %lld ms; continuing unaligned",
                t->name, (long long)t->align_id, (long long)t->aligned_timeout_ms);
        fl_ckpt_request r = t->align_req;
        unaligned_start(t, &r);
    }
}

void fl_task_replay_channel_state(fl_task *t)
{
    const Fl__Pb__TaskRestore *r = t->tdd->restore;
    if (!r || !t->nops)
        return;
    const Fl__Pb__OperatorSubtaskState *st = NULL;
    for (size_t k = 0; k < r->n_operators; k++)
        if (!strcmp(r->operators[k]->uid, t->ops[0].spec->uid))
            st = r->operators[k];
    if (!st || !st->n_channel_state)
        return;
    /* first what was on its way out, then what was on its way in */
    for (int pass = 1; pass >= 0; pass--) {
        for (size_t i = 0; i < st->n_channel_state && !fl_task_should_stop(t); i++) {
            const uint8_t *p = st->channel_state[i].data, *end = p + st->channel_state[i].len;
            uint32_t idx, sub = 0;
            if (end - p < 5 || p[0] != pass)
                continue;
            memcpy(&idx, p + 1, 4);
            p += 5;
            if (pass == 1) {
                if (end - p < 4)
                    continue;
                memcpy(&sub, p, 4);
                p += 4;
                if (idx >= (uint32_t)t->nwriters || sub >= (uint32_t)t->writers[idx].nsub)
                    continue;
            }
            while (end - p >= 4) {
                uint32_t n;
                memcpy(&n, p, 4);
                if ((size_t)(end - p - 4) < n)
                    break;
                const uint8_t *elem = p + 4;
                p += 4 + n;
                if (pass == 1) {
                    if (fl_partition_emit(t->writers[idx].part, (int)sub, NULL, 0, elem, n) < 0)
                        fl_task_fail(t, "%s", fl_partition_error(t->writers[idx].part));
                } else if (n >= FL_ELEM_HDR && elem[0] == FL_ELEM_RECORD) {
                    fl_rec rec;
                    memcpy(&rec.ts, elem + 1, 8);
                    rec.data = elem + FL_ELEM_HDR;
                    rec.len = n - FL_ELEM_HDR;
                    if (idx == 0)
                        t->ops[0].process(&t->ops[0], &rec);
                    else if (t->ops[0].process2)
                        t->ops[0].process2(&t->ops[0], &rec);
                }
            }
            if (p != end) {
                fl_task_fail(t, "corrupt channel state in the checkpoint (%s item %zu)",
                             pass ? "output" : "input", i);
                return;
            }
        }
    }
}

/* ---- mails from the TaskExecutor -------------------------------------------------- */

typedef struct trigger_mail {
    fl_ckpt_request r;
} trigger_mail;

static void run_trigger(void *ctx, void *arg)
{
    fl_task *t = ctx;
    trigger_mail *m = arg;
    if (m->r.id > t->last_checkpoint && !fl_task_should_stop(t)) {
        if (m->r.unaligned)
            unaligned_start(t, &m->r);
        else
            fl_task_checkpoint(t, &m->r);
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
            if (op->checkpoint_complete)
                op->checkpoint_complete(op, m->id);
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
    t->last_checkpoint = t->completed = r->checkpoint_id;
    for (int i = 0; i < t->nops; i++) {
        fl_op *op = &t->ops[i];
        const Fl__Pb__OperatorSubtaskState *st = NULL;
        for (size_t k = 0; k < r->n_operators; k++)
            if (!strcmp(r->operators[k]->uid, op->spec->uid))
                st = r->operators[k];
        if (!st) /* not in the checkpoint (a new operator, or -n): starts afresh */
            continue;
        if (op->restore_state &&
            op->restore_state(op, st->operator_state, st->n_operator_state, r->checkpoint_id,
                              err) < 0) {
            fl_err_prefix(err, "restoring %s", op->ctx.name);
            return -1;
        }
        if (op->ctx.kb && st->n_keyed) {
            const uint8_t **h = fl_xcalloc(st->n_keyed, sizeof *h);
            size_t *lens = fl_xcalloc(st->n_keyed, sizeof *lens);
            uint8_t **packed = fl_xcalloc(st->n_keyed, sizeof *packed);
            for (size_t k = 0; k < st->n_keyed; k++) {
                lens[k] = protobuf_c_message_get_packed_size(&st->keyed[k]->base);
                packed[k] = fl_xmalloc(lens[k]);
                protobuf_c_message_pack(&st->keyed[k]->base, packed[k]);
                h[k] = packed[k];
            }
            int rc = op->ctx.kb->ops->restore(op->ctx.kb, r->checkpoint_dir, h, lens,
                                              st->n_keyed, err);
            for (size_t k = 0; k < st->n_keyed; k++)
                free(packed[k]);
            free(packed);
            free(lens);
            free(h);
            if (rc < 0) {
                fl_err_prefix(err, "restoring %s", op->ctx.name);
                return -1;
            }
        }
        if (op->bcast_kb && st->n_broadcast) {
            size_t len = protobuf_c_message_get_packed_size(&st->broadcast[0]->base);
            uint8_t *packed = fl_xmalloc(len);
            protobuf_c_message_pack(&st->broadcast[0]->base, packed);
            const uint8_t *h = packed;
            int rc = op->bcast_kb->ops->restore(op->bcast_kb, r->checkpoint_dir, &h, &len, 1,
                                                err);
            free(packed);
            if (rc < 0)
                return -1;
        }
        if (op->timers && st->timers.len &&
            fl_timers_restore(op->timers, st->timers.data, st->timers.len,
                              op->ctx.kb ? op->ctx.kb->kg_first : 0,
                              op->ctx.kb ? op->ctx.kb->kg_last : t->max_parallelism - 1) < 0) {
            fl_err_set(err, "restoring %s: damaged timers", op->ctx.name);
            return -1;
        }
    }
    return 0;
}
