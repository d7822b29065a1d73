/* execution_graph.h -- the ExecutionGraph: the JobGraph expanded into one execution per
 * parallel subtask (DESIGN.md §5), with the slot each execution runs in and how many
 * executions are in each state, so that "has every task stopped" and "does every task run"
 * are answered without a scan. Slot sharing: the vertices of one sharing group share its
 * slots, subtask i of each in the group's slot i, so a group needs as many slots as its
 * largest vertex parallelism. Pure data, no I/O: the scheduler (scheduler.c) changes it,
 * the deployment (deployment.c) and the status (job_status.c) read it. The transitions of
 * an execution's state are listed in jobmanager/README.md. JobMaster thread only.
 */
#ifndef FL_EXECUTION_GRAPH_H
#define FL_EXECUTION_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/job_state.h"

#include "proto/jobgraph.pb-c.h"

#define FL_EG_MAX_GROUPS 16 /* slot sharing groups of one job */

/* One execution attempt of one subtask (Flink's Execution). */
typedef struct fl_exec {
    fl_task_state state;        /* change it only through fl_eg_set_state */
    int slot;                   /* index into the scheduler's granted slots */
    uint64_t rin, rout, bin, bout, bp_ms, idle_ms, busy_ms; /* its latest metrics */
    int64_t start_ms, end_ms;   /* deployed, reached a terminal state (wall clock) */
} fl_exec;

/* A JobGraph vertex and its executions (Flink's ExecutionJobVertex). */
typedef struct fl_vertex {
    Fl__Pb__JobVertex *jv;      /* the JobMaster's graph owns it */
    int group;                  /* its slot sharing group */
    fl_exec *x;                 /* jv->parallelism of them */
} fl_vertex;

typedef struct fl_exec_graph {
    fl_vertex *v;
    int nv;
    char groups[FL_EG_MAX_GROUPS][128];
    int ngroups, group_size[FL_EG_MAX_GROUPS], group_base[FL_EG_MAX_GROUPS];
    int nslots_needed;          /* the sum of the group sizes */
    int ntasks;                 /* executions of all vertices */
    int nstate[FL_TASK_NSTATES]; /* how many executions are in each state */
} fl_exec_graph;

/* Builds eg from g (which must outlive it): every execution CREATED in its slot. -1 with
 * err on a graph it cannot schedule (too many sharing groups, a group name too long). */
int fl_eg_init(fl_exec_graph *eg, Fl__Pb__JobGraph *g, fl_err *err);
/* Frees what fl_eg_init allocated; a zeroed eg is a no-op. */
void fl_eg_destroy(fl_exec_graph *eg);

/* Every change of an execution's state goes through here (the per-state counts). */
void fl_eg_set_state(fl_exec_graph *eg, fl_exec *x, fl_task_state state);
/* A new attempt: every execution CREATED in its own slot, metrics and times cleared. */
void fl_eg_reset(fl_exec_graph *eg);
/* Subtask i of vertex vi, or NULL when there is none. */
fl_exec *fl_eg_exec(fl_exec_graph *eg, int vi, int i);

/* Every execution FINISHED, CANCELED or FAILED. */
bool fl_eg_all_terminal(const fl_exec_graph *eg);
/* Every execution RUNNING or FINISHED (and at least one RUNNING when any is not done). */
bool fl_eg_all_running(const fl_exec_graph *eg);
bool fl_eg_all_finished(const fl_exec_graph *eg);
/* How many executions are in a state. */
int fl_eg_count(const fl_exec_graph *eg, fl_task_state state);

/* The invariants: the per-state counts equal a scan of the executions, every state is a
 * valid one, every slot lies within [0, nslots_needed). 0, or -1 with err naming the first
 * broken one (tests call it after each transition). */
int fl_eg_validate(const fl_exec_graph *eg, fl_err *err);

#endif
