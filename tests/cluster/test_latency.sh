#!/usr/bin/env bash
# test_latency.sh -- issue 12 point 5: Flink's latency tracking (metrics.latency.interval)
# on a real cluster, read from the TaskManager's Prometheus reporter.
#
#   * A job of 4 vertices at -p 2 (examples/wide_graph.c: source -> map -> map -> sink, a
#     rebalance between each) with metrics.latency.interval 20 ms: the TaskManager serves
#     flint_taskmanager_job_latency_source_id_operator_id_operator_subtask_index_latency
#     for every downstream vertex (1, 2, 3) and subtask (0, 1), source_id 0, with its
#     quantiles in order (0 <= p50 <= p95 <= p99) and a _count that grows between two
#     scrapes; no series names the source vertex as its operator (it sends, not receives).
#     GET /jobs/J/metrics lists the same as Flink's job-scope latency metrics
#     (latency.source_id.0.operator_id.V.operator_subtask_index.I.latency_{min,max,mean,
#     p50,p95,p99}) for exactly those (V, I), min <= p50 <= p99 <= max.
#   * Markers are not records: a bounded job of the same shape with markers every 5 ms
#     delivers exactly the 1,000,001 records 0..1000000 to its sink (numRecordsIn summed
#     over the sink's subtasks, from REST), counted here from the bounds, not the job.
#   * Off by default: a job without the key produces no latency series.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

[ -f "$EX/wide_graph.so" ] || fail "missing $EX/wide_graph.so: run make first"
conf_set taskmanager.numberOfTaskSlots 2
prom_conf

step "start a JobManager and a TaskManager of 2 slots with the Prometheus reporter"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 2" 10 || fail "cluster not at 1 TaskManager / 2 slots: $(overview_str)"
wait_for '[ -n "$(reporter_port taskmanager)" ]' 10 ||
    fail "no 'Started PrometheusReporter' in the TaskManager's log"
TM_PROM=$(reporter_port taskmanager)
LAT=flint_taskmanager_job_latency_source_id_operator_id_operator_subtask_index_latency

# latency_of JOB: "operator subtask quantile-or-count value" lines of the job's series.
latency_of() {
    curl -s --max-time 3 "http://127.0.0.1:$TM_PROM/metrics" | py -c '
import re, sys
job = sys.argv[1]
for line in sys.stdin:
    m = re.match(r"(\w+)\{(.*)\} (\S+)$", line.strip())
    if not m or not m.group(1).startswith(sys.argv[2]):
        continue
    labels = dict(re.findall(r"(\w+)=\"([^\"]*)\"", m.group(2)))
    if labels.get("job_id") != job:
        continue
    kind = "count" if m.group(1).endswith("_count") else labels["quantile"]
    print(labels["source_id"], labels["operator_id"], labels["operator_subtask_index"], kind, m.group(3))
' "$1" "$LAT"
}

step "a job with latency markers every 20 ms: every downstream subtask has its histogram"
submit lat run -d -p 2 -D "metrics.latency.interval=20 ms" "$EX/wide_graph.so" --vertices 4
J=$JOB_ID
wait_state "$J" RUNNING 30
# every (operator, subtask) of vertices 1..3 has a count
want=$(for op in 1 2 3; do for s in 0 1; do echo "0 $op $s"; done; done)
have() { latency_of "$J" | awk '$4 == "count" && $5 > 0 { print $1, $2, $3 }' | sort; }
wait_for '[ "$(have)" = "$want" ]' 30 ||
    fail "latency series of job $J: $(latency_of "$J" | head -30), want counts for $want"
latency_of "$J" >"$TEST_DIR/lat1"
awk '$2 == 0 { bad = 1 } END { exit bad }' "$TEST_DIR/lat1" || fail "the source vertex records a latency"
py -c '
import collections, sys
q = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    src, op, sub, kind, v = line.split()
    q[(op, sub)][kind] = float(v)
for k, d in q.items():
    assert 0 <= d["0.5"] <= d["0.95"] <= d["0.99"], (k, d)
' "$TEST_DIR/lat1" || fail "quantiles out of order: $(cat "$TEST_DIR/lat1")"
note "$(py -c '
import collections, sys
q = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    src, op, sub, kind, v = line.split()
    q[(op, sub)][kind] = float(v)
print("p99 ms per operator/subtask:", " ".join("%s/%s=%g" % (k[0], k[1], d["0.99"]) for k, d in sorted(q.items())))
' "$TEST_DIR/lat1")"
count_of() { latency_of "$J" | awk -v op="$1" '$2 == op && $3 == 0 && $4 == "count" { print $5 }'; }
C1=$(count_of 3)
wait_for "[ \"\$(count_of 3)\" -gt $C1 ]" 20 || fail "the sink's marker count stays at $C1"
# REST: the same histograms as Flink's job-scope metrics
lat_names() {
    rest GET "/jobs/$J/metrics" | py -c '
import json, sys
print("\n".join(sorted(m["id"] for m in json.load(sys.stdin) if m["id"].startswith("latency."))))'
}
want_names=$(for op in 1 2 3; do for s in 0 1; do for f in max mean min p50 p95 p99; do
    echo "latency.source_id.0.operator_id.$op.operator_subtask_index.$s.latency_$f"; done; done; done | LC_ALL=C sort)
wait_for '[ "$(lat_names | LC_ALL=C sort)" = "$want_names" ]' 20 ||
    fail "/jobs/$J/metrics latency names: $(lat_names | head -40)"
P="latency.source_id.0.operator_id.3.operator_subtask_index.1.latency"
# (a get= list is at most 255 bytes: two names a request)
{ rest GET "/jobs/$J/metrics?get=${P}_min,${P}_p50"; rest GET "/jobs/$J/metrics?get=${P}_p99,${P}_max"; } |
    py -c '
import json, sys
v = {}
for line in sys.stdin.read().replace("][", "]\n[").splitlines():
    v.update({m["id"].rsplit("_", 1)[1]: float(m["value"]) for m in json.loads(line)})
assert 0 <= v["min"] <= v["p50"] <= v["p99"] <= v["max"], v
' || fail "REST latency of the sink: $(rest GET "/jobs/$J/metrics?get=${P}_min,${P}_p50") $(rest GET "/jobs/$J/metrics?get=${P}_p99,${P}_max")"
st=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' \
    "http://127.0.0.1:$REST_PORT/jobs/$J?mode=cancel")
[ "$st" = 202 ] || fail "cancelling $J: $st"
wait_state "$J" CANCELED 30

step "markers are not records: a bounded job delivers exactly its 1,000,001 records"
submit bounded run -d -p 2 -D "metrics.latency.interval=5 ms" "$EX/wide_graph.so" --vertices 4 --to 1000000
B=$JOB_ID
wait_state "$B" FINISHED 60
IN=$(rest GET "/jobs/$B" | json_get vertices.3.metrics.read-records)
[ "$IN" = 1000001 ] || fail "the sink read $IN records, not 1000001 (0..1000000)"
for v in 1 2; do
    OUT=$(rest GET "/jobs/$B" | json_get "vertices.$v.metrics.write-records")
    [ "$OUT" = 1000001 ] || fail "map vertex $v wrote $OUT records, not 1000001"
done

step "off by default: a job without metrics.latency.interval has no latency series"
submit off run -d -p 2 "$EX/wide_graph.so" --vertices 4
O=$JOB_ID
wait_state "$O" RUNNING 30
wait_for "curl -s --max-time 3 http://127.0.0.1:$TM_PROM/metrics | grep -q 'flint_taskmanager_job_task_numRecordsIn{.*job_id=\"$O\"'" 20 ||
    fail "job $O's tasks are not on the reporter"
[ -z "$(latency_of "$O")" ] || fail "job $O without latency tracking has latency series: $(latency_of "$O" | head -5)"
step "passed"
