/* flint/state.h -- keyed state beyond ValueState (part of the bundle API; include
 * <flint/flint.h>).
 *
 * Every kind is scoped to the current key of a keyed operator and, inside the function of
 * a window that does not merge, to the window (Flink's windowState(): it lives across the
 * window's firings, late ones included, and is dropped with the window at its cleanup
 * time). In session windows, which merge, it is per key (Flink's globalState()). Create the handles in an open function; use them in
 * process / on_timer. Values are bytes; pointers handed out stay valid until the next call
 * on any state of the operator.
 */
#ifndef FLINT_STATE_H
#define FLINT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An iterator over list elements or map entries. */
typedef struct fl_iter {
    const uint8_t *p, *end;
} fl_iter;

/* The next list element (lists, window contents). */
bool fl_iter_next(fl_iter *it, fl_rec *out);
/* The next map entry (fl_map_entries). */
bool fl_iter_next_entry(fl_iter *it, fl_rec *key, fl_rec *value);

/* ---- ListState --------------------------------------------------------------------- */

typedef struct fl_list_state fl_list_state;
fl_list_state *fl_ctx_list_state(fl_ctx *ctx, const char *name);
void fl_list_add(fl_list_state *s, const void *data, uint32_t len);
/* Starts iterating the current key's elements in insertion order; false when empty. */
bool fl_list_get(fl_list_state *s, fl_iter *it);
/* Replaces the list with n elements. */
void fl_list_update(fl_list_state *s, const fl_rec *elems, uint32_t n);
void fl_list_clear(fl_list_state *s);

/* ---- MapState ---------------------------------------------------------------------- */

typedef struct fl_map_state fl_map_state;
fl_map_state *fl_ctx_map_state(fl_ctx *ctx, const char *name);
bool fl_map_get(fl_map_state *s, const void *key, uint32_t klen, fl_rec *value);
void fl_map_put(fl_map_state *s, const void *key, uint32_t klen, const void *val, uint32_t vlen);
void fl_map_remove(fl_map_state *s, const void *key, uint32_t klen);
bool fl_map_contains(fl_map_state *s, const void *key, uint32_t klen);
/* Starts iterating the current key's entries (fl_iter_next_entry); false when empty. */
bool fl_map_entries(fl_map_state *s, fl_iter *it);
bool fl_map_is_empty(fl_map_state *s);
void fl_map_clear(fl_map_state *s);

/* ---- ReducingState ----------------------------------------------------------------- */

/* add() folds each value into the current one with fn (which emits the combined value). */
typedef struct fl_reducing_state fl_reducing_state;
fl_reducing_state *fl_ctx_reducing_state(fl_ctx *ctx, const char *name, fl_reduce_fn fn);
void fl_reducing_add(fl_reducing_state *s, const void *data, uint32_t len);
bool fl_reducing_get(fl_reducing_state *s, fl_rec *value);
void fl_reducing_clear(fl_reducing_state *s);

/* ---- AggregateFunction and AggregatingState ---------------------------------------- */

/* Flink's AggregateFunction<IN, ACC, OUT> in C: the accumulator is acc_size bytes. */
typedef void (*fl_agg_create_fn)(void *acc);                        /* createAccumulator */
typedef void (*fl_agg_add_fn)(void *acc, const fl_rec *in);         /* add */
typedef uint32_t (*fl_agg_result_fn)(const void *acc, void *out, uint32_t cap); /* getResult */
typedef void (*fl_agg_merge_fn)(void *acc, const void *other);      /* merge (sessions) */

typedef struct fl_aggregate {
    uint32_t acc_size;
    fl_agg_create_fn create;
    fl_agg_add_fn add;
    fl_agg_result_fn result;
    fl_agg_merge_fn merge;       /* needed by merging (session) windows */
    uint32_t result_max;         /* largest result getResult writes (default 4096) */
} fl_aggregate;

typedef struct fl_aggregating_state fl_aggregating_state;
fl_aggregating_state *fl_ctx_aggregating_state(fl_ctx *ctx, const char *name,
                                               const fl_aggregate *agg);
void fl_aggregating_add(fl_aggregating_state *s, const fl_rec *in);
/* getResult of the current accumulator into out (cap bytes); false when empty. */
bool fl_aggregating_get(fl_aggregating_state *s, void *out, uint32_t cap, uint32_t *len);
void fl_aggregating_clear(fl_aggregating_state *s);

/* ---- time-to-live ------------------------------------------------------------------ */

/* Flink's StateTtlConfig (processing time, OnCreateAndWrite, NeverReturnExpired): the
 * value of a state created with a name registered here expires ttl_ms after its last
 * write (for list and map states: the whole list or map of the key). Call before
 * creating the state. */
void fl_ctx_state_ttl(fl_ctx *ctx, const char *name, int64_t ttl_ms);

#ifdef __cplusplus
}
#endif

#endif
