#!/usr/bin/env bash
# test_tokens.sh -- issue 15 points 2 and 8: REST bearer tokens with roles
# (security.rest.auth.tokens). Three tokens, read, submit and admin:
#   * no token, or an unknown one: 401 with WWW-Authenticate and Flink's {"errors": [...]};
#   * read may GET, not submit (403); submit may submit (the CLI with FLINT_REST_TOKEN runs a
#     job) but not cancel or take a savepoint (403); admin may do everything;
#   * the CLI with a token file (security.rest.auth.token-file) works too;
#   * no token appears in the JobManager's log or in /jobmanager/config;
#   * savepoint targets must lie under state.savepoints.allowed-dirs: '..', a symlink out,
#     another directory and a relative path are refused (403), nothing is created;
#   * a JobManager whose REST listens beyond this machine without TLS or tokens warns.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

rand() { py -c 'import secrets; print(secrets.token_hex(20))'; }
T_READ=$(rand)
T_SUBMIT=$(rand)
T_ADMIN=$(rand)
TOKENS="$TEST_DIR/tokens"
printf '# role token\nread %s\nsubmit %s\n\nadmin %s\n' "$T_READ" "$T_SUBMIT" "$T_ADMIN" >"$TOKENS"
chmod 600 "$TOKENS"
conf_set security.rest.auth.tokens "$TOKENS"
# savepoints only under $TEST_DIR/sp (issue 15 point 3)
mkdir -p "$TEST_DIR/sp"
ln -s /tmp "$TEST_DIR/sp/out"
conf_set state.savepoints.allowed-dirs "$TEST_DIR/sp"

# code TOKEN METHOD PATH [BODY]: the HTTP status (token "" = none); the body in $TEST_DIR/body
code() {
    local auth=() data=()
    [ -n "$1" ] && auth=(-H "Authorization: Bearer $1")
    [ $# -ge 4 ] && data=(-H 'Content-Type: application/json' -d "$4")
    [ "$2" != GET ] && [ $# -lt 4 ] && data=(-H 'Content-Type: application/json')
    curl -s --max-time 5 -o "$TEST_DIR/body" -w '%{http_code}' "${auth[@]}" "${data[@]}" \
        -X "$2" "http://127.0.0.1:$REST_PORT$3"
}
rest() {
    curl -s --max-time 3 -H "Authorization: Bearer $T_READ" -X "$1" "http://127.0.0.1:$REST_PORT$2"
}
expect() {
    local want=$1 got
    shift
    got=$(code "$@")
    [ "$got" = "$want" ] || fail "$2 $3 with ${1:+a token}${1:-no token}: HTTP $got, expected $want: $(cat "$TEST_DIR/body")"
}

step "a JobManager with tokens, a TaskManager"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
wait_for "overview_is 1 1" 10 || fail "cluster not up: $(overview_str)"

expect 401 "" GET /overview
grep -q '"errors"' "$TEST_DIR/body" || fail "the 401 is not Flink-shaped JSON: $(cat "$TEST_DIR/body")"
hdr=$(curl -s -D - -o /dev/null --max-time 3 "http://127.0.0.1:$REST_PORT/overview")
grep -qi '^WWW-Authenticate: Bearer' <<<"$hdr" || fail "no WWW-Authenticate on a 401: $hdr"
expect 401 "$(rand)" GET /overview
for t in "$T_READ" "$T_SUBMIT" "$T_ADMIN"; do expect 200 "$t" GET /overview; done
step "no or an unknown token: 401; every role may read"

# submit: read may not, submit may (through the CLI)
FLINT_REST_TOKEN=$T_READ "$FLINT" run -d "$EX/keyed_sum.so" >"$TEST_DIR/read-run.out" 2>&1 &&
    fail "a read token submitted a job"
grep -q "403\|may not POST /jobs" "$TEST_DIR/read-run.out" ||
    fail "the CLI with a read token does not say why it was refused: $(cat "$TEST_DIR/read-run.out")"
gate_args 0
gate_close
out=$(FLINT_REST_TOKEN=$T_SUBMIT "$FLINT" run -d "${GATE[@]}" -D "execution.checkpointing.interval=200 ms" \
    -D "state.checkpoints.dir=$TEST_DIR/ck" "$EX/seqcheck.so" --keys 4 --per-key 100000000 \
    --rate 1000 2>&1) || fail "the CLI with a submit token failed: $out"
J=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' <<<"$out")
[ -n "$J" ] || fail "no job id: $out"
wait_state "$J" RUNNING 20
step "read may not submit (403, and the CLI says so); submit may (job $J)"

# admin only: savepoint and cancel
expect 403 "$T_SUBMIT" POST "/jobs/$J/savepoints" "{\"target-directory\": \"$TEST_DIR/sp\"}"
grep -q "may not POST" "$TEST_DIR/body" || fail "the 403 does not say why: $(cat "$TEST_DIR/body")"
expect 403 "$T_READ" PATCH "/jobs/$J?mode=cancel"
expect 403 "$T_SUBMIT" PATCH "/jobs/$J?mode=cancel"
for bad in "$TEST_DIR/sp/../evil" "$TEST_DIR/sp/out/evil" /etc/flint-evil "$TEST_DIR/elsewhere" relative/dir; do
    expect 403 "$T_ADMIN" POST "/jobs/$J/savepoints" "{\"target-directory\": \"$bad\"}"
    grep -q "refused" "$TEST_DIR/body" || fail "the refusal of $bad does not say why: $(cat "$TEST_DIR/body")"
done
[ ! -e /tmp/evil ] && [ ! -e /etc/flint-evil ] || fail "a refused savepoint directory was created"
expect 202 "$T_ADMIN" POST "/jobs/$J/savepoints" "{\"target-directory\": \"$TEST_DIR/sp/a/b\"}"
# the CLI with a token file
echo "$T_ADMIN" >"$TEST_DIR/admin.token"
chmod 600 "$TEST_DIR/admin.token"
"$FLINT" -D "security.rest.auth.token-file=$TEST_DIR/admin.token" cancel "$J" >"$TEST_DIR/cancel.out" 2>&1 ||
    fail "flint cancel with an admin token file failed: $(cat "$TEST_DIR/cancel.out")"
wait_state "$J" CANCELED 20
gate_open
step "savepoints and cancel need admin (403 for the others); savepoint targets only under state.savepoints.allowed-dirs (.., a symlink out, elsewhere, relative: 403); the CLI cancels with a token file"

# no token in the log or the configuration the REST API shows
for t in "$T_READ" "$T_SUBMIT" "$T_ADMIN"; do
    grep -q "$t" "$FLINT_LOG_DIR"/* && fail "a token appears in the logs"
    rest GET /jobmanager/config | grep -q "$t" && fail "a token appears in /jobmanager/config"
done
step "no token in the logs or /jobmanager/config"

# a JobManager listening beyond this machine without TLS or tokens warns
port=$(free_port)
rport=$(free_port)
OPEN_CONF="$TEST_DIR/open-conf"
mkdir -p "$OPEN_CONF"
cp -- "$FLINT_CONF_DIR"/* "$OPEN_CONF"/
conf_unset security.rest.auth.tokens "$OPEN_CONF"
FLINT_CONF_DIR=$OPEN_CONF "$BIN/jobmanager.sh" start -D "jobmanager.rpc.port=$port" \
    -D "rest.port=$rport" -D rest.bind-address=0.0.0.0 >/dev/null 2>&1 ||
    fail "a second JobManager did not start"
wait_for "grep -q 'REST listens on 0.0.0.0, beyond this machine, without TLS and without tokens' $FLINT_LOG_DIR/*jobmanager-1*.log" 10 ||
    fail "no warning for REST open beyond this machine"
step "REST open beyond this machine: $(grep -m1 -o 'REST listens on 0.0.0.0.*' "$FLINT_LOG_DIR"/*jobmanager-1*.log | head -c 150)"
step "done"
