/* rocksdb_internal.h -- the RocksDB keyed backend's layout, shared by rocksdb_db.c (errors,
 * the DB's options and merge operator, a state's column family), rocksdb_backend.c (state
 * access, life cycle) and rocksdb_snapshot.c (snapshots, incremental SST bookkeeping,
 * restore); nobody outside
 * taskmanager/state/rocksdb_*.c includes this. The key layout and the threads are described
 * at the top of rocksdb_backend.c, the snapshot files at the top of rocksdb_snapshot.c.
 */
#ifndef FL_ROCKSDB_INTERNAL_H
#define FL_ROCKSDB_INTERNAL_H

#include <pthread.h>
#include <rocksdb/c.h>

#include "common/util.h"
#include "keyed.h"

typedef struct rdb_backend rdb_backend;

struct fl_kstate {
    rdb_backend *b;
    char *name;
    rocksdb_column_family_handle_t *cf;  /* NULL when creating it failed (b->failed) */
    rocksdb_pinnableslice_t *pin;        /* the value get() returned last */
};

/* An SST of an incremental snapshot: its name in the DB and where it lives in storage. */
typedef struct rdb_sst {
    char *name; /* "000012.sst" */
    char *rel;  /* "../shared/PREFIX-<instance>-<checkpoint>-000012.sst" */
    uint64_t size;
} rdb_sst;

/* The SSTs one incremental checkpoint lists, sorted by name. */
typedef struct rdb_sst_set {
    int64_t id;
    rdb_sst *v;
    size_t n;
} rdb_sst_set;

/* What the task thread and the snapshot I/O thread share (rocksdb_snapshot.c describes
 * the listing window): one per backend, freed by the last of the backend and its snapshots.
 * Everything here is under mu. */
typedef struct rdb_shared {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* a listing ended */
    int refs;               /* the backend and each snapshot not yet freed */
    bool closed;            /* the backend is gone: its DB must not be used */
    fl_kb_snapshot *open;   /* the snapshot whose files are not yet listed, or NULL */
    rdb_sst_set confirmed;  /* SSTs of the latest completed incremental checkpoint */
    rdb_sst_set *pending;   /* incremental snapshots not yet known complete */
    size_t npending;
} rdb_shared;

/* The name of every instance's directory under io.tmp.dirs begins so. */
#define FL_ROCKSDB_DIR_PREFIX "flint-rocksdb-"

struct rdb_backend {
    fl_kbackend base; /* first */
    char *dir;        /* ours: db/, snap-*, restore-* (common/workdir.h) */
    int lock_fd;      /* held while dir is ours: a TaskManager reaps it once we are gone */
    char *dbdir;
    char inst[17];    /* random hex naming our shared files */
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
    rocksdb_column_family_handle_t *default_cf;
    fl_kstate **states;
    int nstates;
    uint8_t *kbuf;    /* the encoded key of the current access */
    size_t kcap;
    uint64_t nsnap;
    rdb_shared *sh;
    rocksdb_flushoptions_t *fo;  /* flushes at a snapshot do not wait */
    /* the listing window (rocksdb_snapshot.c): bytes charged since the last snapshot's
     * memtable switch, and the bound at which a write waits for its files to be listed
     * (UINT64_MAX when none is open) */
    uint64_t win_bytes, win_limit, win_cap;
    bool failed;            /* an access failed: the interface has no error path there, so */
    fl_err fail;            /* the error is kept and fails the next snapshot */
};

/* rocksdb_db.c */
/* The one place RocksDB's `char **errptr` becomes ours: 0 when e is NULL, else -1 with
 * "what: message" in err (e is freed). */
int fl_rdb_status(char *e, fl_err *err, const char *what);
/* An access (task thread, no error path) failed: b remembers the first failure (it fails
 * the next snapshot), which is logged. */
void fl_rdb_access_status(rdb_backend *b, char *e, const char *what);
/* Options for our DB (conf: its state.backend.rocksdb.* tuning) and for reading snapshots
 * (conf NULL: RocksDB's defaults): the merge operator (owned by the options, shared with the
 * column families created from them), the shared block cache, quiet info log. */
rocksdb_options_t *fl_rdb_make_options(bool create, const fl_conf *conf);
/* The state called name (created on first use); its cf is NULL when creating the column
 * family failed (b->fail says why). */
fl_kstate *fl_rdb_state(fl_kbackend *kb, const char *name);

/* rocksdb_snapshot.c */
/* The listing window ends now (task thread): the open snapshot's files are listed, here
 * if nobody is listing them already. */
void fl_rdb_window_close(rdb_backend *b);
/* A write of n bytes (key and value) takes at most this much more memtable memory: an
 * entry's header, sequence number and skiplist links at the largest height. */
#define RDB_ENTRY_OVERHEAD 128u
/* Before every write of n bytes (task thread): while a snapshot's files are not listed,
 * the writes after its barrier must stay in the memtable (the listing window). */
static inline void fl_rdb_charge(rdb_backend *b, size_t n)
{
    b->win_bytes += n + RDB_ENTRY_OVERHEAD;
    if (FL_UNLIKELY(b->win_bytes > b->win_limit))
        fl_rdb_window_close(b);
}
rdb_shared *fl_rdb_shared_new(void);
/* The backend lets go of sh (task thread, in free): waits for a listing under way. */
void fl_rdb_shared_close(rdb_shared *sh);
/* the fl_kbackend_ops of snapshots and restore (see state/keyed.h) */
/* Frees the SSTs of set and empties it. */
void fl_rdb_sst_set_clear(rdb_sst_set *set);
/* The checkpoint completed: its SSTs are safe to reference from now on. A completed id
 * that listed none of ours (a savepoint, a full checkpoint) may have let storage drop the
 * older shared files, so nothing is referenced until the next incremental one completes. */
void fl_rdb_notify_complete(fl_kbackend *kb, int64_t id);
fl_kb_snapshot *fl_rdb_snapshot(fl_kbackend *kb, const fl_snapshot_ctx *sc, fl_err *err);
int fl_rdb_snapshot_write(fl_kb_snapshot *snap, uint8_t **handle, size_t *len, fl_err *err);
void fl_rdb_snapshot_free(fl_kb_snapshot *snap);
int fl_rdb_restore(fl_kbackend *kb, const char *dir, const uint8_t *const *handles,
                   const size_t *lens, size_t n, fl_err *err);

#endif
