/* task_executor.h -- the TaskExecutor endpoint of a taskmanager daemon.
 *
 * Registers this TaskManager (resource id, RPC and data addresses, slots) with the
 * ResourceManager and stays registered: answers heartbeat requests with a slot report,
 * watches for the ResourceManager's heartbeats (heartbeat.timeout), and when the JobManager
 * goes away keeps retrying with a backoff (cluster.registration.initial-timeout doubling up
 * to cluster.registration.max-timeout) until it registers again. Runs on its own thread
 * ("taskexecutor").
 *
 * Jobs: accepts task deployments (SubmitTask) into its slots, fetches each job's bundle
 * from the JobManager once (cached by SHA-256 in a private directory), starts one task
 * thread per subtask (task/), relays their state changes and metrics to the JobMaster,
 * cancels them on request, and cancels everything when the JobManager is lost.
 *
 * The leader: with high availability the JobManager ZooKeeper names (common/
 * leader_retrieval.h), followed through every change: a new leader means leaving the old
 * one (its tasks cancelled) and registering with the new one once they have stopped.
 * Every command (deploy, cancel, trigger and notify checkpoint, heartbeat, disconnect) must
 * carry the leader session id the registration answer named, the fencing token: a
 * JobManager that was replaced can never deploy, trigger or make a sink commit here.
 */
#ifndef FL_TASK_EXECUTOR_H
#define FL_TASK_EXECUTOR_H

#include "common/config.h"
#include "common/rpc.h"
#include "taskmanager/network/netenv.h"

typedef struct fl_te fl_te;

typedef struct fl_te_addr {
    const char *resource_id;
    const char *host; /* how others reach us */
    int rpc_port;
    int data_port;
} fl_te_addr;

/* Routes its RPC types on rpc (call before fl_rpc_start). Tasks use net. */
fl_te *fl_te_new(const fl_conf *conf, fl_rpc *rpc, fl_netenv *net, const fl_te_addr *addr);
int fl_te_start(fl_te *te, fl_err *err);
/* True when the ResourceManager refused this TaskManager for good (its configuration): it
 * sent itself SIGTERM and the daemon should exit with status 2. */
bool fl_te_refused(const fl_te *te);
/* Tells the ResourceManager we are leaving (best effort), then stops the thread. */
void fl_te_shutdown(fl_te *te);
void fl_te_free(fl_te *te);

#endif
