#!/usr/bin/env bash
# Chained stateless pipeline benchmark (issue 4, point 15). One command:
#   bench/pipeline.sh [runs] [records]
#
# examples/bench_pipeline.so: generateSequence -> map -> filter -> discard, one chain at
# -p 1 on a cluster of one TaskManager with one slot (started here on free ports).
# records/s = records / the job's "Job Runtime" (deployment included, client start not);
# ns/record = the TaskManager's CPU time (user + sys) over the run / records: the chained
# path's cost per record, which unlike the rate does not depend on a free core.
# Each figure is the median of `runs` (default 3). Last line: the rate against the goal.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
N=${2:-200000000}

bench_build
bench_cluster_start 1 1
for _ in $(seq "$RUNS"); do
    c0=$(tm_cpu_ms)
    bench_run pipe -p 1 "$BENCH_HOME/build/examples/bench_pipeline.so" --records "$N"
    echo $(($(tm_cpu_ms) - c0)) >>"$BENCH_TMP/cpu.ms"
    echo "$RUN_JOB_MS" >>"$BENCH_TMP/job.ms"
    echo "$RUN_WALL_MS" >>"$BENCH_TMP/wall.ms"
done
python3 -S - "$N" "$(median <"$BENCH_TMP/job.ms")" "$(median <"$BENCH_TMP/wall.ms")" \
    "$(median <"$BENCH_TMP/cpu.ms")" <<'PY'
import sys
n, job, wall, cpu = map(int, sys.argv[1:])
rate = n / job * 1e3
print(f"records                       {n / 1e6:8.0f} M (source -> map -> filter -> discard, chained, -p 1)")
print(f"job runtime                   {job:8d} ms  {rate / 1e6:7.1f} M records/s")
print(f"client start to exit          {wall:8d} ms  {n / wall / 1e3:7.1f} M records/s")
print(f"TaskManager CPU               {cpu:8d} ms  {cpu * 1e6 / n:7.1f} ns/record (chained path)")
print(f"pipeline: {rate / 1e6:.1f} M records/s, ratio to goal={rate / 50e6:.2f} (goal >= 50 M records/s)  "
      f"chained={cpu * 1e6 / n:.1f}ns/rec")
PY
