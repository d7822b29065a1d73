/* main.c -- the jobmanager daemon: RPC service, ResourceManager, Dispatcher (REST) and, with
 * high availability, the HA services (jobmanager/ha/). The main thread only starts the
 * endpoints, waits for a stop signal and tears down. */
#include "common/daemon.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/supervise.h"
#include "common/tls.h"
#include "common/util.h"
#include "dispatcher.h"
#include "jobmanager/ha/ha.h"
#include "resource_manager.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    fl_conf *conf;
    fl_err err;
    fl_rpc *rpc = NULL;
    fl_rm *rm = NULL;
    fl_dispatcher *disp = NULL;
    fl_tls *tls = NULL;
    fl_ha *ha = NULL;
    fl_leader_term *term = NULL;
    int rc = 1, rpc_port;
    int64_t t0 = fl_mono_ms();

    if (fl_daemon_init("jobmanager", argc, argv, &conf) < 0)
        return 1;
    /* A large REST body (rest_budget.c) must give its memory back when it is gone: blocks of
     * 1 MiB and more get mappings of their own, and glibc's dynamic thresholds, which after
     * one such block would keep heaps of twice its size, are off. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    if (fl_conf_get_duration_ms(conf, "heartbeat.timeout") <
        fl_conf_get_duration_ms(conf, "heartbeat.interval")) {
        fl_err_set(&err, "heartbeat.timeout (%lld ms) must not be smaller than "
                         "heartbeat.interval (%lld ms)",
                   (long long)fl_conf_get_duration_ms(conf, "heartbeat.timeout"),
                   (long long)fl_conf_get_duration_ms(conf, "heartbeat.interval"));
        goto fail;
    }
    fl_secret secret;
    if (fl_secret_load(conf, &secret, &err) < 0 ||
        fl_tls_new(conf, FL_TLS_INTERNAL, &tls, &err) < 0)
        goto fail;
    /* with high availability: the ZooKeeper quorum, the storage directory, the paths; the
     * RPC port is high-availability.jobmanager.port (TaskManagers find it in ZooKeeper) */
    const char *port_key = "jobmanager.rpc.port";
    if (fl_ha_enabled(conf)) {
        ha = fl_ha_new(conf, &err); /* its errors name their keys */
        if (!ha)
            goto fail;
        port_key = "high-availability.jobmanager.port";
    } else {
        term = fl_leader_term_new(""); /* the only JobManager leads, for good */
    }
    fl_connlimit_conf limits;
    fl_connlimit_conf_rpc(conf, &limits);
    rpc = fl_rpc_new("rpc", (uint32_t)fl_conf_get_bytes(conf, "rpc.frame.max-size"));
    if (rpc) {
        fl_rpc_set_limits(rpc, &limits);
        fl_rpc_set_secret(rpc, &secret);
        fl_rpc_set_tls(rpc, tls);
    }
    if (!rpc || fl_rpc_listen(rpc, fl_conf_get_str(conf, "jobmanager.bind-host"),
                              (int)fl_conf_get_int(conf, port_key), &rpc_port, &err) < 0) {
        fl_err_prefix(&err, "RPC server (%s)", port_key);
        goto fail;
    }
    rm = fl_rm_new(conf, rpc);
    if (!rm) {
        fl_err_set(&err, "cannot create the ResourceManager");
        goto fail;
    }
    if (term)
        fl_rm_grant(rm, term);
    disp = fl_dispatcher_new(conf, rm, rpc, ha, term, &err); /* its errors name their keys */
    if (!disp)
        goto fail;
    if (fl_rm_start(rm, &err) < 0 || fl_dispatcher_start(disp, &err) < 0 ||
        fl_rpc_start(rpc, &err) < 0)
        goto fail;
    fl_info("JobManager started in %lld ms: RPC bound to %s:%d, advertised as "
            "flint://%s:%d/jobmanager (jobmanager.rpc.address); REST bound to %s:%d, "
            "advertised as %s://%s:%d (rest.address)",
            (long long)(fl_mono_ms() - t0), fl_conf_get_str(conf, "jobmanager.bind-host"),
            rpc_port, fl_conf_get_str(conf, "jobmanager.rpc.address"), rpc_port,
            fl_conf_get_str(conf, "rest.bind-address"), fl_dispatcher_rest_port(disp),
            fl_conf_get_bool(conf, "security.ssl.rest.enabled") ? "https" : "http",
            fl_conf_get_str(conf, "rest.address"), fl_dispatcher_rest_port(disp));
    fl_supervise_started();
    if (secret.set)
        fl_info("Every RPC connection proves the cluster secret (security.cluster.secret-file).");
    if (ha) {
        fl_leader_info self = {.rpc_port = rpc_port};
        snprintf(self.rpc_host, sizeof self.rpc_host, "%s",
                 fl_conf_get_str(conf, "jobmanager.rpc.address"));
        snprintf(self.rest_url, sizeof self.rest_url, "%s://%s:%d",
                 fl_conf_get_bool(conf, "security.ssl.rest.enabled") ? "https" : "http",
                 fl_conf_get_str(conf, "rest.address"), fl_dispatcher_rest_port(disp));
        if (fl_ha_start(ha, &self, &err) < 0)
            goto fail;
    }

    fl_daemon_wait();
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "flint-jobmanager: %s\n", err.msg);
    fl_error("JobManager failed to start: %s", err.msg);
out:
    /* Stop every thread first (sockets first, so nothing new arrives); a stopped endpoint
     * drops what is posted to it, so none can reach one that is already freed. */
    fl_rpc_stop(rpc);
    fl_dispatcher_stop(disp);
    fl_rm_stop(rm);
    /* the session goes last, and at once: a standby takes over without a timeout */
    fl_ha_stop(ha);
    fl_dispatcher_free(disp);
    fl_rm_free(rm);
    fl_ha_free(ha);
    fl_leader_term_unref(term);
    fl_rpc_free(rpc);
    fl_tls_free(tls);
    fl_conf_free(conf);
    if (rc == 0)
        fl_info("JobManager stopped.");
    return rc;
}
