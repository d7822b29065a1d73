#!/usr/bin/env bash
# Keyed shuffle benchmark (issue 4, point 15). One command: bench/shuffle.sh [runs] [records]
#
# examples/bench_shuffle.so at -p 2 on two TaskManagers with one slot each (started here on
# free ports): generateSequence -> map to 100-byte records -> keyBy -> discard; about half of
# the records cross between the TaskManagers over TCP, half are handed over in memory.
# records/s = records / the job's "Job Runtime"; records per core-second = records / the
# CPU time (user + system) both TaskManager processes spent during the job. Each figure is
# the median of `runs` (default 3); every run checks (REST) that the sinks read all N
# records. As root, the same again with the TaskManagers on two hosts (network namespaces
# joined by a bridge, bench/cluster.bash), printed beside. Then the loopback runs again with
# taskmanager.memory.segment-size: 64kb (default 32kb, Flink's): half as many buffers for
# the same records, so what the data plane pays per buffer shows as the difference.
# Last line: the figures.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
N=${2:-20000000}

bench_build
# shuffle_runs LABEL: RUNS runs on the cluster started; their medians in LABEL.job/LABEL.cpu
shuffle_runs() {
for _ in $(seq "$RUNS"); do
    cpu0=$(tm_cpu_ms)
    bench_run shuffle -p 2 "$BENCH_HOME/build/examples/bench_shuffle.so" --records "$N"
    cpu1=$(tm_cpu_ms)
    jid=$(sed -n 's/^Job has been submitted with JobID //p' "$BENCH_TMP/shuffle.log")
    got=$(bench_rest "/jobs/$jid" | python3 -S -c '
import json, sys
v = json.load(sys.stdin)["vertices"]
print(v[-1]["metrics"]["read-records"])' 2>/dev/null) || got="?"
    if [ "$got" != "$N" ]; then
        echo "bench: the keyed sinks read $got records, expected $N" >&2
        exit 1
    fi
    echo "$RUN_JOB_MS" >>"$BENCH_TMP/$1.job"
    echo $((cpu1 - cpu0)) >>"$BENCH_TMP/$1.cpu"
done
}
bench_cluster_start 2 1
shuffle_runs lo
bench_cluster_start 2 1 taskmanager.memory.segment-size=64kb
shuffle_runs lo64
HOSTS_JOB=0
if bench_hosts_cluster_start 2 1; then
    shuffle_runs veth
    HOSTS_JOB=$(median <"$BENCH_TMP/veth.job")
fi
python3 -S - "$N" "$(median <"$BENCH_TMP/lo.job")" "$(median <"$BENCH_TMP/lo.cpu")" "$(nproc)" "$HOSTS_JOB" \
    "$(median <"$BENCH_TMP/lo64.job")" "$(median <"$BENCH_TMP/lo64.cpu")" <<'PY'
import sys
n, job, cpu, ncpu, hosts_job, job64, cpu64 = map(int, sys.argv[1:])
rate = n / job * 1e3
per_core = n / cpu * 1e3 if cpu else float("nan")
print(f"records                       {n / 1e6:8.0f} M x 100 bytes, keyBy at -p 2 over 2 TaskManagers")
print(f"job runtime                   {job:8d} ms  {rate / 1e6:7.2f} M records/s  {rate * 100 / 1e6:7.0f} MB/s")
print(f"TaskManager CPU time          {cpu:8d} ms  {cpu / job:7.2f} cores busy of {ncpu}")
across = ""
if hosts_job:
    hrate = n / hosts_job * 1e3
    print(f"across hosts (veth)           {hosts_job:8d} ms  {hrate / 1e6:7.2f} M records/s")
    across = f"; across hosts (veth) {hrate / 1e6:.2f} M records/s = {hrate / rate:.2f}x loopback"
else:
    across = "; across hosts: skipped (needs root and ip)"
rate64, per_core64 = n / job64 * 1e3, n / cpu64 * 1e3 if cpu64 else float("nan")
print(f"64 KiB buffers                {job64:8d} ms  {rate64 / 1e6:7.2f} M records/s  {per_core64 / 1e6:7.2f} M per core-second")
print(f"shuffle: {rate / 1e6:.2f} M records/s, {per_core / 1e6:.2f} M records per core-second{across}; "
      f"64 KiB buffers: {per_core64 / 1e6:.2f} M records per core-second")
PY
