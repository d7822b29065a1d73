#!/usr/bin/env bash
# test_nexmark.sh -- issue 14 point 1: the Nexmark generator and queries
# (examples/nexmark/) end to end, on a cluster of one JobManager and 2 TaskManagers with
# one slot each (so -p 2 crosses the network), against an independent reference.
#
#   * the reference: tests/cluster/ref/nexmark_ref.py generates the event stream from the
#     model's description in Python (not from Flint's output) and computes every query
#     from nexmark/nexmark's SQL;
#   * the input: NEXMARK_TEST_EVENTS events (default 40,000) at 100 events per second of
#     event time (400 s: 40 tumbling windows of 10 s, 200 sliding windows, many user
#     sessions and closed auctions), seed NEXMARK_TEST_SEED (default 3);
#   * `q0 --all` (every event the generator makes) and q0, q1, q2, q3, q4, q5, q7, q8, q11
#     run at -p 1 and -p 2 with -D pipeline.auto-watermark-interval=0; each output (all
#     part files) must equal the reference as a multiset of lines, so the generator is
#     the same event stream at any parallelism and every result is deterministic; q4 and
#     q11 also with watermarks every 200 ms (nothing is late: the same results);
#   * q12 windows by processing time, so its rows cannot be predicted: checked are their
#     structure (10 s windows aligned to the epoch, one row per bidder and window, counts
#     >= 1) and totals (the bids per bidder equal the reference's);
#   * flint info: the generator runs at the job's parallelism; bad arguments exit 1 with
#     a message.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"

REF="$FLINT_HOME/tests/cluster/ref"
EX="$FLINT_HOME/build/examples/nexmark"
FLINT="$BIN/flint"
EVENTS=${NEXMARK_TEST_EVENTS:-40000}
SEED=${NEXMARK_TEST_SEED:-3}
RATE=100
GEN="--events $EVENTS --rate $RATE --seed $SEED"
QUERIES="q0 q1 q2 q3 q4 q5 q7 q8 q11 q12"

conf_set taskmanager.numberOfTaskSlots 1
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"

for q in $QUERIES; do
    [ -f "$EX/$q.so" ] || fail "missing $EX/$q.so: run make first"
done

# ---------------------------------------------------------------------------------------
step "start a JobManager and 2 TaskManagers (1 slot each); the reference for $EVENTS events"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
"$BIN/taskmanager.sh" start >/dev/null || fail "taskmanager.sh start failed"
"$BIN/taskmanager.sh" start >/dev/null || fail "taskmanager.sh start failed"
# shellcheck disable=SC2086 # GEN is split on purpose
py "$REF/nexmark_ref.py" $GEN --out "$TEST_DIR/ref" events $QUERIES ||
    fail "nexmark_ref.py failed"
wait_for "overview_is 2 2" 10 || fail "cluster not at 2 TaskManagers / 2 slots: $(overview_str)"
step "cluster up; reference rows: $(cd "$TEST_DIR/ref" && wc -l -- *.txt | sed '$d' |
    awk '{ sub(/\.txt$/, "", $2); printf "%s %s, ", $2, $1 }')"

# weak test data would make a weak test: every query must have results, q7 one window
# per 10 s at least, q4 all 5 categories
for q in events $QUERIES; do
    [ -s "$TEST_DIR/ref/$q.txt" ] || fail "the reference of $q is empty: weak test data"
done
[ "$(cut -d, -f1 "$TEST_DIR/ref/q7.txt" | sort -u | wc -l)" -ge $((EVENTS / RATE / 10 - 1)) ] ||
    fail "q7's reference misses windows"
[ "$(cut -d, -f1 "$TEST_DIR/ref/q4.txt" | sort -u | wc -l)" = 5 ] ||
    fail "q4's reference misses categories"

# ---------------------------------------------------------------------------------------
step "flint info: the generator at the job's parallelism"
plan=$("$FLINT" info -p 2 "$EX/q3.so" $GEN 2>&1) || fail "flint info -p 2 q3: $plan"
py -c '
import json, sys
t = sys.stdin.read()
j = json.loads(t[t.index("{"):t.rindex("}") + 1])
src = [n for n in j["nodes"] if n["operators"][0]["kind"].startswith("source")]
if len(src) != 1 or src[0]["parallelism"] != 2:
    sys.exit("expected one source vertex at parallelism 2: %s" % t)
' <<<"$plan" || fail "q3's plan"

# run NAME P BUNDLE ARGS...: one run into $TEST_DIR/out/NAME-pP; its lines (outdir.py
# collect's form) in $TEST_DIR/got/NAME-pP
run() {
    local name=$1 p=$2 so=$3 dir log rc
    shift 3
    dir="$TEST_DIR/out/$name-p$p"
    log="$TEST_DIR/got/$name-p$p.log"
    timeout 120 "$FLINT" run -p "$p" -D "pipeline.auto-watermark-interval=${WM_INTERVAL:-0}" "$EX/$so.so" \
        "$@" --output "$dir" >"$log" 2>&1
    rc=$?
    [ "$rc" != 124 ] || fail "$name -p $p: flint run did not end within 120 s"
    [ "$rc" = 0 ] || fail "$name -p $p: flint run exited $rc: $(tail -n 5 "$log")"
    grep -q "^Job with JobID [0-9a-f]* has finished.$" "$log" ||
        fail "$name -p $p: the job did not finish: $(tail -n 5 "$log")"
    py "$REF/outdir.py" collect "$dir" >"$TEST_DIR/got/$name-p$p" ||
        fail "$name -p $p: bad output directory $dir"
    RUN_MS=$(sed -n 's/^Job Runtime: \([0-9]*\) ms$/\1/p' "$log")
}

mkdir -p "$TEST_DIR/out" "$TEST_DIR/got" "$TEST_DIR/exp"
for q in events $QUERIES; do
    [ "$q" = q12 ] && continue
    so=$q
    extra=()
    [ "$q" = events ] && so=q0 && extra=(--all)
    sed 's/^/\t/' "$TEST_DIR/ref/$q.txt" | LC_ALL=C sort >"$TEST_DIR/exp/$q"
    times=""
    for p in 1 2; do
        # shellcheck disable=SC2086
        run "$q" "$p" "$so" $GEN ${extra[@]+"${extra[@]}"}
        res=$(py "$REF/outdir.py" compare "$TEST_DIR/exp/$q" "$TEST_DIR/got/$q-p$p") ||
            fail "$q -p $p: output differs from the reference nexmark_ref.py:
$res"
        times="$times -p $p ${RUN_MS} ms,"
    done
    step "${q/events/q0 --all}:${times%,}; each $res"
done

# every generator subtask emits in ascending time and nothing is late, so watermarks
# every 200 ms (the default) must give the same results
for q in q4 q11; do
    # shellcheck disable=SC2086
    WM_INTERVAL="200 ms" run "$q-periodic" 2 "$q" $GEN
    res=$(py "$REF/outdir.py" compare "$TEST_DIR/exp/$q" "$TEST_DIR/got/$q-periodic-p2") ||
        fail "$q -p 2 with 200 ms watermarks: output differs from the reference:
$res"
    step "$q -p 2, watermarks every 200 ms: ${RUN_MS} ms; $res"
done

# ---------------------------------------------------------------------------------------
for p in 1 2; do
    # shellcheck disable=SC2086
    run q12 "$p" q12 $GEN
    res=$(py - "$TEST_DIR/got/q12-p$p" "$TEST_DIR/ref/q12.txt" <<'PY'
import collections, sys
totals, seen = collections.Counter(), set()
rows = 0
for line in open(sys.argv[1]):
    sub, _, row = line.rstrip("\n").partition("\t")
    f = row.split(",")
    if sub or len(f) != 4 or not all(x.isdigit() for x in f):
        sys.exit("malformed row %r" % line)
    bidder, count, start, end = map(int, f)
    if end - start != 10000 or start % 10000 or count < 1:
        sys.exit("not a 10 s processing-time window row: %r" % row)
    if (bidder, start) in seen:
        sys.exit("two rows for bidder %d in window %d" % (bidder, start))
    seen.add((bidder, start))
    totals[bidder] += count
    rows += 1
exp = collections.Counter()
for line in open(sys.argv[2]):
    b, n = line.split(",")
    exp[int(b)] = int(n)
if totals != exp:
    diff = sorted(set(totals.items()) ^ set(exp.items()))[:5]
    sys.exit("bids per bidder differ from the reference's (%d bidders vs %d): %s"
             % (len(totals), len(exp), diff))
print("%d rows in %d windows; bids per bidder as the reference's (%d bidders)"
      % (rows, len({s for _, s in seen}), len(exp)))
PY
) || fail "q12 -p $p: $res"
    step "q12 -p $p ($RUN_MS ms): $res (processing time: structure and totals only)"
done

# ---------------------------------------------------------------------------------------
step "bad arguments"
for c in "q0 --events ten:--events must be" "q5 --rate 0:--rate must be" \
    "q4 --grace-ms -1:--grace-ms must be"; do
    needle=${c#*:}
    # shellcheck disable=SC2086 # bundle and arguments, split on purpose
    set -- ${c%%:*}
    "$FLINT" info "$EX/$1.so" "${@:2}" >"$TEST_DIR/bad.out" 2>&1
    rc=$?
    [ "$rc" = 1 ] || fail "flint info ${c%%:*}: exit $rc, expected 1: $(cat "$TEST_DIR/bad.out")"
    grep -q -- "$needle" "$TEST_DIR/bad.out" ||
        fail "flint info ${c%%:*}: expected '$needle' in: $(cat "$TEST_DIR/bad.out")"
done
# shellcheck disable=SC2016 # wait_for evaluates it
wait_for '[ "$(rest GET /overview | json_get slots-available)" = 2 ]' 5 ||
    fail "slots not free at the end: $(rest GET /overview)"
step "done"
