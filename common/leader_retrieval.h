/* leader_retrieval.h -- finding the leading JobManager through ZooKeeper (Flink's
 * LeaderRetrievalService), for TaskManagers, the CLI and the JobManagers' own REST
 * redirects.
 *
 * The leader publishes itself in the ephemeral node FL_LEADER_NODE (jobmanager/ha/README.md):
 * its RPC address, its REST URL and its leader session id, the fencing token that every
 * command of its ResourceManager and JobMasters carries. The node vanishes with the
 * leader's ZooKeeper session, and a new leader writes it with a new session id.
 *
 * fl_leader_retrieval follows the node from a thread of its own ("leader-retrieval") and
 * tells its owner about every change, on the owner's endpoint; fl_leader_lookup asks once
 * (the CLI). Without high availability neither is used: the leader is the configured
 * JobManager.
 */
#ifndef FL_LEADER_RETRIEVAL_H
#define FL_LEADER_RETRIEVAL_H

#include <stdbool.h>

#include "config.h"
#include "err.h"
#include "mailbox.h"
#include "zk.h"

#define FL_LEADER_NODE "/leader/info"
#define FL_LEADER_LATCH "/leader/latch"
#define FL_SESSION_ID_LEN 32 /* hex characters of a leader session id */

typedef struct fl_leader_info {
    char rpc_host[256];
    int rpc_port;
    char rest_url[300];  /* http://host:port */
    char session_id[FL_SESSION_ID_LEN + 1];
} fl_leader_info;

/* The node's contents (JSON); the caller frees it. */
char *fl_leader_info_format(const fl_leader_info *li);
/* Parses and checks the node's contents: 0, or -1 with err. */
int fl_leader_info_parse(const char *data, size_t len, fl_leader_info *out, fl_err *err);
bool fl_leader_info_equal(const fl_leader_info *a, const fl_leader_info *b);
/* Reads the node, leaving a watch on it (when watch) that fires when it is created, changed
 * or deleted: 0, FL_ZK_NONODE (no leader now) or another status of zk.h. */
int fl_leader_read(fl_zk *zk, bool watch, fl_leader_info *out, fl_err *err);

/* The leader now: waits up to connection-timeout for ZooKeeper, then for a leader up to
 * max-retry-attempts times retry-wait. 0, or -1 with err. */
int fl_leader_lookup(const fl_conf *conf, fl_leader_info *out, fl_err *err);

/* Follows the leader: fn(ctx, info) on ep's thread whenever it changes; info NULL when
 * there is none (between two leaders). */
typedef void (*fl_leader_fn)(void *ctx, const fl_leader_info *info);
typedef struct fl_leader_retrieval fl_leader_retrieval;

fl_leader_retrieval *fl_leader_retrieval_new(const fl_conf *conf, fl_endpoint *ep,
                                             fl_leader_fn fn, fl_err *err);
int fl_leader_retrieval_start(fl_leader_retrieval *lr, fl_err *err);
/* Stops its thread and closes its session. NULL is a no-op. */
void fl_leader_retrieval_free(fl_leader_retrieval *lr);

#endif
