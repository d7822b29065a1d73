#!/usr/bin/env bash
# WordCount benchmark (issue 4, point 15). One command: bench/wordcount.sh [runs] [MB]
#
# examples/wordcount.so at -p 1 on MB (default 128) of generated text through a real
# cluster (a JobManager and one TaskManager with one slot, started here on free ports),
# against bench/wordcount_ref.c: the same tokenization and output in hand-written
# single-threaded C with a hash map. Both read the same file and write every "word,count"
# line to a file; times are wall clock from process start to exit, so Flint's client
# start, submission, deployment and part file commit are included. At -p 1 the job must
# write exactly the reference's bytes (checked with cmp). The text is generated once
# (tests/cluster/ref/gen_text.py, seed 1) and kept in build/bench/data/.
# Each figure is the median of `runs` (default 3) alternating runs. Last line: the ratio.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
MB=${2:-128}

bench_build
DATA=$(bench_text "$MB")
REF="$BENCH_HOME/build/bench/wordcount_ref"
BUNDLE="$BENCH_HOME/build/examples/wordcount.so"
bench_cluster_start 1 1

for i in $(seq "$RUNS"); do
    rm -rf -- "$BENCH_TMP/ref.txt" "$BENCH_TMP/out"
    t0=$(bench_now_ms)
    "$REF" "$DATA" "$BENCH_TMP/ref.txt" 2>"$BENCH_TMP/ref.err"
    echo $(($(bench_now_ms) - t0)) >>"$BENCH_TMP/ref.ms"

    bench_run wc -p 1 "$BUNDLE" --input "$DATA" --output "$BENCH_TMP/out"
    echo "$RUN_WALL_MS" >>"$BENCH_TMP/flint.ms"
    echo "$RUN_JOB_MS" >>"$BENCH_TMP/flint-job.ms"
    if [ "$i" = 1 ]; then
        # the part files in order: part-<job>-0-0, part-<job>-0-1, ...
        mapfile -t parts < <(cd "$BENCH_TMP/out" && ls -A | awk -F- '{ print $NF "\t" $0 }' |
            sort -k1,1n | cut -f2-)
        if ! (cd "$BENCH_TMP/out" && cat -- "${parts[@]}") | cmp -s - "$BENCH_TMP/ref.txt"; then
            echo "bench: the job's output (${parts[*]}) differs from the reference's" >&2
            exit 1
        fi
    fi
done

REF_MS=$(median <"$BENCH_TMP/ref.ms")
FL_MS=$(median <"$BENCH_TMP/flint.ms")
FL_JOB_MS=$(median <"$BENCH_TMP/flint-job.ms")
BYTES=$(stat -L -c %s "$DATA")
WORDS=$(sed -n 's/^words=\([0-9]*\).*/\1/p' "$BENCH_TMP/ref.err")
python3 -S - "$BYTES" "$WORDS" "$REF_MS" "$FL_MS" "$FL_JOB_MS" <<'PY'
import sys
size, words, ref, fl, job = map(int, sys.argv[1:])
mb = size / 1e6
print(f"input                         {mb:8.1f} MB, {words / 1e6:.1f} M words")
print(f"hand-written C (1 thread)     {ref:8d} ms  {mb / ref * 1e3:7.1f} MB/s  {words / ref / 1e3:6.2f} M words/s")
print(f"flint -p 1 (client to exit)   {fl:8d} ms  {mb / fl * 1e3:7.1f} MB/s  {words / fl / 1e3:6.2f} M words/s")
print(f"flint -p 1 (Job Runtime)      {job:8d} ms  {mb / job * 1e3:7.1f} MB/s")
print(f"wordcount: flint/hand-written={ref / fl:.2f} (goal >= 0.5, startup included)  "
      f"job-runtime-only={ref / job:.2f}")
PY
