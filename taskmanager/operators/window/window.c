/* window.c -- the window operator (Flink's WindowOperator and EvictingWindowOperator,
 * DESIGN.md §5): window assigners, triggers (event time, processing time, count, custom),
 * merging session windows, allowed lateness with late firings, late elements to a side
 * output, the count evictor, and the reduce / aggregate / process window functions,
 * behind the const table fl_window_ops (window.h). Everything runs on the task thread, and
 * nothing on the per-record path allocates (its buffers are reused). The contents and the
 * window function live in window_contents.c, the triggers in window_trigger.c, the
 * merging-window set in window_merge.c, and the layout they share in internal.h.
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
#include "common/log.h"
#include "common/util.h"
#include "internal.h"
#include "window.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WINDOWS_PER_ELEMENT (1 << 20)

/* ---- windows, namespaces, times ------------------------------------------------------ */

static bool window_late(const fl_op *op, const wop *w, const fl_window *win)
{
    return w->event_time && cleanup_time(w, win) <= op->watermark;
}

/* start = ts - (ts - offset + size) mod size, with a true (non-negative) modulo; om is
 * offset % size, computed once (w->offset_mod): one division per element instead of three.
 * ts % size - om lies in (-2 size, 2 size), so at most one step brings it to (-size, size),
 * which is what a third % would. */
static inline int64_t window_start(int64_t ts, int64_t om, int64_t size)
{
    int64_t r = ts % size - om;
    if (r >= size)
        r -= size;
    else if (r <= -size)
        r += size;
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
        int64_t s = window_start(ts, w->offset_mod, w->size);
        w->wins[0] = (fl_window){s, sat_add(s, w->size)};
        return 1;
    }
    case FL_SLIDING_EVENT_TIME:
    case FL_SLIDING_PROCESSING_TIME: {
        int n = 0;
        int64_t limit = sat_add(ts, -w->size);
        for (int64_t s = window_start(ts, w->offset_mod, w->slide); s > limit && n < w->maxwins;
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

/* clearAllState: contents, trigger state and timers, and the merging-set entry. */
static void clear_window(fl_op *op, wop *w, const fl_window *win, const uint8_t *sns)
{
    fl_trigger_ctx tc;
    trigger_ctx_init(&tc, op, win);
    op->ctx.kb->ops->remove(w->contents, sns, NS_LEN);
    fl_window_trigger_clear(op, w, &tc);
    if (w->merging)
        fl_window_map_retire(w, win);
    else
        fl_op_clear_window_states(op, sns, NS_LEN);
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
    bool have_timers = !fl_window_contents_add(op, w, sns, in) && !w->merging;
    trigger_ctx_init(&tc, op, win);
    /* the record's ts, as Flink */
    int r = fl_window_trigger_element(op, w, &tc, in, in->ts, have_timers);
    if (r & FL_FIRE)
        fl_window_fire(op, w, win, sns);
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
            fl_op_fail(op, "%s: a record without a timestamp reached an event-time "
                           "window (assign timestamps and watermarks before it, "
                           "fl_assign_timestamps_and_watermarks)",
                       op->ctx.name);
            goto out;
        }
    } else {
        ts = w->assigner == FL_GLOBAL_WINDOWS ? in->ts : fl_view_now_ms(op->view);
    }
    op->ctx.ts = in->ts;
    int n = assign_windows(w, ts);
    if (w->merging) {
        fl_window_map_load(op, w);
        fl_window actual = fl_window_map_add(op, w, &w->wins[0]);
        if (fl_op_should_stop(op))
            goto out;
        const merge_ent *e = mergeset_find(w, &actual);
        if (window_late(op, w, &actual) || !e) {
            fl_window_map_retire(w, &actual);
        } else {
            skipped = false;
            ns_of(&e->state, ns);
            element_into(op, w, &actual, ns, in);
        }
        fl_window_map_persist(op, w);
    } else {
        fl_kbackend *kb = op->ctx.kb;
        if (n > 1 && kb->ops->prefetch) /* the windows' lookups: their cache misses overlap */
            for (int step = 0; step < 2; step++)
                for (int i = 0; i < n; i++) {
                    ns_of(&w->wins[i], ns);
                    kb->ops->prefetch(w->contents, ns, NS_LEN, step);
                }
        for (int i = 0; i < n && !fl_op_should_stop(op); i++) {
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

/* The contents of timer t's window start loading (non-merging windows). */
static void window_prefetch_timer(fl_op *op, const fl_timer *t, int step)
{
    wop *w = op->state;
    fl_kbackend *kb = op->ctx.kb;
    if (w->merging || !kb->ops->prefetch || t->nslen != NS_LEN)
        return;
    fl_kbackend saved = *kb;
    fl_kbackend_set_key(kb, t->key, t->klen);
    kb->ops->prefetch(w->contents, t->ns, NS_LEN, step);
    *kb = saved;
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
        fl_window_map_load(op, w);
        const merge_ent *e = mergeset_find(w, &win);
        if (!e) /* a timer of a window merged away or cleared: nothing to do */
            return;
        ns_of(&e->state, sns);
    } else {
        memcpy(sns, ns, NS_LEN);
    }
    trigger_ctx_init(&tc, op, &win);
    int r = fl_window_trigger_time(op, w, &tc, t->domain, t->time);
    if (r & FL_FIRE)
        fl_window_fire(op, w, &win, sns);
    if (r & FL_PURGE)
        op->ctx.kb->ops->remove(w->contents, sns, NS_LEN);
    fl_timer_domain cleanup_domain = w->event_time ? FL_TIMER_EVENT : FL_TIMER_PROCESSING;
    if (t->domain == cleanup_domain && t->time == cleanup_time(w, &win))
        clear_window(op, w, &win, sns);
    if (w->merging)
        fl_window_map_persist(op, w);
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
            fl_window_map_load(op, w);
            for (uint32_t i = 0; i < w->nmap && found; i++)
                found = same_window(&w->map[i].w, win) || !same_window(&w->map[i].state, win);
        }
    }
    if (w->merging && !found) {
        fl_window_map_load(op, w);
        found = mergeset_find(w, win) != NULL;
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
static int resolve(const fl_op *op, const char *name, void **fn, const char *what,
                   fl_err *err)
{
    *fn = NULL;
    if (!name || !name[0])
        return 0;
    if (!(*fn = fl_bundle_sym(op->view->bundle, name))) {
        fl_err_set(err, "%s '%s' not found in the bundle", what, name);
        return -1;
    }
    return 0;
}

static int setup_functions(fl_op *op, wop *w, fl_err *err)
{
    const Fl__Pb__WindowSpec *s = op->spec->window;
    void *p;
    if (resolve(op, s->process_fn, &p, "window process function", err) < 0)
        return -1;
    w->process = (fl_window_process_fn)p;
    w->function = s->function;
    switch (s->function) {
    case FL_WINDOW_REDUCE:
        if (resolve(op, s->reduce_fn, &p, "window reduce function", err) < 0)
            return -1;
        if (!(w->reduce = (fl_reduce_fn)p))
            goto missing;
        break;
    case FL_WINDOW_AGGREGATE: {
        const Fl__Pb__AggregateSpec *a = s->aggregate;
        if (!a || !a->acc_size)
            goto missing;
        if (resolve(op, a->create_fn, &p, "createAccumulator", err) < 0)
            return -1;
        w->agg.create = (fl_agg_create_fn)p;
        if (resolve(op, a->add_fn, &p, "add", err) < 0)
            return -1;
        w->agg.add = (fl_agg_add_fn)p;
        if (resolve(op, a->result_fn, &p, "getResult", err) < 0)
            return -1;
        w->agg.result = (fl_agg_result_fn)p;
        if (resolve(op, a->merge_fn, &p, "merge", err) < 0)
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
    case FL_WINDOW_PROCESS:
        if (!w->process)
            goto missing;
        break;
    default:
        fl_err_set(err, "%s: unknown window function kind %d", op->spec->name, s->function);
        return -1;
    }
    w->list = w->function == FL_WINDOW_PROCESS || w->evict > 0;
    return 0;
missing:
    fl_err_set(err, "%s: the window function is incomplete (kind %d)", op->spec->name,
               s->function);
    return -1;
}

static int setup_trigger(fl_op *op, wop *w, fl_err *err)
{
    const Fl__Pb__WindowSpec *s = op->spec->window;
    void *p;
    w->purge_on_fire = s->purge_on_fire;
    switch (s->trigger) {
    case FL_WINDOW_TRIGGER_TIME:
        w->trig = w->assigner == FL_GLOBAL_WINDOWS ? TRIG_NEVER
                : w->event_time                    ? TRIG_EVENT
                                                   : TRIG_PROC;
        return 0;
    case FL_WINDOW_TRIGGER_COUNT:
        w->trig = TRIG_COUNT;
        w->trig_count = s->trigger_count > 0 ? s->trigger_count : 1;
        return 0;
    case FL_WINDOW_TRIGGER_CUSTOM:
        w->trig = TRIG_CUSTOM;
        if (resolve(op, s->trigger_on_element, &p, "trigger function", err) < 0)
            return -1;
        w->custom.on_element = (fl_trigger_element_fn)p;
        if (resolve(op, s->trigger_on_event_time, &p, "trigger function", err) < 0)
            return -1;
        w->custom.on_event_time = (fl_trigger_time_fn)p;
        if (resolve(op, s->trigger_on_processing_time, &p, "trigger function", err) < 0)
            return -1;
        w->custom.on_processing_time = (fl_trigger_time_fn)p;
        if (resolve(op, s->trigger_clear, &p, "trigger function", err) < 0)
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

static int init_window(fl_op *op, fl_err *err)
{
    const Fl__Pb__WindowSpec *s = op->spec->window;
    if (!s) {
        fl_err_set(err, "%s: a window operator without its window spec", op->spec->name);
        return -1;
    }
    wop *w = fl_xcalloc(1, sizeof *w);
    op->state = w;
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
        w->offset_mod = w->offset % w->slide; /* slide = size for tumbling windows */
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
    if (setup_trigger(op, w, err) < 0 || setup_functions(op, w, err) < 0)
        return -1;
    w->contents = fl_kstate_get_or_create(op->ctx.kb, "window-contents");
    w->count = fl_kstate_get_or_create(op->ctx.kb, "window-count");
    w->mapping = fl_kstate_get_or_create(op->ctx.kb, "window-merging");
    if (w->merging)
        fl_window_map_room(w, 8);
    if (!op->timers)
        op->timers = fl_timers_new();
    return 0;
}

/* keyed (windowAll: by the empty key), with timers of its own */
const fl_op_ops fl_window_ops = {
    .name = "window",
    .keyed = true,
    .init = init_window,
    .process = window_process,
    .process_watermark = fl_op_default_watermark,
    .on_timer = window_on_timer,
    .prefetch_timer = window_prefetch_timer,
    .release = window_release,
};
