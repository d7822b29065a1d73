/* checkpoint_coordinator.h -- the JobMaster's checkpoint coordinator (DESIGN.md §6).
 *
 * Triggers checkpoint n at every source task (execution.checkpointing.interval, mode,
 * timeout, min-pause, max-concurrent-checkpoints), collects the acknowledgements with their
 * state handles, and completes the checkpoint by writing chk-n/_metadata atomically (write,
 * fsync, rename) with a magic number, version and CRC; then it tells every task, keeps
 * state.checkpoints.num-retained checkpoints and deletes older ones. A checkpoint that times
 * out or is declined is aborted; more failures in a row than
 * execution.checkpointing.tolerable-failed-checkpoints fail the job. Savepoints are
 * checkpoints into a directory of their own, never deleted.
 *
 * For restarts, it finds the latest completed checkpoint whose _metadata reads back intact
 * (a truncated, damaged or foreign file is refused with a message and an older one is used)
 * and computes each new task's share of the state: keyed state by key group, operator state
 * round robin -- at any parallelism up to the max parallelism.
 *
 * Leadership (jobmanager/ha/ha.h): triggers and notifications carry the term's leader
 * session id, and no checkpoint is triggered while the term is not active. With high
 * availability (fl_cc_set_store) checkpoint ids come from ZooKeeper's counter, and a
 * completed checkpoint is recorded there after its _metadata is durable and before any task
 * hears that it completed: a sink commits only what a new leader would restore. A
 * checkpoint whose recording fails (leadership lost) is neither notified nor deleted.
 *
 * Runs on the JobMaster's thread.
 */
#ifndef FL_CHECKPOINT_COORDINATOR_H
#define FL_CHECKPOINT_COORDINATOR_H

#include <jansson.h>

#include "common/config.h"
#include "common/pbarena.h"
#include "common/rpc.h"

#include "common/path.h"
#include "proto/checkpoint.pb-c.h"
#include "proto/jobgraph.pb-c.h"

/* The longest savepoint directory a request may name (after file://): with the checkpoint's
 * shared directory it must fit one checkpoint barrier. */
#define SAVEPOINT_DIR_MAX (FL_CKPT_DIR_MAX - 40)

typedef struct fl_cc fl_cc;
typedef struct fl_ha_job fl_ha_job;
typedef struct fl_ha_checkpoint fl_ha_checkpoint;
typedef struct fl_leader_term fl_leader_term;

/* A running task as the coordinator needs to know it. */
typedef struct fl_cc_task {
    int vertex, subtask;
    int attempt;            /* its execution's: regions restart apart */
    fl_conn_id conn;
    bool finished;
} fl_cc_task;

typedef struct fl_cc_env {
    fl_rpc *rpc;
    struct event_base *base;
    const Fl__Pb__JobGraph *g;
    const fl_conf *conf;
    void *jm;
    /* The current attempt's tasks (array owned by the JobMaster), or 0 when not all run. */
    int (*tasks)(void *jm, const fl_cc_task **tasks);
    /* Too many checkpoints failed in a row: fail the job with why. */
    void (*fail)(void *jm, const char *why);
    /* A savepoint finished (path) or failed (error); token identifies the request. */
    void (*savepoint_done)(void *jm, uint64_t token, const char *path, const char *error);
    /* Something REST shows changed. */
    void (*changed)(void *jm);
    /* The leadership the JobMaster acts for: its session id goes with every command. */
    const fl_leader_term *term;
} fl_cc_env;

fl_cc *fl_cc_new(const fl_cc_env *env, fl_err *err);
void fl_cc_free(fl_cc *cc);
bool fl_cc_enabled(const fl_cc *cc);
/* With high availability: ids and completed checkpoints go through hj (not taken). */
void fl_cc_set_store(fl_cc *cc, fl_ha_job *hj);
/* A new leader's job: its retained checkpoints as the store names them (oldest first). */
void fl_cc_recover(fl_cc *cc, const fl_ha_checkpoint *c, int n);
/* Completed checkpoints kept (savepoints not counted). */
int fl_cc_retained(const fl_cc *cc);
/* The store's answers (fl_ha_job_callbacks; arg is the fl_cc). */
void fl_cc_on_id(void *cc, int64_t id, const char *why);
void fl_cc_on_recorded(void *cc, int64_t id, int status, const char *why);
/* The term is active again after a suspension: completes the checkpoints recorded
 * meanwhile (a recorded checkpoint completes only while its JobManager leads). */
void fl_cc_resume(fl_cc *cc);
/* All tasks of an attempt are running: periodic checkpoints (re)start. */
void fl_cc_start(fl_cc *cc);
/* The attempt is over (failing, cancelled, finished): pending checkpoints are aborted. */
void fl_cc_stop(fl_cc *cc);
/* A task's acknowledgement or decline; takes msg. */
void fl_cc_on_ack(fl_cc *cc, fl_rpc_msg *msg);
/* Triggers a savepoint into dir (or state.savepoints.dir); the result arrives through
 * env.savepoint_done with token. drain (stop --drain): the sources emit MAX_WATERMARK
 * before its barrier. */
void fl_cc_trigger_savepoint(fl_cc *cc, const char *dir, uint64_t token, bool drain);

/* The latest completed checkpoint that reads back intact (loaded from disk), and its
 * directory; NULL when none. The metadata stays the coordinator's. */
const Fl__Pb__CheckpointMetadata *fl_cc_restore_point(fl_cc *cc, const char **dir);
/* Uses a savepoint as the restore point (flint run -s). Checks that every operator's max
 * parallelism matches and, unless allow_non_restored, that every state in it has an
 * operator in the job. */
int fl_cc_set_savepoint(fl_cc *cc, const char *path, bool allow_non_restored, fl_err *err);
/* Task (vertex, subtask)'s share of meta's state, built in arena; NULL when it has none. */
Fl__Pb__TaskRestore *fl_cc_task_restore(fl_arena *arena, const Fl__Pb__CheckpointMetadata *meta,
                                        const char *dir, const Fl__Pb__JobVertex *jv,
                                        int subtask);

/* REST bodies: /jobs/:id/checkpoints and /jobs/:id/checkpoints/config. */
json_t *fl_cc_stats_json(const fl_cc *cc);
/* The per-subtask statistics of the history's checkpoints, for another thread (the
 * caller's to free with fl_ckpt_view_free; checkpoint_stats.h). */
struct fl_ckpt_view *fl_cc_view(const fl_cc *cc);
json_t *fl_cc_config_json(const fl_cc *cc);

/* Reads and checks a _metadata file (magic, version, CRC, decoding). */
Fl__Pb__CheckpointMetadata *fl_cc_load_metadata(const char *dir, fl_err *err);

#endif
