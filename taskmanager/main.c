/* main.c -- the taskmanager daemon: RPC service, network stack (data port), TaskExecutor.
 * The main thread starts them, waits for a stop signal and tears down in reverse. */
#include "common/crash.h"
#include "common/daemon.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/rpc.h"
#include "common/supervise.h"
#include "common/tls.h"
#include "common/util.h"
#include "common/zk.h"
#include "task_executor.h"
#include "taskmanager/network/netenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The address other daemons reach this TaskManager at: taskmanager.host, else the local
 * address of the route to the JobManager (Flink's rule); with high availability, where the
 * JobManager is known only later, the route to the first ZooKeeper server. *how says which. */
static int advertised_host(const fl_conf *conf, char *out, size_t len, const char **how,
                           fl_err *err)
{
    const char *host = fl_conf_get_str(conf, "taskmanager.host");
    if (host && *host) {
        snprintf(out, len, "%s", host);
        *how = "taskmanager.host";
        return 0;
    }
    const char *jm = fl_conf_get_str(conf, "jobmanager.rpc.address");
    int port = (int)fl_conf_get_int(conf, "jobmanager.rpc.port");
    char zk_host[256];
    *how = "the local address of the route to the JobManager";
    if (fl_ha_enabled(conf)) {
        fl_zk_conf zc;
        char first[300];
        if (fl_zk_conf_load(conf, &zc, err) < 0)
            return -1;
        snprintf(first, sizeof first, "%.*s", (int)strcspn(zc.quorum, ","), zc.quorum);
        if (fl_parse_host_port(first, zk_host, sizeof zk_host, &port, err) < 0)
            return -1;
        jm = zk_host;
        *how = "the local address of the route to ZooKeeper (high availability)";
    }
    if (fl_route_address(jm, port, out, len, err) < 0) {
        fl_err_prefix(err, "taskmanager.host is not set and the address of the route to %s "
                           "cannot be found", jm);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    fl_conf *conf;
    fl_err err;
    fl_rpc *rpc = NULL;
    fl_netenv *net = NULL;
    fl_te *te = NULL;
    fl_tls *tls = NULL;
    int rc = 1, rpc_port, data_port;
    char resource_id[128];

    if (fl_daemon_init("taskmanager", argc, argv, &conf) < 0)
        return 1;
    const char *bind = fl_conf_get_str(conf, "taskmanager.bind-host");
    int64_t nslots = fl_conf_get_int(conf, "taskmanager.numberOfTaskSlots");
    if (nslots < 1 || nslots > FL_MAX_TM_SLOTS) {
        fl_err_set(&err, "taskmanager.numberOfTaskSlots must be 1 to %d (what the JobManager "
                         "accepts), not %lld", FL_MAX_TM_SLOTS, (long long)nslots);
        goto fail;
    }
    /* addresses and directories are never truncated: a shortened one is another */
    static const struct {
        const char *key;
        size_t max;
    } lens[] = {{"taskmanager.host", 255}, {"taskmanager.bind-host", 255},
                {"jobmanager.rpc.address", 255}, {"taskmanager.resource-id", 100},
                {"io.tmp.dirs", 900}};
    for (size_t i = 0; i < FL_ARRAY_LEN(lens); i++) {
        const char *v = fl_conf_get_str(conf, lens[i].key);
        if (v && strlen(v) > lens[i].max) {
            fl_err_set(&err, "%s must be at most %zu bytes, not %zu", lens[i].key, lens[i].max,
                       strlen(v));
            goto fail;
        }
    }
    char host[256];
    const char *how = "";
    if (advertised_host(conf, host, sizeof host, &how, &err) < 0)
        goto fail;
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
    if (!rpc || fl_rpc_listen(rpc, bind, (int)fl_conf_get_int(conf, "taskmanager.rpc.port"),
                              &rpc_port, &err) < 0) {
        fl_err_prefix(&err, "RPC server (taskmanager.rpc.port)");
        goto fail;
    }
    net = fl_netenv_new(conf, &err);
    if (net) {
        fl_netenv_set_secret(net, &secret);
        fl_netenv_set_tls(net, tls);
    }
    if (!net || fl_netenv_listen(net, bind, (int)fl_conf_get_int(conf, "taskmanager.data.port"),
                                 &data_port, &err) < 0) {
        fl_err_prefix(&err, "data server (taskmanager.data.port)");
        goto fail;
    }
    const char *fixed_id = fl_conf_get_str(conf, "taskmanager.resource-id");
    if (fixed_id && *fixed_id) {
        snprintf(resource_id, sizeof resource_id, "%s", fixed_id);
    } else {
        char rnd[7];
        fl_random_hex(rnd, 3);
        snprintf(resource_id, sizeof resource_id, "%.100s:%d-%s", host, rpc_port, rnd);
    }
    char ident[200];
    snprintf(ident, sizeof ident, "TaskManager %s", resource_id);
    fl_crash_set_identity(ident);
    fl_te_addr addr = {resource_id, host, rpc_port, data_port};
    te = fl_te_new(conf, rpc, net, &addr);
    if (!te) {
        fl_err_set(&err, "cannot create the TaskExecutor");
        goto fail;
    }
    if (fl_netenv_start(net, &err) < 0 || fl_te_start(te, &err) < 0 || fl_rpc_start(rpc, &err) < 0)
        goto fail;
    fl_info("TaskManager %s started: RPC bound to %s:%d, data bound to %s:%d, %lld slots; "
            "advertising %s:%d (RPC) and %s:%d (data), from %s", resource_id, bind, rpc_port,
            bind, data_port, (long long)nslots, host, rpc_port, host, data_port, how);
    if (fl_host_is_loopback(host) && !fl_ha_enabled(conf) &&
        !fl_host_is_loopback(fl_conf_get_str(conf, "jobmanager.rpc.address")))
        fl_warn("TaskManager %s advertises the loopback address %s (%s) but its JobManager is "
                "at %s: TaskManagers on other hosts cannot reach it",
                resource_id, host, how, fl_conf_get_str(conf, "jobmanager.rpc.address"));
    fl_supervise_started();
    if (secret.set)
        fl_info("Every RPC and data connection proves the cluster secret "
                "(security.cluster.secret-file).");

    fl_daemon_wait();
    fl_te_shutdown(te);
    rc = fl_te_refused(te) ? 2 : 0;
    goto out;
fail:
    fprintf(stderr, "flint-taskmanager: %s\n", err.msg);
    fl_error("TaskManager failed to start: %s", err.msg);
out:
    /* tasks (stopped with the TaskExecutor) first, then sockets, then the network stack */
    fl_rpc_stop(rpc);
    fl_te_free(te);
    fl_rpc_free(rpc);
    fl_netenv_free(net);
    fl_tls_free(tls);
    fl_conf_free(conf);
    if (rc == 0)
        fl_info("TaskManager stopped.");
    return rc;
}
