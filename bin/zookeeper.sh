#!/usr/bin/env bash
# zookeeper.sh -- runs one ZooKeeper server (a peer of the quorum) on this host from
# $FLINT_CONF_DIR/zoo.cfg, for Flint's high availability (Flink's bin/zookeeper.sh):
#
#   zookeeper.sh (start|start-foreground) [PEER_ID]    (PEER_ID: its server.N line, default 1)
#   zookeeper.sh stop [PEER_ID]                          (default: every peer of this host)
#   zookeeper.sh stop-all
#
# The server is the Debian package's (make deps installs it; ZOOKEEPER_CLASSPATH names
# another jar) run by java (JAVA, ZOOKEEPER_JAVA_OPTS; its log level ZOOKEEPER_LOG_LEVEL,
# default warn, into the .out file). Peer N's configuration is zoo.cfg
# with its own data directory: <dataDir>/N when zoo.cfg lists several servers (so that
# several peers fit one host), else <dataDir>; its myid file is written there, and a client
# port on its server.N line (";port") is its own. Default dataDir:
# ${TMPDIR:-/tmp}/flint-<user>/zookeeper. Its pid file is
# $FLINT_PID_DIR/flint-$USER-zookeeper-N.pid, its output
# $FLINT_LOG_DIR/flint-$USER-zookeeper-N-$HOSTNAME.out. start returns once the server
# answers on its client port ("ruok"), or exits 1 with the end of its output.
set -u

USAGE="Usage: zookeeper.sh ((start|start-foreground) [peer-id])|stop [peer-id]|stop-all"

CMD="${1:-}"
case "$CMD" in
    start | start-foreground) ;;
    stop | stop-all) flint_skip_build_check=1 ;;
    *)
        echo "$USAGE" >&2
        exit 1
        ;;
esac
PEER="${2:-}"
if [ -n "$PEER" ] && ! [[ "$PEER" =~ ^[0-9]+$ ]]; then
    echo "zookeeper.sh: the peer id must be a number (its server.N line), not '$PEER'" >&2
    exit 1
fi
flint_skip_build_check=1
bin=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source=bin/config.sh
. "$bin/config.sh"

ZOO_CFG="$FLINT_CONF_DIR/zoo.cfg"
JAVA="${JAVA:-java}"
ZK_CP="${ZOOKEEPER_CLASSPATH:-/usr/share/java/zookeeper.jar}"
# its log lines (to the .out file) through slf4j-simple when the system has it
if [ -z "${ZOOKEEPER_CLASSPATH:-}" ] && [ -f /usr/share/java/slf4j-simple.jar ]; then
    ZK_CP="$ZK_CP:/usr/share/java/slf4j-simple.jar"
fi
ZK_OPTS="${ZOOKEEPER_JAVA_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
ZK_LOG_LEVEL="${ZOOKEEPER_LOG_LEVEL:-warn}"
START_TIMEOUT_S="${FLINT_ZK_START_TIMEOUT:-20}"

pid_file() {
    echo "$FLINT_PID_DIR/flint-$FLINT_IDENT_STRING-zookeeper-$1.pid"
}

# The value of KEY in zoo.cfg (the last one), or $2.
cfg_value() {
    local v
    v=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$ZOO_CFG" | tail -n 1)
    printf '%s\n' "${v:-${2:-}}"
}

# True when pid $1 is a ZooKeeper server started by this script.
is_zk() {
    [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null &&
        grep -aq QuorumPeerMain "/proc/$1/cmdline" 2>/dev/null
}

# Sends "ruok" to host:port: true when the answer is "imok".
zk_ok() {
    local r
    { exec 9<>"/dev/tcp/$1/$2"; } 2>/dev/null || return 1
    printf 'ruok' >&9
    read -r -t 2 -n 4 r <&9
    exec 9>&-
    [ "$r" = imok ]
}

stop_peer() {
    local f p i
    f=$(pid_file "$1")
    p=$(cat -- "$f" 2>/dev/null)
    rm -f -- "$f"
    if ! is_zk "$p"; then
        echo "No ZooKeeper peer $1 to stop on host $FLINT_HOSTNAME."
        return 0
    fi
    echo "Stopping ZooKeeper peer $1 (pid: $p) on host $FLINT_HOSTNAME."
    kill -TERM "$p" 2>/dev/null
    kill -CONT "$p" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        is_zk "$p" || return 0
        sleep 0.05
    done
    kill -KILL "$p" 2>/dev/null
}

if [ "$CMD" = stop ] || [ "$CMD" = stop-all ]; then
    if [ "$CMD" = stop ] && [ -n "$PEER" ]; then
        stop_peer "$PEER"
        exit 0
    fi
    found=0
    for f in "$FLINT_PID_DIR/flint-$FLINT_IDENT_STRING-zookeeper-"*.pid; do
        [ -e "$f" ] || continue
        found=1
        n=${f##*-zookeeper-}
        stop_peer "${n%.pid}"
    done
    [ "$found" = 1 ] || echo "No ZooKeeper peer to stop on host $FLINT_HOSTNAME."
    exit 0
fi

PEER="${PEER:-1}"
if [ ! -f "$ZOO_CFG" ]; then
    echo "[ERROR] No ZooKeeper configuration: $ZOO_CFG is missing." >&2
    exit 1
fi
if [ ! -f "${ZK_CP%%:*}" ]; then
    echo "[ERROR] ZooKeeper is not installed ($ZK_CP is missing): make deps installs the Debian zookeeper package, or set ZOOKEEPER_CLASSPATH." >&2
    exit 1
fi
command -v "$JAVA" >/dev/null 2>&1 || {
    echo "[ERROR] No java to run ZooKeeper with (JAVA=$JAVA)." >&2
    exit 1
}

# The peer's own configuration.
servers=$(grep -cE '^[[:space:]]*server\.[0-9]+[[:space:]]*=' "$ZOO_CFG")
line=$(sed -n "s/^[[:space:]]*server\.$PEER[[:space:]]*=[[:space:]]*//p" "$ZOO_CFG" | tail -n 1)
if [ "$servers" -gt 0 ] && [ -z "$line" ]; then
    echo "[ERROR] $ZOO_CFG has no line server.$PEER=... for peer $PEER." >&2
    exit 1
fi
data=$(cfg_value dataDir "$FLINT_USER_DIR/zookeeper")
[ "$servers" -gt 1 ] && data="$data/$PEER"
own_port=
own_addr=
if [[ "$line" == *";"* ]]; then # server.N=host:peer:election;[address:]client-port
    own_port=${line##*;}
    [[ "$own_port" == *:* ]] && own_addr=${own_port%:*}
    own_port=${own_port##*:}
fi
mkdir -p -- "$data" "$FLINT_LOG_DIR" || exit 1
if [ ! -e "$FLINT_PID_DIR" ]; then
    mkdir -p -- "$(dirname -- "$FLINT_PID_DIR")" || exit 1
fi
flint_private_dir "$FLINT_PID_DIR" "The pid directory (FLINT_PID_DIR)" || exit 1
echo "$PEER" >"$data/myid"
peer_cfg="$data/zoo-peer-$PEER.cfg"
{
    grep -vE '^[[:space:]]*dataDir[[:space:]]*=' "$ZOO_CFG" |
        if [ -n "$own_port" ]; then
            grep -vE '^[[:space:]]*clientPort(Address)?[[:space:]]*='
        else
            cat
        fi
    echo "dataDir=$data"
} >"$peer_cfg"
port=${own_port:-$(cfg_value clientPort 2181)}
addr=${own_addr:-$(cfg_value clientPortAddress 127.0.0.1)}
[ "$addr" = 0.0.0.0 ] && addr=127.0.0.1

old=$(cat -- "$(pid_file "$PEER")" 2>/dev/null)
if is_zk "$old"; then
    echo "[INFO] ZooKeeper peer $PEER is already running on host $FLINT_HOSTNAME (pid: $old)."
    exit 0
fi
# shellcheck disable=SC2206 # the options are words on purpose
java_cmd=("$JAVA" $ZK_OPTS -cp "$ZK_CP" "-Dzookeeper.log.dir=$FLINT_LOG_DIR"
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=$ZK_LOG_LEVEL" -Dorg.slf4j.simpleLogger.showDateTime=true
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$peer_cfg")

if [ "$CMD" = start-foreground ]; then
    echo $$ >"$(pid_file "$PEER")"
    echo "Starting ZooKeeper peer $PEER as a console application on host $FLINT_HOSTNAME (client port $port)."
    exec "${java_cmd[@]}"
fi

out="$FLINT_LOG_DIR/flint-$FLINT_IDENT_STRING-zookeeper-$PEER-$FLINT_HOSTNAME.out"
echo "Starting ZooKeeper peer $PEER on host $FLINT_HOSTNAME (client port $port, data $data)."
setsid=()
command -v setsid >/dev/null 2>&1 && setsid=(setsid)
${setsid[@]+"${setsid[@]}"} "${java_cmd[@]}" >>"$out" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$(pid_file "$PEER")"
for ((i = 0; i < START_TIMEOUT_S * 20; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
        rm -f -- "$(pid_file "$PEER")"
        tail -n 20 -- "$out" >&2
        echo "[ERROR] ZooKeeper peer $PEER exited right after start; see $out." >&2
        exit 1
    fi
    zk_ok "$addr" "$port" && exit 0
    # a peer of a quorum answers only once the quorum has formed: the others may still start
    [ "$servers" -gt 1 ] && [ "$i" -ge 20 ] && exit 0
    sleep 0.05
done
echo "[WARN] ZooKeeper peer $PEER (pid $pid) does not answer on $addr:$port after ${START_TIMEOUT_S}s; see $out." >&2
exit 0
