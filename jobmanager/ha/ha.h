/* ha.h -- the JobManager's high-availability services (DESIGN.md §7; the protocol, the
 * ZooKeeper and storage layouts and their write orders are in jobmanager/ha/README.md).
 *
 * With high-availability.type: zookeeper every JobManager runs these services on a thread of
 * their own ("ha"), which owns its ZooKeeper session (common/zk.h):
 *   - leader election (Flink's LeaderLatch, leader_election.c): the JobManager whose
 *     ephemeral sequential node is the lowest leads; the others watch their predecessor;
 *   - for each leadership a term (fl_leader_term): a fresh leader session id, the fencing
 *     token every command of the ResourceManager and the JobMasters carries, and the state
 *     of the leadership (active, suspended while ZooKeeper is unreachable, revoked);
 *   - the stores whose payloads live in high-availability.storageDir and whose pointers live
 *     in ZooKeeper: submitted jobs (job_graph_store.c), completed checkpoints and the
 *     checkpoint id counter (checkpoint_store.c), results of ended jobs
 *     (job_result_store.c). Every write of the leader is a ZooKeeper transaction that
 *     checks the leader's latch node: once another JobManager leads, none takes effect.
 *
 * The Dispatcher is the listener: it is told, by mail on its thread, when this JobManager
 * gains leadership (with what to recover), when it is suspended and resumed, when it loses
 * it, and who leads otherwise (for its REST redirects). Without high availability there is
 * no fl_ha: the JobManager leads from its start, with one term that never ends.
 */
#ifndef FL_HA_H
#define FL_HA_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "common/leader_retrieval.h"
#include "common/mailbox.h"

#include "proto/ha.pb-c.h"
#include "proto/jobgraph.pb-c.h"

/* ---- terms ------------------------------------------------------------------------------ */

enum fl_term_state {
    FL_TERM_ACTIVE = 0,    /* leading: deploy, trigger, commit */
    FL_TERM_SUSPENDED = 1, /* ZooKeeper unreachable: keep running, start nothing new */
    FL_TERM_REVOKED = 2,   /* another JobManager may lead: do nothing more */
};

/* One leadership of this JobManager. Reference counted; its state is read from any thread. */
typedef struct fl_leader_term fl_leader_term;

/* A term with a fresh leader session id; latch is its leader's latch node ("" without HA). */
fl_leader_term *fl_leader_term_new(const char *latch);
fl_leader_term *fl_leader_term_ref(fl_leader_term *t);
void fl_leader_term_unref(fl_leader_term *t);
/* The fencing token (FL_SESSION_ID_LEN hex characters). */
const char *fl_leader_term_session(const fl_leader_term *t);
const char *fl_leader_term_latch(const fl_leader_term *t);
int fl_leader_term_state(const fl_leader_term *t);
bool fl_leader_term_is_active(const fl_leader_term *t);
void fl_leader_term_set_state(fl_leader_term *t, int state);

/* ---- the services ----------------------------------------------------------------------- */

typedef struct fl_ha fl_ha;

/* A retained checkpoint of a job, as its pointer names it. */
typedef struct fl_ha_checkpoint {
    int64_t id;
    char dir[1024];
} fl_ha_checkpoint;

/* A job to recover. graph NULL when it cannot be (error says why, naming the file). */
typedef struct fl_ha_job_recovery {
    char job_id[40];
    Fl__Pb__StoredJobGraph *stored;
    char bundle_path[1100];         /* its bundle in the storage directory */
    fl_ha_checkpoint *checkpoints;  /* oldest first */
    int ncheckpoints;
    char error[700];
} fl_ha_job_recovery;

/* What a new leader finds: the jobs to run and the results of the jobs that ended. */
typedef struct fl_ha_recovery {
    fl_ha_job_recovery *jobs;
    int njobs;
    Fl__Pb__JobResult **results;
    int nresults;
} fl_ha_recovery;

void fl_ha_recovery_free(fl_ha_recovery *r);

/* The Dispatcher's side. Each runs on the listener's endpoint and takes what it is given
 * (the term is a reference the callee keeps or drops with fl_leader_term_unref). */
typedef struct fl_ha_listener {
    void (*granted)(void *ctx, fl_leader_term *term, fl_ha_recovery *rec);
    /* suspended: ZooKeeper is unreachable (true) or back (false) within the session */
    void (*suspended)(void *ctx, fl_leader_term *term, bool suspended);
    void (*revoked)(void *ctx, fl_leader_term *term, const char *why);
    /* the leader as ZooKeeper names it (this JobManager too); NULL: none */
    void (*leader)(void *ctx, const fl_leader_info *leader);
} fl_ha_listener;

/* Checks the configuration (quorum, storageDir, paths): NULL with err naming the key. */
fl_ha *fl_ha_new(const fl_conf *conf, fl_err *err);
/* Before fl_ha_start: the listener runs on ep's thread with ep's context. */
void fl_ha_set_listener(fl_ha *ha, fl_endpoint *ep, const fl_ha_listener *l);
/* Starts contending with these addresses (session_id unused). */
int fl_ha_start(fl_ha *ha, const fl_leader_info *self, fl_err *err);
/* Gives leadership up and closes the session (the next leader needs no timeout). */
void fl_ha_stop(fl_ha *ha);
void fl_ha_free(fl_ha *ha);
/* The storage directory of this cluster (storageDir/<cluster-id>). */
const char *fl_ha_storage(const fl_ha *ha);

/* Any thread: the listener has taken over term (the ResourceManager accepts TaskManagers,
 * the recovered jobs run): the term is published as the leader. */
void fl_ha_ready(fl_ha *ha, fl_leader_term *term);

/* Dispatcher thread (synchronous, one ZooKeeper round trip): records a submitted job (its
 * bundle and graph written to storage and synced first, then the pointer). 0; FL_ZK_EXISTS
 * when the job is there already; another negative status (no leadership, no ZooKeeper)
 * with err. */
int fl_ha_store_job(fl_ha *ha, fl_leader_term *term, const Fl__Pb__JobGraph *g,
                    const uint8_t *bundle, size_t len, int64_t submitted_ms, fl_err *err);
/* Any thread: a job ended; its result is recorded, and its graph and checkpoint pointers
 * removed, in one transaction (retried while term lasts). Takes r. */
void fl_ha_job_ended(fl_ha *ha, fl_leader_term *term, Fl__Pb__JobResult *r);

/* ---- a JobMaster's checkpoint store and id counter ------------------------------------ */

typedef struct fl_ha_job fl_ha_job;

/* Answers, on ep's thread: a checkpoint id (or id < 0 and why), and whether checkpoint id
 * was recorded (status 0; else it was not: leadership lost, why says so). */
typedef struct fl_ha_job_callbacks {
    fl_endpoint *ep;
    void *arg;
    void (*on_id)(void *arg, int64_t id, const char *why);
    void (*on_recorded)(void *arg, int64_t id, int status, const char *why);
} fl_ha_job_callbacks;

fl_ha_job *fl_ha_job_open(fl_ha *ha, fl_leader_term *term, const char *job_id,
                          const fl_ha_job_callbacks *cb);
/* No callback runs after this returns. NULL is a no-op. */
void fl_ha_job_close(fl_ha_job *hj);
/* The next checkpoint id, at least floor (ids only grow, across leaders too). */
void fl_ha_job_next_id(fl_ha_job *hj, int64_t floor);
/* Records checkpoint id (its _metadata in dir is durable) and removes the pointers of the
 * drop ids in the same transaction. A savepoint (savepoint true) is not recorded: the
 * transaction only confirms the leadership before its sinks may commit. */
void fl_ha_job_record(fl_ha_job *hj, int64_t id, const char *dir, bool savepoint,
                      const int64_t *drop, int ndrop);

#endif
