#!/usr/bin/env bash
# Data plane between two processes over loopback (issue 3, point 8): no daemons needed,
# build/tests/flint-nettest runs real network environments (taskmanager/network).
#  1. 10 million records, 4 producers x 4 consumers, keyed: complete and in order per channel
#  2. a consumer at a tenth of the producer's speed: pool never grows, backpressure ~ 1
#  3. kill -9 of the consumer fails the producer within a second
set -euo pipefail
cd "$(dirname "$0")/../.."
T=build/tests/flint-nettest
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$2" | head -1; }
fail() { echo "FAIL: $*"; for f in "$tmp"/*.out; do echo "--- $f"; cat "$f"; done; exit 1; }

start_producer() { # port args...
    local port=$1; shift
    $T produce --port "$port" "$@" > "$tmp/prod.out" 2>&1 &
    pids+=($!)
    for _ in $(seq 1200); do grep -q ready "$tmp/prod.out" 2>/dev/null && return; sleep 0.05; done
    fail "producer did not start"
}

echo "== 10M records 4x4 keyed"
P=$(free_port)
start_producer "$P" --producers 4 --consumers 4 --records 10000000 --keyed
$T consume --connect 127.0.0.1:$P --producers 4 --consumers 4 --records 10000000 \
    > "$tmp/cons.out" 2>&1 || fail "consumer reported errors"
wait "${pids[-1]}" || fail "producer failed"
[ "$(field records "$tmp/cons.out")" = 10000000 ] || fail "record count"
[ "$(field order_errors "$tmp/cons.out")" = 0 ] || fail "order errors"
cat "$tmp/cons.out"

echo "== slow consumer (a tenth of the producer's speed or less)"
P=$(free_port)
start_producer "$P" --records 400000
# The producer alone runs at millions of records/s (case 1); 200k/s is far below a tenth.
$T consume --connect 127.0.0.1:$P --records 400000 --consume-rate 200000 \
    > "$tmp/cons.out" 2>&1 || fail "slow consumer failed"
wait "${pids[-1]}" || fail "producer failed"
cat "$tmp/prod.out"
[ "$(field pool_grew "$tmp/prod.out")" = 0 ] || fail "the buffer pool grew"
python3 - "$(field backpressure "$tmp/prod.out")" "$(field rss_growth_kb "$tmp/prod.out")" <<'PY' || fail "backpressure/memory"
import sys
bp, rss = float(sys.argv[1]), int(sys.argv[2])
assert bp >= 0.85, f"backpressure {bp} not near 1"
assert rss < 32 * 1024, f"producer memory grew by {rss} kB"
PY

echo "== kill -9 the consumer"
P=$(free_port)
start_producer "$P" --records 1000000000
$T consume --connect 127.0.0.1:$P --records 1000000000 --consume-rate 100000 > "$tmp/cons.out" 2>&1 &
cpid=$!
pids+=($cpid)
for _ in $(seq 3000); do grep -q receiving "$tmp/cons.out" && break; sleep 0.02; done
grep -q receiving "$tmp/cons.out" || fail "consumer never received anything"
sleep 0.3
kill -9 $cpid
killed_ms=$(date +%s%3N)
for _ in $(seq 3000); do grep -q "failed at" "$tmp/prod.out" && break; sleep 0.02; done
cat "$tmp/prod.out"
failed_ms=$(sed -n 's/.*failed at wall_ms=\([0-9]*\).*/\1/p' "$tmp/prod.out")
[ -n "$failed_ms" ] || fail "producer did not fail"
grep -q "disconnected" "$tmp/prod.out" || fail "failure does not name the consumer"
delay=$((failed_ms - killed_ms))
echo "producer failed ${delay} ms after the kill"
[ "$delay" -lt 1000 ] || fail "took ${delay} ms"
echo "OK"
