#!/usr/bin/env bash
# test_postgres.sh -- issue 13 points 4, 8 and 9: the PostgreSQL sink against a real
# PostgreSQL server started here (initdb in a temp directory, a free loopback port, password
# authentication; as the postgres user when run as root), on a cluster of one JobManager and
# 3 TaskManagers of one slot each; checkpoints every 200 ms, restart strategy fixed-delay.
#
#   * exactly-once (PREPARE TRANSACTION / COMMIT PREPARED): examples/pg_count.so writes one
#     row (key, seq, count) per record of KEYS x PER_KEY; a TaskManager is killed (kill -9),
#     then the sink's connections are terminated (pg_terminate_backend), then a TaskManager
#     is killed again, the source held on the gate until all three faults are in. The table
#     must hold exactly the rows an independent Python reference lists (each once), and no
#     prepared transaction may be left (pg_prepared_xacts empty), not even one prepared
#     under the job's name for a later checkpoint (what a crashed attempt leaves), which the
#     test adds.
#   * upsert (at-least-once, key-columns k): one kill; each key's row ends with count PER_KEY.
#   * a wrong password: the job fails naming the sink and the url, and the password is in no
#     log.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"
# shellcheck source=tests/cluster/servers_lib.sh
. "$(dirname -- "$0")/servers_lib.sh"

[ -f "$EX/pg_count.so" ] || fail "missing $EX/pg_count.so: run make first"

conf_set taskmanager.numberOfTaskSlots 1
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$TEST_DIR/checkpoints"
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=8
    -D "restart-strategy.fixed-delay.delay=200 ms")

step "start PostgreSQL (initdb in a temp directory, a free port)"
pg_start
sql "CREATE TABLE counts (k text, seq bigint, cnt bigint);
     CREATE TABLE counts_up (k text PRIMARY KEY, cnt bigint)" || fail "cannot create the tables"

step "start a JobManager and 3 TaskManagers (1 slot each)"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
for _ in 1 2 3; do tm_start; done
wait_for "overview_is 3 3" 10 || fail "cluster not at 3 TaskManagers / 3 slots: $(overview_str)"

KEYS=16
PER_KEY=1500
py - "$KEYS" "$PER_KEY" >"$TEST_DIR/expected" <<'EOF'
import sys
keys, per = int(sys.argv[1]), int(sys.argv[2])
print("\n".join(sorted(f"k{k}|{s}|{s + 1}" for k in range(keys) for s in range(per))))
EOF

# fault N KIND J TABLE: waits for two more completed checkpoints, injects the fault, waits for
# restore N.
fault() {
    local n=$1 kind=$2 j=$3 table=$4 target
    target=$(($(ck "$j" counts.completed) + 2))
    wait_completed "$j" "$target" 60
    if [ "$kind" = kill ]; then
        tm_kill
        tm_start
        what="kill -9 of TaskManager $KILLED_PID"
    else
        sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE usename = 'flint' AND pid <> pg_backend_pid() AND backend_type = 'client backend'" \
            >"$TEST_DIR/terminated" || fail "pg_terminate_backend failed"
        what="pg_terminate_backend of $(cat "$TEST_DIR/terminated") sink connections"
    fi
    step "fault $n: $what after $target checkpoints, $(sql "SELECT count(*) FROM $table") rows in $table"
    wait_restored "$j" "$n" 60
}

gate_args 4000
step "exactly-once: $((KEYS * PER_KEY)) rows at -p 3, a kill, terminated connections, a kill"
gate_close
submit pg-eos run -d -p 3 "${CKPT[@]}" "${GATE[@]}" "$EX/pg_count.so" --url "$URL" \
    --password "$PGPASS" --table counts --guarantee exactly-once --keys $KEYS --per-key $PER_KEY
J=$JOB_ID
# what a crashed attempt would have left: a transaction prepared at a later checkpoint than
# any restore can come from; the restore must roll it back (its row never shows)
sql "BEGIN; INSERT INTO counts VALUES ('stale', 0, 0); PREPARE TRANSACTION 'flint-$J-0-999999'" ||
    fail "cannot prepare the stale transaction"
fault 1 kill "$J" counts
fault 2 terminate "$J" counts
fault 3 kill "$J" counts
gate_open
wait_state "$J" FINISHED 120
sql "SELECT k || '|' || seq || '|' || cnt FROM counts" | sort >"$TEST_DIR/table"
cmp -s "$TEST_DIR/table" "$TEST_DIR/expected" || {
    diff "$TEST_DIR/expected" "$TEST_DIR/table" | head -n 20 >&2
    fail "exactly-once: the table differs from the reference ($(wc -l <"$TEST_DIR/table") rows, expected $(wc -l <"$TEST_DIR/expected"))"
}
left=$(sql "SELECT count(*) FROM pg_prepared_xacts")
assert_eq "$left" 0 "prepared transactions left after the job"
step "exactly-once: $(wc -l <"$TEST_DIR/table") rows each once after $(ck "$J" counts.restored) restores; no prepared transaction left"

step "upsert (at-least-once, key-columns k): one kill"
gate_close
submit pg-upsert run -d -p 3 "${CKPT[@]}" "${GATE[@]}" "$EX/pg_count.so" --url "$URL" \
    --password "$PGPASS" --table counts_up --key-columns k --guarantee at-least-once \
    --keys $KEYS --per-key $PER_KEY --max-rows 37
J=$JOB_ID
fault 1 kill "$J" counts_up
gate_open
wait_state "$J" FINISHED 120
got=$(sql "SELECT count(*) || ' ' || min(cnt) || ' ' || max(cnt) FROM counts_up")
assert_eq "$got" "$KEYS $PER_KEY $PER_KEY" "upsert: keys, min and max count"
step "upsert: $KEYS rows, each with count $PER_KEY"

step "bad input: a wrong password"
submit pg-badpw run -d -p 1 "$EX/pg_count.so" --url "$URL" --password wrong-pw-4711 \
    --table counts --keys 2 --per-key 10
J=$JOB_ID
wait_for "is_terminal \$(job_state $J)" 60 || fail "the job with a wrong password did not end"
assert_eq "$(job_state "$J")" FAILED "the job with a wrong password"
grep -q "PostgreSQL sink (url $URL): cannot connect: .*password authentication failed" "$(jm_log)" ||
    fail "no clear message for the wrong password in the JobManager's log"
if grep -rq "wrong-pw-4711" "$TEST_DIR/log"; then
    fail "the password is in a log"
fi
step "bad input: FAILED with the sink, the url and the server's reason; the password in no log"
