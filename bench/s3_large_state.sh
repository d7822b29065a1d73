#!/usr/bin/env bash
# Large keyed state checkpointed to S3 (issue 22, point 7). One command:
#   bench/s3_large_state.sh [MB] [runs] [repeat] [hashmap|rocksdb|rocksdb-universal] [churn|hot]
#
# examples/wordcount.so at -p 1 (the state backend: hashmap by default, or rocksdb with
# state.backend.incremental: true, as Flink advises for large state, with Flink's default
# RocksDB options, or with rocksdb-universal also state.backend.rocksdb.compaction.style:
# UNIVERSAL, whose compactions rewrite less, so fewer new SST files to upload) on generated text of
# unique 100-letter words, as many as make about MB (default 1024) of keyed state in a snapshot (each word's
# entry: the word as key, count + word as value, 14 bytes of framing: 222 bytes), through a
# real cluster (a JobManager and one TaskManager of one slot) and s3rver (tests/s3, started
# here on a free loopback port, its data on the local disk too: the S3 figure is the cost of
# the protocol, HTTP, signing, multipart upload and s3rver's own writes).
#   1. Checkpoint duration: the job reads all its input and stays (its source held on the
#      gate file, testing.source.gate-file), so its state no longer changes; then `runs`
#      (default 3) savepoints in alternation to a local directory and to s3://flint/sp (a
#      hashmap savepoint is the same full snapshot as its checkpoint), each deleted after.
#      Durations and sizes from the JobManager's "Completed checkpoint ... as a savepoint"
#      lines; medians. Ratio S3 / local. (A RocksDB savepoint is a full snapshot, all SST
#      files, never incremental: the incremental checkpoints' own durations and sizes are
#      in the throughput runs' lines below.)
#   2. Throughput: the same job over its input repeated `repeat` (default 4) times (each
#      word counted that often: the same state, a run long enough to sample), without
#      checkpoints, with checkpoints every 1 s to a local directory, and with
#      checkpoints every 1 s to s3://flint/ck (num-retained 1; every checkpoint a full
#      snapshot of the state so far), in alternation, `runs` of each. The rate is the slope
#      of the counting vertex's read-records over time between 10 % and 90 % of the input,
#      sampled from /jobs/:id every 50 ms (bench/steady_rate.py: the final checkpoint a
#      bounded job takes after its input is not in it). Medians. Goal: with / without >= 0.9.
#      With `hot` (the fifth argument; `churn` is the default, above) the input is the words
#      once (the state built) and then repeat - 1 times as many words drawn skewed, as hot
#      items are (rank r with a probability ~ 1/r, scattered over the words): the rate is
#      taken after the state is built (from 1/repeat + 5 % of the input on), over updates
#      of about 5 % of the keys a second (at 0.8 M words/s) instead of all of them every
#      few seconds. `hot` needs repeat >= 2.
# Last line: both ratios.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
MB=${1:-1024}
RUNS=${2:-3}
REPEAT=${3:-4}
BACKEND=${4:-hashmap}
WORKLOAD=${5:-churn}
case $WORKLOAD in churn | hot) ;; *) echo "bench: workload '$WORKLOAD': churn or hot" >&2; exit 2 ;; esac
if [ "$WORKLOAD" = hot ] && [ "$REPEAT" -lt 2 ]; then
    echo "bench: the hot workload needs repeat >= 2 (one pass builds the state)" >&2
    exit 2
fi
case $BACKEND in
    hashmap) BACKEND_ARGS=(-D state.backend.type=hashmap) ;;
    rocksdb) BACKEND_ARGS=(-D state.backend.type=rocksdb -D state.backend.incremental=true) ;;
    rocksdb-universal)
        BACKEND_ARGS=(-D state.backend.type=rocksdb -D state.backend.incremental=true
            -D state.backend.rocksdb.compaction.style=UNIVERSAL) ;;
    *) echo "bench: backend '$BACKEND': hashmap, rocksdb or rocksdb-universal" >&2; exit 2 ;;
esac
bench_build
BUNDLE="$BENCH_HOME/build/examples/wordcount.so"
WORD=100
NWORDS=$(((MB << 20) / (22 + 2 * WORD)))
WORDS="$BENCH_HOME/build/bench/data/words-${MB}mb.txt"
# gen_words N PATH [UPDATES]: the N unique words (the word of index i is always the same);
# with UPDATES, that many of them drawn at random instead, skewed as hot items are (the
# word of rank r, scattered over the indices, with a probability ~ 1/r: log-uniform ranks)
gen_words() {
    python3 -S - "$1" "$WORD" "$2.tmp" "${3:-0}" <<'PY'
import random, sys
n, width, path, updates = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rnd = random.Random(7)
pool = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(1 << 20))
tail = width - 12
def word(i):
    o = (i * 7919) % (len(pool) - tail)
    return "w%011d%s\n" % (i, pool[o:o + tail])
if updates:
    pick = random.Random(11)
    idx = (((int(n ** pick.random()) - 1) * 1000003) % n for _ in range(updates))
else:
    idx = iter(range(n))
with open(path, "w") as f:
    lines = []
    for i in idx:
        lines.append(word(i))
        if len(lines) == 65536:
            f.write("".join(lines))
            lines = []
    f.write("".join(lines))
PY
    mv -- "$2.tmp" "$2"
}
if [ ! -f "$WORDS" ]; then
    echo "generating $NWORDS unique words into $WORDS (once)..." >&2
    mkdir -p "$(dirname -- "$WORDS")"
    gen_words "$NWORDS" "$WORDS"
fi
HOT="$BENCH_HOME/build/bench/data/words-${MB}mb-hot$((REPEAT - 1)).txt"
if [ "$WORKLOAD" = hot ] && [ ! -f "$HOT" ]; then
    echo "generating $(((REPEAT - 1) * NWORDS)) skewed updates into $HOT (once)..." >&2
    gen_words "$NWORDS" "$HOT" $(((REPEAT - 1) * NWORDS))
fi

if ! bench_s3rver_start; then
    echo "bench: node or s3rver missing (make deps runs npm ci in tests/s3); not run" >&2
    exit 0
fi
bench_cluster_start 1 1 "s3.endpoint=$BENCH_S3_ENDPOINT" s3.path.style.access=true \
    s3.access-key=S3RVER s3.secret-key=S3RVER "metrics.report-interval=50 ms"

jid_of() {
    sed -n 's/^Job has been submitted with JobID \([0-9a-f]*\)$/\1/p' <<<"$1"
}

# ---------------------------------------------------------------------------------------
GATE="$BENCH_TMP/gate"
: >"$GATE"
out=$("$FLINT" -m "127.0.0.1:$BENCH_REST_PORT" run -d -p 1 "${BACKEND_ARGS[@]}" \
    -D "testing.source.gate-file=$GATE" \
    "$BUNDLE" --input "$WORDS" --output "$BENCH_TMP/out-held")
JID=$(jid_of "$out")
[ -n "$JID" ] || { echo "bench: submission failed: $out" >&2; exit 1; }
python3 -S - "$BENCH_REST_PORT" "$JID" "$NWORDS" <<'PY' || exit 1
import json, sys, time, urllib.request
port, jid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t_end = time.time() + 3600
while time.time() < t_end:
    with urllib.request.urlopen("http://127.0.0.1:%s/jobs/%s" % (port, jid), timeout=3) as r:
        j = json.load(r)
    if j["state"] != "RUNNING":
        sys.exit("bench: job %s is %s" % (jid, j["state"]))
    if j["vertices"][1]["metrics"]["read-records"] >= n:
        sys.exit(0)
    time.sleep(0.2)
sys.exit("bench: the held job did not read its input within an hour")
PY
echo "  held job $JID: all $NWORDS words counted"
for i in $(seq "$RUNS"); do
    for mode in local s3; do
        if [ "$mode" = local ]; then dir="$BENCH_TMP/sp"; else dir=s3://flint/sp; fi
        out=$("$FLINT" -m "127.0.0.1:$BENCH_REST_PORT" savepoint "$JID" "$dir" 2>&1) ||
            { echo "bench: savepoint to $dir failed: $out" >&2; exit 1; }
        line=$(grep -h "Completed checkpoint [0-9]* for job $JID (.*as a savepoint" \
            "$FLINT_LOG_DIR"/flint-*-jobmanager-*.log | tail -n 1)
        sed -n 's/.*(\([0-9]*\) bytes, \([0-9]*\) ms) as a savepoint.*/\2 \1/p' <<<"$line" \
            >>"$BENCH_TMP/sp-$mode"
        echo "  savepoint $i to $mode: $(tail -n 1 "$BENCH_TMP/sp-$mode" | awk '{printf "%d ms, %d bytes", $1, $2}')"
        rm -rf -- "$BENCH_TMP/sp" "$BENCH_TMP/s3/flint/sp"
    done
done
"$FLINT" -m "127.0.0.1:$BENCH_REST_PORT" cancel "$JID" >/dev/null
rm -rf -- "$BENCH_TMP/out-held"
bench_wait_slots 1

# ---------------------------------------------------------------------------------------
REP="$BENCH_TMP/words-repeated.txt"
if [ "$WORKLOAD" = churn ]; then
    for _ in $(seq "$REPEAT"); do cat -- "$WORDS"; done >"$REP"
    FROM=0.1
else
    cat -- "$WORDS" "$HOT" >"$REP"
    FROM=$(awk -v r="$REPEAT" 'BEGIN { printf "%.3f", 1 / r + 0.05 }')
fi
# measure NAME CKPT(none|local|s3): one run over the repeated input, sampled; appends
# "rate_words_per_s runtime_ms checkpoints" to $BENCH_TMP/NAME.res
measure() {
    local name=$1 ck=$2 args=("${BACKEND_ARGS[@]}") out jid
    case $ck in
        local) args+=(-D "state.checkpoints.dir=$BENCH_TMP/ck") ;;
        s3) args+=(-D "state.checkpoints.dir=s3://flint/ck") ;;
    esac
    [ "$ck" = none ] || args+=(-D "execution.checkpointing.interval=1 s" \
        -D state.checkpoints.num-retained=1)
    rm -rf -- "$BENCH_TMP/out"
    out=$("$FLINT" -m "127.0.0.1:$BENCH_REST_PORT" run -d -p 1 ${args[@]+"${args[@]}"} \
        "$BUNDLE" --input "$REP" --output "$BENCH_TMP/out")
    jid=$(jid_of "$out")
    [ -n "$jid" ] || { echo "bench: submission failed: $out" >&2; exit 1; }
    python3 -S "$BENCH_HOME/bench/steady_rate.py" "$BENCH_REST_PORT" "$jid" "$FROM" >>"$BENCH_TMP/$name.res" || exit 1
    # the run's checkpoints (incremental ones with rocksdb): median duration and largest
    # size, from the JobManager's "Completed checkpoint N for job J (B bytes, T ms)"
    ckinfo=$(sed -n "s/.*Completed checkpoint [0-9]* for job $jid (\([0-9]*\) bytes, \([0-9]*\) ms)\.\$/\2 \1/p" \
        "$FLINT_LOG_DIR"/flint-*-jobmanager-*.log | sort -n | awk '{d[NR] = $1; if ($2 > m) m = $2}
        END { if (NR) printf ", checkpoints: median %d ms, largest %d bytes", d[int((NR + 1) / 2)], m }')
    # where the time of a checkpoint went on the counting task (the newest ones REST keeps)
    [ "$ck" = none ] || ckinfo+=$(python3 -S "$BENCH_HOME/bench/checkpoint_phases.py" \
        "$BENCH_REST_PORT" "$jid" | awk '$3 > 0 {printf ", sync %d ms, async %d ms (median of the last %d)", $1, $2, $3}')
    echo "  run $name: $(tail -n 1 "$BENCH_TMP/$name.res" | awk '{printf "%d words/s, job %d ms, %d checkpoints", $1, $2, $3}')$ckinfo"
    rm -rf -- "$BENCH_TMP/out" "$BENCH_TMP/ck" "$BENCH_TMP/s3/flint/ck"
}
for i in $(seq "$RUNS"); do
    measure none none
    measure local local
    measure s3 s3
done

ld=$(cut -d' ' -f1 "$BENCH_TMP/sp-local" | median)
sd=$(cut -d' ' -f1 "$BENCH_TMP/sp-s3" | median)
lb=$(cut -d' ' -f2 "$BENCH_TMP/sp-local" | median)
sb=$(cut -d' ' -f2 "$BENCH_TMP/sp-s3" | median)
rn=$(cut -d' ' -f1 "$BENCH_TMP/none.res" | median)
rs=$(cut -d' ' -f1 "$BENCH_TMP/s3.res" | median)
rl=$(cut -d' ' -f1 "$BENCH_TMP/local.res" | median)
cl=$(cut -d' ' -f3 "$BENCH_TMP/local.res" | median)
cs=$(cut -d' ' -f3 "$BENCH_TMP/s3.res" | median)
awk -v ld="$ld" -v sd="$sd" -v lb="$lb" -v sb="$sb" -v rn="$rn" -v rs="$rs" -v cs="$cs" \
    -v rl="$rl" -v cl="$cl" \
    -v mb="$MB" -v n="$NWORDS" -v be="$BACKEND" -v wl="$WORKLOAD" 'BEGIN {
    printf "wordcount -p 1, %s backend, %s workload, %d unique words (~%d MB of keyed state), medians\n", be, wl, n, mb
    printf "  full checkpoint (savepoint), local   %8d ms  %d bytes\n", ld, lb
    printf "  full checkpoint (savepoint), S3      %8d ms  %d bytes\n", sd, sb
    printf "  throughput, no checkpoints           %8d words/s\n", rn
    printf "  throughput, 1 s checkpoints, local   %8d words/s (%d checkpoints a run)\n", rl, cl
    printf "  throughput, 1 s checkpoints to S3    %8d words/s (%d checkpoints a run)\n", rs, cs
    printf "large state on s3 (%s, %s): checkpoint duration s3/local=%.2f, throughput with/without=%.2f (local %.2f)\n", be, wl, (ld > 0 ? sd / ld : 0), (rn > 0 ? rs / rn : 0), (rn > 0 ? rl / rn : 0)
}'
