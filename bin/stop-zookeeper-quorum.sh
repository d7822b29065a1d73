#!/usr/bin/env bash
# stop-zookeeper-quorum.sh -- stops what start-zookeeper-quorum.sh started (Flink's
# bin/stop-zookeeper-quorum.sh): bin/zookeeper.sh stop N for every line server.N=host:... of
# $FLINT_CONF_DIR/zoo.cfg, on its host; without server lines the local peers.
set -u

flint_skip_build_check=1
bin=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source=bin/config.sh
. "$bin/config.sh"

ZOO_CFG="$FLINT_CONF_DIR/zoo.cfg"
found=0
if [ -f "$ZOO_CFG" ]; then
    while IFS= read -r line; do
        if [[ "$line" =~ ^[[:space:]]*server\.([0-9]+)[[:space:]]*=[[:space:]]*([^:;[:space:]]+) ]]; then
            found=1
            flint_on_host "${BASH_REMATCH[2]}" bin/zookeeper.sh stop "${BASH_REMATCH[1]}"
        fi
    done <"$ZOO_CFG"
fi
if [ "$found" = 0 ]; then
    "$bin/zookeeper.sh" stop-all
fi
exit 0
