#!/usr/bin/env bash
# shellcheck disable=SC2034 # the variables set here are the tests'
# ha_lib.sh -- sourced after lib.sh and checkpoint_lib.sh by the high-availability tests
# (test_ha*.sh; issue 11 points 8-10). Not a test itself.
#
#   zk_start N         N ZooKeeper servers (a quorum when N > 1) through bin/zookeeper.sh, on
#                      free loopback ports, data and configuration in $TEST_DIR/zk; ZK_QUORUM
#                      is their host:port list. Stopped however the test ends (CLEANUP_HOOKS).
#   zk_stop I / zk_kill I / zk_peer_start I   stop (SIGTERM), kill -9, start server I again
#   ha_conf [SESSION]  the test's configuration in HA mode against ZK_QUORUM (session timeout
#                      SESSION, default 2 s; storage $TEST_DIR/ha; the CLI retries every 200 ms)
#   jm_start PORT      a JobManager with REST on PORT (any free RPC port); JM_PORTS lists them
#   jm_pid PORT        the pid of the live JobManager whose REST port is PORT
#   leader_port        the REST port of the JobManager that says it leads, not suspended
#   wait_new_leader OLD T   until a JobManager other than REST port OLD leads; LEADER_PORT
#   rest METHOD PATH   (redefined) the leader's answer: tries every JobManager, follows a
#                      standby's redirect, skips one that has no leader to name
#   all_tasks_running J     true when job J's tasks all run under the leader
#   jm_logs            every JobManager log of the test
#   restores J         "N1 N2 ...": the checkpoints job J was restored from, by any leader,
#                      in time order (failover restarts and recoveries alike)
#   wc_expect FILE     the reference word counts of FILE (ref/word_counts.py) into FILE.counts
set -u

ZK_DIR="$TEST_DIR/zk"
ZK_QUORUM=
ZK_CLIENT=()
JM_PORTS=()
LEADER_PORT=

zk_env() {
    env FLINT_CONF_DIR="$ZK_DIR/conf" FLINT_PID_DIR="$ZK_DIR/pid" FLINT_LOG_DIR="$TEST_DIR/log" "$@"
}

zk_cleanup() {
    [ -d "$ZK_DIR/pid" ] && zk_env "$BIN/zookeeper.sh" stop-all >/dev/null 2>&1
    return 0
}

zk_start() {
    local n=$1 i
    mkdir -p "$ZK_DIR/conf" "$ZK_DIR/pid" "$ZK_DIR/data"
    CLEANUP_HOOKS+=(zk_cleanup)
    {
        echo "tickTime=250"
        echo "minSessionTimeout=1000"
        echo "maxSessionTimeout=60000"
        echo "initLimit=40"
        echo "syncLimit=20"
        echo "dataDir=$ZK_DIR/data"
        echo "admin.enableServer=false"
        echo "4lw.commands.whitelist=ruok,srvr,stat"
        for i in $(seq "$n"); do
            ZK_CLIENT[i]=$(free_port)
            # one server runs alone (no server line); a quorum's each name their client port
            if [ "$n" = 1 ]; then
                echo "clientPort=${ZK_CLIENT[i]}"
                echo "clientPortAddress=127.0.0.1"
            else
                echo "server.$i=127.0.0.1:$(free_port):$(free_port);127.0.0.1:${ZK_CLIENT[i]}"
            fi
        done
    } >"$ZK_DIR/conf/zoo.cfg"
    ZK_QUORUM=
    for i in $(seq "$n"); do
        ZK_QUORUM+="${ZK_QUORUM:+,}127.0.0.1:${ZK_CLIENT[i]}"
    done
    for i in $(seq "$n"); do
        zk_peer_start "$i"
    done
}

zk_peer_start() {
    zk_env "$BIN/zookeeper.sh" start "$1" >/dev/null || fail "ZooKeeper server $1 did not start"
}

zk_stop() {
    zk_env "$BIN/zookeeper.sh" stop "$1" >/dev/null
}

zk_kill() {
    local p
    p=$(cat "$ZK_DIR/pid/flint-$FLINT_USER-zookeeper-$1.pid" 2>/dev/null)
    [ -n "$p" ] && kill -9 "$p" 2>/dev/null
    rm -f "$ZK_DIR/pid/flint-$FLINT_USER-zookeeper-$1.pid"
}

ha_conf() {
    conf_set high-availability.type zookeeper
    conf_set high-availability.zookeeper.quorum "$ZK_QUORUM"
    conf_set high-availability.storageDir "$TEST_DIR/ha"
    conf_set high-availability.cluster-id "/$TEST_NAME-$$"
    conf_set high-availability.zookeeper.client.session-timeout "${1:-2 s}"
    conf_set high-availability.zookeeper.client.retry-wait "200 ms"
    conf_set high-availability.zookeeper.client.max-retry-attempts 150
}

jm_start() {
    "$BIN/jobmanager.sh" start -D "rest.port=$1" >/dev/null || fail "jobmanager.sh start (REST $1) failed"
    JM_PORTS+=("$1")
}

jm_pid() {
    local p
    for p in $(pids_of jobmanager); do
        is_flint_pid "$p" && grep -aq "rest.port=$1" "/proc/$p/cmdline" 2>/dev/null && echo "$p" && return 0
    done
    return 1
}

# The REST port of the JobManager that leads (its /overview says so).
leader_port() {
    local p
    for p in "${JM_PORTS[@]}"; do
        if curl -s --max-time 2 "http://127.0.0.1:$p/overview" | grep -q '"leadership":"ACTIVE"'; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

new_leader_is() {
    local p
    p=$(leader_port) && [ "$p" != "$1" ] && LEADER_PORT=$p
}

wait_new_leader() {
    wait_for "new_leader_is $1" "$2" || fail "no JobManager but $1 leads after $2 s"
}

rest() {
    local p out ports=()
    [ -n "$LEADER_PORT" ] && ports=("$LEADER_PORT")
    ports+=("${JM_PORTS[@]}")
    for p in "${ports[@]}"; do
        out=$(curl -s -L --max-time 3 -X "$1" "http://127.0.0.1:$p$2") || continue
        [ -n "$out" ] || continue
        case "$out" in *'does not lead the cluster'* | *'leadership is suspended'*) continue ;; esac
        [ "$2" = /overview ] && [[ "$out" != *'"leadership":"ACTIVE"'* ]] && continue
        echo "$out"
        return 0
    done
    return 1
}

rest_status() {
    local p
    p=$(leader_port) || p=${JM_PORTS[0]}
    curl -s --max-time 3 -o /dev/null -w '%{http_code}' -X "$1" "http://127.0.0.1:$p$2"
}

all_tasks_running() {
    local o
    o=$(rest GET "/jobs/$1") || return 1
    py -c '
import json, sys
d = json.loads(sys.argv[1])
c = d.get("status-counts", {})
total = sum(v.get("parallelism", 0) for v in d.get("vertices", []))
sys.exit(0 if d.get("state") == "RUNNING" and total > 0 and c.get("RUNNING") == total else 1)
' "$o"
}

jm_logs() {
    ls "$TEST_DIR"/log/flint-"$FLINT_USER"-jobmanager-*.log \
        "$TEST_DIR"/log/*/flint-"$FLINT_USER"-jobmanager-*.log 2>/dev/null
}

restores() {
    local f
    for f in $(jm_logs); do
        grep -h "($1) restores from checkpoint" "$f"
    done | sort | sed -n "s/.*($1) restores from checkpoint \([0-9]*\) .*/\1/p" | tr '\n' ' ' |
        sed 's/ $//'
}

wc_expect() {
    py "$REF/word_counts.py" "$1" >"$1.counts" || fail "word_counts.py failed"
}
