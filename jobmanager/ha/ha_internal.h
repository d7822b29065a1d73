/* ha_internal.h -- the layout of the HA services and the calls their files share:
 * ha_services.c (the "ha" thread: session events, start, stop), leader_election.c (the
 * latch, leadership transitions, publication), ha_requests.c (requests of JobMasters),
 * ha_listener.c (mails to the listener), job_result_store.c, job_graph_store.c,
 * checkpoint_store.c (the stores), leader_term.c (terms) and ha_file.c (the payload files).
 * Each calls only the ones after it in this list. Nobody outside jobmanager/ha/ includes
 * this.
 *
 * Threads: everything here runs on the "ha" thread, except fl_ha_store_job (the Dispatcher's
 * thread), which touches only the ZooKeeper client (thread-safe) and fields that never
 * change after fl_ha_start.
 */
#ifndef FL_HA_INTERNAL_H
#define FL_HA_INTERNAL_H

#include "common/zk.h"
#include "ha.h"

#include <protobuf-c/protobuf-c.h>

#include <event2/event.h>

/* ZooKeeper nodes below the cluster's root (README.md) */
#define ZK_JOBGRAPHS "/jobgraphs"
#define ZK_CHECKPOINTS "/checkpoints"
#define ZK_COUNTERS "/checkpoint-counter"
#define ZK_RESULTS "/jobresults"

/* payload files below storageDir/<cluster-id> */
#define DIR_JOBGRAPHS "jobgraphs"
#define DIR_BLOBS "blobs"
#define DIR_RESULTS "jobresults"
#define MAGIC_JOBGRAPH "FLJG"
#define MAGIC_RESULT "FLJR"

typedef struct ha_req ha_req;

struct fl_ha {
    fl_endpoint *ep;                /* the "ha" thread */
    const fl_conf *conf;
    fl_zk_conf zc;
    fl_zk *zk;
    char storage[1024];             /* storageDir/<cluster-id>: an absolute path or s3:// */
    fl_leader_info self;            /* our addresses (no session id) */
    int max_results;                /* jobstore.max-capacity: results kept */
    bool started, stopping;

    /* the latch (leader_election.c) */
    char uuid[17];                  /* in our node's name: finds it after a lost create */
    char latch[512];                /* our node, "" when we have none */
    bool create_unknown;            /* a create's outcome was lost with the connection */
    char watched[512];              /* the predecessor whose deletion we wait for */
    bool paths_made;                /* the persistent nodes exist (once per session) */
    struct event *suspend_timer, *warn_timer, *retry_timer;

    /* leadership: leader is true while our node is the lowest and not revoked */
    bool leader;
    fl_leader_term *term;           /* while leader */
    bool granted;                   /* the listener has the term */
    bool ready;                     /* the listener took it over: publish */
    bool published;                 /* our leader node is written */

    /* the leader as ZooKeeper names it, as the listener was last told */
    bool leader_known;
    fl_leader_info leader_now;

    /* the listener (the Dispatcher) */
    fl_endpoint *lep;
    fl_ha_listener l;
    bool has_listener;

    /* requests that wait for the connection (FIFO) */
    ha_req *waiting;
    ha_req **waiting_tail;
};

/* ---- ha_listener.c -------------------------------------------------------------------- */
/* Tell the listener (mails to its endpoint). */
void fl_ha_tell_granted(fl_ha *ha, fl_leader_term *term, fl_ha_recovery *rec);
void fl_ha_tell_suspended(fl_ha *ha, fl_leader_term *term, bool suspended);
void fl_ha_tell_revoked(fl_ha *ha, fl_leader_term *term, const char *why);
void fl_ha_tell_leader(fl_ha *ha, const fl_leader_info *leader);

/* ---- ha_requests.c -------------------------------------------------------------------- */
/* Runs the requests that waited for the connection / fails them (leadership lost). */
void fl_ha_run_waiting(fl_ha *ha);
void fl_ha_fail_waiting(fl_ha *ha, const char *why);

/* ---- leader_election.c --------------------------------------------------------------- */
void fl_election_connected(fl_ha *ha);
void fl_election_disconnected(fl_ha *ha);
void fl_election_expired(fl_ha *ha);
void fl_election_watch(fl_ha *ha, const char *path);
/* Tries again what failed for another reason than the connection (retry_timer). */
void fl_election_retry(fl_ha *ha);
/* suspend_timer: still suspended after the session timeout. */
void fl_election_suspend_timeout(fl_ha *ha);
void fl_election_ready(fl_ha *ha, fl_leader_term *term);
/* Steps down: the term is revoked, the listener told. */
void fl_election_revoke(fl_ha *ha, const char *why);
/* Reads who leads and tells the listener when that changed. */
void fl_election_look(fl_ha *ha);

/* ---- the stores ----------------------------------------------------------------------- */
/* job_graph_store.c: every job graph with its checkpoints into rec (jobs whose files cannot
 * be read are there with their error), then the files no pointer names are removed. */
int fl_jgs_recover(fl_ha *ha, fl_ha_recovery *rec, fl_err *err);
/* The operations that remove job_id's graph pointer, checkpoint pointers and counter (those
 * that exist) from ZooKeeper, added to txn; the graph file's path into graph_file. */
int fl_jgs_removal(fl_ha *ha, const char *job_id, fl_zk_txn *txn, char *graph_file,
                   size_t len, fl_err *err);
/* checkpoint_store.c */
int fl_cks_list(fl_ha *ha, const char *job_id, fl_ha_checkpoint **out, int *n, fl_err *err);
int fl_cks_next_id(fl_ha *ha, fl_leader_term *term, const char *job_id, int64_t floor,
                   int64_t *id, fl_err *err);
int fl_cks_record(fl_ha *ha, fl_leader_term *term, const char *job_id, int64_t id,
                  const char *dir, bool savepoint, const int64_t *drop, int ndrop, fl_err *err);
/* job_result_store.c */
int fl_jrs_record(fl_ha *ha, fl_leader_term *term, const Fl__Pb__JobResult *r, fl_err *err);
int fl_jrs_recover(fl_ha *ha, fl_ha_recovery *rec, fl_err *err);
/* Drops the oldest results beyond jobstore.max-capacity (rec is newest first). */
void fl_jrs_prune(fl_ha *ha, fl_leader_term *term, fl_ha_recovery *rec);

/* ---- ha_file.c ------------------------------------------------------------------------- */
/* A payload file: header (magic, version, flags, CRC32) and the packed message. */
int fl_ha_file_write(const char *path, const char *magic, const ProtobufCMessage *m,
                     fl_err *err);
/* Reads and checks one; NULL with err naming the file and what is wrong with it. */
ProtobufCMessage *fl_ha_file_read(const char *path, const char *magic,
                                  const ProtobufCMessageDescriptor *desc, fl_err *err);
/* True for 32 lowercase hex characters (job ids, as the Dispatcher accepts them). */
bool fl_ha_is_job_id(const char *s);

#endif
