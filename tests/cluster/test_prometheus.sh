#!/usr/bin/env bash
# test_prometheus.sh -- issue 12 points 5 and 6: every daemon's Prometheus reporter, scraped
# by a real Prometheus server (Debian's prometheus, started here on a free loopback port
# with its data in the test's directory).
#
# The cluster is configured as Flink's: metrics.reporters: prom,
# metrics.reporter.prom.factory.class and metrics.reporter.prom.port as a range, which the
# JobManager and the TaskManager share (each takes the first free port; their logs say
# which). Prometheus scrapes both every second.
#
# The job: WordCount at -p 2 over this repository's README.md, its source held at the end
# of its input by the gate file (checkpoint_lib.sh): it has emitted every word but stays
# RUNNING, so its tasks, and their counters, stay on the TaskManager's /metrics. Through
# Prometheus' HTTP API, the sum over subtasks of
#   flint_taskmanager_job_task_numRecordsOut of the source vertex, and
#   flint_taskmanager_job_task_numRecordsIn of the counting vertex
# both equal the number of words of README.md as Python counts them (runs of ASCII letters
# and digits), flint_jobmanager_numRegisteredTaskManagers is 1, and the job's
# flint_jobmanager_job_numRestarts is 0 and its flint_jobmanager_job_uptime above 0.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

PROMETHEUS=$(command -v prometheus) || {
    echo "  the Debian package prometheus is not installed (make deps installs it)"
    exit 77
}
[ -f "$EX/wordcount.so" ] || fail "missing $EX/wordcount.so: run make first"

conf_set taskmanager.numberOfTaskSlots 2
prom_conf

step "start a JobManager and a TaskManager with the Prometheus reporter ($PROM_RANGE)"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 2" 10 || fail "cluster not at 1 TaskManager / 2 slots: $(overview_str)"

wait_for '[ -n "$(reporter_port jobmanager)" ] && [ -n "$(reporter_port taskmanager)" ]' 10 ||
    fail "no 'Started PrometheusReporter' in the daemons' logs"
JM_PROM=$(reporter_port jobmanager)
TM_PROM=$(reporter_port taskmanager)
[ "$JM_PROM" != "$TM_PROM" ] || fail "both daemons say they took port $JM_PROM"
step "JobManager's reporter on $JM_PROM, TaskManager's on $TM_PROM"
curl -s --max-time 3 "http://127.0.0.1:$TM_PROM/metrics" |
    grep -q '^flint_taskmanager_Status_Process_Memory_RSS{' ||
    fail "the TaskManager's /metrics has no process RSS"

step "start Prometheus scraping both every second"
PROM_PORT=$(free_port)
mkdir -p "$TEST_DIR/prometheus"
cat >"$TEST_DIR/prometheus/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: flint
    static_configs:
      - targets: ['127.0.0.1:$JM_PROM', '127.0.0.1:$TM_PROM']
EOF
"$PROMETHEUS" --config.file="$TEST_DIR/prometheus/prometheus.yml" \
    --storage.tsdb.path="$TEST_DIR/prometheus/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$TEST_DIR/prometheus/log" 2>&1 &
PROM_PID=$!
stop_prometheus() {
    kill "$PROM_PID" 2>/dev/null
    wait "$PROM_PID" 2>/dev/null
}
CLEANUP_HOOKS+=(stop_prometheus)

gt_zero() {
    awk -v a="$1" 'BEGIN { exit !(a + 0 > 0) }'
}

# query EXPR: the value of an instant query's first sample ("" when none).
query() {
    curl -s --max-time 3 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
        py -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    print("")'
}
wait_for '[ "$(query "sum(up)")" = 2 ]' 60 ||
    fail "Prometheus does not see both targets up: $(tail -5 "$TEST_DIR/prometheus/log")"
[ "$(query flint_jobmanager_numRegisteredTaskManagers)" = 1 ] ||
    fail "flint_jobmanager_numRegisteredTaskManagers: $(query flint_jobmanager_numRegisteredTaskManagers)"

WORDS=$(py -c '
import re, sys
print(len(re.findall(rb"[A-Za-z0-9]+", open(sys.argv[1], "rb").read())))' "$FLINT_HOME/README.md")
step "WordCount over README.md ($WORDS words by Python), its source held at its end"
gate_args 0
gate_close
submit wc run -d -p 2 "${GATE[@]}" "$EX/wordcount.so" --input "$FLINT_HOME/README.md" \
    --output "$TEST_DIR/out"
wait_state "$JOB_ID" RUNNING 30
SRC='flint_taskmanager_job_task_numRecordsOut{task_name=~"file-input.*"}'
CNT='flint_taskmanager_job_task_numRecordsIn{task_name=~"counter.*"}'
wait_for '[ "$(query "sum($SRC)")" = "$WORDS" ] && [ "$(query "sum($CNT)")" = "$WORDS" ]' 60 ||
    fail "after 60 s Prometheus has source numRecordsOut $(query "sum($SRC)") and counter numRecordsIn $(query "sum($CNT)"), expected $WORDS"
step "Prometheus: source numRecordsOut = counter numRecordsIn = $WORDS (after ${WAITED_MS} ms)"
N=$(query "count($CNT)")
[ "$N" = 2 ] || fail "expected 2 counter subtasks in Prometheus, got $N"
LABELS=$(curl -s -G "http://127.0.0.1:$PROM_PORT/api/v1/series" --data-urlencode "match[]=$CNT")
for l in job_id job_name task_name subtask_index tm_id host; do
    grep -q "\"$l\"" <<<"$LABELS" || fail "label $l missing: $LABELS"
done
# the JobManager's target may not have been scraped since the job appeared: wait for it
RESTARTS="flint_jobmanager_job_numRestarts{job_id=\"$JOB_ID\"}"
wait_for '[ -n "$(query "$RESTARTS")" ]' 10 || fail "Prometheus has no $RESTARTS after 10 s"
R=$(query "$RESTARTS")
[ "$R" = 0 ] || fail "flint_jobmanager_job_numRestarts of the job: '$R', expected 0"
wait_for "gt_zero \"\$(query 'flint_jobmanager_job_uptime{job_id=\"$JOB_ID\"}')\"" 10 ||
    fail "flint_jobmanager_job_uptime of the running job is not above 0"
gate_open
wait_state "$JOB_ID" FINISHED 60
step "passed"
