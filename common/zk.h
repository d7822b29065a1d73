/* zk.h -- Flint's ZooKeeper client: one session to the quorum of high-availability.zookeeper.*,
 * the one place where ZooKeeper's return codes (ZOK, ZNONODE, ZCONNECTIONLOSS...) become
 * Flint's status and fl_err, and where its log lines join ours.
 *
 * Used by the JobManager's HA services (jobmanager/ha/, on their "ha" thread), by a
 * TaskManager's leader retrieval (its "leader-retrieval" thread) and by the CLI (once, to
 * find the leader). Calls are synchronous and may come from any thread (the ZooKeeper
 * multi-threaded client is thread-safe); fl_zk_restart and fl_zk_free wait for calls in
 * progress. A call made while the session is not connected fails at once with
 * FL_ZK_CONNLOSS instead of waiting for a reconnection: no event loop ever blocks on an
 * unreachable quorum for longer than one round trip that was already under way.
 *
 * Events (connection state changes, fired watches) arrive as mails on the endpoint given to
 * fl_zk_new; events of a session that was replaced (fl_zk_restart) are dropped. Watches are
 * ZooKeeper's one-shot watches, set by the `watch` argument of get/exists/children; their
 * events name the node (relative to the root) and the event type, and the owner reads the
 * node again.
 *
 * Every path is relative to the cluster's root, high-availability.zookeeper.path.root plus
 * high-availability.cluster-id ("/flint/default"), and starts with '/'.
 */
#ifndef FL_ZK_H
#define FL_ZK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"
#include "mailbox.h"

/* Status codes besides 0 (done) and -1 (anything else, with err). */
enum fl_zk_status {
    FL_ZK_NONODE = -2,     /* the node (or a parent) does not exist */
    FL_ZK_EXISTS = -3,     /* the node exists already */
    FL_ZK_BADVERSION = -4, /* the version did not match: someone else changed it */
    FL_ZK_NOTEMPTY = -5,   /* the node has children */
    FL_ZK_CONNLOSS = -6,   /* no connection: the call may or may not have taken effect */
    FL_ZK_EXPIRED = -7,    /* the session is gone: nothing of it will take effect */
};

/* Connection states the owner is told about. */
enum fl_zk_state {
    FL_ZK_CONNECTING = 0, /* not connected: a new session, or the connection was lost */
    FL_ZK_CONNECTED = 1,  /* connected (the session survives a reconnection) */
    FL_ZK_SESSION_EXPIRED = 2, /* the session is gone with its ephemeral nodes: restart */
};

/* A watched node changed: what happened to it (ZooKeeper's event types). */
enum fl_zk_event { FL_ZK_CREATED = 1, FL_ZK_DELETED, FL_ZK_CHANGED, FL_ZK_CHILD };

/* Node creation flags. */
#define FL_ZK_EPHEMERAL 1
#define FL_ZK_SEQUENTIAL 2

/* The high-availability.zookeeper.* keys, checked. */
typedef struct fl_zk_conf {
    char quorum[4097];
    char root[420];          /* path.root + cluster-id, normalized: "/flint/default" */
    int64_t session_timeout_ms;
    int64_t connection_timeout_ms;
    int64_t retry_wait_ms;
    int max_retries;
} fl_zk_conf;

/* True when high-availability.type (or the older high-availability) is zookeeper. */
bool fl_ha_enabled(const fl_conf *conf);
/* The keys of conf: 0, or -1 with err naming the key that is missing or malformed. */
int fl_zk_conf_load(const fl_conf *conf, fl_zk_conf *out, fl_err *err);
/* Checks a ZooKeeper path (or, !absolute, one name): 0 or -1 with err saying why. */
int fl_zk_check_path(const char *path, bool absolute, fl_err *err);

typedef struct fl_zk fl_zk;

typedef struct fl_zk_events {
    fl_endpoint *ep; /* the callbacks run on its thread */
    void *ctx;
    void (*state)(void *ctx, fl_zk *zk, int state);
    void (*watch)(void *ctx, fl_zk *zk, const char *path, int event);
} fl_zk_events;

/* Starts connecting (events NULL: none are delivered, for the CLI). NULL with err when the
 * client cannot be created. */
fl_zk *fl_zk_new(const fl_zk_conf *conf, const fl_zk_events *events, fl_err *err);
/* Closes the session (its ephemeral nodes go at once) and frees. NULL is a no-op. */
void fl_zk_free(fl_zk *zk);
/* A new session after the old one expired (or to give up the current one). */
int fl_zk_restart(fl_zk *zk, fl_err *err);
bool fl_zk_is_connected(fl_zk *zk);
/* Waits up to timeout_ms for the session to connect: 0, or FL_ZK_CONNLOSS with err. */
int fl_zk_wait_connected(fl_zk *zk, int64_t timeout_ms, fl_err *err);
/* The current session's id (0 before it connected). */
int64_t fl_zk_session_id(fl_zk *zk);
/* The session timeout the server granted (ms), or the one asked for before it connected. */
int64_t fl_zk_session_timeout(fl_zk *zk);
const fl_zk_conf *fl_zk_conf_of(const fl_zk *zk);

/* created (may be NULL): the node's path as created (sequential nodes get a suffix). */
int fl_zk_create(fl_zk *zk, const char *path, const void *data, size_t len, int flags,
                 char *created, size_t createdlen, fl_err *err);
/* Creates path and its missing parents as persistent, empty nodes (existing ones are fine). */
int fl_zk_mkdirs(fl_zk *zk, const char *path, fl_err *err);
/* *data (NUL-terminated, *len without it) is the caller's to free; version and owner (the
 * session of an ephemeral node, else 0) may be NULL. */
int fl_zk_get(fl_zk *zk, const char *path, bool watch, char **data, size_t *len, int *version,
              int64_t *owner, fl_err *err);
/* 0 when the node exists, FL_ZK_NONODE when not; with watch, a watch is left either way. */
int fl_zk_exists(fl_zk *zk, const char *path, bool watch, int *version, int64_t *owner,
                 fl_err *err);
/* version -1: any. */
int fl_zk_set(fl_zk *zk, const char *path, const void *data, size_t len, int version,
              fl_err *err);
int fl_zk_delete(fl_zk *zk, const char *path, int version, fl_err *err);
/* *names (n of them, sorted) is the caller's: fl_zk_names_free. */
int fl_zk_children(fl_zk *zk, const char *path, bool watch, char ***names, int *n,
                   fl_err *err);
void fl_zk_names_free(char **names, int n);

/* A transaction (ZooKeeper's multi): all of its operations take effect, or none. */
typedef struct fl_zk_txn fl_zk_txn;

fl_zk_txn *fl_zk_txn_new(void);
void fl_zk_txn_free(fl_zk_txn *txn);
/* The node must exist (with that version; -1: any). Copies every argument. */
void fl_zk_txn_check(fl_zk_txn *txn, const char *path, int version);
void fl_zk_txn_create(fl_zk_txn *txn, const char *path, const void *data, size_t len, int flags);
void fl_zk_txn_set(fl_zk_txn *txn, const char *path, const void *data, size_t len, int version);
void fl_zk_txn_delete(fl_zk_txn *txn, const char *path, int version);
int fl_zk_txn_size(const fl_zk_txn *txn);
/* Runs it: 0, or the status of the operation that failed, with err naming it. */
int fl_zk_txn_commit(fl_zk *zk, fl_zk_txn *txn, fl_err *err);

#endif
