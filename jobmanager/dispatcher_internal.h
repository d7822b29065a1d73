/* dispatcher_internal.h -- the calls dispatcher.c makes of the Dispatcher's other files:
 * dispatcher_leader.c (leadership: what a new leader recovers, what a deposed one stops, a
 * standby's answers, the results of ended jobs) and the REST files that add their routes
 * (dispatcher_rescale.c, rest_metrics.c, rest_logs.c, rest_history.c, web.c,
 * savepoint_disposal.c). The layout and the job table they all share are
 * dispatcher_jobs.h's. Nobody outside the Dispatcher includes this. Dispatcher thread only.
 */
#ifndef FL_DISPATCHER_INTERNAL_H
#define FL_DISPATCHER_INTERNAL_H

#include "dispatcher_jobs.h"

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
/* The JobMasters' status mail (fl_jm_deps.on_status): a job of this leadership that ended
 * has its result recorded (with high availability) and goes to the job store. */
void fl_disp_on_job_status(void *ctx, void *arg);
/* Shutdown: the JobMasters of revoked terms. */
void fl_disp_free_retired(fl_dispatcher *d);

/* savepoint_disposal.c: POST /savepoint-disposal, GET /savepoint-disposal/:triggerid. */
void fl_disp_disposal_routes(fl_dispatcher *d);

#endif
