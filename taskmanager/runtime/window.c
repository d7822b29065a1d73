/* window.c -- the window operator (Flink's WindowOperator and EvictingWindowOperator,
 * DESIGN.md §5): window assigners, triggers (event time, processing time, count, custom),
 * merging session windows, allowed lateness with late firings, late elements to a side
 * output, the count evictor, and the reduce / aggregate / process window functions.
 * fl_op_init calls fl_window_op_init for OP_WINDOW; everything runs on the task thread,
 * and nothing on the per-record path allocates (the buffers below are reused).
 *
 * Every piece of window state lives in the operator's keyed backend, per key, so a
 * checkpoint snapshots it per key group with the rest of the keyed state:
 *   "window-contents"  ns = window (16 bytes: start, end as host-order int64)
 *        reduce: the reduced value; aggregate: the accumulator (acc_size bytes);
 *        process, or any function with an evictor: the elements, [u32 len][bytes] each
 *        (the list format fl_iter_next reads)
 *   "window-count"     ns = window: the count trigger's int64
 *   "trigger:<name>"   ns = window: a custom trigger's named values
 *   "window-merging"   no ns: merging (session) windows only, the key's MergingWindowSet,
 *        32 bytes per window: start, end, then its state window's start, end (the window
 *        whose namespace holds the contents: merging moves no contents but the smaller
 *        sessions' into the surviving one)
 * Timers (op->timers) are (key, window): the trigger's timers and the clean-up timer at
 * end - 1 + allowed lateness share the namespace, so with no lateness they are one timer.
 * A firing timer asks the trigger, fires or purges, then clears the whole window when the
 * timer is its clean-up time.
 */
#include "log.h"
#include "runtime_internal.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_LEN 16
#define MAX_TRIGGER_STATES 16
#define MAX_WINDOWS_PER_ELEMENT (1 << 20)

enum { TRIG_NEVER, TRIG_EVENT, TRIG_PROC, TRIG_COUNT, TRIG_CUSTOM };
enum { FN_REDUCE = 1, FN_AGGREGATE = 2, FN_PROCESS = 3 };

typedef struct merge_ent {
    fl_window w, state;
} merge_ent;

typedef struct named_state {
    char name[64];
    fl_kstate *s;
} named_state;

struct fl_trigger_ctx {
    fl_op *op;
    fl_window w;
    uint8_t ns[NS_LEN];
};

typedef struct wop {
    int assigner;
    bool event_time, merging, all;
    int64_t size, slide, offset, gap, lateness;
    const char *late_tag;        /* NULL: late elements are counted as dropped */
    int trig;
    int64_t trig_count;
    bool purge_on_fire;
    fl_trigger custom;
    int64_t evict;               /* keep the last n elements before the function; 0: none */
    int function;
    bool list;                   /* contents are all elements (process, or an evictor) */
    fl_reduce_fn reduce;
    fl_aggregate agg;
    fl_window_process_fn process;
    fl_kstate *contents, *count, *mapping;
    named_state tstates[MAX_TRIGGER_STATES];
    int ntstates;
    fl_window *wins;             /* the windows of the element being processed */
    int maxwins;
    merge_ent *map, *map2;       /* the current key's merging set, and the next one */
    uint32_t nmap, nmap2, mapcap;
    struct cand { fl_window w; int idx; } *cand; /* a merge's candidates, by start */
    fl_window *mw, *ms;          /* a merge group's windows and their state windows */
    bool map_dirty;
    uint8_t *acc;                /* aggregate: the accumulator worked on */
    uint8_t *res;                /* aggregate: [u32 len][getResult's bytes] */
    uint8_t *buf;                /* a framed element or value; the evictor's kept tail */
    uint32_t bufcap;
    uint8_t *red;                /* folding a list with the reduce function */
    uint32_t redcap;
    uint64_t dropped;            /* late elements not sent to a side output */
} wop;

/* ---- windows, namespaces, times ------------------------------------------------------ */

static inline void ns_of(const fl_window *w, uint8_t *ns)
{
    memcpy(ns, &w->start, 8);
    memcpy(ns + 8, &w->end, 8);
}

static inline fl_window ns_window(const uint8_t *ns)
{
    fl_window w;
    memcpy(&w.start, ns, 8);
    memcpy(&w.end, ns + 8, 8);
    return w;
}

static inline bool same_window(const fl_window *a, const fl_window *b)
{
    return a->start == b->start && a->end == b->end;
}

static inline int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* The window's max timestamp: when it fires, and the results' timestamp. */
static inline int64_t max_ts(const fl_window *w)
{
    return w->end == INT64_MAX ? INT64_MAX : w->end - 1;
}

/* When the window's state goes: end - 1 + lateness (event time), end - 1 (processing
 * time); INT64_MAX (global windows): never. */
static int64_t cleanup_time(const wop *w, const fl_window *win)
{
    int64_t m = max_ts(win);
    return w->event_time ? sat_add(m, w->lateness) : m;
}

static bool window_late(const fl_op *op, const wop *w, const fl_window *win)
{
    return w->event_time && cleanup_time(w, win) <= op->watermark;
}

/* start = ts - (ts - offset + size) mod size, with a true (non-negative) modulo. */
static int64_t window_start(int64_t ts, int64_t offset, int64_t size)
{
    int64_t r = (ts % size - offset % size) % size;
    if (r < 0)
        r += size;
    return sat_add(ts, -r);
}

/* The windows of an element at ts into w->wins (sliding: latest first, as Flink). */
static int assign_windows(wop *w, int64_t ts)
{
    switch (w->assigner) {
    case FL_TUMBLING_EVENT_TIME:
    case FL_TUMBLING_PROCESSING_TIME: {
        int64_t s = window_start(ts, w->offset, w->size);
        w->wins[0] = (fl_window){s, sat_add(s, w->size)};
        return 1;
    }
    case FL_SLIDING_EVENT_TIME:
    case FL_SLIDING_PROCESSING_TIME: {
        int n = 0;
        int64_t limit = sat_add(ts, -w->size);
        for (int64_t s = window_start(ts, w->offset, w->slide); s > limit && n < w->maxwins;
             s = sat_add(s, -w->slide)) {
            w->wins[n++] = (fl_window){s, sat_add(s, w->size)};
            if (s == INT64_MIN)
                break;
        }
        return n;
    }
    case FL_EVENT_TIME_SESSION:
    case FL_PROCESSING_TIME_SESSION:
        w->wins[0] = (fl_window){ts, sat_add(ts, w->gap)};
        return 1;
    default: /* global */
        w->wins[0] = (fl_window){INT64_MIN, INT64_MAX};
        return 1;
    }
}

static uint8_t *room(uint8_t **buf, uint32_t *cap, size_t n)
{
    if (n > *cap) {
        *cap = (uint32_t)(n * 2 + 64);
        *buf = fl_xrealloc(*buf, *cap);
    }
    return *buf;
}

/* ---- timers ------------------------------------------------------------------------ */

static void timer_set(fl_op *op, int domain, int64_t time, const uint8_t *ns, bool add)
{
    fl_kbackend *kb = op->ctx.kb;
    if (add)
        fl_timers_register(op->timers, domain, time, kb->key, kb->klen, kb->kg, ns, NS_LEN);
    else
        fl_timers_delete(op->timers, domain, time, kb->key, kb->klen, ns, NS_LEN);
}

static void cleanup_timer(fl_op *op, wop *w, const fl_window *win, const uint8_t *ns, bool add)
{
    int64_t t = cleanup_time(w, win);
    if (t == INT64_MAX)
        return;
    /* the built-in time triggers already keep a timer at end - 1 in the same namespace */
    if (add && ((w->trig == TRIG_EVENT && w->lateness == 0) || w->trig == TRIG_PROC))
        return;
    timer_set(op, w->event_time ? FL_TIMER_EVENT : FL_TIMER_PROCESSING, t, ns, add);
}

/* ---- triggers ---------------------------------------------------------------------- */

static void trigger_ctx_init(fl_trigger_ctx *tc, fl_op *op, const fl_window *win)
{
    tc->op = op;
    tc->w = *win;
    ns_of(win, tc->ns);
}

static int trigger_result(fl_op *op, wop *w, int r)
{
    if (r < FL_CONTINUE || r > FL_FIRE_AND_PURGE) {
        fl_task_fail(op->ctx.task, "the trigger of %s returned %d (expected FL_CONTINUE, "
                                   "FL_FIRE, FL_PURGE or FL_FIRE_AND_PURGE)",
                     op->ctx.name, r);
        return FL_CONTINUE;
    }
    if (w->purge_on_fire && (r & FL_FIRE))
        r |= FL_PURGE;
    return r;
}

/* Trigger.onElement. have_timers: the built-in time triggers' timer is known to exist
 * already (registering it again would be a no-op, and costs a lookup per element). */
static int trigger_element(fl_op *op, wop *w, fl_trigger_ctx *tc, const fl_rec *in, int64_t ts,
                           bool have_timers)
{
    int64_t m = max_ts(&tc->w);
    switch (w->trig) {
    case TRIG_EVENT:
        if (m <= op->watermark)
            return trigger_result(op, w, FL_FIRE);
        if (!have_timers)
            timer_set(op, FL_TIMER_EVENT, m, tc->ns, true);
        return FL_CONTINUE;
    case TRIG_PROC:
        if (!have_timers)
            timer_set(op, FL_TIMER_PROCESSING, m, tc->ns, true);
        return FL_CONTINUE;
    case TRIG_COUNT: {
        fl_kbackend *kb = op->ctx.kb;
        const void *v;
        uint8_t *mut = NULL;
        uint32_t len;
        int64_t c = 0;
        if (kb->ops->get_mut) /* in place: one lookup */
            mut = kb->ops->get_mut(w->count, tc->ns, NS_LEN, &len);
        if (mut && len != 8)
            mut = NULL; /* not a count: rewritten below */
        if (mut)
            memcpy(&c, mut, 8);
        else if (kb->ops->get(w->count, tc->ns, NS_LEN, &v, &len) && len == 8)
            memcpy(&c, v, 8);
        if (++c >= w->trig_count) {
            kb->ops->remove(w->count, tc->ns, NS_LEN);
            return trigger_result(op, w, FL_FIRE);
        }
        if (mut)
            memcpy(mut, &c, 8);
        else
            kb->ops->put(w->count, tc->ns, NS_LEN, &c, 8);
        return FL_CONTINUE;
    }
    case TRIG_CUSTOM:
        return trigger_result(op, w, w->custom.on_element(tc, in, ts, &tc->w));
    default:
        return FL_CONTINUE;
    }
}

static int trigger_time(fl_op *op, wop *w, fl_trigger_ctx *tc, int domain, int64_t time)
{
    switch (w->trig) {
    case TRIG_EVENT:
        return domain == FL_TIMER_EVENT && time == max_ts(&tc->w)
                   ? trigger_result(op, w, FL_FIRE)
                   : FL_CONTINUE;
    case TRIG_PROC:
        return domain == FL_TIMER_PROCESSING ? trigger_result(op, w, FL_FIRE) : FL_CONTINUE;
    case TRIG_CUSTOM: {
        fl_trigger_time_fn fn = domain == FL_TIMER_EVENT ? w->custom.on_event_time
                                                         : w->custom.on_processing_time;
        return fn ? trigger_result(op, w, fn(tc, time, &tc->w)) : FL_CONTINUE;
    }
    default:
        return FL_CONTINUE;
    }
}

/* Trigger.clear: its timers and state for the window go. */
static void trigger_clear(fl_op *op, wop *w, fl_trigger_ctx *tc)
{
    fl_kbackend *kb = op->ctx.kb;
    switch (w->trig) {
    case TRIG_EVENT:
        timer_set(op, FL_TIMER_EVENT, max_ts(&tc->w), tc->ns, false);
        break;
    case TRIG_PROC:
        timer_set(op, FL_TIMER_PROCESSING, max_ts(&tc->w), tc->ns, false);
        break;
    case TRIG_COUNT:
        kb->ops->remove(w->count, tc->ns, NS_LEN);
        break;
    case TRIG_CUSTOM:
        if (w->custom.clear)
            w->custom.clear(tc, &tc->w);
        /* whatever the trigger's clear forgot: its named values die with the window */
        for (int i = 0; i < w->ntstates; i++)
            kb->ops->remove(w->tstates[i].s, tc->ns, NS_LEN);
        break;
    }
}

/* Trigger.onMerge for the merge result tc->w of the n windows mw. A custom trigger has no
 * merge function: the merged windows' values are cleared (trigger_clear), and the merged
 * window starts afresh with the element that caused the merge. */
static void trigger_merge(fl_op *op, wop *w, fl_trigger_ctx *tc, const fl_window *mw, int n)
{
    int64_t m = max_ts(&tc->w);
    switch (w->trig) {
    case TRIG_EVENT:
        if (m > op->watermark)
            timer_set(op, FL_TIMER_EVENT, m, tc->ns, true);
        break;
    case TRIG_PROC:
        if (m > fl_now_ms())
            timer_set(op, FL_TIMER_PROCESSING, m, tc->ns, true);
        break;
    case TRIG_COUNT: {
        fl_kbackend *kb = op->ctx.kb;
        const void *v;
        uint32_t len;
        int64_t sum = 0, c;
        uint8_t ns[NS_LEN];
        if (kb->ops->get(w->count, tc->ns, NS_LEN, &v, &len) && len == 8)
            memcpy(&sum, v, 8);
        for (int i = 0; i < n; i++) {
            ns_of(&mw[i], ns);
            if (kb->ops->get(w->count, ns, NS_LEN, &v, &len) && len == 8) {
                memcpy(&c, v, 8);
                sum += c;
            }
        }
        if (sum)
            kb->ops->put(w->count, tc->ns, NS_LEN, &sum, 8);
        break;
    }
    }
}

/* ---- contents ---------------------------------------------------------------------- */

/* reduce(a, b) into op->capture; false (task failed) unless it emitted exactly one. */
static bool reduce2(fl_op *op, wop *w, const void *a, uint32_t alen, const fl_rec *b)
{
    fl_rec acc = {a, alen, b->ts};
    op->capture.ncaptured = 0;
    w->reduce(&op->ctx, &acc, b, &op->capture);
    if (op->capture.ncaptured != 1) {
        fl_task_fail(op->ctx.task, "the reduce function of %s emitted %d records; it must "
                                   "emit exactly one (the combined value)",
                     op->ctx.name, op->capture.ncaptured);
        return false;
    }
    return true;
}

/* windowState.add(element) for the contents in namespace ns; true when the window had
 * no contents before (or, for element lists, when that is not known). */
static bool contents_add(fl_op *op, wop *w, const uint8_t *ns, const fl_rec *in)
{
    fl_kbackend *kb = op->ctx.kb;
    const void *cur;
    uint32_t len;
    if (w->list) {
        uint8_t *b = room(&w->buf, &w->bufcap, (size_t)in->len + 4);
        memcpy(b, &in->len, 4);
        if (in->len)
            memcpy(b + 4, in->data, in->len);
        kb->ops->append(w->contents, ns, NS_LEN, b, in->len + 4);
        return true;
    }
    bool have;
    if (w->function == FN_AGGREGATE && kb->ops->get_mut) {
        /* one lookup: update in place (through w->acc: the stored bytes may be unaligned) */
        uint32_t mlen;
        uint8_t *mut = kb->ops->get_mut(w->contents, ns, NS_LEN, &mlen);
        if (mut && mlen == w->agg.acc_size) {
            memcpy(w->acc, mut, mlen);
            w->agg.add(w->acc, in);
            memcpy(mut, w->acc, mlen);
            return false;
        }
        have = mut && kb->ops->get(w->contents, ns, NS_LEN, &cur, &len); /* missing: known */
    } else {
        have = kb->ops->get(w->contents, ns, NS_LEN, &cur, &len);
    }
    if (w->function == FN_AGGREGATE) {
        if (have && len == w->agg.acc_size)
            memcpy(w->acc, cur, len);
        else
            w->agg.create(w->acc);
        w->agg.add(w->acc, in);
        kb->ops->put(w->contents, ns, NS_LEN, w->acc, w->agg.acc_size);
    } else if (!have) {
        kb->ops->put(w->contents, ns, NS_LEN, in->data, in->len);
    } else if (reduce2(op, w, cur, len, in)) {
        kb->ops->put(w->contents, ns, NS_LEN, op->capture.cap, op->capture.cap_len);
    }
    return !have;
}

/* mergeNamespaces: the contents of the n state windows src go into target's. A value
 * from get stays valid only until the next get on the same state (RocksDB pins one), so
 * each source is copied out before the target is read. */
static void contents_merge(fl_op *op, wop *w, const fl_window *target, const fl_window *src,
                           int n)
{
    fl_kbackend *kb = op->ctx.kb;
    uint8_t tns[NS_LEN], sns[NS_LEN];
    ns_of(target, tns);
    for (int i = 0; i < n && !fl_task_should_stop(op->ctx.task); i++) {
        const void *v, *t;
        uint32_t vlen, tlen;
        ns_of(&src[i], sns);
        if (!kb->ops->get(w->contents, sns, NS_LEN, &v, &vlen))
            continue;
        uint8_t *copy = room(&w->red, &w->redcap, vlen);
        if (vlen)
            memcpy(copy, v, vlen);
        v = copy;
        if (w->list) {
            kb->ops->append(w->contents, tns, NS_LEN, v, vlen);
        } else if (!kb->ops->get(w->contents, tns, NS_LEN, &t, &tlen)) {
            kb->ops->put(w->contents, tns, NS_LEN, v, vlen);
        } else if (w->function == FN_AGGREGATE) {
            if (tlen != w->agg.acc_size || vlen != w->agg.acc_size)
                continue;
            memcpy(w->acc, t, tlen);
            w->agg.merge(w->acc, v);
            kb->ops->put(w->contents, tns, NS_LEN, w->acc, tlen);
        } else {
            fl_rec b = {v, vlen, FL_NO_TIMESTAMP};
            if (reduce2(op, w, t, tlen, &b))
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
        fl_emit_ts(&op->out, data, len, op->out.ts);
        return;
    }
    if (!framed) {
        framed = room(&w->buf, &w->bufcap, (size_t)len + 4);
        if (len)
            memcpy(framed + 4, data, len);
    }
    memcpy(framed, &len, 4);
    fl_iter it = {framed, framed + 4 + len};
    w->process(&op->ctx, win, &it, &op->out);
}

static void emit_aggregate(fl_op *op, wop *w, const fl_window *win)
{
    uint32_t n = w->agg.result(w->acc, w->res + 4, w->agg.result_max);
    if (n > w->agg.result_max) {
        fl_task_fail(op->ctx.task, "the aggregate function of %s returned a %u-byte result; "
                                   "its result_max is %u",
                     op->ctx.name, n, w->agg.result_max);
        return;
    }
    emit_single(op, w, win, w->res + 4, n, w->res);
}

/* FIRE: the window function over the contents in state namespace sns; the results carry
 * the window's max timestamp. An empty window emits nothing. */
static void fire(fl_op *op, wop *w, const fl_window *win, const uint8_t *sns)
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
            fl_task_fail(op->ctx.task, "corrupt window contents in %s", op->ctx.name);
            goto out;
        }
        if (n > w->evict) { /* CountEvictor: the oldest go, for good */
            len -= skip;
            uint8_t *b = room(&w->buf, &w->bufcap, len);
            memcpy(b, p + skip, len);
            kb->ops->put(w->contents, sns, NS_LEN, b, len);
            p = b;
        }
    }
    if (w->function == FN_PROCESS) {
        fl_iter it = {p, p + len};
        w->process(&op->ctx, win, &it, &op->out);
    } else if (!w->list) {
        if (w->function == FN_REDUCE) {
            emit_single(op, w, win, p, len, NULL);
        } else if (len == w->agg.acc_size) {
            memcpy(w->acc, p, len);
            emit_aggregate(op, w, win);
        }
    } else { /* reduce or aggregate over the kept elements */
        fl_iter it = {p, p + len};
        fl_rec e;
        bool first = true;
        uint32_t rlen = 0;
        if (w->function == FN_AGGREGATE)
            w->agg.create(w->acc);
        while (fl_iter_next(&it, &e) && !fl_task_should_stop(op->ctx.task)) {
            if (w->function == FN_AGGREGATE) {
                w->agg.add(w->acc, &e);
            } else if (first) {
                memcpy(room(&w->red, &w->redcap, e.len), e.data, e.len);
                rlen = e.len;
            } else if (reduce2(op, w, w->red, rlen, &e)) {
                rlen = op->capture.cap_len;
                memcpy(room(&w->red, &w->redcap, rlen), op->capture.cap, rlen);
            }
            first = false;
        }
        if (first || fl_task_should_stop(op->ctx.task))
            goto out;
        if (w->function == FN_AGGREGATE)
            emit_aggregate(op, w, win);
        else
            emit_single(op, w, win, w->red, rlen, NULL);
    }
out:
    op->ctx.window = NULL;
    op->ctx.wns = NULL;
}

/* ---- merging windows (Flink's MergingWindowSet) ------------------------------------ */

static void map_room(wop *w, uint32_t n)
{
    if (n <= w->mapcap)
        return;
    w->mapcap = n * 2 + 8;
    w->map = fl_xrealloc(w->map, w->mapcap * sizeof *w->map);
    w->map2 = fl_xrealloc(w->map2, w->mapcap * sizeof *w->map2);
    w->cand = fl_xrealloc(w->cand, w->mapcap * sizeof *w->cand);
    w->mw = fl_xrealloc(w->mw, w->mapcap * sizeof *w->mw);
    w->ms = fl_xrealloc(w->ms, w->mapcap * sizeof *w->ms);
}

static void map_load(fl_op *op, wop *w)
{
    const void *v;
    uint32_t len;
    w->nmap = 0;
    w->map_dirty = false;
    if (!op->ctx.kb->ops->get(w->mapping, NULL, 0, &v, &len))
        return;
    uint32_t n = len / (uint32_t)sizeof(merge_ent);
    map_room(w, n + 1);
    memcpy(w->map, v, n * sizeof(merge_ent));
    w->nmap = n;
}

static void map_persist(fl_op *op, wop *w)
{
    fl_kbackend *kb = op->ctx.kb;
    if (!w->map_dirty)
        return;
    if (w->nmap)
        kb->ops->put(w->mapping, NULL, 0, w->map, w->nmap * (uint32_t)sizeof(merge_ent));
    else
        kb->ops->remove(w->mapping, NULL, 0);
    w->map_dirty = false;
}

static const merge_ent *map_find(const wop *w, const fl_window *win)
{
    for (uint32_t i = 0; i < w->nmap; i++)
        if (same_window(&w->map[i].w, win))
            return &w->map[i];
    return NULL;
}

/* retireWindow: win leaves the key's merging set (its contents are not touched). */
static void map_retire(wop *w, const fl_window *win)
{
    for (uint32_t i = 0; i < w->nmap; i++)
        if (same_window(&w->map[i].w, win)) {
            w->map[i] = w->map[--w->nmap];
            w->map_dirty = true;
            return;
        }
}

/* clearAllState: contents, trigger state and timers, and the merging-set entry. */
static void clear_window(fl_op *op, wop *w, const fl_window *win, const uint8_t *sns)
{
    fl_trigger_ctx tc;
    trigger_ctx_init(&tc, op, win);
    op->ctx.kb->ops->remove(w->contents, sns, NS_LEN);
    trigger_clear(op, w, &tc);
    if (w->merging)
        map_retire(w, win);
    else
        fl_op_clear_window_states(op, sns, NS_LEN);
}

static int cand_cmp(const void *a, const void *b)
{
    const fl_window *x = &((const struct cand *)a)->w, *y = &((const struct cand *)b)->w;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* The merge callback: n existing windows mw (state windows ms, ms[0] the survivor) become
 * cover. */
static void merge_windows(fl_op *op, wop *w, const fl_window *cover, int n)
{
    fl_trigger_ctx tc;
    if (w->event_time && cleanup_time(w, cover) <= op->watermark) {
        fl_task_fail(op->ctx.task, "%s: merging made window [%lld, %lld) end before the "
                                   "current watermark %lld",
                     op->ctx.name, (long long)cover->start, (long long)cover->end,
                     (long long)op->watermark);
        return;
    }
    trigger_ctx_init(&tc, op, cover);
    trigger_merge(op, w, &tc, w->mw, n);
    for (int i = 0; i < n; i++) {
        trigger_ctx_init(&tc, op, &w->mw[i]);
        trigger_clear(op, w, &tc);
        cleanup_timer(op, w, &w->mw[i], tc.ns, false);
    }
    /* the state windows that are not the survivor's */
    fl_window target = w->ms[0];
    int k = 0;
    for (int i = 1; i < n; i++)
        if (!same_window(&w->ms[i], &target))
            w->ms[k++] = w->ms[i];
    contents_merge(op, w, &target, w->ms, k);
}

/* MergingWindowSet.addWindow: adds nw to the key's set (w->map), merging what it
 * overlaps (windows that touch merge too: [a, b) and [b, c) intersect, as in Flink);
 * returns the window nw ended up in. */
static fl_window add_window(fl_op *op, wop *w, const fl_window *nw)
{
    const merge_ent *same = map_find(w, nw);
    if (same)
        return same->w;
    uint32_t n = w->nmap + 1;
    map_room(w, n);
    for (uint32_t i = 0; i < w->nmap; i++)
        w->cand[i] = (struct cand){w->map[i].w, (int)i};
    w->cand[w->nmap] = (struct cand){*nw, -1};
    qsort(w->cand, n, sizeof *w->cand, cand_cmp);
    fl_window result = *nw;
    w->nmap2 = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i;
        fl_window cover = w->cand[i].w;
        while (j + 1 < n && cover.end >= w->cand[j + 1].w.start) {
            j++;
            if (w->cand[j].w.end > cover.end)
                cover.end = w->cand[j].w.end;
        }
        if (j == i) { /* alone: kept as it is, or the new window by itself */
            const struct cand *c = &w->cand[i];
            w->map2[w->nmap2++] = c->idx < 0 ? (merge_ent){*nw, *nw} : w->map[c->idx];
            i = j + 1;
            continue;
        }
        int k = 0;
        bool has_new = false;
        for (uint32_t x = i; x <= j; x++) {
            if (w->cand[x].idx < 0) {
                has_new = true;
                continue;
            }
            w->mw[k] = w->map[w->cand[x].idx].w;
            w->ms[k++] = w->map[w->cand[x].idx].state;
        }
        if (has_new)
            result = cover;
        w->map2[w->nmap2++] = (merge_ent){cover, w->ms[0]};
        /* one existing window that already covers the new one: nothing merges */
        if (!(k == 1 && same_window(&w->mw[0], &cover)))
            merge_windows(op, w, &cover, k);
        i = j + 1;
    }
    merge_ent *t = w->map;
    w->map = w->map2;
    w->map2 = t;
    w->nmap = w->nmap2;
    w->map_dirty = true;
    return result;
}

/* ---- the operator ------------------------------------------------------------------ */

/* One window of the element: add, ask the trigger, fire/purge, keep the clean-up timer.
 * A non-merging window that already had contents already has its clean-up timer and the
 * time trigger's timer: they were registered with its first element, only the clean-up
 * (which also drops the contents) deletes them, and the trigger's fires no earlier than
 * the watermark passes end - 1, after which the trigger registers none. */
static void element_into(fl_op *op, wop *w, const fl_window *win, const uint8_t *sns,
                         const fl_rec *in)
{
    fl_trigger_ctx tc;
    bool have_timers = !contents_add(op, w, sns, in) && !w->merging;
    trigger_ctx_init(&tc, op, win);
    int r = trigger_element(op, w, &tc, in, in->ts, have_timers); /* the record's ts, as Flink */
    if (r & FL_FIRE)
        fire(op, w, win, sns);
    if (r & FL_PURGE)
        op->ctx.kb->ops->remove(w->contents, sns, NS_LEN);
    if (!have_timers)
        cleanup_timer(op, w, win, tc.ns, true);
}

static void window_process(fl_op *op, const fl_rec *in)
{
    wop *w = op->state;
    uint8_t key[FL_MAX_KEY], ns[NS_LEN];
    int64_t ts;
    bool skipped = true;
    if (w->all)
        fl_kbackend_set_key(op->ctx.kb, "", 0); /* windowAll: one empty key */
    else if (!fl_op_set_key(op, &op->key, in, key))
        return;
    if (w->event_time) {
        ts = in->ts;
        if (FL_UNLIKELY(ts == FL_NO_TIMESTAMP)) {
            fl_task_fail(op->ctx.task, "%s: a record without a timestamp reached an event-time "
                                       "window (assign timestamps and watermarks before it, "
                                       "fl_assign_timestamps_and_watermarks)",
                         op->ctx.name);
            goto out;
        }
    } else {
        ts = w->assigner == FL_GLOBAL_WINDOWS ? in->ts : fl_now_ms();
    }
    op->ctx.ts = in->ts;
    int n = assign_windows(w, ts);
    if (w->merging) {
        map_load(op, w);
        fl_window actual = add_window(op, w, &w->wins[0]);
        if (fl_task_should_stop(op->ctx.task))
            goto out;
        const merge_ent *e = map_find(w, &actual);
        if (window_late(op, w, &actual) || !e) {
            map_retire(w, &actual);
        } else {
            skipped = false;
            ns_of(&e->state, ns);
            element_into(op, w, &actual, ns, in);
        }
        map_persist(op, w);
    } else {
        for (int i = 0; i < n && !fl_task_should_stop(op->ctx.task); i++) {
            if (window_late(op, w, &w->wins[i]))
                continue;
            skipped = false;
            ns_of(&w->wins[i], ns);
            element_into(op, w, &w->wins[i], ns, in);
        }
    }
    if (skipped) { /* late for every window it belongs to */
        if (w->late_tag)
            fl_op_emit_side(op, w->late_tag, in->data, in->len, in->ts);
        else
            w->dropped++;
    }
out:
    op->ctx.kb->key = NULL;
}

static void window_on_timer(fl_op *op, const fl_timer *t)
{
    wop *w = op->state;
    uint8_t ns[NS_LEN], sns[NS_LEN];
    fl_trigger_ctx tc;
    if (t->nslen != NS_LEN)
        return;
    memcpy(ns, t->ns, NS_LEN);
    fl_window win = ns_window(ns);
    if (w->merging) {
        map_load(op, w);
        const merge_ent *e = map_find(w, &win);
        if (!e) /* a timer of a window merged away or cleared: nothing to do */
            return;
        ns_of(&e->state, sns);
    } else {
        memcpy(sns, ns, NS_LEN);
    }
    trigger_ctx_init(&tc, op, &win);
    int r = trigger_time(op, w, &tc, t->domain, t->time);
    if (r & FL_FIRE)
        fire(op, w, &win, sns);
    if (r & FL_PURGE)
        op->ctx.kb->ops->remove(w->contents, sns, NS_LEN);
    int cleanup_domain = w->event_time ? FL_TIMER_EVENT : FL_TIMER_PROCESSING;
    if (t->domain == cleanup_domain && t->time == cleanup_time(w, &win))
        clear_window(op, w, &win, sns);
    if (w->merging)
        map_persist(op, w);
}

/* ---- the trigger context (flint/window.h) ------------------------------------------ */

void fl_trigger_register_event_timer(fl_trigger_ctx *t, int64_t time)
{
    if (t)
        timer_set(t->op, FL_TIMER_EVENT, time, t->ns, true);
}

void fl_trigger_register_processing_timer(fl_trigger_ctx *t, int64_t time)
{
    if (t)
        timer_set(t->op, FL_TIMER_PROCESSING, time, t->ns, true);
}

void fl_trigger_delete_event_timer(fl_trigger_ctx *t, int64_t time)
{
    if (t)
        timer_set(t->op, FL_TIMER_EVENT, time, t->ns, false);
}

void fl_trigger_delete_processing_timer(fl_trigger_ctx *t, int64_t time)
{
    if (t)
        timer_set(t->op, FL_TIMER_PROCESSING, time, t->ns, false);
}

int64_t fl_trigger_current_watermark(const fl_trigger_ctx *t)
{
    return t ? t->op->watermark : FL_NO_WATERMARK;
}

/* The backend state of a trigger's named value (created on first use). */
static fl_kstate *trigger_state(fl_trigger_ctx *t, const char *name)
{
    wop *w = t->op->state;
    char full[80];
    for (int i = 0; i < w->ntstates; i++)
        if (strcmp(w->tstates[i].name, name) == 0)
            return w->tstates[i].s;
    if (w->ntstates == MAX_TRIGGER_STATES || strlen(name) >= sizeof w->tstates[0].name) {
        fl_task_fail(t->op->ctx.task, "%s: trigger state '%s': at most %d names of at most %zu "
                                      "characters",
                     t->op->ctx.name, name, MAX_TRIGGER_STATES, sizeof w->tstates[0].name - 1);
        return NULL;
    }
    named_state *s = &w->tstates[w->ntstates++];
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(full, sizeof full, "trigger:%s", name);
    s->s = fl_kstate_get_or_create(t->op->ctx.kb, full);
    return s->s;
}

bool fl_trigger_state_get(fl_trigger_ctx *t, const char *name, void *val, uint32_t len)
{
    fl_kstate *s = t ? trigger_state(t, name) : NULL;
    const void *v;
    uint32_t n;
    if (!s || !t->op->ctx.kb->ops->get(s, t->ns, NS_LEN, &v, &n))
        return false;
    uint32_t c = n < len ? n : len;
    if (c)
        memcpy(val, v, c);
    if (c < len)
        memset((uint8_t *)val + c, 0, len - c);
    return true;
}

void fl_trigger_state_put(fl_trigger_ctx *t, const char *name, const void *val, uint32_t len)
{
    fl_kstate *s = t ? trigger_state(t, name) : NULL;
    if (s)
        t->op->ctx.kb->ops->put(s, t->ns, NS_LEN, val, len);
}

void fl_trigger_state_clear(fl_trigger_ctx *t, const char *name)
{
    fl_kstate *s = t ? trigger_state(t, name) : NULL;
    if (s)
        t->op->ctx.kb->ops->remove(s, t->ns, NS_LEN);
}

/* ---- inspection (tests) ------------------------------------------------------------ */

uint64_t fl_window_op_dropped(const fl_op *op)
{
    return ((const wop *)op->state)->dropped;
}

bool fl_window_op_has_state(fl_op *op, const void *key, uint32_t klen, const fl_window *win)
{
    wop *w = op->state;
    fl_kbackend *kb = op->ctx.kb;
    uint8_t ns[NS_LEN];
    const void *v;
    uint32_t len;
    bool found = false;
    fl_kbackend_set_key(kb, key, klen);
    ns_of(win, ns);
    found = kb->ops->get(w->count, ns, NS_LEN, &v, &len);
    for (int i = 0; i < w->ntstates && !found; i++)
        found = kb->ops->get(w->tstates[i].s, ns, NS_LEN, &v, &len);
    if (!found && kb->ops->get(w->contents, ns, NS_LEN, &v, &len)) {
        found = true;
        if (w->merging) { /* contents under win that hold another window's are not win's */
            map_load(op, w);
            for (uint32_t i = 0; i < w->nmap && found; i++)
                found = same_window(&w->map[i].w, win) || !same_window(&w->map[i].state, win);
        }
    }
    if (w->merging && !found) {
        map_load(op, w);
        found = map_find(w, win) != NULL;
    }
    kb->key = NULL;
    return found;
}

/* ---- set-up ------------------------------------------------------------------------ */

static void window_release(fl_op *op)
{
    wop *w = op->state;
    if (!w)
        return;
    if (w->dropped)
        fl_info("%s: dropped %llu late elements (no side output for late data)", op->ctx.name,
                (unsigned long long)w->dropped);
    free(w->wins);
    free(w->map);
    free(w->map2);
    free(w->cand);
    free(w->mw);
    free(w->ms);
    free(w->acc);
    free(w->res);
    free(w->buf);
    free(w->red);
    free(w);
    op->state = NULL;
}

/* A bundle function by name into *fn; -1 when named but missing. */
static int resolve(fl_task *t, const char *name, void **fn, const char *what, fl_err *err)
{
    *fn = NULL;
    if (!name || !name[0])
        return 0;
    if (!(*fn = fl_bundle_sym(t->bundle, name))) {
        fl_err_set(err, "%s '%s' not found in the bundle", what, name);
        return -1;
    }
    return 0;
}

static int setup_functions(fl_task *t, fl_op *op, wop *w, fl_err *err)
{
    const Fl__Pb__WindowSpec *s = op->spec->window;
    void *p;
    if (resolve(t, s->process_fn, &p, "window process function", err) < 0)
        return -1;
    w->process = (fl_window_process_fn)p;
    w->function = s->function;
    switch (s->function) {
    case FN_REDUCE:
        if (resolve(t, s->reduce_fn, &p, "window reduce function", err) < 0)
            return -1;
        if (!(w->reduce = (fl_reduce_fn)p))
            goto missing;
        break;
    case FN_AGGREGATE: {
        const Fl__Pb__AggregateSpec *a = s->aggregate;
        if (!a || !a->acc_size)
            goto missing;
        if (resolve(t, a->create_fn, &p, "createAccumulator", err) < 0)
            return -1;
        w->agg.create = (fl_agg_create_fn)p;
        if (resolve(t, a->add_fn, &p, "add", err) < 0)
            return -1;
        w->agg.add = (fl_agg_add_fn)p;
        if (resolve(t, a->result_fn, &p, "getResult", err) < 0)
            return -1;
        w->agg.result = (fl_agg_result_fn)p;
        if (resolve(t, a->merge_fn, &p, "merge", err) < 0)
            return -1;
        w->agg.merge = (fl_agg_merge_fn)p;
        if (!w->agg.create || !w->agg.add || !w->agg.result)
            goto missing;
        w->agg.acc_size = a->acc_size;
        w->agg.result_max = a->result_max ? a->result_max : 4096;
        w->acc = fl_xcalloc(1, w->agg.acc_size);
        w->res = fl_xmalloc((size_t)w->agg.result_max + 4);
        if (w->merging && !w->evict && !w->agg.merge) {
            fl_err_set(err, "%s: session windows merge: the aggregate function needs merge",
                       op->spec->name);
            return -1;
        }
        break;
    }
    case FN_PROCESS:
        if (!w->process)
            goto missing;
        break;
    default:
        fl_err_set(err, "%s: unknown window function kind %d", op->spec->name, s->function);
        return -1;
    }
    w->list = w->function == FN_PROCESS || w->evict > 0;
    return 0;
missing:
    fl_err_set(err, "%s: the window function is incomplete (kind %d)", op->spec->name,
               s->function);
    return -1;
}

static int setup_trigger(fl_task *t, fl_op *op, wop *w, fl_err *err)
{
    const Fl__Pb__WindowSpec *s = op->spec->window;
    void *p;
    w->purge_on_fire = s->purge_on_fire;
    switch (s->trigger) {
    case 0:
        w->trig = w->assigner == FL_GLOBAL_WINDOWS ? TRIG_NEVER
                : w->event_time                    ? TRIG_EVENT
                                                   : TRIG_PROC;
        return 0;
    case 1:
        w->trig = TRIG_COUNT;
        w->trig_count = s->trigger_count > 0 ? s->trigger_count : 1;
        return 0;
    case 2:
        w->trig = TRIG_CUSTOM;
        if (resolve(t, s->trigger_on_element, &p, "trigger function", err) < 0)
            return -1;
        w->custom.on_element = (fl_trigger_element_fn)p;
        if (resolve(t, s->trigger_on_event_time, &p, "trigger function", err) < 0)
            return -1;
        w->custom.on_event_time = (fl_trigger_time_fn)p;
        if (resolve(t, s->trigger_on_processing_time, &p, "trigger function", err) < 0)
            return -1;
        w->custom.on_processing_time = (fl_trigger_time_fn)p;
        if (resolve(t, s->trigger_clear, &p, "trigger function", err) < 0)
            return -1;
        w->custom.clear = (fl_trigger_clear_fn)p;
        if (!w->custom.on_element) {
            fl_err_set(err, "%s: a custom trigger needs on_element", op->spec->name);
            return -1;
        }
        return 0;
    default:
        fl_err_set(err, "%s: unknown trigger kind %d", op->spec->name, s->trigger);
        return -1;
    }
}

int fl_window_op_init(fl_task *t, fl_op *op, fl_err *err)
{
    const Fl__Pb__WindowSpec *s = op->spec->window;
    if (!s) {
        fl_err_set(err, "%s: a window operator without its window spec", op->spec->name);
        return -1;
    }
    wop *w = fl_xcalloc(1, sizeof *w);
    op->state = w;
    op->release = window_release;
    w->assigner = s->assigner;
    w->size = s->size;
    w->slide = s->slide;
    w->offset = s->offset;
    w->gap = s->gap;
    w->lateness = s->allowed_lateness > 0 ? s->allowed_lateness : 0;
    w->late_tag = s->late_tag && s->late_tag[0] ? s->late_tag : NULL;
    w->evict = s->evictor_count > 0 ? s->evictor_count : 0;
    w->all = s->all;
    w->event_time = w->assigner == FL_TUMBLING_EVENT_TIME ||
                    w->assigner == FL_SLIDING_EVENT_TIME || w->assigner == FL_EVENT_TIME_SESSION;
    w->merging = w->assigner == FL_EVENT_TIME_SESSION ||
                 w->assigner == FL_PROCESSING_TIME_SESSION;
    w->maxwins = 1;
    switch (w->assigner) {
    case FL_TUMBLING_EVENT_TIME:
    case FL_TUMBLING_PROCESSING_TIME:
        w->slide = w->size;
        /* fall through */
    case FL_SLIDING_EVENT_TIME:
    case FL_SLIDING_PROCESSING_TIME:
        if (w->size <= 0 || w->slide <= 0) {
            fl_err_set(err, "%s: a time window needs a positive size and slide", op->spec->name);
            return -1;
        }
        if (w->size / w->slide >= MAX_WINDOWS_PER_ELEMENT) {
            fl_err_set(err, "%s: size / slide is %lld windows per element (at most %d)",
                       op->spec->name, (long long)(w->size / w->slide),
                       MAX_WINDOWS_PER_ELEMENT - 1);
            return -1;
        }
        w->maxwins = (int)(w->size / w->slide) + 1;
        break;
    case FL_EVENT_TIME_SESSION:
    case FL_PROCESSING_TIME_SESSION:
        if (w->gap <= 0) {
            fl_err_set(err, "%s: a session window needs a positive gap", op->spec->name);
            return -1;
        }
        break;
    case FL_GLOBAL_WINDOWS:
        break;
    default:
        fl_err_set(err, "%s: unknown window assigner %d", op->spec->name, w->assigner);
        return -1;
    }
    w->wins = fl_xcalloc((size_t)w->maxwins, sizeof *w->wins);
    if (setup_trigger(t, op, w, err) < 0 || setup_functions(t, op, w, err) < 0)
        return -1;
    if (!op->ctx.kb && !(op->ctx.kb = fl_task_new_backend(t, op, err)))
        return -1;
    w->contents = fl_kstate_get_or_create(op->ctx.kb, "window-contents");
    w->count = fl_kstate_get_or_create(op->ctx.kb, "window-count");
    w->mapping = fl_kstate_get_or_create(op->ctx.kb, "window-merging");
    if (w->merging)
        map_room(w, 8);
    if (!op->timers)
        op->timers = fl_timers_new();
    op->process = window_process;
    op->on_timer = window_on_timer;
    op->process_watermark = fl_op_default_watermark;
    return 0;
}
