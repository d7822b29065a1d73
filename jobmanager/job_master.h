/* job_master.h -- one JobMaster per job, on its own thread ("jobmaster-<id8>").
 *
 * Expands the JobGraph into the ExecutionGraph (one execution per subtask), asks the
 * ResourceManager for slots (slot sharing: each sharing group needs as many slots as its
 * largest vertex parallelism), deploys task descriptors to the TaskExecutors, tracks task
 * and job states (job_state.h), restarts the job through its restart strategy when a task
 * fails or a TaskManager is lost, and cancels it on request. After each change it hands
 * the Dispatcher a fresh status (REST bodies included).
 *
 * It acts for one leadership term (jobmanager/ha/ha.h): every command it sends to a
 * TaskExecutor carries the term's leader session id, and while the term is not active it
 * deploys nothing and triggers no checkpoint (fl_jm_resume goes on). With high
 * availability its checkpoint ids and completed checkpoints go through ZooKeeper, and a job
 * recovered by a new leader starts from the latest retained checkpoint that reads back.
 */
#ifndef FL_JOB_MASTER_H
#define FL_JOB_MASTER_H

#include <jansson.h>

#include "common/config.h"
#include "common/job_state.h"
#include "common/mailbox.h"
#include "common/rpc.h"
#include "resource_manager.h"

#include "proto/jobgraph.pb-c.h"

typedef struct fl_job_status {
    char job_id[40];
    uint64_t serial;   /* of the JobMaster that sent it (fl_jm_serial) */
    fl_job_state state;
    json_t *details;   /* body of GET /jobs/:id */
    json_t *overview;  /* its entry in GET /jobs/overview */
    json_t *metrics;   /* per subtask metrics (job_metrics.c, issue 12) */
    struct fl_ckpt_view *ckpt_view; /* per subtask checkpoint statistics (checkpoint_stats.h) */
} fl_job_status;

void fl_job_status_free(fl_job_status *st);
/* The same, as an fl_free_fn. */
void fl_job_status_drop(void *st);

typedef struct fl_ha fl_ha;
typedef struct fl_leader_term fl_leader_term;
typedef struct fl_ha_checkpoint fl_ha_checkpoint;

typedef struct fl_jm_deps {
    fl_rpc *rpc;
    fl_rm *rm;
    fl_endpoint *dispatcher;
    fl_mail_fn on_status; /* runs on the Dispatcher's thread with an fl_job_status *; takes it */
    fl_leader_term *term; /* the leadership it acts for (the JobMaster keeps a reference) */
    fl_ha *ha;            /* NULL without high availability */
} fl_jm_deps;

typedef struct fl_jm fl_jm;

/* Takes graph and job_conf (the cluster configuration with the job's -D settings). */
fl_jm *fl_jm_new(const fl_jm_deps *deps, Fl__Pb__JobGraph *graph, fl_conf *job_conf,
                 fl_err *err);
/* Before fl_jm_start, for a job a new leader recovers: its retained checkpoints (oldest
 * first, n may be 0) and when it was submitted. It starts from the latest that reads back
 * intact, as after a failure; when none does, it fails with their paths. */
void fl_jm_recover(fl_jm *jm, const fl_ha_checkpoint *ckpts, int n, int64_t submitted_ms);
int fl_jm_start(fl_jm *jm, fl_err *err);
/* Any thread: the term is active again (ZooKeeper is back): go on deploying. */
void fl_jm_resume(fl_jm *jm);
/* Tells the statuses of this JobMaster from another's (a job recovered twice). */
uint64_t fl_jm_serial(const fl_jm *jm);
/* Any thread. */
void fl_jm_cancel(fl_jm *jm);
/* Any thread: rescale the running job to parallelism[v] per vertex (takes the array; the
 * caller checked it against the job's vertices, max parallelism and forward edges). */
void fl_jm_rescale(fl_jm *jm, int *parallelism);
/* Any thread, also before fl_jm_start: the cluster has `slots` slots now (reactive mode:
 * the job follows them, scheduler_reactive.c). */
void fl_jm_cluster_slots(fl_jm *jm, int slots);
/* Any thread: a savepoint into dir ("" = state.savepoints.dir); its status appears in the
 * job's details under "savepoints"/<token as 16 hex digits>. stop: end the job (FINISHED)
 * once the savepoint is complete; cancel (a savepoint with cancel-job): end it CANCELED, as
 * Flink does; drain (stop --drain): MAX_WATERMARK before the savepoint. */
void fl_jm_trigger_savepoint(fl_jm *jm, const char *dir, uint64_t token, bool stop,
                             bool cancel, bool drain);
/* Any thread; takes msg (TaskStateUpdate, TaskMetricsReport or AcknowledgeCheckpoint of
 * this job). */
void fl_jm_deliver(fl_jm *jm, fl_rpc_msg *msg);
/* Stops the thread; later mails are dropped. NULL is a no-op. */
void fl_jm_stop(fl_jm *jm);
/* Stops the thread (after the job ended) and frees everything. */
void fl_jm_free(fl_jm *jm);

#endif
