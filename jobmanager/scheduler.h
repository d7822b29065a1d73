/* scheduler.h -- the JobMaster's scheduler: the job's life cycle over its ExecutionGraph
 * (Flink's DefaultScheduler with its ExecutionFailureHandler). It asks for slots, has the
 * executions deployed once they are granted, follows the task states the TaskExecutors
 * report, and on a failure restarts through the restart strategy (restart.h), or fails the
 * job; it cancels the job on request and ends it FINISHED when every task finished.
 *
 * Failover strategy (jobmanager.execution.failover-strategy): `full` cancels every task and
 * restarts the job (FAILING -> RESTARTING -> RUNNING); `region` (the default, as in Flink)
 * cancels and restarts only the pipelined region of the failed task (execution_graph.h),
 * from the latest completed checkpoint, while the job stays RUNNING and the other regions
 * keep running untouched. A lost TaskManager fails the regions of its executions, and
 * replacements for its slots are asked for; those regions restart when they come. A job
 * that is one region, a failure while the job's slots are awaited, tasks that do not
 * stop, replacement slots that do not come, and a restart strategy that gives up all take
 * the full path. The job and execution states and
 * every transition, with the function here that performs it, are in jobmanager/README.md.
 *
 * It does no I/O itself: what it needs of the world (the ResourceManager, the
 * TaskExecutors, the checkpoint coordinator, the Dispatcher) goes through the const ops
 * table its owner gives it -- job_master.c in the daemon, a recording table in
 * tests/unit/check_scheduler.c. Its timers (slot request timeout, restart delay, cancel
 * timeout) run on the event base it is given. JobMaster thread only.
 */
#ifndef FL_SCHEDULER_H
#define FL_SCHEDULER_H

#include <event2/event.h>

#include "common/config.h"
#include "exception_history.h"
#include "execution_graph.h"
#include "resource_manager.h"
#include "restart.h"

#define FL_SCHED_CANCEL_TIMEOUT_MS 30000 /* tasks that do not stop by then count as gone */

/* A pipelined region under region failover. Transitions (scheduler.c): RUNNING ->
 * CANCELING (fail_region), CANCELING -> RESTARTING (region_stopped: its tasks all stopped,
 * the restart strategy gives a delay), RESTARTING -> RUNNING (restart_regions: a new
 * attempt deployed). A full restart puts every region back to RUNNING. */
typedef enum fl_region_state {
    FL_REGION_RUNNING,
    FL_REGION_CANCELING,
    FL_REGION_RESTARTING,
} fl_region_state;

/* What the scheduler asks of its owner; every call is on the JobMaster's thread. */
typedef struct fl_sched_ops {
    /* Ask for n slots; the answer comes back through fl_sched_on_slots. */
    void (*request_slots)(void *ctx, int n);
    /* Give back every slot of the job and withdraw a waiting request. */
    void (*release_slots)(void *ctx);
    /* Tell the TaskManagers of the granted slots to cancel every task of the job. */
    void (*cancel_tasks)(void *ctx);
    /* Tell the TaskManagers of region r's executions to cancel those (and no other). */
    void (*cancel_region)(void *ctx, int r);
    /* A region fails: pending checkpoints are aborted (all_running resumes them). */
    void (*pause_checkpoints)(void *ctx);
    /* Deploy every execution CREATED or SCHEDULED into its granted slot, at the current
     * attempt; when all of them have their answer the owner calls fl_sched_on_deployed. */
    void (*deploy)(void *ctx);
    /* A new attempt begins (a restart): choose the state it restores. */
    void (*new_attempt)(void *ctx);
    /* The job's state changed (it is `to` now). */
    void (*job_state_changed)(void *ctx, fl_job_state from, fl_job_state to);
    /* Every execution of the attempt runs or finished: checkpoints may begin. */
    void (*all_running)(void *ctx);
    /* Something the job's status shows changed: publish it now, or soon (coalesced). */
    void (*publish)(void *ctx, bool now);
    /* The vertices' parallelism changed (fl_sched_rescale): from[v] -> the graph's now. */
    void (*rescaled)(void *ctx, const int *from);
} fl_sched_ops;

typedef struct fl_sched {
    const fl_sched_ops *ops;
    void *ctx;
    const char *job_name, *job_id; /* borrowed, for the log */
    const fl_conf *conf;           /* the job's: slot.request.timeout */
    fl_exec_graph eg;
    fl_job_state state;
    int attempt;                   /* restarts so far, of the job or of a region: the
                                    * attempt of the executions deployed next */
    fl_slot_grant *slots;          /* granted, eg.nslots_needed of them; NULL before */
    int nslots;
    bool waiting_slots;            /* a slot request is out */
    bool slots_lost;               /* a TaskManager with our slots is gone: ask anew */
    bool stopping;                 /* cancelled after a stop-with-savepoint: ends FINISHED */
    const char *failover_strategy; /* as configured: "region" or "full" */
    bool region_failover;          /* failover-strategy region, and more than one region */
    fl_region_state *rstate;       /* per region */
    int64_t *rdue;                 /* per RESTARTING region: when (monotonic ms) */
    bool *incident;                /* per region: failed in the current failover incident
                                    * (one restart of the strategy, region_stopped) */
    int64_t incident_delay;        /* the restart strategy's delay for that incident */
    int64_t incident_due;          /* when its regions restart (mono ms): all at once */
    int ncanceling;                /* regions CANCELING */
    bool deploying;                /* a deployment awaits answers (fl_sched_on_deployed) */
    bool give_up;                  /* the restart strategy gave up: FAILING ends FAILED */
    int region_restarts;           /* regions restarted so far */
    bool *slot_lost;               /* per granted slot: its TaskManager is gone (region
                                    * failover asks for a replacement) */
    int nslots_lost;
    bool replacing;                /* a request for replacement slots is out */
    fl_restart *restart;
    char root_cause[2048];
    fl_exc_history hist;           /* issue 12: failures for GET /jobs/:jobid/exceptions */
    bool task_failing;             /* fl_sched_fail is called for a task's failure */
    int64_t created_ms, end_ms, running_since_ms; /* wall, wall, monotonic */
    int64_t state_ts[FL_JOB_FAILED + 1];
    Fl__Pb__JobGraph *g;           /* the JobMaster's: a rescale sets its parallelism */
    int *rescale_to;               /* per vertex, while a rescale waits for the tasks (or,
                                    * after a failure, for the restart) */
    char rescale_why[160];         /* the latest rescale's reason (last-rescale) */
    bool reactive;                 /* follows the cluster's slots: scheduler-mode reactive,
                                    * or jobmanager.scheduler adaptive (scheduler_reactive.c) */
    int *declared;                 /* adaptive (not reactive): the parallelism the job
                                    * declared, per vertex, the most it scales up to */
    bool reactive_refused;         /* said once why this job cannot follow the cluster */
    int cluster_slots;             /* the cluster's slots as last heard, -1 before */
    struct event *slot_timer, *restart_timer, *cancel_timer, *region_timer, *reactive_timer,
        *wait_timer;
} fl_sched;

/* Sets s up over g (which must outlive it) in state CREATED. -1 with err. */
int fl_sched_init(fl_sched *s, const fl_sched_ops *ops, void *ctx, Fl__Pb__JobGraph *g,
                  const fl_conf *job_conf, struct event_base *base, fl_err *err);
/* Frees what fl_sched_init made; a zeroed s is a no-op. */
void fl_sched_destroy(fl_sched *s);

/* CREATED -> RUNNING: asks for the slots. */
void fl_sched_start(fl_sched *s);
/* CREATED -> FAILED before any task ran (a savepoint or recovery that cannot be used). */
void fl_sched_fail_to_start(fl_sched *s, const char *cause);
/* The slots asked for (takes the array). A grant that is not awaited is dropped. */
void fl_sched_on_slots(fl_sched *s, fl_slot_grant *slots, int n);
/* The TaskManager resource_id, holding slots of the job, is gone. */
void fl_sched_on_slots_lost(fl_sched *s, const char *resource_id, const char *why);
/* Subtask i of vertex vi of the current attempt reports state (error when FAILED). */
void fl_sched_on_task_state(fl_sched *s, int vi, int i, fl_task_state state,
                            const char *error);
/* Subtask i of vertex vi failed with cause (also when its deployment failed). */
void fl_sched_task_failed(fl_sched *s, int vi, int i, const char *cause);
/* Fails the running job with cause (e.g. too many failed checkpoints). */
void fl_sched_fail(fl_sched *s, const char *cause);
/* A cancel request (REST, CLI). */
void fl_sched_cancel(fl_sched *s);
/* The stop-with-savepoint's savepoint is complete: cancel the tasks, end FINISHED (a
 * savepoint with cancel-job, finished false: CANCELED, as in Flink). */
void fl_sched_stop(fl_sched *s, bool finished);
/* Rescales the running job to parallelism[v] per vertex (the caller checked each against
 * the vertex's max parallelism and forward edges): RUNNING -> RESTARTING, every task
 * cancelled, then a new attempt at the new parallelism, in slots asked for anew, restored
 * from the latest completed checkpoint (keyed state by key groups, operator state dealt
 * round robin). -1 when the job is not RUNNING. */
int fl_sched_rescale(fl_sched *s, const int *parallelism);
/* The same with its reason (last-rescale, the log), and in more states: CREATED takes the
 * parallelism at once (the job starts with it); FAILING and RESTARTING after a failure keep
 * it for the coming restart, which then restores at it. -1 in any other state. */
int fl_sched_rescale_for(fl_sched *s, const int *parallelism, const char *why);

/* Reactive mode (scheduler_reactive.c, scheduler-mode: reactive) and the adaptive
 * scheduler (jobmanager.scheduler: adaptive): the cluster has `slots` slots now. The job rescales to use all of them (each vertex at min(its max parallelism,
 * what fits), one slot per parallel pipeline of a sharing group): fewer at once (a lost
 * TaskManager: no waiting for slots that will not come), more after
 * jobmanager.adaptive-scheduler.resource-stabilization-timeout without a further change
 * (TaskManagers starting together cause one rescale). Adaptive: up to the declared
 * parallelism only, and down only when the job waited for its slots for
 * jobmanager.adaptive-scheduler.resource-wait-timeout. No-op in the default scheduler. */
void fl_sched_cluster_slots(fl_sched *s, int slots);
/* The parallelism per vertex (par, eg->nv of them) that uses at most `slots` slots: the
 * largest p with every vertex at min(p, its max parallelism, cap[v] unless cap is NULL)
 * fitting, vertices joined by a
 * forward edge at the smaller of the two. -1 when not even parallelism 1 fits. */
int fl_sched_reactive_target(const fl_exec_graph *eg, int slots, const int *cap, int *par);
/* The timers' callbacks: the stabilization timeout; resource-wait-timeout (adaptive). */
void fl_sched_on_reactive_timer(evutil_socket_t fd, short what, void *arg);
void fl_sched_on_wait_timer(evutil_socket_t fd, short what, void *arg);
/* Sets up reactive or adaptive mode from the job's configuration (fl_sched_init). */
void fl_sched_reactive_init(fl_sched *s, struct event_base *base);
/* The job asks for its slots (adaptive: the resource-wait-timeout begins) or has them. */
void fl_sched_reactive_waiting(fl_sched *s, bool waiting);

/* Every execution the last ops->deploy had to deploy has its answer: regions that wait to
 * restart restart now (one deployment at a time: its producer tables are of one attempt). */
void fl_sched_on_deployed(fl_sched *s);

/* The TaskManager that holds x's slot, or "?" before the slots are granted. */
const char *fl_sched_tm_of(const fl_sched *s, const fl_exec *x);
/* Arms ev to fire in ms milliseconds. */
void fl_sched_timer_in(struct event *ev, int64_t ms);

#endif
