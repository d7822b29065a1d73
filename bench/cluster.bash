# cluster.bash -- sourced by the job benchmarks (bench/wordcount.sh, pipeline.sh, shuffle.sh):
# a private Flint cluster on free loopback ports, stopped when the benchmark exits.
# (Not named *.sh: bench/run.sh runs every bench/*.sh.)
#
#   bench_build                      builds what is missing (make -j2)
#   bench_cluster_start TMS SLOTS [KEY=VALUE]...
#                                    a JobManager and TMS TaskManagers of SLOTS slots each
#                                    (extra configuration keys given), waits until they have
#                                    registered; a cluster started before is stopped first
#   bench_wait_slots N               until the cluster has N slots
#   bench_text MB                    generated text of MB MB (made once), its path
#   bench_run NAME FLINT_RUN_ARGS... `flint run` attached; sets RUN_WALL_MS (client start to
#                                    exit: startup included) and RUN_JOB_MS (its "Job
#                                    Runtime: N ms"); output in $BENCH_TMP/NAME.log
#   tm_cpu_ms                        CPU time (user+sys) of all TaskManagers so far, in ms
#   median                           the median of the numbers on stdin
#   bench_s3rver_start               s3rver on a free loopback port (BENCH_S3_ENDPOINT),
#                                    bucket flint, stopped at exit; 1 when not installed
#   bench_hosts_cluster_start TMS SLOTS
#                                    as root with ip(8): the same cluster on separate hosts,
#                                    network namespaces on a bridge (the JobManager on one,
#                                    a TaskManager on each of TMS others, started through
#                                    bin/start-cluster.sh and env.remote-exec); returns 1
#                                    when this machine cannot; REST and flint run go through
#                                    the JobManager's host from then on
#
# BENCH_TMP is a temp dir (conf, logs, pids, scratch), removed at exit with the cluster.
BENCH_HOME=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/flint-bench.XXXXXX")
export FLINT_CONF_DIR="$BENCH_TMP/conf" FLINT_LOG_DIR="$BENCH_TMP/log" FLINT_PID_DIR="$BENCH_TMP/pid"
mkdir -p "$FLINT_CONF_DIR" "$FLINT_LOG_DIR" "$FLINT_PID_DIR"
# the daemons' per-user directory (default checkpoint directory, blob store) goes into the
# bench's directory too, removed with it
export TMPDIR="$BENCH_TMP/tmp"
mkdir -m 700 -- "$TMPDIR"
FLINT="$BENCH_HOME/build/bin/flint"
BENCH_REST_PORT=
BENCH_REST_HOST=127.0.0.1
BENCH_NS=          # set by bench_hosts_cluster_start
BENCH_ON_JM=()     # prefix of commands run on the JobManager's host
BENCH_S3PID=       # set by bench_s3rver_start

bench_now_ms() {
    local t
    t=$(date +%s%N)
    echo $((t / 1000000))
}

bench_free_port() {
    python3 -S -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

bench_build() {
    (cd "$BENCH_HOME" && make -s -j2 >/dev/null) || {
        echo "bench: make failed" >&2
        exit 1
    }
}

bench_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    FLINT_STOP_TIMEOUT=3 "$BENCH_HOME/bin/taskmanager.sh" stop-all >/dev/null 2>&1
    FLINT_STOP_TIMEOUT=3 "$BENCH_HOME/bin/jobmanager.sh" stop-all >/dev/null 2>&1
    [ -z "$BENCH_S3PID" ] || kill "$BENCH_S3PID" 2>/dev/null
    bench_hosts_stop
    if [ "$rc" != 0 ]; then
        for f in "$FLINT_LOG_DIR"/*.log; do
            [ -f "$f" ] || continue
            echo "----- $(basename -- "$f") (last 30 lines) -----" >&2
            tail -n 30 -- "$f" >&2
        done
    fi
    rm -rf -- "$BENCH_TMP"
    exit "$rc"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bench_rest() {
    ${BENCH_ON_JM[@]+"${BENCH_ON_JM[@]}"} curl -s --max-time 3 "http://$BENCH_REST_HOST:$BENCH_REST_PORT$1"
}

bench_hosts_stop() {
    local p ns
    [ -n "$BENCH_NS" ] || return 0
    for p in $(cat "$BENCH_TMP"/pid/*/*.pid 2>/dev/null); do
        kill -9 "$p" 2>/dev/null
    done
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$BENCH_NS-"); do
        ip netns del "$ns"
    done
    BENCH_NS=
    BENCH_ON_JM=()
    BENCH_REST_HOST=127.0.0.1
}

bench_hosts_cluster_start() {
    local tms=$1 slots=$2 i net="10.215.$(($$ % 250 + 1))"
    [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 || return 1
    FLINT_STOP_TIMEOUT=3 "$BENCH_HOME/bin/taskmanager.sh" stop-all >/dev/null 2>&1 || true
    FLINT_STOP_TIMEOUT=3 "$BENCH_HOME/bin/jobmanager.sh" stop-all >/dev/null 2>&1 || true
    bench_hosts_stop
    BENCH_NS="flint-bench-$$"
    ip netns add "$BENCH_NS-sw" && ip -n "$BENCH_NS-sw" link add br0 type bridge &&
        ip -n "$BENCH_NS-sw" link set br0 up || return 1
    for ((i = 1; i <= tms + 1; i++)); do
        ip netns add "$BENCH_NS-h$i" || return 1
        ip -n "$BENCH_NS-h$i" link set lo up
        ip link add "fb$$h$i" type veth peer name "fb$$s$i" || return 1
        ip link set "fb$$h$i" netns "$BENCH_NS-h$i"
        ip link set "fb$$s$i" netns "$BENCH_NS-sw"
        ip -n "$BENCH_NS-sw" link set "fb$$s$i" master br0
        ip -n "$BENCH_NS-sw" link set "fb$$s$i" up
        ip -n "$BENCH_NS-h$i" addr add "$net.$i/24" dev "fb$$h$i"
        ip -n "$BENCH_NS-h$i" link set "fb$$h$i" up
    done
    BENCH_REST_PORT=$(bench_free_port)
    BENCH_REST_HOST="$net.1"
    {
        grep -Ev '^[[:space:]]*(jobmanager\.rpc\.address|jobmanager\.rpc\.port|jobmanager\.bind-host|taskmanager\.host|taskmanager\.bind-host|rest\.address|rest\.bind-address|rest\.port|taskmanager\.numberOfTaskSlots)[[:space:]]*:' \
            "$BENCH_HOME/conf/flint-conf.yaml"
        printf '%s\n' "jobmanager.rpc.address: $net.1" "jobmanager.rpc.port: $(bench_free_port)" \
            "jobmanager.bind-host: 0.0.0.0" "taskmanager.bind-host: 0.0.0.0" \
            "rest.address: $net.1" "rest.bind-address: 0.0.0.0" "rest.port: $BENCH_REST_PORT" \
            "taskmanager.numberOfTaskSlots: $slots" "env.remote-exec: ip netns exec $BENCH_NS-{host}"
        # the pid files name the daemons themselves (kill -9, SIGSTOP and CPU time of them)
        printf '%s\n' "taskmanager.supervisor.enabled: false" "jobmanager.supervisor.enabled: false"
    } >"$FLINT_CONF_DIR/flint-conf.yaml"
    echo "h1:$BENCH_REST_PORT" >"$FLINT_CONF_DIR/masters"
    for ((i = 2; i <= tms + 1; i++)); do echo "h$i"; done >"$FLINT_CONF_DIR/workers"
    FLINT_LOG_DIR="$BENCH_TMP/log/{host}" FLINT_PID_DIR="$BENCH_TMP/pid/{host}" \
        "$BENCH_HOME/bin/start-cluster.sh" >/dev/null || return 1
    BENCH_ON_JM=(ip netns exec "$BENCH_NS-h1")
    bench_wait_slots $((tms * slots))
}

bench_cluster_start() {
    local tms=$1 slots=$2 rpc i kv
    shift 2
    # a cluster this benchmark started before goes first (one cluster at a time)
    FLINT_STOP_TIMEOUT=3 "$BENCH_HOME/bin/taskmanager.sh" stop-all >/dev/null 2>&1 || true
    FLINT_STOP_TIMEOUT=3 "$BENCH_HOME/bin/jobmanager.sh" stop-all >/dev/null 2>&1 || true
    rpc=$(bench_free_port)
    BENCH_REST_PORT=$(bench_free_port)
    cp -- "$BENCH_HOME"/conf/* "$FLINT_CONF_DIR"/
    {
        grep -Ev '^[[:space:]]*(jobmanager\.rpc\.address|jobmanager\.rpc\.port|jobmanager\.bind-host|taskmanager\.host|taskmanager\.bind-host|rest\.address|rest\.bind-address|rest\.port|taskmanager\.numberOfTaskSlots)[[:space:]]*:' \
            "$BENCH_HOME/conf/flint-conf.yaml"
        printf '%s\n' "jobmanager.rpc.address: 127.0.0.1" "jobmanager.rpc.port: $rpc" \
            "jobmanager.bind-host: 127.0.0.1" "taskmanager.host: 127.0.0.1" \
            "taskmanager.bind-host: 127.0.0.1" "rest.address: 127.0.0.1" \
            "rest.bind-address: 127.0.0.1" "rest.port: $BENCH_REST_PORT" \
            "taskmanager.numberOfTaskSlots: $slots"
        # the pid files name the daemons themselves (kill -9, SIGSTOP and CPU time of them)
        printf '%s\n' "taskmanager.supervisor.enabled: false" "jobmanager.supervisor.enabled: false"
        for kv in "$@"; do echo "${kv%%=*}: ${kv#*=}"; done
    } >"$FLINT_CONF_DIR/flint-conf.yaml"
    "$BENCH_HOME/bin/jobmanager.sh" start >/dev/null || exit 1
    for ((i = 0; i < tms; i++)); do
        "$BENCH_HOME/bin/taskmanager.sh" start >/dev/null || exit 1
    done
    bench_wait_slots $((tms * slots))
}

# bench_wait_slots N: until the cluster has N slots (exits the benchmark after 10 s).
bench_wait_slots() {
    local i total
    for ((i = 0; i < 100; i++)); do
        total=$(bench_rest /overview | python3 -S -c 'import json,sys; print(json.load(sys.stdin)["slots-total"])' 2>/dev/null) ||
            total=0
        [ "${total:-0}" = "$1" ] && return 0
        sleep 0.1
    done
    echo "bench: the cluster did not come up with $1 slots" >&2
    exit 1
}

# bench_text MB: the path of MB MB of generated text (tests/cluster/ref/gen_text.py, seed 1,
# 50000 words), generated into build/bench/data/ once.
bench_text() {
    local f="$BENCH_HOME/build/bench/data/text-$1mb-seed1.txt"
    if [ ! -f "$f" ]; then
        echo "generating $1 MB of text into $f (once)..." >&2
        mkdir -p "$(dirname -- "$f")"
        python3 -S "$BENCH_HOME/tests/cluster/ref/gen_text.py" --seed 1 --bytes $(($1 << 20)) \
            --vocab 50000 "$f.tmp" >&2 || exit 1
        mv -- "$f.tmp" "$f"
    fi
    echo "$f"
}

bench_run() {
    local name=$1 t0 rc=0
    shift
    t0=$(bench_now_ms)
    ${BENCH_ON_JM[@]+"${BENCH_ON_JM[@]}"} "$FLINT" -m "$BENCH_REST_HOST:$BENCH_REST_PORT" run "$@" \
        >"$BENCH_TMP/$name.log" 2>&1 || rc=$?
    RUN_WALL_MS=$(($(bench_now_ms) - t0))
    if [ "$rc" != 0 ]; then
        echo "bench: flint run $* failed (exit $rc):" >&2
        cat "$BENCH_TMP/$name.log" >&2
        exit 1
    fi
    RUN_JOB_MS=$(sed -n 's/^Job Runtime: \([0-9]*\) ms$/\1/p' "$BENCH_TMP/$name.log")
}

tm_cpu_ms() {
    local p ticks=0 hz
    hz=$(getconf CLK_TCK)
    for p in $(cat "$BENCH_TMP"/pid/flint-*-taskmanager.pid "$BENCH_TMP"/pid/*/flint-*-taskmanager.pid 2>/dev/null); do
        [ -r "/proc/$p/stat" ] || continue
        # fields after the ")" of the command: utime is the 12th, stime the 13th
        ticks=$((ticks + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 + 0 }')))
    done
    echo $((ticks * 1000 / hz))
}

# bench_s3rver_start: s3rver (tests/s3, installed by `make deps`) on a free loopback port,
# its data in $BENCH_TMP/s3 (the local disk: S3 figures are the cost of the protocol),
# bucket flint, stopped at exit; sets BENCH_S3_ENDPOINT. Returns 1 when node or s3rver is
# missing.
bench_s3rver_start() {
    local s3rver="$BENCH_HOME/tests/s3/node_modules/s3rver/bin/s3rver.js" port
    command -v node >/dev/null && [ -f "$s3rver" ] || return 1
    port=$(bench_free_port)
    mkdir -p "$BENCH_TMP/s3"
    # s3rver's continuation tokens use DES, which OpenSSL 3 keeps in its legacy provider
    node --openssl-legacy-provider "$s3rver" -d "$BENCH_TMP/s3" -a 127.0.0.1 -p "$port" -s \
        --configure-bucket flint >"$BENCH_TMP/s3rver.log" 2>&1 &
    BENCH_S3PID=$!
    BENCH_S3_ENDPOINT="http://127.0.0.1:$port"
    for _ in $(seq 100); do
        curl -s -o /dev/null "$BENCH_S3_ENDPOINT/" && return 0
        sleep 0.1
    done
    echo "bench: s3rver did not start: $(cat "$BENCH_TMP/s3rver.log")" >&2
    exit 1
}

median() {
    sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
