/* flint/state.h -- keyed state beyond ValueState (part of the bundle API; include
 * <flint/flint.h>).
 *
 * Every kind is scoped to the current key of a keyed operator and, inside the function of
 * a window that does not merge, to the window (Flink's windowState(): it lives across the
 * window's firings, late ones included, and is dropped with the window at its cleanup
 * time). In session windows, which merge, it is per key (Flink's globalState()).
 *
 * Threads and ownership: create the handles in an open function; the runtime owns them
 * and frees them with the operator. Use them only on the task's thread, in the functions
 * Flint calls there (process, on_timer, window and co-process functions), where a current
 * key is set. Values are typed as flint.h's ValueState says (_i64, _f64, _bytes, _as with
 * a size check); a pointer handed out (a _bytes value, an iterator's element, a map
 * iterator's key and value) belongs to the runtime and stays valid until the next call on
 * any state of the operator. Nothing here allocates per call once a state's values have
 * reached their largest size.
 */
#ifndef FLINT_STATE_H
#define FLINT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An iterator over list elements (fl_list_get) or a window's contents (a window function's
 * elements). Its fields are the runtime's: fill one only through those calls. */
typedef struct fl_iter {
    const uint8_t *p, *end;
    fl_ctx *ctx; /* who fails when a typed read finds the wrong size */
} fl_iter;

/* The next element as bytes (its ts is FL_NO_TIMESTAMP); false at the end. */
bool fl_iter_next(fl_iter *it, fl_rec *out);
/* The next element as an int64_t / a double / a T copied into *out; false at the end (*out
 * untouched). An element of another size fails the task naming the call, zeroes *out and
 * returns false. */
bool fl_iter_next_i64(fl_iter *it, int64_t *out);
bool fl_iter_next_f64(fl_iter *it, double *out);
#define fl_iter_next_as(it, T, out)                                                          \
    fl_iter_next_typed((it), "fl_iter_next_as(" #T ")", (void *)(1 ? (out) : (T *)0),       \
                       (uint32_t)sizeof(T))
bool fl_iter_next_typed(fl_iter *it, const char *call, void *out, uint32_t size);

/* ---- ListState --------------------------------------------------------------------- */

typedef struct fl_list_state fl_list_state;
fl_list_state *fl_ctx_list_state(fl_ctx *ctx, const char *name);
/* Appends one element (without reading the list: O(1) on both backends). */
void fl_list_add_i64(fl_list_state *s, int64_t v);
void fl_list_add_f64(fl_list_state *s, double v);
void fl_list_add_bytes(fl_list_state *s, const void *data, uint32_t len);
/* const T *v */
#define fl_list_add_as(s, T, v)                                                              \
    fl_list_add_bytes((s), (const void *)(1 ? (v) : (const T *)0), (uint32_t)sizeof(T))
/* Starts iterating the current key's elements in insertion order (fl_iter_next,
 * fl_iter_next_i64, fl_iter_next_as...); false when empty. */
bool fl_list_get(fl_list_state *s, fl_iter *it);
/* Replaces the list with n elements: byte strings, or an array of n values of type T. */
void fl_list_update_bytes(fl_list_state *s, const fl_rec *elems, uint32_t n);
#define fl_list_update_as(s, T, elems, n)                                                    \
    fl_list_update_fixed((s), (const void *)(1 ? (elems) : (const T *)0), (uint32_t)sizeof(T), \
                         (n))
void fl_list_update_fixed(fl_list_state *s, const void *elems, uint32_t size, uint32_t n);
void fl_list_clear(fl_list_state *s);

/* ---- MapState ---------------------------------------------------------------------- */

/* A map per key; map keys are byte strings (a fixed-size key: pass &k, sizeof k), values
 * are typed as everywhere else. */
typedef struct fl_map_state fl_map_state;
fl_map_state *fl_ctx_map_state(fl_ctx *ctx, const char *name);
bool fl_map_get_i64(fl_map_state *s, const void *key, uint32_t klen, int64_t *out);
void fl_map_put_i64(fl_map_state *s, const void *key, uint32_t klen, int64_t v);
bool fl_map_get_f64(fl_map_state *s, const void *key, uint32_t klen, double *out);
void fl_map_put_f64(fl_map_state *s, const void *key, uint32_t klen, double v);
bool fl_map_get_bytes(fl_map_state *s, const void *key, uint32_t klen, const void **val,
                      uint32_t *vlen);
void fl_map_put_bytes(fl_map_state *s, const void *key, uint32_t klen, const void *val,
                      uint32_t vlen);
/* T *out / const T *v */
#define fl_map_get_as(s, key, klen, T, out)                                                  \
    fl_map_get_typed((s), (key), (klen), "fl_map_get_as(" #T ")",                          \
                     (void *)(1 ? (out) : (T *)0), (uint32_t)sizeof(T))
#define fl_map_put_as(s, key, klen, T, v)                                                    \
    fl_map_put_bytes((s), (key), (klen), (const void *)(1 ? (v) : (const T *)0),            \
                     (uint32_t)sizeof(T))
bool fl_map_get_typed(fl_map_state *s, const void *key, uint32_t klen, const char *call,
                      void *out, uint32_t size);
void fl_map_remove(fl_map_state *s, const void *key, uint32_t klen);
bool fl_map_contains(fl_map_state *s, const void *key, uint32_t klen);
/* The number of entries of the current key's map (0 when it has none). */
uint32_t fl_map_size(fl_map_state *s);
bool fl_map_is_empty(fl_map_state *s);
void fl_map_clear(fl_map_state *s);

/* Iteration over the current key's entries (Flink's entries().iterator()), in insertion
 * order, that may remove the entry it stands on:
 *
 *     fl_map_iter it;
 *     fl_map_iterate(s, &it);
 *     while (fl_map_next(&it)) {
 *         int64_t n;
 *         if (fl_map_value_i64(&it, &n) && n == 0)
 *             fl_map_iter_remove(&it); // the next fl_map_next goes on with the entry after
 *     }
 *
 * it.key / it.klen and it.value / it.vlen are the current entry's bytes (owned by the
 * runtime, valid until the next state call). Other states may be read and written while
 * iterating; a put to the same map moves that entry to the end, where the iteration may
 * meet it again. The iterator lives on the caller's stack, needs no freeing, and serves the
 * current call only (the next record or timer has another current key). */
typedef struct fl_map_iter {
    const void *key, *value; /* the current entry */
    uint32_t klen, vlen;
    /* the runtime's */
    fl_map_state *s;
    const uint8_t *base;
    uint32_t len, off, cur;
    uint64_t gen;
} fl_map_iter;
void fl_map_iterate(fl_map_state *s, fl_map_iter *it);
/* Moves to the next entry; false after the last one. */
bool fl_map_next(fl_map_iter *it);
/* The current entry's value as an int64_t / a double / a T (size checked as everywhere). */
bool fl_map_value_i64(fl_map_iter *it, int64_t *out);
bool fl_map_value_f64(fl_map_iter *it, double *out);
#define fl_map_value_as(it, T, out)                                                          \
    fl_map_value_typed((it), "fl_map_value_as(" #T ")", (void *)(1 ? (out) : (T *)0),       \
                       (uint32_t)sizeof(T))
bool fl_map_value_typed(fl_map_iter *it, const char *call, void *out, uint32_t size);
/* Removes the current entry (Iterator.remove()). */
void fl_map_iter_remove(fl_map_iter *it);

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
