/* streamgraph_window.c -- the window calls of the bundle API (include/flint/window.h): window
 * assigners, windowed streams (keyed, all, count windows), their lateness, late-data side
 * output, trigger and evictor, and the window function (reduce, aggregate, process) that
 * turns a windowed stream into a window operator node of the StreamGraph. Called by a
 * bundle's flint_main in the client (flint run / flint info), on its only thread; errors go
 * to env->error as in streamgraph.c.
 */
#include "common/util.h"
#include "streamgraph_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- windows (flint/window.h) ----------------------------------------------------- */

static fl_window_assigner assigner(enum fl_assigner_kind kind, int64_t size, int64_t slide, int64_t offset,
                                   int64_t gap)
{
    return (fl_window_assigner){kind, size, slide, offset, gap};
}

fl_window_assigner fl_tumbling_event_time_windows(int64_t size, int64_t offset)
{
    return assigner(FL_TUMBLING_EVENT_TIME, size, size, offset, 0);
}

fl_window_assigner fl_sliding_event_time_windows(int64_t size, int64_t slide, int64_t offset)
{
    return assigner(FL_SLIDING_EVENT_TIME, size, slide, offset, 0);
}

fl_window_assigner fl_event_time_session_windows(int64_t gap)
{
    return assigner(FL_EVENT_TIME_SESSION, 0, 0, 0, gap);
}

fl_window_assigner fl_tumbling_processing_time_windows(int64_t size, int64_t offset)
{
    return assigner(FL_TUMBLING_PROCESSING_TIME, size, size, offset, 0);
}

fl_window_assigner fl_sliding_processing_time_windows(int64_t size, int64_t slide,
                                                      int64_t offset)
{
    return assigner(FL_SLIDING_PROCESSING_TIME, size, slide, offset, 0);
}

fl_window_assigner fl_processing_time_session_windows(int64_t gap)
{
    return assigner(FL_PROCESSING_TIME_SESSION, 0, 0, 0, gap);
}

fl_window_assigner fl_global_windows(void)
{
    return assigner(FL_GLOBAL_WINDOWS, 0, 0, 0, 0);
}

static fl_stream *windowed(fl_stream *in, fl_window_assigner a, bool all)
{
    fl_env *env = in->env;
    fl_stream *s = fl_sg_derive(in);
    bool time = a.kind == FL_TUMBLING_EVENT_TIME || a.kind == FL_SLIDING_EVENT_TIME ||
                a.kind == FL_TUMBLING_PROCESSING_TIME || a.kind == FL_SLIDING_PROCESSING_TIME;
    bool session = a.kind == FL_EVENT_TIME_SESSION || a.kind == FL_PROCESSING_TIME_SESSION;
    if (a.kind < FL_TUMBLING_EVENT_TIME || a.kind > FL_GLOBAL_WINDOWS)
        fl_sg_error(env, "unknown window assigner %d", a.kind);
    else if (time && (a.size <= 0 || a.slide <= 0))
        fl_sg_error(env, "a time window needs a positive size and slide (size %lld, slide %lld)",
                    (long long)a.size, (long long)a.slide);
    else if (time && (a.offset <= -a.slide || a.offset >= a.slide))
        fl_sg_error(env, "a window offset must be within (-slide, slide): %lld",
                    (long long)a.offset);
    else if (session && a.gap <= 0)
        fl_sg_error(env, "a session window needs a positive gap");
    if (!all && !in->src[0].keyed)
        fl_sg_error(env, "fl_windowed needs a keyed stream (fl_key_by); use fl_window_all "
                         "for a non-keyed stream");
    s->win = fl_xcalloc(1, sizeof *s->win);
    s->win->assigner = a.kind;
    s->win->size = a.size;
    s->win->slide = a.slide;
    s->win->offset = a.offset;
    s->win->gap = a.gap;
    s->win->all = all;
    if (all)
        for (int i = 0; i < s->nsrc; i++) {
            /* one window operator for everything: an empty key, parallelism 1 */
            s->src[i].partitioner = FL__PB__PARTITIONER__PART_GLOBAL;
            s->src[i].key = (sg_key){0};
            s->src[i].keyed = true;
        }
    return s;
}

fl_stream *fl_windowed(fl_stream *keyed, fl_window_assigner a)
{
    return windowed(keyed, a, false);
}

fl_stream *fl_window_all(fl_stream *in, fl_window_assigner a)
{
    return windowed(in, a, true);
}

fl_stream *fl_count_window(fl_stream *keyed, int64_t size)
{
    fl_stream *s = windowed(keyed, fl_global_windows(), false);
    if (size <= 0)
        fl_sg_error(keyed->env, "a count window needs a positive size");
    s->win->trigger = FL_WINDOW_TRIGGER_COUNT;
    s->win->trigger_count = size;
    s->win->purge_on_fire = true;
    return s;
}

fl_stream *fl_count_window_sliding(fl_stream *keyed, int64_t size, int64_t slide)
{
    fl_stream *s = windowed(keyed, fl_global_windows(), false);
    if (size <= 0 || slide <= 0)
        fl_sg_error(keyed->env, "a sliding count window needs a positive size and slide");
    s->win->trigger = FL_WINDOW_TRIGGER_COUNT;
    s->win->trigger_count = slide;
    s->win->evictor_count = size;
    return s;
}

static sg_window *need_win(fl_stream *w, const char *what)
{
    if (!w->win) {
        fl_sg_error(w->env, "%s needs a windowed stream (fl_windowed / fl_window_all)", what);
        static sg_window dummy;
        return &dummy;
    }
    return w->win;
}

fl_stream *fl_window_allowed_lateness(fl_stream *w, int64_t lateness_ms)
{
    need_win(w, "fl_window_allowed_lateness")->lateness = lateness_ms < 0 ? 0 : lateness_ms;
    return w;
}

fl_stream *fl_window_side_output_late_data(fl_stream *w, const char *tag)
{
    snprintf(need_win(w, "fl_window_side_output_late_data")->late_tag, SG_NAME, "%s", tag);
    return w;
}

fl_stream *fl_window_trigger(fl_stream *w, const fl_trigger *t)
{
    sg_window *win = need_win(w, "fl_window_trigger");
    win->trigger = FL_WINDOW_TRIGGER_CUSTOM;
    if (!t || !t->on_element)
        fl_sg_error(w->env, "a custom trigger needs at least on_element");
    else {
        fl_sg_fn_name(w->env, (const void *)t->on_element, win->trig_element, "trigger");
        fl_sg_fn_name(w->env, (const void *)t->on_event_time, win->trig_event, "trigger");
        fl_sg_fn_name(w->env, (const void *)t->on_processing_time, win->trig_proc, "trigger");
        fl_sg_fn_name(w->env, (const void *)t->clear, win->trig_clear, "trigger");
    }
    return w;
}

fl_stream *fl_window_trigger_count(fl_stream *w, int64_t n)
{
    sg_window *win = need_win(w, "fl_window_trigger_count");
    win->trigger = FL_WINDOW_TRIGGER_COUNT;
    win->trigger_count = n > 0 ? n : 1;
    return w;
}

fl_stream *fl_window_evictor_count(fl_stream *w, int64_t n)
{
    need_win(w, "fl_window_evictor_count")->evictor_count = n > 0 ? n : 1;
    return w;
}

static fl_stream *window_op(fl_stream *w, enum fl_window_function_kind function,
                            const char *name)
{
    sg_window *win = need_win(w, name);
    if (!w->win)
        return w;
    bool all = win->all;
    w->win = NULL; /* add_op would complain about a pending window */
    fl_stream *s = fl_sg_add_op(w, FL__PB__OP_KIND__OP_WINDOW, all ? "AllWindow" : "Window", NULL,
                                "window");
    w->win = win;
    sg_node *n = node_of(s);
    n->win = fl_xmalloc(sizeof *n->win);
    *n->win = *win;
    n->win_function = function;
    n->keyed = true;
    if (all)
        n->non_parallel = true;
    return s;
}

fl_stream *fl_window_reduce(fl_stream *w, fl_reduce_fn fn, fl_window_process_fn process)
{
    fl_stream *s = window_op(w, FL_WINDOW_REDUCE, "fl_window_reduce");
    if (s == w)
        return s;
    fl_sg_fn_name(w->env, (const void *)fn, node_of(s)->win_reduce, "reduce");
    fl_sg_fn_name(w->env, (const void *)process, node_of(s)->win_process, "window process");
    if (!fn)
        fl_sg_error(w->env, "fl_window_reduce needs a reduce function");
    return s;
}

fl_stream *fl_window_aggregate(fl_stream *w, const fl_aggregate *agg,
                               fl_window_process_fn process)
{
    fl_stream *s = window_op(w, FL_WINDOW_AGGREGATE, "fl_window_aggregate");
    if (s == w)
        return s;
    sg_node *n = node_of(s);
    if (!agg || !agg->acc_size || !agg->create || !agg->add || !agg->result) {
        fl_sg_error(w->env, "an aggregate function needs acc_size, create, add and result");
        return s;
    }
    bool session = n->win->assigner == FL_EVENT_TIME_SESSION ||
                   n->win->assigner == FL_PROCESSING_TIME_SESSION;
    if (session && !agg->merge)
        fl_sg_error(w->env, "session windows merge: the aggregate function needs merge");
    n->agg_acc_size = agg->acc_size;
    n->agg_result_max = agg->result_max ? agg->result_max : 4096;
    fl_sg_fn_name(w->env, (const void *)agg->create, n->agg_fns[0], "createAccumulator");
    fl_sg_fn_name(w->env, (const void *)agg->add, n->agg_fns[1], "add");
    fl_sg_fn_name(w->env, (const void *)agg->result, n->agg_fns[2], "getResult");
    fl_sg_fn_name(w->env, (const void *)agg->merge, n->agg_fns[3], "merge");
    fl_sg_fn_name(w->env, (const void *)process, n->win_process, "window process");
    return s;
}

fl_stream *fl_window_process(fl_stream *w, fl_window_process_fn fn)
{
    fl_stream *s = window_op(w, FL_WINDOW_PROCESS, "fl_window_process");
    if (s == w)
        return s;
    if (!fn)
        fl_sg_error(w->env, "fl_window_process needs a function");
    fl_sg_fn_name(w->env, (const void *)fn, node_of(s)->win_process, "window process");
    return s;
}
