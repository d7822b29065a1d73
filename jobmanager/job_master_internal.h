/* job_master_internal.h -- the JobMaster's layout (the ExecutionGraph: one exec per subtask)
 * and the calls shared by job_master.c (life cycle, slots, failures and restarts, messages),
 * job_status.c (the status it publishes for the Dispatcher and REST) and deployment.c (task
 * deployment descriptors); nobody outside jobmanager/job_master.c, job_status.c and
 * deployment.c includes this. JobMaster thread only.
 */
#ifndef FL_JOB_MASTER_INTERNAL_H
#define FL_JOB_MASTER_INTERNAL_H

#include "checkpoint_coordinator.h"
#include "common/job_state.h"
#include "job_master.h"
#include "restart.h"

#include <event2/event.h>

#define MAX_GROUPS 16
#define PUBLISH_EVERY_MS 500 /* metrics */
#define PUBLISH_TASKS_MS 20  /* task states: a burst of updates is one publication */
#define DEPLOY_WINDOW 64     /* deployments awaiting their answer at most */

typedef struct exec {
    int state;
    int slot;                   /* index into jm->slots */
    uint64_t rin, rout, bin, bout, bp_ms, idle_ms, busy_ms;
    int64_t start_ms, end_ms;
} exec;

typedef struct vert {
    Fl__Pb__JobVertex *jv;
    int group;
    exec *x;
} vert;

/* The deployment of an attempt (deployment.c): the TaskManagers of its slots, each once,
 * and which producer tables each has been sent. */
typedef struct fl_deploy {
    int attempt;          /* the attempt deployed; -1 none */
    int next_v, next_i;   /* the next subtask to deploy */
    int inflight;         /* deployments not answered yet */
    int nhosts;
    int *host_of_slot;    /* per slot: its TaskManager's index */
    int *slot_of_host;    /* per TaskManager: one of its slots (for its connection) */
    uint8_t *sent;        /* nhosts x nv: the TaskManager has the vertex's producer table */
    ProtobufCBinaryData *tables; /* per vertex: its packed ProducerTable, made on first use */
} fl_deploy;

struct fl_jm {
    fl_endpoint *ep;
    fl_jm_deps deps;
    uint64_t serial;
    bool recovered;             /* recovered by a new leader: restores as after a failure */
    bool deploy_held;           /* deployment waits for the term to be active again */
    struct fl_ha_job *hj;       /* the checkpoint store (high availability), or NULL */
    Fl__Pb__JobGraph *g;
    fl_conf *conf;
    char id[40];
    vert *v;
    int nv;
    char groups[MAX_GROUPS][128];
    int ngroups, group_size[MAX_GROUPS], group_base[MAX_GROUPS], nslots_needed;
    fl_slot_grant *slots;
    int nslots;
    fl_deploy dep;
    int ntasks;                 /* subtasks of all vertices */
    int nstate[FL_TASK_NSTATES]; /* how many are in each state: no scan per update */
    bool waiting_slots;
    bool slots_lost;            /* a TaskManager with our slots is gone: ask anew */

    int state;
    int attempt;
    fl_restart *restart;
    char root_cause[2048];
    int64_t created_ms, end_ms, running_since_ms, state_ts[FL_JOB_FAILED + 1];
    int64_t last_publish_ms;
    bool publish_pending;
    int64_t publish_due_ms;
    json_t *plan;
    struct event *slot_timer, *restart_timer, *cancel_timer, *publish_timer;
    Fl__Pb__ConfigEntry **conf_entries; /* jm->conf as deployment configuration */
    size_t nconf;
    fl_cc *cc;                          /* the checkpoint coordinator */
    fl_cc_task *cc_tasks;
    const Fl__Pb__CheckpointMetadata *restore; /* state the current attempt starts from */
    const char *restore_dir;
    json_t *savepoints;                 /* trigger id -> {status, location | failure} */
    uint64_t stop_token;                /* stop-with-savepoint in progress */
    bool stopping;                      /* cancelled after a stop: ends FINISHED */
    bool stop_cancels;                  /* stop_token is a savepoint with cancel-job: the
                                           job ends CANCELED, as in Flink */
};

static inline void timer_in(struct event *ev, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

/* job_status.c: the status for the Dispatcher (REST bodies) */
/* Hands the Dispatcher a fresh status now. */
void fl_jm_publish(fl_jm *jm);
/* Publishes at most every `every` ms: PUBLISH_EVERY_MS for metric-only changes,
 * PUBLISH_TASKS_MS for task states (REST shows a restarted job RUNNING at once). */
void fl_jm_publish_soon(fl_jm *jm, int every);
/* The timer of a publication fl_jm_publish_soon delayed (arg: the fl_jm). */
void fl_jm_on_publish_timer(evutil_socket_t fd, short what, void *arg);

/* deployment.c: the attempt's task deployment descriptors */
/* Deploys every subtask of the attempt to its granted slot, at most DEPLOY_WINDOW of them
 * awaiting their answer, publishing as it goes. */
void fl_jm_deploy_all(fl_jm *jm);
/* The term is active again: deploys what waited for it. */
void fl_jm_deploy_resume(fl_jm *jm);
/* Forgets the attempt's producer tables (a new attempt sends them anew) / and the hosts. */
void fl_jm_deploy_reset(fl_jm *jm);
void fl_jm_deploy_free(fl_jm *jm);
/* The TaskManagers of the granted slots, each once: their number, and one slot of each. */
int fl_jm_hosts(fl_jm *jm, const int **slot_of_host);

/* job_master.c */
/* Every change of a subtask's state goes through here (the per-state counts). */
void fl_jm_set_exec_state(fl_jm *jm, exec *x, int state);
/* Subtask i of vertex vi failed with cause: marks it FAILED, then fails the job when it
 * runs, else checks whether every task has stopped. */
void fl_jm_task_failed(fl_jm *jm, int vi, int i, const char *cause);

#endif
