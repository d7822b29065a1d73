#!/usr/bin/env bash
# test_topn_sinks.sh -- issue 13 point 6: the tutorial's hot items (examples/topn.so)
# writing its top N into PostgreSQL (upsert on window_end, rank) and Redis (HSET
# hot-items:<window_end> <rank> "<item>,<count>"), both real servers started here
# (servers_lib.sh), on one JobManager and 3 TaskManagers of one slot each, checkpoints every
# 200 ms. The source is held on the gate until a TaskManager has been killed with -9 and
# the job restored; after it finished, the table and the hashes must equal, row for row,
# the top N that tests/cluster/ref/topn_ref.py computes from the input (no Flint code):
# both sinks are idempotent, so the replay after the kill leaves exactly the reference.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"
# shellcheck source=tests/cluster/servers_lib.sh
. "$(dirname -- "$0")/servers_lib.sh"

[ -f "$EX/topn.so" ] || fail "missing $EX/topn.so: run make first"

conf_set taskmanager.numberOfTaskSlots 1
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$TEST_DIR/checkpoints"
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=6
    -D "restart-strategy.fixed-delay.delay=200 ms")

step "start PostgreSQL and redis-server (temp directories, free ports)"
pg_start
sql "CREATE TABLE hot_items (window_end bigint, rank bigint, item bigint, cnt bigint,
                             PRIMARY KEY (window_end, rank))" || fail "cannot create the table"
redis_start

step "start a JobManager and 3 TaskManagers (1 slot each); the input and its reference"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
for _ in 1 2 3; do tm_start; done
IN="$TEST_DIR/userbehavior.csv"
ARGS=(--size-min 20 --slide-min 2 --n 5 --out-of-orderness-ms 60000)
py "$REF/gen_events.py" userbehavior --seed 23 --count 6000 --disorder-ms 60000 --late-pct 0 "$IN" ||
    fail "gen_events.py failed"
py "$REF/topn_ref.py" --input "$IN" "${ARGS[@]}" | sed 's/^\t//' | sort >"$TEST_DIR/expected" ||
    fail "topn_ref.py failed"
[ -s "$TEST_DIR/expected" ] || fail "the reference top N is empty"
wait_for "overview_is 3 3" 10 || fail "cluster not at 3 TaskManagers / 3 slots: $(overview_str)"

gate_args 1500
step "topn -p 3 into PostgreSQL and Redis; kill -9 of a TaskManager mid-stream"
gate_close
submit topn-db run -d -p 3 "${CKPT[@]}" "${GATE[@]}" "$EX/topn.so" --input "$IN" "${ARGS[@]}" \
    --pg-url "$URL" --pg-password "$PGPASS" --redis-port "$RPORT" --redis-password "$RPASS"
J=$JOB_ID
wait_completed "$J" 2 30
tm_kill
tm_start
step "killed TaskManager $KILLED_PID after $(ck "$J" counts.completed) checkpoints; $(sql "SELECT count(*) FROM hot_items") rows so far"
wait_restored "$J" 1 60
gate_open
wait_state "$J" FINISHED 120

sql "SELECT window_end || ',' || rank || ',' || item || ',' || cnt FROM hot_items" | sort \
    >"$TEST_DIR/table"
cmp -s "$TEST_DIR/table" "$TEST_DIR/expected" || {
    diff "$TEST_DIR/expected" "$TEST_DIR/table" | head -n 20 >&2
    fail "PostgreSQL: the table differs from topn_ref.py ($(wc -l <"$TEST_DIR/table") rows, expected $(wc -l <"$TEST_DIR/expected"))"
}
step "PostgreSQL: $(wc -l <"$TEST_DIR/table") rows = the reference, after $(ck "$J" counts.restored) restore(s)"

: >"$TEST_DIR/redis-out"
while read -r key; do
    [ -n "$key" ] || continue
    rcli HGETALL "$key" | paste -d' ' - - | while read -r rank val; do
        echo "${key#hot-items:},$rank,$val"
    done >>"$TEST_DIR/redis-out"
done < <(rcli --scan --pattern 'hot-items:*')
sort -o "$TEST_DIR/redis-out" "$TEST_DIR/redis-out"
cmp -s "$TEST_DIR/redis-out" "$TEST_DIR/expected" || {
    diff "$TEST_DIR/expected" "$TEST_DIR/redis-out" | head -n 20 >&2
    fail "Redis: the hashes differ from topn_ref.py ($(wc -l <"$TEST_DIR/redis-out") fields, expected $(wc -l <"$TEST_DIR/expected"))"
}
step "Redis: $(rcli --scan --pattern 'hot-items:*' | wc -l) hashes, $(wc -l <"$TEST_DIR/redis-out") fields = the reference"
step "done"
