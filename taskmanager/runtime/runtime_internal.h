/* runtime_internal.h -- the layouts the runtime files share (task.c, operators.c,
 * sources.c, sinks.c, api.c). One task thread touches all of it; only `cancelled` and the
 * metrics are read by other threads.
 */
#ifndef FL_RUNTIME_INTERNAL_H
#define FL_RUNTIME_INTERNAL_H

#include <flint/flint.h>
#include <pthread.h>
#include <stdatomic.h>

#include "network/network.h"
#include "runtime.h"
#include "state/keyed.h"

#include "jobgraph.pb-c.h"

/* A stream element on the wire: tag, event timestamp, then the record's bytes. */
#define FL_ELEM_RECORD 0
#define FL_ELEM_HDR 9

typedef struct fl_op fl_op;
typedef struct fl_writer fl_writer;

struct fl_out {
    int64_t ts;               /* timestamp of the record being processed (fl_emit keeps it) */
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
};

struct fl_value_state {
    fl_kstate *s;
    fl_ctx *ctx;
};

typedef struct fl_keysel {
    fl_key_fn fn;             /* or the field below */
    uint32_t off, len;
} fl_keysel;

struct fl_op {
    int kind;                 /* Fl__Pb__OpKind */
    const Fl__Pb__OperatorSpec *spec;
    fl_ctx ctx;
    fl_out out;
    void (*process)(fl_op *op, const fl_rec *in);
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
    fl_value_state **vstates; /* handles created by the user, freed with the op */
    int nvstates;
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

/* sources.c / sinks.c: set up op->source / op->process for the built-in kinds. */
int fl_source_init(fl_task *t, fl_op *op, fl_err *err);
int fl_sink_init(fl_task *t, fl_op *op, fl_err *err);
/* Writes out what a print sink has buffered (no-op for other operators). */
void fl_sink_flush(fl_op *op);

#endif
