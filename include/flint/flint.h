/* flint.h -- the C API of Flint job bundles: everything a bundle author includes.
 *
 * A job bundle is a shared object (cc -shared -fPIC -Iinclude job.c -o job.so) defining
 *
 *     int flint_main(fl_env *env, int argc, char **argv);
 *
 * `flint run job.so ARGS` loads it in the client, calls flint_main to build the dataflow
 * (the StreamGraph) with the functions below, compiles it and submits it with the bundle
 * to the cluster. Every TaskManager running a part of the job loads the same bundle and
 * looks your functions up BY SYMBOL NAME, so:
 *
 *   - every function you pass to Flint must be a global (non-static) function of the bundle;
 *   - a function has no closure: per-operator settings are a value of a fixed-size type
 *     given with fl_with_config_as(), copied into the job, and read back, checked against
 *     the type, with fl_ctx_config_as();
 *   - per-subtask mutable data goes through fl_ctx_set_user() (set up in an open function,
 *     released in a close function), never through globals shared between subtasks, since
 *     several subtasks of a job may run in the same TaskManager process.
 *
 * Records are bytes plus an event timestamp (fl_rec). Fixed-size C structs travel as they
 * are (memcpy is the serializer); flint/codec.h helps with strings and variable fields
 * and with parsing text lines and flags.
 *
 * Threads: flint_main runs once, in the client (`flint run`), and only builds the graph.
 * Every other function you pass (map, process, key selectors, sources, sinks, open and
 * close, timers, window functions, triggers) runs on the TaskManager, on the thread of the
 * task running that operator's subtask, one call at a time: a subtask's functions never run
 * concurrently with each other, while other subtasks run in parallel on other threads.
 *
 * Ownership: what Flint hands your functions (an fl_rec and its bytes, a key, a window,
 * an iterator and its elements, a state value read as bytes) belongs to the runtime and is
 * valid only during the call (state values: until the next state call); copy what you
 * keep. What you hand Flint is copied before the call returns (fl_emit's bytes, a
 * configuration, the elements of fl_from_elements, names and paths), so it may live on your
 * stack. Handles (fl_env, fl_stream, fl_ctx, fl_out, states) belong to the runtime; never
 * free them. What you allocate in open you free in close.
 *
 * Timestamps of results: an operator's output carries the timestamp of the input record it
 * was computed from (map, flat map, filter, process, reduce and the rolling aggregations,
 * with fl_emit; fl_emit_ts sets another), a timer's output the timer's time, a window's
 * result the window's max timestamp end - 1 (flint/window.h), an interval join's result the
 * larger of the two joined timestamps (flint/streams.h).
 *
 * The calls mirror Flink's DataStream API: fl_map ~ map(), fl_key_by ~ keyBy(), fl_sum ~
 * sum(), fl_name ~ name(), fl_set_parallelism ~ setParallelism() ... A call that configures
 * an operator (fl_name, fl_set_parallelism, fl_with_config_as, ...) applies to the operator
 * that produced the stream handle and returns the same handle, so calls chain.
 */
#ifndef FLINT_FLINT_H
#define FLINT_FLINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FL_NO_TIMESTAMP INT64_MIN
#define FL_MAX_KEY 1024 /* longest key a key selector may return */

typedef struct fl_env fl_env;       /* the StreamExecutionEnvironment */
typedef struct fl_stream fl_stream; /* a DataStream (or KeyedStream) handle */
typedef struct fl_ctx fl_ctx;       /* runtime context of one parallel instance */
typedef struct fl_out fl_out;       /* where an operator emits (a Collector) */

/* A record: bytes and the event timestamp (FL_NO_TIMESTAMP when it has none). */
typedef struct fl_rec {
    const void *data;
    uint32_t len;
    int64_t ts;
} fl_rec;

/* The entry point every bundle defines; return 0 after fl_execute(). */
int flint_main(fl_env *env, int argc, char **argv);

/* ---- functions you write ----------------------------------------------------------- */

typedef void (*fl_map_fn)(fl_ctx *ctx, const fl_rec *in, fl_out *out);      /* emits one  */
typedef void (*fl_flat_map_fn)(fl_ctx *ctx, const fl_rec *in, fl_out *out); /* emits 0..n */
typedef bool (*fl_filter_fn)(fl_ctx *ctx, const fl_rec *in);                /* keep?      */
typedef void (*fl_process_fn)(fl_ctx *ctx, const fl_rec *in, fl_out *out);
/* Combines the key's previous value `acc` with `in`; emits the new value (exactly one). */
typedef void (*fl_reduce_fn)(fl_ctx *ctx, const fl_rec *acc, const fl_rec *in, fl_out *out);
/* Writes the key of `in` into key (at most FL_MAX_KEY bytes) and returns its length. */
typedef uint32_t (*fl_key_fn)(const fl_rec *in, void *key);
/* Picks the target partition in [0, nparts) for a key (fl_partition_custom). */
typedef int (*fl_partitioner_fn)(const void *key, uint32_t klen, int nparts);
/* Rich-function hooks: run once per parallel instance, before the first and after the last
 * record. */
typedef void (*fl_open_fn)(fl_ctx *ctx);
typedef void (*fl_close_fn)(fl_ctx *ctx);
/* Text of a record for fl_print / fl_write_as_text; returns the length written (at most
 * cap; longer output is cut). */
typedef uint32_t (*fl_format_fn)(const fl_rec *in, char *buf, uint32_t cap);
/* A sink: consumes records. */
typedef void (*fl_sink_fn)(fl_ctx *ctx, const fl_rec *in);

/* A source is polled (Flink's Source API): each call emits zero or more records and says
 * whether more may come. Keep a call short (a few milliseconds at most): between calls the
 * task handles cancellation and checkpoints. */
enum fl_source_status {
    FL_SOURCE_MORE = 0, /* call again at once */
    FL_SOURCE_IDLE = 1, /* nothing right now: call again a little later */
    FL_SOURCE_END = 2,  /* bounded input exhausted: the source finishes */
};
typedef int (*fl_source_fn)(fl_ctx *ctx, fl_out *out);

/* ---- environment ------------------------------------------------------------------- */

/* The job's default parallelism (overrides flint run -p and parallelism.default; best
 * practice is not to call this, so that -p can scale the job). */
void fl_env_set_parallelism(fl_env *env, int parallelism);
/* The parallelism operators get when nothing more specific is set. */
int fl_env_parallelism(const fl_env *env);
/* The number of key groups of keyed state: the largest parallelism a job's keyed operators
 * can ever be rescaled to (1..32768). Not set: pipeline.max-parallelism, else derived from
 * each operator's parallelism as Flink does (1.5 x parallelism rounded up to a power of
 * two, at least 128), and a job restored from a savepoint keeps the savepoint's. */
#define FL_MAX_MAX_PARALLELISM 32768
void fl_env_set_max_parallelism(fl_env *env, int max_parallelism);
/* execution.buffer-timeout for this job: 0 flushes every record, -1 only full buffers. */
void fl_env_set_buffer_timeout(fl_env *env, int64_t ms);
void fl_env_disable_operator_chaining(fl_env *env);
/* Finishes the graph under a job name. Returns 0, or -1 if the graph is invalid (the
 * reason is printed). */
int fl_execute(fl_env *env, const char *job_name);

/* Command-line helper in the style of Flink's ParameterTool: the value after --name, or
 * dflt when absent. */
const char *fl_arg(int argc, char **argv, const char *name, const char *dflt);
bool fl_arg_has(int argc, char **argv, const char *name);

/* ---- sources ----------------------------------------------------------------------- */

/* count elements of elem_size bytes each, copied into the job (parallelism 1). */
fl_stream *fl_from_elements(fl_env *env, const void *elems, uint32_t elem_size, uint32_t count);
/* NUL-terminated strings, each a record without its terminator (parallelism 1). */
fl_stream *fl_from_strings(fl_env *env, const char *const *strs, uint32_t count);
/* Lines of a text file (records without the newline). With parallelism n the file is split
 * into n byte ranges, each line read by exactly one reader. */
fl_stream *fl_read_text_file(fl_env *env, const char *path);
/* Lines from a TCP server (parallelism 1); runs until cancelled. */
fl_stream *fl_socket_text_stream(fl_env *env, const char *host, int port);
/* The int64_t values from..to inclusive, split over the parallel instances. */
fl_stream *fl_generate_sequence(fl_env *env, int64_t from, int64_t to);
/* Your own source; parallel sources run with the operator's parallelism, others with 1. */
fl_stream *fl_add_source(fl_env *env, fl_source_fn fn, bool parallel);

/* ---- transformations --------------------------------------------------------------- */

fl_stream *fl_map(fl_stream *in, fl_map_fn fn);
fl_stream *fl_flat_map(fl_stream *in, fl_flat_map_fn fn);
fl_stream *fl_filter(fl_stream *in, fl_filter_fn fn);
fl_stream *fl_process(fl_stream *in, fl_process_fn fn);

/* keyBy: hash partitioning by key (murmur3 -> key group -> subtask, as Flink). */
fl_stream *fl_key_by(fl_stream *in, fl_key_fn fn);
/* keyBy on len bytes at offset of each record (the common case for C structs). */
fl_stream *fl_key_by_field(fl_stream *in, uint32_t offset, uint32_t len);

/* Rolling aggregations on a keyed stream, emitting the updated value for every record. */
fl_stream *fl_reduce(fl_stream *keyed, fl_reduce_fn fn);

/* A numeric field of a fixed-size record, for sum/min/max/minBy/maxBy. */
enum fl_field_type { FL_I32 = 1, FL_I64 = 2, FL_F64 = 3 };
typedef struct fl_field {
    uint32_t offset;
    uint32_t type; /* enum fl_field_type */
} fl_field;
#define FL_FIELD(type, member, kind) ((fl_field){(uint32_t)offsetof(type, member), (kind)})

/* As Flink: sum/min/max update only that field of the first record seen for the key (the
 * other fields keep their first values); minBy/maxBy emit the whole record holding the
 * minimum/maximum (the first one on ties). */
fl_stream *fl_sum(fl_stream *keyed, fl_field field);
fl_stream *fl_min(fl_stream *keyed, fl_field field);
fl_stream *fl_max(fl_stream *keyed, fl_field field);
fl_stream *fl_min_by(fl_stream *keyed, fl_field field);
fl_stream *fl_max_by(fl_stream *keyed, fl_field field);

/* ---- partitioning (how records reach the next operator) ----------------------------- */

fl_stream *fl_forward(fl_stream *in);   /* same subtask index; needs equal parallelism */
fl_stream *fl_rebalance(fl_stream *in); /* round robin over all downstream subtasks */
fl_stream *fl_rescale(fl_stream *in);   /* round robin within local groups */
fl_stream *fl_shuffle(fl_stream *in);   /* uniformly random */
fl_stream *fl_broadcast(fl_stream *in); /* every record to every subtask */
fl_stream *fl_global(fl_stream *in);    /* everything to subtask 0 */
fl_stream *fl_partition_custom(fl_stream *in, fl_partitioner_fn fn, fl_key_fn key);

/* ---- sinks ------------------------------------------------------------------------- */

/* To the TaskManager's standard output (its .out file), one line per record, prefixed with
 * "N> " (the 1-based subtask) when the sink runs with parallelism > 1. fmt NULL prints the
 * record bytes as text. */
fl_stream *fl_print(fl_stream *in, fl_format_fn fmt);
/* One part file per subtask under dir: written hidden
 * (".part-<job>-<subtask>-<n>.inprogress.<random>", <job> the job's ID) and renamed to
 * part-<job>-<subtask>-<n> when complete. fmt NULL writes the bytes as text. dir may be an s3:// URI: parts are
 * multipart uploads, completed when complete. */
fl_stream *fl_write_as_text(fl_stream *in, const char *dir, fl_format_fn fmt);
fl_stream *fl_discard(fl_stream *in);
fl_stream *fl_add_sink(fl_stream *in, fl_sink_fn fn);

/* ---- operator settings (apply to the operator that produced s; return s) ------------ */

fl_stream *fl_name(fl_stream *s, const char *name);
fl_stream *fl_uid(fl_stream *s, const char *uid);
fl_stream *fl_set_parallelism(fl_stream *s, int parallelism);
/* This operator's max parallelism (key groups), over the job's (Flink's setMaxParallelism). */
fl_stream *fl_set_max_parallelism(fl_stream *s, int max_parallelism);
fl_stream *fl_disable_chaining(fl_stream *s);
fl_stream *fl_start_new_chain(fl_stream *s);
fl_stream *fl_slot_sharing_group(fl_stream *s, const char *group);
/* The operator's configuration (a function has no closure): copies the value *cfg of type
 * T (a fixed-size struct or scalar, no pointers) into the job; the operator's functions
 * read it with fl_ctx_config_as(ctx, T). The type's name and size travel with it and are
 * checked when it is read. */
#define fl_with_config_as(s, T, cfg)                                                         \
    fl_with_config_typed((s), #T, (const T *)(cfg), (uint32_t)sizeof(T))
fl_stream *fl_with_config_typed(fl_stream *s, const char *type, const void *cfg, uint32_t size);
/* A configuration of variable size (a connector's properties, a string): TYPE names what it
 * is, as fl_with_config_as's T does, and fl_ctx_config_bytes checks it. */
#define fl_with_config_bytes(s, TYPE, data, len) fl_with_config_typed((s), (TYPE), (data), (len))
/* A rich function's open runs on the task's thread before the first record; its close
 * after the last, and also when the task fails or is cancelled (as Flink's close), once for
 * each open: free there what open allocated. */
fl_stream *fl_with_open(fl_stream *s, fl_open_fn fn);
fl_stream *fl_with_close(fl_stream *s, fl_close_fn fn);

/* ---- at run time ------------------------------------------------------------------- */

/* Emits a record downstream, with the input's timestamp (fl_emit) or an explicit one. */
void fl_emit(fl_out *out, const void *data, uint32_t len);
void fl_emit_ts(fl_out *out, const void *data, uint32_t len, int64_t ts);

int fl_ctx_subtask(const fl_ctx *ctx);     /* 0-based index of this parallel instance */
int fl_ctx_parallelism(const fl_ctx *ctx);
int fl_ctx_max_parallelism(const fl_ctx *ctx);
/* How many times the job restarted before this run (Flink's getAttemptNumber): 0 first. */
int fl_ctx_attempt(const fl_ctx *ctx);
const char *fl_ctx_task_name(const fl_ctx *ctx); /* "name (2/4)" as Flink shows it */
/* The operator's configuration given with fl_with_config_as(s, T, ...): a pointer owned by
 * the runtime, valid while the operator runs. When the operator has none, or one of
 * another type or size, the task fails with a message naming the call and this returns
 * zeros of T's size (never NULL), so the function can return normally. */
#define fl_ctx_config_as(ctx, T) ((const T *)fl_ctx_config_typed((ctx), #T, (uint32_t)sizeof(T)))
const void *fl_ctx_config_typed(fl_ctx *ctx, const char *type, uint32_t size);
/* The configuration given with fl_with_config_bytes(s, type, ...), its size in *len. When
 * the operator has none, or one of another type, the task fails naming the call, *len is 0
 * and this returns a pointer to nothing (never NULL). */
const void *fl_ctx_config_bytes(fl_ctx *ctx, const char *type, uint32_t *len);
void fl_ctx_set_user(fl_ctx *ctx, void *user);
void *fl_ctx_user(const fl_ctx *ctx);
/* Fails this task (and so the job, subject to its restart strategy) with a message. The
 * current call still returns normally; nothing more is processed afterwards. */
void fl_ctx_fail(fl_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The key of the record being processed in a keyed operator, and in on_timer the key of
 * the firing timer (Flink's ctx.getCurrentKey()); NULL with *len 0 outside a keyed
 * operator. The bytes belong to the runtime and stay valid while the current record or
 * timer is processed. This byte form is the one for string keys; fixed-size keys are read
 * with fl_ctx_key_as. */
const void *fl_ctx_key(const fl_ctx *ctx, uint32_t *len);
/* Copies the current key into *out, a T (the type the key selector wrote: an int64_t for
 * fl_key_by_field of 8 bytes, a struct...). Outside a keyed operator, or when the key's size
 * is not sizeof(T), the task fails naming the call, *out is zeroed and this returns false. */
#define fl_ctx_key_as(ctx, T, out)                                                           \
    fl_ctx_key_typed((ctx), "fl_ctx_key_as(" #T ")", (void *)(1 ? (out) : (T *)0),          \
                     (uint32_t)sizeof(T))
bool fl_ctx_key_typed(fl_ctx *ctx, const char *call, void *out, uint32_t size);

/* ---- keyed state: ValueState (more kinds in flint/state.h) ------------------------- */

/* Every state is scoped to the current key of a keyed operator (and, in the function of a
 * window that does not merge, to the window); flint/state.h says more. Create handles in an
 * open function (the handle belongs to the runtime, freed with the operator) and use them
 * in the functions Flint calls on the task's thread (process, on_timer, window functions).
 *
 * Values are read and written in one of four typed forms, and a value is read in the form
 * it was written:
 *   _i64 / _f64     a 64-bit integer / a double
 *   _bytes          a byte string of any length (strings, variable records); reads hand
 *                   out a pointer owned by the runtime, valid until the next state call
 *   _as(s, T, ...)  a fixed-size struct or scalar T, copied in and out (no alignment
 *                   worries); its size is checked when read
 * A read returns false and leaves *out as it was when the key has no value (so initialize
 * *out with the default). A read of a value whose stored size is not the size of the type
 * asked for (8 for _i64 and _f64) fails the task with a message naming the call and the
 * state, zeroes *out and returns false: it never returns garbage. */
typedef struct fl_value_state fl_value_state;
fl_value_state *fl_ctx_value_state(fl_ctx *ctx, const char *name);
bool fl_value_get_i64(fl_value_state *s, int64_t *out);
void fl_value_put_i64(fl_value_state *s, int64_t v);
bool fl_value_get_f64(fl_value_state *s, double *out);
void fl_value_put_f64(fl_value_state *s, double v);
bool fl_value_get_bytes(fl_value_state *s, const void **data, uint32_t *len);
void fl_value_put_bytes(fl_value_state *s, const void *data, uint32_t len);
/* T *out: the current key's value copied into it. */
#define fl_value_get_as(s, T, out)                                                           \
    fl_value_get_typed((s), "fl_value_get_as(" #T ")", (void *)(1 ? (out) : (T *)0),        \
                       (uint32_t)sizeof(T))
/* const T *v: stored as the current key's value. */
#define fl_value_put_as(s, T, v)                                                             \
    fl_value_put_bytes((s), (const void *)(1 ? (v) : (const T *)0), (uint32_t)sizeof(T))
bool fl_value_get_typed(fl_value_state *s, const char *call, void *out, uint32_t size);
void fl_value_clear(fl_value_state *s);

#ifdef __cplusplus
}
#endif

/* The rest of the API: keyed state, time and timers, windows, multi-stream operators. */
#include <flint/state.h>
#include <flint/time.h>
#include <flint/window.h>
#include <flint/streams.h>

#endif
