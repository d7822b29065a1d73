#!/usr/bin/env bash
# test_crash.sh -- issue 18 point 7: a bug in user code is reported and survived. One
# JobManager and one TaskManager (3 slots), both started by the bin/ scripts, so both run
# under their supervisors (taskmanager.supervisor.enabled, jobmanager.supervisor.enabled).
# examples/crash_job.c's map dereferences NULL at its 1000th record on subtask 2/3 of a
# bounded sequence: the crash is reached by the data, not by timing.
#
#   * restart strategy none: flint run exits non-zero; its error and the job's exceptions
#     (REST) name SIGSEGV, the function (crash_job.so:crash_map) and the operator ('Crashing
#     Map', subtask 2/3); the crash file in the log dir holds the report with a symbolized
#     backtrace; the TaskManager is back (a new ResourceID, slots total as before), it told
#     the JobManager of its predecessor's crash on registration; the next job finishes.
#   * fixed-delay, 2 attempts: 3 crash reports (3 more crash files), the job FAILED, and the
#     next job finishes on the TaskManager that came back.
#   * flint_main that crashes: flint run exits 1 with "flint_main crashed: SIGSEGV in
#     crash_job.so:flint_main+0x..."; a program with no sink is refused with Flink's message;
#     run -c names another entry point of the bundle (a missing one: exit 1, one line).
#   * kill -9 of the TaskManager (the supervisor's child): it is back and registered, its
#     supervisor the same process; kill -9 of the JobManager: it is back and serves REST.
#   * taskmanager.sh stop: the supervisor passes the stop on and ends with the daemon, so
#     nothing is left that could restart it. The supervisor's delays were exponential:
#     100, 200, 400, 800 ms, then supervisor.max-backoff (1 s).
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"

EX="$FLINT_HOME/build/examples"
FLINT="$BIN/flint"
[ -f "$EX/crash_job.so" ] || fail "missing $EX/crash_job.so: run make first"

conf_set taskmanager.supervisor.enabled true
conf_set jobmanager.supervisor.enabled true
conf_set taskmanager.numberOfTaskSlots 3
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
conf_set supervisor.initial-backoff "100 ms"
conf_set supervisor.max-backoff "1 s"

assert_contains() {
    case "$1" in
        *"$2"*) ;;
        *) fail "$3: expected to contain '$2', got: $1" ;;
    esac
}

# The ResourceIDs of the registered TaskManagers, sorted, space separated.
tm_ids() {
    rest GET /taskmanagers | py -c '
import json, sys
try:
    print(" ".join(sorted(t["id"] for t in json.load(sys.stdin)["taskmanagers"])))
except Exception:
    pass'
}

# One TaskManager with 3 slots is registered and it is not the one named $1.
tm_replaced() {
    local ids
    ids=$(tm_ids)
    [ -n "$ids" ] && [ "$ids" != "$1" ] && [ "${ids// /}" = "$ids" ] && overview_is 1 3
}

# The daemon a supervisor runs: its one child (the kernel's list ends with a space).
sup_child() {
    local c
    c=$(cat "/proc/$1/task/$1/children" 2>/dev/null)
    echo "${c% }"
}

crash_files() {
    find "$FLINT_LOG_DIR" -maxdepth 1 -name '*-crash-*.txt' | wc -l
}

JOB_ID=
JOB_RC=0
# run_job NAME FLINT_ARGS...: `flint FLINT_ARGS...` attached; output in $TEST_DIR/NAME.*.
run_job() {
    local name=$1
    shift
    "$FLINT" "$@" >"$TEST_DIR/$name.stdout" 2>"$TEST_DIR/$name.stderr"
    JOB_RC=$?
    JOB_ID=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' \
        "$TEST_DIR/$name.stdout")
}

job_state() {
    rest GET "/jobs/$1" | json_get state
}

# The exceptionHistory entries of /jobs/:id/exceptions (JSON on stdin): "N M", N of them
# naming the crash (signal, function, operator), M naming something else.
history_crashes() {
    python3 -c '
import json, sys
entries = json.load(sys.stdin)["exceptionHistory"]["entries"]
crash = [e for e in entries if "crashed: SIGSEGV at 0x0 in crash_job.so:crash_map+0x" in
         e["stacktrace"] and "(operator '"'"'Crashing Map'"'"', subtask 2/3)" in e["stacktrace"]]
print(len(crash), len(entries) - len(crash))'
}

# A job that does not crash (--crash-at 0) finishes on the cluster as it is.
expect_healthy() {
    run_job "$1" run -p 3 "$EX/crash_job.so" --records 30000 --crash-at 0
    [ "$JOB_RC" = 0 ] || fail "$1: flint run exited $JOB_RC: $(cat "$TEST_DIR/$1.stderr")"
    [ "$(job_state "$JOB_ID")" = FINISHED ] || fail "$1: job $JOB_ID is $(job_state "$JOB_ID")"
}

step "start a JobManager and a TaskManager (3 slots), both supervised"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
"$BIN/taskmanager.sh" start >/dev/null || fail "taskmanager.sh start failed"
wait_for "overview_is 1 3" 10 || fail "cluster not at 1 TaskManager / 3 slots: $(overview_str)"
TM_LOG=$(log_of taskmanager 0)
JM_LOG=$(log_of jobmanager 0)
grep -q "Supervisor (pid [0-9]*) of the taskmanager" "$TM_LOG" ||
    fail "the TaskManager does not run under a supervisor: $(cat "$TM_LOG")"
TM_SUP=$(pids_of taskmanager)
CRASH_ARGS=(--records 100000 --crash-at 1000 --subtask 1)

# ---------------------------------------------------------------------------------------
step "restart strategy none: the job fails and names the signal, the function, the operator"
ids=$(tm_ids)
run_job none run -p 3 -D restart-strategy.type=none "$EX/crash_job.so" "${CRASH_ARGS[@]}"
[ "$JOB_RC" != 0 ] || fail "none: flint run exited 0"
[ -n "$JOB_ID" ] || fail "none: no JobID in $(cat "$TEST_DIR/none.stdout")"
err=$(cat "$TEST_DIR/none.stderr")
assert_contains "$err" "crashed: SIGSEGV at 0x0 in crash_job.so:crash_map+0x" "none: flint run"
assert_contains "$err" "(operator 'Crashing Map', subtask 2/3)" "none: flint run"
[ "$(job_state "$JOB_ID")" = FAILED ] || fail "none: job is $(job_state "$JOB_ID")"
exc=$(rest GET "/jobs/$JOB_ID/exceptions")
assert_contains "$exc" "TaskManager $ids crashed: SIGSEGV at 0x0 in crash_job.so:crash_map+0x" \
    "none: /jobs/$JOB_ID/exceptions"
assert_contains "$exc" "(operator 'Crashing Map', subtask 2/3)" "none: /jobs/$JOB_ID/exceptions"
hist=$(printf '%s' "$exc" | history_crashes)
[ "$hist" = "1 0" ] || fail "none: the exception history has $hist (crash, other) entries, expected 1 0: $exc"

step "the crash file holds the report with a symbolized backtrace"
wait_for '[ "$(crash_files)" = 1 ]' 10 || fail "none: $(crash_files) crash files, expected 1"
report=$(cat "$FLINT_LOG_DIR"/*-crash-*.txt)
assert_contains "$report" "signal:    SIGSEGV (11)" "crash file"
assert_contains "$report" "operator:  Crashing Map" "crash file"
assert_contains "$report" "job:       Crash Job ($JOB_ID)" "crash file"
assert_contains "$report" "#0 crash_job.so:crash_map+0x" "crash file backtrace"
assert_contains "$report" "fl_task_run_source+0x" "crash file backtrace (the runtime's frames)"
grep -q "ERROR .*crashed: SIGSEGV at 0x0 in crash_job.so:crash_map" "$TM_LOG" ||
    fail "no crash line in the TaskManager's log"

step "the TaskManager is back: a new ResourceID, 3 slots, its predecessor's crash reported"
wait_for "tm_replaced '$ids'" 20 ||
    fail "no new TaskManager after the crash: ids '$(tm_ids)' (was '$ids'), $(overview_str)"
[ "$(pids_of taskmanager)" = "$TM_SUP" ] || fail "the supervisor changed: $(pids_of taskmanager)"
wait_for "grep -q 'restarted by its supervisor after a crash: TaskManager $ids crashed: SIGSEGV' '$JM_LOG'" 10 ||
    fail "the JobManager did not hear of the crash at registration"
step "the next job runs"
expect_healthy after-none

# ---------------------------------------------------------------------------------------
step "fixed-delay, 2 attempts: 3 crash reports, then FAILED"
before=$(crash_files)
run_job fixed run -p 3 -D restart-strategy.type=fixed-delay \
    -D restart-strategy.fixed-delay.attempts=2 -D "restart-strategy.fixed-delay.delay=100 ms" \
    "$EX/crash_job.so" "${CRASH_ARGS[@]}"
[ "$JOB_RC" != 0 ] || fail "fixed: flint run exited 0"
[ "$(job_state "$JOB_ID")" = FAILED ] || fail "fixed: job is $(job_state "$JOB_ID")"
assert_contains "$(cat "$TEST_DIR/fixed.stderr")" "crashed: SIGSEGV at 0x0 in crash_job.so:crash_map" \
    "fixed: flint run"
wait_for '[ "$(crash_files)" = $((before + 3)) ]' 10 ||
    fail "fixed: $(($(crash_files) - before)) new crash files, expected 3"
exc=$(rest GET "/jobs/$JOB_ID/exceptions")
hist=$(printf '%s' "$exc" | history_crashes)
[ "$hist" = "3 0" ] ||
    fail "fixed: the exception history has $hist (crash, other) entries, expected 3 0: $exc"
n=$(grep -c "ERROR .*crashed: SIGSEGV at 0x0 in crash_job.so:crash_map" "$TM_LOG")
[ "$n" = 4 ] || fail "fixed: $n crash lines in the TaskManager's log, expected 4 (1 + 3)"
step "the cluster is healthy: the next job runs"
wait_for "overview_is 1 3" 20 || fail "fixed: cluster not back: $(overview_str)"
expect_healthy after-fixed

# ---------------------------------------------------------------------------------------
step "the client: flint_main crashes, a program without a sink"
"$FLINT" run "$EX/crash_job.so" --crash-in-main >"$TEST_DIR/main.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "crash in flint_main: exit $rc, expected 1: $(cat "$TEST_DIR/main.out")"
grep -q "^flint_main crashed: SIGSEGV in crash_job.so:flint_main+0x[0-9a-f]*$" "$TEST_DIR/main.out" ||
    fail "crash in flint_main: $(cat "$TEST_DIR/main.out")"
"$FLINT" run "$EX/crash_job.so" --no-sink >"$TEST_DIR/nosink.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "no sink: exit $rc, expected 1: $(cat "$TEST_DIR/nosink.out")"
assert_contains "$(cat "$TEST_DIR/nosink.out")" \
    "No operators defined in streaming topology. Cannot execute." "no sink"

step "run -c/--class: another entry point of the bundle; a missing one is refused"
run_job class run -p 3 -c crash_job_healthy "$EX/crash_job.so" --records 3000
[ "$JOB_RC" = 0 ] || fail "run -c: exit $JOB_RC: $(cat "$TEST_DIR/class.stderr")"
[ "$(rest GET "/jobs/$JOB_ID" | json_get name)" = "Healthy Job" ] ||
    fail "run -c: the job is not the one crash_job_healthy builds: $(rest GET "/jobs/$JOB_ID")"
"$FLINT" run -c no_such_entry "$EX/crash_job.so" >"$TEST_DIR/class2.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "run -c no_such_entry: exit $rc"
assert_contains "$(cat "$TEST_DIR/class2.out")" "has no entry point 'no_such_entry' (-c/--class)" \
    "run -c no_such_entry"

# ---------------------------------------------------------------------------------------
step "kill -9 of the TaskManager: its supervisor brings it back"
ids=$(tm_ids)
child=$(sup_child "$TM_SUP")
[[ "$child" =~ ^[0-9]+$ ]] || fail "the supervisor $TM_SUP has no single child: '$child'"
kill -9 "$child"
wait_for "tm_replaced '$ids'" 20 ||
    fail "no new TaskManager after kill -9: ids '$(tm_ids)' (was '$ids'), $(overview_str)"
grep -q "Supervisor: the taskmanager (pid $child) died of signal 9" "$TM_LOG" ||
    fail "the supervisor did not log the kill: $(grep Supervisor "$TM_LOG")"

step "kill -9 of the JobManager: its supervisor brings it back"
JM_SUP=$(pids_of jobmanager)
jm_child=$(sup_child "$JM_SUP")
[[ "$jm_child" =~ ^[0-9]+$ ]] || fail "the JobManager's supervisor has no single child"
kill -9 "$jm_child"
wait_for "grep -q 'Supervisor: restarted the jobmanager' '$JM_LOG' && overview_is 1 3" 30 ||
    fail "the JobManager did not come back with its TaskManager: $(overview_str)"
expect_healthy after-jm-kill

# ---------------------------------------------------------------------------------------
step "taskmanager.sh stop: the TaskManager stays stopped"
child=$(sup_child "$TM_SUP")
"$BIN/taskmanager.sh" stop >/dev/null || fail "taskmanager.sh stop failed"
# the supervisor is the only process that restarts; once it is gone nothing can
wait_for "! kill -0 $TM_SUP 2>/dev/null && ! kill -0 $child 2>/dev/null" 10 ||
    fail "the supervisor ($TM_SUP) or the TaskManager ($child) is still running"
grep -q "Supervisor: restarted the taskmanager.*pid $child\|daemon pid $child" "$TM_LOG" ||
    fail "pid $child was not the supervised TaskManager"
n=$(grep -c "Supervisor: restarted the taskmanager" "$TM_LOG")
[ "$n" = 5 ] || fail "$n restarts logged, expected 5 (1 + 3 crashes, 1 kill -9)"
# exponential backoff: 100 ms doubling up to supervisor.max-backoff (1 s), never reset
# (every run was shorter than supervisor.reset-backoff-threshold, 1 min)
delays=$(sed -n 's/.*restarting it in \([0-9]*\) ms.*/\1/p' "$TM_LOG" | tr '\n' ' ')
[ "$delays" = "100 200 400 800 1000 " ] || fail "restart delays '$delays', expected 100 200 400 800 1000"
step "done"
