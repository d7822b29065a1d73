#!/usr/bin/env bash
# test_adaptive.sh -- issue 16 points 2 and 7: Flink's adaptive scheduler
# (jobmanager.scheduler: adaptive). A JobManager and one TaskManager of 2 slots; seqcheck
# declared -p 4 (its checker; the source stays 1), checkpoints every 200 ms, its source held
# on the gate file so that it cannot finish while the test scales it.
#   * it does not get its 4 slots: after jobmanager.adaptive-scheduler.resource-wait-timeout
#     (1 s here) it runs at 2 (REST), and says why (last-rescale);
#   * a second TaskManager of 2 slots registers: it scales up to the declared 4;
#   * PUT resource-requirements with upperBound 2 for the checker scales it down to 2, and a
#     third TaskManager does not scale it back up: the PUT set what it declares;
#   * the gate opens, the job FINISHES, and the committed output has every key's sequence
#     with no gap and no repeat (seq_verify).
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
conf_set jobmanager.scheduler adaptive
conf_set jobmanager.adaptive-scheduler.resource-wait-timeout "1 s"
conf_set jobmanager.adaptive-scheduler.resource-stabilization-timeout "300 ms"
[ -f "$EX/seqcheck.so" ] || fail "missing $EX/seqcheck.so: run make first"

step "start a JobManager and 1 TaskManager (2 slots)"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 2" 10 || fail "cluster not at 1 TaskManager / 2 slots: $(overview_str)"

parallelisms() {
    rest GET "/jobs/$J" | py -c '
import json, sys
print(" ".join(str(v["parallelism"]) for v in json.load(sys.stdin)["vertices"]))'
}

running_at() {
    local d
    d=$(rest GET "/jobs/$J")
    [ "$(json_get state <<<"$d")" = RUNNING ] &&
        [ "$(json_get status-counts.RUNNING <<<"$d")" = $((1 + $1)) ] &&
        [ "$(parallelisms)" = "1 $1" ]
}

reason_is() {
    local r
    r=$(rest GET "/jobs/$J" | json_get last-rescale.reason)
    [ "$r" = "$1" ] || fail "last-rescale.reason: '$r', expected '$1'"
}

KEYS=32
PER_KEY=10000
OUT="$TEST_DIR/seq.out"
gate_args 5000
gate_close
step "seqcheck declared -p 4 on 2 slots"
submit seq run -d -p 4 "${GATE[@]}" -D "execution.checkpointing.interval=200 ms" \
    -D "state.checkpoints.dir=$TEST_DIR/ck" \
    "$EX/seqcheck.so" --keys $KEYS --per-key $PER_KEY --output "$OUT"
J=$JOB_ID
wait_for "running_at 2" 30 || fail "not running at 2 after the wait timeout: $(rest GET "/jobs/$J")"
reason_is "adaptive scheduler: the cluster has 2 slots"
grep -q "did not come within 1000 ms" "$(jm_log)" ||
    fail "the JobManager's log does not say the job waited resource-wait-timeout"
wait_completed "$J" 1 60

step "a second TaskManager (2 slots): up to the declared 4"
t0=$(now_ms)
tm_start
wait_for "running_at 4" 60 || fail "not running at 4: $(rest GET "/jobs/$J")"
note "RUNNING at 4 after $(($(now_ms) - t0)) ms (TaskManager start included)"
reason_is "adaptive scheduler: the cluster has 4 slots"
c=$(ck "$J" counts.completed)
wait_completed "$J" $((c + 1)) 60

step "PUT resource-requirements: the checker at 2"
code=$(curl -s --max-time 5 -o "$TEST_DIR/put.out" -w '%{http_code}' -X PUT \
    -H 'Content-Type: application/json' \
    --data '{"1": {"parallelism": {"lowerBound": 1, "upperBound": 2}}}' \
    "http://127.0.0.1:$REST_PORT/jobs/$J/resource-requirements")
assert_eq "$code" 200 "PUT resource-requirements: $(cat "$TEST_DIR/put.out")"
wait_for "running_at 2" 60 || fail "not running at 2 after the PUT: $(rest GET "/jobs/$J")"
reason_is "resource requirements changed"
step "a third TaskManager (2 slots): the job stays at the 2 it now declares"
tm_start
wait_for "overview_is 3 6" 10 || fail "cluster not at 3 TaskManagers / 6 slots: $(overview_str)"
wait_for "grep -q 'Job Sequence Check ($J): the cluster has 6 slots; its parallelism stays.' '$(jm_log)'" 30 ||
    fail "the job did not judge the 6 slots (JobManager log)"
running_at 2 || fail "not at 2 any more: $(rest GET "/jobs/$J")"
reason_is "resource requirements changed"
c=$(ck "$J" counts.completed)
wait_completed "$J" $((c + 1)) 60

step "open the gate: the job finishes; no gap and no repeat"
gate_open
wait_state "$J" FINISHED 120
seq_verify seq "$OUT" $KEYS $PER_KEY
[ "$SEQ_OK" = 1 ] || fail "$SEQ_RES"
note "$SEQ_RES; restored from checkpoints $(restored_ids "$J" | tr '\n' ' ')"
step "done"
