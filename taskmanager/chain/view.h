/* view.h -- the task as its operators see it: which subtask of which job, the job's
 * configuration, the bundle that holds the user's functions, the clock of processing time,
 * and the failure slot. An operator (taskmanager/operators/) gets an fl_task_view and its
 * output, never the task (taskmanager/task/), so it runs the same under its task and under
 * the operator test harness (tests/harness/). The task (or the harness) fills the view
 * before the operators are built and keeps it alive until they are freed. Task thread
 * only, but for fl_failure.cancelled, which any thread may set.
 */
#ifndef FL_CHAIN_VIEW_H
#define FL_CHAIN_VIEW_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/bundle.h"
#include "common/config.h"
#include "common/util.h"

/* The failure slot of a task: the first failure's message wins; the task stops at its
 * next check once failed or cancelled. */
typedef struct fl_failure {
    bool failed;
    atomic_bool cancelled;    /* any thread: fl_task_cancel */
    char error[2048];         /* FAILED: why, with where */
} fl_failure;

/* Fails (first message wins); the task stops at its next check. */
void fl_fail(fl_failure *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_failv(fl_failure *f, const char *fmt, va_list ap);

static inline bool fl_failure_should_stop(const fl_failure *f)
{
    return f->failed || atomic_load_explicit(&f->cancelled, memory_order_relaxed);
}

typedef struct fl_task_view {
    const char *job_id;
    int vertex, subtask, parallelism, max_parallelism;
    int attempt;              /* restarts of the job before this run (fl_ctx_attempt) */
    const char *name;         /* "vertex name (2/4)" */
    const fl_conf *conf;      /* the job's configuration */
    const fl_bundle *bundle;  /* resolves the user's functions by name */
    int64_t wm_interval_ms;   /* pipeline.auto-watermark-interval */
    bool checkpointing;       /* execution.checkpointing.interval is set */
    bool failover;            /* restored after a failure (not a savepoint given to run -s) */
    /* Processing time, in ms since the epoch: the wall clock when NULL, else a test's. */
    int64_t (*clock_ms)(void *clock_arg);
    void *clock_arg;
    fl_failure *failure;      /* the task's: operators fail through it */
    /* True while an output of the task has no free buffer (Flink's output availability). A
     * built-in source returns from its poll then, between two records, so that its task
     * waits for buffers where it hears its mail (a checkpoint trigger, a cancellation),
     * not inside a batch. NULL: never (the operator test harness). */
    bool (*output_full)(const void *output_arg);
    const void *output_arg;
} fl_task_view;

static inline bool fl_view_should_stop(const fl_task_view *v)
{
    return fl_failure_should_stop(v->failure);
}

static inline bool fl_view_output_full(const fl_task_view *v)
{
    return v->output_full && v->output_full(v->output_arg);
}

static inline int64_t fl_view_now_ms(const fl_task_view *v)
{
    return v->clock_ms ? v->clock_ms(v->clock_arg) : fl_now_ms();
}

#endif
