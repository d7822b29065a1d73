#!/usr/bin/env bash
# test_windows.sh -- issue 5 points 13 and 14: the event-time examples end to end, on a
# cluster of one JobManager and 2 TaskManagers with 2 slots each, against independent
# references.
#
#   * inputs from tests/cluster/ref/gen_events.py (fixed seeds): events delivered out of
#     order within a bound, plus a few percent very late ones;
#   * expected output from one reference script per example (tests/cluster/ref/*_ref.py,
#     plain Python modelling Flink's semantics: watermarks after every record, timers on
#     watermark advances, window assignment, allowed lateness, late firings, session merging,
#     late side output), never from Flint;
#   * cases: clicks_window tumbling (by user, allowed lateness: late firings and a late side
#     output), sliding (by url, offset, lateness), session (merging, lateness), tumbling
#     without lateness; topn (sliding windows, then a KeyedProcessFunction with timers);
#     temp_rise, login_fail, order_timeout (side output timeout/), fraud (KeyedProcessFunction
#     with state and timers); reconcile (two sources, keyed CoProcessFunction, side output
#     unmatched/). Each reference must yield lines in every output directory the case names
#     (a case that exercises nothing is an error in the test data);
#   * flint info: the source, parser and watermark assigner chained at parallelism 1 (two
#     such chains for reconcile), every other vertex at -p;
#   * every case runs 5 times at -p 3 and 5 times at -p 1 with
#     -D pipeline.auto-watermark-interval=0: each run finishes, its output (all part files of
#     DIR and of DIR/late, DIR/timeout, DIR/unmatched) equals the reference as a multiset of
#     lines, and so all 10 runs give the same sorted output (point 14);
#   * WINDOWS_TEST_RUNS=N changes the 5; WINDOWS_TEST_BACKEND=rocksdb runs the jobs on the
#     RocksDB state backend;
#   * bad arguments make flint info exit 1 with a message; a malformed input line fails the
#     job with the line in the error.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"

REF="$FLINT_HOME/tests/cluster/ref"
EX="$FLINT_HOME/build/examples"
FLINT="$BIN/flint"
RUNS=${WINDOWS_TEST_RUNS:-5}
WM0="pipeline.auto-watermark-interval=0"
# WINDOWS_TEST_BACKEND=rocksdb runs every job on that state backend (default: hashmap)
BACKEND="state.backend.type=${WINDOWS_TEST_BACKEND:-hashmap}"

conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"

for so in clicks_window topn temp_rise login_fail order_timeout fraud reconcile; do
    [ -f "$EX/$so.so" ] || fail "missing $EX/$so.so: run make first"
done

# ---------------------------------------------------------------------------------------
step "start a JobManager and 2 TaskManagers (2 slots each); generate the inputs"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
"$BIN/taskmanager.sh" start >/dev/null || fail "taskmanager.sh start failed"
"$BIN/taskmanager.sh" start >/dev/null || fail "taskmanager.sh start failed"

IN="$TEST_DIR/in"
mkdir -p "$IN"
gen() {
    py "$REF/gen_events.py" "$@" || fail "gen_events.py $* failed"
}
gen clicks --seed 11 --count 8000 --disorder-ms 2500 --late-pct 5 "$IN/clicks.csv"
gen clicks --seed 21 --count 8000 --disorder-ms 2000 --late-pct 0 "$IN/clicks-bounded.csv"
gen userbehavior --seed 22 --count 6000 --disorder-ms 60000 --late-pct 0 "$IN/userbehavior-bounded.csv"
gen userbehavior --seed 12 --count 6000 --disorder-ms 60000 --late-pct 2 "$IN/userbehavior.csv"
gen temps --seed 13 --count 5000 --disorder-ms 1500 --late-pct 3 "$IN/temps.csv"
gen logins --seed 14 --count 4000 --disorder-ms 3000 --late-pct 3 "$IN/logins.csv"
gen orders --seed 15 --count 4000 --disorder-ms 2000 --late-pct 3 --timeout-ms 60000 "$IN/orders.csv"
gen transactions --seed 16 --count 4000 --disorder-ms 2000 --late-pct 3 "$IN/transactions.csv"
gen reconcile --seed 17 --count 4000 --disorder-ms 2000 --late-pct 3 --wait-ms 5000 \
    "$IN/pays.csv" "$IN/receipts.csv"
wait_for "overview_is 2 4" 10 || fail "cluster not at 2 TaskManagers / 4 slots: $(overview_str)"
step "cluster up; inputs: $(cd "$IN" && wc -l -- *.csv | sed '$d' | awk '{ printf "%s %s, ", $2, $1 }')"

# ---------------------------------------------------------------------------------------
# The cases: NAME|BUNDLE|JOB ARGS (without --output)|REFERENCE ARGS|OUTPUT DIRS THAT MUST
# HAVE LINES ("." is DIR itself, "!d" one that must have none)|WATERMARK INTERVALS. The
# reference is REF/<bundle>_ref.py. Without intervals: RUNS runs at -p 3 and at -p 1 with
# pipeline.auto-watermark-interval 0; with a list: one run at -p 3 and -p 1 for each.
CASES=(
    "clicks-tumbling|clicks_window|--input $IN/clicks.csv --key user --mode tumbling --size-ms 10000 --out-of-orderness-ms 2000 --lateness-ms 5000|--input $IN/clicks.csv --key user --mode tumbling --size-ms 10000 --out-of-orderness-ms 2000 --lateness-ms 5000|. late"
    "clicks-sliding|clicks_window|--input $IN/clicks.csv --key url --mode sliding --size-ms 10000 --slide-ms 3000 --offset-ms 1000 --out-of-orderness-ms 1000 --lateness-ms 4000|--input $IN/clicks.csv --key url --mode sliding --size-ms 10000 --slide-ms 3000 --offset-ms 1000 --out-of-orderness-ms 1000 --lateness-ms 4000|. late"
    "clicks-session|clicks_window|--input $IN/clicks.csv --key user --mode session --gap-ms 3000 --out-of-orderness-ms 2000 --lateness-ms 6000|--input $IN/clicks.csv --key user --mode session --gap-ms 3000 --out-of-orderness-ms 2000 --lateness-ms 6000|. late"
    "clicks-no-lateness|clicks_window|--input $IN/clicks.csv --key user --mode tumbling --size-ms 7000 --out-of-orderness-ms 3000|--input $IN/clicks.csv --key user --mode tumbling --size-ms 7000 --out-of-orderness-ms 3000|. late"
    "topn|topn|--input $IN/userbehavior.csv --size-min 30 --slide-min 5 --n 3 --out-of-orderness-ms 60000|--input $IN/userbehavior.csv --size-min 30 --slide-min 5 --n 3 --out-of-orderness-ms 60000|."
    "temp_rise|temp_rise|--input $IN/temps.csv --interval-ms 1000 --out-of-orderness-ms 1000|--input $IN/temps.csv --interval-ms 1000 --out-of-orderness-ms 1000|."
    "login_fail|login_fail|--input $IN/logins.csv --out-of-orderness-ms 3000|--input $IN/logins.csv|."
    "order_timeout|order_timeout|--input $IN/orders.csv --timeout-ms 60000 --out-of-orderness-ms 2000|--input $IN/orders.csv --timeout-ms 60000 --out-of-orderness-ms 2000|. timeout"
    "fraud|fraud|--input $IN/transactions.csv --out-of-orderness-ms 2000|--input $IN/transactions.csv --out-of-orderness-ms 2000|."
    "reconcile|reconcile|--orders $IN/pays.csv --receipts $IN/receipts.csv --wait-ms 5000 --out-of-orderness-ms 2000|--orders $IN/pays.csv --receipts $IN/receipts.csv --wait-ms 5000 --out-of-orderness-ms 2000|. unmatched"
    # disorder within the out-of-orderness bound, nothing late: the result does not depend
    # on when watermarks are emitted, so periodic watermarks must give it too
    "clicks-session-periodic|clicks_window|--input $IN/clicks-bounded.csv --key user --mode session --gap-ms 3000 --out-of-orderness-ms 2000 --lateness-ms 1000|--input $IN/clicks-bounded.csv --key user --mode session --gap-ms 3000 --out-of-orderness-ms 2000 --lateness-ms 1000|. !late|2 ms,200 ms"
    "clicks-sliding-periodic|clicks_window|--input $IN/clicks-bounded.csv --key url --mode sliding --size-ms 10000 --slide-ms 2500 --out-of-orderness-ms 2000|--input $IN/clicks-bounded.csv --key url --mode sliding --size-ms 10000 --slide-ms 2500 --out-of-orderness-ms 2000|. !late|2 ms,200 ms"
    "topn-periodic|topn|--input $IN/userbehavior-bounded.csv --size-min 20 --slide-min 2 --n 5 --out-of-orderness-ms 60000|--input $IN/userbehavior-bounded.csv --size-min 20 --slide-min 2 --n 5 --out-of-orderness-ms 60000|.|2 ms,200 ms"
    "login_fail-periodic|login_fail|--input $IN/logins.csv|--input $IN/logins.csv|.|2 ms,200 ms"
)

# plan_check P BUNDLE ARGS...: sources (and what is chained to them) at 1, the rest at P.
plan_check() {
    local p=$1
    shift
    "$FLINT" info -p "$p" "$@" 2>&1 | py -c '
import json, sys
p = int(sys.argv[1])
t = sys.stdin.read()
try:
    j = json.loads(t[t.index("{"):t.rindex("}") + 1])
except ValueError:
    sys.exit("no plan: " + t.strip())
src = 0
for n in j["nodes"]:
    kinds = [o["kind"] for o in n["operators"]]
    desc = "%s (parallelism %d)" % (n["description"], n["parallelism"])
    if kinds[0].startswith("source"):
        src += 1
        if n["parallelism"] != 1 or "timestamps-watermarks" not in kinds:
            sys.exit("source vertex %s: expected parallelism 1 with the watermark assigner chained" % desc)
    elif n["parallelism"] != p:
        sys.exit("vertex %s: expected parallelism %d" % (desc, p))
if not src:
    sys.exit("no source vertex")
print("%d vertices" % len(j["nodes"]))
' "$p"
}

# run_case_once NAME P N BUNDLE ARGS WATERMARK_INTERVAL: one run into
# $TEST_DIR/out/NAME-pP-N; its collected lines in $TEST_DIR/got/NAME-pP-N.
run_case_once() {
    local name=$1 p=$2 n=$3 bundle=$4 args=$5 interval=$6 dir log rc
    dir="$TEST_DIR/out/$name-p$p-$n"
    log="$TEST_DIR/got/$name-p$p-$n.log"
    # shellcheck disable=SC2086 # the case's arguments are split on purpose
    timeout 120 "$FLINT" run -p "$p" -D "pipeline.auto-watermark-interval=$interval" \
        -D "$BACKEND" "$EX/$bundle.so" $args --output "$dir" >"$log" 2>&1
    rc=$?
    [ "$rc" != 124 ] || fail "$name -p $p run $n: flint run did not end within 120 s"
    [ "$rc" = 0 ] || fail "$name -p $p run $n: flint run exited $rc: $(tail -n 5 "$log")"
    grep -q "^Job with JobID [0-9a-f]* has finished.$" "$log" ||
        fail "$name -p $p run $n: the job did not finish: $(tail -n 5 "$log")"
    py "$REF/outdir.py" collect "$dir" >"$TEST_DIR/got/$name-p$p-$n" ||
        fail "$name -p $p run $n: bad output directory $dir"
}

mkdir -p "$TEST_DIR/out" "$TEST_DIR/got" "$TEST_DIR/exp"
for c in "${CASES[@]}"; do
    IFS='|' read -r name bundle args refargs dirs intervals <<<"$c"

    # the reference, and what it must exercise
    # shellcheck disable=SC2086
    py "$REF/${bundle}_ref.py" $refargs >"$TEST_DIR/exp/$name.unsorted" ||
        fail "$name: the reference ${bundle}_ref.py failed"
    sort -o "$TEST_DIR/exp/$name" "$TEST_DIR/exp/$name.unsorted"
    exp="$TEST_DIR/exp/$name"
    for d in $dirs; do
        case $d in
            .) grep -q "^	" "$exp" || fail "$name: the reference has no output: weak test data" ;;
            !*) ! grep -q "^${d#!}/	" "$exp" || fail "$name: the reference has lines in ${d#!}/" ;;
            *) grep -q "^$d/	" "$exp" || fail "$name: the reference has no lines in $d/: weak test data" ;;
        esac
    done
    extra=""
    if [ "$bundle" = clicks_window ] && [ -z "$intervals" ] && grep -q -- "--lateness-ms [1-9]" <<<"$args"; then
        late_firings=$(grep "^	" "$exp" | cut -d, -f1-3 | sort | uniq -d | wc -l)
        [ "$late_firings" -gt 0 ] || fail "$name: no window fires twice in the reference: weak test data"
        extra="; $late_firings windows with late firings"
    fi

    # shellcheck disable=SC2086
    plan=$(plan_check 3 "$EX/$bundle.so" $args --output "$TEST_DIR/plan") ||
        fail "$name: flint info -p 3: $plan"

    first=""
    t0=$(now_ms)
    if [ -z "$intervals" ]; then
        runs=$RUNS
        intervals=0
    else
        runs=1
    fi
    total=0
    IFS=, read -r -a ivs <<<"$intervals"
    for p in 3 1; do
        for iv in "${ivs[@]}"; do
            for n in $(seq "$runs"); do
                total=$((total + 1))
                run_case_once "$name" "$p" "$total" "$bundle" "$args" "$iv"
                got="$TEST_DIR/got/$name-p$p-$total"
                res=$(py "$REF/outdir.py" compare "$exp" "$got") ||
                    fail "$name -p $p run $n (watermark interval $iv): output differs from the reference ${bundle}_ref.py:
$res"
                sum=$(cksum <"$got")
                [ -z "$first" ] && first=$sum
                [ "$sum" = "$first" ] || fail "$name -p $p run $n: output differs from the first run's"
            done
        done
    done
    step "$name: $plan; $total runs (-p 3, -p 1; watermark interval ${intervals// /}) in $(($(now_ms) - t0)) ms, each $res$extra"
done

# ---------------------------------------------------------------------------------------
step "bad arguments and malformed input"
for c in "clicks_window --input x --mode hopping:--mode must be" \
    "clicks_window --input x --size-ms ten:--size-ms must be" \
    "topn:Usage: topn" "temp_rise --input x --interval-ms -5:--interval-ms must be" \
    "reconcile --orders x:Usage: reconcile" "order_timeout:Usage: order_timeout" \
    "fraud:Usage: fraud" "login_fail:Usage: login_fail"; do
    needle=${c#*:}
    # shellcheck disable=SC2086 # bundle and arguments, split on purpose
    set -- ${c%%:*}
    "$FLINT" info "$EX/$1.so" "${@:2}" >"$TEST_DIR/bad.out" 2>&1
    rc=$?
    [ "$rc" = 1 ] || fail "flint info ${c%%:*}: exit $rc, expected 1: $(cat "$TEST_DIR/bad.out")"
    grep -q -- "$needle" "$TEST_DIR/bad.out" ||
        fail "flint info ${c%%:*}: expected '$needle' in: $(cat "$TEST_DIR/bad.out")"
done
{ head -n 100 "$IN/clicks.csv"; echo "Mary,./home,12:00"; tail -n +101 "$IN/clicks.csv"; } >"$IN/bad.csv"
"$FLINT" run -p 2 -D "$WM0" "$EX/clicks_window.so" --input "$IN/bad.csv" --output "$TEST_DIR/bad" \
    >"$TEST_DIR/bad.out" 2>&1 && fail "clicks_window on a malformed line: flint run exited 0"
grep -q "malformed line (expected user,url,timestamp_ms): 'Mary,./home,12:00'" "$TEST_DIR/bad.out" ||
    fail "clicks_window on a malformed line: no clear error: $(tail -n 5 "$TEST_DIR/bad.out")"
# shellcheck disable=SC2016 # wait_for evaluates it
wait_for '[ "$(rest GET /overview | json_get slots-available)" = 4 ]' 5 ||
    fail "slots not free at the end: $(rest GET /overview)"
step "done"
