#!/usr/bin/env bash
# test_metrics.sh -- issue 12 points 3, 4, 8, 9: Flink's metric and backpressure endpoints
# on a real cluster (one JobManager, one TaskManager of 4 slots).
#
#   * A throttled job: seqcheck (examples/seqcheck.c) at -p 2 with --sink-delay-us 2000,
#     whose sink subtasks sleep 2 ms per record. Its unthrottled source vertex is then
#     backpressured: /jobs/J/vertices/0/backpressure reports level "high", and its ratio
#     agrees with the vertex's backPressuredTimeMsPerSecond; the sleeping sink vertex
#     reports "ok" and a busyRatio above 0.5. Its record counters grow between two reads.
#     The job metrics, the TaskManager's process metrics and the JobManager's metrics
#     answer with Flink's names and sensible values.
#   * An unthrottled job (the source held to 2000 records/s, the sink not throttled): its
#     source vertex reports "ok" once measured.
#   * A bounded job (4 keys x 2500 records) finishes: the sum over subtasks of the sink
#     vertex's numRecordsIn and of the source's numRecordsOut are the 10000 records
#     generated (keys x per-key, computed here, not read from the job).
#   * Bad input: unknown job, vertex and subtask ids are 404 with Flink's {"errors":[...]},
#     a get= list of 10,000 names is refused with a 4xx, a garbage name is left out.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

conf_set taskmanager.numberOfTaskSlots 4
conf_set heartbeat.interval "1 s" # the TaskManagers' process metrics come with heartbeats
[ -f "$EX/seqcheck.so" ] || fail "missing $EX/seqcheck.so: run make first"

step "start a JobManager and a TaskManager of 4 slots"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 4" 10 || fail "cluster not at 1 TaskManager / 4 slots: $(overview_str)"

# metric J VID NAME: the value of NAME (e.g. 0.numRecordsOut) on vertex VID.
metric() {
    rest GET "/jobs/$1/vertices/$2/metrics?get=$3" | json_get 0.value
}

# bp J VID FIELD: a field of the vertex's backpressure answer.
bp() {
    rest GET "/jobs/$1/vertices/$2/backpressure" | json_get "$3"
}

# agg J VID NAME AGG: an aggregate over the vertex's subtasks.
agg() {
    rest GET "/jobs/$1/vertices/$2/subtasks/metrics?get=$3&agg=$4" | json_get "0.$4"
}

gt() { # gt A B: A > B as numbers
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'
}

step "a job with a throttled sink (2 ms per record): its source vertex is backpressured"
submit slow run -d -p 2 "$EX/seqcheck.so" --keys 8 --per-key 10000000 --sink-delay-us 2000 --emit-all
SLOW=$JOB_ID
wait_state "$SLOW" RUNNING 30
NV=$(rest GET "/jobs/$SLOW" | json_get vertices | py -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$NV" = 2 ] || fail "seqcheck should be 2 vertices (source->inject, check->sink), got $NV"
SINK=1
wait_for "[ \"\$(bp $SLOW 0 backpressureLevel)\" = high ]" 60 ||
    fail "source vertex not HIGH after 60 s: $(rest GET "/jobs/$SLOW/vertices/0/backpressure")"
step "source vertex HIGH after ${WAITED_MS} ms"
# The sink vertex: busy sleeping, never waiting for buffers downstream (it has none).
ANS=$(rest GET "/jobs/$SLOW/vertices/$SINK/backpressure")
LEVEL=$(json_get backpressureLevel <<<"$ANS")
[ "$LEVEL" = ok ] || fail "the throttled sink vertex should be ok, is $LEVEL: $ANS"
for s in 0 1; do
    BUSY=$(json_get "subtasks.$s.busyRatio" <<<"$ANS")
    gt "$BUSY" 0.5 || fail "sink subtask $s sleeps per record but its busyRatio is $BUSY: $ANS"
done
# The ratio is the metric / 1000: both from the same publication when read together is
# not guaranteed, so each must be on the same side of the HIGH threshold.
RATIO=$(bp "$SLOW" 0 subtasks.0.ratio)
BPMS=$(metric "$SLOW" 0 0.backPressuredTimeMsPerSecond)
gt "$RATIO" 0.5 || fail "source subtask ratio $RATIO not above 0.5"
gt "$BPMS" 500 || fail "source backPressuredTimeMsPerSecond $BPMS not above 500 while HIGH"
[ "$(metric "$SLOW" 0 0.isBackPressured)" = true ] || fail "0.isBackPressured is not true"

step "record counters grow between two reads"
OUT1=$(metric "$SLOW" 0 0.numRecordsOut)
IN1=$(agg "$SLOW" $SINK numRecordsIn sum)
wait_for "gt \"\$(metric $SLOW 0 0.numRecordsOut)\" $OUT1" 10 ||
    fail "source numRecordsOut stuck at $OUT1"
wait_for "gt \"\$(agg $SLOW $SINK numRecordsIn sum)\" $IN1" 10 || fail "sink numRecordsIn stuck at $IN1"
RATE=$(metric "$SLOW" $SINK 0.numRecordsInPerSecond)
gt "$RATE" 0 || fail "sink numRecordsInPerSecond is $RATE"
# 2 ms per record: a sink subtask cannot take more than 500 records/s
gt 520 "$RATE" || fail "sink numRecordsInPerSecond $RATE is more than a 2 ms/record sink takes"

step "the vertex, job, TaskManager and JobManager endpoints"
V=$(rest GET "/jobs/$SLOW/vertices/$SINK")
[ "$(json_get subtasks.1.status <<<"$V")" = RUNNING ] || fail "subtask 1 not RUNNING: $V"
[ "$(json_get subtasks.1.host <<<"$V")" != "" ] || fail "subtask 1 has no host: $V"
gt "$(json_get subtasks.0.metrics.read-records <<<"$V")" 0 || fail "no read-records: $V"
[ "$(rest GET "/jobs/$SLOW/metrics?get=numRestarts" | json_get 0.value)" = 0 ] ||
    fail "numRestarts: $(rest GET "/jobs/$SLOW/metrics")"
gt "$(rest GET "/jobs/$SLOW/metrics?get=uptime" | json_get 0.value)" 0 || fail "uptime not > 0"
rest GET "/jobs/$SLOW/metrics" | grep -q lastCheckpointDuration || fail "no lastCheckpointDuration"
WM=$(metric "$SLOW" $SINK 0.currentInputWatermark)
[ -n "$WM" ] || fail "no currentInputWatermark"
TM=$(rest GET /taskmanagers | json_get taskmanagers.0.id)
tm_rss() {
    rest GET "/taskmanagers/$TM/metrics?get=Status.Process.Memory.RSS" | json_get 0.value
}
wait_for "gt \"\$(tm_rss)\" 1000000" 30 || fail "TaskManager RSS $(tm_rss)"
wait_for "gt \"\$(rest GET '/taskmanagers/$TM/metrics?get=Status.JVM.CPU.Load' | json_get 0.value)\" 0" 10 ||
    fail "TaskManager CPU load stays 0 while a job runs"
JM=$(rest GET "/jobmanager/metrics?get=numRegisteredTaskManagers,taskSlotsTotal,numRunningJobs")
[ "$(json_get 0.value <<<"$JM")" = 1 ] && [ "$(json_get 1.value <<<"$JM")" = 4 ] &&
    [ "$(json_get 2.value <<<"$JM")" = 1 ] || fail "jobmanager metrics: $JM"

step "bad input: unknown ids are 404 in Flink's shape, 10,000 names refused, garbage left out"
for path in "/jobs/0123456789abcdef0123456789abcdef/vertices/0/backpressure" \
    "/jobs/$SLOW/vertices/7/metrics" "/jobs/$SLOW/vertices/x/backpressure" \
    "/jobs/$SLOW/vertices/0/subtasks/9/metrics" "/jobs/$SLOW/vertices/0/subtasks/-1/metrics" \
    "/taskmanagers/nosuchtm/metrics"; do
    [ "$(rest_status GET "$path")" = 404 ] || fail "GET $path: $(rest_status GET "$path"), not 404"
    rest GET "$path" | json_get errors.0 >/dev/null || fail "GET $path: no errors list"
done
MANY=$(py -c 'print(",".join("0.m%d" % i for i in range(10000)))')
ST=$(rest_status GET "/jobs/$SLOW/vertices/0/metrics?get=$MANY")
case "$ST" in 4??) ;; *) fail "a get of 10,000 names answered $ST" ;; esac
[ "$(rest GET "/jobs/$SLOW/vertices/0/metrics?get=%22;drop" | json_get '')" = "[]" ] ||
    fail "a garbage name was not left out"
[ "$(rest_status GET /overview)" = 200 ] || fail "the JobManager stopped answering"
"$FLINT" cancel "$SLOW" >/dev/null || fail "flint cancel failed"
wait_state "$SLOW" CANCELED 30

step "a job at 2000 records/s with an unthrottled sink: its source vertex is ok"
submit free run -d -p 2 "$EX/seqcheck.so" --keys 8 --per-key 1000000 --rate 2000
FREE=$JOB_ID
wait_state "$FREE" RUNNING 30
wait_for "[ \"\$(bp $FREE 0 status)\" = ok ] && gt \"\$(metric $FREE 0 0.numRecordsOut)\" 0" 30 ||
    fail "no measured backpressure: $(rest GET "/jobs/$FREE/vertices/0/backpressure")"
ANS=$(rest GET "/jobs/$FREE/vertices/0/backpressure")
[ "$(json_get backpressureLevel <<<"$ANS")" = ok ] || fail "unthrottled source not ok: $ANS"
"$FLINT" cancel "$FREE" >/dev/null || fail "flint cancel failed"
wait_state "$FREE" CANCELED 30

step "a bounded job: the counters equal the records generated"
KEYS=4 PER_KEY=2500
submit bounded run -d -p 2 "$EX/seqcheck.so" --keys $KEYS --per-key $PER_KEY
B=$JOB_ID
wait_state "$B" FINISHED 60
EXPECT=$((KEYS * PER_KEY))
GOT=$(agg "$B" $SINK numRecordsIn sum)
[ "${GOT%.*}" = "$EXPECT" ] || fail "sink numRecordsIn sum $GOT, expected $EXPECT"
GOT=$(agg "$B" 0 numRecordsOut sum)
[ "${GOT%.*}" = "$EXPECT" ] || fail "source numRecordsOut sum $GOT, expected $EXPECT"
step "passed"
