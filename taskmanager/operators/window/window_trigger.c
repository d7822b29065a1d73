/* window_trigger.c -- the window operator's triggers (Flink's Trigger and TriggerContext,
 * DESIGN.md §5): the built-in event-time, processing-time and count triggers, custom
 * triggers from the bundle with their named per-window values ("trigger:<name>"), and the
 * trigger context of flint/window.h. window.c asks the trigger on every element and timer
 * and clears it with its window; window_merge.c tells it when windows merge; a custom
 * trigger calls the fl_trigger_* functions back, which reach this file through the table
 * fl_window_trigger_api that the task installs in common/api. Task thread only.
 */
#include "common/util.h"
#include "internal.h"
#include "window_trigger.h"

#include <stdio.h>
#include <string.h>

/* ---- triggers ---------------------------------------------------------------------- */

static int trigger_result(fl_op *op, wop *w, int r)
{
    if (r < FL_CONTINUE || r > FL_FIRE_AND_PURGE) {
        fl_op_fail(op, "the trigger of %s returned %d (expected FL_CONTINUE, "
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
int fl_window_trigger_element(fl_op *op, wop *w, fl_trigger_ctx *tc, const fl_rec *in,
                              int64_t ts, bool have_timers)
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

int fl_window_trigger_time(fl_op *op, wop *w, fl_trigger_ctx *tc, fl_timer_domain domain,
                           int64_t time)
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
void fl_window_trigger_clear(fl_op *op, wop *w, fl_trigger_ctx *tc)
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
    case TRIG_NEVER:
        break;
    }
}

/* Trigger.onMerge for the merge result tc->w of the n windows mw. A custom trigger has no
 * merge function: the merged windows' values are cleared (fl_window_trigger_clear), and
 * the merged window starts afresh with the element that caused the merge. */
void fl_window_trigger_merge(fl_op *op, wop *w, fl_trigger_ctx *tc, const fl_window *mw,
                             int n)
{
    int64_t m = max_ts(&tc->w);
    switch (w->trig) {
    case TRIG_EVENT:
        if (m > op->watermark)
            timer_set(op, FL_TIMER_EVENT, m, tc->ns, true);
        break;
    case TRIG_PROC:
        if (m > fl_view_now_ms(op->view))
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
    case TRIG_NEVER:
    case TRIG_CUSTOM: /* no merge function: see above */
        break;
    }
}

/* ---- the trigger context (flint/window.h): fl_window_trigger_api ------------------ */

static void trig_register_event_timer(fl_trigger_ctx *t, int64_t time)
{
    if (t)
        timer_set(t->op, FL_TIMER_EVENT, time, t->ns, true);
}

static void trig_register_processing_timer(fl_trigger_ctx *t, int64_t time)
{
    if (t)
        timer_set(t->op, FL_TIMER_PROCESSING, time, t->ns, true);
}

static void trig_delete_event_timer(fl_trigger_ctx *t, int64_t time)
{
    if (t)
        timer_set(t->op, FL_TIMER_EVENT, time, t->ns, false);
}

static void trig_delete_processing_timer(fl_trigger_ctx *t, int64_t time)
{
    if (t)
        timer_set(t->op, FL_TIMER_PROCESSING, time, t->ns, false);
}

static int64_t trig_current_watermark(const fl_trigger_ctx *t)
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
        fl_op_fail(t->op, "%s: trigger state '%s': at most %d names of at most %zu "
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

static bool trig_state_get(fl_trigger_ctx *t, const char *name, void *val, uint32_t len)
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

static void trig_state_put(fl_trigger_ctx *t, const char *name, const void *val, uint32_t len)
{
    fl_kstate *s = t ? trigger_state(t, name) : NULL;
    if (s)
        t->op->ctx.kb->ops->put(s, t->ns, NS_LEN, val, len);
}

static void trig_state_clear(fl_trigger_ctx *t, const char *name)
{
    fl_kstate *s = t ? trigger_state(t, name) : NULL;
    if (s)
        t->op->ctx.kb->ops->remove(s, t->ns, NS_LEN);
}


const fl_api_trigger_ops fl_window_trigger_api = {
    .register_event_timer = trig_register_event_timer,
    .register_processing_timer = trig_register_processing_timer,
    .delete_event_timer = trig_delete_event_timer,
    .delete_processing_timer = trig_delete_processing_timer,
    .current_watermark = trig_current_watermark,
    .state_get = trig_state_get,
    .state_put = trig_state_put,
    .state_clear = trig_state_clear,
};
