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
#include "task_metrics.h"

#include "proto/jobgraph.pb-c.h"

#define FL_EG_MAX_GROUPS 16 /* slot sharing groups of one job */

/* One execution attempt of one subtask (Flink's Execution). */
typedef struct fl_exec {
    fl_task_state state;        /* change it only through fl_eg_set_state */
    int slot;                   /* index into the scheduler's granted slots */
    int attempt;                /* the job attempt it was (re)started in; the same for every
                                 * execution of its region, so the partitions it reads carry
                                 * its own attempt number */
    int vertex, subtask;        /* where it is in the graph */
    int region;                 /* its pipelined region (index into regions) */
    uint64_t rin, rout, bin, bout, bp_ms, idle_ms, busy_ms; /* its latest metrics */
    int64_t start_ms, end_ms;   /* deployed, reached a terminal state (wall clock) */
    fl_subtask_metrics sm;      /* the latest metrics and their rates (task_metrics.h) */
} fl_exec;

/* A JobGraph vertex and its executions (Flink's ExecutionJobVertex). */
typedef struct fl_vertex {
    Fl__Pb__JobVertex *jv;      /* the JobMaster's graph owns it */
    int group;                  /* its slot sharing group */
    fl_exec *x;                 /* jv->parallelism of them */
    /* operator scope (issue 12): operator k of subtask i's chain at [i * jv->n_chain + k]
     * (task_metrics.h) */
    struct fl_op_counts *ops;
} fl_vertex;

/* A pipelined region (Flink's SchedulingPipelinedRegion): executions connected by data
 * edges, directly or through others. Every edge of a streaming job is pipelined, so a
 * region is a connected component of the subtask graph: all-to-all edges join every
 * subtask on both sides, pointwise ones (forward, rescale) only the subtasks they connect.
 * Failover restarts a region as a whole: no data crosses its border. */
typedef struct fl_region {
    fl_exec **x;                /* its executions, in (vertex, subtask) order */
    int n;
} fl_region;

typedef struct fl_exec_graph {
    const Fl__Pb__JobGraph *g;  /* borrowed */
    fl_vertex *v;
    int nv;
    fl_region *regions;
    int nregions;
    fl_exec **members;          /* storage of every region's x */
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
/* A new attempt of the whole job: every execution CREATED in its own slot at attempt
 * `attempt`, metrics and times cleared. */
void fl_eg_reset(fl_exec_graph *eg, int attempt);
/* A new attempt of region r only: its executions CREATED at `attempt`, the others as
 * they are. */
void fl_eg_reset_region(fl_exec_graph *eg, int r, int attempt);
/* Every execution of region r FINISHED, CANCELED or FAILED. */
bool fl_eg_region_terminal(const fl_exec_graph *eg, int r);

/* Pointwise edges (forward, rescale) connect a producer j of P and a consumer i of C when
 * j * C / P == i (P >= C) or i * P / C == j (P < C): the peer of `from` (one of nfrom
 * subtasks) on the side with nto subtasks, where nfrom >= nto. deployment.c builds the
 * gates by the same rule. */
static inline int fl_eg_pointwise_peer(int from, int nfrom, int nto)
{
    return (int)((int64_t)from * nto / nfrom);
}
/* Whether a partitioner connects subtasks pointwise rather than all-to-all. */
bool fl_eg_is_pointwise(int partitioner);
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
 * valid one, every slot lies within [0, nslots_needed), every execution is in exactly the
 * region it names, every execution of a region has the same attempt, and no data edge
 * crosses a region's border. 0, or -1 with err naming the first
 * broken one (tests call it after each transition). */
int fl_eg_validate(const fl_exec_graph *eg, fl_err *err);

#endif
