/* main.c -- the jobmanager daemon: RPC service, ResourceManager, Dispatcher (REST).
 * The main thread only starts the endpoints, waits for a stop signal and tears down. */
#include "daemon.h"
#include "dispatcher.h"
#include "log.h"
#include "resource_manager.h"
#include "rpc.h"
#include "tls.h"
#include "util.h"

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
    fl_connlimit_conf limits;
    fl_connlimit_conf_rpc(conf, &limits);
    rpc = fl_rpc_new("rpc", (uint32_t)fl_conf_get_bytes(conf, "rpc.frame.max-size"));
    if (rpc) {
        fl_rpc_set_limits(rpc, &limits);
        fl_rpc_set_secret(rpc, &secret);
        fl_rpc_set_tls(rpc, tls);
    }
    if (!rpc || fl_rpc_listen(rpc, fl_conf_get_str(conf, "jobmanager.bind-host"),
                              (int)fl_conf_get_int(conf, "jobmanager.rpc.port"), &rpc_port,
                              &err) < 0) {
        fl_err_prefix(&err, "RPC server (jobmanager.rpc.port)");
        goto fail;
    }
    rm = fl_rm_new(conf, rpc);
    if (!rm) {
        fl_err_set(&err, "cannot create the ResourceManager");
        goto fail;
    }
    disp = fl_dispatcher_new(conf, rm, rpc, &err); /* its errors name their keys */
    if (!disp)
        goto fail;
    if (fl_rm_start(rm, &err) < 0 || fl_dispatcher_start(disp, &err) < 0 ||
        fl_rpc_start(rpc, &err) < 0)
        goto fail;
    fl_info("JobManager started in %lld ms: RPC bound to %s:%d, advertised as "
            "flint://%s:%d/jobmanager (jobmanager.rpc.address); REST bound to %s:%d, "
            "advertised as http://%s:%d (rest.address)",
            (long long)(fl_mono_ms() - t0), fl_conf_get_str(conf, "jobmanager.bind-host"),
            rpc_port, fl_conf_get_str(conf, "jobmanager.rpc.address"), rpc_port,
            fl_conf_get_str(conf, "rest.bind-address"), fl_dispatcher_rest_port(disp),
            fl_conf_get_str(conf, "rest.address"), fl_dispatcher_rest_port(disp));
    if (secret.set)
        fl_info("Every RPC connection proves the cluster secret (security.cluster.secret-file).");

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
    fl_dispatcher_free(disp);
    fl_rm_free(rm);
    fl_rpc_free(rpc);
    fl_tls_free(tls);
    fl_conf_free(conf);
    if (rc == 0)
        fl_info("JobManager stopped.");
    return rc;
}
