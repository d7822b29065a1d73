/* operator.h -- the operator contract (DESIGN.md §4-§5).
 *
 * An operator of a chain is an fl_op: its kind's const table of functions (fl_op_ops, one
 * per kind, filled in taskmanager/operators/ as each state backend fills an
 * fl_kbackend_ops), the spec it was deployed with, the task's view (view.h: never the
 * task), its output (output.h), and what the chain keeps for it: keyed state backends,
 * timers, the user's functions resolved by name. The task (taskmanager/task/) builds each
 * operator of its chain (fl_op_prepare, a backend when it is keyed, ops->init), wires the
 * outputs, and then calls it only through its table; nothing in chain/ names a kind.
 *
 * The order of an operator's calls, all on its task's thread (README.md of task/):
 *   prepare, init, restore_state (from a checkpoint), open_fn
 *   then, interleaved: process / process2 (records), process_watermark, on_timer (timers of
 *   either domain, current key set), periodic (every auto-watermark interval), poll
 *   (sources), flush, snapshot_state (at a barrier, between two records),
 *   checkpoint_complete
 *   then finish (end of input; not after a failure or cancel), close_fn (also after a
 *   failure or cancel, as Flink closes a rich function: once for every open_fn called,
 *   so what open allocated is freed), release.
 *
 * Besides, this header declares the chain's services an operator uses: watermarks and
 * timers (time.c), keys (keysel.h), side outputs (output.c), keyed state (state_api.c).
 * Task thread only.
 */
#ifndef FL_CHAIN_OPERATOR_H
#define FL_CHAIN_OPERATOR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <flint/flint.h>

#include "common/api/runtime.h"
#include "common/err.h"
#include "common/util.h"
#include "items.h"
#include "keysel.h"
#include "output.h"
#include "taskmanager/state/keyed.h"
#include "timers.h"
#include "view.h"

#include "proto/jobgraph.pb-c.h"

/* What a kind of operator does. Entries marked optional may be NULL. */
typedef struct fl_op_ops {
    const char *name;         /* the kind, for messages */
    bool keyed;               /* keyed whatever the spec says (aggregations, windows) */
    bool broadcast_state;     /* gets a backend for broadcast map states (op->bcast_kb) */
    /* Optional: set-up after fl_op_prepare and the backends: reads op->spec, resolves the
     * kind's own functions, allocates op->state. -1 with err (release still runs). */
    int (*init)(fl_op *op, fl_err *err);
    /* A record of the first input; of the second (NULL: a one-input kind). */
    void (*process)(fl_op *op, const fl_rec *in);
    void (*process2)(fl_op *op, const fl_rec *in);
    /* The operator's watermark moved to wm (a two-input operator's is the minimum of its
     * inputs'). fl_op_default_watermark fires event timers, then forwards. */
    void (*process_watermark)(fl_op *op, int64_t wm);
    /* Optional: a timer of op->timers fired; its key is current. */
    void (*on_timer)(fl_op *op, const fl_timer *t);
    /* Optional: timer t fires soon; its state lookup may start loading (steps as
     * fl_hmap_prefetch). */
    void (*prefetch_timer)(fl_op *op, const fl_timer *t, int step);
    /* Optional: every auto-watermark interval, with the processing time. */
    void (*periodic)(fl_op *op, int64_t now_ms);
    /* Sources: one poll, emitting a batch; enum fl_source_status. */
    int (*poll)(fl_op *op);
    /* Optional: writes out what it buffered (when the task flushes its network buffers). */
    void (*flush)(fl_op *op);
    /* Optional: the input ended (sinks commit, flush). */
    void (*finish)(fl_op *op);
    /* Optional: operator state (source positions, sink transactions) at checkpoint id. */
    void (*snapshot_state)(fl_op *op, int64_t id, fl_items *items);
    /* Optional: this subtask's share of the operator state (maybe none), before open. */
    int (*restore_state)(fl_op *op, const ProtobufCBinaryData *items, size_t n,
                         int64_t checkpoint_id, fl_err *err);
    /* Optional: checkpoint id completed (two-phase commit sinks publish). */
    void (*checkpoint_complete)(fl_op *op, int64_t id);
    /* Optional: frees op->state. */
    void (*release)(fl_op *op);
} fl_op_ops;

/* What the user's functions get (the RuntimeContext); the bundle API reads it through
 * context.c, time.c and state_api.c. */
struct fl_ctx {
    fl_op *op;
    void *user;
    char name[320];           /* "Operator name (2/4)" */
    const void *cfg;
    uint32_t cfg_len;
    fl_kbackend *kb;          /* keyed operators */
    int64_t ts;               /* timestamp of the record (or timer) being processed */
    enum fl_time_domain time_domain;  /* in on_timer */
    int input;                /* 1 or 2: which input the record came from */
    const void *window;       /* in window functions: the fl_window */
    const uint8_t *wns;       /* ... and, for windows that do not merge, the namespace of
                                 per-window user state (16 bytes: start, end) */
};

struct fl_op {
    const fl_op_ops *ops;     /* the kind: fixed when prepared */
    const Fl__Pb__OperatorSpec *spec;
    const fl_task_view *view;
    int index;                /* position in the chain */
    fl_ctx ctx;
    fl_out out;
    fl_side *sides;           /* side outputs that have consumers */
    int nsides;
    fl_timers *timers;        /* keyed operators with timers (NULL: none) */
    int64_t watermark;        /* current watermark (FL_NO_WATERMARK before the first) */
    int64_t input_wm[2];      /* two-input operators: each input's */
    /* the user's functions, resolved from the spec by name (types depend on the kind) */
    void *fn, *fn2;
    fl_on_timer_fn timer_fn;
    fl_open_fn open_fn;
    fl_close_fn close_fn;
    bool opened;              /* fl_op_open ran and fl_op_close has not */
    fl_keysel key;            /* keyed operators: the key of the (first) input */
    fl_out capture;           /* reduce functions' collector (capture mode) */
    void *state;              /* the kind's own (ops->release frees it) */
    fl_kbackend *bcast_kb;    /* broadcast process: the broadcast map states */
    /* the keyed-state handles the user created (state_api.c) */
    struct fl_state_handle **handles;
    int nhandles;
    uint64_t state_gen;       /* counts state accesses: a map iterator's pointer is stale
                                 once it moved (state_api.c) */
    struct fl_ttl_entry *ttls;        /* fl_ctx_state_ttl registrations */
    int nttls;
};

/* ---- life cycle (operator.c) ------------------------------------------------------ */

/* Makes op an operator of kind ops for spec at position index of a chain: resolves the
 * functions the spec names in the view's bundle (fn, fn2, open, close, on_timer; a timer
 * function gets op->timers), and the key selector when op is keyed. spec and view must
 * outlive op. -1 with err. */
int fl_op_prepare(fl_op *op, const fl_op_ops *ops, const Fl__Pb__OperatorSpec *spec,
                  const fl_task_view *view, int index, fl_err *err);
/* Keyed: the spec says so, or the kind always is. */
static inline bool fl_op_is_keyed(const fl_op *op)
{
    return op->spec->keyed || op->ops->keyed;
}
/* The user's open / close function, if any; fl_op_close only after fl_op_open, once. */
void fl_op_open(fl_op *op);
void fl_op_close(fl_op *op);
/* Frees everything op holds (its state, backends, timers, outputs, state handles); op
 * itself is the caller's. */
void fl_op_release(fl_op *op);
/* Fails the task of op with a message (first one wins). */
static inline void fl_op_fail(fl_op *op, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void fl_op_fail(fl_op *op, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fl_failv(op->view->failure, fmt, ap);
    va_end(ap);
}
static inline bool fl_op_should_stop(const fl_op *op)
{
    return fl_view_should_stop(op->view);
}

/* ---- the output path (output.c) --------------------------------------------------- */

/* Where a record leaves an operator (output.h). */
static inline void fl_out_emit(fl_out *out, const void *data, uint32_t len, int64_t ts)
{
    if (FL_UNLIKELY(out->capture)) {
        if (len > out->cap_size) {
            out->cap_size = len * 2 + 64;
            out->cap = fl_xrealloc(out->cap, out->cap_size);
        }
        if (len)
            memcpy(out->cap, data, len);
        out->cap_len = len;
        out->ncaptured++;
        return;
    }
    fl_rec r = {data, len, ts};
    atomic_store_explicit(&out->emitted,
                          atomic_load_explicit(&out->emitted, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    for (int i = 0; i < out->nchained; i++)
        out->chained[i]->ops->process(out->chained[i], &r);
    for (int i = 0; i < out->nwriters; i++)
        fl_writer_write(out->writers[i], &r);
}
/* A side output of op for tag, to be connected; valid until the next call. */
fl_out *fl_op_add_side(fl_op *op, const char *tag);
/* Emits to op's side output tag (nothing when no consumer asked for it). */
void fl_op_emit_side(fl_op *op, const char *tag, const void *data, uint32_t len, int64_t ts);

/* ---- keys ------------------------------------------------------------------------- */

/* Takes the key of in with ks and makes it op's current key (keybuf: FL_MAX_KEY bytes
 * that must live while the record is processed). false (task failed) when it cannot. */
static inline bool fl_op_set_key(fl_op *op, const fl_keysel *ks, const fl_rec *in,
                                 uint8_t *keybuf)
{
    int klen = fl_keysel_extract(ks, in, keybuf);
    if (FL_UNLIKELY(klen < 0)) {
        fl_op_fail(op, "cannot take the key of a %u-byte record in %s (key field outside the "
                       "record, or a key longer than %d bytes)",
                   in->len, op->ctx.name, FL_MAX_KEY);
        return false;
    }
    fl_kbackend_set_key(op->ctx.kb, keybuf, (uint32_t)klen);
    return true;
}

/* ---- watermarks and timers (time.c) ----------------------------------------------- */

/* Moves op's watermark to wm (if later): ops->process_watermark. */
void fl_op_advance_watermark(fl_op *op, int64_t wm);
/* Sends wm to every output of op (chained operators, writers, side outputs). */
void fl_op_forward_watermark(fl_op *op, int64_t wm);
/* Sends an idleness change to every network output reachable from op's outputs. */
void fl_op_forward_status(fl_op *op, bool idle);
/* Fires op's timers of domain up to limit (current key set for each). */
void fl_op_fire_timers(fl_op *op, fl_timer_domain domain, int64_t limit);
/* The watermark handling of an operator without its own: fire event timers, forward. */
void fl_op_default_watermark(fl_op *op, int64_t wm);
/* on_timer of the kinds whose timers are the user's (keyed process functions). */
void fl_op_user_on_timer(fl_op *op, const fl_timer *t);

/* ---- the user's context (context.c) ---------------------------------------------- */

/* Fails the task with "<message> (in <operator name>)": what fl_ctx_fail does. */
void fl_op_ctx_fail(fl_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_op_ctx_failv(fl_ctx *ctx, const char *fmt, va_list ap);

/* ---- keyed state (state_api.c) ---------------------------------------------------- */

/* Drops the user's per-window state of the current key in namespace ns (the window's
 * clean-up). */
void fl_op_clear_window_states(fl_op *op, const uint8_t *ns, uint32_t nslen);
/* Frees the state handles the user created (fl_op_release). */
void fl_op_free_states(fl_op *op);

/* ---- the bundle API's run-time calls, as the chain implements them ---------------- */

/* Installed in common/api by the task (taskmanager/task/api.c). */
extern const fl_api_ctx_ops fl_chain_ctx_api;     /* context.c */
extern const fl_api_time_ops fl_chain_time_api;   /* time.c */
extern const fl_api_state_ops fl_chain_state_api; /* state_api.c */

#endif
