#!/usr/bin/env bash
# test_operator_metrics.sh -- issue 12, operator-scope metrics (Flink's operator scope):
#
#   * examples/bench_pipeline.so at -p 2 is one chain of four operators, "Source: Sequence
#     Source" -> "Map" -> "Filter" -> "Sink: Discarding Sink", over the numbers 1..N. Held on
#     the source gate, the TaskManager's Prometheus reporter serves
#     flint_taskmanager_job_task_operator_numRecordsIn/Out with an operator_name label for
#     each of the four operators of each of the two subtasks.
#     REST's <Operator>.numRecordsInPerSecond / OutPerSecond move: the map passes on what it
#     gets, the filter no more than it gets, the sink emits nothing.
#   * Once the gate opens and the job finished, REST's
#     /jobs/:id/vertices/0/subtasks/metrics?get=<Operator>.numRecordsIn&agg=sum (Flink's
#     names) says: the source emitted N and read nothing, the map read and emitted N, the
#     filter read N and emitted the count Python computes of the numbers whose 3v+1 is not
#     a multiple of 16, and the sink read that count; per subtask,
#     /vertices/0/metrics?get=<i>.Map.numRecordsOut adds up to the same N.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

[ -f "$EX/bench_pipeline.so" ] || fail "missing $EX/bench_pipeline.so: run make first"
N=300000
PASS=$(py -c 'import sys; n = int(sys.argv[1]); print(sum(1 for v in range(1, n + 1) if (3 * v + 1) % 16))' "$N")
conf_set taskmanager.numberOfTaskSlots 2
prom_conf

step "start a JobManager and a TaskManager of 2 slots with the Prometheus reporter"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 2" 10 || fail "cluster not at 1 TaskManager / 2 slots: $(overview_str)"
wait_for '[ -n "$(reporter_port taskmanager)" ]' 10 || fail "the TaskManager's reporter did not start"
TM_PROM=$(reporter_port taskmanager)

step "source -> Map -> Filter -> sink in one chain at -p 2, held on the source gate"
gate_args 2000
gate_close
submit chain run -d -p 2 "${GATE[@]}" "$EX/bench_pipeline.so" --records "$N"
J=$JOB_ID
wait_state "$J" RUNNING 30
[ "$(rest GET "/jobs/$J/plan" | json_get plan.nodes | py -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] ||
    fail "the four operators are not one chain: $(rest GET "/jobs/$J/plan")"

step "Prometheus: operator series per subtask, with operator_name"
# the series appear once the chains are built and their Map has emitted something
has_series() {
    curl -s --max-time 3 "http://127.0.0.1:$TM_PROM/metrics" >"$TEST_DIR/prom.txt" || return 1
    py - "$TEST_DIR/prom.txt" <<'PY'
import re, sys
seen = {}
for line in open(sys.argv[1]):
    m = re.match(r'flint_taskmanager_job_task_operator_(numRecords(?:In|Out))\{([^}]*)\} (\S+)$', line)
    if not m:
        continue
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
    seen[(m.group(1), labels["subtask_index"], labels["operator_name"])] = float(m.group(3))
ops = ["Source: Sequence Source", "Map", "Filter", "Sink: Discarding Sink"]
need = [(f, s, o) for f in ("numRecordsIn", "numRecordsOut") for s in ("0", "1") for o in ops]
missing = [k for k in need if k not in seen]
if missing:
    sys.exit("missing %r" % (missing[:3],))
for s in ("0", "1"):
    # emitted through the chain at one scrape: nothing passes the filter it did not get
    assert seen[("numRecordsOut", s, "Filter")] <= seen[("numRecordsOut", s, "Map")]
    assert seen[("numRecordsOut", s, "Sink: Discarding Sink")] == 0
if sum(seen[("numRecordsOut", s, "Map")] for s in ("0", "1")) == 0:
    sys.exit("nothing counted yet")
PY
}
wait_for has_series 30 || fail "the TaskManager's /metrics lacks operator series: $(grep -m 5 task_operator "$TEST_DIR/prom.txt")"

step "REST: operator rates while the source runs at its gated pace"
rates_ok() {
    curl -s --max-time 3 -G "http://127.0.0.1:$REST_PORT/jobs/$J/vertices/0/subtasks/metrics" \
        --data-urlencode "get=Map.numRecordsInPerSecond,Map.numRecordsOutPerSecond,Filter.numRecordsInPerSecond,Filter.numRecordsOutPerSecond,Sink: Discarding Sink.numRecordsOutPerSecond" \
        --data-urlencode agg=sum >"$TEST_DIR/rates.json" || return 1
    py - "$TEST_DIR/rates.json" <<'PY'
import json, sys
r = {m["id"]: m["sum"] for m in json.load(open(sys.argv[1]))}
# one publication: the map passes on all it gets, the filter no more than it gets, the sink
# emits nothing, and the records do move
assert r["Map.numRecordsInPerSecond"] > 0, r
# (the sampler reads the source's and the map's counters a moment apart: a few records)
assert abs(r["Map.numRecordsOutPerSecond"] - r["Map.numRecordsInPerSecond"]) <= 0.01 * r["Map.numRecordsInPerSecond"] + 10, r
assert r["Filter.numRecordsOutPerSecond"] <= r["Filter.numRecordsInPerSecond"], r
assert r["Sink: Discarding Sink.numRecordsOutPerSecond"] == 0, r
PY
}
wait_for rates_ok 30 || fail "operator rates on REST: $(cat "$TEST_DIR/rates.json")"

step "open the gate; the job runs to its end"
gate_open
wait_state "$J" FINISHED 120

step "REST, operator scope: counts against Python's ($N in, $PASS pass the filter)"
op_sum() { # op_sum METRIC: the sum over the subtasks
    curl -s --max-time 3 -G "http://127.0.0.1:$REST_PORT/jobs/$J/vertices/0/subtasks/metrics" \
        --data-urlencode "get=$1" --data-urlencode agg=sum | json_get 0.sum
}
check_sum() {
    local got
    got=$(op_sum "$1") || fail "no $1 in subtasks/metrics"
    [ "$(py -c 'import sys; print(int(float(sys.argv[1])))' "$got")" = "$2" ] ||
        fail "$1: $got, expected $2"
}
check_sum "Source: Sequence Source.numRecordsIn" 0
check_sum "Source: Sequence Source.numRecordsOut" "$N"
check_sum "Map.numRecordsIn" "$N"
check_sum "Map.numRecordsOut" "$N"
check_sum "Filter.numRecordsIn" "$N"
check_sum "Filter.numRecordsOut" "$PASS"
check_sum "Sink: Discarding Sink.numRecordsIn" "$PASS"
check_sum "Sink: Discarding Sink.numRecordsOut" 0
T=0
for s in 0 1; do
    v=$(curl -s --max-time 3 -G "http://127.0.0.1:$REST_PORT/jobs/$J/vertices/0/metrics" \
        --data-urlencode "get=$s.Map.numRecordsOut" | json_get 0.value) || fail "no $s.Map.numRecordsOut"
    T=$((T + v))
done
[ "$T" = "$N" ] || fail "the subtasks' Map.numRecordsOut add up to $T, not $N"
step "done"
