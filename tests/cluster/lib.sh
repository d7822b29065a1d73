#!/usr/bin/env bash
# lib.sh -- sourced by every tests/cluster/test_*.sh. Gives a test its own cluster world:
#
#   TEST_DIR         a temp dir, removed at exit
#   FLINT_CONF_DIR   $TEST_DIR/conf: a copy of conf/ on 127.0.0.1 with per-test free ports
#                    (JM_RPC_PORT, REST_PORT); change it with conf_set KEY VALUE
#   FLINT_LOG_DIR    $TEST_DIR/log
#   FLINT_PID_DIR    $TEST_DIR/pid
#
# and helpers: free_port, rest GET PATH, rest_status, json_get PATH, wait_for CMD TIMEOUT_S,
# overview_is TMS SLOTS, pids_of DAEMON, log_of/out_of DAEMON N, step/note/fail, now_ms,
# part_order (the file sink's part names in subtask, part order).
#
# At exit (normal, failure, INT or TERM) every daemon started under FLINT_PID_DIR is stopped
# (stop-all for both daemons, then kill -9 of any pid still around); when the test failed, the
# daemon logs are printed first. Only bash, coreutils, curl and python3 are used.
set -u

FLINT_HOME=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
BIN="$FLINT_HOME/bin"
TEST_NAME=$(basename -- "$0" .sh)
TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/flint-$TEST_NAME.XXXXXX")
export FLINT_CONF_DIR="$TEST_DIR/conf"
export FLINT_LOG_DIR="$TEST_DIR/log"
export FLINT_PID_DIR="$TEST_DIR/pid"
FLINT_USER="${USER:-$(id -un)}"
FLINT_HOST="${HOSTNAME:-$(hostname)}"
mkdir -p "$FLINT_CONF_DIR" "$FLINT_LOG_DIR" "$FLINT_PID_DIR"
# the daemons' per-user directory (${TMPDIR}/flint-<user>: a JobManager's blob store when
# blob.storage.directory is unset, the default checkpoint directory) and every mktemp go
# into the test's directory: a JobManager killed with -9 cannot remove its blob store
export TMPDIR="$TEST_DIR/tmp"
mkdir -m 700 -- "$TMPDIR"

# The interpreter itself rather than a version manager's shim (pyenv's costs ~80 ms a
# call); -S skips site-packages, the helpers need only the standard library.
PYTHON=$(python3 -c 'import sys; print(sys.executable)') || {
    echo "  FAIL: the cluster tests need python3" >&2
    exit 1
}
py() {
    "$PYTHON" -S "$@"
}

now_ms() {
    local t
    t=$(date +%s%N)
    echo $((t / 1000000))
}
TEST_T0=$(now_ms)

# Prints a progress line with the time since the test started.
step() {
    local ms=$(($(now_ms) - TEST_T0))
    printf '  [%3d.%02ds] %s\n' $((ms / 1000)) $((ms % 1000 / 10)) "$*"
}

note() {
    echo "  NOTE: $*"
}

fail() {
    echo "  FAIL: $*" >&2
    exit 1
}

# A TCP port free on 127.0.0.1 right now (the kernel's pick).
# A port nothing listens on, and never one this test was given before: the kernel may hand
# out a port it has just given (the first caller had not bound it yet), and then two
# servers of one test (ZooKeeper and a REST port, seen under load) would want the same.
free_port() {
    local p
    while :; do
        p=$(py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
        grep -qx -- "$p" "$TEST_DIR/.ports-given" 2>/dev/null || break
    done
    echo "$p" >>"$TEST_DIR/.ports-given"
    echo "$p"
}

# conf_set KEY VALUE [CONF_DIR]: sets KEY in flint-conf.yaml, replacing earlier lines for it.
conf_set() {
    local file="${3:-$FLINT_CONF_DIR}/flint-conf.yaml" re="^[[:space:]]*${1//./\\.}[[:space:]]*:"
    { grep -v -- "$re" "$file"; echo "$1: $2"; } >"$file.tmp"
    mv -f -- "$file.tmp" "$file"
}

# prom_conf: the Prometheus reporter configured as Flink's (metrics.reporters: prom, its
# factory class, a port range of 21 from a free port: each daemon takes the first free one).
prom_conf() {
    local lo
    lo=$(free_port)
    conf_set metrics.reporters prom
    conf_set metrics.reporter.prom.factory.class \
        org.apache.flink.metrics.prometheus.PrometheusReporterFactory
    conf_set metrics.reporter.prom.port "$lo-$((lo + 20))"
    PROM_RANGE="$lo-$((lo + 20))"
}

# reporter_port DAEMON: the port the log of DAEMON's first instance says its Prometheus
# reporter took (empty before it started).
reporter_port() {
    sed -n 's/.*Started PrometheusReporter on .*:\([0-9]*\) .*/\1/p' "$(log_of "$1" 0)" | tail -1
}

# conf_unset KEY [CONF_DIR]: removes KEY from flint-conf.yaml (its default applies).
conf_unset() {
    local file="${2:-$FLINT_CONF_DIR}/flint-conf.yaml" re="^[[:space:]]*${1//./\\.}[[:space:]]*:"
    grep -v -- "$re" "$file" >"$file.tmp"
    mv -f -- "$file.tmp" "$file"
}

# rest GET /overview: the response body (empty when the server does not answer).
rest() {
    curl -s --max-time 3 -X "$1" "http://127.0.0.1:$REST_PORT$2"
}

# rest_status METHOD PATH: the HTTP status code (000 when there is no answer).
rest_status() {
    curl -s --max-time 3 -o /dev/null -w '%{http_code}' -X "$1" "http://127.0.0.1:$REST_PORT$2"
}

# json_get a.b.0.c: the value at that path of the JSON on stdin (lists indexed by number);
# exits 1 (printing nothing) when the input is not JSON or the path is missing.
json_get() {
    py -c '
import json, sys
try:
    v = json.load(sys.stdin)
    for p in sys.argv[1].split(".") if sys.argv[1] else []:
        v = v[int(p)] if isinstance(v, list) else v[p]
except Exception:
    sys.exit(1)
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
' "$1"
}

# wait_for CMD TIMEOUT_S: evaluates CMD every 0.1 s until it succeeds (0) or TIMEOUT_S have
# passed (1). WAITED_MS holds how long it took.
WAITED_MS=0
wait_for() {
    local cmd="$1" timeout_ms t0
    timeout_ms=$(awk -v t="$2" 'BEGIN { printf "%d", t * 1000 }')
    t0=$(now_ms)
    while :; do
        if eval "$cmd" >/dev/null 2>&1; then
            WAITED_MS=$(($(now_ms) - t0))
            return 0
        fi
        WAITED_MS=$(($(now_ms) - t0))
        [ "$WAITED_MS" -ge "$timeout_ms" ] && return 1
        sleep 0.1
    done
}

# The overview as "taskmanagers=N slots-total=M" ("no answer" when there is none).
overview_str() {
    rest GET /overview | py -c '
import json, sys
try:
    o = json.load(sys.stdin)
    print("taskmanagers=%s slots-total=%s" % (o["taskmanagers"], o["slots-total"]))
except Exception:
    print("no answer")
'
}

# True when /overview reports TMS TaskManagers and SLOTS slots in total.
overview_is() {
    [ "$(overview_str)" = "taskmanagers=$1 slots-total=$2" ]
}

pid_file_of() {
    echo "$FLINT_PID_DIR/flint-$FLINT_USER-$1.pid"
}

# The pids listed in a daemon's pid file, one per line.
pids_of() {
    local f
    f=$(pid_file_of "$1")
    [ -f "$f" ] && cat -- "$f"
    return 0
}

log_of() {
    echo "$FLINT_LOG_DIR/flint-$FLINT_USER-$1-$2-$FLINT_HOST.log"
}

out_of() {
    echo "$FLINT_LOG_DIR/flint-$FLINT_USER-$1-$2-$FLINT_HOST.out"
}

# True when pid $1 is a live Flint daemon (not a zombie, not a recycled pid of another program).
is_flint_pid() {
    local stat line tgid=
    [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null || return 1
    # a process, not a thread that reuses a dead daemon's pid (kill -9 would hit its process)
    while read -r line; do
        case "$line" in Tgid:*) tgid=${line##*[[:space:]]}; break ;; esac
    done <"/proc/$1/status" 2>/dev/null
    [ "$tgid" = "$1" ] || return 1
    read -r stat <"/proc/$1/stat" 2>/dev/null || return 1
    stat="${stat##*) }"
    [ "${stat%% *}" != Z ] && grep -aq flint "/proc/$1/cmdline" 2>/dev/null
}

# A fresh conf dir for this test: conf/ with everything on 127.0.0.1 and free ports.
JM_RPC_PORT=$(free_port)
REST_PORT=$(free_port)
while [ "$REST_PORT" = "$JM_RPC_PORT" ]; do REST_PORT=$(free_port); done
cp -- "$FLINT_HOME"/conf/* "$FLINT_CONF_DIR"/
conf_set jobmanager.rpc.address 127.0.0.1
conf_set jobmanager.rpc.port "$JM_RPC_PORT"
conf_set jobmanager.bind-host 127.0.0.1
conf_set taskmanager.host 127.0.0.1
conf_set taskmanager.bind-host 127.0.0.1
conf_set rest.address 127.0.0.1
conf_set rest.bind-address 127.0.0.1
conf_set rest.port "$REST_PORT"
# The tests kill -9 and SIGSTOP daemons to inject faults and expect them to stay dead or
# paused: no supervisor restarts them (test_crash.sh turns supervision on).
conf_set taskmanager.supervisor.enabled false
conf_set jobmanager.supervisor.enabled false
echo localhost >"$FLINT_CONF_DIR/workers"
echo "127.0.0.1:$REST_PORT" >"$FLINT_CONF_DIR/masters"

# Everything a test started is stopped, whatever way the test ends; then the functions
# named in CLEANUP_HOOKS run (hosts.sh removes its network namespaces so).
CLEANUP_HOOKS=()
cleanup() {
    local rc=$? pids p f
    trap - EXIT INT TERM
    pids=$(cat "$TEST_DIR"/pid/*.pid "$TEST_DIR"/pid/*/*.pid 2>/dev/null)
    for p in $pids; do
        is_flint_pid "$p" && kill -CONT "$p" 2>/dev/null # a SIGSTOPped one must see SIGTERM
    done
    if [ "$rc" != 0 ]; then
        for f in "$TEST_DIR"/log/* "$TEST_DIR"/log/*/*; do
            [ -f "$f" ] || continue
            echo "----- $(basename -- "$f") (last 60 lines) -----" >&2
            tail -n 60 -- "$f" >&2
        done
        # FLINT_TEST_KEEP_LOGS=DIR keeps a failed test's whole logs for a later read.
        if [ -n "${FLINT_TEST_KEEP_LOGS:-}" ]; then
            mkdir -p -- "$FLINT_TEST_KEEP_LOGS" &&
                cp -r -- "$TEST_DIR/log" "$FLINT_TEST_KEEP_LOGS/$(basename -- "$0" .sh)-$$"
        fi
    fi
    FLINT_STOP_TIMEOUT=3 "$BIN/taskmanager.sh" stop-all >/dev/null 2>&1
    FLINT_STOP_TIMEOUT=3 "$BIN/jobmanager.sh" stop-all >/dev/null 2>&1
    for p in $pids $(cat "$TEST_DIR"/pid/*.pid "$TEST_DIR"/pid/*/*.pid 2>/dev/null); do
        is_flint_pid "$p" && kill -9 "$p" 2>/dev/null
    done
    for f in ${CLEANUP_HOOKS[@]+"${CLEANUP_HOOKS[@]}"}; do
        "$f"
    done
    rm -rf -- "$TEST_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# part_order: file names (stdin) in subtask, then part number order: the last two fields of
# part-<job>-<subtask>-<n> (a job restored from a savepoint of another numbers its parts on
# from the savepoint's, so its parts come after the other's under one subtask)
part_order() {
    awk -F- '{ print $(NF - 1) "\t" $NF "\t" $0 }' | sort -t"$(printf '\t')" -k1,1n -k2,2n | cut -f3-
}
