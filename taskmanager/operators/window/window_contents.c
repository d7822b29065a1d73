/* window_contents.c -- a window's contents (Flink's windowState) and its window function:
 * adding an element (folded at once by the reduce or aggregate function, or kept in the
 * element list of a process function or an evictor), merging the contents of sessions, and
 * firing: the count evictor, then the window function over what is kept, its results
 * stamped with the window's max timestamp. The contents live in the operator's keyed
 * backend in the window's namespace (the layout at the top of window.c). Task thread only;
 * nothing allocates per record (the buffers of the window operator are reused).
 */
#include "common/util.h"
#include "internal.h"

#include <string.h>

/* reduce(a, b) into op->capture; false (task failed) unless it emitted exactly one. */
bool fl_window_reduce2(fl_op *op, wop *w, const void *a, uint32_t alen, const fl_rec *b)
{
    fl_rec acc = {a, alen, b->ts};
    op->capture.ncaptured = 0;
    w->reduce(&op->ctx, &acc, b, &op->capture);
    if (op->capture.ncaptured != 1) {
        fl_op_fail(op, "the reduce function of %s emitted %d records; it must "
                       "emit exactly one (the combined value)",
                   op->ctx.name, op->capture.ncaptured);
        return false;
    }
    return true;
}

/* memcpy of an accumulator, without a call for the one- and two-word accumulators of
 * counts and sums (most of them): a copy of a known size is two moves. */
static inline void copy_acc(void *d, const void *s, uint32_t n)
{
    if (n == 8)
        memcpy(d, s, 8);
    else if (n == 16)
        memcpy(d, s, 16);
    else
        memcpy(d, s, n);
}

/* windowState.add(element) for the contents in namespace ns; true when the window had
 * no contents before (or, for element lists, when that is not known). */
bool fl_window_contents_add(fl_op *op, wop *w, const uint8_t *ns, const fl_rec *in)
{
    fl_kbackend *kb = op->ctx.kb;
    const void *cur;
    uint32_t len;
    if (w->list) {
        uint8_t *b = window_room(&w->buf, &w->bufcap, (size_t)in->len + 4);
        memcpy(b, &in->len, 4);
        if (in->len)
            memcpy(b + 4, in->data, in->len);
        kb->ops->append(w->contents, ns, NS_LEN, b, in->len + 4);
        return true;
    }
    bool have;
    if (w->function == FL_WINDOW_AGGREGATE && kb->ops->get_mut) {
        /* one lookup: update in place (through w->acc: the stored bytes may be unaligned) */
        uint32_t mlen;
        uint8_t *mut = kb->ops->get_mut(w->contents, ns, NS_LEN, &mlen);
        if (mut && mlen == w->agg.acc_size) {
            copy_acc(w->acc, mut, mlen);
            w->agg.add(w->acc, in);
            copy_acc(mut, w->acc, mlen);
            return false;
        }
        have = mut && kb->ops->get(w->contents, ns, NS_LEN, &cur, &len); /* missing: known */
    } else {
        have = kb->ops->get(w->contents, ns, NS_LEN, &cur, &len);
    }
    if (w->function == FL_WINDOW_AGGREGATE) {
        if (have && len == w->agg.acc_size)
            memcpy(w->acc, cur, len);
        else
            w->agg.create(w->acc);
        w->agg.add(w->acc, in);
        kb->ops->put(w->contents, ns, NS_LEN, w->acc, w->agg.acc_size);
    } else if (!have) {
        kb->ops->put(w->contents, ns, NS_LEN, in->data, in->len);
    } else if (fl_window_reduce2(op, w, cur, len, in)) {
        kb->ops->put(w->contents, ns, NS_LEN, op->capture.cap, op->capture.cap_len);
    }
    return !have;
}

/* mergeNamespaces: the contents of the n state windows src go into target's. A value
 * from get stays valid only until the next get on the same state (RocksDB pins one), so
 * each source is copied out before the target is read. */
void fl_window_contents_merge(fl_op *op, wop *w, const fl_window *target,
                              const fl_window *src, int n)
{
    fl_kbackend *kb = op->ctx.kb;
    uint8_t tns[NS_LEN], sns[NS_LEN];
    ns_of(target, tns);
    for (int i = 0; i < n && !fl_op_should_stop(op); i++) {
        const void *v, *t;
        uint32_t vlen, tlen;
        ns_of(&src[i], sns);
        if (!kb->ops->get(w->contents, sns, NS_LEN, &v, &vlen))
            continue;
        uint8_t *copy = window_room(&w->red, &w->redcap, vlen);
        if (vlen)
            memcpy(copy, v, vlen);
        v = copy;
        if (w->list) {
            kb->ops->append(w->contents, tns, NS_LEN, v, vlen);
        } else if (!kb->ops->get(w->contents, tns, NS_LEN, &t, &tlen)) {
            kb->ops->put(w->contents, tns, NS_LEN, v, vlen);
        } else if (w->function == FL_WINDOW_AGGREGATE) {
            if (tlen != w->agg.acc_size || vlen != w->agg.acc_size)
                continue;
            memcpy(w->acc, t, tlen);
            w->agg.merge(w->acc, v);
            kb->ops->put(w->contents, tns, NS_LEN, w->acc, tlen);
        } else {
            fl_rec b = {v, vlen, FL_NO_TIMESTAMP};
            if (fl_window_reduce2(op, w, t, tlen, &b))
                kb->ops->put(w->contents, tns, NS_LEN, op->capture.cap, op->capture.cap_len);
        }
        kb->ops->remove(w->contents, sns, NS_LEN);
    }
}

/* The number of elements of a list value; -1 when it is malformed. */
static int64_t list_count(const uint8_t *p, uint32_t len, uint32_t *skip_to, int64_t keep)
{
    int64_t n = 0;
    uint32_t off = 0, l;
    while (off < len) {
        if (len - off < 4)
            return -1;
        memcpy(&l, p + off, 4);
        if (len - off - 4 < l)
            return -1;
        off += 4 + l;
        n++;
    }
    /* second pass: where the last `keep` elements start */
    *skip_to = 0;
    for (int64_t i = 0, drop = n - keep; i < drop; i++) {
        memcpy(&l, p + *skip_to, 4);
        *skip_to += 4 + l;
    }
    return n;
}

/* Emits the single value (data, len) or hands it to the process function. */
static void emit_single(fl_op *op, wop *w, const fl_window *win, const void *data, uint32_t len,
                        uint8_t *framed)
{
    if (!w->process) {
        fl_out_emit(&op->out, data, len, op->out.ts);
        return;
    }
    if (!framed) {
        framed = window_room(&w->buf, &w->bufcap, (size_t)len + 4);
        if (len)
            memcpy(framed + 4, data, len);
    }
    memcpy(framed, &len, 4);
    fl_iter it = {framed, framed + 4 + len, &op->ctx};
    w->process(&op->ctx, win, &it, &op->out);
}

static void emit_aggregate(fl_op *op, wop *w, const fl_window *win)
{
    uint32_t n = w->agg.result(w->acc, w->res + 4, w->agg.result_max);
    if (n > w->agg.result_max) {
        fl_op_fail(op, "the aggregate function of %s returned a %u-byte result; "
                       "its result_max is %u",
                   op->ctx.name, n, w->agg.result_max);
        return;
    }
    emit_single(op, w, win, w->res + 4, n, w->res);
}

/* FIRE: the window function over the contents in state namespace sns; the results carry
 * the window's max timestamp. An empty window emits nothing. */
void fl_window_fire(fl_op *op, wop *w, const fl_window *win, const uint8_t *sns)
{
    fl_kbackend *kb = op->ctx.kb;
    const void *v;
    uint32_t len;
    if (!kb->ops->get(w->contents, sns, NS_LEN, &v, &len))
        return;
    const uint8_t *p = v;
    op->out.ts = op->ctx.ts = max_ts(win);
    op->ctx.window = win;
    op->ctx.wns = w->merging ? NULL : sns; /* per-window user state (not when merging) */
    if (w->evict) {
        uint32_t skip = 0;
        int64_t n = list_count(p, len, &skip, w->evict);
        if (n < 0) {
            fl_op_fail(op, "corrupt window contents in %s", op->ctx.name);
            goto out;
        }
        if (n > w->evict) { /* CountEvictor: the oldest go, for good */
            len -= skip;
            uint8_t *b = window_room(&w->buf, &w->bufcap, len);
            memcpy(b, p + skip, len);
            kb->ops->put(w->contents, sns, NS_LEN, b, len);
            p = b;
        }
    }
    if (w->function == FL_WINDOW_PROCESS) {
        fl_iter it = {p, p + len, &op->ctx};
        w->process(&op->ctx, win, &it, &op->out);
    } else if (!w->list) {
        if (w->function == FL_WINDOW_REDUCE) {
            emit_single(op, w, win, p, len, NULL);
        } else if (len == w->agg.acc_size) {
            memcpy(w->acc, p, len);
            emit_aggregate(op, w, win);
        }
    } else { /* reduce or aggregate over the kept elements */
        fl_iter it = {p, p + len, &op->ctx};
        fl_rec e;
        bool first = true;
        uint32_t rlen = 0;
        if (w->function == FL_WINDOW_AGGREGATE)
            w->agg.create(w->acc);
        while (fl_iter_next(&it, &e) && !fl_op_should_stop(op)) {
            if (w->function == FL_WINDOW_AGGREGATE) {
                w->agg.add(w->acc, &e);
            } else if (first) {
                memcpy(window_room(&w->red, &w->redcap, e.len), e.data, e.len);
                rlen = e.len;
            } else if (fl_window_reduce2(op, w, w->red, rlen, &e)) {
                rlen = op->capture.cap_len;
                memcpy(window_room(&w->red, &w->redcap, rlen), op->capture.cap, rlen);
            }
            first = false;
        }
        if (first || fl_op_should_stop(op))
            goto out;
        if (w->function == FL_WINDOW_AGGREGATE)
            emit_aggregate(op, w, win);
        else
            emit_single(op, w, win, w->red, rlen, NULL);
    }
out:
    op->ctx.window = NULL;
    op->ctx.wns = NULL;
}

