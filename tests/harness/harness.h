/* harness.h -- the operator test harness: Flink's OneInputStreamOperatorTestHarness and
 * TwoInputStreamOperatorTestHarness, in C.
 *
 * One operator of any kind, built from its spec as a task builds it (fl_op_assemble,
 * taskmanager/task/op_host.h: the one switch over kinds, the state backend, the kind's
 * init), with a task view of the test's choosing (subtask, parallelism, max parallelism,
 * state backend, checkpointing, a processing-time clock the test moves) and no task. The
 * test pushes records, watermarks, barriers and processing-time advances in, polls a
 * source, ends the input, and reads what the operator emitted: records and watermarks in
 * the order they came out, barriers where the task would have forwarded them, and each side
 * output the test named. A barrier snapshots the operator into a checkpoint (written
 * synchronously: the I/O thread's part included); a fresh harness restores from a
 * checkpoint of one or more subtasks, at the same or another parallelism, through the
 * JobMaster's own assignment of state (fl_cc_task_restore: key groups, round robin
 * operator state, timers), as a restarted job does.
 *
 * The user's functions are found by name in the test binary (built -rdynamic), as a
 * TaskManager finds them in a bundle. One thread; the operator runs on the caller's.
 */
#ifndef FL_TEST_HARNESS_H
#define FL_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "taskmanager/chain/operator.h"

#include "proto/jobgraph.pb-c.h"

typedef struct fl_harness fl_harness;

/* A checkpoint the harness writes snapshots into: <base>/chk-<id>/ (and <base>/shared/
 * for incremental RocksDB files), with the packed state of every subtask snapshot into
 * it. */
typedef struct fl_harness_ckpt {
    char dir[512];            /* <base>/chk-<id> */
    char shared_dir[512];     /* <base>/shared */
    int64_t id;
    int parallelism;          /* of the subtasks snapshot into it */
    int max_parallelism;
    uint8_t **states;         /* packed fl.pb.OperatorSubtaskState, one per subtask */
    size_t *lens;
    int n;
} fl_harness_ckpt;

/* A checkpoint id under base (created when missing). */
void fl_harness_ckpt_init(fl_harness_ckpt *c, const char *base, int64_t id);
/* Frees the states (not the files). */
void fl_harness_ckpt_free(fl_harness_ckpt *c);

typedef struct fl_harness_opts {
    int subtask;              /* default 0 */
    int parallelism;          /* default 1 */
    int max_parallelism;      /* default 128 */
    const char *backend;      /* state.backend.type: "hashmap" (default) or "rocksdb" */
    int64_t wm_interval_ms;   /* pipeline.auto-watermark-interval; default 0 (per record) */
    bool checkpointing;       /* execution.checkpointing.interval is set */
    int64_t now_ms;           /* the processing time at the start */
    bool wall_clock;          /* processing time is the wall clock (now_ms is ignored) */
    const fl_harness_ckpt *restore; /* restore from it before opening (NULL: none) */
    bool failover;            /* ... as a restart after a failure (not run -s) */
    const char *side_tags[4]; /* side outputs to collect (NULL-terminated) */
} fl_harness_opts;

/* What came out of the operator, in order. */
typedef enum fl_harness_kind {
    FL_HARNESS_RECORD = 1,
    FL_HARNESS_WATERMARK,     /* at = the watermark */
    FL_HARNESS_BARRIER,       /* at = the checkpoint id */
} fl_harness_kind;

typedef struct fl_harness_elem {
    fl_harness_kind kind;
    int64_t at;               /* a record's timestamp, a watermark, a barrier's id */
    uint32_t len;
    uint8_t *data;            /* a record's bytes (the harness's) */
} fl_harness_elem;

typedef struct fl_harness_output {
    fl_harness_elem *v;
    int n, cap;
    int nrecords;
} fl_harness_output;

/* Builds the operator of spec (spec must outlive the harness), restores it from
 * opts->restore and opens it. NULL with err. */
fl_harness *fl_harness_new(const Fl__Pb__OperatorSpec *spec, const fl_harness_opts *opts,
                           fl_err *err);
/* Closes and frees the operator, then removes the harness's directory, which must be
 * empty by then (a RocksDB backend removes its own): -1 when it is not. NULL: 0. */
int fl_harness_free(fl_harness *h);

/* Each returns 0, or -1 when the operator failed its task (fl_harness_error says why). */
int fl_harness_process(fl_harness *h, const void *data, uint32_t len, int64_t ts);
int fl_harness_process2(fl_harness *h, const void *data, uint32_t len, int64_t ts);
/* A watermark of the (first / second) input; a two-input operator's moves to the minimum of
 * its inputs', as in its task. */
int fl_harness_watermark(fl_harness *h, int64_t wm);
int fl_harness_watermark2(fl_harness *h, int64_t wm);
/* Processing time moves to now_ms: the periodic work (the assigner's watermarks and
 * idleness) runs once, then the processing-time timers up to now_ms fire. */
int fl_harness_set_processing_time(fl_harness *h, int64_t now_ms);
/* Polls a source once; *status: enum fl_source_status. */
int fl_harness_poll(fl_harness *h, int *status);
/* The input ended: the operator finishes (sinks commit). */
int fl_harness_finish(fl_harness *h);
/* A barrier of checkpoint c->id: the operator's snapshot is written into c (between the
 * records before and after, as in its task), and a barrier is put in the output. */
int fl_harness_barrier(fl_harness *h, fl_harness_ckpt *c);
/* Checkpoint id completed (two-phase commit sinks publish). */
int fl_harness_notify_complete(fl_harness *h, int64_t id);

/* What the operator emitted on its main output / on side output tag (NULL: not
 * collected). */
const fl_harness_output *fl_harness_get_output(const fl_harness *h);
const fl_harness_output *fl_harness_get_side_output(const fl_harness *h, const char *tag);
/* The i-th record of out, or NULL. */
const fl_harness_elem *fl_harness_record(const fl_harness_output *out, int i);
/* Forgets what was emitted so far. */
void fl_harness_clear_output(fl_harness *h);

/* The first failure of the operator, or NULL. */
const char *fl_harness_error(const fl_harness *h);
/* The operator itself, for inspection (e.g. fl_window_op_dropped). */
fl_op *fl_harness_op(fl_harness *h);
/* The harness's own directory (a RocksDB backend lives under it). */
const char *fl_harness_dir(const fl_harness *h);

#endif
