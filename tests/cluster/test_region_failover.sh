#!/usr/bin/env bash
# test_region_failover.sh -- issue 21 point 4: a failure restarts only the pipelined region
# it belongs to (jobmanager.execution.failover-strategy: region, the default, as Flink's),
# and the whole job with `full`. A JobManager and 2 TaskManagers of 2 slots; checkpoints
# every 200 ms; restart strategy fixed-delay (200 ms).
#
# The job is examples/pipelines.c at -p 4: sequence source -> forward -> "stamp" map ->
# file sink, every edge forward, so each subtask chain (source i, map i) is a region of
# its own: 4 regions, 2 on each TaskManager. Its sources are held on the gate file
# (testing.source.gate-file), so the job cannot finish before the fault, on any machine.
# After 2 completed checkpoints the test creates the fail file: subtask 2 of the map fails
# in the job's first attempt (and only there). Then:
#   * region: the job never leaves RUNNING (no FAILING timestamp), /jobs/:id says 4
#     regions and 1 region restart, every vertex's subtask-attempts are [0,0,1,0]: the
#     region of subtask 2 restarted (both its tasks), restored from a completed
#     checkpoint (the JobManager's log), and the other three, one of them on the same
#     TaskManager, kept running untouched;
#   * full: the job went FAILING -> RESTARTING -> RUNNING, every subtask at attempt 1.
#   * region, a TaskManager killed (kill -9) instead, after a third one joined with 2 spare
#     slots: the 2 regions it held restart in replacement slots, the other 2 keep
#     attempt 0, and the job never leaves RUNNING.
# Each: checkpoints complete again after the restart, the gate opens, the job finishes, and
# the committed output holds every value 0..T exactly once (compared with `seq 0 T`).
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
[ -f "$EX/pipelines.so" ] || fail "missing $EX/pipelines.so: run make first"

CKDIR="$TEST_DIR/checkpoints"
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$CKDIR"
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=3
    -D "restart-strategy.fixed-delay.delay=200 ms")
TO=199999
FAILF="$TEST_DIR/fail-now"
# 2000 records/s per source while the gate is closed: 50,000 values each last 25 s at
# least, far past the failure; once it opens, they run at full speed.
gate_args 2000

step "start a JobManager and 2 TaskManagers (2 slots each)"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
tm_start
wait_for "overview_is 2 4" 5 || fail "cluster not at 2 TaskManagers / 4 slots: $(overview_str)"

# all_running J N: N tasks RUNNING (the job RUNNING).
all_running() {
    local d
    d=$(rest GET "/jobs/$1")
    [ "$(json_get state <<<"$d")" = RUNNING ] && [ "$(json_get status-counts.RUNNING <<<"$d")" = "$2" ]
}

# attempts J: every vertex's subtask attempts, "[0, 0, 1, 0] [0, 0, 1, 0]".
attempts() {
    rest GET "/jobs/$1" | py -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(json.dumps(v["subtask-attempts"]) for v in d["vertices"]))'
}

# run_case NAME STRATEGY FAULT: the job with one fault (fail: map subtask 2 fails; kill:
# kill -9 of the oldest TaskManager), up to the end of the job.
run_case() {
    local name=$1 strategy=$2 fault=$3 out j details a
    out="$TEST_DIR/$name.out"
    rm -f "$FAILF"
    gate_close
    step "$name: pipelines -p 4, failover-strategy $strategy"
    submit "$name" run -d -p 4 "${CKPT[@]}" "${GATE[@]}" \
        -D "jobmanager.execution.failover-strategy=$strategy" \
        "$EX/pipelines.so" --to $TO --output "$out" --fail-subtask "$([ "$fault" = fail ] && echo 2 || echo -1)" \
        --fail-file "$FAILF"
    j=$JOB_ID
    wait_for "all_running $j 8" 30 || fail "$name: not all 8 tasks running: $(rest GET "/jobs/$j")"
    assert_eq "$(attempts "$j")" "[0, 0, 0, 0] [0, 0, 0, 0]" "$name: attempts before the failure"
    wait_completed "$j" 2 60
    if [ "$fault" = fail ]; then
        step "$name: the fail file: map subtask 2 fails"
        : >"$FAILF"
    else
        step "$name: kill -9 of a TaskManager holding 2 of the 4 regions"
        tm_kill
    fi
    wait_restored "$j" 1 60
    wait_for "all_running $j 8" 30 || fail "$name: not all 8 tasks running again: $(rest GET "/jobs/$j")"
    details=$(rest GET "/jobs/$j")
    if [ "$fault" = fail ]; then
        assert_contains "$(json_get root-exception <<<"$details")" \
            "induced failure of subtask 2" "$name: the root exception"
    fi
    [ -n "$(restored_ids "$j")" ] || fail "$name: no restore from a checkpoint in the JobManager's log"
    note "restored from checkpoint $(restored_ids "$j"); attempts $(attempts "$j")"
    assert_eq "$(json_get failover-strategy <<<"$details")" "$strategy" "$name: failover-strategy"
    assert_eq "$(json_get regions <<<"$details")" 4 "$name: regions"
    if [ "$fault" = kill ]; then
        a=$(attempts "$j")
        # the oldest TaskManager had the first 2 slots (slots are taken in registration
        # order); both its regions restart together, at one new attempt
        case "$a" in
            "[1, 1, 0, 0] [1, 1, 0, 0]" | "[0, 0, 1, 1] [0, 0, 1, 1]") ;;
            *) fail "$name: attempts $a, expected the 2 subtasks of one TaskManager at 1" ;;
        esac
        assert_eq "$(json_get region-restarts <<<"$details")" 2 "$name: region restarts"
        assert_eq "$(json_get timestamps.FAILING <<<"$details")" 0 "$name: FAILING timestamp (never failing)"
    elif [ "$strategy" = region ]; then
        assert_eq "$(attempts "$j")" "[0, 0, 1, 0] [0, 0, 1, 0]" "$name: attempts (only region 2 restarted)"
        assert_eq "$(json_get region-restarts <<<"$details")" 1 "$name: region restarts"
        assert_eq "$(json_get timestamps.FAILING <<<"$details")" 0 "$name: FAILING timestamp (never failing)"
        assert_eq "$(json_get timestamps.RESTARTING <<<"$details")" 0 "$name: RESTARTING timestamp"
    else
        assert_eq "$(attempts "$j")" "[1, 1, 1, 1] [1, 1, 1, 1]" "$name: attempts (all restarted)"
        assert_eq "$(json_get region-restarts <<<"$details")" 0 "$name: region restarts"
        [ "$(json_get timestamps.RESTARTING <<<"$details")" -gt 0 ] ||
            fail "$name: the job never was RESTARTING: $details"
    fi
    # checkpoints go on after the restart (they were aborted and paused meanwhile)
    local c
    c=$(ck "$j" counts.completed)
    wait_completed "$j" $((c + 2)) 60
    step "$name: open the gate, the job finishes; exactly once"
    gate_open
    wait_state "$j" FINISHED 120
    local got="$TEST_DIR/$name.got" want="$TEST_DIR/$name.want"
    cat "$out"/part-* | sort -n >"$got"
    seq 0 $TO >"$want"
    cmp -s "$got" "$want" ||
        fail "$name: output differs from seq 0 $TO: $(wc -l <"$got") lines, $(sort -n "$got" | uniq -d | wc -l) repeated, $(comm -13 "$got" "$want" | wc -l) missing"
    note "$(wc -l <"$got") values, each once"
    assert_slots_free "$name"
}


assert_contains() {
    case "$1" in
        *"$2"*) ;;
        *) fail "$3: '$1' does not contain '$2'" ;;
    esac
}

assert_slots_free() {
    wait_for "[ \"\$(rest GET /overview | json_get slots-available)\" = \"\$(rest GET /overview | json_get slots-total)\" ]" 10 ||
        fail "$1: slots not free after the job: $(rest GET /overview)"
}

run_case region region fail
run_case full full fail
step "a third TaskManager: 2 spare slots"
tm_start
wait_for "overview_is 3 6" 5 || fail "cluster not at 3 TaskManagers / 6 slots: $(overview_str)"
run_case tm-kill region kill
step "done"
