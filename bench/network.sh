#!/usr/bin/env bash
# Data-plane benchmark (issue 3). One command: bench/network.sh [runs]
#  (a) 100-byte records, 1 producer -> 1 consumer in another process over loopback TCP,
#      as a ratio to a plain TCP blast of the same bytes with 32 KiB writes (same run)
#  (b) the same for 4 producers x 4 consumers (all-to-all, round robin)
#  (c) latency p50/p99 of single records at 10,000 records/s with buffer timeout 0
#  (d) as root with ip(8): (a)'s two figures again between two hosts, network namespaces
#      joined by a veth pair (as the multi-host tests make them), printed beside loopback's
#  (e) (a) and (b) again with taskmanager.memory.segment-size: 64kb (default 32kb, Flink's):
#      half as many buffers for the same bytes, so what the data plane pays per buffer
#      (wake-ups, locks, system calls) shows as the difference
#  (f) the CPU time (user + system, both processes) per GB of records of (a) and (b) beside
#      the plain TCP pair's: on 2 cores a transfer cannot beat 2 cores' worth of its CPU time
# Each figure is the median of `runs` (default 3) alternating runs. Last line: the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/tests/flint-nettest ] || make -s -j2 >/dev/null
T=build/tests/flint-nettest
RUNS=${1:-3}
N=10000000          # records per throughput run
BYTES=$((N * 104))  # the same bytes on the wire as the records' payload + length prefix
tmp=$(mktemp -d)
NS="flint-bench-$$"
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$tmp"; ip netns del "$NS-a" 2>/dev/null; ip netns del "$NS-b" 2>/dev/null; true' EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" "$2" | head -1; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Across hosts (d): ON_SRV/ON_CLI prefix the server's and the client's commands, SRV is the
# server's address. On loopback all three are empty/127.0.0.1.
ON_SRV=() ON_CLI=() SRV=127.0.0.1

raw() { # -> MB/s of a plain TCP blast
    local p; p=$(free_port)
    ${ON_SRV[@]+"${ON_SRV[@]}"} $T raw-recv --bind "$SRV" --port "$p" --bytes "$BYTES" > "$tmp/raw.out" &
    local r=$!
    sleep 0.2
    ${ON_CLI[@]+"${ON_CLI[@]}"} $T raw-send --connect "$SRV:$p" --bytes "$BYTES" > "$tmp/rawsend.out"
    wait $r
    echo $(($(field cpu_ms "$tmp/raw.out") + $(field cpu_ms "$tmp/rawsend.out"))) >> "$tmp/${CPU_TO:-cpu.none}"
    # the raw sink counts all bytes; report MB/s of record payload for a like-for-like ratio
    python3 -c "import sys; print(float(sys.argv[1]) * 100 / 104)" "$(field mb_per_s "$tmp/raw.out")"
}

flint() { # producers consumers [args of both processes] -> MB/s of record payload
    local np=$1 nc=$2; shift 2
    local p; p=$(free_port)
    ${ON_SRV[@]+"${ON_SRV[@]}"} $T produce --bind "$SRV" --port "$p" --producers "$np" --consumers "$nc" --records "$N" "$@" > "$tmp/prod.out" 2>&1 &
    local pp=$!
    for _ in $(seq 100); do grep -q ready "$tmp/prod.out" && break; sleep 0.05; done
    ${ON_CLI[@]+"${ON_CLI[@]}"} $T consume --connect "$SRV:$p" --producers "$np" --consumers "$nc" --records "$N" "$@" > "$tmp/cons.out"
    wait $pp
    echo $(($(field cpu_ms "$tmp/prod.out") + $(field cpu_ms "$tmp/cons.out"))) >> "$tmp/${CPU_TO:-cpu.none}"
    field mb_per_s "$tmp/cons.out"
}

for i in $(seq "$RUNS"); do
    CPU_TO=cpu.raw raw >> "$tmp/raw1"
    CPU_TO=cpu.f11 flint 1 1 >> "$tmp/f11"
    CPU_TO=cpu.f44 flint 4 4 >> "$tmp/f44"
    flint 1 1 -D taskmanager.memory.segment-size=64kb >> "$tmp/g11"
    flint 4 4 -D taskmanager.memory.segment-size=64kb >> "$tmp/g44"
done
RAW=$(median < "$tmp/raw1"); F11=$(median < "$tmp/f11"); F44=$(median < "$tmp/f44")
G11=$(median < "$tmp/g11"); G44=$(median < "$tmp/g44")
# CPU seconds per GB of records (N * 100 bytes)
cpu_per_gb() { python3 -c "import sys; print(float(sys.argv[1]) / 1e3 / (float(sys.argv[2]) * 100 / 1e9))" "$(median < "$tmp/$1")" "$N"; }
CRAW=$(cpu_per_gb cpu.raw); C11=$(cpu_per_gb cpu.f11); C44=$(cpu_per_gb cpu.f44)

# (c) latency: 10,000 records/s for 3 s, flushed after every record.
p=$(free_port)
$T produce --port "$p" --records 30000 --rate 10000 --timeout-ms 0 > "$tmp/prod.out" 2>&1 &
pp=$!
for _ in $(seq 100); do grep -q ready "$tmp/prod.out" && break; sleep 0.05; done
$T consume --connect 127.0.0.1:"$p" --records 30000 --timeout-ms 0 > "$tmp/lat.out"
wait $pp
P50=$(field latency_p50_us "$tmp/lat.out"); P99=$(field latency_p99_us "$tmp/lat.out")

printf 'plain TCP (32 KiB writes)     %8.1f MB/s of records\n' "$RAW"
printf 'flint 1x1, 100-byte records   %8.1f MB/s\n' "$F11"
printf 'flint 4x4, 100-byte records   %8.1f MB/s\n' "$F44"
printf 'the same, 64 KiB buffers      %8.1f MB/s 1x1, %.1f MB/s 4x4\n' "$G11" "$G44"
printf 'CPU per GB of records         %8.2f s plain TCP, %.2f s 1x1, %.2f s 4x4 (both processes)\n' "$CRAW" "$C11" "$C44"
printf 'latency at 10k records/s      p50 %.1f us, p99 %.1f us (buffer timeout 0)\n' "$P50" "$P99"
# (d) two hosts joined by a veth pair
VETH=
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1 &&
    ip netns add "$NS-a" 2>/dev/null && ip netns add "$NS-b" &&
    ip link add "fb$$a" type veth peer name "fb$$b" &&
    ip link set "fb$$a" netns "$NS-a" && ip link set "fb$$b" netns "$NS-b" &&
    ip -n "$NS-a" addr add 10.214.0.1/24 dev "fb$$a" && ip -n "$NS-b" addr add 10.214.0.2/24 dev "fb$$b" &&
    ip -n "$NS-a" link set "fb$$a" up && ip -n "$NS-b" link set "fb$$b" up &&
    ip -n "$NS-a" link set lo up && ip -n "$NS-b" link set lo up; then
    ON_SRV=(ip netns exec "$NS-a") ON_CLI=(ip netns exec "$NS-b") SRV=10.214.0.1
    for i in $(seq "$RUNS"); do
        raw >> "$tmp/vraw1"
        flint 1 1 >> "$tmp/vf11"
    done
    VRAW=$(median < "$tmp/vraw1"); VF11=$(median < "$tmp/vf11")
    printf 'veth: plain TCP (32 KiB)      %8.1f MB/s of records
' "$VRAW"
    printf 'veth: flint 1x1               %8.1f MB/s
' "$VF11"
    VETH=$(python3 -c "import sys; print(f'  veth: 1x1/raw={float(sys.argv[1])/float(sys.argv[2]):.2f} (raw {float(sys.argv[2])/float(sys.argv[3]):.2f}x loopback\'s)')" "$VF11" "$VRAW" "$RAW")
else
    VETH="  (veth: skipped, needs root and ip)"
fi

python3 - "$F11" "$F44" "$RAW" "$P50" "$P99" "$G11" "$G44" "$CRAW" "$C11" "$C44" "$VETH" <<'PY'
import sys
f11, f44, raw, p50, p99, g11, g44, craw, c11, c44 = map(float, sys.argv[1:11])
print(f"network: 1x1/raw={f11/raw:.2f} (goal >= 0.7)  4x4/raw={f44/raw:.2f}  "
      f"p50={p50:.0f}us p99={p99:.0f}us (goal p99 < 1000us)  "
      f"64 KiB buffers: 1x1/raw={g11/raw:.2f} 4x4/raw={g44/raw:.2f}  "
      f"cpu/raw: 1x1={c11/craw:.2f} 4x4={c44/craw:.2f}{sys.argv[11]}")
PY
