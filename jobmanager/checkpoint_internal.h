/* checkpoint_internal.h -- the checkpoint coordinator's layout (pending and completed
 * checkpoints, the statistics REST shows, the restore point), shared by
 * checkpoint_coordinator.c (triggering, acknowledgements, completion, retention, REST) and
 * checkpoint_restore.c (the _metadata files and restoring from them); nobody outside
 * jobmanager/checkpoint_*.c includes this. JobMaster thread only.
 */
#ifndef FL_CHECKPOINT_INTERNAL_H
#define FL_CHECKPOINT_INTERNAL_H

#include "checkpoint_coordinator.h"
#include "checkpoint_stats.h"
#include "common/path.h"

/* _metadata: "FLCK", u16 version, 2 bytes padding, u32 CRC-32 of the rest (host order),
 * then the packed fl.pb.CheckpointMetadata */
#define META_MAGIC "FLCK"
#define META_VERSION 1
#define META_HDR 12
/* Longest state.checkpoints.dir and savepoint target directory: what the coordinator adds
 * ("/<job id>/chk-<id>", "/<job id>/shared", "/savepoint-<6>-<12>") stays within
 * FL_CKPT_DIR_MAX (path.h), so both directories fit one barrier. */
#define CHECKPOINTS_DIR_MAX (FL_CKPT_DIR_MAX - 60)

typedef struct pending {
    struct pending *next;
    struct fl_cc *cc;
    int64_t id, ts, start_mono, last_ack_ms;
    bool savepoint;
    uint64_t token;
    char dir[1024];
    fl_cc_task *tasks;
    int ntasks, acked;
    fl_rpc_msg **acks;        /* per task, kept until completion */
    struct event *timeout;
    uint64_t size;
    int64_t alignment_ms;
    bool recording;           /* complete: being recorded in the store */
    bool orphan;              /* its attempt ended while it was being recorded */
    bool recorded;            /* recorded while the term was suspended: completes on resume */
    Fl__Pb__CheckpointMetadata *meta; /* while recording */
} pending;

/* A checkpoint id asked of the store, and what it is for. */
typedef struct id_request {
    struct id_request *next;
    bool savepoint;
    uint64_t token;
    char dir[1024];
} id_request;

typedef struct completed {
    struct completed *next;   /* newest first */
    int64_t id, ts;
    bool savepoint;
    char dir[1024];
    Fl__Pb__CheckpointMetadata *meta;
} completed;

typedef struct hist {
    int64_t id, trigger_ts, ack_ts, duration, alignment;
    uint64_t size;
    const char *status;       /* IN_PROGRESS, COMPLETED, FAILED */
    bool savepoint;
    int nsub, nacked;
    char path[1100];
    char failure[256];
    fl_ckpt_subs *subs;       /* per subtask (a reference; NULL in the latest_* copies) */
} hist;

struct fl_cc {
    fl_cc_env env;
    bool enabled, exactly_once, unaligned, incremental;
    int64_t interval, timeout, min_pause;
    int max_concurrent, tolerable, retained;
    char base[1024], shared[1100], savepoint_dir[1024], job_id[40];
    uint64_t drain_token; /* the savepoint of stop --drain (0: none) */
    int64_t next_id, last_completion_mono;
    int npending, failures_in_row;
    pending *pending;
    completed *done;
    struct event *timer;
    bool running;
    bool swept;               /* the storage was searched for orphans (first start) */
    int sweeps_due;           /* completed checkpoints that sweep it (after a failure) */
    /* statistics */
    int64_t total, ncompleted, nfailed, restored_count;
    hist *history;            /* newest first, web.checkpoints.history of them */
    int nhist, hist_cap;
    hist latest_completed, latest_failed, latest_savepoint;
    bool has_completed, has_failed, has_savepoint;
    int64_t restored_id, restored_ts;
    char restored_path[1100];
    /* high availability: the store, and the id requests it has not answered (in order) */
    fl_ha_job *store;
    id_request *ids, **ids_tail;
    /* the restore point */
    Fl__Pb__CheckpointMetadata *restore_meta;
    char restore_dir[1024];
    bool restore_from_savepoint;
};

/* checkpoint_restore.c: writes dir/_metadata atomically (write, fsync, rename) with a magic
 * number, version and CRC. */
int fl_cc_write_metadata(const char *dir, const Fl__Pb__CheckpointMetadata *m, fl_err *err);
/* checkpoint_restore.c: 0 when every state file of the n states is a handle name
 * (fl_path_is_handle) that resolves, symlinks followed, inside dir (shared files inside the
 * directory above it); -1 with err naming the first that does not. */
int fl_cc_check_handles(Fl__Pb__OperatorSubtaskState *const *states, size_t n,
                        const char *dir, fl_err *err);

/* checkpoint_stats.c: the history of checkpoints REST shows (JobMaster thread). add takes
 * h->subs; the oldest entry goes when the history is full. */
void fl_cc_history_add(fl_cc *cc, const hist *h);
hist *fl_cc_history_find(fl_cc *cc, int64_t id);
/* dst = *h without its per-subtask part (the history keeps that). */
void fl_cc_set_latest(hist *dst, const hist *h);
/* A slot per task of p, in p->tasks' order. */
fl_ckpt_subs *fl_cc_subs_new(const pending *p, bool unaligned);
/* Task i of the checkpoint acknowledged a at now_ms. */
void fl_cc_stats_ack(hist *h, int i, const Fl__Pb__AcknowledgeCheckpoint *a, int64_t now_ms);

/* checkpoint_storage.c: deletes a checkpoint's directory (S3: every object under its
 * prefix); a failure is logged (the sweeps find it again). */
void fl_cc_drop_dir(fl_cc *cc, const char *dir);
/* checkpoint_storage.c: the next completed checkpoints sweep (after any failure). */
void fl_cc_sweep_soon(fl_cc *cc);
/* checkpoint_storage.c: deletes every chk-N of the job's directory that is neither
 * completed nor pending and, with below, has an id under below (failed or subsumed);
 * without (below 0, at start), has no _metadata (a crashed JobManager's). */
void fl_cc_sweep(fl_cc *cc, int64_t below);

#endif
