#!/usr/bin/env bash
# test_scale.sh -- issue 21 point 6: WordCount at parallelisms beyond every internal batch
# size, over several TaskManagers, with exact output (ref/word_counts.py's counts, checked
# by wc_check.c), each run bounded in time: a hang fails the test with the job's task
# counts and any stuck channel the TaskManagers reported.
#
#   * 2 TaskManagers x 11 slots, -p 22 (hung forever before: a partition-request scan served
#     at most 64 views at once);
#   * 2 x 32, -p 64 (failed for network buffers: early tasks' pools took all they could use);
#   * 20 x 10, -p 200, default memory: the keyed shuffle's gates are wide (190 remote
#     channels) and run on floating buffers only (read-buffer.required-per-gate.max); the
#     vertices' max parallelism is derived as Flink does (1.5 p rounded up to a power of
#     two, at least 128: 512 here; computed by this test, not read from Flint);
#   * the same with exclusive buffers forced (required-per-gate.max 100000): a buffer
#     shortage fails fast, with Flink's message naming the keys to raise.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

[ -f "$EX/wordcount.so" ] || fail "missing $EX/wordcount.so: run make first"
TEXT="$TEST_DIR/text.txt"
COUNTS="$TEST_DIR/text.counts"
py "$REF/gen_text.py" --seed 21 --bytes $((2 << 20)) "$TEXT" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$TEXT" >"$COUNTS" || fail "word_counts.py failed"

step "start a JobManager"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"

# cluster TMS SLOTS [-D k=v]...: exactly TMS TaskManagers of SLOTS slots each.
cluster() {
    local tms=$1 slots=$2 i
    shift 2
    FLINT_STOP_TIMEOUT=10 "$BIN/taskmanager.sh" stop-all >/dev/null 2>&1
    wait_for "overview_is 0 0" 20 || fail "TaskManagers still registered: $(overview_str)"
    for i in $(seq "$tms"); do
        "$BIN/taskmanager.sh" start -D "taskmanager.numberOfTaskSlots=$slots" "$@" >/dev/null ||
            fail "taskmanager.sh start ($i of $tms) failed"
    done
    wait_for "overview_is $tms $((tms * slots))" 60 ||
        fail "cluster not at $tms TaskManagers / $((tms * slots)) slots: $(overview_str)"
}

# The roundUpToPowerOfTwo(p + p/2) within 128..32768 of Flink, computed here.
expected_max_parallelism() {
    py -c '
import sys
p = int(sys.argv[1])
m = 1
while m < p + p // 2:
    m *= 2
print(min(max(m, 128), 32768))' "$1"
}

# What a hung job looks like: its vertices' task counts and the TaskManagers' stuck-channel
# reports.
hang_report() {
    local j=$1
    rest GET "/jobs/$j" | py -c '
import json, sys
d = json.load(sys.stdin)
for v in d["vertices"]:
    busy = {k: n for k, n in v["tasks"].items() if n}
    print("    vertex %s (%s): %s" % (v["id"], v["name"], busy))' 2>/dev/null
    grep -h 'channel stuck' "$FLINT_LOG_DIR"/*taskmanager*.log 2>/dev/null | head -n 20 |
        sed 's/^/    /'
}

# wc_scale NAME P [-D k=v]...: wordcount -p P, attached, within 120 s; exact output.
wc_scale() {
    local name=$1 p=$2 out rc t0 res j mp want
    shift 2
    out="$TEST_DIR/$name.out"
    t0=$(now_ms)
    timeout 120 "$FLINT" run -p "$p" "$@" "$EX/wordcount.so" --input "$TEXT" --output "$out" \
        >"$TEST_DIR/$name.stdout" 2>"$TEST_DIR/$name.stderr"
    rc=$?
    j=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' "$TEST_DIR/$name.stdout")
    if [ "$rc" = 124 ]; then
        echo "  $name: no end within 120 s; job $j:" >&2
        hang_report "$j" >&2
        fail "$name: wordcount -p $p hangs"
    fi
    [ "$rc" = 0 ] || fail "$name: wordcount -p $p exited $rc: $(cat "$TEST_DIR/$name.stdout" "$TEST_DIR/$name.stderr")"
    part_args r1 "$out"
    [ "${#PARTS[@]}" -gt 0 ] || fail "$name: no part files"
    res=$("$WC_CHECK" "$COUNTS" 1 exact "${PARTS[@]}" 2>&1) ||
        fail "$name: the output differs from the reference:
$res"
    mp=$(rest GET "/jobs/$j" | json_get vertices.1.maxParallelism)
    want=$(expected_max_parallelism "$p")
    assert_eq "$mp" "$want" "$name: the keyed vertex's max parallelism at -p $p"
    if grep -q 'channel stuck' "$FLINT_LOG_DIR"/*taskmanager*.log 2>/dev/null; then
        fail "$name: a TaskManager reported a stuck channel: $(grep -h 'channel stuck' "$FLINT_LOG_DIR"/*taskmanager*.log | head -n 3)"
    fi
    step "$name: -p $p FINISHED in $(($(now_ms) - t0)) ms, max parallelism $mp, ${#PARTS[@]} part files; $res"
    rm -rf -- "$out"
}

cluster 2 11
wc_scale 2x11 22
cluster 2 32
wc_scale 2x32 64
cluster 20 10
wc_scale 20x10 200

# ---------------------------------------------------------------------------------------
step "20 x 10, -p 200 with exclusive buffers forced: a buffer shortage fails fast"
cluster 20 10 -D taskmanager.network.memory.read-buffer.required-per-gate.max=100000
t0=$(now_ms)
timeout 120 "$FLINT" run -p 200 \
    "$EX/wordcount.so" --input "$TEXT" --output "$TEST_DIR/short.out" \
    >"$TEST_DIR/short.stdout" 2>"$TEST_DIR/short.stderr"
rc=$?
ms=$(($(now_ms) - t0))
err=$(cat "$TEST_DIR/short.stdout" "$TEST_DIR/short.stderr")
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "the buffer shortage: exit $rc after $ms ms: $err"
grep -q "Insufficient number of network buffers: required [0-9]*, but only [0-9]* available" <<<"$err" &&
    grep -q "taskmanager.memory.network.fraction" <<<"$err" ||
    fail "the buffer shortage without Flink's message: $err"
step "buffer shortage: failed after $ms ms: $(grep -o 'Insufficient number of network buffers: required [0-9]*, but only [0-9]* available' <<<"$err" | head -n 1)"
wait_for "[ \"\$(rest GET /overview | json_get slots-available)\" = 200 ]" 30 ||
    fail "slots not free after the failed job: $(overview_str)"
step "done"
