#!/usr/bin/env bash
# hosts.sh -- sourced after lib.sh by the multi-host tests (test_hosts.sh, tests/faults/):
# hosts on one machine, as network namespaces (DESIGN.md §7, "Hosts").
#
#   hosts_require          ends the test as SKIPPED (exit 77, "SKIP: why") without root,
#                          ip or nft: never a silent pass
#   hosts_create N         hosts h1..hN: namespaces $HOSTS_NS-h<i>, each with lo up and one
#                          veth into a bridge in the namespace $HOSTS_NS-sw, addresses
#                          HOST_IP[i] = $HOSTS_NET.i/24 in a private range that exists only
#                          inside these namespaces; removed at exit, also when the test
#                          fails or is killed (a CLEANUP_HOOKS entry of lib.sh)
#   on_host I CMD...       runs CMD in host I
#   hosts_cluster_conf J   points the test's configuration at a cluster of these hosts: the
#                          JobManager on host J (RPC, REST), everything bound to 0.0.0.0,
#                          taskmanager.host unset (each TaskManager advertises its route to
#                          the JobManager), the cluster scripts reaching host hI through
#                          env.remote-exec 'ip netns exec $HOSTS_NS-{host}', per-host log and
#                          pid directories ($TEST_DIR/log/hI, $TEST_DIR/pid/hI)
#   rest METHOD PATH       (redefined) REST of the JobManager's host, from inside it
#   flint ARGS...          the CLI from inside the JobManager's host; FLINT_JM holds the
#                          same as a command line (for timeout)
#   nft_drop I NAME RULE   host I drops what RULE matches (an nft match expression, e.g.
#                          "ip saddr 10.1.2.3") on input, under a rule named NAME
#   nft_heal I [NAME]      removes host I's rule NAME (or all of them)
#   host_daemon I SCRIPT ARGS...   bin/SCRIPT (taskmanager.sh start ...) on host I, with its
#                          directories
#   host_log I DAEMON N    host I's log file of DAEMON instance N
#
# The namespaces are named after the test's pid: two tests never collide, and a killed
# test's leftovers (flint-<pid>-*) are removed by the next test that finds its pid gone.
set -u

HOSTS_NS="flint-$$"
HOSTS_N=0
HOST_IP=()
JM_HOST=1
# 10.213.X.0/24 with X from the pid: private, and unlikely to meet another test's
HOSTS_NET="10.213.$(($$ % 250 + 1))"

hosts_require() {
    local why=
    [ "$(id -u)" = 0 ] || why="the multi-host tests need root (network namespaces)"
    command -v ip >/dev/null 2>&1 || why="${why:+$why; }'ip' (iproute2) is missing"
    command -v nft >/dev/null 2>&1 || why="${why:+$why; }'nft' (nftables) is missing: make deps installs it"
    if [ -n "$why" ]; then
        echo "  SKIP: $why"
        trap - EXIT
        rm -rf -- "$TEST_DIR"
        exit 77
    fi
}

hosts_cleanup() {
    local ns
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$HOSTS_NS-"); do
        ip netns del "$ns" 2>/dev/null
    done
}

# Namespaces of earlier test processes that are gone (a test killed with -9).
hosts_reap() {
    local ns pid
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^flint-[0-9]*-'); do
        pid=${ns#flint-}
        pid=${pid%%-*}
        kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null
    done
}

hosts_create() {
    local n=$1 i sw="$HOSTS_NS-sw" ns
    hosts_reap
    CLEANUP_HOOKS+=(hosts_cleanup)
    ip netns add "$sw" || fail "ip netns add $sw failed"
    ip -n "$sw" link add br0 type bridge || fail "cannot create a bridge in $sw"
    ip -n "$sw" link set br0 up
    ip -n "$sw" link set lo up
    for i in $(seq "$n"); do
        ns="$HOSTS_NS-h$i"
        ip netns add "$ns" || fail "ip netns add $ns failed"
        ip -n "$ns" link set lo up
        ip link add "fl$$h$i" type veth peer name "fl$$s$i" || fail "cannot create veth fl$$h$i"
        ip link set "fl$$h$i" netns "$ns"
        ip link set "fl$$s$i" netns "$sw"
        ip -n "$ns" link set "fl$$h$i" name eth0
        ip -n "$sw" link set "fl$$s$i" master br0
        ip -n "$sw" link set "fl$$s$i" up
        HOST_IP[i]="$HOSTS_NET.$i"
        ip -n "$ns" addr add "${HOST_IP[i]}/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip netns exec "$ns" nft add table inet flint
        ip netns exec "$ns" nft add chain inet flint input \
            '{ type filter hook input priority 0; policy accept; }'
    done
    HOSTS_N=$n
}

on_host() {
    local i=$1
    shift
    ip netns exec "$HOSTS_NS-h$i" "$@"
}

hosts_cluster_conf() {
    JM_HOST=$1
    local jm="${HOST_IP[$JM_HOST]}" i
    FLINT_JM=(ip netns exec "$HOSTS_NS-h$JM_HOST" "$BIN/flint" -m "$jm:$REST_PORT")
    conf_set jobmanager.rpc.address "$jm"
    conf_set jobmanager.bind-host 0.0.0.0
    conf_set rest.address "$jm"
    conf_set rest.bind-address 0.0.0.0
    conf_set taskmanager.bind-host 0.0.0.0
    conf_unset taskmanager.host
    conf_set env.remote-exec "ip netns exec $HOSTS_NS-{host}"
    echo "h$JM_HOST:$REST_PORT" >"$FLINT_CONF_DIR/masters"
    : >"$FLINT_CONF_DIR/workers"
    for i in $(seq "$HOSTS_N"); do
        [ "$i" = "$JM_HOST" ] || echo "h$i" >>"$FLINT_CONF_DIR/workers"
    done
    export FLINT_LOG_DIR="$TEST_DIR/log/{host}" FLINT_PID_DIR="$TEST_DIR/pid/{host}"
    FLINT_LOG_DIR_TEMPLATE=$FLINT_LOG_DIR
    FLINT_PID_DIR_TEMPLATE=$FLINT_PID_DIR
    export FLINT_LOG_DIR_TEMPLATE FLINT_PID_DIR_TEMPLATE
    # (lib.sh's cleanup looks at $TEST_DIR/pid/*/*.pid and prints $TEST_DIR/log/*/*)
}

rest() {
    on_host "$JM_HOST" curl -s --max-time 3 -X "$1" "http://${HOST_IP[$JM_HOST]}:$REST_PORT$2"
}

rest_status() {
    on_host "$JM_HOST" curl -s --max-time 3 -o /dev/null -w '%{http_code}' -X "$1" \
        "http://${HOST_IP[$JM_HOST]}:$REST_PORT$2"
}

flint() {
    "${FLINT_JM[@]}" "$@"
}

nft_drop() {
    local i=$1 name=$2 rule=$3
    # shellcheck disable=SC2086 # the rule is an nft expression of several words
    on_host "$i" nft add rule inet flint input $rule drop comment "\"$name\"" ||
        fail "nft: cannot add rule '$rule' on h$i"
}

nft_heal() {
    local i=$1 name=${2:-} h
    if [ -z "$name" ]; then
        on_host "$i" nft flush chain inet flint input
        return
    fi
    for h in $(on_host "$i" nft -a list chain inet flint input |
        sed -n "s/.*comment \"$name\" # handle \([0-9]*\)/\1/p"); do
        on_host "$i" nft delete rule inet flint input handle "$h"
    done
}

host_daemon() {
    local i=$1
    shift
    on_host "$i" env HOSTNAME="h$i" "$BIN/$1" "${@:2}"
}

host_log() {
    echo "$TEST_DIR/log/h$1/flint-$FLINT_USER-$2-$3-h$1.log"
}
