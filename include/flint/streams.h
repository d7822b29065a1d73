/* flint/streams.h -- several streams into one operator (part of the bundle API; include
 * <flint/flint.h>).
 *
 *   union:    streams of the same record type merged into one (fl_union)
 *   connect:  two streams of different types into one two-input operator: CoMap,
 *             CoFlatMap, CoProcessFunction (keyed when both inputs were keyed with
 *             fl_key_by: then with keyed state and timers, the same key on both sides
 *             reaching the same subtask)
 *   broadcast state: one stream broadcast to every subtask of the other, its elements
 *             kept in a broadcast map state (writable by process_broadcast, read-only for
 *             process_element)
 *   interval join: records of two keyed streams whose timestamps are within [lower, upper]
 *
 * The watermark of a multi-input operator is the minimum of its inputs'. Every function
 * given here runs on the task thread of the operator's subtask, one call at a time (never
 * both inputs at once); the records handed to it belong to the runtime and are valid during
 * the call only. Results carry the timestamp of the record being processed, except an
 * interval join's: the larger of the two joined records' timestamps (as Flink's).
 */
#ifndef FLINT_STREAMS_H
#define FLINT_STREAMS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

fl_stream *fl_union(fl_stream *a, fl_stream *b);

/* ConnectedStreams: a and b into one two-input operator (the next call says which). */
fl_stream *fl_connect(fl_stream *a, fl_stream *b);
fl_stream *fl_co_map(fl_stream *connected, fl_map_fn map1, fl_map_fn map2);
fl_stream *fl_co_flat_map(fl_stream *connected, fl_flat_map_fn flat_map1,
                          fl_flat_map_fn flat_map2);
/* process1 for records of the first input, process2 for the second; on_timer may be NULL.
 * Timers and keyed state need both inputs keyed. */
fl_stream *fl_co_process(fl_stream *connected, fl_process_fn process1, fl_process_fn process2,
                         fl_on_timer_fn on_timer);
/* Which input the record being processed came from: 1 or 2. */
int fl_ctx_input(const fl_ctx *ctx);

/* The broadcast state pattern: b = fl_broadcast_state(rules, "rules"), then
 * fl_broadcast_process(fl_connect(events, b), process_element, process_broadcast, timer). */
fl_stream *fl_broadcast_state(fl_stream *in, const char *state_name);
fl_stream *fl_broadcast_process(fl_stream *connected, fl_process_fn process_element,
                                fl_process_fn process_broadcast, fl_on_timer_fn on_timer);
/* The broadcast map state `name` (created by fl_broadcast_state). */
fl_map_state *fl_ctx_broadcast_state(fl_ctx *ctx, const char *name);

/* intervalJoin: for each pair (l, r) with the same key and
 * l.ts + lower <= r.ts <= l.ts + upper, join(ctx, l, r, out). */
typedef void (*fl_join_fn)(fl_ctx *ctx, const fl_rec *left, const fl_rec *right, fl_out *out);
fl_stream *fl_interval_join(fl_stream *keyed_left, fl_stream *keyed_right, int64_t lower_ms,
                            int64_t upper_ms, fl_join_fn join);

#ifdef __cplusplus
}
#endif

#endif
