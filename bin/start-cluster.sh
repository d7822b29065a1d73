#!/usr/bin/env bash
# start-cluster.sh -- starts a Flint cluster (Flink's bin/start-cluster.sh): the JobManager
# (the host of conf/masters; all of them with high-availability.type: zookeeper), then one
# TaskManager per line of conf/workers. A host that is this machine (localhost, 127.x, its
# own name) is started here; any other over ssh (env.ssh.opts), or through the command of
# env.remote-exec, from the same install path and with the same FLINT_CONF_DIR,
# FLINT_LOG_DIR and FLINT_PID_DIR ({host} in them replaced by the host's name; see
# config.sh). Exits 1 when a daemon could not be started.
set -u

bin=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source=bin/config.sh
. "$bin/config.sh"

failed=0

# start_on HOST script args...: runs bin/<script> here or on HOST.
start_on() {
    local host="$1"
    shift
    flint_on_host "$host" "bin/$1" "${@:2}" || failed=1
}

masters=()
master_ports=()
if flint_read_hosts "$FLINT_CONF_DIR/masters"; then
    masters=(${FLINT_HOSTS[@]+"${FLINT_HOSTS[@]}"})
    master_ports=(${FLINT_HOST_PORTS[@]+"${FLINT_HOST_PORTS[@]}"})
fi

# the effective mode: high-availability.type, else the older high-availability
ha=$(flint_conf_value high-availability.type NONE)
if [ "${ha,,}" = zookeeper ]; then
    if [ "${#masters[@]}" -eq 0 ]; then
        echo "No masters in $FLINT_CONF_DIR/masters: high-availability needs at least one." >&2
        exit 1
    fi
    echo "Starting HA cluster with ${#masters[@]} masters."
    for i in "${!masters[@]}"; do
        # As Flink does with its web UI port: the masters file's port is the REST port; a
        # master on another host advertises that host (each publishes its own addresses in
        # ZooKeeper; their RPC ports are high-availability.jobmanager.port, any free one).
        args=()
        [ -n "${master_ports[i]}" ] && args=(-D "rest.port=${master_ports[i]}")
        if ! flint_is_local_host "${masters[i]}"; then
            args+=(-D "jobmanager.rpc.address=${masters[i]}" -D "rest.address=${masters[i]}")
        fi
        start_on "${masters[i]}" jobmanager.sh start ${args[@]+"${args[@]}"}
    done
else
    echo "Starting cluster."
    # Without high availability there is exactly one JobManager: the first master.
    if [ "${#masters[@]}" -gt 1 ]; then
        echo "[WARN] $FLINT_CONF_DIR/masters lists ${#masters[@]} hosts; without high-availability only the first, ${masters[0]}, runs a JobManager."
    fi
    start_on "${masters[0]:-localhost}" jobmanager.sh start
fi

if ! flint_read_hosts "$FLINT_CONF_DIR/workers"; then
    echo "No workers file. Please specify workers in '$FLINT_CONF_DIR/workers'." >&2
    exit 1
fi
remote_pids=()
for host in ${FLINT_HOSTS[@]+"${FLINT_HOSTS[@]}"}; do
    if flint_is_local_host "$host"; then
        flint_on_host "$host" bin/taskmanager.sh start || failed=1
    else
        flint_run_on "$host" bin/taskmanager.sh start &
        remote_pids+=($!)
    fi
done
for p in ${remote_pids[@]+"${remote_pids[@]}"}; do
    wait "$p" || failed=1
done
exit "$failed"
