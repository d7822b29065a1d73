/* internal.h -- the window operator's layout and small helpers, shared by window.c (the
 * operator), window_contents.c (contents and the window function), window_trigger.c
 * (triggers) and window_merge.c (merging windows); nothing outside this folder includes
 * this. Task thread only. The state layout is described at the top of window.c.
 */
#ifndef FL_WINDOW_INTERNAL_H
#define FL_WINDOW_INTERNAL_H

#include "common/plan.h"
#include "taskmanager/chain/operator.h"

#include <string.h>

#define NS_LEN 16
#define MAX_TRIGGER_STATES 16

/* The window's trigger: none (global windows), the event- or processing-time trigger of
 * the assigner, a count, or the bundle's. */
typedef enum trig_kind { TRIG_NEVER, TRIG_EVENT, TRIG_PROC, TRIG_COUNT, TRIG_CUSTOM } trig_kind;

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
    enum fl_assigner_kind assigner;
    bool event_time, merging, all;
    int64_t size, slide, offset, gap, lateness;
    int64_t offset_mod;          /* time windows: offset % slide (slide = size if tumbling) */
    const char *late_tag;        /* NULL: late elements are counted as dropped */
    trig_kind trig;
    int64_t trig_count;
    bool purge_on_fire;
    fl_trigger custom;
    int64_t evict;               /* keep the last n elements before the function; 0: none */
    enum fl_window_function_kind function;
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
static inline int64_t cleanup_time(const wop *w, const fl_window *win)
{
    int64_t m = max_ts(win);
    return w->event_time ? sat_add(m, w->lateness) : m;
}

/* ---- timers ------------------------------------------------------------------------ */

static inline void timer_set(fl_op *op, fl_timer_domain domain, int64_t time,
                             const uint8_t *ns, bool add)
{
    fl_kbackend *kb = op->ctx.kb;
    if (add)
        fl_timers_register(op->timers, domain, time, kb->key, kb->klen, kb->kg, ns, NS_LEN);
    else
        fl_timers_delete(op->timers, domain, time, kb->key, kb->klen, ns, NS_LEN);
}

static inline void cleanup_timer(fl_op *op, wop *w, const fl_window *win, const uint8_t *ns,
                                 bool add)
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

static inline void trigger_ctx_init(fl_trigger_ctx *tc, fl_op *op, const fl_window *win)
{
    tc->op = op;
    tc->w = *win;
    ns_of(win, tc->ns);
}


/* window_trigger.c: Trigger.onElement (have_timers: the built-in time triggers' timer is
 * known to exist already), onEventTime / onProcessingTime, clear, and onMerge for the merge
 * result tc->w of the n windows mw. They return FL_CONTINUE, FL_FIRE, FL_PURGE or
 * FL_FIRE_AND_PURGE. */
int fl_window_trigger_element(fl_op *op, wop *w, fl_trigger_ctx *tc, const fl_rec *in,
                              int64_t ts, bool have_timers);
int fl_window_trigger_time(fl_op *op, wop *w, fl_trigger_ctx *tc, fl_timer_domain domain,
                           int64_t time);
void fl_window_trigger_clear(fl_op *op, wop *w, fl_trigger_ctx *tc);
void fl_window_trigger_merge(fl_op *op, wop *w, fl_trigger_ctx *tc, const fl_window *mw,
                             int n);

/* ---- contents and the window function (window_contents.c) ------------------------- */

/* A buffer of at least n bytes in *buf (grown, never shrunk). */
static inline uint8_t *window_room(uint8_t **buf, uint32_t *cap, size_t n)
{
    if (n > *cap) {
        *cap = (uint32_t)(n * 2 + 64);
        *buf = fl_xrealloc(*buf, *cap);
    }
    return *buf;
}

/* reduce(a, b) into op->capture; false (task failed) unless it emitted exactly one. */
bool fl_window_reduce2(fl_op *op, wop *w, const void *a, uint32_t alen, const fl_rec *b);
/* windowState.add(element) for the contents in namespace ns; true when the window had no
 * contents before (or, for element lists, when that is not known). */
bool fl_window_contents_add(fl_op *op, wop *w, const uint8_t *ns, const fl_rec *in);
/* mergeNamespaces: the contents of the n state windows src go into target's. */
void fl_window_contents_merge(fl_op *op, wop *w, const fl_window *target,
                              const fl_window *src, int n);
/* FIRE: the window function over the contents in state namespace sns (win's). */
void fl_window_fire(fl_op *op, wop *w, const fl_window *win, const uint8_t *sns);

/* ---- merging windows (window_merge.c) ---------------------------------------------- */

/* The current key's merging set (Flink's MergingWindowSet) in w->map. */
/* Makes room for n windows in the set and the merge's work arrays. */
void fl_window_map_room(wop *w, uint32_t n);
/* Reads the current key's set into w->map. */
void fl_window_map_load(fl_op *op, wop *w);
/* Writes w->map back for the current key if it changed. */
void fl_window_map_persist(fl_op *op, wop *w);
/* retireWindow: win leaves the key's merging set (its contents are not touched). */
void fl_window_map_retire(wop *w, const fl_window *win);
/* addWindow: adds nw to the set, merging what it overlaps; returns the window nw ended
 * up in. */
fl_window fl_window_map_add(fl_op *op, wop *w, const fl_window *nw);

static inline const merge_ent *mergeset_find(const wop *w, const fl_window *win)
{
    for (uint32_t i = 0; i < w->nmap; i++)
        if (same_window(&w->map[i].w, win))
            return &w->map[i];
    return NULL;
}

#endif
