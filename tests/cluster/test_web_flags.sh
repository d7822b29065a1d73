#!/usr/bin/env bash
# test_web_flags.sh -- issue 12 point 2: Flink's web.cancel.enable and web.submit.enable,
# both false, on a real cluster, as Flink behaves:
#
#   * GET /config says features.web-cancel false and web-submit false;
#   * the dashboard's job page of a running job (Chromium's DOM) has no Cancel button,
#     while it still has its other action (Trigger savepoint), so the page was drawn;
#   * the REST cancel stays, as in Flink (its JobCancellationHandler is registered whatever
#     web.cancel.enable says: the flag only hides the button, and flint cancel uses the
#     endpoint): PATCH /jobs/J?mode=cancel is 202 and the job ends CANCELED;
#   * there is no upload endpoint: POST /jars/upload is a 404 with {"errors":[...]}.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

CHROMIUM=$(command -v chromium) || {
    echo "  Debian's chromium is not installed (make deps installs it)"
    exit 77
}
[ -f "$EX/wide_graph.so" ] || fail "missing $EX/wide_graph.so: run make first"
conf_set web.cancel.enable false
conf_set web.submit.enable false
conf_set web.refresh-interval "1 s"

step "start a JobManager (web.cancel.enable: false, web.submit.enable: false) and a TaskManager"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 1" 10 || fail "cluster not at 1 TaskManager: $(overview_str)"
URL="http://127.0.0.1:$REST_PORT"
[ "$(rest GET /config | json_get features.web-cancel)" = False ] || fail "/config: $(rest GET /config)"
[ "$(rest GET /config | json_get features.web-submit)" = False ] || fail "/config: $(rest GET /config)"

step "a running job's page has no Cancel button"
submit wide run -d -p 1 "$EX/wide_graph.so" --vertices 3
J=$JOB_ID
wait_state "$J" RUNNING 30
timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --virtual-time-budget=3000 \
    --dump-dom "$URL/#/jobs/$J" >"$TEST_DIR/job.html" 2>/dev/null || fail "chromium --dump-dom failed"
grep -q 'id="savepoint"' "$TEST_DIR/job.html" ||
    fail "the job page was not drawn with its actions: $(grep -o 'id="error"[^<]*<' "$TEST_DIR/job.html")"
! grep -q 'id="cancel"' "$TEST_DIR/job.html" || fail "the Cancel button is shown with web.cancel.enable: false"

step "the REST cancel stays, as in Flink; no upload endpoint"
st=$(curl -s -o "$TEST_DIR/up" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' "$URL/jars/upload")
[ "$st" = 404 ] && grep -q '"errors"' "$TEST_DIR/up" || fail "POST /jars/upload: $st $(cat "$TEST_DIR/up")"
st=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' "$URL/jobs/$J?mode=cancel")
[ "$st" = 202 ] || fail "PATCH /jobs/$J?mode=cancel: $st"
wait_state "$J" CANCELED 30
step "passed"
