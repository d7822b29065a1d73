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
#
# BENCH_TMP is a temp dir (conf, logs, pids, scratch), removed at exit with the cluster.
BENCH_HOME=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/flint-bench.XXXXXX")
export FLINT_CONF_DIR="$BENCH_TMP/conf" FLINT_LOG_DIR="$BENCH_TMP/log" FLINT_PID_DIR="$BENCH_TMP/pid"
mkdir -p "$FLINT_CONF_DIR" "$FLINT_LOG_DIR" "$FLINT_PID_DIR"
FLINT="$BENCH_HOME/build/bin/flint"
BENCH_REST_PORT=

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
    curl -s --max-time 3 "http://127.0.0.1:$BENCH_REST_PORT$1"
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
    "$FLINT" run "$@" >"$BENCH_TMP/$name.log" 2>&1 || rc=$?
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
    for p in $(cat "$FLINT_PID_DIR"/flint-*-taskmanager.pid 2>/dev/null); do
        [ -r "/proc/$p/stat" ] || continue
        # fields after the ")" of the command: utime is the 12th, stime the 13th
        ticks=$((ticks + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 + 0 }')))
    done
    echo $((ticks * 1000 / hz))
}

median() {
    sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
