#!/usr/bin/env bash
# shellcheck disable=SC2034 # the variables set here are the tests'
# checkpoint_lib.sh -- sourced after lib.sh by the fault-tolerance tests (test_checkpoints.sh,
# test_failover.sh, test_savepoints.sh, test_unaligned.sh; issue 6 points 9-12). Not a test
# itself (run-cluster.sh runs test_*.sh only).
#
#   WC_CHECK            tests/cluster/wc_check.c compiled into $TEST_DIR: checks WordCount
#                       output against ref/word_counts.py's counts (exact | atleast)
#   tm_start            one more TaskManager
#   tm_kill             kill -9 of the oldest live TaskManager; sets KILLED_PID and KILL_MS
#                       (when)
#   submit NAME ARGS    `flint ARGS` detached (run -d ...); JOB_ID, output in $TEST_DIR/NAME.*
#   job_state J         the job's state from REST
#   ck J PATH           a field of /jobs/J/checkpoints (counts.completed, latest.completed.id)
#   wait_completed J N T    until N checkpoints completed (fails after T s, or when the job
#                           ends first)
#   wait_restored J N T     until the job restored N times and runs again
#   wait_state J STATE T    until the job is in STATE (fails when it ends in another state)
#   part_args RUN DIR   PARTS: RUN/s<subtask>=DIR/part-<job>-<subtask>-<n> for every committed part
#                       file, in subtask and part order (wc_check's arguments); fails on a file
#                       that is neither a part file nor a hidden .part-*.inprogress.* one
#                       (in progress, or pre-committed and pending: common/fs's name), and
#                       counts the hidden ones in HIDDEN
#   jm_log              the JobManager's log
#   hidden_files DIR    the names of DIR's hidden (in-progress or pending) part files, one line
#   restored_ids J      the checkpoint ids job J restored from, from the JobManager's log
#   seq_verify NAME DIR KEYS PER_KEY   checks examples/seqcheck.so output: SEQ_OK, SEQ_RES
#   soft_fail MSG / finish   a failed check that lets the test go on / the end of such a
#                       test (fails when any check failed)
#   assert_eq A B WHAT  as in test_jobs.sh
#   gate_args RATE      GATE: the -D options that hold a job's sources on the gate file
#                       $TEST_DIR/gate (testing.source.gate-file) at RATE records/s per
#                       source subtask: while the file exists no source finishes, so a job
#                       is certainly running when a fault is injected, on any machine
#   gate_close / gate_open   create / remove the gate file
set -u

REF="$FLINT_HOME/tests/cluster/ref"
EX="$FLINT_HOME/build/examples"
FLINT="$BIN/flint"
WC_CHECK="$TEST_DIR/wc_check"

cc -std=gnu11 -O2 -Wall -Wextra -o "$WC_CHECK" "$FLINT_HOME/tests/cluster/wc_check.c" ||
    fail "cannot build tests/cluster/wc_check.c"

GATE_FILE="$TEST_DIR/gate"
GATE=()
gate_args() {
    GATE=(-D "testing.source.gate-file=$GATE_FILE" -D "testing.source.gate-rate=$1")
}

gate_close() {
    : >"$GATE_FILE" || fail "cannot create the gate file $GATE_FILE"
}

gate_open() {
    rm -f -- "$GATE_FILE"
}

assert_eq() {
    [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

jm_log() {
    log_of jobmanager 0
}

tm_start() {
    "$BIN/taskmanager.sh" start >/dev/null || fail "taskmanager.sh start failed"
}

live_tm_pids() {
    local p
    for p in $(pids_of taskmanager); do
        is_flint_pid "$p" && echo "$p"
    done
}

KILLED_PID=
KILL_MS=0
tm_kill() {
    local p
    p=$(live_tm_pids | head -n 1)
    [ -n "$p" ] || fail "no live TaskManager to kill"
    kill -9 "$p" || fail "kill -9 $p failed"
    KILL_MS=$(now_ms)
    KILLED_PID=$p
    wait_for "! is_flint_pid $p" 5 || fail "TaskManager $p still alive after kill -9"
}

JOB_ID=
submit() {
    local name=$1 out
    shift
    # the CLI, or the multi-host tests' flint (hosts.sh: from inside the JobManager's host)
    if declare -F flint >/dev/null; then
        flint "$@" >"$TEST_DIR/$name.stdout" 2>"$TEST_DIR/$name.stderr"
    else
        "$FLINT" "$@" >"$TEST_DIR/$name.stdout" 2>"$TEST_DIR/$name.stderr"
    fi
    local rc=$?
    out=$(cat "$TEST_DIR/$name.stdout" "$TEST_DIR/$name.stderr")
    JOB_ID=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' \
        "$TEST_DIR/$name.stdout")
    [ "$rc" = 0 ] && [ -n "$JOB_ID" ] || fail "$name: flint $* exited $rc: $out"
}

job_state() {
    rest GET "/jobs/$1" | json_get state
}

ck() {
    rest GET "/jobs/$1/checkpoints" | json_get "$2"
}

is_terminal() {
    case "$1" in
        FINISHED | FAILED | CANCELED) return 0 ;;
    esac
    return 1
}

# True when the job reached counts.completed >= $2; exits the test when it ended before.
completed_at_least() {
    local c s
    c=$(ck "$1" counts.completed) || c=0
    [ "$c" -ge "$2" ] && return 0
    s=$(job_state "$1")
    is_terminal "$s" && fail "job $1 ended ($s) with $c completed checkpoints, before $2: the input is too small for this machine"
    return 1
}

wait_completed() {
    wait_for "completed_at_least $1 $2" "$3" ||
        fail "job $1: $(ck "$1" counts.completed) checkpoints completed after $3 s, expected $2 (state $(job_state "$1"))"
}

restored_at_least() {
    local r s
    r=$(ck "$1" counts.restored) || r=0
    s=$(job_state "$1")
    is_terminal "$s" && [ "$s" != FINISHED ] && fail "job $1 ended $s: $(rest GET "/jobs/$1/exceptions")"
    [ "$r" -ge "$2" ] && [ "$s" = RUNNING ]
}

wait_restored() {
    wait_for "restored_at_least $1 $2" "$3" ||
        fail "job $1: restored $(ck "$1" counts.restored) times (state $(job_state "$1")) after $3 s, expected $2"
}

in_state() {
    local s
    s=$(job_state "$1")
    [ "$s" = "$2" ] && return 0
    is_terminal "$s" && fail "job $1 ended $s, expected $2: $(rest GET "/jobs/$1/exceptions")"
    return 1
}

wait_state() {
    wait_for "in_state $1 $2" "$3" || fail "job $1: state $(job_state "$1") after $3 s, expected $2"
}

HIDDEN=0
PARTS=()
part_args() {
    local run=$1 dir=$2 f
    HIDDEN=0
    PARTS=()
    [ -d "$dir" ] || fail "no output directory $dir"
    while read -r f; do
        case "$f" in
            part-*-*-*) PARTS+=("$run/s$(cut -d- -f3 <<<"$f")=$dir/$f") ;;
            .part-*.inprogress.*) HIDDEN=$((HIDDEN + 1)) ;; # common/fs's local in-progress file
            *) fail "unexpected file '$f' in $dir" ;;
        esac
    done < <(ls -A -- "$dir" | part_order)
}

hidden_files() {
    local f
    for f in "$1"/.part-*; do
        [ -e "$f" ] && basename -- "$f"
    done
    return 0
}

# The checkpoint ids the JobManager restored job $1 from, in order ("4 9").
restored_ids() {
    sed -n "s/.*($1) restores from checkpoint \([0-9]*\) .*/\1/p" "$(jm_log)" | tr '\n' ' ' |
        sed 's/ $//'
}

# soft_fail MSG: reports a failure and goes on with the test (independent checks each get
# their verdict); finish ends the test, failing it when any soft failure happened.
SOFT_FAILS=()
soft_fail() {
    echo "  FAIL: $*" >&2
    SOFT_FAILS+=("$1")
}

finish() {
    if [ "${#SOFT_FAILS[@]}" -gt 0 ]; then
        fail "${#SOFT_FAILS[@]} check(s) failed: $(printf '%s; ' "${SOFT_FAILS[@]%%:*}")"
    fi
    step "done"
}

# seq_verify NAME DIR KEYS PER_KEY: checks the committed output of an examples/seqcheck.so
# run (every part file of DIR): no VIOLATION line, one FINAL line per key 0..KEYS-1 with
# count=PER_KEY, nothing else. The summary in SEQ_RES; SEQ_OK=0 and the problems in SEQ_RES
# when it does not hold (the caller decides).
SEQ_RES=
SEQ_OK=1
seq_verify() {
    local name=$1 dir=$2 keys=$3 per_key=$4 a
    part_args r1 "$dir"
    [ "${#PARTS[@]}" -gt 0 ] || fail "$name: no part files in $dir"
    SEQ_OK=1
    SEQ_RES=$(for a in "${PARTS[@]}"; do cat -- "${a#*=}"; done | py -c '
import re, sys
keys, per_key = int(sys.argv[1]), int(sys.argv[2])
finals, bad, violations = {}, [], 0
for line in sys.stdin:
    line = line.rstrip("\n")
    m = re.fullmatch(r"FINAL key=([0-9]+) count=([0-9]+)", line)
    if m:
        k = int(m.group(1))
        if k in finals:
            bad.append("a second FINAL line for key %d: %s" % (k, line))
        finals[k] = int(m.group(2))
    else:
        violations += line.startswith("VIOLATION ")
        bad.append(line)
for k in range(keys):
    if k not in finals:
        bad.append("no FINAL line for key %d" % k)
    elif finals[k] != per_key:
        bad.append("key %d: count=%d, expected %d" % (k, finals[k], per_key))
if set(finals) - set(range(keys)):
    bad.append("FINAL lines for unknown keys %s" % sorted(set(finals) - set(range(keys)))[:5])
if bad:
    print("%d problems, %d VIOLATION lines:" % (len(bad), violations))
    print("\n".join("  " + b for b in bad[:8]))
    sys.exit(1)
print("no violation; %d FINAL lines, each count=%d" % (keys, per_key))
' "$keys" "$per_key") || SEQ_OK=0
}
