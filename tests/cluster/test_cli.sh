#!/usr/bin/env bash
# test_cli.sh -- issue 18 point 4: `flint savepoint -d/--dispose PATH`, `flint run -sae`
# and `flint stop --drain` as in Flink. One
# JobManager and one TaskManager (2 slots); seqcheck held on the source gate (so it is
# certainly running) with checkpoints every 200 ms and a savepoint taken of it; then:
#
#   * a path that is not a savepoint is refused (exit 1, the reason), and stays: a plain
#     directory, a copy of the running job's first checkpoint (all are retained) under the
#     savepoints' root ("a checkpoint, not a savepoint"), a copy of the savepoint whose _metadata is damaged (one byte flipped);
#   * with state.savepoints.dir set on the JobManager, a savepoint outside it is refused;
#   * the savepoint itself is disposed of ("Savepoint '...' disposed.", exit 0): its
#     directory is gone; disposing of it again is refused (it is no savepoint any more).
#   * `flint run -sae` (attached): SIGTERM to the client cancels the job (CANCELED, the
#     client exits 2 as for a cancelled job);
#   * POST /jobs/:id/savepoints with cancel-job true: the savepoint completes and the job
#     ends CANCELED (as in Flink; stop-with-savepoint ends FINISHED);
#   * `flint stop --drain`: clicks_window (tumbling event-time windows) with its source held
#     open on the gate after its input, all records in the window operator: the drain's
#     MAX_WATERMARK fires the last windows before the savepoint, the job ends FINISHED, and
#     its output equals tests/cluster/ref/clicks_window_ref.py's for the whole input (the
#     windows the drain fired included).
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 2
SPROOT="$TEST_DIR/savepoints"
CKDIR="$TEST_DIR/checkpoints"
mkdir -p "$SPROOT"
conf_set state.savepoints.dir "$SPROOT"
gate_args 2000

"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
"$BIN/taskmanager.sh" start >/dev/null || fail "taskmanager.sh start failed"
wait_for "overview_is 1 2" 10 || fail "cluster not at 1 TaskManager / 2 slots: $(overview_str)"

step "a running job, a checkpoint and a savepoint of it"
gate_close
submit seq run -d -p 2 -D "execution.checkpointing.interval=200 ms" \
    -D state.checkpoints.num-retained=10000 \
    -D "state.checkpoints.dir=$CKDIR" "${GATE[@]}" "$EX/seqcheck.so" --keys 8 --per-key 1000000 \
    --output "$TEST_DIR/seq-out"
J=$JOB_ID
wait_completed "$J" 2 30
"$FLINT" savepoint "$J" "$SPROOT" >"$TEST_DIR/sp.stdout" 2>&1 || fail "flint savepoint: $(cat "$TEST_DIR/sp.stdout")"
SP=$(sed -n 's/^Savepoint completed\. Path: file:\(.*\)$/\1/p' "$TEST_DIR/sp.stdout")
[ -n "$SP" ] && [ -f "$SP/_metadata" ] || fail "no savepoint: $(cat "$TEST_DIR/sp.stdout")"
CHK=$(find "$CKDIR" -mindepth 2 -maxdepth 2 -type d -name 'chk-1')
[ -n "$CHK" ] && [ -f "$CHK/_metadata" ] || fail "no completed checkpoint under $CKDIR"

# refused PATH WHAT WHY: `flint savepoint -d PATH` exits 1 naming WHY, and PATH stays.
refused() {
    local out rc
    out=$("$FLINT" savepoint -d "$1" 2>&1)
    rc=$?
    [ "$rc" = 1 ] || fail "$2: flint savepoint -d exited $rc: $out"
    case "$out" in *"$3"*) ;; *) fail "$2: expected '$3' in: $out" ;; esac
    [ -e "$1" ] || fail "$2: $1 was removed"
}

step "refused: a plain directory, a checkpoint, a damaged savepoint, a path outside the root"
mkdir -p "$SPROOT/not-a-savepoint"
echo data >"$SPROOT/not-a-savepoint/file"
refused "$SPROOT/not-a-savepoint" "plain directory" "is not a savepoint"
cp -r -- "$CHK" "$SPROOT/chk-copy" || fail "cannot copy $CHK"
refused "$SPROOT/chk-copy" "checkpoint" "is a checkpoint, not a savepoint"
cp -r -- "$SP" "$SPROOT/damaged"
py -c '
import sys
p = sys.argv[1] + "/_metadata"
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(bytes(b))' "$SPROOT/damaged"
refused "$SPROOT/damaged" "damaged savepoint" "is damaged"
mkdir -p "$TEST_DIR/elsewhere"
cp -r -- "$SP" "$TEST_DIR/elsewhere/sp"
refused "$TEST_DIR/elsewhere/sp" "outside state.savepoints.dir" "state.savepoints.dir"

step "the savepoint is disposed of; a second time it is refused"
out=$("$FLINT" savepoint --dispose "$SP" 2>&1) || fail "flint savepoint --dispose $SP: $out"
case "$out" in *"Savepoint '$SP' disposed."*) ;; *) fail "dispose: $out" ;; esac
[ ! -e "$SP" ] || fail "the savepoint $SP is still there"
out=$("$FLINT" savepoint -d "$SP" 2>&1) && fail "a second dispose of $SP succeeded: $out"
case "$out" in *"is not a savepoint"*) ;; *) fail "second dispose: $out" ;; esac
[ "$(job_state "$J")" = RUNNING ] || fail "the job is $(job_state "$J")"
"$FLINT" cancel "$J" >/dev/null 2>&1 || fail "flint cancel failed"
gate_open
wait_for "overview_is 1 2 && [ \"\$(rest GET /overview | json_get slots-available)\" = 2 ]" 10 ||
    fail "slots not free after the cancel: $(rest GET /overview)"

step "run -sae: the attached client stopped (SIGTERM) cancels its job"
gate_close
"$FLINT" run -sae -p 1 "${GATE[@]}" "$EX/seqcheck.so" --keys 8 --per-key 1000000 \
    --output "$TEST_DIR/sae-out" >"$TEST_DIR/sae.stdout" 2>"$TEST_DIR/sae.stderr" &
SAE_PID=$!
wait_for "grep -q '^Job has been submitted with JobID' '$TEST_DIR/sae.stdout'" 20 ||
    fail "run -sae: no JobID: $(cat "$TEST_DIR/sae.stdout" "$TEST_DIR/sae.stderr")"
J=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' "$TEST_DIR/sae.stdout")
wait_state "$J" RUNNING 20
kill -TERM "$SAE_PID"
wait "$SAE_PID"
rc=$?
[ "$rc" = 2 ] || fail "run -sae: the client exited $rc, expected 2 (cancelled): $(cat "$TEST_DIR/sae.stderr")"
grep -q "cancelling job $J (-sae" "$TEST_DIR/sae.stderr" || fail "run -sae: $(cat "$TEST_DIR/sae.stderr")"
[ "$(job_state "$J")" = CANCELED ] || fail "run -sae: the job is $(job_state "$J")"
gate_open
wait_for "[ \"\$(rest GET /overview | json_get slots-available)\" = 2 ]" 10 ||
    fail "slots not free after -sae: $(rest GET /overview)"

step "a savepoint with cancel-job: true ends the job CANCELED (Flink's), the savepoint taken"
gate_close
submit cj run -d -p 1 -D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$CKDIR" \
    "${GATE[@]}" "$EX/seqcheck.so" --keys 8 --per-key 1000000 --output "$TEST_DIR/cj-out"
J=$JOB_ID
wait_completed "$J" 1 30
resp=$(curl -s --max-time 5 -X POST -H 'Content-Type: application/json' \
    -d "{\"target-directory\": \"$SPROOT\", \"cancel-job\": true}" \
    "http://127.0.0.1:$REST_PORT/jobs/$J/savepoints")
tid=$(json_get request-id <<<"$resp") || fail "savepoint with cancel-job: $resp"
wait_state "$J" CANCELED 30
loc=$(rest GET "/jobs/$J/savepoints/$tid" | json_get operation.location) ||
    fail "savepoint with cancel-job: $(rest GET "/jobs/$J/savepoints/$tid")"
[ -f "$loc/_metadata" ] || fail "savepoint with cancel-job: no $loc/_metadata"
gate_open
wait_for "[ \"\$(rest GET /overview | json_get slots-available)\" = 2 ]" 10 ||
    fail "slots not free after cancel-job: $(rest GET /overview)"

# ---------------------------------------------------------------------------------------
step "stop --drain: an event-time window job emits its last windows, then ends"
N=3000
py "$FLINT_HOME/tests/cluster/ref/gen_events.py" clicks --seed 21 --count $N --disorder-ms 2000 \
    --late-pct 0 "$TEST_DIR/clicks.csv" || fail "gen_events.py failed"
ARGS=(--key user --mode tumbling --size-ms 10000 --out-of-orderness-ms 2000)
py "$FLINT_HOME/tests/cluster/ref/clicks_window_ref.py" --input "$TEST_DIR/clicks.csv" "${ARGS[@]}" \
    >"$TEST_DIR/expected" || fail "clicks_window_ref.py failed"
gate_close
submit win run -d -p 2 -D pipeline.auto-watermark-interval=0 \
    -D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$CKDIR" "${GATE[@]}" \
    "$EX/clicks_window.so" --input "$TEST_DIR/clicks.csv" --output "$TEST_DIR/win" "${ARGS[@]}"
J=$JOB_ID
# every record is in the window operator; the source is held open on the gate: without
# the drain the last windows (end beyond the last watermark) would never fire
window_read() {
    rest GET "/jobs/$J" | py -c '
import json, sys
v = json.load(sys.stdin)["vertices"]
print(sum(x["metrics"]["read-records"] for x in v if "Window" in x["name"] or "window" in x["name"]))'
}
wait_for '[ "$(window_read)" = $N ]' 30 || fail "the window operator read $(window_read) of $N records"
wait_completed "$J" 1 30
"$FLINT" stop --drain -p "$SPROOT" "$J" >"$TEST_DIR/drain.out" 2>&1 ||
    fail "flint stop --drain: $(cat "$TEST_DIR/drain.out")"
grep -q "^Savepoint completed. Path: file:$SPROOT/" "$TEST_DIR/drain.out" ||
    fail "flint stop --drain: $(cat "$TEST_DIR/drain.out")"
wait_state "$J" FINISHED 30
gate_open
py "$FLINT_HOME/tests/cluster/ref/outdir.py" collect "$TEST_DIR/win" >"$TEST_DIR/got" ||
    fail "the job's output is not only finished part files: $(ls -la "$TEST_DIR/win")"
py "$FLINT_HOME/tests/cluster/ref/outdir.py" compare "$TEST_DIR/expected" "$TEST_DIR/got" ||
    fail "stop --drain: the output differs from clicks_window_ref.py's"
step "done"
