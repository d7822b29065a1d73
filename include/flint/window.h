/* flint/window.h -- windows with Flink's semantics (part of the bundle API; include
 * <flint/flint.h>).
 *
 * A window is [start, end). Time windows are aligned to the epoch plus an offset:
 * start = ts - (ts - offset + size) mod size. An event-time window fires when the
 * watermark reaches end - 1 (its max timestamp); with allowed lateness L, elements that
 * arrive later but while the watermark is below end - 1 + L are added and the window
 * fires again with the updated result (a late firing); its state is cleared when the
 * watermark passes end - 1 + L. Elements later than that are dropped (counted) or, with
 * fl_window_side_output_late_data, sent to a side output. Session windows merge: an
 * element bridging two sessions merges them.
 *
 * Results: what a window function emits with fl_emit carries the window's max timestamp,
 * end - 1 (Flink's TimeWindow.maxTimestamp()), for every firing, late ones included; in
 * global and count windows (end INT64_MAX), INT64_MAX.
 *
 * Threads and ownership: window functions, the reduce or aggregate functions of windows,
 * and triggers run on the task thread of the window operator's subtask, with the key of
 * the window current (fl_ctx_key). The window (const fl_window *) and the elements iterator
 * and its elements belong to the runtime and are valid during the call only.
 *
 * Usage: keyed = fl_key_by(...); w = fl_windowed(keyed, fl_tumbling_event_time_windows(...));
 * then optionally fl_window_allowed_lateness / fl_window_trigger / ... and finally one of
 * fl_window_reduce / fl_window_aggregate / fl_window_process, which returns the stream of
 * results.
 */
#ifndef FLINT_WINDOW_H
#define FLINT_WINDOW_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_window {
    int64_t start, end; /* [start, end); global windows: INT64_MIN, INT64_MAX */
} fl_window;

enum fl_assigner_kind {
    FL_TUMBLING_EVENT_TIME = 1,
    FL_SLIDING_EVENT_TIME,
    FL_EVENT_TIME_SESSION,
    FL_TUMBLING_PROCESSING_TIME,
    FL_SLIDING_PROCESSING_TIME,
    FL_PROCESSING_TIME_SESSION,
    FL_GLOBAL_WINDOWS,
};

typedef struct fl_window_assigner {
    int kind;
    int64_t size, slide, offset, gap;
} fl_window_assigner;

fl_window_assigner fl_tumbling_event_time_windows(int64_t size_ms, int64_t offset_ms);
fl_window_assigner fl_sliding_event_time_windows(int64_t size_ms, int64_t slide_ms,
                                                 int64_t offset_ms);
fl_window_assigner fl_event_time_session_windows(int64_t gap_ms);
fl_window_assigner fl_tumbling_processing_time_windows(int64_t size_ms, int64_t offset_ms);
fl_window_assigner fl_sliding_processing_time_windows(int64_t size_ms, int64_t slide_ms,
                                                      int64_t offset_ms);
fl_window_assigner fl_processing_time_session_windows(int64_t gap_ms);
fl_window_assigner fl_global_windows(void);

/* window(): on a keyed stream (named fl_windowed because fl_window is the window type).
 * windowAll(): on any stream, runs with parallelism 1. */
fl_stream *fl_windowed(fl_stream *keyed, fl_window_assigner a);
fl_stream *fl_window_all(fl_stream *in, fl_window_assigner a);
/* countWindow(size): tumbling count windows (global windows, fire and purge every size
 * elements). countWindow(size, slide): the last size elements, every slide elements. */
fl_stream *fl_count_window(fl_stream *keyed, int64_t size);
fl_stream *fl_count_window_sliding(fl_stream *keyed, int64_t size, int64_t slide);

/* ---- windowed stream settings ----------------------------------------------------- */

fl_stream *fl_window_allowed_lateness(fl_stream *w, int64_t lateness_ms);
fl_stream *fl_window_side_output_late_data(fl_stream *w, const char *tag);

/* Triggers: what to do with the window when an element arrives or a timer fires. */
enum fl_trigger_result {
    FL_CONTINUE = 0,
    FL_FIRE = 1,
    FL_PURGE = 2,
    FL_FIRE_AND_PURGE = 3,
};

typedef struct fl_trigger_ctx fl_trigger_ctx;
typedef int (*fl_trigger_element_fn)(fl_trigger_ctx *t, const fl_rec *in, int64_t timestamp,
                                     const fl_window *w);
typedef int (*fl_trigger_time_fn)(fl_trigger_ctx *t, int64_t time, const fl_window *w);
typedef void (*fl_trigger_clear_fn)(fl_trigger_ctx *t, const fl_window *w);

typedef struct fl_trigger {
    fl_trigger_element_fn on_element;
    fl_trigger_time_fn on_event_time;       /* may be NULL: CONTINUE */
    fl_trigger_time_fn on_processing_time;  /* may be NULL: CONTINUE */
    fl_trigger_clear_fn clear;              /* may be NULL */
} fl_trigger;

/* Inside trigger functions: timers and per-window state of the current key. */
void fl_trigger_register_event_timer(fl_trigger_ctx *t, int64_t time);
void fl_trigger_register_processing_timer(fl_trigger_ctx *t, int64_t time);
void fl_trigger_delete_event_timer(fl_trigger_ctx *t, int64_t time);
void fl_trigger_delete_processing_timer(fl_trigger_ctx *t, int64_t time);
int64_t fl_trigger_current_watermark(const fl_trigger_ctx *t);
/* A small per-window, per-key value (e.g. a counter); false when absent. */
bool fl_trigger_state_get(fl_trigger_ctx *t, const char *name, void *val, uint32_t len);
void fl_trigger_state_put(fl_trigger_ctx *t, const char *name, const void *val, uint32_t len);
void fl_trigger_state_clear(fl_trigger_ctx *t, const char *name);

/* A custom trigger (its functions must be exported symbols of the bundle). */
fl_stream *fl_window_trigger(fl_stream *w, const fl_trigger *trigger);
/* Built-in triggers: fire at the window end (event / processing time), every n elements. */
fl_stream *fl_window_trigger_count(fl_stream *w, int64_t n);
/* Keep only the last n elements of a window (CountEvictor) before the function runs. */
fl_stream *fl_window_evictor_count(fl_stream *w, int64_t n);

/* ---- window functions (each returns the stream of results) ------------------------ */

/* ProcessWindowFunction: all elements of the window (or the one pre-aggregated value when
 * combined with reduce/aggregate), with its key (fl_ctx_key) and the window. */
typedef void (*fl_window_process_fn)(fl_ctx *ctx, const fl_window *w, fl_iter *elements,
                                     fl_out *out);

/* Incremental: a reduce function (or aggregate function) folds each element; process, if
 * not NULL, is then called with the single result. */
fl_stream *fl_window_reduce(fl_stream *w, fl_reduce_fn fn, fl_window_process_fn process);
fl_stream *fl_window_aggregate(fl_stream *w, const fl_aggregate *agg,
                               fl_window_process_fn process);
/* All elements are kept until the window fires. */
fl_stream *fl_window_process(fl_stream *w, fl_window_process_fn fn);

/* In window functions: the window being evaluated. */
const fl_window *fl_ctx_window(const fl_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif
