#!/usr/bin/env bash
# test_savepoints.sh -- issue 6 point 12 (and point 7's robustness): savepoints, rescaling,
# damaged checkpoint metadata, unwritable checkpoint storage; on a cluster of one JobManager
# and 2 TaskManagers of 2 slots each. Each check gets its verdict; the test fails at the end
# if any did.
#
#   * wordcount (hashmap) at -p 2 stopped with `flint stop --savepointPath` mid-run ("Savepoint
#     completed. Path: file:..."; FINISHED), resumed with `flint run -s` at -p 1 and, from the
#     same savepoint, at -p 4: the stopped run's committed part files followed by each resumed
#     run's hold, for every word, the counts 1..N exactly once and in order (key groups
#     redistributed, file splits continued); the stopped run leaves no pending part file
#     (its savepoint's files are committed, as Flink's stop-with-savepoint does).
#   * seqcheck (hashmap) at -p 2: `flint savepoint JOBID DIR` while it runs, then cancelled;
#     resumed at -p 4: no VIOLATION and every key's FINAL count is N, counted across the
#     savepoint. Resumed with --keys 63 instead of 64 (the checker's state no longer fits the
#     stream): VIOLATION lines, which shows the checker is not blind.
#   * seqcheck (rocksdb) at -p 2, savepoint, cancelled: resumed with hashmap, refused with a
#     message naming the rocksdb backend; resumed with rocksdb at -p 1: correct.
#   * `flint run -s` of a savepoint whose _metadata is truncated (7 bytes; half), has a bit
#     flipped, a wrong magic number, a wrong version, or is missing: the job fails at once with
#     a message naming the file and what is wrong; the seqcheck savepoint given to wordcount
#     is refused naming an operator it has no place for, and accepted with -n (wordcount then
#     starts from scratch: its output is the plain word count).
#   * wordcount (hashmap) at -p 3 with state.checkpoints.num-retained 2: with the JobManager
#     paused (SIGSTOP) and no checkpoint in flight, the latest checkpoint's _metadata gets a
#     damaged byte and a TaskManager is killed; the job refuses that checkpoint ("Refusing
#     checkpoint N"), restores from the previous retained one, finishes, and its committed
#     output is still exactly-once; a part file an earlier run left in the output
#     directory (numbered above this run's, older than its checkpoints) is not touched.
#   * seqcheck with execution.checkpointing.tolerable-failed-checkpoints 2 and restart
#     strategy none: its checkpoint directory becomes unwritable (chmod 555; as root, which
#     chmod does not stop, chattr +i): checkpoints fail and are counted (counts.failed on
#     /jobs/:id/checkpoints) while the job keeps running, until the third failure fails the
#     job with "Exceeded checkpoint tolerable failure threshold".
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
for so in wordcount seqcheck; do
    [ -f "$EX/$so.so" ] || fail "missing $EX/$so.so: run make first"
done

CKDIR="$TEST_DIR/checkpoints"
SPDIR="$TEST_DIR/savepoints"
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$CKDIR"
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=5
    -D "restart-strategy.fixed-delay.delay=200 ms")
KEYS=64
PER_KEY=16000

step "start a JobManager and 2 TaskManagers (2 slots each); generate the text"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
for _ in 1 2; do tm_start; done
BASE="$TEST_DIR/base.txt"
BIG="$TEST_DIR/big.txt"
COPIES=4
COUNTS="$TEST_DIR/base.counts"
py "$REF/gen_text.py" --seed 9 --bytes $((4 << 20)) "$BASE" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$BASE" >"$COUNTS" || fail "word_counts.py failed"
for _ in $(seq $COPIES); do cat -- "$BASE"; done >"$BIG"
wait_for "overview_is 2 4" 5 || fail "cluster not at 2 TaskManagers / 4 slots: $(overview_str)"

# savepoint_path NAME: the path `flint savepoint`/`flint stop` printed (without file:).
savepoint_path() {
    sed -n 's/^Savepoint completed\. Path: file:\(.*\)$/\1/p' "$TEST_DIR/$1.stdout"
}

# run_attached NAME ARGS...: `flint ARGS`, waiting; sets RUN_RC and JOB_ID.
RUN_RC=0
run_attached() {
    local name=$1
    shift
    timeout 120 "$FLINT" "$@" >"$TEST_DIR/$name.stdout" 2>"$TEST_DIR/$name.stderr"
    RUN_RC=$?
    JOB_ID=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' \
        "$TEST_DIR/$name.stdout")
}

all_slots_free() {
    [ "$(rest GET /overview | json_get slots-available)" = 4 ]
}

# ---------------------------------------------------------------------------------------
step "wordcount -p 2, flint stop --savepointPath mid-run"
# every job a fault or a savepoint hits holds its sources on the gate (checkpoint_lib.sh)
# until then: it cannot have finished, however fast the machine
gate_args 20000
gate_close
submit wc-stop run -d -p 2 "${CKPT[@]}" "${GATE[@]}" "$EX/wordcount.so" --input "$BIG" --output "$TEST_DIR/wc1"
J=$JOB_ID
wait_completed "$J" 2 30
"$FLINT" stop --savepointPath "$SPDIR" "$J" >"$TEST_DIR/wc-sp.stdout" 2>"$TEST_DIR/wc-sp.stderr" ||
    fail "flint stop failed: $(cat "$TEST_DIR/wc-sp.stdout" "$TEST_DIR/wc-sp.stderr")"
SP_WC=$(savepoint_path wc-sp)
[ -n "$SP_WC" ] && [ -f "$SP_WC/_metadata" ] ||
    fail "flint stop: no 'Savepoint completed. Path: file:DIR' with DIR/_metadata: $(cat "$TEST_DIR/wc-sp.stdout")"
wait_state "$J" FINISHED 10
gate_open
wait_for all_slots_free 10 || fail "slots not free after flint stop: $(overview_str)"
pending=$(hidden_files "$TEST_DIR/wc1" | grep -c .)
part_args r1 "$TEST_DIR/wc1"
step "stopped (FINISHED) with savepoint $SP_WC; ${#PARTS[@]} committed part files, hidden: $(hidden_files "$TEST_DIR/wc1" | tr '\n' ' ')"
[ "$pending" = 0 ] || soft_fail "flint stop: the stopped job's savepoint files are not committed: $pending hidden (pre-committed, pending) part files left in its output (Flink's stop-with-savepoint commits them before the job ends); they get committed only when a job is resumed from the savepoint"
for p in 1 4; do
    run_attached "wc-resume-$p" run -s "$SP_WC" -p "$p" "${CKPT[@]}" "$EX/wordcount.so" \
        --input "$BIG" --output "$TEST_DIR/wc2-$p"
    [ "$RUN_RC" = 0 ] || fail "wordcount resumed at -p $p: exit $RUN_RC: $(cat "$TEST_DIR/wc-resume-$p.stdout" "$TEST_DIR/wc-resume-$p.stderr")"
    assert_eq "$(ck "$JOB_ID" latest.restored.is_savepoint)" True "wordcount resumed at -p $p: latest.restored.is_savepoint"
    part_args r1 "$TEST_DIR/wc1"
    r1=("${PARTS[@]}")
    part_args r2 "$TEST_DIR/wc2-$p"
    if res=$("$WC_CHECK" "$COUNTS" $COPIES exact "${r1[@]}" "${PARTS[@]}" 2>&1); then
        step "resumed at -p $p: the stopped run's output then the resumed run's: $res"
    else
        soft_fail "wordcount stopped at -p 2, resumed at -p $p: the output differs from the reference:
$res"
    fi
    rm -rf -- "$TEST_DIR/wc2-$p"
done
rm -rf -- "$TEST_DIR/wc1"

# ---------------------------------------------------------------------------------------
# seq_savepoint NAME BACKEND: seqcheck at -p 2, a savepoint while it runs, then cancelled.
# The savepoint's path in SP.
SP=
seq_savepoint() {
    local name=$1 backend=$2 j
    gate_close
    submit "$name" run -d -p 2 "${CKPT[@]}" "${GATE[@]}" -D "state.backend.type=$backend" \
        "$EX/seqcheck.so" --keys $KEYS --per-key $PER_KEY --rate 250000 --output "$TEST_DIR/$name"
    j=$JOB_ID
    wait_completed "$j" 3 30
    "$FLINT" savepoint "$j" "$SPDIR" >"$TEST_DIR/$name-sp.stdout" 2>"$TEST_DIR/$name-sp.stderr" ||
        fail "$name: flint savepoint failed: $(cat "$TEST_DIR/$name-sp.stdout" "$TEST_DIR/$name-sp.stderr")"
    SP=$(savepoint_path "$name-sp")
    [ -n "$SP" ] && [ -f "$SP/_metadata" ] ||
        fail "$name: flint savepoint: no 'Savepoint completed. Path: file:DIR' with DIR/_metadata: $(cat "$TEST_DIR/$name-sp.stdout")"
    assert_eq "$(job_state "$j")" RUNNING "$name: state after flint savepoint"
    assert_eq "$(ck "$j" latest.savepoint.external_path)" "file:$SP" "$name: latest.savepoint.external_path"
    "$FLINT" cancel "$j" >/dev/null 2>&1 || fail "$name: flint cancel failed"
    wait_state "$j" CANCELED 10
    gate_open
    wait_for all_slots_free 10 || fail "slots not free after cancelling $name: $(overview_str)"
    step "$name: savepoint $SP taken while RUNNING, job cancelled"
}

# seq_resume NAME SAVEPOINT P BACKEND [KEYS]: resumes seqcheck, waits for its end.
seq_resume() {
    local name=$1 sp=$2 p=$3 backend=$4 keys=${5:-$KEYS}
    run_attached "$name" run -s "$sp" -p "$p" "${CKPT[@]}" -D "state.backend.type=$backend" \
        "$EX/seqcheck.so" --keys "$keys" --per-key $PER_KEY --output "$TEST_DIR/$name"
}

seq_savepoint seq-hashmap hashmap
SP_SEQ=$SP
seq_resume seq-hashmap-p4 "$SP_SEQ" 4 hashmap
if [ "$RUN_RC" != 0 ]; then
    soft_fail "seqcheck resumed at -p 4: exit $RUN_RC: $(tail -n 3 "$TEST_DIR/seq-hashmap-p4.stderr")"
else
    seq_verify seq-hashmap-p4 "$TEST_DIR/seq-hashmap-p4" $KEYS $PER_KEY
    if [ "$SEQ_OK" = 1 ]; then
        step "seqcheck -p 2 savepoint, resumed at -p 4: $SEQ_RES"
    else
        soft_fail "seqcheck -p 2 savepoint, resumed at -p 4: $SEQ_RES"
    fi
fi
seq_resume seq-wrong-keys "$SP_SEQ" 4 hashmap 63
if [ "$RUN_RC" = 0 ]; then
    seq_verify seq-wrong-keys "$TEST_DIR/seq-wrong-keys" 63 $PER_KEY
    nviol=$(head -n 1 <<<"$SEQ_RES" | sed -n 's/.* \([0-9]*\) VIOLATION lines.*/\1/p')
    [ "$SEQ_OK" = 0 ] && [ "${nviol:-0}" -gt 0 ] ||
        fail "seqcheck resumed with --keys 63: expected VIOLATION lines, got: $SEQ_RES"
    step "negative control, resumed with --keys 63: $(head -n 1 <<<"$SEQ_RES")"
else
    fail "seqcheck resumed with --keys 63: exit $RUN_RC: $(tail -n 3 "$TEST_DIR/seq-wrong-keys.stderr")"
fi

seq_savepoint seq-rocksdb rocksdb
SP_RDB=$SP
run_attached seq-rocksdb-to-hashmap run -s "$SP_RDB" -p 2 -D "state.backend.type=hashmap" \
    "$EX/seqcheck.so" --keys $KEYS --per-key $PER_KEY --output "$TEST_DIR/seq-rocksdb-to-hashmap"
err=$(cat "$TEST_DIR/seq-rocksdb-to-hashmap.stderr")
if [ "$RUN_RC" = 0 ]; then
    seq_verify seq-rocksdb-to-hashmap "$TEST_DIR/seq-rocksdb-to-hashmap" $KEYS $PER_KEY
    if [ "$SEQ_OK" = 1 ]; then
        note "a rocksdb savepoint restores with hashmap (supported): $SEQ_RES"
    else
        soft_fail "a rocksdb savepoint restored with hashmap runs but is wrong: $SEQ_RES"
    fi
else
    if grep -qi rocksdb <<<"$err" && grep -qi hashmap <<<"$err"; then
        step "a rocksdb savepoint resumed with hashmap: refused: $(grep -m 1 'Caused by' <<<"$err")"
    else
        soft_fail "a rocksdb savepoint resumed with hashmap: refused without naming the backends: $err"
    fi
    assert_eq "$(job_state "$JOB_ID")" FAILED "the rocksdb savepoint resumed with hashmap: job state"
fi
seq_resume seq-rocksdb-p1 "$SP_RDB" 1 rocksdb
if [ "$RUN_RC" != 0 ]; then
    soft_fail "seqcheck (rocksdb) resumed at -p 1: exit $RUN_RC: $(tail -n 3 "$TEST_DIR/seq-rocksdb-p1.stderr")"
else
    seq_verify seq-rocksdb-p1 "$TEST_DIR/seq-rocksdb-p1" $KEYS $PER_KEY
    if [ "$SEQ_OK" = 1 ]; then
        step "seqcheck (rocksdb) -p 2 savepoint, resumed at -p 1: $SEQ_RES"
    else
        soft_fail "seqcheck (rocksdb) -p 2 savepoint, resumed at -p 1: $SEQ_RES"
    fi
fi
wait_for all_slots_free 10 || fail "slots not free after the resumed jobs: $(overview_str)"

# ---------------------------------------------------------------------------------------
step "flint run -s with damaged savepoints"
BAD="$TEST_DIR/bad"
mkdir -p "$BAD"
M=$(stat -c %s "$SP_SEQ/_metadata")
for c in trunc7 trunchalf flip magic version missing; do cp -r -- "$SP_SEQ" "$BAD/$c"; done
truncate -s 7 "$BAD/trunc7/_metadata"
truncate -s $((M / 2)) "$BAD/trunchalf/_metadata"
# a bit of a byte in the middle of the payload, the magic number, the version field
py - "$BAD/flip/_metadata" $((M / 2)) "$BAD/magic/_metadata" "$BAD/version/_metadata" <<'EOF'
import sys
def patch(path, off, fn):
    b = bytearray(open(path, "rb").read())
    b[off] = fn(b[off])
    open(path, "wb").write(bytes(b))
patch(sys.argv[1], int(sys.argv[2]), lambda x: x ^ 0x10)
for i in range(4):
    patch(sys.argv[3], i, lambda x: ord("X"))
patch(sys.argv[4], 4, lambda x: x + 7)
EOF
rm -f -- "$BAD/missing/_metadata"
for c in "trunc7:truncated" "trunchalf:damaged" "flip:damaged" "magic:not a Flint checkpoint" \
    "version:version" "missing:No such file"; do
    what=${c%%:*}
    needle=${c#*:}
    run_attached "bad-$what" run -s "$BAD/$what" -p 2 "$EX/seqcheck.so" --output "$TEST_DIR/bad-out"
    err=$(cat "$TEST_DIR/bad-$what.stderr")
    if [ "$RUN_RC" = 0 ]; then
        soft_fail "flint run -s of a savepoint with $what _metadata: the job ran (exit 0)"
    elif ! grep -q "$BAD/$what/_metadata" <<<"$err" || ! grep -qi "$needle" <<<"$err"; then
        soft_fail "flint run -s of a savepoint with $what _metadata: exit $RUN_RC, the message does not name the file and '$needle': $err"
    else
        echo "    $what: $(grep -m 1 'Caused by' <<<"$err")"
    fi
    [ -z "$JOB_ID" ] || assert_eq "$(job_state "$JOB_ID")" FAILED "the job with a $what savepoint"
done
[ -e "$TEST_DIR/bad-out" ] && [ -n "$(ls -A "$TEST_DIR/bad-out")" ] &&
    soft_fail "jobs from damaged savepoints wrote output: $(ls -A "$TEST_DIR/bad-out")"
run_attached seq-to-wordcount run -s "$SP_SEQ" -p 2 "$EX/wordcount.so" --input "$BASE" \
    --output "$TEST_DIR/wc-from-seq"
err=$(cat "$TEST_DIR/seq-to-wordcount.stderr")
if [ "$RUN_RC" != 0 ] && grep -q "holds state of operator '[a-z]*' (uid seqcheck-" <<<"$err"; then
    echo "    seqcheck's savepoint given to wordcount: $(grep -m 1 'Caused by' <<<"$err")"
else
    soft_fail "seqcheck's savepoint given to wordcount: expected a refusal naming one of seqcheck's operators, got exit $RUN_RC: $err"
fi
run_attached seq-to-wordcount-n run -s "$SP_SEQ" -n -p 2 "$EX/wordcount.so" --input "$BASE" \
    --output "$TEST_DIR/wc-from-seq-n"
if [ "$RUN_RC" = 0 ]; then
    part_args r1 "$TEST_DIR/wc-from-seq-n"
    if res=$("$WC_CHECK" "$COUNTS" 1 exact "${PARTS[@]}" 2>&1); then
        echo "    with -n (allowNonRestoredState): runs; $res"
    else
        soft_fail "seqcheck's savepoint given to wordcount with -n: the job ran but its output is not the word count of its input (is the file source's restore given no state of its own?): $(head -n 3 <<<"$res")"
    fi
else
    soft_fail "seqcheck's savepoint given to wordcount with -n: exit $RUN_RC: $(cat "$TEST_DIR/seq-to-wordcount-n.stderr")"
fi
wait_for all_slots_free 10 || fail "slots not free after the damaged savepoints: $(overview_str)"

# ---------------------------------------------------------------------------------------
step "wordcount -p 3, num-retained 2: damage the latest checkpoint's _metadata, kill a TaskManager"
# an earlier run's part file: the rollback after the fallback must leave it alone
mkdir -p "$TEST_DIR/wc-damaged"
OLD_PART="$TEST_DIR/wc-damaged/part-0123456789abcdef0123456789abcdef-1-7" # another job's name
echo "earlier-run,1" >"$OLD_PART"
touch -d '1 hour ago' "$OLD_PART"
gate_close
submit wc-damaged run -d -p 3 "${CKPT[@]}" "${GATE[@]}" -D state.checkpoints.num-retained=2 \
    "$EX/wordcount.so" --input "$BIG" --output "$TEST_DIR/wc-damaged"
J=$JOB_ID
wait_completed "$J" 3 30
JM=$(pids_of jobmanager | head -n 1)
latest=0
for _ in $(seq 20); do
    kill -STOP "$JM"
    # paused, the JobManager completes nothing: the newest chk-N with a _metadata is the
    # latest completed checkpoint, a chk-N without one is in flight (try again)
    latest=0
    inflight=0
    for d in "$CKDIR/$J"/chk-*; do
        n=${d##*chk-}
        if [ -f "$d/_metadata" ]; then
            [ "$n" -gt "$latest" ] && latest=$n
        else
            inflight=1
        fi
    done
    [ "$inflight" = 0 ] && [ "$latest" -gt 0 ] && break
    kill -CONT "$JM"
    sleep 0.03
done
[ "$inflight" = 0 ] || { kill -CONT "$JM"; fail "a checkpoint was in flight at every one of 20 pauses"; }
retained=$(cd "$CKDIR/$J" && echo chk-*)
py - "$CKDIR/$J/chk-$latest/_metadata" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x01
open(sys.argv[1], "wb").write(bytes(b))
EOF
tm_kill
kill -CONT "$JM"
tm_start
wait_restored "$J" 1 30
gate_open
wait_state "$J" FINISHED 60
log=$(grep "$J" "$(jm_log)")
ids=$(restored_ids "$J")
grep -q "Refusing checkpoint $latest of job $J: .*damaged" <<<"$log" ||
    soft_fail "the damaged checkpoint $latest was not refused: $(grep -E 'Refusing|restores' <<<"$log")"
assert_eq "$(wc -w <<<"$ids")" 1 "wordcount with a damaged checkpoint: restores ($ids)"
[ "$ids" -lt "$latest" ] ||
    soft_fail "wordcount with damaged checkpoint $latest (retained: $retained) restored from checkpoint $ids"
step "retained $retained; damaged chk-$latest/_metadata; refused, restored from checkpoint $ids"
if [ "$(cat "$OLD_PART" 2>/dev/null)" = "earlier-run,1" ]; then
    rm -f -- "$OLD_PART"
else
    soft_fail "the rollback after the fallback to checkpoint $ids deleted or changed an earlier run's part file ($OLD_PART)"
fi
part_args r1 "$TEST_DIR/wc-damaged"
if res=$("$WC_CHECK" "$COUNTS" $COPIES exact "${PARTS[@]}" 2>&1); then
    step "wordcount after the fallback to checkpoint $ids: $res"
else
    soft_fail "wordcount restored from the previous checkpoint $ids (the latest, $latest, damaged) is not exactly-once: the part files checkpoint $latest committed are replayed:
$(head -n 4 <<<"$res")"
fi
rm -rf -- "$TEST_DIR/wc-damaged"
wait_for "overview_is 2 4" 10 || fail "not back at 2 TaskManagers / 4 slots: $(overview_str)"

# ---------------------------------------------------------------------------------------
step "seqcheck with tolerable-failed-checkpoints 2: the checkpoint directory becomes unwritable"
# checkpoints every second: the failures come one second apart, time to see the job RUNNING
# with failed checkpoints counted
gate_close
submit seq-unwritable run -d -p 2 "${GATE[@]}" -D "execution.checkpointing.interval=1 s" \
    -D "state.checkpoints.dir=$CKDIR" -D execution.checkpointing.tolerable-failed-checkpoints=2 \
    -D restart-strategy.type=none "$EX/seqcheck.so" --keys $KEYS --per-key 100000 \
    --rate 100000 --output "$TEST_DIR/seq-unwritable"
J=$JOB_ID
wait_completed "$J" 2 30
LOCKED="$CKDIR/$J"
if [ "$(id -u)" = 0 ]; then
    chattr +i "$LOCKED" || fail "chattr +i $LOCKED failed (needed as root: chmod does not stop root)"
    how="chattr +i"
    trap 'rc=$?; chattr -i "$LOCKED" 2>/dev/null; (exit $rc); cleanup' EXIT
else
    chmod 555 "$LOCKED"
    how="chmod 555"
fi
t0=$(now_ms)
c0=$(ck "$J" counts.completed)
t_total=$(ck "$J" counts.total)
failed_seen=0
running_with_failures=0
while [ $(($(now_ms) - t0)) -lt 8000 ]; do
    s=$(job_state "$J")
    f=$(ck "$J" counts.failed) || f=0
    [ "$f" -gt "$failed_seen" ] && failed_seen=$f
    [ "$s" = RUNNING ] && [ "$f" -ge 1 ] && running_with_failures=1
    is_terminal "$s" && break
    sleep 0.1
done
s=$(job_state "$J")
summary="after $(($(now_ms) - t0)) ms: state $s, counts $(ck "$J" counts)"
if [ "$(id -u)" = 0 ]; then chattr -i "$LOCKED"; else chmod 755 "$LOCKED"; fi
trap cleanup EXIT
gate_open
if [ "$s" = FAILED ] && [ "$running_with_failures" = 1 ] &&
    grep -q "Exceeded checkpoint tolerable failure threshold" <<<"$(rest GET "/jobs/$J/exceptions")"; then
    step "$how on the checkpoint directory: failed checkpoints counted while RUNNING, then the job FAILED: $(rest GET "/jobs/$J/exceptions" | json_get root-exception | head -c 160)"
else
    soft_fail "unwritable checkpoint directory ($how $LOCKED after $c0 completed of $t_total triggered): expected failed checkpoints to be counted while the job runs, then the job to fail with 'Exceeded checkpoint tolerable failure threshold'; $summary"
    is_terminal "$s" || "$FLINT" cancel "$J" >/dev/null 2>&1
fi
finish
