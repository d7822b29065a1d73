/* dispatcher_jobs.h -- the Dispatcher's layout (struct fl_dispatcher, a job's entry) and
 * dispatcher_jobs.c's calls: the job table, the job store and the request helpers that
 * dispatcher.c and its REST files share. Nobody outside the Dispatcher includes this.
 * Dispatcher thread only.
 */
#ifndef FL_DISPATCHER_JOBS_H
#define FL_DISPATCHER_JOBS_H

#include "checkpoint_stats.h"
#include "dispatcher.h"
#include "job_master.h"
#include "jobmanager/ha/ha.h"
#include "rest.h"

#include <jansson.h>
#include <stdint.h>

#include <event2/event.h>

typedef struct job_entry {
    struct job_entry *next;
    char id[40];
    fl_job_state state;
    fl_jm *jm;          /* NULL once the job ended and its JobMaster stopped */
    uint64_t jm_serial; /* statuses of other JobMasters (an earlier leadership) are stale */
    bool unrecoverable; /* a new leader could not read it: shown failed, never recorded */
    json_t *details;    /* latest status from the JobMaster */
    json_t *overview;
    json_t *metrics;    /* per subtask metrics from the JobMaster (job_metrics.c) */
    struct fl_ckpt_view *ckpt_view; /* per subtask checkpoint statistics, or NULL */
    int64_t submitted_ms;
    int64_t ended_mono;  /* when it reached a terminal state (job store expiry), 0 before */
} job_entry;

struct fl_dispatcher {
    fl_endpoint *ep;
    const fl_conf *conf;
    fl_rm *rm;
    fl_rpc *rpc;
    fl_rest *rest;
    struct fl_tls *rest_tls;   /* security.ssl.rest.*: NULL for plain HTTP */
    struct fl_rest_auth *auth; /* security.rest.auth.tokens: NULL when REST is open */
    struct fl_trusted_keys *trusted; /* security.bundles.trusted-keys: NULL, unchecked */
    int rest_port;
    fl_cluster_view *view; /* latest snapshot from the ResourceManager */
    int reactive_slots;    /* the cluster's slots the JobMasters were told last (reactive) */
    struct fl_prom_reporter *prom; /* metrics.reporter.prom.port, or NULL (rest_metrics.c) */
    struct {                       /* the JobManager's CPU load between two looks */
        int64_t at_ms;
        uint64_t cpu_ms;
        double load;
    } cpu;
    struct log_call *log_calls;    /* rest_logs.c: asked of TaskManagers, not answered yet */
    char web_root[4096];           /* web.c: "" when there is none */
    bool web_root_known;
    job_entry *jobs;       /* newest first */
    int ncompleted;        /* jobs in a terminal state on the list (the job store) */
    int max_completed;     /* jobstore.max-capacity */
    int64_t expire_ms;     /* jobstore.expiration-time */
    struct event *expire_timer;
    size_t max_name;       /* jobmanager.job-name.max-length */
    char blob_dir[4096];
    bool own_blob_dir;     /* created by us in the per-user directory: removed at shutdown */
    /* ${TMPDIR:-/tmp}/flint-<user>/checkpoints when state.checkpoints.dir is not set here */
    char ckpt_default[4096];

    /* leadership (dispatcher_leader.c) */
    fl_ha *ha;             /* NULL without high availability */
    fl_leader_term *term;  /* while this JobManager leads */
    bool suspended;        /* ... and cannot reach ZooKeeper */
    bool have_leader;      /* who leads, as ZooKeeper says (a standby's redirects) */
    fl_leader_info leader;
    char self_rest[300];   /* our own REST URL */
    fl_jm **retired;       /* JobMasters of a revoked term, stopped, freed once the */
    int nretired;          /* ResourceManager forgot their slot requests */
};

/* A path a request names is a sane string of at most max bytes (no NUL, no control
 * character). 0, or -1 with why. */
int fl_disp_check_path(const char *path, size_t len, size_t max, char *why, size_t whylen);
/* A savepoint directory lies under state.savepoints.dir / .allowed-dirs (any absolute
 * path when neither is set). 0, or -1 with err. */
int fl_disp_confine_target(fl_dispatcher *d, const char *target, fl_err *err);
job_entry *fl_disp_find_job(fl_dispatcher *d, const char *id);
/* A new entry at the head of the list (state CREATED). */
job_entry *fl_disp_add_job(fl_dispatcher *d, const char *id);
void fl_disp_remove_job(fl_dispatcher *d, job_entry *j);
/* The job store's bookkeeping once j reached a terminal state. */
void fl_disp_job_terminal(fl_dispatcher *d, job_entry *j);
/* Drops the completed jobs beyond jobstore.max-capacity and jobstore.expiration-time. */
void fl_disp_jobstore_trim(fl_dispatcher *d);
/* The job named by the path's :jobid, or NULL after a 404. */
job_entry *fl_disp_job_param(fl_dispatcher *d, struct evhttp_request *req,
                             const fl_rest_params *p);
/* The request's JSON object body ({} when empty), or NULL after a 400. */
json_t *fl_disp_json_body(struct evhttp_request *req);
/* Stores a bundle in the blob directory under its SHA-256 (digest out). */
int fl_disp_store_blob(fl_dispatcher *d, const uint8_t *data, size_t len, uint8_t digest[32],
                       fl_err *err);
/* The configuration a job runs with: the cluster's, its -D settings, the default checkpoint
 * directory (added to g's settings too, so that a new leader uses the same). NULL with
 * err. */
fl_conf *fl_disp_job_conf(fl_dispatcher *d, Fl__Pb__JobGraph *g, fl_err *err);

#endif
