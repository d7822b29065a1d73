/* checkpoint_stats.h -- what each subtask acknowledged for one checkpoint (issue 12): the
 * data behind Flink's GET /jobs/:jobid/checkpoints/details/:checkpointid (its per-vertex
 * `tasks`) and .../subtasks/:vertexid (per subtask ack time, sync/async durations, state
 * size, alignment, start delay).
 *
 * The checkpoint coordinator (JobMaster thread) fills one fl_ckpt_subs per checkpoint of its
 * history (web.checkpoints.history entries, so memory is bounded), one slot per subtask, as
 * acknowledgements arrive: nothing per record. The JobMaster publishes an fl_ckpt_view with
 * its status: a finished checkpoint's fl_ckpt_subs is never written again and is shared by
 * reference (atomic count), one still in progress is copied. The Dispatcher thread builds
 * the REST bodies from the view (rest_history.c).
 */
#ifndef FL_CHECKPOINT_STATS_H
#define FL_CHECKPOINT_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct fl_ckpt_sub {
    int32_t vertex, subtask;
    int64_t ack_ts;           /* wall clock ms at the JobManager; 0: not acknowledged */
    uint64_t state_size, persisted;
    int64_t sync_ms, async_ms, alignment_ms, start_delay_ms;
} fl_ckpt_sub;

typedef struct fl_ckpt_subs {
    atomic_int refs;
    int64_t id, trigger_ts;
    bool unaligned;           /* triggered unaligned (a subtask with persisted data was too) */
    int n;                    /* subtasks, in (vertex, subtask) order */
    fl_ckpt_sub s[];
} fl_ckpt_subs;

/* The checkpoints of a job's history, newest first (NULL entries: none kept). */
typedef struct fl_ckpt_view {
    int n;
    fl_ckpt_subs *v[];
} fl_ckpt_view;

/* Any thread: a reference more / less (frees at zero; NULL is a no-op). */
fl_ckpt_subs *fl_ckpt_subs_ref(fl_ckpt_subs *s);
void fl_ckpt_subs_unref(fl_ckpt_subs *s);
/* A copy with one reference (a checkpoint still in progress, for another thread). */
fl_ckpt_subs *fl_ckpt_subs_copy(const fl_ckpt_subs *s);

void fl_ckpt_view_free(fl_ckpt_view *v);
/* The checkpoint id's entry, or NULL. */
const fl_ckpt_subs *fl_ckpt_view_find(const fl_ckpt_view *v, int64_t id);

#endif
