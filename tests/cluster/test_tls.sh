#!/usr/bin/env bash
# test_tls.sh -- issue 15 points 1 and 7: TLS on every port. Certificates from
# bin/flint-ssl.sh; a JobManager and 2 TaskManagers of one slot with mutual TLS on RPC and
# the data plane (security.ssl.internal.*) and TLS with client certificates on REST
# (security.ssl.rest.*, authentication-enabled):
#   * WordCount at -p 2 with checkpoints and the exactly-once file sink, submitted by the CLI
#     over TLS: its records cross between the TaskManagers over TLS; output exact;
#   * REST: curl with the CA and a client certificate answers; without a client certificate,
#     or over plain HTTP, it is refused, and the JobManager keeps serving;
#   * a TaskManager with a certificate of another CA is refused (the JobManager names it in
#     its log), never registers; plain-text garbage on the JobManager's RPC port and on a
#     TaskManager's data port is refused; the cluster keeps running;
#   * a daemon whose key file is missing refuses to start, naming the file.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

command -v openssl >/dev/null 2>&1 || fail "the openssl command is missing (make deps installs it)"
SSL="$TEST_DIR/ssl"
"$BIN/flint-ssl.sh" "$SSL" internal rest client >/dev/null || fail "flint-ssl.sh failed"
"$BIN/flint-ssl.sh" "$TEST_DIR/rogue" internal >/dev/null || fail "flint-ssl.sh (rogue) failed"
conf_set security.ssl.internal.enabled true
conf_set security.ssl.internal.key "$SSL/internal.key"
conf_set security.ssl.internal.cert "$SSL/internal.pem"
conf_set security.ssl.internal.trust-certificates "$SSL/ca.pem"
conf_set security.ssl.rest.enabled true
conf_set security.ssl.rest.authentication-enabled true
conf_set security.ssl.rest.key "$SSL/rest.key"
conf_set security.ssl.rest.cert "$SSL/rest.pem"
conf_set security.ssl.rest.trust-certificates "$SSL/ca.pem"
conf_set taskmanager.numberOfTaskSlots 1
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
# the CLI presents the client certificate (its own configuration directory)
CLI_CONF="$TEST_DIR/cli-conf"
mkdir -p "$CLI_CONF"
cp -- "$FLINT_CONF_DIR"/* "$CLI_CONF"/
conf_set security.ssl.rest.key "$SSL/client.key" "$CLI_CONF"
conf_set security.ssl.rest.cert "$SSL/client.pem" "$CLI_CONF"

rest() {
    curl -s --max-time 3 --cacert "$SSL/ca.pem" --cert "$SSL/client.pem" --key "$SSL/client.key" \
        -X "$1" "https://127.0.0.1:$REST_PORT$2"
}
flint() {
    FLINT_CONF_DIR="$CLI_CONF" "$BIN/flint" "$@"
}

step "a JobManager and 2 TaskManagers, TLS on RPC, data and REST"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
tm_start
wait_for "overview_is 2 2" 10 || fail "cluster not at 2 TaskManagers over TLS: $(overview_str)"

TEXT="$TEST_DIR/text.txt"
py "$REF/gen_text.py" --seed 15 --bytes $((2 << 20)) "$TEXT" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$TEXT" >"$TEST_DIR/text.counts" || fail "word_counts.py failed"
submit wc run -p 2 -D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$TEST_DIR/ck" \
    "$EX/wordcount.so" --input "$TEXT" --output "$TEST_DIR/wc"
part_args r1 "$TEST_DIR/wc"
res=$("$WC_CHECK" "$TEST_DIR/text.counts" 1 exact "${PARTS[@]}" 2>&1) ||
    fail "wordcount over TLS: the output differs from the reference:
$res"
remote=$(rest GET "/jobs/$JOB_ID" | py -c '
import json, sys
print(json.load(sys.stdin)["vertices"][1]["metrics"]["read-bytes"])')
[ "${remote:-0}" -gt 0 ] || fail "no bytes read by the counters: did the shuffle run?"
step "wordcount -p 2 over TLS (CLI, RPC, data plane, REST): $res"

# ---------------------------------------------------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 --cacert "$SSL/ca.pem" \
    "https://127.0.0.1:$REST_PORT/overview")
[ "$code" = 000 ] || fail "REST without a client certificate answered $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$REST_PORT/overview")
[ "$code" != 200 ] || fail "REST over plain HTTP answered 200"
overview_is 2 2 || fail "the JobManager stopped serving after refused REST clients: $(overview_str)"
step "REST refuses a client without a certificate and plain HTTP; keeps serving"

# ---------------------------------------------------------------------------------------
"$BIN/taskmanager.sh" start -D "security.ssl.internal.key=$TEST_DIR/rogue/internal.key" \
    -D "security.ssl.internal.cert=$TEST_DIR/rogue/internal.pem" \
    -D "security.ssl.internal.trust-certificates=$SSL/ca.pem" >/dev/null ||
    fail "taskmanager.sh start (other CA) failed"
wait_for "grep -q 'refusing the RPC connection from 127.0.0.1:[0-9]*: .*certificate' '$(jm_log)'" 10 ||
    fail "the JobManager did not refuse the TaskManager of another CA: $(grep -i refus "$(jm_log)" | tail -n 2)"
overview_is 2 2 || fail "a TaskManager of another CA registered: $(overview_str)"
step "a TaskManager of another CA is refused: $(grep -m 1 -o 'refusing the RPC connection from .*' "$(jm_log)" | head -c 160)"
"$BIN/taskmanager.sh" stop >/dev/null 2>&1

# plain-text garbage on the RPC and a data port
data_port=$(sed -n 's/.*started: .* data bound to [^ ]*:\([0-9]*\),.*/\1/p' "$(log_of taskmanager 0)")
[ -n "$data_port" ] || fail "no data port in the TaskManager's log"
py -c '
import socket, sys
for port in sys.argv[1:]:
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=3)
    s.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"\x00garbage" * 64)
    try:
        s.recv(100)
    except Exception:
        pass
    s.close()' "$JM_RPC_PORT" "$data_port" || fail "cannot connect to the RPC or data port"
overview_is 2 2 || fail "the cluster changed after plain text on its TLS ports: $(overview_str)"
submit wc2 run -p 2 "$EX/wordcount.so" --input "$TEXT" --output "$TEST_DIR/wc2"
step "plain text on the TLS RPC and data ports is refused; a second job runs"

# ---------------------------------------------------------------------------------------
out=$("$BIN/taskmanager.sh" start -D "security.ssl.internal.key=$TEST_DIR/nowhere.key" 2>&1) &&
    fail "a TaskManager without its key file started"
grep -q "$TEST_DIR/nowhere.key" <<<"$out$(cat "$FLINT_LOG_DIR"/*taskmanager-2*.log 2>/dev/null)" ||
    fail "the refusal does not name the missing key file: $out"
step "a TaskManager whose key file is missing refuses to start, naming it"
step "done"
