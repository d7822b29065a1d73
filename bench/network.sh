#!/usr/bin/env bash
# Data-plane benchmark (issue 3). One command: bench/network.sh [runs]
#  (a) 100-byte records, 1 producer -> 1 consumer in another process over loopback TCP,
#      as a ratio to a plain TCP blast of the same bytes with 32 KiB writes (same run)
#  (b) the same for 4 producers x 4 consumers (all-to-all, round robin)
#  (c) latency p50/p99 of single records at 10,000 records/s with buffer timeout 0
# Each figure is the median of `runs` (default 3) alternating runs. Last line: the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/tests/flint-nettest ] || make -s -j2 >/dev/null
T=build/tests/flint-nettest
RUNS=${1:-3}
N=10000000          # records per throughput run
BYTES=$((N * 104))  # the same bytes on the wire as the records' payload + length prefix
tmp=$(mktemp -d)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$tmp"' EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$2" | head -1; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

raw() { # -> MB/s of a plain TCP blast
    local p; p=$(free_port)
    $T raw-recv --port "$p" --bytes "$BYTES" > "$tmp/raw.out" &
    local r=$!
    sleep 0.2
    $T raw-send --connect 127.0.0.1:"$p" --bytes "$BYTES"
    wait $r
    # the raw sink counts all bytes; report MB/s of record payload for a like-for-like ratio
    python3 -c "import sys; print(float(sys.argv[1]) * 100 / 104)" "$(field mb_per_s "$tmp/raw.out")"
}

flint() { # producers consumers [extra consumer args] -> MB/s of record payload
    local np=$1 nc=$2; shift 2
    local p; p=$(free_port)
    $T produce --port "$p" --producers "$np" --consumers "$nc" --records "$N" > "$tmp/prod.out" 2>&1 &
    local pp=$!
    for _ in $(seq 100); do grep -q ready "$tmp/prod.out" && break; sleep 0.05; done
    $T consume --connect 127.0.0.1:"$p" --producers "$np" --consumers "$nc" --records "$N" "$@" > "$tmp/cons.out"
    wait $pp
    field mb_per_s "$tmp/cons.out"
}

for i in $(seq "$RUNS"); do
    raw >> "$tmp/raw1"
    flint 1 1 >> "$tmp/f11"
    flint 4 4 >> "$tmp/f44"
done
RAW=$(median < "$tmp/raw1"); F11=$(median < "$tmp/f11"); F44=$(median < "$tmp/f44")

# (c) latency: 10,000 records/s for 3 s, flushed after every record.
p=$(free_port)
$T produce --port "$p" --records 30000 --rate 10000 --timeout-ms 0 > "$tmp/prod.out" 2>&1 &
pp=$!
for _ in $(seq 100); do grep -q ready "$tmp/prod.out" && break; sleep 0.05; done
$T consume --connect 127.0.0.1:"$p" --records 30000 > "$tmp/lat.out"
wait $pp
P50=$(field latency_p50_us "$tmp/lat.out"); P99=$(field latency_p99_us "$tmp/lat.out")

printf 'plain TCP (32 KiB writes)     %8.1f MB/s of records\n' "$RAW"
printf 'flint 1x1, 100-byte records   %8.1f MB/s\n' "$F11"
printf 'flint 4x4, 100-byte records   %8.1f MB/s\n' "$F44"
printf 'latency at 10k records/s      p50 %.1f us, p99 %.1f us (buffer timeout 0)\n' "$P50" "$P99"
python3 - "$F11" "$F44" "$RAW" "$P50" "$P99" <<'PY'
import sys
f11, f44, raw, p50, p99 = map(float, sys.argv[1:])
print(f"network: 1x1/raw={f11/raw:.2f} (goal >= 0.7)  4x4/raw={f44/raw:.2f}  "
      f"p50={p50:.0f}us p99={p99:.0f}us (goal p99 < 1000us)")
PY
