/* task_executor_internal.h -- the TaskExecutor's state, shared by its two files:
 * task_executor.c (tasks: deployment, bundles, cancellation, checkpoints, reports) and
 * te_registration.c (the ResourceManager: registration, heartbeats, the leader). Both run on
 * the "taskexecutor" thread only. */
#ifndef FL_TASK_EXECUTOR_INTERNAL_H
#define FL_TASK_EXECUTOR_INTERNAL_H

#include "bundle_cache.h"
#include "common/leader_retrieval.h"
#include "common/metrics.h"
#include "task_executor.h"
#include "taskmanager/network/network.h"
#include "taskmanager/task/task.h"

#include <event2/event.h>

/* The TaskExecutor's record of a task: waiting for its bundle, or running. */
typedef struct te_task {
    struct te_task *next;
    char job_id[40];
    int attempt, vertex, subtask, slot;
    fl_rpc_msg *msg;      /* the SubmitTask until the task takes it */
    fl_task *task;        /* once started */
    fl_bundle_entry *bundle;
    fl_ptable **tables;   /* per gate, until the task takes them */
    int ntables;
} te_task;

/* A producer table this TaskManager was sent (once per job attempt and vertex). */
typedef struct te_ptable {
    struct te_ptable *next;
    char job_id[40];
    int attempt, vertex;
    fl_ptable *t;
} te_ptable;

enum te_state { TE_DISCONNECTED, TE_CONNECTING, TE_REGISTERING, TE_REGISTERED, TE_STOPPING };

typedef struct te_slot {
    char job_id[40];
    char allocation_id[40];
} te_slot;

struct fl_te {
    fl_endpoint *ep;
    fl_rpc *rpc;
    const fl_conf *conf;
    char resource_id[128];
    char host[256];
    int rpc_port, data_port;
    char jm_host[256];
    int jm_port;
    int nslots;
    te_slot *slots;
    Fl__Pb__SlotStatus *slot_status;  /* the slot report, sized once by the slot count */
    Fl__Pb__SlotStatus **slot_ptrs;

    enum te_state state;
    fl_conn_id conn;
    char registration_id[40];
    /* the leader: with high availability as ZooKeeper names it (lr), else the configured
     * JobManager; its session id (the fencing token) as its registration answer gave it */
    fl_leader_retrieval *lr;
    bool have_leader;
    char expected_session[FL_SESSION_ID_LEN + 1]; /* ZooKeeper's; "" without HA */
    char leader_session[FL_SESSION_ID_LEN + 1];   /* the registered leader's */
    bool retarget;             /* a new leader came while connecting: go there next */
    int64_t idle_wait_since;   /* mono ms: registration waits for cancelled tasks to stop */
    int64_t backoff_ms, backoff_initial_ms, backoff_max_ms, ask_timeout_ms;
    int64_t hb_timeout_ms;     /* from the ResourceManager's answer */
    int64_t last_rm_heard;     /* mono ms */
    int64_t started_mono;
    bool ever_registered;
    struct event *retry_timer, *watchdog, *metrics_timer;

    fl_netenv *net;
    fl_endpoint *io;          /* snapshot I/O thread: writes checkpoint files */
    char tmp_dir[1024];       /* io.tmp.dirs */
    te_task *tasks;
    fl_bundle_cache *bundles;
    te_ptable *ptables;        /* producer tables of the jobs with tasks here */
    bool refused;              /* the ResourceManager refused us for good */
    fl_prom_reporter *prom;    /* metrics.reporter.prom.port, or NULL */
};

/* te_registration.c */
/* Creates the registration's timers, follows the leader with high availability and routes
 * the ResourceManager's heartbeats and disconnects to te. */
int fl_te_registration_init(fl_te *te, fl_err *err);
/* (Re-)registers with the ResourceManager once the tasks cancelled before have stopped. */
void fl_te_connect_rm(fl_te *te);
/* True when msg came on the connection of the JobManager we registered with and carries its
 * leader session id (the fencing token); logs the refusal otherwise. */
bool fl_te_from_leader(fl_te *te, const fl_rpc_msg *msg, const char *token);

/* task_executor.c */
void fl_te_cancel_all_tasks(fl_te *te, const char *why);

#endif
