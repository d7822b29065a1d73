#!/usr/bin/env bash
# test_checkpoint_details.sh -- issue 12, per-task checkpoint details (Flink's REST):
#
#   * A job of N=4 vertices at -p 3 (examples/wide_graph.so, unbounded until cancelled)
#     checkpoints every 300 ms. For its latest completed checkpoint,
#     GET /jobs/:jobid/checkpoints/details/:checkpointid lists N tasks, keyed by the vertex
#     ids of the client's plan (flint info), each COMPLETED with num_subtasks =
#     num_acknowledged_subtasks = the vertex's parallelism in that plan; the tasks' state
#     sizes add up to the checkpoint's state_size, and each latest_ack_timestamp lies between
#     the trigger and the checkpoint's own latest_ack_timestamp.
#   * .../subtasks/:vertexid lists P entries, indexes 0..P-1, all completed, whose state
#     sizes add up to the task's, with ack timestamps after the trigger and the sync, async,
#     alignment and start delay fields present; its summary's min/max bound every subtask's
#     value.
#   * Unknown ids give Flink-shaped 404 JSON ({"errors": [...]}): a checkpoint that is not
#     in the history, a vertex the job does not have; a malformed checkpoint id is 400.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

[ -f "$EX/wide_graph.so" ] || fail "missing $EX/wide_graph.so: run make first"
N=4
P=3
conf_set taskmanager.numberOfTaskSlots "$P"

step "start a JobManager and a TaskManager of $P slots"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 $P" 10 || fail "cluster not at 1 TaskManager / $P slots: $(overview_str)"

step "the plan the client compiles: $N vertices"
"$FLINT" info -p "$P" "$EX/wide_graph.so" --vertices "$N" 2>/dev/null |
    sed -n '/^{/,/^}/p' >"$TEST_DIR/plan.json"
py -c '
import json, sys
nodes = json.load(open(sys.argv[1]))["nodes"]
assert len(nodes) == int(sys.argv[2]), "plan has %d vertices" % len(nodes)
' "$TEST_DIR/plan.json" "$N" || fail "flint info: $(cat "$TEST_DIR/plan.json")"

step "a job of $N vertices at -p $P, checkpoints every 300 ms"
submit wide run -d -p "$P" -D "execution.checkpointing.interval=300 ms" \
    -D "state.checkpoints.dir=$TEST_DIR/ck" "$EX/wide_graph.so" --vertices "$N"
J=$JOB_ID
wait_state "$J" RUNNING 30
wait_completed "$J" 2 60
CK=$(ck "$J" latest.completed.id)
rest GET "/jobs/$J/checkpoints/details/$CK" >"$TEST_DIR/details.json"
for v in $(py -c 'import json,sys; print(" ".join(str(n["id"]) for n in json.load(open(sys.argv[1]))["nodes"]))' "$TEST_DIR/plan.json"); do
    rest GET "/jobs/$J/checkpoints/details/$CK/subtasks/$v" >"$TEST_DIR/sub-$v.json"
done

step "details/$CK: $N tasks of $P acknowledged subtasks, sizes adding up"
py - "$TEST_DIR" "$CK" <<'PY' || fail "checkpoint details of $CK are wrong"
import json, sys
d, ck = sys.argv[1], int(sys.argv[2])
plan = {str(n["id"]): n["parallelism"] for n in json.load(open(d + "/plan.json"))["nodes"]}
c = json.load(open(d + "/details.json"))
errs = []
def check(cond, what):
    if not cond:
        errs.append(what)
check(c["id"] == ck and c["status"] == "COMPLETED", "the checkpoint: %r %r" % (c["id"], c["status"]))
tasks = c["tasks"]
check(sorted(tasks) == sorted(plan), "tasks %s, plan vertices %s" % (sorted(tasks), sorted(plan)))
total = 0
for vid, t in tasks.items():
    p = plan.get(vid)
    check(t["num_subtasks"] == p and t["num_acknowledged_subtasks"] == p,
          "vertex %s: %d of %d subtasks acknowledged, parallelism %s"
          % (vid, t["num_acknowledged_subtasks"], t["num_subtasks"], p))
    check(t["status"] == "COMPLETED" and t["id"] == ck, "vertex %s: %r" % (vid, t))
    check(c["trigger_timestamp"] <= t["latest_ack_timestamp"] <= c["latest_ack_timestamp"],
          "vertex %s acknowledged at %d, checkpoint %d..%d" % (vid, t["latest_ack_timestamp"],
          c["trigger_timestamp"], c["latest_ack_timestamp"]))
    check(t["end_to_end_duration"] == t["latest_ack_timestamp"] - c["trigger_timestamp"],
          "vertex %s: end_to_end_duration %d" % (vid, t["end_to_end_duration"]))
    for k in ("checkpointed_size", "alignment_buffered", "processed_data", "persisted_data"):
        check(k in t, "vertex %s has no %s" % (vid, k))
    total += t["state_size"]
check(total == c["state_size"], "tasks' state sizes add up to %d, checkpoint says %d" % (total, c["state_size"]))
check(total > 0, "the checkpoint holds no state at all (the sum proves nothing)")
for vid, p in plan.items():
    s = json.load(open("%s/sub-%s.json" % (d, vid)))
    subs = s["subtasks"]
    check([x["index"] for x in subs] == list(range(p)), "vertex %s: indexes %r" % (vid, [x["index"] for x in subs]))
    check(all(x["status"] == "completed" for x in subs), "vertex %s: not all completed" % vid)
    check(sum(x["state_size"] for x in subs) == tasks[vid]["state_size"],
          "vertex %s: subtasks' sizes add up to %d, task says %d"
          % (vid, sum(x["state_size"] for x in subs), tasks[vid]["state_size"]))
    for x in subs:
        check(x["ack_timestamp"] >= c["trigger_timestamp"], "vertex %s.%d acknowledged before the trigger" % (vid, x["index"]))
        check(x["checkpoint"]["sync"] >= 0 and x["checkpoint"]["async"] >= 0 and
              x["alignment"]["duration"] >= 0 and x["start_delay"] >= 0,
              "vertex %s.%d: %r" % (vid, x["index"], x))
    for k, get in (("state_size", lambda x: x["state_size"]),
                   ("end_to_end_duration", lambda x: x["end_to_end_duration"]),
                   ("start_delay", lambda x: x["start_delay"])):
        sm = s["summary"][k]
        vals = [get(x) for x in subs]
        check(sm["min"] == min(vals) and sm["max"] == max(vals),
              "vertex %s summary %s %r, values %r" % (vid, k, sm, vals))
if errs:
    print("\n".join(errs), file=sys.stderr)
    sys.exit(1)
print("  %d tasks, %d bytes in all" % (len(tasks), total))
PY

step "unknown ids: Flink-shaped 404, a malformed id 400"
flink_404() {
    local body st
    st=$(curl -s -o "$TEST_DIR/err.json" -w '%{http_code}' "http://127.0.0.1:$REST_PORT$1")
    body=$(cat "$TEST_DIR/err.json")
    [ "$st" = 404 ] || fail "GET $1: $st, expected 404: $body"
    json_get errors.0 <"$TEST_DIR/err.json" >/dev/null || fail "GET $1: not {\"errors\": [...]}: $body"
}
flink_404 "/jobs/$J/checkpoints/details/999999"
flink_404 "/jobs/$J/checkpoints/details/999999/subtasks/0"
flink_404 "/jobs/$J/checkpoints/details/$CK/subtasks/77"
flink_404 "/jobs/$J/checkpoints/details/$CK/subtasks/zz"
flink_404 "/jobs/00000000000000000000000000000000/checkpoints/details/$CK/subtasks/0"
[ "$(rest_status GET "/jobs/$J/checkpoints/details/x1/subtasks/0")" = 400 ] ||
    fail "a malformed checkpoint id is not 400"

"$FLINT" cancel "$J" >/dev/null || fail "flint cancel $J failed"
wait_state "$J" CANCELED 30
step "done"
