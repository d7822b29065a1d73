#!/usr/bin/env bash
# Scale benchmark (issue 21). One command: bench/scale.sh [TMS SLOTS] [SIM_TMS SIM_SLOTS]
#
#  (a) real TaskManagers: TMS x SLOTS (default 20 x 10) started here with small memory
#      settings; WordCount all-to-all at -p TMS*SLOTS over 16 MB of text, then -p TMS: the
#      job runtime of both and their ratio.
#  (b) simulated TaskManagers (tests/tools/simtm.c: the real RPC protocol, no-op tasks):
#      SIM_TMS x SIM_SLOTS (default 1,000 x 10) register with a real JobManager, then a job
#      of two vertices at parallelism SIM_TMS*SIM_SLOTS connected all-to-all (10,000 x 10,000
#      by default) runs with checkpoints every 2 s. Printed: the registration time, submit to
#      all RUNNING, the JobManager's RSS per TaskManager and per subtask, the heartbeat delay
#      during the deployment storm (how much later than heartbeat.interval the simulated
#      TaskManagers heard from the JobManager), and the checkpoint time at that size and at
#      a tenth of it (per subtask: the ratio shows whether the coordinator is linear).
#  (c) region failover on SIM_TMS simulated TaskManagers: the independent pipelines job at
#      -p SIM_TMS*SIM_SLOTS - SIM_SLOTS (every subtask pair its own pipelined region), then
#      one simulated TaskManager is lost (its connection closes, as with kill -9): printed,
#      the time from the loss to every subtask RUNNING again and how many tasks were
#      deployed again (only the lost TaskManager's regions should be).
# Goals (issue 21): 10,000 x 10,000 all RUNNING in < 20 s with JobManager RSS < 2 GiB;
# heartbeat delay < 100 ms during the storm.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
TMS=${1:-20}
SLOTS=${2:-10}
SIM_TMS=${3:-1000}
SIM_SLOTS=${4:-10}
SIM="$BENCH_HOME/build/tests/flint-simtm"
bench_build

# ---- (a) real TaskManagers -------------------------------------------------------------
TEXT=$(bench_text 16)
# small memory: 512 MB processes, 8 KB network buffers (8,192 of them in the 64 MB minimum)
bench_cluster_start "$TMS" "$SLOTS" "taskmanager.memory.process.size=512m" \
    "taskmanager.memory.segment-size=8kb"
bench_run wide -p $((TMS * SLOTS)) "$BENCH_HOME/build/examples/wordcount.so" --input "$TEXT" \
    --output "$BENCH_TMP/wc-wide"
WIDE_MS=$RUN_JOB_MS
bench_run narrow -p "$TMS" "$BENCH_HOME/build/examples/wordcount.so" --input "$TEXT" \
    --output "$BENCH_TMP/wc-narrow"
NARROW_MS=$RUN_JOB_MS
rm -rf -- "$BENCH_TMP/wc-wide" "$BENCH_TMP/wc-narrow"
FLINT_STOP_TIMEOUT=3 "$BENCH_HOME/bin/taskmanager.sh" stop-all >/dev/null 2>&1 || true

# ---- (b) simulated TaskManagers --------------------------------------------------------
jm_pid() { cat "$FLINT_PID_DIR"/flint-*-jobmanager.pid | head -n 1; }
jm_rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$(jm_pid)/status"; }
jm_rpc_port() { sed -n 's/^jobmanager.rpc.port: //p' "$FLINT_CONF_DIR/flint-conf.yaml"; }

# sim_run TMS SLOTS: registers them, runs the job; sets REG_MS RUN_MS RSS0 RSS1 RSS2 HB CK_MS
sim_run() {
    local tms=$1 slots=$2 p=$(($1 * $2)) t0 jid out="$BENCH_TMP/sim-$1.out" i n
    bench_cluster_start 0 1 "heartbeat.interval=1 s" "heartbeat.timeout=30 s"
    RSS0=$(jm_rss_kb)
    t0=$(bench_now_ms)
    "$SIM" --jm "127.0.0.1:$(jm_rpc_port)" --tms "$tms" --slots "$slots" --report-ms 500 \
        >"$out" 2>&1 &
    SIM_PID=$!
    for ((i = 0; i < 1200; i++)); do
        grep -qs "^registered" "$out" && break
        kill -0 "$SIM_PID" 2>/dev/null || { cat "$out" >&2; exit 1; }
        sleep 0.05
    done
    REG_MS=$(sed -n 's/^registered [0-9]* in \([0-9]*\) ms$/\1/p' "$out")
    bench_wait_slots "$p"
    RSS1=$(jm_rss_kb)
    t0=$(bench_now_ms)
    "$FLINT" run -d -p "$p" -D "execution.checkpointing.interval=2 s" \
        -D "state.checkpoints.dir=$BENCH_TMP/ck" \
        "$BENCH_HOME/build/examples/bench_shuffle.so" --records 1000000000 >"$BENCH_TMP/run.log" 2>&1
    jid=$(sed -n 's/^Job has been submitted with JobID //p' "$BENCH_TMP/run.log")
    for ((i = 0; i < 6000; i++)); do
        n=$(bench_rest "/jobs/$jid" | python3 -S -c '
import json, sys
d = json.load(sys.stdin)
print(1 if d["status-counts"]["RUNNING"] == sum(v["parallelism"] for v in d["vertices"]) else 0)' 2>/dev/null) || n=0
        [ "$n" = 1 ] && break
        sleep 0.05
    done
    RUN_MS=$(($(bench_now_ms) - t0))
    RSS2=$(jm_rss_kb)
    # the heartbeat delays the simulated TaskManagers saw from the submission on
    sleep 7
    HB=$(awk '/^stats/ { for (i = 1; i <= NF; i++) if ($i ~ /^hb_delay_max_ms=/) { split($i, a, "="); if (a[2] > m) m = a[2] } } END { print m + 0 }' "$out")
    CK_MS=$( (bench_rest "/jobs/$jid/checkpoints" || bench_rest "/jobs/$jid/checkpoints") | python3 -S -c '
import json, sys
h = [c["end_to_end_duration"] for c in json.load(sys.stdin)["history"] if c["status"] == "COMPLETED"]
h.sort()
print(h[len(h) // 2] if h else -1)' 2>/dev/null) || CK_MS=-1 # a REST answer lost to a loaded machine
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
}

# sim_failover TMS SLOTS: sets FO_P FO_KILLED FO_REDEPLOYED FO_MS
sim_failover() {
    local tms=$1 slots=$2 out="$BENCH_TMP/simfo.out" jid i n t0 dep0
    FO_P=$(($1 * $2 - $2))
    bench_cluster_start 0 1 "heartbeat.interval=1 s" "heartbeat.timeout=30 s"
    "$SIM" --jm "127.0.0.1:$(jm_rpc_port)" --tms "$tms" --slots "$slots" --report-ms 200 \
        >"$out" 2>&1 &
    SIM_PID=$!
    bench_wait_slots $((tms * slots))
    "$FLINT" run -d -p "$FO_P" -D "execution.checkpointing.interval=2 s" \
        -D "state.checkpoints.dir=$BENCH_TMP/ck-fo" -D jobmanager.execution.failover-strategy=region \
        -D restart-strategy.type=fixed-delay -D "restart-strategy.fixed-delay.delay=0 ms" \
        "$BENCH_HOME/build/examples/pipelines.so" --to 1000000000 --output "$BENCH_TMP/fo-out" \
        >"$BENCH_TMP/run.log" 2>&1
    jid=$(sed -n 's/^Job has been submitted with JobID //p' "$BENCH_TMP/run.log")
    sim_running() {
        bench_rest "/jobs/$jid" | python3 -S -c '
import json, sys
d = json.load(sys.stdin)
print(1 if d["status-counts"]["RUNNING"] == 2 * int(sys.argv[1]) and d.get("region-restarts", 0) >= int(sys.argv[2]) else 0)' "$FO_P" "$1" 2>/dev/null || echo 0
    }
    for ((i = 0; i < 6000; i++)); do [ "$(sim_running 0)" = 1 ] && break; sleep 0.05; done
    kill -USR1 "$SIM_PID"
    t0=$(bench_now_ms)
    for ((i = 0; i < 600; i++)); do grep -qs '^killed' "$out" && break; sleep 0.05; done
    for ((i = 0; i < 6000; i++)); do [ "$(sim_running 1)" = 1 ] && break; sleep 0.02; done
    FO_MS=$(($(bench_now_ms) - t0))
    sleep 1 # one more stats line of the simulator
    FO_KILLED=$(sed -n 's/^killed .*: \([0-9]*\) tasks.*/\1/p' "$out")
    dep0=$(sed -n 's/^killed .* deployed=\([0-9]*\)$/\1/p' "$out")
    n=$(awk '/^stats/ { for (i = 1; i <= NF; i++) if ($i ~ /^deployed=/) { split($i, a, "="); d = a[2] } } END { print d + 0 }' "$out")
    FO_REDEPLOYED=$((n - dep0))
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
}

sim_run $((SIM_TMS / 10)) "$SIM_SLOTS"
SMALL_SUBTASKS=$((2 * SIM_TMS / 10 * SIM_SLOTS))
SMALL_CK=$CK_MS
sim_run "$SIM_TMS" "$SIM_SLOTS"
SUBTASKS=$((2 * SIM_TMS * SIM_SLOTS))
sim_failover "$SIM_TMS" "$SIM_SLOTS"

python3 -S - "$TMS" "$SLOTS" "$WIDE_MS" "$NARROW_MS" "$SIM_TMS" "$SUBTASKS" "$REG_MS" "$RUN_MS" \
    "$RSS0" "$RSS1" "$RSS2" "$HB" "$CK_MS" "$SMALL_SUBTASKS" "$SMALL_CK" \
    "$FO_P" "$FO_KILLED" "$FO_REDEPLOYED" "$FO_MS" <<'PY'
import sys
(tms, slots, wide, narrow, stms, subtasks, reg, run, rss0, rss1, rss2, hb, ck, ssub,
 sck, fop, fokilled, foredeployed, foms) = map(int, sys.argv[1:])
print(f"real: wordcount 16 MB at -p {tms * slots} on {tms} x {slots}: {wide} ms; at -p {tms}: {narrow} ms (wide/narrow {wide / narrow:.2f})")
print(f"simulated: {stms} TaskManagers registered in {reg} ms; JobManager RSS {rss0 / 1024:.0f} MB idle, "
      f"+{(rss1 - rss0) / stms:.1f} kB per TaskManager, +{(rss2 - rss1) / subtasks:.2f} kB per subtask")
print(f"simulated: {subtasks // 2} x {subtasks // 2} all-to-all: all {subtasks} subtasks RUNNING {run} ms after submission; "
      f"heartbeat delay during the storm at most {hb} ms")
per_small = sck / ssub * 1000 if ssub and sck > 0 else float("nan")
per_big = ck / subtasks * 1000 if ck > 0 else float("nan")
print(f"checkpoint: {ssub} subtasks {sck} ms, {subtasks} subtasks {ck} ms (per subtask {per_small:.1f} vs {per_big:.1f} us: ratio {per_big / per_small:.2f}, 1.00 = linear)")
print(f"region failover: 1 of {stms} TaskManagers lost under a job of {fop} regions ({2 * fop} tasks): "
      f"{fokilled} tasks lost, {foredeployed} deployed again (only its regions: {'yes' if foredeployed == fokilled else 'NO'}), "
      f"all RUNNING again {foms} ms after the loss")
print(f"scale: all RUNNING {run / 1000:.1f} s (goal < 20 s), JobManager RSS {rss2 / 1024:.0f} MB (goal < 2048), "
      f"heartbeat delay {hb} ms (goal < 100)")
PY
