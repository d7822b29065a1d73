#!/usr/bin/env bash
# High-availability benchmark (issue 11, point 11). One command:
#   bench/ha.sh [runs] [kills] [pauses] [MB]
#
# A ZooKeeper server (bin/zookeeper.sh) on a free loopback port; session timeout 2 s.
# 1. Takeover after kill -9: two JobManagers, one TaskManager of two slots, seqcheck at -p 2
#    with checkpoints every 200 ms, its sources held on a gate file. `kills` times (default
#    5): kill -9 of the leader, a fresh standby started; the time from the kill to the new
#    leader's "leads the cluster now" (detection: ZooKeeper's session timeout) and to every
#    task RUNNING under it (REST polled every 20 ms). Goal: < 3 s.
# 2. Takeover from a paused leader: `pauses` times (default 3) SIGSTOP of the leader, the time
#    to every task RUNNING under the standby, then SIGCONT (it steps down and stands by).
#    Goal: the session timeout + < 1 s.
# 3. Throughput of examples/wordcount.so at -p 1 (file sink, checkpoints every 1 s) with HA
#    on (ZooKeeper counter and checkpoint store) as a ratio to the same job with HA off, in
#    this run: `runs` (default 3) of each, alternating, medians of the steady rate (slope of
#    the counting vertex's read-records between 10 % and 90 % of the input, as
#    bench/checkpoints.sh measures it) over MB (default 128) MB of text. Goal: >= 0.98.
#    On a machine shared with other work the rate varies by tens of percent from run to
#    run; the words counted per CPU second of the daemons (TaskManager and JobManagers:
#    all of HA's work) vary much less, and are printed as a second ratio.
# Last line: the medians and the ratio.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
KILLS=${2:-5}
PAUSES=${3:-3}
MB=${4:-128}

bench_build
SEQ="$BENCH_HOME/build/examples/seqcheck.so"
WC="$BENCH_HOME/build/examples/wordcount.so"
TEXT=$(bench_text "$MB")
command -v java >/dev/null && [ -f /usr/share/java/zookeeper.jar ] ||
    { echo "bench: ZooKeeper is not installed (make deps)" >&2; exit 1; }

# ---- ZooKeeper ---------------------------------------------------------------------------
ZK_PORT=$(bench_free_port)
ZK_ENV=(env FLINT_CONF_DIR="$BENCH_TMP/zkconf" FLINT_PID_DIR="$BENCH_TMP/zkpid" FLINT_LOG_DIR="$BENCH_TMP/log")
mkdir -p "$BENCH_TMP/zkconf" "$BENCH_TMP/zkpid"
cat >"$BENCH_TMP/zkconf/zoo.cfg" <<EOF
tickTime=250
minSessionTimeout=1000
maxSessionTimeout=60000
dataDir=$BENCH_TMP/zk
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
EOF
"${ZK_ENV[@]}" "$BENCH_HOME/bin/zookeeper.sh" start >/dev/null
trap 'rc=$?; "${ZK_ENV[@]}" "$BENCH_HOME/bin/zookeeper.sh" stop-all >/dev/null 2>&1; (exit $rc); bench_cleanup' EXIT

HA_KEYS=("high-availability.type=zookeeper" "high-availability.zookeeper.quorum=127.0.0.1:$ZK_PORT"
    "high-availability.storageDir=$BENCH_TMP/ha"
    "high-availability.zookeeper.client.session-timeout=2 s"
    "high-availability.zookeeper.client.retry-wait=100 ms"
    "high-availability.zookeeper.client.max-retry-attempts=100")

# an HA cluster (a cluster id of its own: nothing of an earlier one is recovered): JobManagers
# with REST on the given ports, TMS TaskManagers of SLOTS slots
CLUSTERS=0
ha_cluster_start() {
    local tms=$1 slots=$2 p kv
    shift 2
    CLUSTERS=$((CLUSTERS + 1))
    bench_cluster_start 0 "$slots" "${HA_KEYS[@]}" "high-availability.cluster-id=/bench-$$-$CLUSTERS" \
        "heartbeat.interval=500 ms" "heartbeat.timeout=10 s" "metrics.report-interval=50 ms"
    # bench_cluster_start started one JobManager on BENCH_REST_PORT; the others:
    JMS=("$BENCH_REST_PORT")
    for p in "$@"; do
        "$BENCH_HOME/bin/jobmanager.sh" start -D "rest.port=$p" >/dev/null
        JMS+=("$p")
    done
    for ((i = 0; i < tms; i++)); do
        "$BENCH_HOME/bin/taskmanager.sh" start >/dev/null
    done
    wait_leader ""
    bench_wait_slots $((tms * slots))
}

leader_port() {
    local p
    for p in "${JMS[@]}"; do
        curl -s --max-time 1 "http://127.0.0.1:$p/overview" 2>/dev/null |
            grep -q '"leadership":"ACTIVE"' && { echo "$p"; return 0; }
    done
    return 1
}

# wait_leader OLD: until a JobManager other than REST port OLD leads; BENCH_REST_PORT is it
wait_leader() {
    local p i
    for ((i = 0; i < 600; i++)); do
        p=$(leader_port) && [ "$p" != "$1" ] && { BENCH_REST_PORT=$p; return 0; }
        sleep 0.05
    done
    echo "bench: no new leader" >&2
    exit 1
}

jm_pid() {
    local p
    for p in $(cat "$FLINT_PID_DIR"/flint-*-jobmanager.pid); do
        grep -aq "rest.port=$1\$\|rest.port=$1[^0-9]" "/proc/$p/cmdline" 2>/dev/null && { echo "$p"; return 0; }
    done
    # the first one was started without -D rest.port
    for p in $(cat "$FLINT_PID_DIR"/flint-*-jobmanager.pid); do
        grep -aq "rest.port=" "/proc/$p/cmdline" 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}

# ms since the epoch of the first log line (of any JobManager) after T0 that matches RE
log_ms_after() {
    python3 -S - "$1" "$2" "$FLINT_LOG_DIR" <<'PY'
import glob, re, sys, time, datetime
t0, pat, d = int(sys.argv[1]), re.compile(sys.argv[2]), sys.argv[3]
best = None
for f in glob.glob(d + "/flint-*-jobmanager-*.log"):
    for line in open(f, errors="replace"):
        if not pat.search(line):
            continue
        ts = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp() * 1000
        if ts >= t0 and (best is None or ts < best):
            best = ts
print(int(best) if best else -1)
PY
}

# the time (ms since the epoch) every task of job $1 runs under the leader (REST polled every
# 20 ms; a paused JobManager does not hold the polling up)
wait_running() {
    python3 -S - "$1" "${JMS[@]}" <<'PY'
import json, sys, time, urllib.request
jid, ports = sys.argv[1], sys.argv[2:]
t0 = time.time()
while time.time() - t0 < 60:
    for p in ports:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%s/jobs/%s" % (p, jid), timeout=0.2) as r:
                d = json.load(r)
        except Exception:
            continue
        total = sum(v["parallelism"] for v in d["vertices"])
        if d["state"] == "RUNNING" and d["status-counts"]["RUNNING"] == total:
            print(int(time.time() * 1000))
            sys.exit(0)
    time.sleep(0.02)
sys.exit("bench: job %s does not run again" % jid)
PY
}

# ---- 1 and 2: takeovers ---------------------------------------------------------------------
R2=$(bench_free_port)
R3=$(bench_free_port)
ha_cluster_start 1 2 "$R2"
GATE="$BENCH_TMP/gate"
: >"$GATE"
out=$("$FLINT" -m "127.0.0.1:$BENCH_REST_PORT" run -d -p 2 -D "execution.checkpointing.interval=200 ms" \
    -D "state.checkpoints.dir=$BENCH_TMP/ck" -D restart-strategy.type=fixed-delay \
    -D restart-strategy.fixed-delay.attempts=100 -D "restart-strategy.fixed-delay.delay=0 ms" \
    -D "testing.source.gate-file=$GATE" -D testing.source.gate-rate=5000 \
    "$SEQ" --keys 16 --per-key 100000000 --rate 100000 --output "$BENCH_TMP/seq.out")
JID=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]*\)$/\1/p' <<<"$out")
[ -n "$JID" ] || { echo "bench: submission failed: $out" >&2; exit 1; }
wait_running "$JID" >/dev/null
sleep 1
: >"$BENCH_TMP/kill.res"
spare=$R3
for i in $(seq "$KILLS"); do
    old=$BENCH_REST_PORT
    pid=$(jm_pid "$old")
    t0=$(bench_now_ms)
    kill -9 "$pid"
    "$BENCH_HOME/bin/jobmanager.sh" start -D "rest.port=$spare" >/dev/null
    JMS+=("$spare")
    ms=$(($(wait_running "$JID") - t0))
    wait_leader "$old"
    spare=$old
    live=()
    for p in "${JMS[@]}"; do [ "$p" = "$old" ] || live+=("$p"); done
    JMS=("${live[@]}")
    led=$(log_ms_after "$t0" "leads the cluster now")
    echo "$ms $((led - t0))" >>"$BENCH_TMP/kill.res"
    echo "kill -9 $i: new leader after $((led - t0)) ms, every task RUNNING after $ms ms"
    sleep 1
done
: >"$BENCH_TMP/stop.res"
for i in $(seq "$PAUSES"); do
    old=$BENCH_REST_PORT
    pid=$(jm_pid "$old")
    t0=$(bench_now_ms)
    kill -STOP "$pid"
    ms=$(($(wait_running "$JID") - t0))
    wait_leader "$old"
    kill -CONT "$pid"
    led=$(log_ms_after "$t0" "leads the cluster now")
    echo "$ms $((led - t0))" >>"$BENCH_TMP/stop.res"
    echo "SIGSTOP $i: new leader after $((led - t0)) ms, every task RUNNING after $ms ms"
    sleep 1.5
done
curl -s -X PATCH -H 'Content-Type: application/json' "http://127.0.0.1:$BENCH_REST_PORT/jobs/$JID?mode=cancel" >/dev/null
for ((i = 0; i < 100; i++)); do
    curl -s "http://127.0.0.1:$BENCH_REST_PORT/jobs/$JID" | grep -q '"state":"CANCELED"' && break
    sleep 0.1
done
rm -f -- "$GATE"

# ---- 3: throughput, HA on vs off ---------------------------------------------------------
# CPU time (ms) of every Flint daemon of the running cluster so far
daemons_cpu_ms() {
    local p ticks=0 hz
    hz=$(getconf CLK_TCK)
    for p in $(cat "$FLINT_PID_DIR"/flint-*.pid 2>/dev/null); do
        [ -r "/proc/$p/stat" ] || continue
        ticks=$((ticks + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 + 0 }')))
    done
    echo $((ticks * 1000 / hz))
}

measure() {
    local name=$1 out jid cpu0 words
    rm -rf -- "$BENCH_TMP/out"
    cpu0=$(daemons_cpu_ms)
    out=$("$FLINT" -m "127.0.0.1:$BENCH_REST_PORT" run -d -p 1 -D "execution.checkpointing.interval=1 s" \
        -D "state.checkpoints.dir=$BENCH_TMP/ck" "$WC" --input "$TEXT" --output "$BENCH_TMP/out")
    jid=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]*\)$/\1/p' <<<"$out")
    [ -n "$jid" ] || { echo "bench: submission failed: $out" >&2; exit 1; }
    python3 -S "$BENCH_HOME/bench/steady_rate.py" "$BENCH_REST_PORT" "$jid" >>"$BENCH_TMP/$name.res" || exit 1
    words=$(tail -n 1 "$BENCH_TMP/$name.res" | cut -d' ' -f4)
    echo "$((words * 1000 / ($(daemons_cpu_ms) - cpu0 + 1)))" >>"$BENCH_TMP/$name.cpu"
    rm -rf -- "$BENCH_TMP/out"
}
for i in $(seq "$RUNS"); do
    bench_cluster_start 1 1 "metrics.report-interval=50 ms"
    measure off
    ha_cluster_start 1 1
    measure on
done

kill_ms=$(cut -d' ' -f1 "$BENCH_TMP/kill.res" | median)
kill_max=$(cut -d' ' -f1 "$BENCH_TMP/kill.res" | sort -g | tail -n 1)
detect_ms=$(cut -d' ' -f2 "$BENCH_TMP/kill.res" | median)
stop_ms=$(cut -d' ' -f1 "$BENCH_TMP/stop.res" | median)
off=$(cut -d' ' -f1 "$BENCH_TMP/off.res" | median)
on=$(cut -d' ' -f1 "$BENCH_TMP/on.res" | median)
offc=$(median <"$BENCH_TMP/off.cpu")
onc=$(median <"$BENCH_TMP/on.cpu")
echo "wordcount words/s, HA off: $(cut -d' ' -f1 "$BENCH_TMP/off.res" | tr '\n' ' ')on: $(cut -d' ' -f1 "$BENCH_TMP/on.res" | tr '\n' ' ')"
echo "wordcount words per daemon CPU second, HA off: $(tr '\n' ' ' <"$BENCH_TMP/off.cpu")on: $(tr '\n' ' ' <"$BENCH_TMP/on.cpu")"
awk -v k="$kill_ms" -v km="$kill_max" -v d="$detect_ms" -v s="$stop_ms" -v on="$on" -v off="$off" \
    -v onc="$onc" -v offc="$offc" 'BEGIN {
    printf "ha: kill -9 -> every task RUNNING median %d ms (max %d, new leader after %d; goal < 3000), SIGSTOP -> RUNNING median %d ms (session 2000 + %d; goal < 1000), wordcount HA on/off %.3f (goal >= 0.98), per CPU second %.3f\n",
        k, km, d, s, s - 2000, on / off, onc / offc }'
