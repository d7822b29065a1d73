/* resource_manager.h -- the ResourceManager endpoint of the jobmanager daemon.
 *
 * Owns the TaskManager registry and the slot table (a slot is a TaskManager's resource id
 * plus an index; free or allocated to a job). Runs on its own thread ("resourcemanager");
 * receives RegisterTaskManager / HeartbeatResponse / Disconnect through the RPC service,
 * sends heartbeat requests every heartbeat.interval and removes a TaskManager that has not
 * answered for heartbeat.timeout, or whose connection closed. After every change it hands
 * a fresh read-only snapshot (fl_cluster_view) to whoever watches it (the Dispatcher).
 *
 * Leadership (jobmanager/ha/ha.h): only while it holds a term does it accept TaskManagers;
 * its registration answers, heartbeat requests and disconnects carry the term's leader
 * session id, the fencing token TaskManagers check. Revoked, it forgets every TaskManager
 * (closing their connections) and every slot request, and refuses registrations with the
 * reason. Without high availability it is granted one term before it starts.
 */
#ifndef FL_RESOURCE_MANAGER_H
#define FL_RESOURCE_MANAGER_H

#include <stdint.h>

#include "common/config.h"
#include "common/mailbox.h"
#include "common/rpc.h"
#include "task_metrics.h"

typedef struct fl_leader_term fl_leader_term;

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
    fl_tm_process proc; /* issue 12: its process, from its heartbeats */
    fl_conn_id conn;    /* its RPC connection (asking it for its log files) */
} fl_tm_view;

/* An immutable snapshot; the receiver owns it and frees it with fl_cluster_view_free. */
typedef struct fl_cluster_view {
    int n;
    fl_tm_view *tms;
} fl_cluster_view;

void fl_cluster_view_free(fl_cluster_view *v);

typedef void (*fl_cluster_view_fn)(void *ctx, fl_cluster_view *view);

typedef struct fl_rm fl_rm;

/* A slot given to a job: where it is and how to reach its TaskManager. */
typedef struct fl_slot_grant {
    char resource_id[128];
    int slot_index;
    char allocation_id[40];
    fl_conn_id conn;  /* the TaskManager's RPC connection */
    char host[256];
    int data_port;
} fl_slot_grant;

/* n slots granted (the array is the callee's to free). On the requester's thread. */
typedef void (*fl_slots_granted_fn)(void *ctx, fl_slot_grant *slots, int n);
/* A TaskManager holding some of the job's slots is gone; those slots are freed. */
typedef void (*fl_slots_lost_fn)(void *ctx, const char *resource_id, const char *why);

/* Any thread. Asks for n slots for job_id: granted as soon as n are free (now, or when
 * TaskManagers register). One request per job; a new one replaces a waiting one. A request
 * of another term than the ResourceManager's (a JobMaster that lost its leadership) is
 * dropped. */
void fl_rm_request_slots(fl_rm *rm, const fl_leader_term *term, const char *job_id, int n,
                         fl_endpoint *ep, fl_slots_granted_fn granted, fl_slots_lost_fn lost);
/* Any thread. Withdraws the job's waiting request and frees every slot it holds. */
void fl_rm_release_slots(fl_rm *rm, const char *job_id);

/* Creates the endpoint and routes its RPC types on rpc (before fl_rpc_start). */
fl_rm *fl_rm_new(const fl_conf *conf, fl_rpc *rpc);
/* Snapshots go to fn on ep's thread after each change. Before fl_rm_start. */
void fl_rm_watch(fl_rm *rm, fl_endpoint *ep, fl_cluster_view_fn fn);
int fl_rm_start(fl_rm *rm, fl_err *err);
/* Any thread: lead with term (a reference is kept) from now on. */
void fl_rm_grant(fl_rm *rm, fl_leader_term *term);
/* Any thread: stop leading; done(ctx of ep, NULL) runs on ep once every TaskManager and
 * request is forgotten (no slot grant or loss reaches a JobMaster after it). */
void fl_rm_revoke(fl_rm *rm, fl_endpoint *ep, fl_mail_fn done);
fl_endpoint *fl_rm_endpoint(fl_rm *rm);
void fl_rm_stop(fl_rm *rm);
void fl_rm_free(fl_rm *rm);

#endif
