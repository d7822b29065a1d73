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
#   * cancelled: CANCELED, all 2,000 slots free again;
#   * region failover among 200 (issue 21 point 4): the independent pipelines job at
#     -p 1,990 (each subtask pair its own pipelined region); one simulated TaskManager
#     holding several regions is "killed" (its connection closes, as with kill -9): the
#     job never leaves RUNNING, exactly the killed regions restart (their subtasks at
#     attempt 1, every other at 0, read from REST) and the simulator counts exactly their
#     tasks deployed again; nothing else is redeployed.
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

# ---- region failover: one TaskManager of 200 lost, only its regions restart ------------
PF=$((P - SLOTS))
step "region failover: pipelines -p $PF (2 vertices, $PF regions) on the same $TMS TaskManagers"
submit regions run -d -p $PF -D "execution.checkpointing.interval=500 ms" \
    -D "state.checkpoints.dir=$TEST_DIR/ck2" -D jobmanager.execution.failover-strategy=region \
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=3 \
    -D "restart-strategy.fixed-delay.delay=0 ms" \
    "$EX/pipelines.so" --to 1000000000 --output "$TEST_DIR/regions-out"
J=$JOB_ID
running_is() {
    rest GET "/jobs/$1" | py -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["status-counts"]["RUNNING"] == int(sys.argv[1]) else 1)' "$2"
}
wait_for "running_is $J $((2 * PF))" 120 || fail "regions: not every subtask RUNNING: $(rest GET "/jobs/$J" | json_get status-counts)"
wait_completed "$J" 1 60
kill -USR1 "$SIM_PID"
wait_for "grep -q '^killed' '$TEST_DIR/sim.out'" 30 || fail "the simulator did not kill a TaskManager"
killed=$(grep '^killed' "$TEST_DIR/sim.out")
t0=$(now_ms)
step "$killed"
case "$killed" in "killed none"*) fail "no TaskManager held a task" ;; esac
subs=$(sed -n 's/^killed .* of subtasks \([0-9,]*\) deployed=.*/\1/p' <<<"$killed")
dep0=$(sed -n 's/.* deployed=\([0-9]*\)$/\1/p' <<<"$killed")
regions_restarted() {
    [ "$(rest GET "/jobs/$J" | json_get region-restarts)" -ge 1 ] 2>/dev/null
}
wait_for regions_restarted 60 || fail "regions: no region restart after the loss: $(rest GET "/jobs/$J")"
wait_for "running_is $J $((2 * PF))" 120 || fail "regions: not every subtask RUNNING again: $(rest GET "/jobs/$J" | json_get status-counts)"
step "all $((2 * PF)) subtasks RUNNING again $(($(now_ms) - t0)) ms after the loss"
details=$(rest GET "/jobs/$J")
res=$(py -c '
import json, sys
d = json.load(sys.stdin)
killed = {int(x) for x in sys.argv[1].split(",")}
bad = []
if d["state"] != "RUNNING" or d["timestamps"].get("FAILING", 0) != 0:
    bad.append("the job left RUNNING (state %s, FAILING at %s)" % (d["state"], d["timestamps"].get("FAILING")))
for v in d["vertices"]:
    a = v["subtask-attempts"]
    want = [1 if i in killed else 0 for i in range(len(a))]
    if a != want:
        diff = [i for i in range(len(a)) if a[i] != want[i]]
        bad.append("%s: attempts differ at subtasks %s (killed: %s)" % (v["name"], diff[:10], sorted(killed)))
if bad:
    print("; ".join(bad)); sys.exit(1)
print(len(killed))' "$subs" <<<"$details") || fail "regions: $res"
nreg=$res
# the simulator's own count of deployments since the loss: the killed regions' tasks, no more
stats_deployed() { awk '/^stats/ { for (i = 1; i <= NF; i++) if ($i ~ /^deployed=/) { split($i, a, "="); d = a[2] } } END { print d + 0 }' "$TEST_DIR/sim.out"; }
want=$((dep0 + 2 * nreg))
wait_for "[ \"\$(stats_deployed)\" -ge $want ]" 30 || fail "regions: simulator deployed $(stats_deployed), expected $want"
assert_eq "$(stats_deployed)" "$want" "regions: deployments in the simulator (before the loss $dep0, + 2 x $nreg regions)"
step "only the $nreg regions of the lost TaskManager restarted ($((2 * nreg)) of $((2 * PF)) tasks redeployed); the job never left RUNNING"
"$FLINT" cancel "$J" >/dev/null 2>&1 || fail "flint cancel failed"
wait_state "$J" CANCELED 60
