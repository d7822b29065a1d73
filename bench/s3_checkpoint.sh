#!/usr/bin/env bash
# Checkpoints on S3 (issue 22, point 7). One command: bench/s3_checkpoint.sh [runs] [MB]
#
# examples/wordcount.so at -p 1 on MB (default 64) of generated text (bench_text) through a
# real cluster (a JobManager and one TaskManager of one slot), three ways in alternation,
# `runs` (default 3) of each: without checkpoints, with checkpoints every 1 s to a local
# directory, and every 1 s to s3://flint/ck on s3rver (tests/s3, started here on a free
# loopback port; its data on the local disk too, so the S3 figure is the cost of the
# protocol: HTTP, signing, s3rver's own writes). Reports the job runtimes (Flint's "Job
# Runtime") and, from the JobManager's "Completed checkpoint N ... (B bytes, D ms)" lines,
# the median checkpoint duration and size of each storage. Figures are medians.
# Last line: throughput with S3 checkpoints / without, and S3 / local checkpoint duration.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
MB=${2:-64}
bench_build
DATA=$(bench_text "$MB")
BUNDLE="$BENCH_HOME/build/examples/wordcount.so"
if ! bench_s3rver_start; then
    echo "bench: node or s3rver missing (make deps runs npm ci in tests/s3); not run" >&2
    exit 0
fi
bench_cluster_start 1 1 "s3.endpoint=$BENCH_S3_ENDPOINT" s3.path.style.access=true \
    s3.access-key=S3RVER s3.secret-key=S3RVER

# ckpt_stats NAME: "D B" per completed checkpoint of the job of run NAME
ckpt_stats() {
    local id
    id=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]*\)$/\1/p' "$BENCH_TMP/$1.log")
    sed -n "s/.*Completed checkpoint [0-9]* for job $id (\([0-9]*\) bytes, \([0-9]*\) ms).*/\2 \1/p" \
        "$FLINT_LOG_DIR"/flint-*-jobmanager-*.log
}

CK=(-D "execution.checkpointing.interval=1 s")
for i in $(seq "$RUNS"); do
    for mode in none local s3; do
        rm -rf -- "$BENCH_TMP/out" "$BENCH_TMP/ck"
        case $mode in
            none) args=() ;;
            local) args=("${CK[@]}" -D "state.checkpoints.dir=$BENCH_TMP/ck") ;;
            s3) args=("${CK[@]}" -D "state.checkpoints.dir=s3://flint/ck") ;;
        esac
        bench_run "$mode-$i" -p 1 ${args[@]+"${args[@]}"} "$BUNDLE" --input "$DATA" \
            --output "$BENCH_TMP/out"
        echo "$RUN_JOB_MS" >>"$BENCH_TMP/$mode.ms"
        [ "$mode" = none ] || ckpt_stats "$mode-$i" >>"$BENCH_TMP/$mode.ck"
        echo "  run $i $mode: job $RUN_JOB_MS ms$([ "$mode" = none ] || echo ", $(wc -l <"$BENCH_TMP/$mode.ck") checkpoints so far")"
    done
done
n=$(median <"$BENCH_TMP/none.ms")
l=$(median <"$BENCH_TMP/local.ms")
s=$(median <"$BENCH_TMP/s3.ms")
ld=$(cut -d' ' -f1 "$BENCH_TMP/local.ck" | median)
sd=$(cut -d' ' -f1 "$BENCH_TMP/s3.ck" | median)
lb=$(cut -d' ' -f2 "$BENCH_TMP/local.ck" | median)
sb=$(cut -d' ' -f2 "$BENCH_TMP/s3.ck" | median)
awk -v n="$n" -v l="$l" -v s="$s" -v ld="$ld" -v sd="$sd" -v lb="$lb" -v sb="$sb" -v mb="$MB" 'BEGIN {
    printf "wordcount -p 1, %d MB      job runtime   checkpoint (median)\n", mb
    printf "  no checkpoints          %8d ms\n", n
    printf "  1 s checkpoints, local  %8d ms   %6d ms, %d bytes\n", l, ld, lb
    printf "  1 s checkpoints, S3     %8d ms   %6d ms, %d bytes\n", s, sd, sb
    printf "s3 checkpoints: throughput with/without=%.2f (local %.2f), checkpoint duration s3/local=%.2f\n", n / s, n / l, (ld > 0 ? sd / ld : 0)
}'
