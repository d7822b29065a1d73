/* operators.c -- the one-input operators of a chain and the record writers that feed the
 * network. Each operator's process() is called directly by its predecessor (chaining is a
 * function call); keyed operators set the current key of their state backend first.
 * Task thread only; nothing here allocates per record.
 */
#include "keygroup.h"
#include "log.h"
#include "task/task_internal.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- keys ------------------------------------------------------------------------- */

int fl_keysel_init(fl_keysel *k, const Fl__Pb__KeySpec *spec, const fl_bundle *b, fl_err *err)
{
    memset(k, 0, sizeof *k);
    if (!spec)
        return 0;
    if (spec->fn && spec->fn[0]) {
        k->fn = (fl_key_fn)fl_bundle_sym(b, spec->fn);
        if (!k->fn) {
            fl_err_set(err, "key selector '%s' not found in the bundle", spec->fn);
            return -1;
        }
    } else {
        k->off = spec->offset;
        k->len = spec->len;
    }
    return 0;
}

int fl_keysel_extract(const fl_keysel *k, const fl_rec *r, uint8_t *buf)
{
    if (k->fn) {
        uint32_t n = k->fn(r, buf);
        return n > FL_MAX_KEY ? -1 : (int)n;
    }
    if ((uint64_t)k->off + k->len > r->len)
        return -1;
    memcpy(buf, (const uint8_t *)r->data + k->off, k->len);
    return (int)k->len;
}

/* ---- stateless operators ---------------------------------------------------------- */

static void process_map(fl_op *op, const fl_rec *in)
{
    op->out.ts = op->ctx.ts = in->ts;
    ((fl_map_fn)op->fn)(&op->ctx, in, &op->out);
}

static void process_filter(fl_op *op, const fl_rec *in)
{
    op->ctx.ts = in->ts;
    if (((fl_filter_fn)op->fn)(&op->ctx, in)) {
        op->out.ts = in->ts;
        fl_emit_ts(&op->out, in->data, in->len, in->ts);
    }
}

/* ---- keyed operators -------------------------------------------------------------- */

/* Sets the current key from the record; false (task failed) when it cannot be taken. */
bool fl_op_set_key(fl_op *op, const fl_keysel *ks, const fl_rec *in, uint8_t *keybuf);
static bool set_key(fl_op *op, const fl_rec *in, uint8_t *keybuf)
{
    return fl_op_set_key(op, &op->key, in, keybuf);
}

bool fl_op_set_key(fl_op *op, const fl_keysel *ks, const fl_rec *in, uint8_t *keybuf)
{
    int klen = fl_keysel_extract(ks, in, keybuf);
    if (FL_UNLIKELY(klen < 0)) {
        fl_task_fail(op->ctx.task, "cannot take the key of a %u-byte record in %s (key field "
                                   "outside the record, or a key longer than %d bytes)",
                     in->len, op->ctx.name, FL_MAX_KEY);
        return false;
    }
    fl_kbackend_set_key(op->ctx.kb, keybuf, (uint32_t)klen);
    return true;
}

static void process_keyed(fl_op *op, const fl_rec *in)
{
    uint8_t key[FL_MAX_KEY];
    if (!set_key(op, in, key))
        return;
    op->out.ts = op->ctx.ts = in->ts;
    ((fl_process_fn)op->fn)(&op->ctx, in, &op->out);
    op->ctx.kb->key = NULL;
}

/* A keyed process function's timer fired (current key already set). */
static void user_on_timer(fl_op *op, const fl_timer *t)
{
    op->timer_fn(&op->ctx, t->time, &op->out);
}

static void process_reduce(fl_op *op, const fl_rec *in)
{
    uint8_t key[FL_MAX_KEY];
    const void *acc;
    uint32_t acc_len;
    fl_kbackend *kb = op->ctx.kb;
    if (!set_key(op, in, key))
        return;
    op->out.ts = in->ts;
    if (!kb->ops->get(op->agg, NULL, 0, &acc, &acc_len)) {
        kb->ops->put(op->agg, NULL, 0, in->data, in->len);
        fl_emit_ts(&op->out, in->data, in->len, in->ts);
    } else {
        fl_rec a = {acc, acc_len, in->ts};
        op->capture.ts = in->ts;
        op->capture.ncaptured = 0;
        ((fl_reduce_fn)op->fn)(&op->ctx, &a, in, &op->capture);
        if (op->capture.ncaptured != 1) {
            fl_task_fail(op->ctx.task, "the reduce function of %s emitted %d records; it must "
                                       "emit exactly one (the new value)",
                         op->ctx.name, op->capture.ncaptured);
            return;
        }
        kb->ops->put(op->agg, NULL, 0, op->capture.cap, op->capture.cap_len);
        fl_emit_ts(&op->out, op->capture.cap, op->capture.cap_len, in->ts);
    }
    kb->key = NULL;
}

static int field_size(uint32_t type)
{
    return type == FL_I32 ? 4 : 8;
}

/* a < b on the field's type; *sum = a + b into out */
static int field_cmp(uint32_t type, const uint8_t *a, const uint8_t *b)
{
    if (type == FL_I32) {
        int32_t x, y;
        memcpy(&x, a, 4), memcpy(&y, b, 4);
        return (x > y) - (x < y);
    }
    if (type == FL_I64) {
        int64_t x, y;
        memcpy(&x, a, 8), memcpy(&y, b, 8);
        return (x > y) - (x < y);
    }
    double x, y;
    memcpy(&x, a, 8), memcpy(&y, b, 8);
    return (x > y) - (x < y);
}

static void field_add(uint32_t type, uint8_t *acc, const uint8_t *b)
{
    if (type == FL_I32) {
        int32_t x, y;
        memcpy(&x, acc, 4), memcpy(&y, b, 4);
        x = (int32_t)((uint32_t)x + (uint32_t)y); /* wraps like Java's int */
        memcpy(acc, &x, 4);
    } else if (type == FL_I64) {
        int64_t x, y;
        memcpy(&x, acc, 8), memcpy(&y, b, 8);
        x = (int64_t)((uint64_t)x + (uint64_t)y);
        memcpy(acc, &x, 8);
    } else {
        double x, y;
        memcpy(&x, acc, 8), memcpy(&y, b, 8);
        x += y;
        memcpy(acc, &x, 8);
    }
}

/* sum/min/max update the field of the first record seen; minBy/maxBy keep a whole record. */
static void process_aggregate(fl_op *op, const fl_rec *in)
{
    uint8_t key[FL_MAX_KEY];
    const void *cur;
    uint32_t cur_len;
    fl_kbackend *kb = op->ctx.kb;
    uint32_t off = op->spec->field_offset, type = op->spec->field_type;
    if ((uint64_t)off + (uint64_t)field_size(type) > in->len) {
        fl_task_fail(op->ctx.task, "the aggregated field at offset %u lies outside a %u-byte "
                                   "record in %s",
                     off, in->len, op->ctx.name);
        return;
    }
    if (!set_key(op, in, key))
        return;
    /* the common case: sum/min/max of a record of the same size, updated where it lies */
    uint32_t mlen;
    uint8_t *mut = op->kind <= FL__PB__OP_KIND__OP_MAX && kb->ops->get_mut
                       ? kb->ops->get_mut(op->agg, NULL, 0, &mlen)
                       : NULL;
    if (mut && mlen == in->len) {
        const uint8_t *inf = (const uint8_t *)in->data + off;
        uint8_t *accf = mut + off;
        if (op->kind == FL__PB__OP_KIND__OP_SUM)
            field_add(type, accf, inf);
        else if ((op->kind == FL__PB__OP_KIND__OP_MIN && field_cmp(type, inf, accf) < 0) ||
                 (op->kind == FL__PB__OP_KIND__OP_MAX && field_cmp(type, inf, accf) > 0))
            memcpy(accf, inf, (size_t)field_size(type));
        fl_emit_ts(&op->out, mut, mlen, in->ts);
        kb->key = NULL;
        return;
    }
    if (!kb->ops->get(op->agg, NULL, 0, &cur, &cur_len)) {
        kb->ops->put(op->agg, NULL, 0, in->data, in->len);
        fl_emit_ts(&op->out, in->data, in->len, in->ts);
        kb->key = NULL;
        return;
    }
    /* work on a copy in the capture buffer, then store and emit it */
    fl_out *c = &op->capture;
    if (cur_len > c->cap_size) {
        c->cap_size = cur_len * 2;
        c->cap = fl_xrealloc(c->cap, c->cap_size);
    }
    memcpy(c->cap, cur, cur_len);
    c->cap_len = cur_len;
    const uint8_t *inf = (const uint8_t *)in->data + off;
    uint8_t *accf = c->cap + off;
    bool changed = true;
    if (off + (uint32_t)field_size(type) > cur_len) {
        fl_task_fail(op->ctx.task, "records of different sizes in the aggregation of %s",
                     op->ctx.name);
        return;
    }
    switch (op->kind) {
    case FL__PB__OP_KIND__OP_SUM:
        field_add(type, accf, inf);
        break;
    case FL__PB__OP_KIND__OP_MIN:
        if (field_cmp(type, inf, accf) < 0)
            memcpy(accf, inf, (size_t)field_size(type));
        break;
    case FL__PB__OP_KIND__OP_MAX:
        if (field_cmp(type, inf, accf) > 0)
            memcpy(accf, inf, (size_t)field_size(type));
        break;
    case FL__PB__OP_KIND__OP_MIN_BY:
    case FL__PB__OP_KIND__OP_MAX_BY: {
        int cmp = field_cmp(type, inf, accf);
        bool take = op->kind == FL__PB__OP_KIND__OP_MIN_BY ? cmp < 0 : cmp > 0;
        if (take) {
            if (in->len > c->cap_size) {
                c->cap_size = in->len * 2;
                c->cap = fl_xrealloc(c->cap, c->cap_size);
            }
            memcpy(c->cap, in->data, in->len);
            c->cap_len = in->len;
        }
        break;
    }
    default:
        changed = false;
    }
    if (changed)
        kb->ops->put(op->agg, NULL, 0, c->cap, c->cap_len);
    fl_emit_ts(&op->out, c->cap, c->cap_len, in->ts);
    kb->key = NULL;
}

/* ---- set-up ----------------------------------------------------------------------- */

static bool is_keyed_kind(int kind)
{
    return kind == FL__PB__OP_KIND__OP_REDUCE || kind == FL__PB__OP_KIND__OP_SUM ||
           kind == FL__PB__OP_KIND__OP_MIN || kind == FL__PB__OP_KIND__OP_MAX ||
           kind == FL__PB__OP_KIND__OP_MIN_BY || kind == FL__PB__OP_KIND__OP_MAX_BY;
}

int fl_op_init(fl_task *t, fl_op *op, const Fl__Pb__OperatorSpec *spec, fl_err *err)
{
    op->kind = spec->kind;
    op->spec = spec;
    op->ctx.task = t;
    op->ctx.op = op;
    op->ctx.cfg = spec->config.data;
    op->ctx.cfg_len = (uint32_t)spec->config.len;
    snprintf(op->ctx.name, sizeof op->ctx.name, "%s (%d/%d)", spec->name, t->subtask + 1,
             t->parallelism);
    op->out.task = t;
    op->out.ts = FL_NO_TIMESTAMP;
    op->ctx.ts = FL_NO_TIMESTAMP;
    op->watermark = op->input_wm[0] = op->input_wm[1] = FL_NO_WATERMARK;
    op->process_watermark = fl_op_default_watermark;
    op->capture.capture = true;
    op->capture.task = t;
    if (spec->fn && spec->fn[0]) {
        op->fn = fl_bundle_sym(t->bundle, spec->fn);
        if (!op->fn) {
            fl_err_set(err, "function '%s' of %s not found in the bundle", spec->fn, spec->name);
            return -1;
        }
    }
    if (spec->open_fn && spec->open_fn[0] &&
        !(op->open_fn = (fl_open_fn)fl_bundle_sym(t->bundle, spec->open_fn))) {
        fl_err_set(err, "open function '%s' not found in the bundle", spec->open_fn);
        return -1;
    }
    if (spec->close_fn && spec->close_fn[0] &&
        !(op->close_fn = (fl_close_fn)fl_bundle_sym(t->bundle, spec->close_fn))) {
        fl_err_set(err, "close function '%s' not found in the bundle", spec->close_fn);
        return -1;
    }
    if (spec->timer_fn && spec->timer_fn[0]) {
        op->timer_fn = (fl_on_timer_fn)fl_bundle_sym(t->bundle, spec->timer_fn);
        if (!op->timer_fn) {
            fl_err_set(err, "timer function '%s' not found in the bundle", spec->timer_fn);
            return -1;
        }
        op->timers = fl_timers_new();
        op->on_timer = user_on_timer;
    }
    if (spec->fn2 && spec->fn2[0] && !(op->fn2 = fl_bundle_sym(t->bundle, spec->fn2))) {
        fl_err_set(err, "function '%s' of %s not found in the bundle", spec->fn2, spec->name);
        return -1;
    }
    bool keyed = spec->keyed || is_keyed_kind(op->kind);
    if (keyed) {
        if (fl_keysel_init(&op->key, spec->key, t->bundle, err) < 0)
            return -1;
        op->ctx.kb = fl_task_new_backend(t, op, err);
        if (!op->ctx.kb)
            return -1;
        if (is_keyed_kind(op->kind))
            op->agg = fl_kstate_get_or_create(op->ctx.kb, "aggregate");
    }
    switch (op->kind) {
    case FL__PB__OP_KIND__OP_MAP:
    case FL__PB__OP_KIND__OP_FLAT_MAP:
    case FL__PB__OP_KIND__OP_PROCESS:
        if (!op->fn) {
            fl_err_set(err, "%s has no function", spec->name);
            return -1;
        }
        op->process = keyed ? process_keyed : process_map;
        return 0;
    case FL__PB__OP_KIND__OP_FILTER:
        if (!op->fn) {
            fl_err_set(err, "%s has no function", spec->name);
            return -1;
        }
        op->process = process_filter;
        return 0;
    case FL__PB__OP_KIND__OP_REDUCE:
        if (!op->fn) {
            fl_err_set(err, "%s has no reduce function", spec->name);
            return -1;
        }
        op->process = process_reduce;
        return 0;
    case FL__PB__OP_KIND__OP_SUM:
    case FL__PB__OP_KIND__OP_MIN:
    case FL__PB__OP_KIND__OP_MAX:
    case FL__PB__OP_KIND__OP_MIN_BY:
    case FL__PB__OP_KIND__OP_MAX_BY:
        if (spec->field_type < FL_I32 || spec->field_type > FL_F64) {
            fl_err_set(err, "%s: unknown field type %u", spec->name, spec->field_type);
            return -1;
        }
        op->process = process_aggregate;
        return 0;
    case FL__PB__OP_KIND__SRC_ELEMENTS:
    case FL__PB__OP_KIND__SRC_TEXT_FILE:
    case FL__PB__OP_KIND__SRC_SOCKET:
    case FL__PB__OP_KIND__SRC_SEQUENCE:
    case FL__PB__OP_KIND__SRC_CUSTOM:
        return fl_source_init(t, op, err);
    case FL__PB__OP_KIND__SINK_PRINT:
    case FL__PB__OP_KIND__SINK_FILE:
    case FL__PB__OP_KIND__SINK_DISCARD:
    case FL__PB__OP_KIND__SINK_CUSTOM:
        return fl_sink_init(t, op, err);
    case FL__PB__OP_KIND__OP_ASSIGN_WATERMARKS:
        return fl_assigner_init(t, op, err);
    case FL__PB__OP_KIND__OP_WINDOW:
        return fl_window_op_init(t, op, err);
    case FL__PB__OP_KIND__OP_CO_MAP:
    case FL__PB__OP_KIND__OP_CO_FLAT_MAP:
    case FL__PB__OP_KIND__OP_CO_PROCESS:
    case FL__PB__OP_KIND__OP_BROADCAST_PROCESS:
    case FL__PB__OP_KIND__OP_INTERVAL_JOIN:
        return fl_multi_init(t, op, err);
    default:
        fl_err_set(err, "unknown operator kind %d (%s)", op->kind, spec->name);
        return -1;
    }
}

/* ---- record writers --------------------------------------------------------------- */

static inline void put_hdr(uint8_t *h, int64_t ts)
{
    h[0] = FL_ELEM_RECORD;
    memcpy(h + 1, &ts, 8);
}

static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

void fl_writer_write(fl_writer *w, const fl_rec *r)
{
    uint8_t hdr[FL_ELEM_HDR];
    int sub = 0, rc;
    put_hdr(hdr, r->ts);
    switch (w->partitioner) {
    case FL__PB__PARTITIONER__PART_FORWARD:
    case FL__PB__PARTITIONER__PART_GLOBAL:
        sub = 0;
        break;
    case FL__PB__PARTITIONER__PART_HASH: {
        uint8_t key[FL_MAX_KEY];
        int klen = fl_keysel_extract(&w->key, r, key);
        if (FL_UNLIKELY(klen < 0)) {
            fl_task_fail(w->task, "cannot take the key of a %u-byte record for keyBy (key field "
                                  "outside the record, or a key longer than %d bytes)",
                         r->len, FL_MAX_KEY);
            return;
        }
        int kg = fl_key_group(fl_key_hash(key, (size_t)klen), w->max_parallelism);
        sub = fl_key_group_subtask(kg, w->nsub, w->max_parallelism);
        break;
    }
    case FL__PB__PARTITIONER__PART_REBALANCE:
    case FL__PB__PARTITIONER__PART_RESCALE:
        sub = (int)(w->rr++ % (uint32_t)w->nsub);
        break;
    case FL__PB__PARTITIONER__PART_SHUFFLE:
        sub = (int)(xorshift(&w->rng) % (uint64_t)w->nsub);
        break;
    case FL__PB__PARTITIONER__PART_BROADCAST:
        if (fl_partition_broadcast(w->part, hdr, sizeof hdr, r->data, r->len) < 0)
            fl_task_fail(w->task, "%s", fl_partition_error(w->part));
        return;
    case FL__PB__PARTITIONER__PART_CUSTOM: {
        uint8_t key[FL_MAX_KEY];
        int klen = fl_keysel_extract(&w->key, r, key);
        sub = klen < 0 ? -1 : w->custom(key, (uint32_t)klen, w->nsub);
        if (sub < 0 || sub >= w->nsub) {
            fl_task_fail(w->task, "the custom partitioner chose partition %d of %d", sub,
                         w->nsub);
            return;
        }
        break;
    }
    }
    rc = fl_partition_emit(w->part, sub, hdr, sizeof hdr, r->data, r->len);
    if (FL_UNLIKELY(rc < 0))
        fl_task_fail(w->task, "%s", fl_partition_error(w->part));
}
