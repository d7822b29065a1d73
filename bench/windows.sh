#!/usr/bin/env bash
# Window benchmark (issue 5, point 15). One command: bench/windows.sh [runs] [events]
#
# 1. examples/clicks_window.so --mode tumbling (10 s windows per user, 5 s out-of-orderness)
#    at -p 1 on `events` (default 10 million) generated clicks, through a real cluster (a
#    JobManager and one TaskManager with one slot, started here on free ports), against
#    bench/clicks_ref.c: the same windows, watermarks and late-data rule in hand-written
#    single-threaded C. Both read the same file and write their results to files; times are
#    wall clock from process start to exit, so Flint's client start, submission, deployment
#    and part file commit are included (the job's own "Job Runtime" is shown too). On the
#    first run the job's output (part files and late/) must equal the reference's as sorted
#    lines.
# 2. examples/topn.so (hot items: 1 h windows sliding by 5 min, top 3) at -p 1 on `events`
#    generated UserBehavior rows (85 % pv): events/s (Flink's published Nexmark q5 hot-items
#    figure is about 22 thousand events/s per core).
# 3. Per-record CPU cost (ns/record = CPU time of the TaskManager, user + sys, over the run /
#    events): clicks on the hashmap state backend (the runs of 1.), and clicks on the RocksDB
#    backend (a second cluster, state.backend.type rocksdb, on events / 10 clicks, at most
#    1 million: RocksDB costs microseconds per record; its output is checked against
#    clicks_ref's too); the hand-written C's CPU time per event, and the ratio of the two CPU
#    costs, which unlike the wall-clock ratio does not depend on how many cores are free.
# 4. The window operator alone (bench/window_op.c, in-process, no source, network or sink):
#    tumbling windows as clicks and sliding ones as topn on hashmap, tumbling on RocksDB.
# Both jobs run with pipeline.auto-watermark-interval 200 ms (the default). Inputs come from
# build/bench/events_gen (fixed seed) and are kept in build/bench/data/. Each figure is the
# median of `runs` (default 3) runs. Last line: the ratios.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
EVENTS=${2:-10000000}

bench_build
DATA="$BENCH_HOME/build/bench/data"
mkdir -p "$DATA"
CLICKS="$DATA/clicks-$EVENTS-seed1.csv"
BEHAVIOR="$DATA/userbehavior-$EVENTS-seed1.csv"
ROCKS_EVENTS=$((EVENTS / 10 < 1000000 ? EVENTS / 10 : 1000000))
ROCKS_EVENTS=$((ROCKS_EVENTS < 1000 ? 1000 : ROCKS_EVENTS))
ROCKS_CLICKS="$DATA/clicks-$ROCKS_EVENTS-seed1.csv"
for f in "clicks:$CLICKS" "userbehavior:$BEHAVIOR" "clicks:$ROCKS_CLICKS"; do
    if [ ! -f "${f#*:}" ]; then
        n=${f##*/}
        n=${n#*-}
        echo "generating ${n%%-*} ${f%%:*} events into ${f#*:} (once)..." >&2
        "$BENCH_HOME/build/bench/events_gen" "${f%%:*}" "${n%%-*}" 1 "${f#*:}.tmp"
        mv -- "${f#*:}.tmp" "${f#*:}"
    fi
done
REF="$BENCH_HOME/build/bench/clicks_ref"
EX="$BENCH_HOME/build/examples"
bench_cluster_start 1 1

# sorted_lines DIR: every line of the part files directly in DIR, sorted
sorted_lines() {
    find "$1" -maxdepth 1 -name 'part-*' -type f -exec cat -- {} + | LC_ALL=C sort
}

# run_ref INPUT OUTPUT TAG: clicks_ref; its stderr to TAG.err, its wall and CPU (user + sys)
# ms appended to TAG.ms and TAG-cpu.ms
run_ref() {
    python3 -S - "$REF" "$1" "$2" "$BENCH_TMP/$3.err" "$BENCH_TMP/$3.ms" "$BENCH_TMP/$3-cpu.ms" <<'PY'
import resource, subprocess, sys, time
ref, inp, out, err, wall_f, cpu_f = sys.argv[1:]
t0 = time.monotonic()
with open(err, "w") as e:
    subprocess.run([ref, inp, out], stderr=e, check=True)
wall = time.monotonic() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(round(wall * 1e3), file=open(wall_f, "a"))
print(round((r.ru_utime + r.ru_stime) * 1e3), file=open(cpu_f, "a"))
PY
}

# same_as_ref OUTDIR REF: the job's part files (and late/) hold the reference's lines
same_as_ref() {
    mkdir -p "$1/late"
    cmp -s <(sorted_lines "$1") <(LC_ALL=C sort "$2") &&
        cmp -s <(sorted_lines "$1/late") <(LC_ALL=C sort "$2.late")
}

for i in $(seq "$RUNS"); do
    rm -rf -- "$BENCH_TMP/ref.txt" "$BENCH_TMP/ref.txt.late" "$BENCH_TMP/clicks" "$BENCH_TMP/topn"
    run_ref "$CLICKS" "$BENCH_TMP/ref.txt" ref

    c0=$(tm_cpu_ms)
    bench_run clicks -p 1 "$EX/clicks_window.so" --input "$CLICKS" --output "$BENCH_TMP/clicks" \
        --mode tumbling --key user --size-ms 10000 --out-of-orderness-ms 5000
    echo $(($(tm_cpu_ms) - c0)) >>"$BENCH_TMP/clicks-cpu.ms"
    echo "$RUN_WALL_MS" >>"$BENCH_TMP/clicks.ms"
    echo "$RUN_JOB_MS" >>"$BENCH_TMP/clicks-job.ms"
    if [ "$i" = 1 ] && ! same_as_ref "$BENCH_TMP/clicks" "$BENCH_TMP/ref.txt"; then
        echo "bench: clicks_window's output differs from clicks_ref's" >&2
        exit 1
    fi

    bench_run topn -p 1 "$EX/topn.so" --input "$BEHAVIOR" --output "$BENCH_TMP/topn" \
        --size-min 60 --slide-min 5 --n 3
    echo "$RUN_WALL_MS" >>"$BENCH_TMP/topn.ms"
    echo "$RUN_JOB_MS" >>"$BENCH_TMP/topn-job.ms"
    [ -n "$(sorted_lines "$BENCH_TMP/topn" | head -n 1)" ] || {
        echo "bench: topn wrote nothing" >&2
        exit 1
    }
done

# the RocksDB path: the same job on a cluster whose keyed state is in RocksDB
bench_cluster_start 1 1 state.backend.type=rocksdb
run_ref "$ROCKS_CLICKS" "$BENCH_TMP/ref-rocks.txt" ref-rocks
for i in $(seq "$RUNS"); do
    rm -rf -- "$BENCH_TMP/clicks-rocks"
    c0=$(tm_cpu_ms)
    bench_run clicks-rocks -p 1 "$EX/clicks_window.so" --input "$ROCKS_CLICKS" \
        --output "$BENCH_TMP/clicks-rocks" --mode tumbling --key user --size-ms 10000 \
        --out-of-orderness-ms 5000
    echo $(($(tm_cpu_ms) - c0)) >>"$BENCH_TMP/rocks-cpu.ms"
    if [ "$i" = 1 ] && ! same_as_ref "$BENCH_TMP/clicks-rocks" "$BENCH_TMP/ref-rocks.txt"; then
        echo "bench: clicks_window's output on RocksDB differs from clicks_ref's" >&2
        exit 1
    fi
done

# the window operator alone, in-process (bench/window_op.c): its own cost per record
"$BENCH_HOME/build/bench/window_op" "$((EVENTS / 2))" "$((ROCKS_EVENTS / 3))" |
    grep -v '^window_op:' >&2

python3 -S - "$EVENTS" "$(median <"$BENCH_TMP/ref.ms")" "$(median <"$BENCH_TMP/clicks.ms")" \
    "$(median <"$BENCH_TMP/clicks-job.ms")" "$(median <"$BENCH_TMP/topn.ms")" \
    "$(median <"$BENCH_TMP/topn-job.ms")" "$(head -n 1 "$BENCH_TMP/ref.err")" \
    "$(median <"$BENCH_TMP/ref-cpu.ms")" "$(median <"$BENCH_TMP/clicks-cpu.ms")" \
    "$ROCKS_EVENTS" "$(median <"$BENCH_TMP/rocks-cpu.ms")" <<'PY'
import sys
n = int(sys.argv[1])
ref, fl, fl_job, tn, tn_job = map(int, sys.argv[2:7])
ref_cpu, fl_cpu, rn, rocks_cpu = map(int, sys.argv[8:12])
ev = lambda ms: n / ms * 1e3
ns = lambda ms, k: ms * 1e6 / k
print(f"input                              {n / 1e6:.1f} M events each ({sys.argv[7]})")
print(f"clicks: hand-written C (1 thread)  {ref:7d} ms  {ev(ref) / 1e6:6.2f} M events/s")
print(f"clicks: flint -p 1 (client to exit){fl:7d} ms  {ev(fl) / 1e6:6.2f} M events/s")
print(f"clicks: flint -p 1 (Job Runtime)   {fl_job:7d} ms  {ev(fl_job) / 1e6:6.2f} M events/s")
print(f"topn:   flint -p 1 (client to exit){tn:7d} ms  {ev(tn) / 1e6:6.2f} M events/s")
print(f"topn:   flint -p 1 (Job Runtime)   {tn_job:7d} ms  {ev(tn_job) / 1e6:6.2f} M events/s")
print(f"CPU per record (TaskManager user + sys, all its threads; hand-written: the process):")
print(f"  clicks, hand-written C           {ns(ref_cpu, n):7.0f} ns/record")
print(f"  clicks, keyed hashmap path       {ns(fl_cpu, n):7.0f} ns/record  "
      f"(source, parse, keyBy exchange, window, sink)")
print(f"  clicks, keyed RocksDB path       {ns(rocks_cpu, rn):7.0f} ns/record  "
      f"({rn / 1e6:g} M events)")
print(f"windows: clicks flint/hand-written={ref / fl:.2f} (goal >= 0.4, startup included)  "
      f"job-runtime-only={ref / fl_job:.2f}  cpu={ref_cpu / fl_cpu:.2f}  "
      f"hashmap={ns(fl_cpu, n):.0f}ns/rec rocksdb={ns(rocks_cpu, rn):.0f}ns/rec  "
      f"topn={ev(tn) / 1e3:.0f}k events/s = {ev(tn) / 22e3:.1f}x Flink's 22k/core (goal 20x)")
PY
