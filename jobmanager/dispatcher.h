/* dispatcher.h -- the Dispatcher endpoint: the REST API, job submission, the blob store.
 *
 * Runs on its own thread ("dispatcher") with the evhttp server on its event_base. It never
 * asks other endpoints anything while a request waits: the ResourceManager pushes cluster
 * snapshots to it (fl_rm_watch) and each JobMaster pushes its job's status, so every REST
 * answer is built from state this thread owns. A submitted job's bundle is stored under
 * its SHA-256 in blob.storage.directory (a client never names a server path; default: a
 * fresh directory in the private per-user directory, userdir.h), a JobMaster thread is
 * started for it, and TaskManagers fetch the bundle with a BlobRequest. Job messages from
 * TaskManagers (state updates, metrics) are routed here and handed on to the job's
 * JobMaster. A submission's names and paths are bounded (jobmanager.job-name.max-length);
 * completed jobs stay in the job store per jobstore.max-capacity and
 * jobstore.expiration-time. What every request must be is rest.h's.
 *
 * With high availability only the leader's Dispatcher serves jobs: it runs the jobs the
 * HA services recover, records each submission before running it and each result when a
 * job ends; a standby redirects to the leader (dispatcher_leader.c).
 */
#ifndef FL_DISPATCHER_H
#define FL_DISPATCHER_H

#include "common/config.h"
#include "common/mailbox.h"
#include "resource_manager.h"

typedef struct fl_dispatcher fl_dispatcher;

typedef struct fl_ha fl_ha;
typedef struct fl_leader_term fl_leader_term;

/* Routes its RPC types on rpc (before fl_rpc_start). Without high availability (ha NULL) it
 * leads with term from the start; with it, it listens to ha (dispatcher_leader.c). */
fl_dispatcher *fl_dispatcher_new(const fl_conf *conf, fl_rm *rm, fl_rpc *rpc, fl_ha *ha,
                                 fl_leader_term *term, fl_err *err);
fl_endpoint *fl_dispatcher_endpoint(fl_dispatcher *d);
int fl_dispatcher_rest_port(const fl_dispatcher *d);
int fl_dispatcher_start(fl_dispatcher *d, fl_err *err);
/* Stops every JobMaster and the Dispatcher's thread. */
void fl_dispatcher_stop(fl_dispatcher *d);
void fl_dispatcher_free(fl_dispatcher *d);

/* The cluster-view callback to hand to fl_rm_watch. */
void fl_dispatcher_on_cluster_view(void *ctx, fl_cluster_view *view);

#endif
