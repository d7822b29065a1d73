#!/usr/bin/env bash
# test_rescale.sh -- issue 16 point 3: Flink's GET/PUT /jobs/:jobid/resource-requirements
# rescales a running job. A JobManager and 2 TaskManagers of 2 slots; WordCount (file
# source, keyBy, file sink) at -p 2 with checkpoints every 200 ms, its sources held on the
# gate file so that it cannot finish first.
#   * GET shows every vertex at parallelism.upperBound 2;
#   * bad PUTs get one clear 400 each and change nothing: an unknown vertex, upperBound 0,
#     upperBound above the max parallelism, a body that is not JSON;
#   * `flint rescale JOBID 200` (past the max parallelism) and `... 0` are refused with
#     their reason;
#   * `flint rescale JOBID 4` (PUT upperBound 4 for every vertex): the job stops its tasks, restores its latest
#     completed checkpoint at parallelism 4 (keyed state by key groups, the file source's
#     splits and the sink's transactions dealt round robin), runs 8 tasks in the 4 slots,
#     says when and from what to what (last-rescale), and checkpoints again;
#   * the gate opens, the job finishes, and the committed output is exactly once: every
#     word's counts 1..N once and in order (wc_check against ref/word_counts.py), across the
#     part files of both parallelisms.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
[ -f "$EX/wordcount.so" ] || fail "missing $EX/wordcount.so: run make first"

step "start a JobManager and 2 TaskManagers (2 slots each); generate the text"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
tm_start
TEXT="$TEST_DIR/text.txt"
py "$REF/gen_text.py" --seed 11 --bytes $((2 << 20)) "$TEXT" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$TEXT" >"$TEST_DIR/text.counts" || fail "word_counts.py failed"
wait_for "overview_is 2 4" 5 || fail "cluster not at 2 TaskManagers / 4 slots: $(overview_str)"

# put BODY: the HTTP status of the PUT; its body in $TEST_DIR/put.out.
put() {
    curl -s --max-time 5 -o "$TEST_DIR/put.out" -w '%{http_code}' -X PUT \
        -H 'Content-Type: application/json' --data "$1" \
        "http://127.0.0.1:$REST_PORT/jobs/$J/resource-requirements"
}

# bounds U: the body setting every vertex's upper bound to U.
bounds() {
    rest GET "/jobs/$J" | py -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({v["id"]: {"parallelism": {"lowerBound": 1, "upperBound": int(sys.argv[1])}}
                  for v in d["vertices"]}))' "$1"
}

assert_contains() {
    case "$1" in
        *"$2"*) ;;
        *) fail "$3: '$1' does not contain '$2'" ;;
    esac
}

parallelisms() {
    rest GET "/jobs/$J" | py -c '
import json, sys
print(" ".join(str(v["parallelism"]) for v in json.load(sys.stdin)["vertices"]))'
}

running_at() {
    local d
    d=$(rest GET "/jobs/$J")
    [ "$(json_get state <<<"$d")" = RUNNING ] && [ "$(json_get status-counts.RUNNING <<<"$d")" = "$1" ]
}

OUT="$TEST_DIR/wc.out"
gate_args 20000
gate_close
step "wordcount -p 2, checkpoints every 200 ms"
submit wc run -d -p 2 "${GATE[@]}" -D "execution.checkpointing.interval=200 ms" \
    -D "state.checkpoints.dir=$TEST_DIR/ck" -D restart-strategy.type=fixed-delay \
    "$EX/wordcount.so" --input "$TEXT" --output "$OUT"
J=$JOB_ID
wait_for "running_at 4" 30 || fail "not 4 tasks running: $(rest GET "/jobs/$J")"
wait_completed "$J" 2 60

step "GET resource-requirements; bad PUTs"
req=$(rest GET "/jobs/$J/resource-requirements")
assert_eq "$(json_get 0.parallelism.upperBound <<<"$req")" 2 "GET: vertex 0's upper bound"
assert_eq "$(json_get 1.parallelism.upperBound <<<"$req")" 2 "GET: vertex 1's upper bound"
for bad in '{"7": {"parallelism": {"lowerBound": 1, "upperBound": 2}}}' \
    '{"0": {"parallelism": {"lowerBound": 1, "upperBound": 0}}}' \
    '{"0": {"parallelism": {"lowerBound": 1, "upperBound": 100000}}}' \
    'not json'; do
    code=$(put "$bad")
    PUT_OUT=$(cat "$TEST_DIR/put.out")
    assert_eq "$code" 400 "PUT $bad"
    case "$PUT_OUT" in
        *"Cannot change the resource requirements"* | *"not a JSON object"*) ;;
        *) fail "PUT $bad: no clear message: $PUT_OUT" ;;
    esac
    note "PUT $bad: $code $PUT_OUT"
done
assert_eq "$(parallelisms)" "2 2" "parallelism after the bad PUTs"

out=$("$FLINT" rescale "$J" 200 2>&1) && fail "flint rescale $J 200 succeeded: $out"
assert_contains "$out" "its max parallelism 128" "flint rescale past the max parallelism"
out=$("$FLINT" rescale "$J" 0 2>&1) && fail "flint rescale $J 0 succeeded: $out"
assert_contains "$out" "Usage: flint rescale" "flint rescale 0"
assert_eq "$(parallelisms)" "2 2" "parallelism after the bad requests"
assert_eq "$(bounds 2 | py -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2 "vertices"

step "flint rescale $J 4 (PUT upperBound 4 for every vertex)"
t0=$(now_ms)
out=$("$FLINT" rescale "$J" 4 2>&1) || fail "flint rescale $J 4 failed: $out"
assert_contains "$out" "Rescaling job $J to parallelism 4." "flint rescale's output"
wait_for "running_at 8" 30 || fail "not 8 tasks running after the rescale: $(rest GET "/jobs/$J")"
ms=$(($(now_ms) - t0))
assert_eq "$(parallelisms)" "4 4" "parallelism after the rescale"
d=$(rest GET "/jobs/$J")
assert_eq "$(json_get last-rescale.from.0 <<<"$d")" 2 "last-rescale from"
assert_eq "$(json_get last-rescale.to.0 <<<"$d")" 4 "last-rescale to"
ids=$(restored_ids "$J")
[ -n "$ids" ] || fail "the rescale restored no checkpoint (JobManager log)"
c=$(ck "$J" counts.completed)
wait_completed "$J" $((c + 2)) 60
note "RUNNING at 4 after $ms ms, from checkpoint $ids; checkpoints go on"

step "open the gate: the job finishes; exactly once"
gate_open
wait_state "$J" FINISHED 120
# every part file its own run, in subtask and part order: a word's key group moves to an
# equal or higher subtask when the parallelism doubles, so its counts stay in that order
part_args r1 "$OUT"
args=()
k=0
for a in "${PARTS[@]}"; do
    k=$((k + 1))
    args+=("f$k/s0=${a#*=}")
done
res=$("$WC_CHECK" "$TEST_DIR/text.counts" 1 exact "${args[@]}" 2>&1) ||
    fail "the committed output differs from the reference:
$res"
note "$res (${#PARTS[@]} part files)"
step "done"
