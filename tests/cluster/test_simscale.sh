#!/usr/bin/env bash
# test_simscale.sh -- issue 21 point 6: the JobManager's control plane at sizes one machine
# cannot host as real processes, against simulated TaskManagers (tests/tools/simtm.c: the
# real RPC protocol, no-op tasks): 200 TaskManagers of 10 slots register, a job of two
# vertices at -p 2,000 connected all-to-all (4,000 subtasks) is deployed and runs with
# checkpoints every 500 ms, no failed checkpoint tolerated and no restart:
#   * every subtask RUNNING (bounded in time: a hang fails the test, not a slow machine);
#   * checkpoints complete with all 4,000 acknowledgements;
#   * at checkpoint 3 one task declines as "not running" (a task that finished while the
#     trigger was on its way): that checkpoint fails, but the job keeps running and later
#     checkpoints complete (it used to count as a failure and fail the job);
#   * cancelled: CANCELED, all 2,000 slots free again.
# Timings and the JobManager's RSS are printed, not asserted (bench/scale.sh measures them).
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

SIM="$FLINT_HOME/build/tests/flint-simtm"
[ -x "$SIM" ] || fail "missing $SIM: run make first"
TMS=200
SLOTS=10
P=$((TMS * SLOTS))
conf_set heartbeat.interval "1 s"
conf_set heartbeat.timeout "30 s"

step "a JobManager; $TMS simulated TaskManagers of $SLOTS slots"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
JM_PID=$(pids_of jobmanager | head -n 1)
"$SIM" --jm "127.0.0.1:$JM_RPC_PORT" --tms $TMS --slots $SLOTS --not-running-at 3 \
    >"$TEST_DIR/sim.out" 2>&1 &
SIM_PID=$!
sim_stop() {
    kill "$SIM_PID" 2>/dev/null
    wait "$SIM_PID" 2>/dev/null
}
CLEANUP_HOOKS+=(sim_stop)
wait_for "grep -q '^registered' '$TEST_DIR/sim.out'" 60 ||
    fail "the simulated TaskManagers did not register: $(tail -n 3 "$TEST_DIR/sim.out")"
wait_for "overview_is $TMS $P" 10 || fail "overview: $(overview_str)"
step "$(grep '^registered' "$TEST_DIR/sim.out") (JobManager RSS $(awk '/VmRSS/ {print $2}' /proc/$JM_PID/status) kB)"

submit wide run -d -p $P -D "execution.checkpointing.interval=500 ms" \
    -D "state.checkpoints.dir=$TEST_DIR/ck" -D execution.checkpointing.tolerable-failed-checkpoints=0 \
    -D restart-strategy.type=none \
    "$EX/bench_shuffle.so" --records 1000000000
J=$JOB_ID
t0=$(now_ms)
all_running() {
    rest GET "/jobs/$J" | py -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["status-counts"]["RUNNING"] == sum(v["parallelism"] for v in d["vertices"]) == 2 * int(sys.argv[1]) else 1)' "$P"
}
wait_for all_running 120 || fail "not every subtask RUNNING after 120 s: $(rest GET "/jobs/$J" | json_get status-counts)"
step "all $((2 * P)) subtasks RUNNING $(($(now_ms) - t0)) ms after submission (JobManager RSS $(awk '/VmRSS/ {print $2}' /proc/$JM_PID/status) kB)"

# checkpoints 1, 2 complete; 3 is declined by a task that is "not running"; 4 and on complete
wait_completed "$J" 4 60
hist=$(rest GET "/jobs/$J/checkpoints")
res=$(py -c '
import json, sys
d = json.load(sys.stdin)
n = 2 * int(sys.argv[1])
h = {c["id"]: c for c in d["history"]}
bad = []
if h.get(3, {}).get("status") != "FAILED":
    bad.append("checkpoint 3 is %s, expected FAILED" % h.get(3, {}).get("status"))
done = [c for c in d["history"] if c["status"] == "COMPLETED"]
if len(done) < 4:
    bad.append("only %d completed" % len(done))
for c in done:
    if c["num_acknowledged_subtasks"] != n:
        bad.append("checkpoint %d: %d acknowledgements of %d" % (c["id"], c["num_acknowledged_subtasks"], n))
if bad:
    print("; ".join(bad)); sys.exit(1)
print(", ".join("%d: %d ms" % (c["id"], c["end_to_end_duration"]) for c in sorted(done, key=lambda c: c["id"])))
' $P <<<"$hist") || fail "checkpoints: $res"
assert_eq "$(job_state "$J")" RUNNING "the job after a checkpoint declined by a task that is not running"
step "checkpoints of $((2 * P)) subtasks completed ($res); checkpoint 3, declined as not running, did not fail the job"

"$FLINT" cancel "$J" >/dev/null 2>&1 || fail "flint cancel failed"
wait_state "$J" CANCELED 60
wait_for "[ \"\$(rest GET /overview | json_get slots-available)\" = $P ]" 30 ||
    fail "slots not free after the cancellation: $(rest GET /overview)"
step "cancelled; all $P slots free"
