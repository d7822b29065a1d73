#!/usr/bin/env bash
# Kafka pass-through benchmark (issue 13, point 10). One command:
#   bench/kafka.sh [runs] [records]
#
# Against one librdkafka mock broker (build/tests/flint-kafka_broker), the same records
# (default 400,000 of ~30 bytes over the 4 partitions of topic "in"; the mock keeps only
# about 150,000 messages per partition, dropping older ones) are copied
#   baseline: by librdkafka alone (bench/kafka_pipe.c: a consumer and a producer), timed
#             from the first read to the last acknowledged write;
#   Flint:    by examples/kafka_count.so --passthrough --bounded --guarantee at-least-once
#             at -p 1 (Kafka source -> Kafka sink, chained) on one TaskManager, timed by the
#             job's "Job Runtime" (deployment included).
# Each figure is the median of `runs` (default 3). Last line: Flint's rate / the baseline's
# (goal >= 0.8).
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
N=${2:-400000}

bench_build
BROKER_PID=
"$BENCH_HOME/build/tests/flint-kafka_broker" -t in:4 >"$BENCH_TMP/broker.out" 2>/dev/null &
BROKER_PID=$!
trap 'kill $BROKER_PID 2>/dev/null; bench_cleanup' EXIT
for _ in $(seq 50); do [ -s "$BENCH_TMP/broker.out" ] && break; sleep 0.1; done
BS=$(head -n 1 "$BENCH_TMP/broker.out")
seq 1 "$N" | awk '{ printf "record-%08d,payload-xx\n", $1 }' >"$BENCH_TMP/in.txt"
kcat -b "$BS" -P -t in -X queue.buffering.max.messages=2000000 -l "$BENCH_TMP/in.txt"
N=$(kcat -b "$BS" -C -t in -e -q -f '%o\n' | wc -l) # what the broker kept

bench_cluster_start 1 1
for r in $(seq "$RUNS"); do
    "$BENCH_HOME/build/bench/kafka_pipe" "$BS" in 4 "base$r" | cut -d' ' -f1 >>"$BENCH_TMP/base.ms"
    bench_run "kafka$r" -p 1 "$BENCH_HOME/build/examples/kafka_count.so" --bootstrap-servers "$BS" \
        --input in --output "flint$r" --passthrough --bounded --guarantee at-least-once
    echo "$RUN_JOB_MS" >>"$BENCH_TMP/flint.ms"
done
got=$(kcat -b "$BS" -C -t "flint$RUNS" -e -q -f '%s\n' | wc -l)
[ "$got" = "$N" ] || { echo "bench: flint$RUNS holds $got records, expected $N" >&2; exit 1; }
python3 -S - "$N" "$(median <"$BENCH_TMP/base.ms")" "$(median <"$BENCH_TMP/flint.ms")" <<'PY'
import sys
n, base, flint = map(int, sys.argv[1:])
print(f"records                       {n / 1e6:8.1f} M (4 Kafka partitions -> Kafka topic, -p 1)")
print(f"librdkafka alone              {base:8d} ms  {n / base / 1e3:7.2f} M records/s")
print(f"Flint source -> sink          {flint:8d} ms  {n / flint / 1e3:7.2f} M records/s (job runtime)")
print(f"kafka: ratio={base / flint:.2f} (Flint / librdkafka alone, goal >= 0.8)")
PY
