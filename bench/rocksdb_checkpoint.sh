#!/usr/bin/env bash
# RocksDB checkpoint benchmark (issue 6, point 13). One command:
#   bench/rocksdb_checkpoint.sh [runs] [MB]
#
# tests/tools/rocksdb_snap.c fills one RocksDB keyed backend with MB (default 1024) of
# 1000-byte incompressible values, lets compaction settle, completes an incremental
# checkpoint (which uploads everything), changes 1% of the keys and then checkpoints that
# state twice: incremental (only new SST files uploaded, the others referenced) and full
# (every file copied). Storage and the backend's directory are under $TMPDIR (default
# /tmp): the copies are real writes with fsync on that disk. Durations are part 1 (task
# thread: RocksDB checkpoint) + part 2 (I/O thread: upload). The last run also restores
# the incremental checkpoint into a fresh backend and checks every value.
# Each figure is the median of `runs` (default 1). Last line: both durations and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1}
MB=${2:-1024}
[ -x build/tests/flint-rocksdb_snap ] || make -s -j2 build/tests/flint-rocksdb_snap >/dev/null
T=build/tests/flint-rocksdb_snap
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flint-bench-rocksdb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$2" | tail -1; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for i in $(seq "$RUNS"); do
    restore=()
    [ "$i" = "$RUNS" ] && restore=(--restore)
    "$T" --dir "$tmp/run$i" --mb "$MB" "${restore[@]}" > "$tmp/out$i"
    sed 's/^/  /' "$tmp/out$i"
    field full_s "$tmp/out$i" >> "$tmp/full"
    field incremental_s "$tmp/out$i" >> "$tmp/incr"
    rm -rf "$tmp/run$i"
done
last="$tmp/out$RUNS"
FULL=$(median < "$tmp/full"); INCR=$(median < "$tmp/incr")
FB=$(field full_bytes "$last"); IB=$(field incremental_bytes "$last")
awk -v s="$(field state_bytes "$last")" -v f="$FULL" -v i="$INCR" -v fb="$FB" -v ib="$IB" \
    -v mb="$MB" 'BEGIN {
    printf "state                         %8.1f MB\n", s / 1048576
    printf "full checkpoint               %8.3f s  (%.1f MB written)\n", f, fb / 1048576
    printf "incremental checkpoint (1%%)   %8.3f s  (%.1f MB written)\n", i, ib / 1048576
    printf "rocksdb %s MB: full %.3f s, incremental %.3f s, full/incremental %.1f\n", mb, f, i, f / i
}'
