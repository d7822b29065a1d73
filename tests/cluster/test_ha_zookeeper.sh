#!/usr/bin/env bash
# test_ha_zookeeper.sh -- issue 11 point 10: ZooKeeper's own faults and damaged HA data. A
# quorum of three ZooKeeper servers (session timeout 10 s), two JobManagers, one TaskManager
# of three slots; seqcheck at -p 2 (checkpoints every 200 ms, three retained) and wordcount at
# -p 1, their sources held on the gate file:
#   - kill -9 of one ZooKeeper server: nothing restarts, the leader stays, checkpoints keep
#     completing;
#   - the whole quorum restarted (every server stopped, then started) mid-job: the leader
#     keeps its session and its jobs (no restore), checkpoints complete again after it;
#   - both JobManagers stopped; the latest checkpoint's _metadata of seqcheck damaged and
#     wordcount's job graph file deleted from the storage directory; a fresh JobManager
#     leads: it says which checkpoint it refused (naming the file and the job) and restores
#     seqcheck from the one before; wordcount is FAILED in REST with a root cause naming its
#     file and job, and is not recorded as ended; the JobManager keeps leading and serving.
# Then the gate opens and seqcheck's output has no duplicate and no gap.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"
# shellcheck source=tests/cluster/ha_lib.sh
. "$(dirname -- "$0")/ha_lib.sh"

[ -f "$EX/seqcheck.so" ] && [ -f "$EX/wordcount.so" ] || fail "missing example bundles: run make first"
zk_start 3
ha_conf "10 s"
conf_set taskmanager.numberOfTaskSlots 3
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "10 s"
R1=$REST_PORT
R2=$(free_port)
R3=$(free_port)

step "a ZooKeeper quorum at $ZK_QUORUM; JobManagers on REST $R1 and $R2; one TaskManager"
jm_start "$R1"
wait_for "LEADER_PORT=\$(leader_port)" 20 || fail "no JobManager leads"
jm_start "$R2"
tm_start
LEADER_PORT=$(leader_port)
wait_for "overview_is 1 3" 15 || fail "cluster not at 1 TaskManager / 3 slots: $(overview_str)"
LEADER_LOG=$(grep -l "Published this JobManager as the leader: .*REST http://127.0.0.1:$LEADER_PORT" $(jm_logs) | head -n 1)

TEXT="$TEST_DIR/text.txt"
py "$REF/gen_text.py" --seed 31 --bytes $((1 << 19)) "$TEXT" || fail "gen_text.py failed"
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$TEST_DIR/ck"
    -D state.checkpoints.num-retained=3 -D restart-strategy.type=fixed-delay
    -D restart-strategy.fixed-delay.attempts=20 -D "restart-strategy.fixed-delay.delay=200 ms")
KEYS=16
PER_KEY=30000
gate_args 5000
gate_close
submit seq run -d -p 2 "${CKPT[@]}" "${GATE[@]}" "$EX/seqcheck.so" --keys $KEYS \
    --per-key $PER_KEY --rate 100000 --output "$TEST_DIR/seq.out"
SEQ=$JOB_ID
submit wc run -d -p 1 "${CKPT[@]}" "${GATE[@]}" "$EX/wordcount.so" --input "$TEXT" \
    --output "$TEST_DIR/wc.out"
WC=$JOB_ID
wait_for "all_tasks_running $SEQ && all_tasks_running $WC" 20 || fail "the jobs do not run"
wait_completed "$SEQ" 2 20

unchanged() {
    [ "$(leader_port)" = "$LEADER_PORT" ] || fail "$1: the leader changed to $(leader_port)"
    assert_eq "$(ck "$SEQ" counts.restored)" 0 "$1: restores of seqcheck"
    assert_eq "$(job_state "$SEQ")" RUNNING "$1: seqcheck's state"
    if grep -q "no longer leads" "$LEADER_LOG"; then
        fail "$1: the leader stepped down: $(grep 'no longer leads' "$LEADER_LOG")"
    fi
}

# ---- one server of three killed ------------------------------------------------------------
zk_kill 1
c=$(ck "$SEQ" counts.completed)
wait_completed "$SEQ" $((c + 5)) 20
unchanged "one ZooKeeper server killed"
step "kill -9 of ZooKeeper server 1 of 3: the leader, its session and the job stay; $(($(ck "$SEQ" counts.completed) - c)) more checkpoints"
zk_peer_start 1

# ---- the whole quorum restarted ------------------------------------------------------------
sleep 1
t0=$(now_ms)
for i in 1 2 3; do zk_stop "$i"; done
for i in 1 2 3; do zk_peer_start "$i"; done
wait_for "grep -q 'ZooKeeper is back within the session' '$LEADER_LOG'" 20 ||
    fail "the leader did not get its session back: $(tail -n 5 "$LEADER_LOG")"
back=$(($(now_ms) - t0))
c=$(ck "$SEQ" counts.completed)
wait_completed "$SEQ" $((c + 3)) 20
unchanged "ZooKeeper restarted"
grep -q "leadership suspended" "$LEADER_LOG" || fail "the leader never noticed ZooKeeper was gone"
step "all three ZooKeeper servers restarted: the leader was suspended ${back} ms and kept its session; no restart, checkpoints complete again"

# ---- damaged and missing HA data ----------------------------------------------------------
wait_completed "$WC" 2 20
for p in "$R1" "$R2"; do kill -TERM "$(jm_pid "$p")"; done
wait_for "! jm_pid $R1 && ! jm_pid $R2" 15 || fail "the JobManagers did not stop"
STORE=$(ls -d "$TEST_DIR"/ha/*)
# The newest checkpoint in ZooKeeper is the one the next leader restores. It is at least the
# newest a leader logged as completed, and may be a later one: recorded in ZooKeeper while
# the JobManager was stopping, not completed (nor logged) there. So that one and every later
# directory with a _metadata are damaged; the next leader must refuse the newest it has and
# restore from before the first damaged one. Three are retained, so one from before remains
# also when that later one was recorded (with two, it would have subsumed the only older one,
# and the fresh leader rightly refuses to start a job none of whose checkpoints reads back).
n=$(grep -ho "Completed checkpoint [0-9]* for job $SEQ" $(jm_logs) | awk '{ print $3 }' | sort -n | tail -n 1)
[ -n "$n" ] || fail "no completed checkpoint of $SEQ in the JobManagers' logs"
latest="$TEST_DIR/ck/$SEQ/chk-$n"
[ -f "$latest/_metadata" ] || fail "checkpoint $n of $SEQ has no _metadata: $(ls "$latest" 2>&1)"
damaged=()
for d in "$TEST_DIR/ck/$SEQ"/chk-*; do
    [ "${d##*chk-}" -ge "$n" ] && [ -f "$d/_metadata" ] || continue
    printf 'XXXX' | dd of="$d/_metadata" bs=1 seek=20 conv=notrunc 2>/dev/null
    damaged+=("${d##*chk-}")
done
rm -f -- "$STORE/jobgraphs/$WC.jobgraph"
LEADER_PORT=
JM_PORTS=("$R3")
jm_start "$R3"
wait_for "LEADER_PORT=\$(leader_port)" 20 || fail "the fresh JobManager does not lead"
wait_for "all_tasks_running $SEQ" 30 ||
    fail "seqcheck does not run under the fresh leader (damaged: ${damaged[*]}): $(job_state "$SEQ"), $(rest GET "/jobs/$SEQ" | json_get root-exception)"
log3=$(grep -l "Published this JobManager as the leader: .*REST http://127.0.0.1:$R3" $(jm_logs) | head -n 1)
refused=$(sed -n "s|.*Refusing checkpoint \([0-9]*\) of job $SEQ: $TEST_DIR/ck/$SEQ/chk-[0-9]*/_metadata is damaged.*|\1|p" "$log3" | head -n 1)
[ -n "$refused" ] && [ "$refused" -ge "$n" ] ||
    fail "no message naming a damaged checkpoint (${damaged[*]}): $(grep -i 'refus\|damaged' "$log3" | head -n 3)"
r=$(restores "$SEQ")
[ "${r##* }" -lt "$n" ] || fail "seqcheck restored from ${r##* }, not from before the damaged $n"
cause=$(rest GET "/jobs/$WC" | json_get root-exception)
assert_eq "$(job_state "$WC")" FAILED "wordcount without its job graph file"
case "$cause" in
    *"Cannot recover job $WC"*"$STORE/jobgraphs/$WC.jobgraph"*) ;;
    *) fail "wordcount's root cause does not name the job and its file: $cause" ;;
esac
[ ! -e "$STORE/jobresults/$WC.result" ] || fail "the unrecoverable job was recorded as ended"
sleep 1
[ "$(leader_port)" = "$R3" ] && jm_pid "$R3" >/dev/null || fail "the fresh leader did not keep leading"
step "damaged _metadata of checkpoints ${damaged[*]}: $refused refused, named, seqcheck restored from ${r##* }; missing job graph: wordcount FAILED with '$cause'; the JobManager keeps leading"

gate_open
wait_state "$SEQ" FINISHED 90
seq_verify seq "$TEST_DIR/seq.out" $KEYS $PER_KEY
[ "$SEQ_OK" = 1 ] || fail "seqcheck: $SEQ_RES"
step "seqcheck FINISHED: $SEQ_RES"
step "done"
