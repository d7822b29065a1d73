#!/usr/bin/env bash
# Crash-report overhead benchmark (issue 18, point 9). One command:
#   bench/crash.sh [runs] [records]
#
# The crash handler and the task's crash context cost nothing per record: the context is
# published once when a task starts (taskmanager/task/crash_ctx.c), the operator found from
# the backtrace only after a crash. examples/bench_pipeline.so (generateSequence -> map ->
# filter -> discard, one chain at -p 1, one TaskManager with one slot) on a cluster with
# crash-reports.enabled true, then on one with false, alternating, `runs` times each
# (default 3), in this run. records/s = records / the job's "Job Runtime".
# Last line: the medians and their ratio (on / off). Goal: >= 0.99.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
N=${2:-100000000}

bench_build
for _ in $(seq "$RUNS"); do
    for mode in true false; do
        bench_cluster_start 1 1 "crash-reports.enabled=$mode"
        bench_run "pipe-$mode" -p 1 "$BENCH_HOME/build/examples/bench_pipeline.so" --records "$N"
        echo "$RUN_JOB_MS" >>"$BENCH_TMP/$mode.ms"
    done
done
python3 -S - "$N" "$(median <"$BENCH_TMP/true.ms")" "$(median <"$BENCH_TMP/false.ms")" <<'PY'
import sys
n, on, off = map(int, sys.argv[1:])
r_on, r_off = n / on * 1e3, n / off * 1e3
print(f"records                       {n / 1e6:8.0f} M (source -> map -> filter -> discard, chained, -p 1)")
print(f"crash reports on              {on:8d} ms  {r_on / 1e6:7.1f} M records/s")
print(f"crash reports off             {off:8d} ms  {r_off / 1e6:7.1f} M records/s")
print(f"crash: on {r_on / 1e6:.1f} M/s, off {r_off / 1e6:.1f} M/s, ratio on/off={r_on / r_off:.3f} (goal >= 0.99)")
PY
