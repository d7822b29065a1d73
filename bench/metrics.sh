#!/usr/bin/env bash
# What watching a job costs it (issue 12, point 10). One command:
#   bench/metrics.sh [pairs] [records]
#
# The chained pipeline of bench/pipeline.sh (generateSequence -> map -> filter -> discard,
# -p 1) and the shuffle of bench/shuffle.sh are each run `pairs` times (default 3) with nobody
# watching ("off") and as many times while a watcher polls every second what Prometheus and
# a dashboard read ("on": both daemons' /metrics, the JobManager's /jobmanager/metrics, the
# TaskManager's /taskmanagers/:id/metrics, and for every vertex of the running job its
# metrics?get=... and its backpressure), off and on runs interleaved so that the machine's
# drift hits both alike (off-on, on-off, ...). The task counters themselves are always on (they are plain
# per-task increments, sampled by another thread); the Prometheus reporter is configured in
# both. Prints every run (job time, the CPU time the TaskManager and the JobManager spent
# during it, the load average), the median records/s of each and the ratio on/off (goal
# >= 0.98), and the median CPU time of the daemons on and off: on a machine others load, the
# CPU time says what watching costs our daemons when wall time is mostly noise.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
PAIRS=${1:-3}
N=${2:-100000000}

bench_build
PROM_LO=$(bench_free_port)
bench_cluster_start 1 2 "metrics.reporter.prom.port=$PROM_LO-$((PROM_LO + 20))"
log_port() { # the port a daemon's log says its reporter took
    sed -n 's/.*Started PrometheusReporter on .*:\([0-9]*\) .*/\1/p' "$FLINT_LOG_DIR"/flint-*-"$1"-0-*.log | tail -1
}
JM_PROM=$(log_port jobmanager)
TM_PROM=$(log_port taskmanager)
[ -n "$JM_PROM" ] && [ -n "$TM_PROM" ] || {
    echo "bench: no Prometheus reporter started" >&2
    exit 1
}

# The watcher: every second, what Prometheus and an open dashboard fetch.
watch_loop() {
    local job tm v
    tm=$(bench_rest /taskmanagers | python3 -S -c 'import json,sys; print(json.load(sys.stdin)["taskmanagers"][0]["id"])')
    while :; do
        curl -s --max-time 2 "http://127.0.0.1:$JM_PROM/metrics" >/dev/null || true
        curl -s --max-time 2 "http://127.0.0.1:$TM_PROM/metrics" >/dev/null || true
        bench_rest /jobmanager/metrics >/dev/null || true
        bench_rest "/taskmanagers/$tm/metrics?get=Status.JVM.CPU.Load,Status.Process.Memory.RSS" >/dev/null
        # no interpreter started per second: the watcher must cost what a browser does
        job=$(bench_rest /jobs/overview | grep -o '[0-9a-f]\{32\}' | head -3)
        for j in $job; do
            for v in 0 1 2; do
                bench_rest "/jobs/$j/vertices/$v/metrics?get=0.numRecordsIn,0.numRecordsOut,0.numRecordsInPerSecond,0.backPressuredTimeMsPerSecond" >/dev/null
                bench_rest "/jobs/$j/vertices/$v/backpressure" >/dev/null
            done
        done
        sleep 1
    done
}

jm_cpu_ms() { # CPU time (user+sys) of the JobManager so far, in ms
    local p
    p=$(head -n 1 "$BENCH_TMP"/pid/flint-*-jobmanager.pid)
    sed 's/.*) //' "/proc/$p/stat" | awk -v hz="$(getconf CLK_TCK)" '{ print int(($12 + $13) * 1000 / hz) }'
}

# run_one NAME ARGS...: the job's runtime in ms into $BENCH_TMP/NAME.ms, the CPU time the
# TaskManager and the JobManager spent meanwhile into NAME.tmcpu / NAME.jmcpu: on a machine
# others load, CPU time per record moves much less than wall time, and says what watching
# costs our daemons themselves
run_one() {
    local name=$1 tm0 jm0 tm jm
    shift
    tm0=$(tm_cpu_ms)
    jm0=$(jm_cpu_ms)
    bench_run "$name" "$@"
    tm=$(($(tm_cpu_ms) - tm0))
    jm=$(($(jm_cpu_ms) - jm0))
    echo "$RUN_JOB_MS" >>"$BENCH_TMP/$name.ms"
    echo "$tm" >>"$BENCH_TMP/$name.tmcpu"
    echo "$jm" >>"$BENCH_TMP/$name.jmcpu"
    printf '  %-12s job %6d ms   TaskManager CPU %6d ms   JobManager CPU %5d ms   load %s\n' \
        "$name" "$RUN_JOB_MS" "$tm" "$jm" "$(cut -d' ' -f1 /proc/loadavg)"
}

for i in $(seq "$PAIRS"); do
    order="off on"
    [ $((i % 2)) = 0 ] && order="on off" # ABBA: a trend in the machine's load hits both
    for mode in $order; do
        WATCHER=
        if [ "$mode" = on ]; then
            watch_loop &
            WATCHER=$!
        fi
        run_one "pipe-$mode" -p 1 "$BENCH_HOME/build/examples/bench_pipeline.so" --records "$N"
        run_one "shuffle-$mode" -p 2 "$BENCH_HOME/build/examples/bench_shuffle.so" --records $((N / 4))
        if [ -n "$WATCHER" ]; then
            kill "$WATCHER" 2>/dev/null || true
            wait "$WATCHER" 2>/dev/null || true
        fi
    done
done
m() { median <"$BENCH_TMP/$1"; }
python3 -S - "$N" \
    "$(m pipe-off.ms)" "$(m pipe-on.ms)" "$(m shuffle-off.ms)" "$(m shuffle-on.ms)" \
    "$(m pipe-off.tmcpu)" "$(m pipe-on.tmcpu)" "$(m shuffle-off.tmcpu)" "$(m shuffle-on.tmcpu)" \
    "$(m pipe-off.jmcpu)" "$(m pipe-on.jmcpu)" "$(m shuffle-off.jmcpu)" "$(m shuffle-on.jmcpu)" <<'PY'
import sys
n, poff, pon, soff, son, tpoff, tpon, tsoff, tson, jpoff, jpon, jsoff, json_ = map(int, sys.argv[1:])
def line(what, recs, off, on):
    roff, ron = recs / off * 1e3, recs / on * 1e3
    print(f"{what:10s} off {roff / 1e6:7.1f} M records/s   on {ron / 1e6:7.1f} M records/s   "
          f"ratio on/off={ron / roff:.3f}")
    return ron / roff
a = line("pipeline", n, poff, pon)
b = line("shuffle", n // 4, soff, son)
print(f"metrics: watched/unwatched ratio pipeline={a:.3f} shuffle={b:.3f} (goal >= 0.98)")
for what, off, on, joff, jon in (("pipeline", tpoff, tpon, jpoff, jpon), ("shuffle", tsoff, tson, jsoff, json_)):
    print(f"{what:10s} median CPU: TaskManager off {off} ms on {on} ms (on/off {on / max(off, 1):.3f}), "
          f"JobManager off {joff} ms on {jon} ms")
PY
