#!/usr/bin/env bash
# start-zookeeper-quorum.sh -- starts the ZooKeeper quorum of $FLINT_CONF_DIR/zoo.cfg (Flink's
# bin/start-zookeeper-quorum.sh): for every line server.N=host:..., bin/zookeeper.sh start N
# on that host, here when it is this machine, else over ssh or env.remote-exec as
# start-cluster.sh does. Without server lines: one server here. Exits 1 when one could not
# be started.
set -u

flint_skip_build_check=1
bin=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source=bin/config.sh
. "$bin/config.sh"

ZOO_CFG="$FLINT_CONF_DIR/zoo.cfg"
if [ ! -f "$ZOO_CFG" ]; then
    echo "[ERROR] No ZooKeeper configuration: $ZOO_CFG is missing." >&2
    exit 1
fi
failed=0
found=0
while IFS= read -r line; do
    if [[ "$line" =~ ^[[:space:]]*server\.([0-9]+)[[:space:]]*=[[:space:]]*([^:;[:space:]]+) ]]; then
        found=1
        peer=${BASH_REMATCH[1]}
        host=${BASH_REMATCH[2]}
        flint_on_host "$host" bin/zookeeper.sh start "$peer" || failed=1
    fi
done <"$ZOO_CFG"
if [ "$found" = 0 ]; then
    "$bin/zookeeper.sh" start 1 || failed=1
fi
exit "$failed"
