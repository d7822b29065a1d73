/* task.h -- the task runtime as the TaskExecutor sees it (DESIGN.md §3-§4): one thread
 * per subtask, running a chain of operators as direct function calls, reading input gates
 * and writing result partitions of the network stack. The TaskExecutor creates, cancels
 * and frees tasks; a task reports its state changes back to it by mail. The layers below
 * (operators/, chain/) and the protocols are in README.md here.
 */
#ifndef FL_TASK_H
#define FL_TASK_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/bundle.h"
#include "common/config.h"
#include "common/job_state.h"
#include "common/mailbox.h"
#include "common/rpc.h"
#include "taskmanager/network/netenv.h"

typedef struct fl_task fl_task;

/* A state change of a task, posted to the TaskExecutor's endpoint; the mail function
 * receives it as arg (and frees it with free()). */
typedef struct fl_task_report {
    fl_task *task;
    fl_task_state state;
    char error[2048];   /* FAILED: why, with where */
    bool crashed;       /* FAILED by the crash handler: the process is about to die */
} fl_task_report;

typedef struct fl_task_env {
    fl_netenv *net;
    const char *resource_id;   /* this TaskManager: producers here are read locally */
    fl_endpoint *owner;        /* the TaskExecutor: receives reports */
    fl_mail_fn on_report;      /* runs on the owner's thread with an fl_task_report * */
    fl_endpoint *io;           /* the snapshot I/O thread (writes checkpoint files) */
    fl_mail_fn on_ack;         /* runs on the owner's thread with an fl_ckpt_ack * */
    const char *tmp_dir;       /* io.tmp.dirs: local working files (RocksDB) */
} fl_task_env;

/* A task's finished part of a checkpoint, posted to the owner (the TaskExecutor relays it
 * to the JobMaster). */
typedef struct fl_ckpt_ack {
    uint8_t *msg;              /* a packed fl.pb.AcknowledgeCheckpoint */
    size_t len;
} fl_ckpt_ack;
void fl_ckpt_ack_free(void *ack);

/* What the JobMaster asks of a source task (and what barriers carry downstream). */
typedef struct fl_ckpt_request {
    int64_t id, ts;
    bool savepoint, exactly_once, unaligned;
    bool drain; /* stop --drain: a source emits MAX_WATERMARK before the barrier */
    char dir[1024], shared_dir[1024];
} fl_ckpt_request;

/* Any thread: start a checkpoint at a source task / tell a task that one completed or was
 * aborted. */
void fl_task_trigger_checkpoint(fl_task *t, const fl_ckpt_request *r);
void fl_task_notify_checkpoint(fl_task *t, int64_t id, bool aborted);

/* Where the subtasks of a producing vertex run (a fl.pb.ProducerTable, sent to this
 * TaskManager once per job attempt): shared by the tasks that read the vertex, immutable,
 * reference counted (any thread). */
typedef struct fl_ptable {
    _Atomic int refs;
    Fl__Pb__ProducerTable *pb;
} fl_ptable;
/* One reference; NULL when data does not decode or does not hold together. */
fl_ptable *fl_ptable_new(const uint8_t *data, size_t len);
void fl_ptable_ref(fl_ptable *t);
void fl_ptable_unref(fl_ptable *t); /* NULL is a no-op */

/* Takes msg (a SubmitTask) and uses its descriptor; bundle must outlive the task. tables[g]
 * is the producer table of the source of gate g (its reference is the task's). */
fl_task *fl_task_new(const fl_task_env *env, fl_rpc_msg *msg, const fl_bundle *bundle,
                     fl_ptable **tables);
/* Starts the thread (DEPLOYING -> INITIALIZING -> RUNNING -> ...). */
int fl_task_start(fl_task *t, fl_err *err);
/* Any thread: asks the task to stop; it reports CANCELED (or its failure) when done. */
void fl_task_cancel(fl_task *t);
/* Joins the thread (after its terminal report) and frees the task. */
void fl_task_free(fl_task *t);

const char *fl_task_job_id(const fl_task *t);
int fl_task_attempt(const fl_task *t);
int fl_task_vertex(const fl_task *t);
int fl_task_subtask(const fl_task *t);
int fl_task_slot(const fl_task *t);
/* The task's I/O counters, readable from any thread. */
void fl_task_metrics(const fl_task *t, uint64_t *rin, uint64_t *rout, uint64_t *bin,
                     uint64_t *bout, uint64_t *bp_ms, uint64_t *idle_ms, uint64_t *busy_ms);

/* Issue 12: everything the task measures, sampled by another thread (the TaskExecutor's,
 * about once a second): the counters above, the input watermark and the buffer usage of
 * its gates and partitions (under their locks, never on the record path). */
typedef struct fl_task_sample {
    uint64_t records_in, records_out, bytes_in, bytes_out;
    uint64_t backpressure_ms, idle_ms, busy_ms;
    int64_t current_input_watermark; /* INT64_MIN: none yet (Flink's Long.MIN_VALUE) */
    float in_pool_usage, out_pool_usage;
} fl_task_sample;
void fl_task_sample_get(fl_task *t, fl_task_sample *s);
/* Operator scope (Flink's): per operator of the chain, in chain order, the records it
 * received (numRecordsIn: the head's are the task's) and emitted (numRecordsOut, side
 * outputs included), for the first max operators; returns how many were filled (0 until
 * the chain is built). Any thread; nothing is counted for it beyond the emit counter each
 * output already has. fl_task_nops: the chain's length. */
int fl_task_op_metrics(fl_task *t, uint64_t *in, uint64_t *out, int max);
int fl_task_nops(const fl_task *t);
/* The name of operator i (< fl_task_nops) of the chain. */
const char *fl_task_op_name(const fl_task *t, int i);
/* Latency markers (metrics.latency.interval): per source vertex whose markers reached this
 * task, the time since they left their source, over the last FL_TASK_LATENCY_WINDOW
 * markers (Flink's window), in ms. Any thread (under the task's latency lock). */
#define FL_TASK_LATENCY_SOURCES 8
#define FL_TASK_LATENCY_WINDOW 128
typedef struct fl_task_latency {
    int source_vertex;
    int64_t count;  /* markers ever */
    double min, max, mean, p50, p95, p99;
} fl_task_latency;
/* Fills out with up to max histograms; returns how many. */
int fl_task_latency_get(fl_task *t, fl_task_latency *out, int max);
/* The vertex id of the task (Flink's operator_id of its latency metric). */
int fl_task_vertex_id(const fl_task *t);
/* The job's name and the vertex's (the task's name without its subtask). */
const char *fl_task_job_name(const fl_task *t);
const char *fl_task_vertex_name(const fl_task *t);

#endif
