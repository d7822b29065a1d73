/* job_master_internal.h -- the JobMaster's layout and the calls shared by job_master.c (the
 * thread, its mails, the messages of TaskExecutors, the checkpoint coordinator's callbacks
 * and the scheduler's ops), job_status.c (the status it publishes for the Dispatcher and
 * REST) and deployment.c (task deployment descriptors). The job's state machine and its
 * ExecutionGraph are the scheduler's (scheduler.h, execution_graph.h). Nobody outside
 * jobmanager/job_master.c, job_status.c, job_metrics.c and deployment.c includes this.
 * JobMaster thread only.
 */
#ifndef FL_JOB_MASTER_INTERNAL_H
#define FL_JOB_MASTER_INTERNAL_H

#include "checkpoint_coordinator.h"
#include "common/job_state.h"
#include "job_master.h"
#include "scheduler.h"

#include <event2/event.h>

#define FL_JM_PUBLISH_EVERY_MS 500 /* metrics */
#define FL_JM_PUBLISH_TASKS_MS 20  /* task states: a burst of updates is one publication */
#define FL_JM_DEPLOY_WINDOW 64     /* deployments awaiting their answer at most */

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
    fl_sched s;                 /* job state, attempt, slots and the ExecutionGraph */
    fl_deploy dep;

    int64_t last_publish_ms;
    int64_t publish_cost_ms; /* what the last publication took to build */
    bool publish_pending;
    int64_t publish_due_ms;
    json_t *plan;
    json_t *last_rescale;               /* when and what the latest rescale changed */
    struct event *publish_timer;
    Fl__Pb__ConfigEntry **conf_entries; /* jm->conf as deployment configuration */
    size_t nconf;
    fl_cc *cc;                          /* the checkpoint coordinator */
    fl_cc_task *cc_tasks;
    const Fl__Pb__CheckpointMetadata *restore; /* state the current attempt starts from */
    const char *restore_dir;
    json_t *savepoints;                 /* trigger id -> {status, location | failure} */
    uint64_t stop_token;                /* stop-with-savepoint in progress */
    bool stop_cancels;                  /* stop_token is a savepoint with cancel-job: the
                                           job ends CANCELED, as in Flink */
};

/* job_status.c: the status for the Dispatcher (REST bodies) */
/* Hands the Dispatcher a fresh status now. */
void fl_jm_publish(fl_jm *jm);
/* Publishes at most every `every` ms: FL_JM_PUBLISH_EVERY_MS for metric-only changes,
 * FL_JM_PUBLISH_TASKS_MS for task states (REST shows a restarted job RUNNING at once). */
void fl_jm_publish_soon(fl_jm *jm, int every);
/* The timer of a publication fl_jm_publish_soon delayed (arg: the fl_jm). */
void fl_jm_on_publish_timer(evutil_socket_t fd, short what, void *arg);

/* job_metrics.c: per subtask metrics for REST (issue 12), a new object */
json_t *fl_jm_metrics_json(const fl_jm *jm);

/* deployment.c: the attempt's task deployment descriptors */
/* Deploys every subtask of the attempt to its granted slot, at most FL_JM_DEPLOY_WINDOW of
 * them awaiting their answer, publishing as it goes. */
void fl_jm_deploy_all(fl_jm *jm);
/* The term is active again: deploys what waited for it. */
void fl_jm_deploy_resume(fl_jm *jm);
/* Forgets the attempt's producer tables (a new attempt sends them anew) / and the hosts. */
void fl_jm_deploy_reset(fl_jm *jm);
void fl_jm_deploy_free(fl_jm *jm);
/* The TaskManagers of the granted slots, each once: their number, and one slot of each. */
int fl_jm_hosts(fl_jm *jm, const int **slot_of_host);

#endif
