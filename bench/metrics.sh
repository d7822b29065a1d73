#!/usr/bin/env bash
# What watching a job costs it (issue 12, point 10). One command:
#   bench/metrics.sh [pairs] [records]
#
# The chained pipeline of bench/pipeline.sh (generateSequence -> map -> filter -> discard,
# -p 1) and the shuffle of bench/shuffle.sh are each run `pairs` times (default 3) with nobody
# watching ("off") and as many times while a watcher polls every second what Prometheus and
# a dashboard read ("on": watch_loop below), off and on runs interleaved so that the machine's
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

# The watcher: every second, what Prometheus and an open dashboard fetch: both daemons'
# /metrics, and what web/app.js's job page reads for each running job (the job, each
# vertex's backpressure and subtasks/metrics, the checkpoints with the latest one's details,
# the exceptions), plus /jobmanager/metrics and the TaskManager's metrics. One process on
# kept-alive connections, as a browser and a Prometheus server are: a curl started per
# request (a dozen a second) would cost this 2-core machine more than the daemons' answers.
# watch_loop [ROUNDS]: forever, a round a second; with ROUNDS, that many rounds back to back.
watch_loop() {
    exec python3 -S - "$BENCH_REST_PORT" "$JM_PROM" "$TM_PROM" "${1:-0}" <<'PY'
import http.client, json, sys, time
rest, jm_prom, tm_prom, rounds = (int(p) for p in sys.argv[1:])
conns = {}
def get(port, path):
    for _ in range(2):
        c = conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        conns[port] = c
        try:
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            return json.loads(body) if r.status == 200 and body[:1] in (b"{", b"[") else None
        except (OSError, http.client.HTTPException, ValueError):
            c.close()
            conns.pop(port, None)
    return None
q = "subtasks/metrics?get=numRecordsInPerSecond,numRecordsOutPerSecond,busyTimeMsPerSecond," \
    "idleTimeMsPerSecond,backPressuredTimeMsPerSecond&agg=sum,avg"
n = 0
while rounds == 0 or n < rounds:
    n += 1
    get(jm_prom, "/metrics")
    get(tm_prom, "/metrics")
    get(rest, "/jobmanager/metrics")
    for t in (get(rest, "/taskmanagers") or {}).get("taskmanagers", []):
        get(rest, "/taskmanagers/%s/metrics?get=Status.JVM.CPU.Load,Status.Process.Memory.RSS" % t["id"])
    for j in (get(rest, "/jobs/overview") or {}).get("jobs", []):
        if j.get("state") != "RUNNING":
            continue
        jid = j["jid"]
        d = get(rest, "/jobs/" + jid) or {}
        for v in d.get("vertices", []):
            get(rest, "/jobs/%s/vertices/%s/backpressure" % (jid, v["id"]))
            get(rest, "/jobs/%s/vertices/%s/%s" % (jid, v["id"], q))
        ck = get(rest, "/jobs/%s/checkpoints" % jid) or {}
        last = (ck.get("latest") or {}).get("completed")
        if last:
            get(rest, "/jobs/%s/checkpoints/details/%s" % (jid, last["id"]))
        get(rest, "/jobs/%s/exceptions" % jid)
    if rounds == 0:
        time.sleep(1)
PY
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
# What one round of watching costs the daemons, in CPU time rather than in wall time (which
# this machine's other load blurs): a shuffle job held on the source gate (its tasks exist,
# their counters are reported, they hardly run), then ROUNDS rounds back to back; the CPU the
# daemons spent beyond their idle rate, per round, is what a round a second takes from them.
ROUNDS=300
: >"$BENCH_TMP/gate"
"$FLINT" -m "$BENCH_REST_HOST:$BENCH_REST_PORT" run -d -p 2 -D "testing.source.gate-file=$BENCH_TMP/gate" \
    -D testing.source.gate-rate=1000 "$BENCH_HOME/build/examples/bench_shuffle.so" --records "$N" \
    >"$BENCH_TMP/gated.log" 2>&1
GATED=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' "$BENCH_TMP/gated.log")
sleep 3 # its tasks run and have reported
tm0=$(tm_cpu_ms) jm0=$(jm_cpu_ms) t0=$(bench_now_ms)
sleep 5
idle_tm=$(($(tm_cpu_ms) - tm0)) idle_jm=$(($(jm_cpu_ms) - jm0)) idle_ms=$(($(bench_now_ms) - t0))
tm0=$(tm_cpu_ms) jm0=$(jm_cpu_ms) t0=$(bench_now_ms)
(watch_loop "$ROUNDS")
busy_tm=$(($(tm_cpu_ms) - tm0)) busy_jm=$(($(jm_cpu_ms) - jm0)) busy_ms=$(($(bench_now_ms) - t0))
rm -f "$BENCH_TMP/gate"
curl -s -X PATCH "http://$BENCH_REST_HOST:$BENCH_REST_PORT/jobs/$GATED?mode=cancel" >/dev/null || true
python3 -S - "$ROUNDS" "$idle_tm" "$idle_jm" "$idle_ms" "$busy_tm" "$busy_jm" "$busy_ms" <<'PY'
import sys
rounds, itm, ijm, ims, btm, bjm, bms = map(int, sys.argv[1:])
tm = max(0.0, btm - itm * bms / ims) / rounds
jm = max(0.0, bjm - ijm * bms / ims) / rounds
print(f"one watch round ({rounds} in {bms} ms): TaskManager {tm:.2f} ms CPU, JobManager {jm:.2f} ms CPU; "
      f"a round a second takes {(tm + jm) / 10:.3f} % of one core from the daemons")
PY
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
