#!/usr/bin/env bash
# test_redis.sh -- issue 13 points 5, 8 and 9: the Redis sink against a real redis-server
# started here (a free loopback port, a password, no persistence), on a cluster of one
# JobManager and 3 TaskManagers of one slot each; checkpoints every 200 ms.
#
#   * SET (idempotent) by examples/redis_count.so: KEYS x PER_KEY records, count per key;
#     mid-stream the server drops the sink's connections (CLIENT KILL), which the sink
#     reconnects and resends without failing the job (the job is not restored for it), then
#     a TaskManager is killed (kill -9): after the replay every key holds PER_KEY.
#   * ZADD (idempotent): one kill; every member's score is PER_KEY.
#   * bad input: a wrong password fails the job naming the sink, and the password is in no
#     log.
# The source is held on the gate (testing.source.gate-file) until the faults are in.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"
# shellcheck source=tests/cluster/servers_lib.sh
. "$(dirname -- "$0")/servers_lib.sh"

[ -f "$EX/redis_count.so" ] || fail "missing $EX/redis_count.so: run make first"

conf_set taskmanager.numberOfTaskSlots 1
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$TEST_DIR/checkpoints"
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=6
    -D "restart-strategy.fixed-delay.delay=200 ms")

step "start redis-server on a free port"
redis_start

step "start a JobManager and 3 TaskManagers (1 slot each)"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
for _ in 1 2 3; do tm_start; done
wait_for "overview_is 3 3" 10 || fail "cluster not at 3 TaskManagers / 3 slots: $(overview_str)"

KEYS=16
PER_KEY=1500
# the reference: every key's final count
py - "$KEYS" "$PER_KEY" >"$TEST_DIR/expected" <<'EOF2'
import sys
keys, per = int(sys.argv[1]), int(sys.argv[2])
print("\n".join(sorted(f"k{k} {per}" for k in range(keys))))
EOF2

# run_job NAME COMMAND CLIENT_KILL: the job with a kill -9 (and, CLIENT_KILL=1, before it
# the sink's connections killed by the server).
run_job() {
    local name=$1 cmd=$2 ckill=$3 j target killed
    gate_close
    submit "$name" run -d -p 3 "${CKPT[@]}" "${GATE[@]}" "$EX/redis_count.so" --port "$RPORT" \
        --password "$RPASS" --command "$cmd" --keys $KEYS --per-key $PER_KEY --max-rows 50
    j=$JOB_ID
    if [ "$ckill" = 1 ]; then
        target=$(($(ck "$j" counts.completed) + 2))
        wait_completed "$j" "$target" 60
        killed=$(rcli CLIENT KILL TYPE normal SKIPME yes)
        step "$name: the server killed $killed client connections after $target checkpoints"
        target=$(($(ck "$j" counts.completed) + 3))
        wait_completed "$j" "$target" 60
        assert_eq "$(ck "$j" counts.restored)" 0 "$name: restores after the connections were killed (the sink reconnects)"
    fi
    target=$(($(ck "$j" counts.completed) + 2))
    wait_completed "$j" "$target" 60
    tm_kill
    tm_start
    step "$name: kill -9 of TaskManager $KILLED_PID after $target checkpoints"
    wait_restored "$j" 1 60
    gate_open
    wait_state "$j" FINISHED 120
}

gate_args 4000
step "SET: a client kill, then a TaskManager killed"
run_job redis-set set 1
for k in $(seq 0 $((KEYS - 1))); do echo "k$k $(rcli GET "count:k$k")"; done | sort >"$TEST_DIR/set.got"
cmp -s "$TEST_DIR/set.got" "$TEST_DIR/expected" || {
    diff "$TEST_DIR/expected" "$TEST_DIR/set.got" | head >&2
    fail "SET: the values differ from the reference"
}
step "SET: every key holds $PER_KEY after the replay"

step "ZADD: a TaskManager killed"
run_job redis-zadd zadd 0
rcli ZRANGE ranking 0 -1 WITHSCORES | paste -d' ' - - | sort >"$TEST_DIR/zadd.got"
cmp -s "$TEST_DIR/zadd.got" "$TEST_DIR/expected" || {
    diff "$TEST_DIR/expected" "$TEST_DIR/zadd.got" | head >&2
    fail "ZADD: the scores differ from the reference"
}
step "ZADD: every member scores $PER_KEY after the replay"

step "bad input: a wrong password"
submit redis-badpw run -d -p 1 "$EX/redis_count.so" --port "$RPORT" --password wrong-pw-0815 \
    --keys 2 --per-key 10
J=$JOB_ID
wait_for "is_terminal \$(job_state $J)" 60 || fail "the job with a wrong password did not end"
assert_eq "$(job_state "$J")" FAILED "the job with a wrong password"
grep -q "Redis sink: cannot connect to host 127.0.0.1 port $RPORT: AUTH: WRONGPASS" "$(jm_log)" ||
    fail "no clear message for the wrong password in the JobManager's log"
if grep -rq "wrong-pw-0815" "$TEST_DIR/log"; then
    fail "the password is in a log"
fi
step "bad input: FAILED naming the sink, the server and its reason; the password in no log"
