/* leader_election.c -- leader election among the JobManagers (Flink's LeaderLatch) and the
 * transitions of this JobManager's leadership, on the "ha" thread.
 *
 * Each JobManager creates one ephemeral sequential node /leader/latch/latch-<uuid>-<seq>;
 * the lowest sequence leads, every other one watches only its predecessor (no herd when the
 * leader goes). The uuid finds our node again when the answer to its creation was lost
 * with the connection. The transitions (README.md lists them with their invariants):
 *
 *   standby -> leader     our node is the lowest: a new term (fresh session id); the stores
 *                         are read and handed to the Dispatcher (granted); once it has taken
 *                         over (fl_election_ready) the leader node is published.
 *   leader -> suspended   the connection is lost: nothing new is started, nothing committed
 *                         (every commit needs ZooKeeper anyway); jobs keep running.
 *   suspended -> leader   the connection is back within the session and our node is still
 *                         the lowest: everything waiting goes on.
 *   leader/suspended -> standby   the session expired, the connection stayed lost for the
 *                         session timeout, our node vanished, or we shut down: the term is
 *                         revoked before anything else, then the Dispatcher stops the jobs.
 */
#include "common/log.h"
#include "common/util.h"
#include "ha_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(fl_ha *ha);
static void timer_in(struct event *ev, int64_t ms);

/* What failed for another reason than a lost connection is tried again a little later (a
 * lost connection retries when it is back). */
static void retry_soon(fl_ha *ha)
{
    timer_in(ha->retry_timer, FL_MIN(ha->zc.retry_wait_ms, 1000));
}

static void timer_in(struct event *ev, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

/* The sequence number at the end of a latch node's name, or -1. */
static long long seq_of(const char *name)
{
    const char *dash = strrchr(name, '-');
    if (!dash || !dash[1] || strspn(dash + 1, "0123456789") != strlen(dash + 1))
        return -1;
    return strtoll(dash + 1, NULL, 10);
}

static int by_seq(const void *a, const void *b)
{
    long long x = seq_of(*(char *const *)a), y = seq_of(*(char *const *)b);
    return x < y ? -1 : x > y;
}

static int make_paths(fl_ha *ha, fl_err *err)
{
    static const char *paths[] = {FL_LEADER_LATCH, ZK_JOBGRAPHS, ZK_CHECKPOINTS, ZK_COUNTERS,
                                  ZK_RESULTS};
    if (ha->paths_made)
        return 0;
    for (size_t i = 0; i < FL_ARRAY_LEN(paths); i++) {
        int rc = fl_zk_mkdirs(ha->zk, paths[i], err);
        if (rc < 0)
            return rc;
    }
    ha->paths_made = true;
    return 0;
}

/* Creates our latch node (or finds the one whose creation we did not hear about). */
static void contend(fl_ha *ha)
{
    fl_err err;
    char name[200], created[500], data[700];
    if (ha->stopping || !fl_zk_is_connected(ha->zk))
        return;
    int rc = make_paths(ha, &err);
    if (rc < 0) {
        if (rc != FL_ZK_CONNLOSS) {
            fl_warn("Cannot create the ZooKeeper nodes of the cluster: %s", err.msg);
            retry_soon(ha);
        }
        return;
    }
    if (ha->latch[0]) {
        check(ha);
        return;
    }
    if (ha->create_unknown) {
        char **names;
        int n;
        if (fl_zk_children(ha->zk, FL_LEADER_LATCH, false, &names, &n, &err) < 0)
            return;
        for (int i = 0; i < n && !ha->latch[0]; i++)
            if (strstr(names[i], ha->uuid))
                snprintf(ha->latch, sizeof ha->latch, FL_LEADER_LATCH "/%s", names[i]);
        fl_zk_names_free(names, n);
        ha->create_unknown = false;
        if (ha->latch[0]) {
            check(ha);
            return;
        }
    }
    snprintf(name, sizeof name, FL_LEADER_LATCH "/latch-%s-", ha->uuid);
    snprintf(data, sizeof data, "flint://%s:%d %s", ha->self.rpc_host, ha->self.rpc_port,
             ha->self.rest_url);
    rc = fl_zk_create(ha->zk, name, data, strlen(data), FL_ZK_EPHEMERAL | FL_ZK_SEQUENTIAL,
                      created, sizeof created, &err);
    if (rc == FL_ZK_CONNLOSS) {
        ha->create_unknown = true; /* looked for on the next connection */
        return;
    }
    if (rc < 0) {
        fl_warn("Cannot take part in the leader election: %s", err.msg);
        retry_soon(ha);
        return;
    }
    snprintf(ha->latch, sizeof ha->latch, "%s", created);
    fl_info("Taking part in the leader election as %s%s", ha->zc.root, ha->latch);
    check(ha);
}

/* Publishes the leader node: our addresses and the term's session id. */
static void publish(fl_ha *ha)
{
    fl_err err;
    if (!ha->leader || !ha->ready || ha->published || !fl_leader_term_is_active(ha->term))
        return;
    fl_leader_info li = ha->self;
    snprintf(li.session_id, sizeof li.session_id, "%s", fl_leader_term_session(ha->term));
    char *data = fl_leader_info_format(&li);
    int rc;
    for (int attempt = 0; attempt < 3; attempt++) {
        int version = -1;
        int64_t owner = 0;
        fl_zk_txn *txn = fl_zk_txn_new();
        fl_zk_txn_check(txn, ha->latch, -1);
        rc = fl_zk_exists(ha->zk, FL_LEADER_NODE, false, &version, &owner, &err);
        if (rc == 0 && owner == fl_zk_session_id(ha->zk)) {
            fl_zk_txn_set(txn, FL_LEADER_NODE, data, strlen(data), version); /* ours: update */
        } else if (rc == 0 || rc == FL_ZK_NONODE) {
            /* a node of a session that is not ours cannot belong to a live leader: it would
             * hold the lowest latch node */
            if (rc == 0)
                fl_zk_txn_delete(txn, FL_LEADER_NODE, version);
            fl_zk_txn_create(txn, FL_LEADER_NODE, data, strlen(data), FL_ZK_EPHEMERAL);
        }
        if (rc == 0 || rc == FL_ZK_NONODE)
            rc = fl_zk_txn_commit(ha->zk, txn, &err);
        fl_zk_txn_free(txn);
        if (rc != FL_ZK_BADVERSION && rc != FL_ZK_EXISTS && rc != FL_ZK_NONODE)
            break;
        if (rc == FL_ZK_NONODE && fl_zk_exists(ha->zk, ha->latch, false, NULL, NULL, &err) ==
                                      FL_ZK_NONODE)
            break; /* our latch node is gone: check() revokes */
    }
    free(data);
    if (rc == 0) {
        ha->published = true;
        fl_info("Published this JobManager as the leader: flint://%s:%d, REST %s, leader "
                "session %s", li.rpc_host, li.rpc_port, li.rest_url, li.session_id);
    } else if (rc != FL_ZK_CONNLOSS) {
        fl_warn("Cannot publish the leader node: %s", err.msg);
        check(ha);
    }
}

/* Reads everything to recover and hands the term to the listener (once per term). */
static void grant(fl_ha *ha)
{
    fl_err err;
    if (!ha->leader || ha->granted || !fl_zk_is_connected(ha->zk))
        return;
    int64_t t0 = fl_mono_ms();
    fl_ha_recovery *rec = fl_xcalloc(1, sizeof *rec);
    if (fl_jgs_recover(ha, rec, &err) < 0 || fl_jrs_recover(ha, rec, &err) < 0) {
        fl_warn("Cannot read the jobs to recover yet: %s; trying again", err.msg);
        fl_ha_recovery_free(rec);
        retry_soon(ha);
        return;
    }
    fl_jrs_prune(ha, ha->term, rec);
    int ck = 0;
    for (int i = 0; i < rec->njobs; i++)
        ck += rec->jobs[i].ncheckpoints;
    fl_info("Recovered %d job(s) with %d retained checkpoint(s) and %d job result(s) from "
            "ZooKeeper and %s in %lld ms", rec->njobs, ck, rec->nresults, ha->storage,
            (long long)(fl_mono_ms() - t0));
    ha->granted = true;
    fl_ha_tell_granted(ha, fl_leader_term_ref(ha->term), rec);
}

static void become_leader(fl_ha *ha)
{
    if (ha->leader) {
        if (fl_leader_term_state(ha->term) == FL_TERM_SUSPENDED &&
            fl_zk_is_connected(ha->zk)) {
            fl_leader_term_set_state(ha->term, FL_TERM_ACTIVE);
            evtimer_del(ha->suspend_timer);
            fl_info("ZooKeeper is back within the session: this JobManager still leads "
                    "(leader session %s)", fl_leader_term_session(ha->term));
            fl_ha_tell_suspended(ha, fl_leader_term_ref(ha->term), false);
        }
        grant(ha);
        publish(ha);
        fl_ha_run_waiting(ha);
        return;
    }
    ha->leader = true;
    ha->granted = ha->ready = ha->published = false;
    ha->term = fl_leader_term_new(ha->latch);
    fl_info("This JobManager leads the cluster now (latch node %s%s, leader session %s)",
            ha->zc.root, ha->latch, fl_leader_term_session(ha->term));
    grant(ha);
}

/* Where our node stands among the contenders: lead, or watch the predecessor. */
static void check(fl_ha *ha)
{
    fl_err err;
    for (int round = 0; round < 100 && ha->latch[0]; round++) {
        char **names;
        int n;
        int rc = fl_zk_children(ha->zk, FL_LEADER_LATCH, false, &names, &n, &err);
        if (rc < 0) {
            if (rc != FL_ZK_CONNLOSS)
                fl_warn("Cannot read the leader election: %s", err.msg);
            return;
        }
        qsort(names, (size_t)n, sizeof *names, by_seq);
        const char *mine = strrchr(ha->latch, '/') + 1;
        int idx = -1;
        for (int i = 0; i < n; i++)
            if (!strcmp(names[i], mine))
                idx = i;
        if (idx < 0) {
            fl_zk_names_free(names, n);
            fl_warn("Our latch node %s%s is gone", ha->zc.root, ha->latch);
            ha->latch[0] = '\0';
            fl_election_revoke(ha, "its latch node in ZooKeeper is gone");
            contend(ha);
            return;
        }
        if (idx == 0) {
            fl_zk_names_free(names, n);
            ha->watched[0] = '\0';
            become_leader(ha);
            return;
        }
        snprintf(ha->watched, sizeof ha->watched, FL_LEADER_LATCH "/%s", names[idx - 1]);
        fl_zk_names_free(names, n);
        rc = fl_zk_exists(ha->zk, ha->watched, true, NULL, NULL, &err);
        if (rc == FL_ZK_NONODE)
            continue; /* gone in between: look again */
        if (rc == 0) {
            if (ha->leader) /* cannot happen: sequence numbers only grow */
                fl_election_revoke(ha, "a lower latch node appeared");
            fl_info("Standing by: waiting for %s%s to go", ha->zc.root, ha->watched);
        }
        return;
    }
}

void fl_election_revoke(fl_ha *ha, const char *why)
{
    fl_err err;
    if (!ha->leader)
        return;
    fl_leader_term *term = ha->term;
    fl_leader_term_set_state(term, FL_TERM_REVOKED); /* first: JobMasters stop acting */
    ha->leader = false;
    ha->term = NULL;
    evtimer_del(ha->suspend_timer);
    fl_warn("This JobManager no longer leads the cluster: %s (leader session %s)", why,
            fl_leader_term_session(term));
    fl_ha_fail_waiting(ha, why);
    if (ha->granted)
        fl_ha_tell_revoked(ha, fl_leader_term_ref(term), why);
    /* our leader node, while our session lives, would still send TaskManagers here */
    int64_t owner = 0;
    int version;
    if (ha->published && fl_zk_exists(ha->zk, FL_LEADER_NODE, false, &version, &owner, &err) == 0 &&
        owner == fl_zk_session_id(ha->zk))
        fl_zk_delete(ha->zk, FL_LEADER_NODE, version, &err);
    ha->granted = ha->ready = ha->published = false;
    fl_leader_term_unref(term);
}

void fl_election_ready(fl_ha *ha, fl_leader_term *term)
{
    if (!ha->leader || term != ha->term)
        return; /* an earlier term */
    ha->ready = true;
    publish(ha);
}

void fl_election_look(fl_ha *ha)
{
    fl_leader_info li;
    fl_err err;
    int rc = fl_leader_read(ha->zk, true, &li, &err);
    if (rc == 0 && (!ha->leader_known || !fl_leader_info_equal(&li, &ha->leader_now))) {
        ha->leader_known = true;
        ha->leader_now = li;
        fl_ha_tell_leader(ha, &li);
    } else if (rc == FL_ZK_NONODE && ha->leader_known) {
        ha->leader_known = false;
        fl_ha_tell_leader(ha, NULL);
    } else if (rc < 0 && rc != FL_ZK_NONODE && rc != FL_ZK_CONNLOSS) {
        fl_warn_every(10, "Cannot read the leader node: %s", err.msg);
    }
}

void fl_election_connected(fl_ha *ha)
{
    int64_t granted = fl_zk_session_timeout(ha->zk);
    fl_info("Connected to ZooKeeper %s (session 0x%llx, timeout %lld ms)", ha->zc.quorum,
            (unsigned long long)fl_zk_session_id(ha->zk), (long long)granted);
    if (granted != ha->zc.session_timeout_ms)
        fl_warn("ZooKeeper granted a session timeout of %lld ms, not the %lld ms of "
                "high-availability.zookeeper.client.session-timeout (its minSessionTimeout "
                "and maxSessionTimeout bound it)",
                (long long)granted, (long long)ha->zc.session_timeout_ms);
    contend(ha);
    fl_election_look(ha);
}

void fl_election_disconnected(fl_ha *ha)
{
    if (!ha->leader || fl_leader_term_state(ha->term) != FL_TERM_ACTIVE) {
        fl_info("Lost the connection to ZooKeeper %s; reconnecting", ha->zc.quorum);
        return;
    }
    int64_t t = fl_zk_session_timeout(ha->zk);
    fl_leader_term_set_state(ha->term, FL_TERM_SUSPENDED);
    fl_warn("Lost the connection to ZooKeeper %s: leadership suspended (jobs keep running, "
            "nothing new starts, no checkpoint completes) until it is back, or %lld ms pass "
            "(the session timeout)", ha->zc.quorum, (long long)t);
    timer_in(ha->suspend_timer, t);
    fl_ha_tell_suspended(ha, fl_leader_term_ref(ha->term), true);
}

void fl_election_expired(fl_ha *ha)
{
    fl_err err;
    fl_warn("The ZooKeeper session expired (its ephemeral nodes are gone)");
    fl_election_revoke(ha, "the ZooKeeper session expired");
    ha->latch[0] = '\0';
    ha->watched[0] = '\0';
    ha->create_unknown = false;
    ha->paths_made = false;
    if (!ha->stopping && fl_zk_restart(ha->zk, &err) < 0)
        fl_error("%s", err.msg);
}

void fl_election_watch(fl_ha *ha, const char *path)
{
    if (!strcmp(path, FL_LEADER_NODE))
        fl_election_look(ha);
    else if (ha->watched[0] && !strcmp(path, ha->watched))
        check(ha);
}

void fl_election_retry(fl_ha *ha)
{
    contend(ha);
}

void fl_election_suspend_timeout(fl_ha *ha)
{
    if (!ha->leader || fl_leader_term_state(ha->term) != FL_TERM_SUSPENDED)
        return;
    char why[200];
    snprintf(why, sizeof why, "ZooKeeper was unreachable for the session timeout (%lld ms): "
                              "another JobManager may lead by now",
             (long long)fl_zk_session_timeout(ha->zk));
    fl_election_revoke(ha, why);
}
