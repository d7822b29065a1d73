#!/usr/bin/env bash
# test_checkpoints.sh -- issue 6 points 9 and 11 (at-least-once): WordCount survives killed
# TaskManagers with exactly-once results, on a cluster of one JobManager and 3 TaskManagers
# of one slot each.
#
# Every run: examples/wordcount.so at -p 3 with checkpoints every 200 ms into a directory of
# the test, the file sink (two-phase commit), restart strategy fixed-delay (200 ms); its
# /jobs/:id/checkpoints/config shows the mode, the interval and the backend. After the
# second completed checkpoint (polled on /jobs/:id/checkpoints counts.completed) one
# TaskManager is killed with SIGKILL and a new one started; the job must restore from a
# checkpoint (counts.restored, the JobManager's "restores from checkpoint N" with N >= 2),
# run again and finish. Then the committed output (the part files; hidden pending or
# in-progress leftovers of checkpoints that never completed are only reported) is checked
# against ref/word_counts.py's counts by wc_check.c:
#   * hashmap, one kill: for every word the counts are exactly 1..N, in order, each once,
#     all from one subtask (exactly-once);
#   * rocksdb, one kill: the same (a smaller text: the backend is slower);
#   * hashmap, two kills in the same job (the second after two more checkpoints of the
#     restored job): the same;
#   * AT_LEAST_ONCE mode, one kill: every count 1..N present (no loss); repeats allowed and
#     reported.
# The hashmap texts are 4 copies of 4 MB of ref/gen_text.py; their counts are 4 times those
# of one copy. Every job's sources are held on a gate file (testing.source.gate-file) at
# 20,000 lines/s per subtask until its last kill is done, so it cannot finish before a kill
# whatever the machine's speed; then the gate opens and the job runs to its end.
# Also: every TaskManager's snapshot I/O thread runs at nice 10 (the asynchronous part of
# checkpoints is background work), its other threads at the normal priority.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 1
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
[ -f "$EX/wordcount.so" ] || fail "missing $EX/wordcount.so: run make first"

CKDIR="$TEST_DIR/checkpoints"
RESTART=(-D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=5
    -D "restart-strategy.fixed-delay.delay=200 ms")

# ---------------------------------------------------------------------------------------
step "start a JobManager and 3 TaskManagers (1 slot each); generate the texts"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
for _ in 1 2 3; do tm_start; done
BASE="$TEST_DIR/base.txt"
BIG="$TEST_DIR/big.txt"
SMALL="$TEST_DIR/small.txt"
COPIES=4
py "$REF/gen_text.py" --seed 9 --bytes $((4 << 20)) "$BASE" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$BASE" >"$TEST_DIR/base.counts" || fail "word_counts.py failed"
for _ in $(seq $COPIES); do cat -- "$BASE"; done >"$BIG"
py "$REF/gen_text.py" --seed 10 --bytes $((8 << 20)) "$SMALL" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$SMALL" >"$TEST_DIR/small.counts" || fail "word_counts.py failed"
wait_for "overview_is 3 3" 5 || fail "cluster not at 3 TaskManagers / 3 slots: $(overview_str)"
step "cluster up; texts: $(stat -c %s "$BIG") bytes ($COPIES copies of one), $(stat -c %s "$SMALL") bytes"

# wc_run NAME BACKEND MODE KILLS TEXT COUNTS MULT: the run described at the top.
wc_run() {
    local name=$1 backend=$2 mode=$3 kills=$4 text=$5 counts=$6 mult=$7 out k c ids res
    local check=exact
    out="$TEST_DIR/$name.out"
    [ "$mode" = AT_LEAST_ONCE ] && check=atleast
    gate_close
    submit "$name" run -d -p 3 "${GATE[@]}" -D "execution.checkpointing.interval=200 ms" \
        -D "execution.checkpointing.mode=$mode" -D "state.checkpoints.dir=$CKDIR" \
        -D "state.backend.type=$backend" "${RESTART[@]}" \
        "$EX/wordcount.so" --input "$text" --output "$out"
    local j=$JOB_ID target=2 t0 conf
    t0=$(now_ms)
    wait_state "$j" RUNNING 10
    conf=$(rest GET "/jobs/$j/checkpoints/config")
    assert_eq "$(json_get mode <<<"$conf")" "$(tr '[:upper:]' '[:lower:]' <<<"$mode")" "$name: checkpoints/config mode"
    assert_eq "$(json_get interval <<<"$conf")" 200 "$name: checkpoints/config interval"
    assert_eq "$(json_get state_backend <<<"$conf")" \
        "$([ "$backend" = rocksdb ] && echo EmbeddedRocksDBStateBackend || echo HashMapStateBackend)" \
        "$name: checkpoints/config state_backend"
    for k in $(seq "$kills"); do
        wait_completed "$j" "$target" 30
        c=$(ck "$j" counts.completed)
        tm_kill
        tm_start
        step "$name: kill -9 of TaskManager $KILLED_PID after $c completed checkpoints ($(($(now_ms) - t0)) ms into the job); a new TaskManager started"
        wait_restored "$j" "$k" 30
        step "$name: RUNNING again $(($(now_ms) - KILL_MS)) ms after the kill"
        target=$(($(ck "$j" counts.completed) + 2))
    done
    gate_open
    wait_state "$j" FINISHED 120
    ids=$(restored_ids "$j")
    assert_eq "$(wc -w <<<"$ids")" "$kills" "$name: restores in the JobManager's log ($ids)"
    for k in $ids; do
        [ "$k" -ge 2 ] || fail "$name: restored from checkpoint $k, expected one after the second"
    done
    part_args r1 "$out"
    res=$("$WC_CHECK" "$counts" "$mult" "$check" "${PARTS[@]}" 2>&1) ||
        fail "$name: the committed output differs from the reference:
$res"
    step "$name: FINISHED in $(($(now_ms) - t0)) ms, $(ck "$j" counts.completed) checkpoints, restored from checkpoint(s) $ids; ${#PARTS[@]} part files${HIDDEN:+, $HIDDEN hidden leftovers}; $res"
    [ "$HIDDEN" = 0 ] || note "$name: $HIDDEN hidden part files left: $(hidden_files "$out" | tr '\n' ' ')"
    rm -rf -- "$out"
    wait_for "overview_is 3 3" 10 || fail "after $name: $(overview_str), expected 3 TaskManagers"
}

# thread_nice PID NAME: the nice of PID's threads named NAME, one line each
thread_nice() {
    local st
    for st in /proc/"$1"/task/*/stat; do
        # pid (comm) state ...: nice is the 17th field after the comm
        sed -n "s/^[0-9]* ($2) \(.*\)/\1/p" "$st" 2>/dev/null | awk '{print $17}'
    done
}
# a checkpoint's asynchronous part is background work: every TaskManager's snapshot I/O
# thread runs at nice 10, its RPC thread (taskexecutor) at the normal priority
for p in $(live_tm_pids); do
    assert_eq "$(thread_nice "$p" snapshot-io)" 10 "TaskManager $p: nice of its snapshot-io thread"
    assert_eq "$(thread_nice "$p" taskexecutor)" 0 "TaskManager $p: nice of its taskexecutor thread"
done

# ---------------------------------------------------------------------------------------
gate_args 20000
wc_run hashmap hashmap EXACTLY_ONCE 1 "$BIG" "$TEST_DIR/base.counts" $COPIES
wc_run rocksdb rocksdb EXACTLY_ONCE 1 "$SMALL" "$TEST_DIR/small.counts" 1
wc_run two-kills hashmap EXACTLY_ONCE 2 "$BIG" "$TEST_DIR/base.counts" $COPIES
wc_run at-least-once hashmap AT_LEAST_ONCE 1 "$BIG" "$TEST_DIR/base.counts" $COPIES
step "done"
