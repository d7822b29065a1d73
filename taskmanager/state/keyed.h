/* keyed.h -- keyed state: the state-backend interface every keyed operator uses
 * (DESIGN.md §5-§6).
 *
 * A keyed backend belongs to one keyed operator instance (one task thread). Before handling
 * a record the operator sets the current key; each named state then reads and writes the
 * value of (current key, namespace), where the namespace is empty or, for windows, the
 * window. Every entry remembers its key group, so a snapshot can be written and restored
 * per key group (and so at another parallelism). Backends: hashmap (here, in memory);
 * rocksdb plugs in through the same operations.
 */
#ifndef FL_KEYED_H
#define FL_KEYED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"

typedef struct fl_kbackend fl_kbackend;
typedef struct fl_kstate fl_kstate;
typedef struct fl_kb_snapshot fl_kb_snapshot;

/* Where and how a snapshot is written (checkpoint storage, DESIGN.md §6). */
typedef struct fl_snapshot_ctx {
    const char *dir;         /* absolute: the checkpoint's directory (chk-N/ or a savepoint) */
    const char *shared_dir;  /* absolute: <job>/shared/, for files shared by incremental
                                checkpoints (paths in handles: "../shared/NAME") */
    const char *prefix;      /* unique file-name prefix of this operator instance */
    int64_t checkpoint_id;
    bool incremental;        /* state.backend.incremental */
    bool savepoint;          /* savepoints are always self-contained (never incremental) */
    bool compression;        /* execution.checkpointing.snapshot-compression: the hashmap
                                backend's key-group sections LZ4-compressed */
} fl_snapshot_ctx;

typedef struct fl_kbackend_ops {
    fl_kstate *(*state)(fl_kbackend *b, const char *name);
    bool (*get)(fl_kstate *s, const void *ns, uint32_t nslen, const void **val, uint32_t *len);
    void (*put)(fl_kstate *s, const void *ns, uint32_t nslen, const void *val, uint32_t len);
    void (*remove)(fl_kstate *s, const void *ns, uint32_t nslen);
    /* Appends len bytes to the value (creating it): list state and window contents grow
     * without rewriting what is there. */
    void (*append)(fl_kstate *s, const void *ns, uint32_t nslen, const void *val, uint32_t len);
    void (*free)(fl_kbackend *b);

    /* Snapshot, part 1 (task thread, keep it short): captures a consistent view of all
     * state; processing continues afterwards while part 2 runs. */
    fl_kb_snapshot *(*snapshot)(fl_kbackend *b, const fl_snapshot_ctx *sc, fl_err *err);
    /* Snapshot, part 2 (the snapshot I/O thread): writes the files, fsyncs them and returns
     * a packed fl.pb.KeyedStateHandle (*handle is the caller's to free). */
    int (*snapshot_write)(fl_kb_snapshot *snap, uint8_t **handle, size_t *len, fl_err *err);
    void (*snapshot_free)(fl_kb_snapshot *snap);
    /* Restores, before any record is processed, the entries of the backend's key groups
     * found in the handles (of any parallelism: rescaling filters by key group).
     * checkpoint_dir resolves the handles' relative paths. Every length read is bounded;
     * a damaged file is an error, never a crash. */
    int (*restore)(fl_kbackend *b, const char *checkpoint_dir, const uint8_t *const *handles,
                   const size_t *lens, size_t n, fl_err *err);
    /* The checkpoint completed (incremental backends may forget older files). */
    void (*notify_complete)(fl_kbackend *b, int64_t checkpoint_id);
    /* The value for in-place update (same length), or NULL when absent -- or when the
     * backend cannot hand out its storage (then use get and put). Valid until the next
     * call on the backend. */
    void *(*get_mut)(fl_kstate *s, const void *ns, uint32_t nslen, uint32_t *len);
    /* Optional: a hint that (current key, ns) is looked up soon (see fl_hmap_prefetch). */
    void (*prefetch)(fl_kstate *s, const void *ns, uint32_t nslen, int step);
} fl_kbackend_ops;

/* The part every backend shares: what it serves and the current key. */
struct fl_kbackend {
    const fl_kbackend_ops *ops;
    int max_parallelism;
    int kg_first, kg_last;      /* key groups of this subtask */
    const uint8_t *key;         /* current key: valid while the record is processed */
    uint32_t klen;
    uint32_t hash;
    int kg;
};

fl_kbackend *fl_kbackend_hashmap_new(int max_parallelism, int kg_first, int kg_last);
/* rocksdb: one RocksDB per operator instance in a fresh directory under tmp_dir
 * (io.tmp.dirs), a column family per state, keys prefixed by their key group; tuned by
 * conf's state.backend.rocksdb.* keys (NULL: their defaults). */
/* Removes the RocksDB directories under tmp_dir whose TaskManager is gone (kill -9);
 * returns how many. */
int fl_kbackend_rocksdb_reap(const char *tmp_dir);
fl_kbackend *fl_kbackend_rocksdb_new(int max_parallelism, int kg_first, int kg_last,
                                     const char *tmp_dir, const char *name,
                                     const fl_conf *conf, fl_err *err);
void fl_kbackend_free(fl_kbackend *b);
/* Sets the current key (hashes it once: the key group and the map lookups share it). */
void fl_kbackend_set_key(fl_kbackend *b, const void *key, uint32_t klen);

/* A named state of the backend, created on first use. */
static inline fl_kstate *fl_kstate_get_or_create(fl_kbackend *b, const char *name)
{
    return b->ops->state(b, name);
}

#endif
