#!/usr/bin/env bash
# test_reactive.sh -- issue 16 points 1, 6 and 8: Flink's reactive mode (scheduler-mode:
# reactive). A JobManager and one TaskManager of one slot; seqcheck (examples/seqcheck.c:
# source and injector at max parallelism 1, keyBy, the checker and an exactly-once file
# sink) with checkpoints every 200 ms, its source held on the gate file so that it cannot
# finish while the test scales the cluster.
#   * TaskManagers of one slot are started one by one, 1 -> 4: after each the job's checker
#     vertex runs at the cluster's slot count (REST: parallelism, every task RUNNING), with
#     last-rescale saying why (reactive mode); the time from starting the TaskManager to the
#     job RUNNING at the higher parallelism is printed (point 8);
#   * TaskManagers are killed (kill -9) one by one, 4 -> 1: the job rescales down each time
#     instead of waiting for the lost slots;
#   * the gate opens, the job FINISHES, and the committed output has every key's sequence
#     with no gap and no repeat (seq_verify: an independent reading of the part files);
#   * then the same with WordCount (file source -> flatMap -> keyBy -> count -> exactly-once
#     file sink; both vertices follow the slot count): 1 -> 4 TaskManagers and kill -9 down
#     to 1 again; the committed output holds every word's counts 1..N exactly once (the
#     multiset of "word,count" lines equals the one ref/word_counts.py implies).
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 1
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
conf_set scheduler-mode reactive
conf_set jobmanager.adaptive-scheduler.resource-stabilization-timeout "300 ms"
[ -f "$EX/seqcheck.so" ] || fail "missing $EX/seqcheck.so: run make first"

step "start a JobManager and 1 TaskManager (1 slot)"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 1" 10 || fail "cluster not at 1 TaskManager / 1 slot: $(overview_str)"

# parallelisms: every vertex's parallelism, in order.
parallelisms() {
    rest GET "/jobs/$J" | py -c '
import json, sys
print(" ".join(str(v["parallelism"]) for v in json.load(sys.stdin)["vertices"]))'
}

# running_at P: the job RUNNING at slot count P and every task RUNNING: seqcheck's checker
# at P (its source stays 1), or both WordCount vertices at P (WC=1).
WC=0
running_at() {
    local d want=$((1 + $1)) par="1 $1"
    [ "$WC" = 1 ] && want=$((2 * $1)) && par="$1 $1"
    d=$(rest GET "/jobs/$J")
    [ "$(json_get state <<<"$d")" = RUNNING ] &&
        [ "$(json_get status-counts.RUNNING <<<"$d")" = "$want" ] &&
        [ "$(parallelisms)" = "$par" ]
}

# jm_log_ms TEXT: when the JobManager logged its last line containing TEXT (epoch ms).
jm_log_ms() {
    grep -F -- "$1" "$(jm_log)" | tail -n 1 | py -c '
import datetime, sys
line = sys.stdin.read()
t = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
print(int(t.timestamp() * 1000))'
}

KEYS=32
PER_KEY=10000
OUT="$TEST_DIR/seq.out"
gate_args 5000
gate_close
step "seqcheck -p 1, checkpoints every 200 ms, exactly-once file sink"
submit seq run -d -p 1 "${GATE[@]}" -D "execution.checkpointing.interval=200 ms" \
    -D "state.checkpoints.dir=$TEST_DIR/ck" -D restart-strategy.type=fixed-delay \
    -D restart-strategy.fixed-delay.attempts=100 -D "restart-strategy.fixed-delay.delay=100 ms" \
    "$EX/seqcheck.so" --keys $KEYS --per-key $PER_KEY --output "$OUT"
J=$JOB_ID
wait_for "running_at 1" 30 || fail "not running at 1: $(rest GET "/jobs/$J")"
wait_completed "$J" 1 60

# cycle: TaskManagers added one by one up to 4, then killed one by one down to 1; the
# job follows each step. Sets TIMES (registered -> RUNNING at the higher parallelism, ms).
cycle() {
    local n t0 t1 ms reg reason c
    TIMES=()
    for n in 2 3 4; do
        t0=$(now_ms)
        tm_start
        wait_for "running_at $n" 60 || fail "not running at $n after TaskManager $n joined: $(rest GET "/jobs/$J")"
        t1=$(now_ms)
        ms=$((t1 - t0))
        reg=$(jm_log_ms "The cluster has $n slots now") ||
            fail "no 'the cluster has $n slots' in the JobManager's log"
        TIMES+=("$((t1 - reg))")
        reason=$(rest GET "/jobs/$J" | json_get last-rescale.reason)
        case "$reason" in
            "reactive mode: the cluster has $n slots") ;;
            *) fail "last-rescale.reason after TaskManager $n joined: '$reason'" ;;
        esac
        c=$(ck "$J" counts.completed)
        wait_completed "$J" $((c + 1)) 60
        note "TaskManager $n started: RUNNING at parallelism $n after $ms ms, $((t1 - reg)) ms after it registered"
    done

    for n in 3 2 1; do
        tm_kill
        wait_for "running_at $n" 60 || fail "not running at $n after a kill -9: $(rest GET "/jobs/$J")"
        ms=$(($(now_ms) - KILL_MS))
        c=$(ck "$J" counts.completed)
        wait_completed "$J" $((c + 1)) 60
        note "TaskManager $KILLED_PID killed: RUNNING at parallelism $n after $ms ms"
    done
}

cycle
step "open the gate: the job finishes; no gap and no repeat"
gate_open
wait_state "$J" FINISHED 120
seq_verify seq "$OUT" $KEYS $PER_KEY
[ "$SEQ_OK" = 1 ] || fail "$SEQ_RES"
note "$SEQ_RES; restored from checkpoints $(restored_ids "$J" | tr '\n' ' ')"
note "registered -> RUNNING at the higher parallelism (ms, 1->2, 2->3, 3->4; 300 ms of them the stabilization timeout, up to 100 ms polling): ${TIMES[*]}"

TEXT="$TEST_DIR/text.txt"
py "$REF/gen_text.py" --seed 16 --bytes $((2 << 20)) "$TEXT" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$TEXT" >"$TEST_DIR/text.counts" || fail "word_counts.py failed"
WC=1
WOUT="$TEST_DIR/wc.out"
gate_args 5000
gate_close
step "wordcount -p 1 under reactive mode, checkpoints every 200 ms, exactly-once file sink"
submit wc run -d -p 1 "${GATE[@]}" -D "execution.checkpointing.interval=200 ms" \
    -D "state.checkpoints.dir=$TEST_DIR/ck-wc" -D restart-strategy.type=fixed-delay \
    -D restart-strategy.fixed-delay.attempts=100 -D "restart-strategy.fixed-delay.delay=100 ms" \
    "$EX/wordcount.so" --input "$TEXT" --output "$WOUT"
J=$JOB_ID
wait_for "running_at 1" 30 || fail "wordcount: not running at 1: $(rest GET "/jobs/$J")"
wait_completed "$J" 1 60
cycle
step "open the gate: wordcount finishes; every word's counts 1..N exactly once"
gate_open
wait_state "$J" FINISHED 120
part_args wc "$WOUT"
[ "${#PARTS[@]}" -gt 0 ] || fail "wordcount: no committed part file in $WOUT"
for a in "${PARTS[@]}"; do cat -- "${a#*=}"; done | LC_ALL=C sort >"$TEST_DIR/wc.got"
py -c '
import sys
for line in open(sys.argv[1]):
    w, n = line.split()
    for i in range(1, int(n) + 1):
        print("%s,%d" % (w, i))' "$TEST_DIR/text.counts" | LC_ALL=C sort >"$TEST_DIR/wc.want"
cmp -s "$TEST_DIR/wc.got" "$TEST_DIR/wc.want" ||
    fail "wordcount: committed output differs from word_counts.py: $(wc -l <"$TEST_DIR/wc.got") lines vs $(wc -l <"$TEST_DIR/wc.want"), $(uniq -d "$TEST_DIR/wc.got" | wc -l) repeated, $(comm -13 "$TEST_DIR/wc.got" "$TEST_DIR/wc.want" | wc -l) missing, $(comm -23 "$TEST_DIR/wc.got" "$TEST_DIR/wc.want" | wc -l) unexpected"
note "$(wc -l <"$TEST_DIR/wc.got") lines, each word's counts 1..N once (${#PARTS[@]} part files); restored from checkpoints $(restored_ids "$J" | tr '\n' ' ')"
note "wordcount: registered -> RUNNING at the higher parallelism (ms): ${TIMES[*]}"
step "done"
