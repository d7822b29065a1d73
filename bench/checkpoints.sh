#!/usr/bin/env bash
# Checkpoint benchmarks (issue 6, point 13). One command:
#   bench/checkpoints.sh [runs] [hashmap_MB] [rocksdb_MB] [kills]
#
# 1. Throughput of examples/wordcount.so at -p 1 (file sink) with checkpoints every 1 s as a
#    ratio to the same job without checkpoints, per state backend (goals >= 0.95 hashmap,
#    >= 0.85 rocksdb). Input: copies of build/bench/data/text-128mb-seed1.txt (the text of
#    bench/wordcount.sh) up to hashmap_MB (default 512), its first rocksdb_MB (default 16)
#    for rocksdb (RocksDB counts ~20x slower, both runs take about as long). Runs alternate
#    (without, with, without, with ...), `runs` (default 3) of each; figures are medians.
#    Throughput is the steady rate: the slope of the counting vertex's read-records over
#    time between 10 % and 90 % of the input, sampled from /jobs/:id every 50 ms with
#    metrics.report-interval 50 ms. (The job runtime is printed too; with checkpoints a
#    bounded job also waits for a final checkpoint after its input ends, up to one
#    interval, which is no throughput cost.) The hashmap runs are made twice: the output
#    on disk ($TMPDIR) and in memory (/dev/shm), to tell the file sink's fsync at every
#    checkpoint from the checkpoints' own cost.
# 2. Recovery: seqcheck (examples/seqcheck.c) at -p 2 with checkpoints every 1 s on 3
#    TaskManagers of one slot (one spare), heartbeat.interval 200 ms / heartbeat.timeout 1 s,
#    restart strategy fixed-delay with 0 ms delay. `kills` times (default 5): kill -9 of a
#    TaskManager running a task, then measure, from the daemons' logs, the time to the
#    JobManager's "switched from state RESTARTING to RUNNING" (after "restores from
#    checkpoint N"), to every task's "switched from INITIALIZING to RUNNING", and to the
#    first checkpoint completed after the restore; and when /jobs/:id shows every task
#    RUNNING again (the REST view is published with some delay). A new TaskManager then
#    restores the spare. Goal: RUNNING again < 2 s. Then once more with SIGSTOP instead of
#    SIGKILL: a frozen TaskManager keeps its connections open, so only the heartbeat timeout
#    (1 s) notices it (reported, not in the last line).
# Last line: the ratios and the median recovery time.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
HASH_MB=${2:-512}
ROCKS_MB=${3:-16}
KILLS=${4:-5}

bench_build
SRC=$(bench_text 128)
BUNDLE="$BENCH_HOME/build/examples/wordcount.so"
SEQ="$BENCH_HOME/build/examples/seqcheck.so"
HASH_IN="$BENCH_TMP/hash.txt"
ROCKS_IN="$BENCH_TMP/rocks.txt"
while [ "$(stat -c %s "$HASH_IN" 2>/dev/null || echo 0)" -lt $((HASH_MB << 20)) ]; do
    cat -- "$SRC" >>"$HASH_IN"
done
truncate -s $((HASH_MB << 20)) "$HASH_IN"
head -c $((ROCKS_MB << 20)) -- "$SRC" >"$ROCKS_IN"
# whole lines only
printf '\n' >>"$HASH_IN"
printf '\n' >>"$ROCKS_IN"

# ---------------------------------------------------------------------------------------
# measure NAME BACKEND INPUT CKPT(0|1) OUTDIR: one wordcount run, sampled; appends
# "rate_words_per_s runtime_ms checkpoints" to $BENCH_TMP/NAME.res
measure() {
    local name=$1 backend=$2 input=$3 ck=$4 outdir=$5 args out jid
    args=(-D "state.backend.type=$backend")
    [ "$ck" = 1 ] && args+=(-D "execution.checkpointing.interval=1 s" \
        -D "state.checkpoints.dir=$BENCH_TMP/checkpoints")
    rm -rf -- "$outdir"
    out=$("$FLINT" run -d -p 1 "${args[@]}" "$BUNDLE" --input "$input" --output "$outdir")
    jid=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]*\)$/\1/p' <<<"$out")
    [ -n "$jid" ] || { echo "bench: submission failed: $out" >&2; exit 1; }
    python3 -S "$BENCH_HOME/bench/steady_rate.py" "$BENCH_REST_PORT" "$jid" >>"$BENCH_TMP/$name.res" || exit 1
    rm -rf -- "$outdir"
}

# The sink's output on disk ($TMPDIR) and, for hashmap, also in memory (/dev/shm): every
# checkpoint fsyncs the part file it pre-commits, which on a disk costs the writing of the
# ~100 MB the sink wrote in that second; in memory only the checkpoints' own cost remains.
SHM=
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    SHM=$(mktemp -d /dev/shm/flint-bench.XXXXXX)
    trap 'rc=$?; rm -rf -- "$SHM"; (exit $rc); bench_cleanup' EXIT
fi
bench_cluster_start 1 1 "metrics.report-interval=50 ms"
for i in $(seq "$RUNS"); do
    measure hashmap-0 hashmap "$HASH_IN" 0 "$BENCH_TMP/out"
    measure hashmap-1 hashmap "$HASH_IN" 1 "$BENCH_TMP/out"
    if [ -n "$SHM" ]; then
        measure hashmap-shm-0 hashmap "$HASH_IN" 0 "$SHM/out"
        measure hashmap-shm-1 hashmap "$HASH_IN" 1 "$SHM/out"
    fi
done
for i in $(seq "$RUNS"); do
    measure rocksdb-0 rocksdb "$ROCKS_IN" 0 "$BENCH_TMP/out"
    measure rocksdb-1 rocksdb "$ROCKS_IN" 1 "$BENCH_TMP/out"
done

# ---------------------------------------------------------------------------------------
bench_cluster_start 3 1 "heartbeat.interval=200 ms" "heartbeat.timeout=1 s" "metrics.report-interval=200 ms"
out=$("$FLINT" run -d -p 2 -D "execution.checkpointing.interval=1 s" \
    -D "state.checkpoints.dir=$BENCH_TMP/checkpoints" -D restart-strategy.type=fixed-delay \
    -D restart-strategy.fixed-delay.attempts=1000 -D "restart-strategy.fixed-delay.delay=0 ms" \
    "$SEQ" --keys 64 --per-key 100000000 --rate 200000 --output "$BENCH_TMP/seq")
JID=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]*\)$/\1/p' <<<"$out")
[ -n "$JID" ] || { echo "bench: submission failed: $out" >&2; exit 1; }
for k in $(seq $((KILLS + 1))); do
    sig=KILL
    [ "$k" -gt "$KILLS" ] && sig=STOP
    python3 -S - "$BENCH_REST_PORT" "$JID" "$FLINT_LOG_DIR" "$sig" >>"$BENCH_TMP/recovery-$sig.res" <<'PY' || exit 1
import datetime, glob, json, os, re, signal, sys, time, urllib.request
port, jid, logdir, sig = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def get(path):
    with urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path), timeout=3) as r:
        return json.load(r)
def all_running(j):
    return j["state"] == "RUNNING" and all(
        v["tasks"]["RUNNING"] == v["parallelism"] for v in j["vertices"])
def ts(line):
    return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
# steady: every task running and two checkpoints completed since
t0 = time.time()
while True:
    j = get("/jobs/" + jid)
    if all_running(j):
        c0 = get("/jobs/%s/checkpoints" % jid)["counts"]["completed"]
        break
    if time.time() - t0 > 60:
        sys.exit("bench: job %s not running: %s" % (jid, j["state"]))
    time.sleep(0.1)
while get("/jobs/%s/checkpoints" % jid)["counts"]["completed"] < c0 + 2:
    time.sleep(0.1)
ntasks = sum(v["parallelism"] for v in j["vertices"])
# a TaskManager with a task (no free slot): its pid from its log
busy = {tm["id"] for tm in get("/taskmanagers")["taskmanagers"] if tm["freeSlots"] == 0}
pid = None
for log in glob.glob(os.path.join(logdir, "*taskmanager*.log")):
    text = open(log, errors="replace").read()
    starts = list(re.finditer(r"taskmanager \(pid ([0-9]+)\)", text))
    ids = re.findall(r"TaskManager (\S+) started", text)
    if starts and ids and ids[-1] in busy:
        p = int(starts[-1].group(1))
        try:
            os.kill(p, 0)
            pid = p
        except OSError:
            pass
if pid is None:
    sys.exit("bench: no live TaskManager with a task among %s" % busy)
logs = glob.glob(os.path.join(logdir, "*.log"))
offsets = {l: os.path.getsize(l) for l in logs}
jmlog = [l for l in logs if "jobmanager" in l][0]
def since(l):
    with open(l, errors="replace") as f:
        f.seek(offsets[l])
        return f.read()
t_kill = time.time()
os.kill(pid, signal.SIGKILL if sig == "KILL" else signal.SIGSTOP)
t_rest = None
while time.time() - t_kill < 60:
    jm = since(jmlog)
    started = [ln for l in logs if l != jmlog for ln in since(l).splitlines()
               if "switched from INITIALIZING to RUNNING" in ln]
    if t_rest is None and "restores from checkpoint" in jm and all_running(get("/jobs/" + jid)):
        t_rest = time.time()
    if len(started) >= ntasks and "Completed checkpoint" in jm.split("restores from checkpoint", 1)[-1] and t_rest:
        break
    time.sleep(0.01)
jm = since(jmlog)
m = re.search(r"^.*restores from checkpoint ([0-9]+)", jm, re.M)
r = re.search(r"^.*switched from state RESTARTING to RUNNING", jm, re.M)
c = re.search(r"^.*Completed checkpoint", jm[m.end():] if m else "", re.M)
if sig == "STOP":
    os.kill(pid, signal.SIGKILL)
    os.kill(pid, signal.SIGCONT)
if not (m and r and c and t_rest and len(started) >= ntasks):
    sys.exit("bench: no recovery seen within 60 s:\n" + jm[-2000:])
t_tasks = max(ts(ln) for ln in sorted(started, key=ts)[:ntasks])
print("%.0f %.0f %.0f %.0f %d %s" % ((ts(r.group(0)) - t_kill) * 1000, (t_tasks - t_kill) * 1000,
                                     (ts(c.group(0)) - t_kill) * 1000, (t_rest - t_kill) * 1000,
                                     pid, m.group(1)))
PY
    "$BENCH_HOME/bin/taskmanager.sh" start >/dev/null
    bench_wait_slots 3
done
"$FLINT" cancel "$JID" >/dev/null

python3 -S - "$BENCH_TMP" "$RUNS" "$HASH_MB" "$ROCKS_MB" <<'PY'
import sys
d, runs, hmb, rmb = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def rows(name):
    return [list(map(float, l.split())) for l in open("%s/%s.res" % (d, name))]
def med(xs):
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2]
import os
ratios = {}
for b, mb, where in (("hashmap", hmb, "disk"), ("hashmap-shm", hmb, "tmpfs"),
                     ("rocksdb", rmb, "disk")):
    if not os.path.exists("%s/%s-0.res" % (d, b)):
        continue
    no, ck = rows(b + "-0"), rows(b + "-1")
    r0, r1 = med([r[0] for r in no]), med([r[0] for r in ck])
    j0, j1 = med([r[1] for r in no]), med([r[1] for r in ck])
    ratios[b] = r1 / r0
    print("wordcount -p 1, %-7s %4s MB, output on %-5s  no checkpoints %5.2f M words/s (job %5d ms)"
          "  1 s checkpoints %5.2f M words/s (job %5d ms, %2d checkpoints)  ratio %.3f"
          % (b.split("-")[0], mb, where, r0 / 1e6, j0, r1 / 1e6, j1, med([r[2] for r in ck]),
             r1 / r0))
rec = rows("recovery-KILL")
for i, r in enumerate(rec + rows("recovery-STOP")):
    print("recovery %d: %s of TaskManager %d -> job RUNNING %4d ms, every task RUNNING %4d ms "
          "(daemon logs; on REST %4d ms), first checkpoint after the restore %5d ms (restored "
          "checkpoint %d)" % (i + 1, "kill -9" if i < len(rec) else "SIGSTOP (heartbeat timeout 1 s)",
                              r[4], r[0], r[1], r[3], r[2], r[5]))
print("checkpoints: throughput with 1 s checkpoints / without: hashmap=%.3f (output in memory: "
      "%s; goal >= 0.95) rocksdb=%.3f (goal >= 0.85); recovery kill -9 -> RUNNING median %d ms, "
      "all tasks RUNNING median %d ms (goal < 2000 ms)"
      % (ratios["hashmap"], "%.3f" % ratios["hashmap-shm"] if "hashmap-shm" in ratios else "n/a",
         ratios["rocksdb"], med([r[0] for r in rec]), med([r[1] for r in rec])))
PY
