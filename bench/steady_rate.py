"""steady_rate.py PORT JOB_ID [FROM] -- for the job benchmarks (bench/checkpoints.sh,
bench/s3_large_state.sh, bench/ha.sh): follows a running job through REST until it ends and
prints "rate runtime_ms checkpoints records": records is the second vertex's final
read-records; rate is the steady throughput, the slope (least squares) of
the second vertex's read-records over time between 10 % (or FROM, a fraction) and 90 % of its final count,
sampled every 50 ms (set metrics.report-interval to 50 ms), so the job's start and its
final checkpoint are not in it. Exits non-zero when the job does not finish, or when the
steady part has fewer than 4 distinct samples (use a larger input)."""
import json
import sys
import time
import urllib.request

port, jid = sys.argv[1], sys.argv[2]
lo = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1


def get(path):
    with urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path), timeout=3) as r:
        return json.load(r)


samples = []
t_end = time.time() + 3600
while time.time() < t_end:
    j = get("/jobs/" + jid)
    samples.append((time.time(), j["vertices"][1]["metrics"]["read-records"]))
    if j["state"] in ("FINISHED", "FAILED", "CANCELED"):
        break
    time.sleep(0.05)
if j["state"] != "FINISHED":
    sys.exit("bench: job %s ended %s" % (jid, j["state"]))
total = samples[-1][1]
mid = [(t, n) for t, n in samples if lo * total <= n <= 0.9 * total]
# distinct metric updates only (the same value sampled twice says nothing new)
pts, last = [], None
for t, n in mid:
    if n != last:
        pts.append((t, n))
        last = n
if len(pts) < 4:
    sys.exit("bench: only %d samples in the steady part of job %s: use a larger input" % (len(pts), jid))
mt = sum(t for t, _ in pts) / len(pts)
mn = sum(n for _, n in pts) / len(pts)
slope = sum((t - mt) * (n - mn) for t, n in pts) / sum((t - mt) ** 2 for t, _ in pts)
ck = get("/jobs/%s/checkpoints" % jid)["counts"]["completed"]
print("%.0f %d %d %d" % (slope, j["duration"], ck, total))
