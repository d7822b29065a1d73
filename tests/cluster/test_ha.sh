#!/usr/bin/env bash
# test_ha.sh -- issue 11 point 8, Flink's test_ha_datastream.sh in Flint: one ZooKeeper
# server, two JobManagers (conf/masters, bin/start-cluster.sh in HA mode), two TaskManagers
# of two slots, ZooKeeper session timeout 2 s. Two checkpointed exactly-once jobs at -p 2
# (checkpoints every 200 ms, restart strategy fixed-delay), their sources held on the gate
# file until every fault is done:
#   - seqcheck (examples/seqcheck.c): every key's sequence numbers arrive in order, no gap,
#     no repeat, checked by keyed state; its file sink's output is checked for one FINAL
#     line per key with the full count and no VIOLATION;
#   - wordcount into the file sink, checked against ref/word_counts.py's counts (wc_check).
# Three times: kill -9 of the leader once both jobs completed two more checkpoints, a fresh
# standby started; the standby leads, restores each job exactly once, from a checkpoint at
# least as new as the last completed under the old leader, and its own checkpoints are
# newer still (ids grow across leaders). Then the gate opens, both jobs finish with exact
# output, every slot is free; one more kill -9 of the leader: the next leader shows both
# jobs FINISHED from the job result store, runs neither again, and `flint list -a` (no -m:
# the CLI finds the leader through ZooKeeper) lists them. Prints each takeover's time from
# kill -9 to every task running again.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"
# shellcheck source=tests/cluster/ha_lib.sh
. "$(dirname -- "$0")/ha_lib.sh"

[ -f "$EX/seqcheck.so" ] && [ -f "$EX/wordcount.so" ] || fail "missing example bundles: run make first"
zk_start 1
ha_conf "2 s"
conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
R1=$REST_PORT
R2=$(free_port)
printf '127.0.0.1:%s\n127.0.0.1:%s\n' "$R1" "$R2" >"$FLINT_CONF_DIR/masters"
printf 'localhost\nlocalhost\n' >"$FLINT_CONF_DIR/workers"

step "ZooKeeper at $ZK_QUORUM; start-cluster.sh: JobManagers on REST $R1 and $R2, 2 TaskManagers"
"$BIN/start-cluster.sh" >"$TEST_DIR/start.out" 2>&1 || fail "start-cluster.sh failed: $(cat "$TEST_DIR/start.out")"
grep -q "Starting HA cluster with 2 masters" "$TEST_DIR/start.out" || fail "start-cluster.sh did not start in HA mode: $(cat "$TEST_DIR/start.out")"
JM_PORTS=("$R1" "$R2")
wait_for "LEADER_PORT=\$(leader_port)" 15 || fail "no JobManager leads"
LEADER_PORT=$(leader_port)
wait_for "overview_is 2 4" 15 || fail "cluster not at 2 TaskManagers / 4 slots: $(overview_str)"
other=$R1
[ "$LEADER_PORT" = "$R1" ] && other=$R2
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$other/jobs/overview")
assert_eq "$code" 307 "the standby's answer to GET /jobs/overview"
loc=$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$other/jobs/overview")
assert_eq "$loc" "http://127.0.0.1:$LEADER_PORT/jobs/overview" "the standby's Location"
ha_entry() { # ha_entry PORT KEY: the value of KEY in /jobmanager/config
    curl -s "http://127.0.0.1:$1/jobmanager/config" | py -c '
import json, sys
print([e["value"] for e in json.load(sys.stdin) if e["key"] == sys.argv[1]][0])' "$2"
}
assert_eq "$(ha_entry "$LEADER_PORT" high-availability.type)" zookeeper "the leader's HA mode"
assert_eq "$(ha_entry "$LEADER_PORT" high-availability.leader)" true "the leader's config"
assert_eq "$(ha_entry "$other" high-availability.leader)" false "the standby's config"
assert_eq "$(curl -s "http://127.0.0.1:$other/overview" | json_get leader-address)" \
    "http://127.0.0.1:$LEADER_PORT" "the standby's /overview"
step "leader on REST $LEADER_PORT; the standby redirects (307) to it; /overview and /jobmanager/config say who leads"

TEXT="$TEST_DIR/text.txt"
py "$REF/gen_text.py" --seed 21 --bytes $((1 << 20)) "$TEXT" || fail "gen_text.py failed"
wc_expect "$TEXT"
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$TEST_DIR/ck"
    -D state.checkpoints.num-retained=2 -D restart-strategy.type=fixed-delay
    -D restart-strategy.fixed-delay.attempts=20 -D "restart-strategy.fixed-delay.delay=200 ms")
KEYS=16
PER_KEY=30000
gate_args 5000
gate_close
submit seq run -d -p 2 "${CKPT[@]}" "${GATE[@]}" "$EX/seqcheck.so" --keys $KEYS \
    --per-key $PER_KEY --rate 100000 --output "$TEST_DIR/seq.out"
SEQ=$JOB_ID
submit wc run -d -p 2 "${CKPT[@]}" "${GATE[@]}" "$EX/wordcount.so" --input "$TEXT" \
    --output "$TEST_DIR/wc.out"
WC=$JOB_ID
wait_for "all_tasks_running $SEQ && all_tasks_running $WC" 20 || fail "the jobs do not run: $(rest GET /jobs/overview)"
step "jobs seqcheck $SEQ and wordcount $WC running, sources held on the gate"

TAKEOVERS=()
for round in 1 2 3; do
    before_seq=$(ck "$SEQ" latest.completed.id) || before_seq=0
    before_wc=$(ck "$WC" latest.completed.id) || before_wc=0
    wait_completed "$SEQ" $(($(ck "$SEQ" counts.completed) + 2)) 20
    wait_completed "$WC" $(($(ck "$WC" counts.completed) + 2)) 20
    last_seq=$(ck "$SEQ" latest.completed.id)
    last_wc=$(ck "$WC" latest.completed.id)
    old=$LEADER_PORT
    pid=$(jm_pid "$old") || fail "no pid for the leader on REST $old"
    n_seq=$(wc -w <<<"$(restores "$SEQ")")
    kill -9 "$pid"
    t0=$(now_ms)
    jm_start "$old" # the fresh standby, on the dead one's REST port
    wait_new_leader "$old" 20
    wait_for "all_tasks_running $SEQ && all_tasks_running $WC" 30 ||
        fail "round $round: the jobs do not run again under the new leader: $(rest GET /jobs/overview)"
    took=$(($(now_ms) - t0))
    TAKEOVERS+=("$took")
    r_seq=$(restores "$SEQ")
    r_wc=$(restores "$WC")
    assert_eq "$(wc -w <<<"$r_seq")" $((n_seq + 1)) "round $round: restores of seqcheck ($r_seq)"
    k_seq=${r_seq##* }
    k_wc=${r_wc##* }
    [ "$k_seq" -ge "$last_seq" ] && [ "$k_wc" -ge "$last_wc" ] ||
        fail "round $round: restored from checkpoints $k_seq and $k_wc, older than the latest completed under the old leader ($last_seq, $last_wc)"
    wait_completed "$SEQ" 1 20
    next=$(ck "$SEQ" latest.completed.id)
    wait_for "[ \"\$(ck $SEQ latest.completed.id)\" -gt $k_seq ]" 20 ||
        fail "round $round: no checkpoint after $k_seq under the new leader"
    next=$(ck "$SEQ" latest.completed.id)
    step "round $round: kill -9 of the leader (REST $old, pid $pid): REST $LEADER_PORT leads, every task running ${took} ms later; restored from checkpoints $k_seq (seqcheck, last completed before: $last_seq, first: $before_seq) and $k_wc (wordcount, $last_wc); next checkpoint $next"
done

gate_open
wait_state "$SEQ" FINISHED 90
wait_state "$WC" FINISHED 90
seq_verify seq "$TEST_DIR/seq.out" $KEYS $PER_KEY
[ "$SEQ_OK" = 1 ] || fail "seqcheck: $SEQ_RES"
part_args r1 "$TEST_DIR/wc.out"
res=$("$WC_CHECK" "$TEXT.counts" 1 exact "${PARTS[@]}" 2>&1) || fail "wordcount output differs from the reference:
$res"
wait_for "[ \"\$(rest GET /overview | json_get slots-available)\" = 4 ]" 15 ||
    fail "slots not all free after the jobs: $(rest GET /overview)"
step "both FINISHED exactly once after 3 takeovers: seqcheck $SEQ_RES; wordcount $res; 4 of 4 slots free"

# the results survive the leader: a new one never runs the jobs again
old=$LEADER_PORT
kill -9 "$(jm_pid "$old")"
wait_new_leader "$old" 20
for j in "$SEQ" "$WC"; do
    assert_eq "$(job_state "$j")" FINISHED "job $j under the next leader"
done
newlog=$(grep -l "Published this JobManager as the leader: .*REST http://127.0.0.1:$LEADER_PORT" $(jm_logs) | head -n 1)
grep -q "Recovered 0 job(s)" "$newlog" || fail "the last leader recovered jobs that had ended: $(grep Recovered "$newlog")"
list=$("$FLINT" list -a 2>&1) || fail "flint list -a (no -m) failed: $list"
grep -q "$SEQ : Sequence Check (FINISHED)" <<<"$list" || fail "flint list -a does not show $SEQ FINISHED: $list"
jm_start "$old" # a standby again: flint -m pointed at it is redirected to the leader
list=$("$FLINT" -m "127.0.0.1:$old" list -a 2>&1) || fail "flint -m <standby> list -a failed: $list"
grep -q "$WC : WordCount (FINISHED)" <<<"$list" || fail "flint -m <standby> list -a does not show $WC FINISHED: $list"
step "kill -9 of the leader after the jobs ended: the next one shows both FINISHED (job result store) and ran neither; flint list -a finds it through ZooKeeper, or through a standby (-m)"
echo "  takeovers (kill -9 -> every task running, session timeout 2 s): ${TAKEOVERS[*]} ms"
step "done"
