#!/usr/bin/env bash
# test_unaligned.sh -- issue 6 point 11 (unaligned checkpoints): checkpoints complete under
# backpressure and a restore from one is exactly-once. One JobManager and 2 TaskManagers of
# 2 slots, with more network buffers than the defaults (32 per channel, 64 floating per
# gate) so that much data is in flight, as on a real backpressured job.
#
# The job: seqcheck (examples/seqcheck.c) at -p 2 with --emit-all (every record reaches the
# file sink as "key,seq") and --sink-delay-us 20 (a throttled sink): the unthrottled source
# is backpressured (its vertex's accumulated-backpressured-time on /jobs/:id grows).
#   * aligned (the default), for reference: the duration of its first checkpoint, whose
#     barrier queues behind the in-flight data; then cancelled.
#   * execution.checkpointing.unaligned.enabled=true: checkpoints complete while the source
#     is backpressured (counts.completed grows), carry the overtaken in-flight data (their
#     state is larger than the aligned one's) and take at most 2/3 as long as the aligned
#     one; that checkpoint's details (GET .../checkpoints/details/:id and its subtasks) show
#     the in-flight data as persisted_data, equal to what its subtasks say they persisted,
#     each of those unaligned; after a checkpoint with in-flight data completed, a TaskManager is killed and a
#     new one started; the job restores (the in-flight data replayed), finishes, and the
#     committed output holds every (key, seq) exactly once, no VIOLATION, and each key's
#     FINAL count is N.
# Both jobs hold their source on the gate file (checkpoint_lib.sh) until the fault is in:
# neither can finish before, however fast the machine.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
conf_set taskmanager.network.memory.buffers-per-channel 32
conf_set taskmanager.network.memory.floating-buffers-per-gate 64
[ -f "$EX/seqcheck.so" ] || fail "missing $EX/seqcheck.so: run make first"

CKDIR="$TEST_DIR/checkpoints"
KEYS=16
PER_KEY=12000
JOB=("$EX/seqcheck.so" --keys "$KEYS" --per-key "$PER_KEY" --emit-all --sink-delay-us 20)
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$CKDIR"
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=3
    -D "restart-strategy.fixed-delay.delay=200 ms")

step "start a JobManager and 2 TaskManagers (2 slots each, 32 buffers per channel, 64 floating)"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
for _ in 1 2; do tm_start; done
wait_for "overview_is 2 4" 5 || fail "cluster not at 2 TaskManagers / 4 slots: $(overview_str)"

# The source vertex's accumulated-backpressured-time, in ms.
source_bp_ms() {
    rest GET "/jobs/$1" | json_get vertices.0.metrics.accumulated-backpressured-time
}

# durations J: "id:duration_ms:state_size" of the job's completed checkpoints, oldest first.
durations() {
    rest GET "/jobs/$1/checkpoints" | py -c '
import json, sys
h = json.load(sys.stdin)["history"]
print(" ".join("%d:%d:%d" % (c["id"], c["end_to_end_duration"], c["state_size"])
               for c in reversed(h) if c["status"] == "COMPLETED"))'
}

# ---------------------------------------------------------------------------------------
gate_args 0
step "aligned: the first checkpoint under backpressure"
gate_close
submit aligned run -d -p 2 "${CKPT[@]}" "${GATE[@]}" "${JOB[@]}" --output "$TEST_DIR/aligned"
J=$JOB_ID
t0=$(now_ms)
wait_completed "$J" 1 30
ALIGNED=$(durations "$J" | cut -d' ' -f1)
A_MS=$(cut -d: -f2 <<<"$ALIGNED")
A_SIZE=$(cut -d: -f3 <<<"$ALIGNED")
bp=$(source_bp_ms "$J")
"$FLINT" cancel "$J" >/dev/null 2>&1 || fail "flint cancel $J failed"
wait_state "$J" CANCELED 10
step "aligned checkpoint 1: $A_MS ms, $A_SIZE bytes; the source backpressured $bp ms of the $(($(now_ms) - t0)) ms"

# ---------------------------------------------------------------------------------------
step "unaligned: checkpoints under backpressure, then a TaskManager killed"
wait_for "[ \"\$(rest GET /overview | json_get slots-available)\" = 4 ]" 10 || fail "slots not free: $(overview_str)"
OUT="$TEST_DIR/unaligned"
submit unaligned run -d -p 2 "${CKPT[@]}" "${GATE[@]}" -D execution.checkpointing.unaligned.enabled=true \
    "${JOB[@]}" --output "$OUT"
J=$JOB_ID
t0=$(now_ms)
assert_eq "$(rest GET "/jobs/$J/checkpoints/config" | json_get unaligned_checkpoints)" True \
    "/jobs/$J/checkpoints/config unaligned_checkpoints"
# under backpressure: the throttled sink holds the source back (its accumulated backpressured
# time reaches half a second) before the checkpoints are looked at -- they complete in ~100 ms now,
# less than the job takes to fill its buffers
wait_for "[ \"\$(source_bp_ms $J)\" -ge 500 ]" 30 ||
    soft_fail "unaligned: the source was not backpressured for half a second within 30 s: the sink throttle did not hold it back"
# a checkpoint with in-flight data (larger than the aligned state) completed, and at least two
with_channel_state() {
    local d last
    completed_at_least "$J" 2 || return 1
    d=$(durations "$J")
    last=${d##* }
    [ "$(cut -d: -f3 <<<"$last")" -gt "$A_SIZE" ]
}
wait_for with_channel_state 30 ||
    fail "unaligned: no checkpoint carrying in-flight data (state above the aligned $A_SIZE bytes) within 30 s: $(durations "$J")"
UNALIGNED=$(durations "$J")
# that checkpoint's details (issue 12): it stored in-flight data (its tasks' persisted_data),
# as much as its subtasks say they persisted, each of those unaligned
CKU=${UNALIGNED##* }
CKU=${CKU%%:*}
rest GET "/jobs/$J/checkpoints/details/$CKU" >"$TEST_DIR/ck-details.json"
for v in 0 1; do
    rest GET "/jobs/$J/checkpoints/details/$CKU/subtasks/$v" >"$TEST_DIR/ck-subtasks-$v.json"
done
py - "$TEST_DIR/ck-details.json" "$TEST_DIR"/ck-subtasks-[01].json <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
subs = [x for f in sys.argv[2:] for x in json.load(open(f))["subtasks"]]
persisted = sum(t["persisted_data"] for t in d["tasks"].values())
assert 0 < persisted <= d["state_size"], (persisted, d["state_size"])
assert sum(x["alignment"]["persisted"] for x in subs) == persisted, subs
assert all(x["unaligned_checkpoint"] for x in subs if x["alignment"]["persisted"]), subs
PY
    fail "unaligned checkpoint $CKU: its details do not show its in-flight data: $(cat "$TEST_DIR/ck-details.json")"
bp=$(source_bp_ms "$J")
elapsed=$(($(now_ms) - t0))
tm_kill
tm_start
step "unaligned checkpoints (id:ms:bytes) $UNALIGNED; the source backpressured $bp ms of $elapsed; killed TaskManager $KILLED_PID"

median=$(tr ' ' '\n' <<<"$UNALIGNED" | cut -d: -f2 | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
[ "$median" -le $((A_MS * 2 / 3)) ] ||
    soft_fail "unaligned checkpoints under backpressure: median $median ms ($UNALIGNED), not under two thirds of the aligned one's $A_MS ms"

wait_restored "$J" 1 30
gate_open
wait_state "$J" FINISHED 90
ids=$(restored_ids "$J")
assert_eq "$(wc -w <<<"$ids")" 1 "unaligned: restores in the JobManager's log ($ids)"
part_args r1 "$OUT"
res=$(for a in "${PARTS[@]}"; do cat -- "${a#*=}"; done | py -c '
import collections, re, sys
keys, per_key = int(sys.argv[1]), int(sys.argv[2])
seen, finals, bad = collections.Counter(), {}, []
for line in sys.stdin:
    line = line.rstrip("\n")
    m = re.fullmatch(r"([0-9]+),([0-9]+)", line)
    if m:
        seen[(int(m.group(1)), int(m.group(2)))] += 1
        continue
    m = re.fullmatch(r"FINAL key=([0-9]+) count=([0-9]+)", line)
    if m and int(m.group(1)) not in finals:
        finals[int(m.group(1))] = int(m.group(2))
    else:
        bad.append(line)
want = {(k, s) for k in range(keys) for s in range(per_key)}
missing = want - set(seen)
dups = [r for r, n in seen.items() if n > 1]
extra = set(seen) - want
wrong = [k for k in range(keys) if finals.get(k) != per_key]
if bad or missing or dups or extra or wrong:
    print("%d other lines %s, %d records missing %s, %d repeated %s, %d unknown, FINAL wrong for keys %s"
          % (len(bad), bad[:3], len(missing), sorted(missing)[:3], len(dups), sorted(dups)[:3],
             len(extra), wrong[:5]))
    sys.exit(1)
print("%d records, each exactly once; no violation; %d FINAL lines, each count=%d"
      % (len(want), keys, per_key))
' $KEYS $PER_KEY) || fail "unaligned, restored from checkpoint $ids: $res"
step "unaligned: restored from checkpoint $ids, FINISHED in $(($(now_ms) - t0)) ms; $res"
finish
