#!/usr/bin/env bash
# Hashmap checkpoint benchmark (issue 6, point 3). One command:
#   bench/hashmap_checkpoint.sh [runs] [keys] [value_bytes]
#
# tests/tools/hashmap_snap.c fills one hashmap keyed backend with `keys` (default 4 M)
# 8-byte keys of `value_bytes` (default 16) values and measures in the same run: the task
# thread's pause for a checkpoint (part 1: the copy-on-write snapshot) against a copy of
# every entry on the task thread (what a snapshot without copy-on-write costs it: every key
# read and copied into memory), part 2 on another thread (lay out, write, fsync), and
# updating every key once with and without a snapshot being written meanwhile (each first
# write to a chunk the snapshot holds copies it). It checks that the written file restores
# to the state of the snapshot, not to the updates made while it was written. Storage is
# under $TMPDIR (default /tmp). Each figure is the median of `runs` (default 3).
# Last line: the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
KEYS=${2:-4000000}
VALUE=${3:-16}
[ -x build/tests/flint-hashmap_snap ] || make -s -j2 build/tests/flint-hashmap_snap >/dev/null
T=build/tests/flint-hashmap_snap
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flint-bench-hashmap.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for i in $(seq "$RUNS"); do
    mkdir -p "$tmp/run$i"
    "$T" --dir "$tmp/run$i" --keys "$KEYS" --value "$VALUE" >>"$tmp/out"
    tail -n 1 "$tmp/out" | sed 's/^/  /'
    rm -rf "$tmp/run$i"
done
m() { field "$1" <"$tmp/out" | median; }
awk -v c="$(m copy_ms)" -v s="$(m sync_ms)" -v a="$(m async_ms)" -v b="$(m update_base_ms)" \
    -v w="$(m update_cow_ms)" -v k="$KEYS" -v v="$VALUE" 'BEGIN {
    printf "state                                %d keys of %d-byte values\n", k, v
    printf "task thread pause: copy everything   %9.1f ms\n", c
    printf "task thread pause: copy-on-write     %9.2f ms\n", s
    printf "part 2 on the I/O thread             %9.1f ms\n", a
    printf "update every key                     %9.1f ms\n", b
    printf "  while a snapshot is written        %9.1f ms\n", w
    printf "hashmap %d keys: pause copy-on-write/copy=%.4f, updates during a snapshot/without=%.2f\n", k, s / c, w / b
}'
