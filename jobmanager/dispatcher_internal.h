/* dispatcher_internal.h -- the Dispatcher's layout and the calls its two files share:
 * dispatcher.c (the REST API, submissions, the job store, messages of TaskManagers) and
 * dispatcher_leader.c (leadership: what a new leader recovers, what a deposed one stops, a
 * standby's answers, the results of ended jobs). Nobody else includes this. Dispatcher
 * thread only.
 */
#ifndef FL_DISPATCHER_INTERNAL_H
#define FL_DISPATCHER_INTERNAL_H

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

/* dispatcher.c */
/* A path a request names is a sane string of at most max bytes (no NUL, no control
 * character). 0, or -1 with why. */
int fl_disp_check_path(const char *path, size_t len, size_t max, char *why, size_t whylen);
/* The JSON object a request carries ({} when empty), or NULL (answered with 400). */
json_t *fl_disp_json_body(struct evhttp_request *req);
/* A savepoint directory lies under state.savepoints.dir / .allowed-dirs (any absolute
 * path when neither is set). 0, or -1 with err. */
int fl_disp_confine_target(fl_dispatcher *d, const char *target, fl_err *err);
job_entry *fl_disp_find_job(fl_dispatcher *d, const char *id);
/* A new entry at the head of the list (state CREATED). */
job_entry *fl_disp_add_job(fl_dispatcher *d, const char *id);
void fl_disp_remove_job(fl_dispatcher *d, job_entry *j);
/* The job store's bookkeeping once j reached a terminal state. */
void fl_disp_job_terminal(fl_dispatcher *d, job_entry *j);
/* The job named by the path's :jobid, or NULL after a 404. */
job_entry *fl_disp_job_param(fl_dispatcher *d, struct evhttp_request *req,
                             const fl_rest_params *p);
/* The request's JSON object body ({} when empty), or NULL after a 400. */
json_t *fl_disp_json_body(struct evhttp_request *req);
/* The JobMasters' status mail (fl_jm_deps.on_status). */
void fl_disp_on_job_status(void *ctx, void *arg);
/* Stores a bundle in the blob directory under its SHA-256 (digest out). */
int fl_disp_store_blob(fl_dispatcher *d, const uint8_t *data, size_t len, uint8_t digest[32],
                       fl_err *err);
/* The configuration a job runs with: the cluster's, its -D settings, the default checkpoint
 * directory (added to g's settings too, so that a new leader uses the same). NULL with
 * err. */
fl_conf *fl_disp_job_conf(fl_dispatcher *d, Fl__Pb__JobGraph *g, fl_err *err);

/* dispatcher_rescale.c: GET/PUT /jobs/:jobid/resource-requirements */
void fl_disp_rescale_routes(fl_dispatcher *d);
/* Reactive mode (scheduler-mode: reactive): a new cluster view tells every JobMaster the
 * cluster's slots when their number changed; a new JobMaster (before fl_jm_start) is told
 * them at once, so that it starts at the parallelism they hold. */
void fl_disp_reactive_view(fl_dispatcher *d);
void fl_disp_reactive_new_job(fl_dispatcher *d, fl_jm *jm);
/* rest_metrics.c: the metric endpoints (Flink's monitoring REST API) and the JobManager's
 * Prometheus reporter, started on the Dispatcher's thread */
void fl_disp_metrics_routes(fl_dispatcher *d);
int fl_disp_prom_start(fl_dispatcher *d, fl_err *err);
/* rest_logs.c: GET /jobmanager/logs[/:name], /taskmanagers/:taskmanagerid/logs[/:name] */
void fl_disp_log_routes(fl_dispatcher *d);
/* Frees the calls whose answer can no longer come (the endpoint stopped). */
void fl_disp_log_calls_free(fl_dispatcher *d);
/* rest_history.c: GET /jobs/:jobid/exceptions, /jobs/:jobid/checkpoints/details/:checkpointid */
void fl_disp_history_routes(fl_dispatcher *d);
/* web.c: the web dashboard's files, GET / and GET /web/:file */
void fl_disp_web_routes(fl_dispatcher *d);

/* dispatcher_leader.c */
/* Set-up in fl_dispatcher_new: lead with term (no HA), or listen to ha. */
void fl_disp_leadership_init(fl_dispatcher *d, fl_ha *ha, fl_leader_term *term);
/* True while this JobManager leads. */
bool fl_disp_is_leader(const fl_dispatcher *d);
/* The HA fields of GET /overview and GET /jobmanager/config. */
void fl_disp_overview_ha(fl_dispatcher *d, json_t *o);
void fl_disp_config_ha(fl_dispatcher *d, json_t *arr);
/* A job of this leadership ended: its result is recorded (with high availability). */
void fl_disp_job_ended(fl_dispatcher *d, const job_entry *j);
/* Shutdown: the JobMasters of revoked terms. */
void fl_disp_free_retired(fl_dispatcher *d);

/* savepoint_disposal.c: POST /savepoint-disposal, GET /savepoint-disposal/:triggerid. */
void fl_disp_disposal_routes(fl_dispatcher *d);

#endif
