/* flint/connectors.h -- the connector API (part of the bundle API; include
 * <flint/flint.h> first): checkpointed sources and two-phase-commit sinks, the way Flink's
 * Source and Sink V2 interfaces are, in C. Kafka, PostgreSQL and Redis (connectors/) are
 * written against exactly this; so are yours.
 *
 * A connector is a const definition (fl_source_def / fl_sink_def) exported by the bundle,
 * or by a connector library linked into it: as with functions, TaskManagers find it BY
 * SYMBOL NAME, so define it without `static`. Its settings are a properties blob
 * (fl_props below: Flink's "key=value" connector options), read back at run time with
 * fl_connector_config(). Every callback runs on its subtask's task thread.
 *
 * SOURCES read splits (a Kafka partition, a file range ...): a split is the bytes of its
 * position, which is operator state. On a fresh start, discover() adds this subtask's
 * splits (fl_source_add_split); after a restore, the splits of the checkpoint are dealt
 * over the subtasks (each keeps its own at the same parallelism, round robin at another)
 * and given to add_split() without discover(). poll() emits records with
 * fl_source_emit(), naming the split each came from, and returns enum fl_source_status.
 * At a checkpoint, split_state() writes each split's position. Watermarks come per split
 * (Flink's KafkaSource: a split's watermark is its largest timestamp minus the strategy's
 * out-of-orderness) and the source emits the minimum over its splits that are neither
 * finished nor idle (the strategy's idle timeout, or no record yet): fl_from_source()'s
 * watermark strategy may have no timestamp function, and then the timestamp the reader
 * gives (a Kafka record's) is the event time.
 *
 * SINKS write records into the current transaction (write), pre-commit it at each
 * checkpoint barrier (pre_commit: flush and make it durable but not visible; what it hands
 * back with fl_sink_add_committable is kept in the checkpoint), and commit it when that
 * checkpoint completes (commit: must be idempotent, it may run again after a failure).
 * After a restore, commit() runs for every committable of the restored checkpoint (those
 * are certain to belong to a completed checkpoint), then recover() aborts what a crashed
 * attempt left (anything after the restored checkpoint). That is Flink's
 * TwoPhaseCommitSinkFunction: exactly once with checkpointing. A sink with nothing to
 * commit (at-least-once: flush in pre_commit) leaves commit NULL.
 */
#ifndef FLINT_CONNECTORS_H
#define FLINT_CONNECTORS_H

#include <flint/flint.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The settings a connector was given (fl_from_source / fl_sink_to's cfg), their size in
 * *len: fl_ctx_config_bytes under the type name "connector configuration". */
#define FL_CONNECTOR_CONFIG "connector configuration"
static inline const void *fl_connector_config(fl_ctx *ctx, uint32_t *len)
{
    return fl_ctx_config_bytes(ctx, FL_CONNECTOR_CONFIG, len);
}

/* ---- sources ----------------------------------------------------------------------- */

typedef struct fl_source_def {
    const char *name; /* "Kafka", for messages */
    /* Connects, reads the settings (fl_connector_config). 0, or -1 after fl_ctx_fail. */
    int (*open)(fl_ctx *ctx);
    /* Fresh start (no checkpoint): adds this subtask's splits with fl_source_add_split. */
    int (*discover)(fl_ctx *ctx);
    /* Split number `split` (0, 1, ... in the order added) starts at the position in
     * state. 0, or -1 after fl_ctx_fail. */
    int (*add_split)(fl_ctx *ctx, int split, const void *state, uint32_t len);
    /* Emits a batch (fl_source_emit) and returns enum fl_source_status; keep it short. */
    int (*poll)(fl_ctx *ctx);
    /* The position of split `split` now, written into buf (cap bytes, at least 4096);
     * returns its length. */
    uint32_t (*split_state)(fl_ctx *ctx, int split, void *buf, uint32_t cap);
    /* Optional: checkpoint id completed (Kafka commits group offsets, for monitoring). */
    void (*checkpoint_complete)(fl_ctx *ctx, int64_t id);
    /* Optional: releases what open made (also after a failure). */
    void (*close)(fl_ctx *ctx);
} fl_source_def;

/* env.fromSource(source, watermarkStrategy, name): a source of def with settings cfg
 * (len bytes, copied), at the operator's parallelism. wm: a strategy of flint/time.h, or
 * (fl_watermark_strategy){0} for none; its timestamp function may be NULL (the reader's
 * timestamps are the event times). */
fl_stream *fl_from_source(fl_env *env, const fl_source_def *def, const void *cfg, uint32_t len,
                          fl_watermark_strategy wm, const char *name);

/* In discover: adds a split at the position in state; returns its number, or -1. */
int fl_source_add_split(fl_ctx *ctx, const void *state, uint32_t len);
/* In poll: a record of split `split` with its timestamp (FL_NO_TIMESTAMP: none). */
void fl_source_emit(fl_ctx *ctx, int split, const void *data, uint32_t len, int64_t ts);
/* In poll: split `split` has nothing more (bounded reading); it stops holding the
 * watermark back. */
void fl_source_split_finished(fl_ctx *ctx, int split);

/* ---- plain sources (fl_add_source) ---------------------------------------------------
 * A source function of fl_add_source is checkpointed through its position (Flink's
 * CheckpointedFunction with a list state): after emitting, it reports where it stands --
 * the bytes it needs to continue after the records emitted so far, an offset say -- with
 * fl_source_set_position. Checkpoints are taken between two calls of the function, so the
 * position in the checkpoint always matches the records emitted before it. The position
 * is operator state: after a restore, fl_source_restored_position hands it back (the
 * subtask's own at the same parallelism; at another one the subtasks' positions are dealt
 * round robin, so a subtask may get several -- index 0, 1, ... -- or none). A source that
 * never reports a position restarts from its beginning, as before. */

/* In the source function: the position after the records emitted so far (copied; at
 * most 64 KiB). Cheap: call it after every batch. */
void fl_source_set_position(fl_ctx *ctx, const void *pos, uint32_t len);
/* The index-th position restored from the checkpoint (NULL when there is none: a fresh
 * start, or index past the last), its length in *len. */
const void *fl_source_restored_position(fl_ctx *ctx, int index, uint32_t *len);

/* ---- sinks ------------------------------------------------------------------------- */

#define FL_SINK_END_OF_INPUT INT64_MAX

typedef struct fl_sink_def {
    const char *name; /* "Kafka", for messages */
    /* Connects, reads the settings. 0, or -1 after fl_ctx_fail. */
    int (*open)(fl_ctx *ctx);
    /* A record into the current transaction. */
    void (*write)(fl_ctx *ctx, const fl_rec *in);
    /* At checkpoint id's barrier, and at the end of the input with id
     * FL_SINK_END_OF_INPUT (then committed at once): flush and pre-commit the current transaction, hand back what
     * commit() needs with fl_sink_add_committable, begin the next. 0, or -1 after
     * fl_ctx_fail. */
    int (*pre_commit)(fl_ctx *ctx, int64_t id);
    /* Optional: commits a committable of checkpoint id (idempotent). 0, or -1 after
     * fl_ctx_fail. */
    int (*commit)(fl_ctx *ctx, int64_t id, const void *committable, uint32_t len);
    /* Optional: after a restore from checkpoint `restored` (and its commits), or on a fresh
     * start (restored = -1): abort what earlier attempts left beyond it. */
    int (*recover)(fl_ctx *ctx, int64_t restored);
    /* Optional: called every auto-watermark interval (time-based flushing). */
    void (*tick)(fl_ctx *ctx, int64_t now_ms);
    /* Optional: releases what open made (also after a failure). */
    void (*close)(fl_ctx *ctx);
} fl_sink_def;

/* stream.sinkTo(sink): records of in into a sink of def with settings cfg (copied). */
fl_stream *fl_sink_to(fl_stream *in, const fl_sink_def *def, const void *cfg, uint32_t len);

/* In pre_commit: one committable of this checkpoint (copied). */
void fl_sink_add_committable(fl_ctx *ctx, const void *data, uint32_t len);

/* ---- about the job, for connectors -------------------------------------------------- */

/* The job's id (32 hex characters). */
const char *fl_ctx_job_id(const fl_ctx *ctx);
/* execution.checkpointing.interval in ms, or 0 when the job does not checkpoint. */
int64_t fl_ctx_checkpoint_interval(const fl_ctx *ctx);

/* ---- connector options: "key=value" pairs (header only) ----------------------------- */

/* A properties blob: NUL-terminated "key=value" strings back to back. */
typedef struct fl_props {
    char *buf;
    uint32_t len, cap;
} fl_props;

/* Appends key=value (a later one of the same key wins). */
static inline void fl_props_set(fl_props *p, const char *key, const char *value)
{
    size_t kl = strlen(key), vl = strlen(value), need = kl + vl + 2;
    if (!p->buf || p->len + need > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < p->len + need)
            cap *= 2;
        char *b = (char *)realloc(p->buf, cap);
        if (!b)
            abort();
        p->buf = b;
        p->cap = (uint32_t)cap;
    }
    char *at = p->buf + p->len;
    memcpy(at, key, kl);
    at[kl] = '=';
    memcpy(at + kl + 1, value, vl + 1);
    p->len += (uint32_t)need;
}

static inline void fl_props_free(fl_props *p)
{
    free(p->buf);
    p->buf = NULL;
    p->len = p->cap = 0;
}

/* Calls fn(key, klen, value, arg) for each pair of a blob (value NUL-terminated); stops at
 * a damaged end. */
static inline void fl_props_each(const void *blob, uint32_t len,
                                 void (*fn)(const char *key, size_t klen, const char *value,
                                            void *arg),
                                 void *arg)
{
    const char *p = (const char *)blob, *end = p + len;
    while (p < end) {
        const char *nul = (const char *)memchr(p, '\0', (size_t)(end - p));
        const char *eq = nul ? (const char *)memchr(p, '=', (size_t)(nul - p)) : NULL;
        if (!eq)
            return;
        fn(p, (size_t)(eq - p), eq + 1, arg);
        p = nul + 1;
    }
}

/* The value of key in a blob (the last one given), or dflt. */
static inline const char *fl_props_get(const void *blob, uint32_t len, const char *key,
                                       const char *dflt)
{
    const char *p = (const char *)blob, *end = p + len, *found = dflt;
    size_t kl = strlen(key);
    while (p < end) {
        const char *nul = (const char *)memchr(p, '\0', (size_t)(end - p));
        if (!nul)
            break;
        if ((size_t)(nul - p) > kl && p[kl] == '=' && memcmp(p, key, kl) == 0)
            found = p + kl + 1;
        p = nul + 1;
    }
    return found;
}

#ifdef __cplusplus
}
#endif

#endif
