/* flint/time.h -- event time, watermarks, timers, process functions and side outputs
 * (part of the bundle API; include <flint/flint.h>).
 *
 * Event time: a timestamp assigner gives each record its event time (milliseconds);
 * a watermark strategy says how far event time has progressed: watermark W means "no
 * record with timestamp <= W will come any more". Place the assigner right after the
 * source (best practice). Watermarks are emitted every pipeline.auto-watermark-interval
 * (200 ms; 0 = after every record, which makes results deterministic). A task's watermark
 * is the minimum over its inputs and only moves forward; the end of a bounded input sends
 * the +infinity watermark, so every window and timer fires.
 *
 * Timers: a keyed process function registers event-time timers (fire when the watermark
 * reaches them) and processing-time timers (fire by the wall clock), per key and
 * timestamp; registering the same one twice is a no-op. on_timer and process never run at
 * the same time (both run on the task thread), and a watermark is forwarded only after the
 * timers it fires have run. What on_timer emits with fl_emit carries the timer's time; the
 * key of the firing timer is the current key (fl_ctx_key, fl_ctx_key_as), so keyed state
 * reads and writes that key's values.
 */
#ifndef FLINT_TIME_H
#define FLINT_TIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_WATERMARK_MAX INT64_MAX /* the end of time: everything fires */
#define FL_NO_WATERMARK INT64_MIN

/* ---- timestamps and watermarks ----------------------------------------------------- */

/* The event time of a record, in milliseconds. */
typedef int64_t (*fl_timestamp_fn)(const fl_rec *in);
/* Punctuated watermarks: look at each record (with its timestamp) and return a watermark
 * to emit, or FL_NO_WATERMARK. */
typedef int64_t (*fl_punctuated_fn)(const fl_rec *in, int64_t timestamp);

enum fl_watermark_kind {
    FL_WM_BOUNDED = 1,    /* max timestamp seen - out-of-orderness - 1 ms */
    FL_WM_MONOTONOUS = 2, /* bounded with 0 out-of-orderness: timestamps ascend */
    FL_WM_PUNCTUATED = 3, /* the record decides (fl_punctuated_fn) */
};

typedef struct fl_watermark_strategy {
    int kind;
    int64_t out_of_orderness_ms;
    fl_timestamp_fn timestamp;
    fl_punctuated_fn punctuated;
    int64_t idle_timeout_ms; /* 0: never idle */
} fl_watermark_strategy;

fl_watermark_strategy fl_wm_bounded_out_of_orderness(int64_t max_out_of_orderness_ms,
                                                     fl_timestamp_fn ts);
fl_watermark_strategy fl_wm_monotonous(fl_timestamp_fn ts);
fl_watermark_strategy fl_wm_punctuated(fl_timestamp_fn ts, fl_punctuated_fn wm);
/* withIdleness: a source instance without records for idle_ms stops holding the watermark
 * of its consumers back until it emits again. */
fl_watermark_strategy fl_wm_with_idleness(fl_watermark_strategy s, int64_t idle_ms);

/* assignTimestampsAndWatermarks */
fl_stream *fl_assign_timestamps_and_watermarks(fl_stream *in, fl_watermark_strategy s);

/* ---- process functions, timers ----------------------------------------------------- */

/* Called when a timer fires: fl_ctx_timestamp() is the timer's time, fl_ctx_key() its key,
 * fl_ctx_time_domain() says which kind it is. */
typedef void (*fl_on_timer_fn)(fl_ctx *ctx, int64_t timestamp, fl_out *out);

/* KeyedProcessFunction: process for each record, on_timer for timers (may be NULL). */
fl_stream *fl_keyed_process(fl_stream *keyed, fl_process_fn process, fl_on_timer_fn on_timer);

enum fl_time_domain { FL_EVENT_TIME = 0, FL_PROCESSING_TIME = 1 };

/* The timestamp of the record being processed (or of the firing timer). */
int64_t fl_ctx_timestamp(const fl_ctx *ctx);
/* The operator's current watermark (FL_NO_WATERMARK before the first). */
int64_t fl_ctx_current_watermark(const fl_ctx *ctx);
/* Wall clock, milliseconds since the epoch. */
int64_t fl_ctx_current_processing_time(const fl_ctx *ctx);
/* In on_timer: the domain of the firing timer. */
int fl_ctx_time_domain(const fl_ctx *ctx);
/* Timers of the current key (keyed process functions, keyed co-process functions). */
void fl_ctx_register_event_timer(fl_ctx *ctx, int64_t timestamp);
void fl_ctx_register_processing_timer(fl_ctx *ctx, int64_t timestamp);
void fl_ctx_delete_event_timer(fl_ctx *ctx, int64_t timestamp);
void fl_ctx_delete_processing_timer(fl_ctx *ctx, int64_t timestamp);

/* ---- side outputs ------------------------------------------------------------------ */

/* Emits a record to the side output named tag (an OutputTag), from any process function,
 * co-process function or window function. */
void fl_ctx_output(fl_ctx *ctx, const char *tag, const void *data, uint32_t len, int64_t ts);
/* The stream of side output tag of the operator that produced s (getSideOutput). */
fl_stream *fl_side_output(fl_stream *s, const char *tag);

#ifdef __cplusplus
}
#endif

#endif
