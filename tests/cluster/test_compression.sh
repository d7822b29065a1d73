#!/usr/bin/env bash
# test_compression.sh -- issue 22 point 4: execution.checkpointing.snapshot-compression
# (hashmap backend, LZ4 per key group) in a cluster: JobManager and two TaskManagers of two
# slots, WordCount into the file sink, its sources held on the gate file.
#   1. -p 2, compression on, checkpoints every 200 ms: the checkpoint's keyed-state files
#      are compressed (header read here: "FLKH", version 2, flag 1); a TaskManager killed
#      with -9 after two completed checkpoints; the job restores from a compressed one;
#   2. stopped with a savepoint (compressed) -> resumed from it at -p 3 with compression
#      OFF (a compressed snapshot restored without the flag, at another parallelism),
#      sources throttled to 1 record/s so the state stays as it was; stopped with a second
#      savepoint, uncompressed (version 1): the sizes of the two savepoints' keyed state,
#      the same WordCount counts, are the compression ratio (printed);
#   3. resumed from the uncompressed savepoint at -p 1 with compression ON, the gate open:
#      the job finishes; the three runs' committed output together is exactly once
#      (wc_check against ref/word_counts.py).
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

[ -f "$EX/wordcount.so" ] || fail "missing $EX/wordcount.so: run make first"
conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
tm_start
TEXT="$TEST_DIR/text.txt"
COUNTS="$TEST_DIR/text.counts"
py "$REF/gen_text.py" --seed 24 --bytes $((2 << 20)) "$TEXT" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$TEXT" >"$COUNTS" || fail "word_counts.py failed"
wait_for "overview_is 2 4" 15 || fail "cluster not at 2 TaskManagers / 4 slots: $(overview_str)"

ON=(-D execution.checkpointing.snapshot-compression=true)
OFF=(-D execution.checkpointing.snapshot-compression=false)
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$TEST_DIR/ck"
    -D state.checkpoints.num-retained=2 -D restart-strategy.type=fixed-delay
    -D restart-strategy.fixed-delay.attempts=5 -D "restart-strategy.fixed-delay.delay=200 ms")

# keyed_files DIR: the keyed-state files of a checkpoint or savepoint directory
keyed_files() {
    find "$1" -name '*.keyed' -type f | sort
}
# headers DIR: "version/flags" of each keyed-state file, read here (not through Flint)
headers() {
    keyed_files "$1" | py -c '
import struct, sys
for path in sys.stdin.read().split():
    try:
        with open(path, "rb") as f:
            h = f.read(12)
    except FileNotFoundError:  # a checkpoint subsumed while it was read
        print("gone")
        continue
    if h[:4] != b"FLKH":
        print("not-FLKH")
        continue
    version = struct.unpack("<I", h[4:8])[0]
    print("%d/%d" % (version, struct.unpack("<I", h[8:12])[0] if version == 2 else 0))
' | sort -u | tr '\n' ' ' | sed 's/ $//'
}
keyed_bytes() {
    keyed_files "$1" | xargs -r stat -c %s | awk '{s += $1} END {print s + 0}'
}

step "1. WordCount -p 2, compression on, checkpoints every 200 ms; a TaskManager killed with -9"
gate_args 4000
gate_close
submit wc1 run -d -p 2 "${GATE[@]}" "${CKPT[@]}" "${ON[@]}" "$EX/wordcount.so" \
    --input "$TEXT" --output "$TEST_DIR/wc1"
J1=$JOB_ID
wait_completed "$J1" 2 30
# the newest completed checkpoint; the next one subsumes (deletes) it within 200 ms or so, so
# one read while it was being deleted is done again on the newest then
for _ in $(seq 50); do
    chk="$TEST_DIR/ck/$J1/chk-$(ck "$J1" latest.completed.id)"
    h=$(headers "$chk" 2>/dev/null)
    [ -n "$h" ] && [ "${h#*gone}" = "$h" ] && break
done
assert_eq "$h" "2/1" "keyed-state files of $chk (version/flags)"
tm_kill
tm_start
wait_restored "$J1" 1 30
ids=$(restored_ids "$J1")
[ -n "$ids" ] && [ "${ids%% *}" -ge 2 ] || fail "restored from checkpoint(s) '$ids', expected one >= 2"
wait_completed "$J1" $(($(ck "$J1" counts.completed) + 2)) 30
step "1. restored from compressed checkpoint $ids after kill -9 of TaskManager $KILLED_PID; checkpoints go on"

# stop J SPDIR NAME: flint stop with a savepoint into SPDIR; SP is its path
stop_sp() {
    "$FLINT" stop --savepointPath "$2" "$1" >"$TEST_DIR/$3.stdout" 2>"$TEST_DIR/$3.stderr" ||
        fail "flint stop $1 failed: $(cat "$TEST_DIR/$3.stdout" "$TEST_DIR/$3.stderr")"
    SP=$(sed -n 's/^Savepoint completed\. Path: file:\(.*\)$/\1/p' "$TEST_DIR/$3.stdout")
    [ -d "$SP" ] || fail "flint stop: no savepoint directory: $(cat "$TEST_DIR/$3.stdout")"
    wait_state "$1" FINISHED 20
}

stop_sp "$J1" "$TEST_DIR/sp1" stop1
SP1=$SP
assert_eq "$(headers "$SP1")" "2/1" "keyed-state files of the savepoint $SP1"
ON_BYTES=$(keyed_bytes "$SP1")
wait_for "overview_is 2 4" 15 || fail "slots not free after flint stop: $(overview_str)"

step "2. resumed from the compressed savepoint at -p 3 with compression off, 1 record/s"
gate_args 1
submit wc2 run -d -s "$SP1" -p 3 "${GATE[@]}" "${CKPT[@]}" "${OFF[@]}" "$EX/wordcount.so" \
    --input "$TEXT" --output "$TEST_DIR/wc2"
J2=$JOB_ID
wait_completed "$J2" 1 30
assert_eq "$(ck "$J2" latest.restored.is_savepoint)" True "resumed: latest.restored.is_savepoint"
stop_sp "$J2" "$TEST_DIR/sp2" stop2
SP2=$SP
assert_eq "$(headers "$SP2")" "1/0" "keyed-state files of the savepoint $SP2 (compression off)"
OFF_BYTES=$(keyed_bytes "$SP2")
RATIO=$(py -c "import sys; print('%.2f' % (int(sys.argv[1]) / int(sys.argv[2])))" "$OFF_BYTES" "$ON_BYTES")
# word counts are short keys, 8-byte counts and a 4-byte hash per entry: about 1.5 (a run
# gave 1.47); less than 1.25 means the sections were not compressed as they should be
py -c "import sys; sys.exit(0 if int(sys.argv[1]) * 1.25 < int(sys.argv[2]) else 1)" "$ON_BYTES" "$OFF_BYTES" ||
    fail "compressed keyed state $ON_BYTES bytes vs uncompressed $OFF_BYTES: not smaller by a fifth"
step "2. WordCount keyed state: $OFF_BYTES bytes uncompressed (-p 3), $ON_BYTES compressed (-p 2): ratio $RATIO"
wait_for "overview_is 2 4" 15 || fail "slots not free after flint stop: $(overview_str)"

step "3. resumed from the uncompressed savepoint at -p 1 with compression on, to the end"
gate_open
timeout 120 "$FLINT" run -s "$SP2" -p 1 "${CKPT[@]}" "${ON[@]}" "$EX/wordcount.so" \
    --input "$TEXT" --output "$TEST_DIR/wc3" >"$TEST_DIR/wc3.stdout" 2>"$TEST_DIR/wc3.stderr" ||
    fail "flint run -s $SP2 failed: $(cat "$TEST_DIR/wc3.stdout" "$TEST_DIR/wc3.stderr")"
J3=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' "$TEST_DIR/wc3.stdout")
assert_eq "$(job_state "$J3")" FINISHED "the last run"
all=()
for r in 1 2 3; do
    part_args "r$r" "$TEST_DIR/wc$r"
    all+=("${PARTS[@]}")
done
res=$("$WC_CHECK" "$COUNTS" 1 exact "${all[@]}" 2>&1) ||
    fail "the three runs' output differs from the reference:
$res"
step "3. FINISHED; the three runs (-p 2 compressed with a kill -9, -p 3 plain, -p 1 compressed): $res"
echo "  snapshot compression ratio on the WordCount state: $RATIO ($OFF_BYTES / $ON_BYTES bytes)"
step "done"
