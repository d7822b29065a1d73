#!/usr/bin/env bash
# stop-cluster.sh -- stops what start-cluster.sh started (Flink's bin/stop-cluster.sh): all
# TaskManagers of every host in conf/workers, then the JobManager(s) of conf/masters. Local
# hosts are handled here, other hosts over ssh (see start-cluster.sh). Each host is visited
# once, with stop-all.
set -u

flint_skip_build_check=1
bin=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source=bin/config.sh
. "$bin/config.sh"

# stop_all_on SCRIPT HOST...: stop-all once here (if any host is local) and once per other host.
stop_all_on() {
    local script="$1" host local_done=0 seen=" " pids=() p
    shift
    for host in "$@"; do
        if flint_is_local_host "$host"; then
            [ "$local_done" = 1 ] && continue
            local_done=1
            flint_on_host "$host" "bin/$script" stop-all
        else
            case "$seen" in *" $host "*) continue ;; esac
            seen+="$host "
            flint_run_on "$host" "bin/$script" stop-all &
            pids+=($!)
        fi
    done
    for p in ${pids[@]+"${pids[@]}"}; do
        wait "$p"
    done
}

workers=(localhost)
if flint_read_hosts "$FLINT_CONF_DIR/workers" && [ "${#FLINT_HOSTS[@]}" -gt 0 ]; then
    workers=("${FLINT_HOSTS[@]}")
fi
stop_all_on taskmanager.sh "${workers[@]}"

masters=(localhost)
if flint_read_hosts "$FLINT_CONF_DIR/masters" && [ "${#FLINT_HOSTS[@]}" -gt 0 ]; then
    masters=("${FLINT_HOSTS[@]}")
fi
stop_all_on jobmanager.sh "${masters[@]}"
