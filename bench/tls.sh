#!/usr/bin/env bash
# TLS benchmark (issue 15 point 10). One command: bench/tls.sh [runs] [records]
#
# The keyed shuffle of bench/shuffle.sh (examples/bench_shuffle.so at -p 2 on two
# TaskManagers of one slot: half the records cross between them) and WordCount on 64 MB of
# text at -p 2, each with internal TLS (security.ssl.internal.*, certificates from
# bin/flint-ssl.sh) and without, alternating, `runs` times (default 3); medians. Then the
# cost of one TLS handshake with a TaskManager's data port (mutual, ECDSA P-256), from 200
# handshakes by Python's ssl module against the real daemon, beside a plain TCP connect.
# Last line: the ratios TLS/plain (goal >= 0.8 with AES-NI) and the handshake cost.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
N=${2:-10000000}
bench_build
SSL="$BENCH_TMP/ssl"
"$BENCH_HOME/bin/flint-ssl.sh" "$SSL" internal >/dev/null
TLS_KEYS=("security.ssl.internal.enabled=true" "security.ssl.internal.key=$SSL/internal.key"
    "security.ssl.internal.cert=$SSL/internal.pem" "security.ssl.internal.trust-certificates=$SSL/ca.pem")
TEXT=$(bench_text 64)
grep -q aes /proc/cpuinfo && AESNI=yes || AESNI=no

for _ in $(seq "$RUNS"); do
    for mode in plain tls; do
        if [ "$mode" = tls ]; then
            bench_cluster_start 2 1 "${TLS_KEYS[@]}"
        else
            bench_cluster_start 2 1
        fi
        bench_run "shuffle-$mode" -p 2 "$BENCH_HOME/build/examples/bench_shuffle.so" --records "$N"
        echo "$RUN_JOB_MS" >>"$BENCH_TMP/shuffle-$mode.ms"
        bench_run "wc-$mode" -p 2 "$BENCH_HOME/build/examples/wordcount.so" --input "$TEXT"
        echo "$RUN_JOB_MS" >>"$BENCH_TMP/wc-$mode.ms"
    done
done

# handshakes with the data port of a TaskManager of the TLS cluster still running
port=$(sed -n 's/.*started: .* data bound to [^ ]*:\([0-9]*\),.*/\1/p' "$FLINT_LOG_DIR"/*taskmanager-0*.log | tail -n 1)
HS=$(python3 -S - "$port" "$SSL" <<'PY'
import socket, ssl, sys, time
port, d = int(sys.argv[1]), sys.argv[2]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.load_verify_locations(d + "/ca.pem")
ctx.load_cert_chain(d + "/internal.pem", d + "/internal.key")
n = 200
t0 = time.perf_counter()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.close()
plain = (time.perf_counter() - t0) / n * 1e6
t0 = time.perf_counter()
for _ in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
    s.close()
tls = (time.perf_counter() - t0) / n * 1e6
print("%.0f %.0f" % (plain, tls))
PY
)
python3 -S - "$N" "$(median <"$BENCH_TMP/shuffle-plain.ms")" "$(median <"$BENCH_TMP/shuffle-tls.ms")" \
    "$(median <"$BENCH_TMP/wc-plain.ms")" "$(median <"$BENCH_TMP/wc-tls.ms")" $HS "$AESNI" <<'PY'
import sys
n, sp, st, wp, wt, hp, ht = map(float, sys.argv[1:8])
aesni = sys.argv[8]
print(f"shuffle {n / 1e6:.0f} M records: plain {sp:.0f} ms ({n / sp / 1e3:.2f} M/s), TLS {st:.0f} ms ({n / st / 1e3:.2f} M/s)")
print(f"wordcount 64 MB at -p 2: plain {wp:.0f} ms, TLS {wt:.0f} ms")
print(f"handshake with a data port: TCP connect {hp:.0f} us, TLS connect + mutual handshake {ht:.0f} us")
print(f"tls: shuffle TLS/plain={sp / st:.2f} wordcount TLS/plain={wp / wt:.2f} (goal >= 0.8, AES-NI {aesni}); handshake {ht - hp:.0f} us more than TCP")
PY
