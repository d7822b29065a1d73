/* multi.c -- the two-input operators (flint/streams.h): CoMap, CoFlatMap, CoProcess (keyed
 * or not), the broadcast process of the broadcast state pattern, and the interval join,
 * each behind its const table (operators.h). The task calls process() for records of the
 * first input and process2() for the second; the operator's watermark is the minimum of
 * both inputs' (taskmanager/task/loop.c). Task thread only.
 */
#include "operators.h"
#include "taskmanager/chain/operator.h"

#include <stdlib.h>
#include <string.h>

/* ---- CoMap / CoFlatMap / CoProcess ------------------------------------------------ */

static void run_side(fl_op *op, const fl_rec *in, void *fn, int input, const fl_keysel *ks)
{
    uint8_t key[FL_MAX_KEY];
    if (ks && !fl_op_set_key(op, ks, in, key))
        return;
    op->ctx.input = input;
    op->out.ts = op->ctx.ts = in->ts;
    ((fl_process_fn)fn)(&op->ctx, in, &op->out);
    if (ks)
        op->ctx.kb->key = NULL;
}

typedef struct co_state {
    fl_keysel key2;
} co_state;

static void co_process1(fl_op *op, const fl_rec *in)
{
    run_side(op, in, op->fn, 1, op->ctx.kb ? &op->key : NULL);
}

static void co_process2(fl_op *op, const fl_rec *in)
{
    co_state *s = op->state;
    run_side(op, in, op->fn2, 2, op->ctx.kb ? &s->key2 : NULL);
}

/* ---- broadcast process ------------------------------------------------------------ */

static void bcast_element(fl_op *op, const fl_rec *in)
{
    run_side(op, in, op->fn, 1, op->ctx.kb ? &op->key : NULL);
}

static void bcast_broadcast(fl_op *op, const fl_rec *in)
{
    /* not keyed: every subtask gets every broadcast element and updates its own copy */
    op->ctx.input = 2;
    op->out.ts = op->ctx.ts = in->ts;
    ((fl_process_fn)op->fn2)(&op->ctx, in, &op->out);
}

/* ---- interval join ---------------------------------------------------------------- */

/* Per key, each side's buffered records: [i64 ts][u32 len][bytes] ... in a backend value.
 * A record of one side joins every buffered record of the other side with the same key
 * whose timestamp is within the bounds; a record is buffered until the watermark passes
 * the last time a partner could arrive (cleanup timer). */
typedef struct join_state {
    fl_keysel key2;
    fl_kstate *buf[2];
    int64_t lower, upper;
    uint8_t *scratch;
    uint32_t scap;
} join_state;

static void join_side(fl_op *op, const fl_rec *in, int side)
{
    join_state *js = op->state;
    fl_kbackend *kb = op->ctx.kb;
    uint8_t key[FL_MAX_KEY];
    if (in->ts == FL_NO_TIMESTAMP) {
        fl_op_fail(op, "an interval join needs event timestamps (assign "
                       "timestamps and watermarks upstream)");
        return;
    }
    if (in->ts < op->watermark) /* late: Flink's interval join drops it */
        return;
    if (!fl_op_set_key(op, side == 0 ? &op->key : &js->key2, in, key))
        return;
    op->ctx.input = side + 1;
    /* left l joins right r when l.ts + lower <= r.ts <= l.ts + upper */
    const void *other;
    uint32_t olen;
    if (kb->ops->get(js->buf[1 - side], NULL, 0, &other, &olen)) {
        /* copy: the user function may touch state and move the value */
        if (olen > js->scap) {
            js->scap = olen * 2;
            js->scratch = fl_xrealloc(js->scratch, js->scap);
        }
        memcpy(js->scratch, other, olen);
        const uint8_t *p = js->scratch, *end = p + olen;
        while (end - p >= 12) {
            int64_t ts;
            uint32_t len;
            memcpy(&ts, p, 8);
            memcpy(&len, p + 8, 4);
            fl_rec o = {p + 12, len, ts};
            bool match = side == 0 ? in->ts + js->lower <= ts && ts <= in->ts + js->upper
                                   : ts + js->lower <= in->ts && in->ts <= ts + js->upper;
            if (match) {
                int64_t out_ts = ts > in->ts ? ts : in->ts;
                op->out.ts = op->ctx.ts = out_ts;
                if (side == 0)
                    ((fl_join_fn)op->fn)(&op->ctx, in, &o, &op->out);
                else
                    ((fl_join_fn)op->fn)(&op->ctx, &o, in, &op->out);
            }
            p += 12 + len;
        }
    }
    uint8_t hdr[12];
    memcpy(hdr, &in->ts, 8);
    memcpy(hdr + 8, &in->len, 4);
    kb->ops->append(js->buf[side], NULL, 0, hdr, 12);
    kb->ops->append(js->buf[side], NULL, 0, in->data, in->len);
    /* no partner can come for this record once the watermark passes this time */
    int64_t until = side == 0 ? in->ts + (js->upper > 0 ? js->upper : 0)
                              : in->ts + (js->lower < 0 ? -js->lower : 0);
    fl_timers_register(op->timers, FL_TIMER_EVENT, until, kb->key, kb->klen, kb->kg, NULL, 0);
    kb->key = NULL;
}

static void join_left(fl_op *op, const fl_rec *in)
{
    join_side(op, in, 0);
}

static void join_right(fl_op *op, const fl_rec *in)
{
    join_side(op, in, 1);
}

/* Cleanup: drop each side's records no future partner can match. */
static void join_timer(fl_op *op, const fl_timer *t)
{
    join_state *js = op->state;
    fl_kbackend *kb = op->ctx.kb;
    int64_t wm = t->time;
    for (int side = 0; side < 2; side++) {
        const void *v;
        uint32_t n;
        if (!kb->ops->get(js->buf[side], NULL, 0, &v, &n))
            continue;
        if (n > js->scap) {
            js->scap = n * 2;
            js->scratch = fl_xrealloc(js->scratch, js->scap);
        }
        uint32_t w = 0;
        const uint8_t *p = v, *end = p + n;
        while (end - p >= 12) {
            int64_t ts;
            uint32_t len;
            memcpy(&ts, p, 8);
            memcpy(&len, p + 8, 4);
            int64_t until = side == 0 ? ts + (js->upper > 0 ? js->upper : 0)
                                      : ts + (js->lower < 0 ? -js->lower : 0);
            if (until > wm) {
                memcpy(js->scratch + w, p, 12 + len);
                w += 12 + len;
            }
            p += 12 + len;
        }
        if (w)
            kb->ops->put(js->buf[side], NULL, 0, js->scratch, w);
        else
            kb->ops->remove(js->buf[side], NULL, 0);
    }
}

static void join_release(fl_op *op)
{
    join_state *js = op->state;
    if (js)
        free(js->scratch);
    free(js);
}

static void free_state(fl_op *op)
{
    free(op->state);
}

static int needs_both(fl_op *op, bool second, fl_err *err)
{
    if (!op->fn || (second && !op->fn2)) {
        fl_err_set(err, "%s needs a function for each input", op->spec->name);
        return -1;
    }
    return 0;
}

static int init_co_process(fl_op *op, fl_err *err)
{
    if (needs_both(op, true, err) < 0)
        return -1;
    co_state *s = fl_xcalloc(1, sizeof *s);
    op->state = s;
    if (op->ctx.kb && fl_keysel_init(&s->key2, op->spec->key2, op->view->bundle, err) < 0)
        return -1;
    return 0;
}

static int init_broadcast_process(fl_op *op, fl_err *err)
{
    if (needs_both(op, true, err) < 0)
        return -1;
    if (!op->spec->broadcast_state || !op->spec->broadcast_state[0]) {
        fl_err_set(err, "%s: no broadcast state", op->spec->name);
        return -1;
    }
    return 0;
}

static int init_interval_join(fl_op *op, fl_err *err)
{
    const Fl__Pb__OperatorSpec *spec = op->spec;
    if (needs_both(op, false, err) < 0)
        return -1;
    if (!op->ctx.kb) {
        fl_err_set(err, "%s: an interval join needs two keyed inputs", spec->name);
        return -1;
    }
    join_state *js = fl_xcalloc(1, sizeof *js);
    op->state = js;
    if (fl_keysel_init(&js->key2, spec->key2, op->view->bundle, err) < 0)
        return -1;
    js->lower = spec->lower_ms;
    js->upper = spec->upper_ms;
    js->buf[0] = fl_kstate_get_or_create(op->ctx.kb, "join:left");
    js->buf[1] = fl_kstate_get_or_create(op->ctx.kb, "join:right");
    if (!op->timers)
        op->timers = fl_timers_new();
    return 0;
}

/* CoMap, CoFlatMap, CoProcess: the first function for the first input, the second for
 * the second; keyed when both inputs are */
const fl_op_ops fl_co_process_ops = {
    .name = "co-process",
    .init = init_co_process,
    .process = co_process1,
    .process2 = co_process2,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
    .release = free_state,
};

/* the broadcast state pattern: elements (keyed or not) read, broadcast elements write the
 * broadcast map states */
const fl_op_ops fl_broadcast_process_ops = {
    .name = "broadcast process",
    .broadcast_state = true,
    .init = init_broadcast_process,
    .process = bcast_element,
    .process2 = bcast_broadcast,
    .process_watermark = fl_op_default_watermark,
    .on_timer = fl_op_user_on_timer,
};

const fl_op_ops fl_interval_join_ops = {
    .name = "interval join",
    .init = init_interval_join,
    .process = join_left,
    .process2 = join_right,
    .process_watermark = fl_op_default_watermark,
    .on_timer = join_timer,
    .release = join_release,
};
