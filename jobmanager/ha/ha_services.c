/* ha_services.c -- see ha.h: the "ha" thread (its ZooKeeper session's events, start and
 * stop), which hands the session's events to the election. The election is
 * leader_election.c's, the JobMasters' requests (checkpoint ids, completed checkpoints, job
 * results, run on this thread in the order they came) ha_requests.c's, the mails to the
 * listener ha_listener.c's, the terms leader_term.c's, the stores job_graph_store.c's,
 * checkpoint_store.c's and job_result_store.c's.
 */
#include "common/fs.h"
#include "common/log.h"
#include "common/util.h"
#include "ha_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the thread --------------------------------------------------------------------------- */

static void on_state(void *ctx, fl_zk *zk, int state)
{
    fl_ha *ha = ctx;
    if (ha->stopping)
        return;
    if (state == FL_ZK_CONNECTED) {
        evtimer_del(ha->warn_timer);
        fl_election_connected(ha);
    } else if (state == FL_ZK_SESSION_EXPIRED) {
        fl_election_expired(ha);
    } else {
        fl_election_disconnected(ha);
    }
}

static void on_watch(void *ctx, fl_zk *zk, const char *path, int event)
{
    fl_ha *ha = ctx;
    if (!ha->stopping)
        fl_election_watch(ha, path);
}

static void on_suspend_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_election_suspend_timeout(arg);
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_election_retry(arg);
}

static void on_warn_timer(evutil_socket_t fd, short what, void *arg)
{
    fl_ha *ha = arg;
    if (!fl_zk_is_connected(ha->zk))
        fl_warn("Cannot reach ZooKeeper at %s within %lld ms "
                "(high-availability.zookeeper.client.connection-timeout): this JobManager "
                "stands by until it can; still trying", ha->zc.quorum,
                (long long)ha->zc.connection_timeout_ms);
}

static void start_mail(void *ctx, void *arg)
{
    fl_ha *ha = ctx;
    fl_err err;
    fl_zk_events ev = {ha->ep, ha, on_state, on_watch};
    ha->zk = fl_zk_new(&ha->zc, &ev, &err);
    if (!ha->zk) {
        fl_error("High availability cannot start: %s", err.msg);
        return;
    }
    struct timeval tv = {ha->zc.connection_timeout_ms / 1000,
                         (ha->zc.connection_timeout_ms % 1000) * 1000};
    evtimer_add(ha->warn_timer, &tv);
}

static void ready_mail(void *ctx, void *arg)
{
    fl_ha *ha = ctx;
    fl_election_ready(ha, arg);
    fl_leader_term_unref(arg);
}

static void drop_term(void *arg)
{
    fl_leader_term_unref(arg);
}

void fl_ha_ready(fl_ha *ha, fl_leader_term *term)
{
    fl_endpoint_post(ha->ep, ready_mail, fl_leader_term_ref(term), drop_term);
}

static void stop_mail(void *ctx, void *arg)
{
    fl_ha *ha = ctx;
    fl_election_revoke(ha, "this JobManager is shutting down");
    ha->stopping = true;
    fl_ha_fail_waiting(ha, "this JobManager is shutting down");
    /* closing the session removes our latch and leader nodes now: a standby takes over
     * without waiting for the session timeout */
    fl_zk_free(ha->zk);
    ha->zk = NULL;
}

/* storageDir/<cluster-id>: an absolute local path (file:// accepted) with the store
 * directories made, or an s3:// prefix (objects need no directories). Everything below is
 * written and read through common/fs.h. */
static int make_storage(fl_ha *ha, const fl_conf *conf, fl_err *err)
{
    const char *dir = fl_conf_get_str(conf, "high-availability.storageDir");
    if (!dir || !*dir) {
        fl_err_set(err, "high-availability.storageDir is not set: high availability "
                        "(high-availability.type: zookeeper) keeps submitted jobs and their "
                        "results there (a directory every JobManager reaches, or s3://)");
        return -1;
    }
    if (fl_fs_check(dir, err) < 0) {
        fl_err_prefix(err, "high-availability.storageDir");
        return -1;
    }
    bool remote = fl_fs_is_remote(dir);
    if (!remote) {
        dir = fl_fs_local_path(dir);
        if (dir[0] != '/') {
            fl_err_set(err, "high-availability.storageDir '%s' is not an absolute path", dir);
            return -1;
        }
    }
    const char *cid = fl_conf_get_str(conf, "high-availability.cluster-id");
    while (*cid == '/')
        cid++;
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    snprintf(ha->storage, sizeof ha->storage, "%.*s/%.200s", (int)(dl > 700 ? 700 : dl), dir,
             *cid ? cid : "default");
    if (remote && fl_fs_check_below(dir, ha->storage, false, err) < 0) {
        fl_err_prefix(err, "high-availability.storageDir with high-availability.cluster-id");
        return -1;
    }
    static const char *subs[] = {DIR_JOBGRAPHS, DIR_BLOBS, DIR_RESULTS};
    for (size_t i = 0; i < FL_ARRAY_LEN(subs); i++) {
        char sub[1100];
        snprintf(sub, sizeof sub, "%s/%s", ha->storage, subs[i]);
        if (fl_fs_mkdirs(sub, err) < 0) {
            fl_err_prefix(err, "high-availability.storageDir");
            return -1;
        }
    }
    return 0;
}

fl_ha *fl_ha_new(const fl_conf *conf, fl_err *err)
{
    fl_ha *ha = fl_xcalloc(1, sizeof *ha);
    ha->conf = conf;
    ha->waiting_tail = &ha->waiting;
    if (fl_zk_conf_load(conf, &ha->zc, err) < 0 || make_storage(ha, conf, err) < 0)
        goto fail;
    ha->max_results = (int)fl_conf_get_int(conf, "jobstore.max-capacity");
    fl_random_hex(ha->uuid, 8);
    ha->ep = fl_endpoint_new("ha");
    if (!ha->ep) {
        fl_err_set(err, "cannot create the HA thread");
        goto fail;
    }
    struct event_base *base = fl_endpoint_base(ha->ep);
    ha->suspend_timer = evtimer_new(base, on_suspend_timer, ha);
    ha->retry_timer = evtimer_new(base, on_retry_timer, ha);
    ha->warn_timer = evtimer_new(base, on_warn_timer, ha);
    return ha;
fail:
    free(ha);
    return NULL;
}

void fl_ha_set_listener(fl_ha *ha, fl_endpoint *ep, const fl_ha_listener *l)
{
    ha->lep = ep;
    ha->l = *l;
    ha->has_listener = true;
}

int fl_ha_start(fl_ha *ha, const fl_leader_info *self, fl_err *err)
{
    ha->self = *self;
    ha->self.session_id[0] = '\0';
    if (fl_endpoint_start(ha->ep, ha, err) < 0)
        return -1;
    ha->started = true;
    fl_info("High availability through ZooKeeper %s, cluster %s, storage %s: contending for "
            "leadership as flint://%s:%d (REST %s)", ha->zc.quorum, ha->zc.root, ha->storage,
            self->rpc_host, self->rpc_port, self->rest_url);
    fl_endpoint_post(ha->ep, start_mail, NULL, NULL);
    return 0;
}

void fl_ha_stop(fl_ha *ha)
{
    if (!ha || !ha->started)
        return;
    fl_endpoint_post(ha->ep, stop_mail, NULL, NULL);
    fl_endpoint_stop(ha->ep);
    ha->started = false;
}

void fl_ha_free(fl_ha *ha)
{
    if (!ha)
        return;
    fl_ha_stop(ha);
    fl_endpoint_free(ha->ep);
    fl_zk_free(ha->zk);
    fl_ha_fail_waiting(ha, "this JobManager is shutting down");
    fl_leader_term_unref(ha->term);
    event_free(ha->suspend_timer);
    event_free(ha->retry_timer);
    event_free(ha->warn_timer);
    free(ha);
}

const char *fl_ha_storage(const fl_ha *ha)
{
    return ha->storage;
}
