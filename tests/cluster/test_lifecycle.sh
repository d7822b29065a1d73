#!/usr/bin/env bash
# test_lifecycle.sh -- a rich function's close follows its open on every subtask, also when
# the job fails or is cancelled, as Flink closes its rich functions (what open allocated is
# freed; a TaskManager that runs failing jobs does not leak them). examples/lifecycle.c
# leaves a file per open and per close call:
#   * -p 3, subtask 0 fails at its record 1000, restart strategy none: FAILED; subtask 0
#     was opened and closed, and so was each of 1 and 2 that opened before the failure
#     cancelled it;
#   * -p 2 held on the source gate (it cannot finish), cancelled: CANCELED, both closed;
#   * -p 2 to its end: FINISHED, both closed once.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 4
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 4" 10 || fail "cluster not up: $(overview_str)"

# traced DIR P [MUST]: every subtask 0..P-1 of attempt 0 that was opened was closed, and
# nothing else happened; subtasks MUST (default all) certainly were opened. (A failure
# may cancel another subtask before it opened: then it has neither file.)
traced() {
    local dir=$1 p=$2 must=${3:-all} s n=0
    for ((s = 0; s < p; s++)); do
        if [ -e "$dir/open-$s-0" ]; then
            [ -e "$dir/close-$s-0" ] || fail "$dir: subtask $s was opened but not closed: $(ls "$dir")"
            n=$((n + 2))
        else
            [ "$must" = all ] || [ "$must" = "$s" ] &&
                fail "$dir: subtask $s was never opened: $(ls "$dir")"
            [ -e "$dir/close-$s-0" ] && fail "$dir: subtask $s was closed, never opened"
        fi
    done
    [ "$(ls "$dir" | wc -l)" = $n ] || fail "$dir: unexpected files: $(ls "$dir")"
}

step "-p 3, subtask 0 fails at record 1000, restart strategy none"
mkdir -p "$TEST_DIR/failed"
"$FLINT" run -p 3 -D restart-strategy.type=none "$EX/lifecycle.so" --dir "$TEST_DIR/failed" \
    --fail-at 1000 >"$TEST_DIR/failed.out" 2>&1 && fail "the failing job succeeded"
grep -q "lifecycle: failing at record 1000" "$TEST_DIR/failed.out" ||
    fail "no failure cause: $(tail -n 5 "$TEST_DIR/failed.out")"
traced "$TEST_DIR/failed" 3 0

step "-p 2 held on the source gate, cancelled"
gate_args 1000
gate_close
mkdir -p "$TEST_DIR/cancelled"
submit cancelled run -d -p 2 "${GATE[@]}" "$EX/lifecycle.so" --dir "$TEST_DIR/cancelled"
j=$JOB_ID
wait_state "$j" RUNNING 20
wait_for "[ -e '$TEST_DIR/cancelled/open-0-0' ] && [ -e '$TEST_DIR/cancelled/open-1-0' ]" 20 ||
    fail "the map was not opened on both subtasks: $(ls "$TEST_DIR/cancelled")"
"$FLINT" cancel "$j" >/dev/null || fail "flint cancel failed"
wait_state "$j" CANCELED 20
gate_open
traced "$TEST_DIR/cancelled" 2

step "-p 2 to its end"
mkdir -p "$TEST_DIR/finished"
"$FLINT" run -p 2 "$EX/lifecycle.so" --dir "$TEST_DIR/finished" --records 10000 \
    >"$TEST_DIR/finished.out" 2>&1 || fail "the job failed: $(tail -n 5 "$TEST_DIR/finished.out")"
traced "$TEST_DIR/finished" 2
step "done"
