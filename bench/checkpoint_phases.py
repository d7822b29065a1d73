"""checkpoint_phases.py PORT JOB_ID -- for bench/s3_large_state.sh: the checkpoints a job's
REST history still holds (web.checkpoints.history, the newest), and for each the
synchronous and asynchronous parts of its second vertex's subtasks (Flink's
/jobs/:id/checkpoints/details/:cp/subtasks/:vertex); prints "sync_ms async_ms n": the
medians over those checkpoints of the slowest subtask's parts, and how many there were
("0 0 0" when none)."""
import json
import sys
import urllib.request

port, jid = sys.argv[1], sys.argv[2]


def get(path):
    with urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path), timeout=5) as r:
        return json.load(r)


def median(v):
    v = sorted(v)
    return v[(len(v) - 1) // 2] if v else 0


vertex = get("/jobs/" + jid)["vertices"][1]["id"]
sync, async_ = [], []
for h in get("/jobs/%s/checkpoints" % jid).get("history", []):
    if h.get("status") != "COMPLETED":
        continue
    d = get("/jobs/%s/checkpoints/details/%s/subtasks/%s" % (jid, h["id"], vertex))
    parts = [s["checkpoint"] for s in d["subtasks"] if "checkpoint" in s]
    if parts:
        sync.append(max(p["sync"] for p in parts))
        async_.append(max(p["async"] for p in parts))
print("%d %d %d" % (median(sync), median(async_), len(sync)))
