#!/usr/bin/env bash
# test_kafka.sh -- issue 13 points 2, 3, 7 and 9: Kafka -> Flint -> Kafka end to end, on a
# cluster of one JobManager and 3 TaskManagers of one slot each, against librdkafka's mock
# cluster run as a broker process of its own (tests/tools/kafka_broker.c); checkpoints every
# 200 ms, restart strategy fixed-delay (200 ms).
#
#   * exactly-once: examples/kafka_count.so at -p 3 reads KEYS x PER_KEY "key,seq" records
#     (the key as the message key, so one partition holds a key in order) from a topic of 3
#     partitions, counts per key and writes "key,seq,count" through the transactional sink.
#     A TaskManager is killed (kill -9) twice mid-stream, each time after two more
#     checkpoints completed, and a new one started; the source is held on the gate
#     (testing.source.gate-file) until both kills are in, so the job cannot finish first on
#     a machine of any speed. The committed output must equal, line for line, what an
#     independent Python reference computes from the input file: every record exactly once,
#     with its count.
#     The mock broker does not hide aborted or open transactions from read_committed
#     consumers (checked below: its result is printed as a note), so the test reads
#     committed transactions the way a broker would show them: a record counts when the
#     marker of its transaction (header flint-txn) is in the marker topic; the sink writes
#     the marker last, after the transaction's data is acknowledged.
#   * at-least-once: the same job with sink.delivery-guarantee at-least-once, one kill:
#     every expected line is there (at least once).
#   * per-partition watermarks (the tutorial's 6.4): two jobs at -p 1 count per key in 1 s
#     event-time windows over a topic of 2 partitions of which only partition 0 has records
#     (timestamps 0..9900). With idleness (300 ms) the empty partition stops holding the
#     watermark back: the windows up to 9000 fire, and a record of partition 1 with
#     timestamp 500 that comes after that is late (dropped). Without idleness the empty
#     partition holds every window back, so the same record is still counted in [0, 1000).
#     Both outputs must equal a Python reference of the windows' counts.
#   * bad input: a broker that is not there, a topic that does not exist, records the sink's
#     format (record.format key-value) rejects: the job fails with a message naming the
#     Kafka connector and the option.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

KBROKER="$FLINT_HOME/build/tests/flint-kafka_broker"
[ -x "$KBROKER" ] || fail "missing $KBROKER: run make first"
[ -f "$EX/kafka_count.so" ] || fail "missing $EX/kafka_count.so: run make first"
command -v kcat >/dev/null || fail "kcat is missing: run make deps"

conf_set taskmanager.numberOfTaskSlots 1
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"

CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$TEST_DIR/checkpoints"
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=6
    -D "restart-strategy.fixed-delay.delay=200 ms")

step "start the Kafka broker (librdkafka's mock cluster)"
BROKER_PID=
broker_stop() {
    [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
    return 0
}
CLEANUP_HOOKS+=(broker_stop)
"$KBROKER" -t in:3 -t out:3 -t out-flint-txn:1 -t out2:3 -t out2-flint-txn:1 \
    -t wm:2 -t wm-idle:1 -t wm-held:1 \
    >"$TEST_DIR/broker.out" 2>"$TEST_DIR/broker.err" &
BROKER_PID=$!
wait_for "[ -s '$TEST_DIR/broker.out' ]" 10 || fail "the broker did not start: $(cat "$TEST_DIR/broker.err")"
BS=$(head -n 1 "$TEST_DIR/broker.out")
note "bootstrap servers $BS"

KEYS=24
PER_KEY=1000
step "produce $((KEYS * PER_KEY)) records of $KEYS keys into topic in (3 partitions)"
py - "$KEYS" "$PER_KEY" >"$TEST_DIR/input.kv" <<'EOF'
import sys
keys, per = int(sys.argv[1]), int(sys.argv[2])
for s in range(per):
    for k in range(keys):
        print(f"k{k}\tk{k},{s}")
EOF
kcat -b "$BS" -P -t in -K $'\t' -l "$TEST_DIR/input.kv" 2>"$TEST_DIR/kcat.err" ||
    fail "kcat could not produce the input: $(cat "$TEST_DIR/kcat.err")"
# the reference: a key's n-th record (in its partition's order, the file's) has count n
py - "$TEST_DIR/input.kv" >"$TEST_DIR/expected" <<'EOF'
import sys, collections
n = collections.Counter()
out = []
for line in open(sys.argv[1]):
    key, value = line.rstrip("\n").split("\t")
    n[key] += 1
    out.append(f"{value},{n[key]}")
print("\n".join(sorted(out)))
EOF

# committed_output TOPIC: the records of TOPIC whose transaction has its marker in
# TOPIC-flint-txn, sorted; ABANDONED: how many records were left out.
ABANDONED=0
committed_output() {
    kcat -b "$BS" -C -t "$1-flint-txn" -e -q -f '%s\n' >"$TEST_DIR/$1.markers" 2>/dev/null ||
        fail "kcat could not read $1-flint-txn"
    kcat -b "$BS" -C -t "$1" -e -q -f '%h\t%s\n' >"$TEST_DIR/$1.all" 2>/dev/null ||
        fail "kcat could not read $1"
    py - "$TEST_DIR/$1.markers" "$TEST_DIR/$1.all" "$TEST_DIR/$1.committed" <<'EOF'
import sys
committed = set(l.rstrip("\n") for l in open(sys.argv[1]) if l.strip())
kept, dropped = [], 0
for line in open(sys.argv[2]):
    hdr, _, value = line.rstrip("\n").partition("\t")
    token = dict(h.split("=", 1) for h in hdr.split(",") if "=" in h).get("flint-txn")
    if token in committed:
        kept.append(value)
    else:
        dropped += 1
open(sys.argv[3], "w").write("".join(v + "\n" for v in sorted(kept)))
print(dropped)
EOF
}

step "start a JobManager and 3 TaskManagers (1 slot each)"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
for _ in 1 2 3; do tm_start; done
wait_for "overview_is 3 3" 10 || fail "cluster not at 3 TaskManagers / 3 slots: $(overview_str)"

# kill_run J KILLS TOPIC: KILLS times, after two more completed checkpoints, kill -9 of a
# TaskManager, a new one started, until the job restored; then the gate opens.
kill_run() {
    local j=$1 kills=$2 topic=$3 i target
    for i in $(seq 1 "$kills"); do
        target=$(($(ck "$j" counts.completed) + 2))
        wait_completed "$j" "$target" 60
        tm_kill
        tm_start
        step "kill -9 $i of TaskManager $KILLED_PID after $target completed checkpoints, $(kcat -b "$BS" -C -t "$topic" -e -q -f '%s\n' | wc -l) records in $topic; a new TaskManager started"
        wait_restored "$j" "$i" 60
    done
    gate_open
    wait_state "$j" FINISHED 120
}

gate_args 2000
# ---------------------------------------------------------------------------------------
step "exactly-once: Kafka -> keyed count -> Kafka at -p 3, two TaskManagers killed"
gate_close
submit kafka-eos run -d -p 3 "${CKPT[@]}" "${GATE[@]}" "$EX/kafka_count.so" \
    --bootstrap-servers "$BS" --input in --output out --guarantee exactly-once --bounded
J=$JOB_ID
kill_run "$J" 2 out
ABANDONED=$(committed_output out)
cmp -s "$TEST_DIR/out.committed" "$TEST_DIR/expected" || {
    diff "$TEST_DIR/expected" "$TEST_DIR/out.committed" | head -n 20 >&2
    fail "exactly-once: the committed output differs from the reference ($(wc -l <"$TEST_DIR/out.committed") lines, expected $(wc -l <"$TEST_DIR/expected"))"
}
step "exactly-once: $(wc -l <"$TEST_DIR/expected") records each exactly once after $(ck "$J" counts.restored) restores ($(ck "$J" counts.completed) checkpoints); $ABANDONED records of transactions that never committed left out"
rc_lines=$(kcat -b "$BS" -C -t out -e -q -X isolation.level=read_committed -f '%s\n' | wc -l)
note "the mock broker gives a read_committed consumer $rc_lines records (all written, aborted ones too)"

# ---------------------------------------------------------------------------------------
step "at-least-once: the same job, one TaskManager killed"
gate_close
submit kafka-alo run -d -p 3 "${CKPT[@]}" "${GATE[@]}" "$EX/kafka_count.so" \
    --bootstrap-servers "$BS" --input in --output out2 --guarantee at-least-once --bounded
J=$JOB_ID
kill_run "$J" 1 out2
kcat -b "$BS" -C -t out2 -e -q -f '%s\n' | sort -u >"$TEST_DIR/out2.uniq"
missing=$(comm -23 "$TEST_DIR/expected" "$TEST_DIR/out2.uniq" | wc -l)
[ "$missing" = 0 ] || fail "at-least-once: $missing expected records missing"
step "at-least-once: no record lost ($(kcat -b "$BS" -C -t out2 -e -q -f '%s\n' | wc -l) written for $(wc -l <"$TEST_DIR/expected"))"

# ---------------------------------------------------------------------------------------
step "per-partition watermarks: partition 1 empty, with and without idleness"
submit kafka-idle run -d -p 1 "$EX/kafka_count.so" --bootstrap-servers "$BS" --input wm \
    --output wm-idle --guarantee at-least-once --window-ms 1000 --idle-ms 300
J_IDLE=$JOB_ID
submit kafka-held run -d -p 1 "$EX/kafka_count.so" --bootstrap-servers "$BS" --input wm \
    --output wm-held --guarantee at-least-once --window-ms 1000
J_HELD=$JOB_ID
wait_state "$J_IDLE" RUNNING 30
wait_state "$J_HELD" RUNNING 30
seq 0 99 | awk '{ print "k0," $1 "," $1 * 100 }' >"$TEST_DIR/wm.p0"
kcat -b "$BS" -P -t wm -p 0 -l "$TEST_DIR/wm.p0" || fail "kcat could not produce to wm [0]"
lines() {
    kcat -b "$BS" -C -t "$1" -e -q -f '%s\n' 2>/dev/null | wc -l
}
wait_for "[ \$(lines wm-idle) -ge 9 ]" 60 ||
    fail "with idleness, the windows up to 9000 did not fire while partition 1 was empty ($(lines wm-idle) results)"
step "with idleness: $(lines wm-idle) windows fired while partition 1 was empty; without: $(lines wm-held)"
echo "k0,late,500" | kcat -b "$BS" -P -t wm -p 1 || fail "kcat could not produce to wm [1]"
echo "k0,end0,100000" | kcat -b "$BS" -P -t wm -p 0 && echo "k0,end1,100000" |
    kcat -b "$BS" -P -t wm -p 1 || fail "kcat could not produce the closing records"
wait_for "[ \$(lines wm-idle) -ge 10 ] && [ \$(lines wm-held) -ge 10 ]" 60 ||
    fail "the windows did not all fire: $(lines wm-idle) and $(lines wm-held) results"
for v in idle held; do
    py - "$TEST_DIR/wm.p0" "$v" >"$TEST_DIR/wm-$v.expected" <<'EOF'
import sys, collections
count = collections.Counter()
for line in open(sys.argv[1]):
    key, _, ts = line.strip().split(",")
    count[(key, int(ts) // 1000 * 1000 + 1000)] += 1
if sys.argv[2] == "held":      # the late record of partition 1 (timestamp 500) counts
    count[("k0", 1000)] += 1
print("\n".join(sorted(f"{k},{end},{n}" for (k, end), n in count.items())))
EOF
    kcat -b "$BS" -C -t "wm-$v" -e -q -f '%s\n' | sort >"$TEST_DIR/wm-$v.got"
    cmp -s "$TEST_DIR/wm-$v.got" "$TEST_DIR/wm-$v.expected" || {
        diff "$TEST_DIR/wm-$v.expected" "$TEST_DIR/wm-$v.got" >&2
        fail "per-partition watermarks ($v): the window counts differ from the reference"
    }
done
"$FLINT" cancel "$J_IDLE" >/dev/null && "$FLINT" cancel "$J_HELD" >/dev/null ||
    fail "cannot cancel the window jobs"
wait_state "$J_IDLE" CANCELED 30
wait_state "$J_HELD" CANCELED 30
step "per-partition watermarks: [0, 1000) counted $(grep '^k0,1000,' "$TEST_DIR/wm-idle.got" | cut -d, -f3) with idleness (the late record dropped), $(grep '^k0,1000,' "$TEST_DIR/wm-held.got" | cut -d, -f3) without (held back)"

# ---------------------------------------------------------------------------------------
step "bad input: a missing topic, no broker"
submit kafka-notopic run -d -p 1 "$EX/kafka_count.so" --bootstrap-servers "$BS" \
    --input no-such-topic --output out3
J=$JOB_ID
wait_for "is_terminal \$(job_state $J)" 60 || fail "the job on a missing topic did not end"
assert_eq "$(job_state "$J")" FAILED "the job on a missing topic"
grep -q "Kafka source: topic 'no-such-topic' (option topic) does not exist on $BS" "$(jm_log)" ||
    fail "no clear message for the missing topic in the JobManager's log"
NOBROKER="127.0.0.1:$(free_port)"
submit kafka-nobroker run -d -p 1 "$EX/kafka_count.so" --bootstrap-servers "$NOBROKER" \
    --input in --output out3 --guarantee at-least-once
J=$JOB_ID
wait_for "is_terminal \$(job_state $J)" 60 || fail "the job without a broker did not end"
assert_eq "$(job_state "$J")" FAILED "the job without a broker"
grep -q "Kafka source: cannot reach the brokers of properties.bootstrap.servers=$NOBROKER" \
    "$(jm_log)" || fail "no clear message for the missing broker in the JobManager's log"
submit kafka-badrec run -d -p 1 "$EX/kafka_count.so" --bootstrap-servers "$BS" \
    --input in --output out3 --guarantee at-least-once --sink-format key-value --bounded
J=$JOB_ID
wait_for "is_terminal \$(job_state $J)" 60 || fail "the job with records the sink rejects did not end"
assert_eq "$(job_state "$J")" FAILED "the job with records the sink rejects"
grep -q "Kafka sink: a record of [0-9]* bytes is not a key-value record (record.format key-value" \
    "$(jm_log)" || fail "no clear message for a record the sink rejects in the JobManager's log"
step "bad input: the three jobs FAILED with a message naming the Kafka connector and its option"
