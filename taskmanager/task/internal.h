/* internal.h -- the task's layout and the calls the files of task/ share: task.c (life
 * cycle, the thread), assemble.c (the chain from the deployment descriptor), loop.c (the
 * mailbox loop, input watermarks), snapshot.c (checkpoints and restore), channel_state.c
 * (unaligned checkpoints' in-flight data), latency.c (latency markers), crash_ctx.c (what
 * the crash handler reports); barrier.c aligns. Nothing outside
 * taskmanager/task/ includes this. One task thread touches all of it; only
 * the failure slot's cancelled flag, the partitions (under parts_lock) and the metrics are
 * reached by other threads.
 */
#ifndef FL_TASK_INTERNAL_H
#define FL_TASK_INTERNAL_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "barrier.h"
#include "common/bytes.h"
#include "common/crash.h"
#include "task.h"
#include "taskmanager/chain/operator.h"
#include "taskmanager/network/network.h"

#include "proto/jobgraph.pb-c.h"

/* The watermark status of an input channel (Flink's WatermarkStatus, per channel). An
 * input's watermark is the minimum over its ACTIVE channels' (none ACTIVE: it has none;
 * all FINISHED: +inf). Transitions, all in handle_event (loop.c):
 *   ACTIVE   -> IDLE      a WATERMARK_STATUS event says idle (its source is idle)
 *   IDLE     -> ACTIVE    a WATERMARK_STATUS event says active, or a watermark arrives
 *   ACTIVE, IDLE -> FINISHED   END_OF_PARTITION; FINISHED is final (a status event after
 *                         it is ignored)
 */
typedef enum fl_chan_status {
    FL_CHAN_ACTIVE = 0,
    FL_CHAN_IDLE,
    FL_CHAN_FINISHED,
} fl_chan_status;

/* An input channel as the task's loop sees it (the gate holds its bytes, the aligner its
 * barriers). */
typedef struct fl_in_chan {
    int64_t wm;               /* the last watermark it delivered */
    fl_chan_status status;
} fl_in_chan;

struct ckpt_job;

struct fl_task {
    fl_task_env env;
    fl_rpc_msg *msg;          /* owns the descriptor */
    const Fl__Pb__TaskDeploymentDescriptor *tdd;
    const fl_bundle *bundle;
    fl_conf *conf;            /* the job's configuration */
    char name[320];           /* "vertex name (2/4)" */
    fl_failure failure;       /* failed / cancelled, and why */
    fl_task_view view;        /* the task as its operators see it */
    fl_op *ops;               /* the chain, head first */
    int nops;
    fl_writer *writers;
    int nwriters;
    fl_partition **parts;     /* published under parts_lock: cancel reads them */
    pthread_mutex_t parts_lock;
    int nparts;
    fl_gate **gates;
    int ngates;
    int *gate_input;          /* input index (0/1) of each gate */
    fl_in_chan **chans;       /* per gate, per channel */
    struct pollfd *pfd;       /* wait_input's poll set: the mailbox and every gate */
    fl_ptable **ptables;      /* per gate: where its producers run (references) */
    int64_t input_wm[2];      /* combined watermark forwarded to the head, per input */
    /* checkpoints (snapshot.c, barrier.c) */
    fl_aligner aligner;       /* barriers of the input channels */
    int64_t final_checkpoint; /* a finished source: the checkpoint covering its end */
    int64_t completed;        /* the latest completed checkpoint we were told of */
    struct ckpt_job *ua_job;  /* an unaligned checkpoint recording in-flight input */
    fl_bytes ua_in[2];        /* recorded input elements, per input index */
    int64_t next_periodic_ms;
    fl_mailbox *mb;           /* cancel wakes the task through it */
    int64_t buffer_timeout_ms;
    fl_io_metrics metrics;
    /* issue 12: what the metrics sampler (the TaskExecutor's thread) reads besides metrics */
    _Atomic int64_t metric_wm; /* the input watermark handed to the head (currentInputWatermark) */
    _Atomic int ops_ready;     /* operators built and wired (release): the sampler may read
                                  their counters (fl_task_op_metrics) */
    int ngates_started;        /* under parts_lock: gates it may ask for their buffer usage */
    /* latency markers (latency.c): sent by a source every interval, recorded under lat_lock */
    int64_t latency_interval_ms, next_latency_ms;
    uint32_t latency_rr;
    pthread_mutex_t lat_lock;
    struct fl_lat_hist *lat;   /* FL_TASK_LATENCY_SOURCES of them */
    int nlat;
    pthread_t thread;
    bool started;
    /* what the crash handler reports of this task (crash_ctx.c) */
    fl_crash_ctx crash;
    const char **crash_ops;   /* the chain's operator names */
    fl_crash_fn *crash_fns;   /* their user functions by symbol */
};

static inline bool fl_task_should_stop(const fl_task *t)
{
    return fl_failure_should_stop(&t->failure);
}

/* crash_ctx.c: publishes the task for the crash handler (after the chain is assembled)
 * and withdraws it (before the thread ends). */
void fl_task_crash_begin(fl_task *t);
void fl_task_crash_end(fl_task *t);

/* assemble.c: the operators, writers, partitions and gates from the descriptor. */
int fl_task_assemble(fl_task *t, fl_err *err);

/* loop.c: runs the source, or reads the gates, until the input ends or the task stops. */
void fl_task_run_source(fl_task *t);
void fl_task_run_inputs(fl_task *t);
/* Whether an output of task (an fl_task) has no free buffer: the view's output_full. */
bool fl_task_outputs_full(const void *task);
/* Runs the mails waiting in the task's mailbox (checkpoint triggers, notifications). */
void fl_task_run_mails(fl_task *t);

/* latency.c: latency markers (metrics.latency.interval) */
void fl_task_latency_init(fl_task *t);
void fl_task_latency_destroy(fl_task *t);
/* A source: sends a marker down each writer when one is due. */
void fl_task_latency_emit_due(fl_task *t);
/* A marker arrived: records its latency and sends it on. */
void fl_task_latency_on_marker(fl_task *t, const uint8_t *data, uint32_t len);

/* snapshot.c */
/* The aligner's actions: snapshots, barriers, declines. */
extern const fl_aligner_ops fl_task_aligner_ops;
/* Frees what a task still holds of checkpoints. */
void fl_task_checkpoint_free(fl_task *t);
/* Restores every operator from the descriptor's TaskRestore (before opening). */
int fl_task_restore(fl_task *t, fl_err *err);

/* channel_state.c: the in-flight data of unaligned checkpoints */
/* Sends the barriers (len bytes) ahead of the queued output; what they overtake becomes
 * items of channel. */
void fl_task_capture_output(fl_task *t, fl_items *channel, const uint8_t *barrier,
                            uint32_t len);
/* A record to keep as channel state of an unaligned checkpoint, if one records it. */
void fl_task_persist_input(fl_task *t, int g, const fl_input *in);
static inline bool fl_task_should_persist(const fl_task *t, int g, const fl_input *in)
{
    return in->persist || fl_aligner_is_recording(&t->aligner, g, in->channel);
}
/* The input recorded so far becomes items of channel; nothing is recorded after. */
void fl_task_take_recorded_input(fl_task *t, fl_items *channel);
/* The input recorded so far is forgotten (its checkpoint was given up). */
void fl_task_drop_recorded_input(fl_task *t);
/* Replays the restored channel state before any new input. */
void fl_task_replay_channel_state(fl_task *t);

#endif
