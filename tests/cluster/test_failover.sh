#!/usr/bin/env bash
# test_failover.sh -- issue 6 point 10: jobs with state survive failures exactly once, on a
# cluster of one JobManager and 3 TaskManagers of one slot each; checkpoints every 200 ms,
# restart strategy fixed-delay (200 ms).
#
#   * seqcheck (examples/seqcheck.c, Flink's DataStreamAllroundTestProgram idea): 64 keys,
#     each with sequence numbers 0..N-1 from one in-order source, checked by a keyed
#     process function with ValueState (no gap, no repeat), at -p 3:
#       - hashmap, 3 failures induced by the job itself (fl_ctx_fail while the attempt is
#         below 3): the job restarts 3 times, each time from a later checkpoint, finishes,
#         and the committed output has no VIOLATION line and one FINAL line per key with
#         count=N;
#       - rocksdb, 2 induced failures, then a TaskManager killed (kill -9) in the third
#         attempt (which fails on nothing by itself) after two more checkpoints, a new one
#         started: the same, after exactly 3 restores.
#     Both hold their source on a gate file (testing.source.gate-file) until the last
#     failure is in, so the job cannot finish before it on a machine of any speed.
#   * clicks_window (tumbling, sliding, session; 150000 clicks of ref/gen_events.py, 5 %
#     very late) with pipeline.auto-watermark-interval 0: a TaskManager killed after the
#     second completed checkpoint, a new one started; the committed output (main and late/)
#     equals ref/clicks_window_ref.py's, which is the output of a run without failure
#     (test_windows.sh). The source is held on the gate until the job runs again after the
#     kill. The watermark assigner's position is part of the checkpoint (in
#     Flink it is not), so a very late click right after the restored source position is
#     judged late exactly as without the failure.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 1
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
[ -f "$EX/seqcheck.so" ] || fail "missing $EX/seqcheck.so: run make first"

CKDIR="$TEST_DIR/checkpoints"
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$CKDIR"
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=6
    -D "restart-strategy.fixed-delay.delay=200 ms")

step "start a JobManager and 3 TaskManagers (1 slot each)"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
for _ in 1 2 3; do tm_start; done
wait_for "overview_is 3 3" 5 || fail "cluster not at 3 TaskManagers / 3 slots: $(overview_str)"

# ---------------------------------------------------------------------------------------
KEYS=64
PER_KEY=16000
# seq_run NAME BACKEND INDUCED KILL: INDUCED failures, then (KILL=1) a kill -9 in the first
# attempt that does not fail by itself.
seq_run() {
    local name=$1 backend=$2 induced=$3 kill=$4 out j t0 ids n prev failed
    out="$TEST_DIR/$name.out"
    t0=$(now_ms)
    gate_close
    submit "$name" run -d -p 3 "${CKPT[@]}" "${GATE[@]}" -D "state.backend.type=$backend" \
        "$EX/seqcheck.so" --keys $KEYS --per-key $PER_KEY --rate 250000 \
        --fail-attempts "$induced" --fail-after 200000 --output "$out"
    j=$JOB_ID
    wait_restored "$j" "$induced" 60
    if [ "$kill" = 1 ]; then
        local target=$(($(ck "$j" counts.completed) + 2))
        wait_completed "$j" "$target" 30
        tm_kill
        tm_start
        step "$name: kill -9 of TaskManager $KILLED_PID after restore $induced and $target completed checkpoints; a new TaskManager started"
        wait_restored "$j" $((induced + 1)) 30
    fi
    gate_open
    wait_state "$j" FINISHED 90
    failed=$(grep -c "Job Sequence Check ($j) failed: .*seqcheck: induced failure" "$(jm_log)")
    assert_eq "$failed" "$induced" "$name: induced failures in the JobManager's log"
    n=$((induced + kill))
    ids=$(restored_ids "$j")
    assert_eq "$(wc -w <<<"$ids")" "$n" "$name: restores in the JobManager's log ($ids) after $failed induced failures and $kill kills"
    assert_eq "$(ck "$j" counts.restored)" "$n" "$name: counts.restored"
    prev=0
    for k in $ids; do
        [ "$k" -gt "$prev" ] || fail "$name: restored from checkpoints $ids: each restore should use a newer checkpoint than the one before"
        prev=$k
    done
    seq_verify "$name" "$out" $KEYS $PER_KEY
    [ "$SEQ_OK" = 1 ] || fail "$name: $SEQ_RES"
    step "$name: FINISHED in $(($(now_ms) - t0)) ms after $n failures ($failed induced), restored from checkpoints $ids ($(ck "$j" counts.completed) completed); $SEQ_RES"
    [ "$HIDDEN" = 0 ] || note "$name: $HIDDEN hidden part files left: $(hidden_files "$out" | tr '\n' ' ')"
    wait_for "overview_is 3 3" 10 || fail "after $name: $(overview_str), expected 3 TaskManagers"
}

gate_args 0
seq_run seqcheck-hashmap hashmap 3 0
seq_run seqcheck-rocksdb rocksdb 2 1

# ---------------------------------------------------------------------------------------
[ -f "$EX/clicks_window.so" ] || fail "missing $EX/clicks_window.so: run make first"
CLICKS="$TEST_DIR/clicks.csv"
py "$REF/gen_events.py" clicks --seed 11 --count 150000 --disorder-ms 2500 --late-pct 5 \
    "$CLICKS" || fail "gen_events.py failed"
CASES=(
    "tumbling|--key user --mode tumbling --size-ms 10000 --out-of-orderness-ms 2000 --lateness-ms 5000"
    "sliding|--key url --mode sliding --size-ms 10000 --slide-ms 3000 --offset-ms 1000 --out-of-orderness-ms 1000 --lateness-ms 4000"
    "session|--key user --mode session --gap-ms 3000 --out-of-orderness-ms 2000 --lateness-ms 6000"
)
gate_args 20000
for c in "${CASES[@]}"; do
    IFS='|' read -r mode args <<<"$c"
    name="clicks-$mode"
    out="$TEST_DIR/$name.out"
    t0=$(now_ms)
    # shellcheck disable=SC2086 # the case's arguments are split on purpose
    py "$REF/clicks_window_ref.py" --input "$CLICKS" $args | sort >"$TEST_DIR/$name.exp" ||
        fail "$name: clicks_window_ref.py failed"
    grep -q '^late/	' "$TEST_DIR/$name.exp" || fail "$name: the reference has no late clicks: weak test data"
    gate_close
    # shellcheck disable=SC2086
    submit "$name" run -d -p 3 "${CKPT[@]}" "${GATE[@]}" -D pipeline.auto-watermark-interval=0 \
        "$EX/clicks_window.so" --input "$CLICKS" $args --output "$out"
    j=$JOB_ID
    wait_completed "$j" 2 30
    c=$(ck "$j" counts.completed)
    tm_kill
    tm_start
    wait_restored "$j" 1 30
    gate_open
    wait_state "$j" FINISHED 60
    ids=$(restored_ids "$j")
    assert_eq "$(wc -w <<<"$ids")" 1 "$name: restores in the JobManager's log ($ids)"
    py "$REF/outdir.py" collect "$out" >"$TEST_DIR/$name.got" || fail "$name: bad output directory $out"
    res=$(py "$REF/outdir.py" compare "$TEST_DIR/$name.exp" "$TEST_DIR/$name.got") ||
        fail "$name: the output after a failure differs from the no-failure output (clicks_window_ref.py):
$res"
    step "$name: TaskManager killed after $c checkpoints, restored from checkpoint $ids, FINISHED in $(($(now_ms) - t0)) ms; $res"
    wait_for "overview_is 3 3" 10 || fail "after $name: $(overview_str), expected 3 TaskManagers"
done
step "done"
