/* resource_manager.h -- the ResourceManager endpoint of the jobmanager daemon.
 *
 * Owns the TaskManager registry and the slot table (a slot is a TaskManager's resource id
 * plus an index; free or allocated to a job). Runs on its own thread ("resourcemanager");
 * receives RegisterTaskManager / HeartbeatResponse / Disconnect through the RPC service,
 * sends heartbeat requests every heartbeat.interval and removes a TaskManager that has not
 * answered for heartbeat.timeout, or whose connection closed. After every change it hands
 * a fresh read-only snapshot (fl_cluster_view) to whoever watches it (the Dispatcher).
 */
#ifndef FL_RESOURCE_MANAGER_H
#define FL_RESOURCE_MANAGER_H

#include <stdint.h>

#include "config.h"
#include "mailbox.h"
#include "rpc.h"

typedef struct fl_tm_view {
    char resource_id[128];
    char path[320];   /* flint://host:rpcport/taskmanager */
    char host[256];
    int rpc_port;
    int data_port;
    int slots_total;
    int slots_free;
    int64_t last_heartbeat_ms; /* wall clock of the last heartbeat (Flink's REST field) */
    int64_t registered_ms;
} fl_tm_view;

/* An immutable snapshot; the receiver owns it and frees it with fl_cluster_view_free. */
typedef struct fl_cluster_view {
    int n;
    fl_tm_view *tms;
} fl_cluster_view;

void fl_cluster_view_free(fl_cluster_view *v);

typedef void (*fl_cluster_view_fn)(void *ctx, fl_cluster_view *view);

typedef struct fl_rm fl_rm;

/* Creates the endpoint and routes its RPC types on rpc (before fl_rpc_start). */
fl_rm *fl_rm_new(const fl_conf *conf, fl_rpc *rpc);
/* Snapshots go to fn on ep's thread after each change. Before fl_rm_start. */
void fl_rm_watch(fl_rm *rm, fl_endpoint *ep, fl_cluster_view_fn fn);
int fl_rm_start(fl_rm *rm, fl_err *err);
fl_endpoint *fl_rm_endpoint(fl_rm *rm);
void fl_rm_free(fl_rm *rm);

#endif
