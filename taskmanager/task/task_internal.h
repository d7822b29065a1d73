/* runtime_internal.h -- the layouts the runtime files share (task.c, operators.c,
 * sources.c, sinks.c, api.c). One task thread touches all of it; only `cancelled` and the
 * metrics are read by other threads.
 */
#ifndef FL_RUNTIME_INTERNAL_H
#define FL_RUNTIME_INTERNAL_H

#include <flint/flint.h>
#include <pthread.h>
#include <stdatomic.h>

#include "bytes.h"
#include "network/network.h"
#include "task/task.h"
#include "state/keyed.h"
#include "chain/timers.h"

#include "jobgraph.pb-c.h"

/* A stream element on the wire: tag, event timestamp, then the record's bytes. */
#define FL_ELEM_RECORD 0
#define FL_ELEM_HDR 9

/* Runtime events in the network stream, beside FL_EV_WATERMARK (payload: int64):
 * a source's idleness changes (payload: u8 1 = idle, 0 = active again). */
#define FL_EV_WATERMARK_STATUS FL_EV_USER

typedef struct fl_op fl_op;
typedef struct fl_writer fl_writer;

struct fl_out {
    int64_t ts;               /* timestamp of the record being processed (fl_emit keeps it) */
    uint64_t emitted;         /* records emitted through this output */
    fl_op **chained;          /* operators fed by direct calls */
    int nchained;
    fl_writer **writers;      /* network outputs */
    int nwriters;
    fl_task *task;
    /* capture mode: a reduce function's result is kept here instead of forwarded */
    bool capture;
    uint8_t *cap;
    uint32_t cap_len, cap_size;
    int ncaptured;
};

struct fl_ctx {
    fl_task *task;
    fl_op *op;
    void *user;
    char name[320];           /* "Operator name (2/4)" */
    const void *cfg;
    uint32_t cfg_len;
    fl_kbackend *kb;          /* keyed operators */
    int64_t ts;               /* timestamp of the record (or timer) being processed */
    int time_domain;          /* in on_timer */
    int input;                /* 1 or 2: which input the record came from */
    const void *window;       /* in window functions: the fl_window */
    const uint8_t *wns;       /* ... and, for windows that do not merge, the namespace of
                                 per-window user state (16 bytes: start, end) */
};

typedef struct fl_keysel {
    fl_key_fn fn;             /* or the field below */
    uint32_t off, len;
} fl_keysel;

typedef struct fl_side {
    const char *tag;
    fl_out out;
} fl_side;

/* Operator state: a list of byte items, redistributed round robin on rescaling. */
typedef struct fl_items {
    uint8_t **v;
    size_t *len;
    int n, cap;
} fl_items;

void fl_items_add(fl_items *it, const void *data, size_t len);
void fl_items_clear(fl_items *it);

struct fl_op {
    int kind;                 /* Fl__Pb__OpKind */
    const Fl__Pb__OperatorSpec *spec;
    fl_ctx ctx;
    fl_out out;
    fl_side *sides;           /* side outputs that have consumers */
    int nsides;
    void (*process)(fl_op *op, const fl_rec *in);
    void (*process2)(fl_op *op, const fl_rec *in);       /* second input */
    /* The operator's watermark moved to wm (one-input operators; two-input operators get
     * the minimum of their inputs'). Default: fire event timers, then forward. */
    void (*process_watermark)(fl_op *op, int64_t wm);
    void (*on_timer)(fl_op *op, const fl_timer *t);      /* a timer of op->timers fired */
    /* optional: timer t fires soon, its state lookup may start loading (step as
     * fl_hmap_prefetch) */
    void (*prefetch_timer)(fl_op *op, const fl_timer *t, int step);
    void (*periodic)(fl_op *op, int64_t now_ms);         /* every auto-watermark interval */
    fl_timers *timers;        /* keyed operators with timers */
    int64_t watermark;        /* current watermark (FL_NO_WATERMARK before the first) */
    int64_t input_wm[2];      /* two-input operators: each input's */
    fl_on_timer_fn timer_fn;
    void *fn2;
    void *fn;                 /* the user function (type depends on kind) */
    fl_open_fn open_fn;
    fl_close_fn close_fn;
    fl_keysel key;            /* keyed operators */
    fl_kstate *agg;           /* reduce / sum / min / max state */
    fl_out capture;           /* reduce's own collector */
    void *state;              /* built-in sources and sinks keep theirs here */
    int (*source)(fl_op *op); /* sources: one poll, enum fl_source_status */
    void (*finish)(fl_op *op);/* sinks: end of input (commit files, flush) */
    void (*release)(fl_op *op);
    /* checkpoints: operator state of sources and sinks */
    void (*snapshot_state)(fl_op *op, int64_t id, fl_items *items);
    /* items: this subtask's share of the operator state (may be none) */
    int (*restore_state)(fl_op *op, const ProtobufCBinaryData *items, size_t n,
                         int64_t checkpoint_id, fl_err *err);
    void (*checkpoint_complete)(fl_op *op, int64_t id);
    int index;                /* position in the chain */
    struct fl_state_handle **handles; /* state handles created by the user (state_api.c) */
    int nhandles;
    struct fl_ttl_entry *ttls;        /* fl_ctx_state_ttl registrations */
    int nttls;
    fl_kbackend *bcast_kb;            /* broadcast process: the broadcast map states */
};

struct fl_writer {
    fl_partition *part;
    int nsub;
    int partitioner;          /* Fl__Pb__Partitioner */
    fl_keysel key;
    fl_partitioner_fn custom;
    int max_parallelism;
    uint32_t rr;              /* round robin position */
    uint64_t rng;             /* shuffle */
    fl_task *task;
};

struct fl_task {
    fl_task_env env;
    fl_rpc_msg *msg;          /* owns the descriptor */
    const Fl__Pb__TaskDeploymentDescriptor *tdd;
    const fl_bundle *bundle;
    int subtask, parallelism, max_parallelism;
    char name[320];           /* "vertex name (2/4)" */
    fl_op *ops;
    int nops;
    fl_writer *writers;
    int nwriters;
    fl_partition **parts;     /* published under parts_lock: cancel reads them */
    pthread_mutex_t parts_lock;
    int nparts;
    fl_gate **gates;
    int ngates;
    int *gate_input;          /* input index (0/1) of each gate */
    struct pollfd *pfd;       /* wait_input's poll set: the mailbox and every gate */
    fl_ptable **ptables;      /* per gate: where its producers run (references) */
    int64_t **chan_wm;        /* per gate, per channel: last watermark */
    uint8_t **chan_state;     /* per gate, per channel: 0 active, 1 idle, 2 finished */
    int64_t input_wm[2];      /* combined watermark forwarded to the head, per input */
    fl_conf *conf;            /* the job's configuration */
    /* checkpoints (checkpoint.c) */
    bool checkpointing;       /* execution.checkpointing.interval is set */
    int64_t align_id;         /* barrier being aligned, 0 when none */
    int align_received, align_total;
    uint8_t **barrier_seen;   /* per gate, per channel */
    int64_t align_start_ns;
    fl_ckpt_request align_req;
    int64_t last_checkpoint;  /* the last one this task took part in */
    int64_t final_checkpoint; /* a finished source: the checkpoint covering its end */
    int64_t completed;        /* the latest completed checkpoint we were told of */
    bool unaligned;           /* execution.checkpointing.unaligned.enabled */
    int64_t aligned_timeout_ms; /* switch an alignment to unaligned after this long */
    struct ckpt_job *ua_job;  /* an unaligned checkpoint recording in-flight input */
    uint8_t **ua_rec;         /* per gate, per channel: still recording */
    int ua_waiting;           /* channels still recording */
    fl_bytes ua_in[2];        /* recorded input elements, per input index */
    int64_t wm_interval_ms;   /* pipeline.auto-watermark-interval */
    int64_t next_periodic_ms;
    fl_mailbox *mb;           /* cancel wakes the task through it */
    atomic_bool cancelled;
    bool failed;
    char error[2048];
    int64_t buffer_timeout_ms;
    fl_io_metrics metrics;
    pthread_t thread;
    bool started;
};

/* Fails the task (first message wins); the loop stops at the next check. */
void fl_task_fail(fl_task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool fl_task_should_stop(fl_task *t)
{
    return t->failed || atomic_load_explicit(&t->cancelled, memory_order_relaxed);
}

/* operators.c */
int fl_op_init(fl_task *t, fl_op *op, const Fl__Pb__OperatorSpec *spec, fl_err *err);
void fl_writer_write(fl_writer *w, const fl_rec *r);
/* Extracts the key of r into buf (FL_MAX_KEY bytes); returns its length or -1. */
int fl_keysel_extract(const fl_keysel *k, const fl_rec *r, uint8_t *buf);
int fl_keysel_init(fl_keysel *k, const Fl__Pb__KeySpec *spec, const fl_bundle *b, fl_err *err);
/* Takes the key of in with ks and makes it op's current key (keybuf: FL_MAX_KEY bytes that
 * must live while the record is processed). false (task failed) when it cannot. */
bool fl_op_set_key(fl_op *op, const fl_keysel *ks, const fl_rec *in, uint8_t *keybuf);

/* checkpoint.c */
/* A barrier (or the end of a channel) arrived on channel c of gate g. */
void fl_task_on_barrier(fl_task *t, int g, int c, const uint8_t *payload, uint32_t len);
void fl_task_on_channel_end(fl_task *t, int g, int c);
/* Snapshots, forwards the barrier, hands the writing to the I/O thread. */
void fl_task_checkpoint(fl_task *t, const fl_ckpt_request *r);
/* A record to keep as channel state of an unaligned checkpoint, if one records it. */
void fl_task_persist_input(fl_task *t, int g, const fl_input *in);
static inline bool fl_task_should_persist(const fl_task *t, int g, const fl_input *in)
{
    return in->persist || (t->ua_waiting && t->ua_rec[g][in->channel]);
}
/* An alignment lasting longer than aligned-checkpoint-timeout turns unaligned. */
void fl_task_check_alignment(fl_task *t);
/* Replays the restored channel state (unaligned checkpoints) before any new input. */
void fl_task_replay_channel_state(fl_task *t);
/* Frees what a task still holds of checkpoints. */
void fl_task_checkpoint_free(fl_task *t);
/* Restores every operator from the descriptor's TaskRestore (before opening). */
int fl_task_restore(fl_task *t, fl_err *err);
/* A keyed state backend for an operator of t (state.backend.type). */
fl_kbackend *fl_task_new_backend(fl_task *t, fl_op *op, fl_err *err);

/* time.c */
/* Moves op's watermark to wm (if later): fires its event timers, then forwards. */
void fl_op_advance_watermark(fl_op *op, int64_t wm);
/* Sends wm to every output of op (chained operators, writers, side outputs). */
void fl_op_forward_watermark(fl_op *op, int64_t wm);
/* Sends an idleness change to every network output reachable from op's outputs. */
void fl_op_forward_status(fl_op *op, bool idle);
/* Fires op's timers of domain up to limit (current key set for each). */
void fl_op_fire_timers(fl_op *op, int domain, int64_t limit);
/* Default watermark handling of an operator without timers of its own. */
void fl_op_default_watermark(fl_op *op, int64_t wm);
int fl_assigner_init(fl_task *t, fl_op *op, fl_err *err);
void fl_writer_event(fl_writer *w, uint8_t type, const void *payload, uint32_t len);
/* Emits to a side output of op by tag (nothing when no consumer asked for it). */
void fl_op_emit_side(fl_op *op, const char *tag, const void *data, uint32_t len, int64_t ts);

/* state_api.c: the keyed-state and broadcast-state handles' clean-up */
void fl_op_free_states(fl_op *op);

/* multi.c: the two-input operators */
int fl_multi_init(fl_task *t, fl_op *op, fl_err *err);

/* state_api.c: drops the user's per-window state of the current key in namespace ns
 * (the window's cleanup). */
void fl_op_clear_window_states(fl_op *op, const uint8_t *ns, uint32_t nslen);

/* window.c: the window operator */
int fl_window_op_init(fl_task *t, fl_op *op, fl_err *err);
/* Late elements the window operator op dropped (no side output for late data). */
uint64_t fl_window_op_dropped(const fl_op *op);
/* Whether key has any state left for window w in the window operator op (contents,
 * trigger state, merging-set entry): for tests and invariant checks. */
bool fl_window_op_has_state(fl_op *op, const void *key, uint32_t klen, const fl_window *w);

/* sources.c / sinks.c: set up op->source / op->process for the built-in kinds. */
int fl_source_init(fl_task *t, fl_op *op, fl_err *err);
int fl_sink_init(fl_task *t, fl_op *op, fl_err *err);
/* Writes out what a print sink has buffered (no-op for other operators). */
void fl_sink_flush(fl_op *op);

#endif
