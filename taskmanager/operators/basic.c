/* basic.c -- the one-input operators that transform record by record: map, flat map and
 * process (stateless, or keyed with state and timers), filter, and the rolling
 * aggregations of a keyed stream (reduce, sum, min, max, minBy, maxBy), each kind behind
 * its const table (operators.h). A predecessor calls process() directly (chaining is a
 * function call); keyed kinds make the record's key current in their backend first.
 * Task thread only; nothing here allocates per record.
 */
#include "operators.h"
#include "taskmanager/chain/operator.h"

#include <string.h>

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
        fl_out_emit(&op->out, in->data, in->len, in->ts);
    }
}

/* ---- keyed operators -------------------------------------------------------------- */

/* Sets the current key from the record; false (task failed) when it cannot be taken. */
static bool set_key(fl_op *op, const fl_rec *in, uint8_t *keybuf)
{
    return fl_op_set_key(op, &op->key, in, keybuf);
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

static void process_reduce(fl_op *op, const fl_rec *in)
{
    uint8_t key[FL_MAX_KEY];
    const void *acc;
    uint32_t acc_len;
    fl_kbackend *kb = op->ctx.kb;
    fl_kstate *agg = op->state;
    if (!set_key(op, in, key))
        return;
    op->out.ts = in->ts;
    if (!kb->ops->get(agg, NULL, 0, &acc, &acc_len)) {
        kb->ops->put(agg, NULL, 0, in->data, in->len);
        fl_out_emit(&op->out, in->data, in->len, in->ts);
    } else {
        fl_rec a = {acc, acc_len, in->ts};
        op->capture.ts = in->ts;
        op->capture.ncaptured = 0;
        ((fl_reduce_fn)op->fn)(&op->ctx, &a, in, &op->capture);
        if (op->capture.ncaptured != 1) {
            fl_op_fail(op, "the reduce function of %s emitted %d records; it must "
                           "emit exactly one (the new value)",
                       op->ctx.name, op->capture.ncaptured);
            return;
        }
        kb->ops->put(agg, NULL, 0, op->capture.cap, op->capture.cap_len);
        fl_out_emit(&op->out, op->capture.cap, op->capture.cap_len, in->ts);
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

/* sum/min/max update the field of the first record seen; minBy/maxBy keep a whole record.
 * Inlined into one process function per kind (below), so that kind is a constant. */
static inline __attribute__((always_inline)) void aggregate(fl_op *op, const fl_rec *in,
                                                            Fl__Pb__OpKind kind)
{
    uint8_t key[FL_MAX_KEY];
    const void *cur;
    uint32_t cur_len;
    fl_kbackend *kb = op->ctx.kb;
    fl_kstate *agg = op->state;
    uint32_t off = op->spec->field_offset, type = op->spec->field_type;
    if ((uint64_t)off + (uint64_t)field_size(type) > in->len) {
        fl_op_fail(op, "the aggregated field at offset %u lies outside a %u-byte "
                       "record in %s",
                   off, in->len, op->ctx.name);
        return;
    }
    if (!set_key(op, in, key))
        return;
    /* the common case: sum/min/max of a record of the same size, updated where it lies */
    uint32_t mlen;
    uint8_t *mut = kind <= FL__PB__OP_KIND__OP_MAX && kb->ops->get_mut
                       ? kb->ops->get_mut(agg, NULL, 0, &mlen)
                       : NULL;
    if (mut && mlen == in->len) {
        const uint8_t *inf = (const uint8_t *)in->data + off;
        uint8_t *accf = mut + off;
        if (kind == FL__PB__OP_KIND__OP_SUM)
            field_add(type, accf, inf);
        else if ((kind == FL__PB__OP_KIND__OP_MIN && field_cmp(type, inf, accf) < 0) ||
                 (kind == FL__PB__OP_KIND__OP_MAX && field_cmp(type, inf, accf) > 0))
            memcpy(accf, inf, (size_t)field_size(type));
        fl_out_emit(&op->out, mut, mlen, in->ts);
        kb->key = NULL;
        return;
    }
    if (!kb->ops->get(agg, NULL, 0, &cur, &cur_len)) {
        kb->ops->put(agg, NULL, 0, in->data, in->len);
        fl_out_emit(&op->out, in->data, in->len, in->ts);
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
        fl_op_fail(op, "records of different sizes in the aggregation of %s",
                   op->ctx.name);
        return;
    }
    switch ((int)kind) {
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
        bool take = kind == FL__PB__OP_KIND__OP_MIN_BY ? cmp < 0 : cmp > 0;
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
        kb->ops->put(agg, NULL, 0, c->cap, c->cap_len);
    fl_out_emit(&op->out, c->cap, c->cap_len, in->ts);
    kb->key = NULL;
}

static void process_sum(fl_op *op, const fl_rec *in)
{
    aggregate(op, in, FL__PB__OP_KIND__OP_SUM);
}

static void process_min(fl_op *op, const fl_rec *in)
{
    aggregate(op, in, FL__PB__OP_KIND__OP_MIN);
}

static void process_max(fl_op *op, const fl_rec *in)
{
    aggregate(op, in, FL__PB__OP_KIND__OP_MAX);
}

static void process_min_by(fl_op *op, const fl_rec *in)
{
    aggregate(op, in, FL__PB__OP_KIND__OP_MIN_BY);
}

static void process_max_by(fl_op *op, const fl_rec *in)
{
    aggregate(op, in, FL__PB__OP_KIND__OP_MAX_BY);
}

/* ---- set-up ----------------------------------------------------------------------- */

static int needs_fn(fl_op *op, const char *what, fl_err *err)
{
    if (!op->fn) {
        fl_err_set(err, "%s has no %sfunction", op->spec->name, what);
        return -1;
    }
    return 0;
}

static int init_map(fl_op *op, fl_err *err)
{
    return needs_fn(op, "", err);
}

static int init_reduce(fl_op *op, fl_err *err)
{
    if (needs_fn(op, "reduce ", err) < 0)
        return -1;
    op->state = fl_kstate_get_or_create(op->ctx.kb, "aggregate");
    return 0;
}

static int init_aggregate(fl_op *op, fl_err *err)
{
    const Fl__Pb__OperatorSpec *spec = op->spec;
    op->state = fl_kstate_get_or_create(op->ctx.kb, "aggregate");
    if (spec->field_type < FL_I32 || spec->field_type > FL_F64) {
        fl_err_set(err, "%s: unknown field type %u", spec->name, spec->field_type);
        return -1;
    }
    return 0;
}

/* map, flat map, and process without a key: the function emits what it will */
const fl_op_ops fl_map_ops = {
    .name = "map",
    .init = init_map,
    .process = process_map,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
};

/* map, flat map and process on a keyed stream: keyed state and timers of the record's key */
const fl_op_ops fl_keyed_process_ops = {
    .name = "keyed process",
    .init = init_map,
    .process = process_keyed,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
};

const fl_op_ops fl_filter_ops = {
    .name = "filter",
    .init = init_map,
    .process = process_filter,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
};

/* the rolling aggregations: keyed by kind, one value per key */
const fl_op_ops fl_reduce_ops = {
    .name = "reduce",
    .keyed = true,
    .init = init_reduce,
    .process = process_reduce,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
};

const fl_op_ops fl_sum_ops = {
    .name = "sum",
    .keyed = true,
    .init = init_aggregate,
    .process = process_sum,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
};

const fl_op_ops fl_min_ops = {
    .name = "min",
    .keyed = true,
    .init = init_aggregate,
    .process = process_min,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
};

const fl_op_ops fl_max_ops = {
    .name = "max",
    .keyed = true,
    .init = init_aggregate,
    .process = process_max,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
};

const fl_op_ops fl_min_by_ops = {
    .name = "minBy",
    .keyed = true,
    .init = init_aggregate,
    .process = process_min_by,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
};

const fl_op_ops fl_max_by_ops = {
    .name = "maxBy",
    .keyed = true,
    .init = init_aggregate,
    .process = process_max_by,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
};
