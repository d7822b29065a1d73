#!/usr/bin/env bash
# test_ha_faults.sh -- issue 11 points 6 and 9: a paused leader and a stopped one. One
# ZooKeeper server (session timeout 2 s), two JobManagers, one TaskManager of two slots,
# seqcheck at -p 2 (checkpoints every 200 ms, file sink), its sources held on the gate file
# until both faults are done:
#   - SIGSTOP of the leader past the session timeout: the standby leads and every task runs
#     again (the time from SIGSTOP is printed: session timeout + the takeover); SIGCONT of
#     the old leader: it steps down (its log says so, its /overview says leader false), and
#     after its resumption it completes no checkpoint, deploys nothing and publishes
#     nothing; the TaskManager stays with the new leader;
#   - SIGTERM of the (new) leader, as jobmanager.sh stop sends: it gives its leadership up
#     at once (its session closed: no timeout to wait for), a standby leads and runs the job
#     again (the time is printed).
# Then the gate opens: the output has no duplicate and no gap, and every slot is free; the
# job was submitted by an attached `flint run` without -m, which followed the leader through
# both faults and reports the job's end.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"
# shellcheck source=tests/cluster/ha_lib.sh
. "$(dirname -- "$0")/ha_lib.sh"

[ -f "$EX/seqcheck.so" ] || fail "missing $EX/seqcheck.so: run make first"
zk_start 1
ha_conf "2 s"
conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "10 s"
R1=$REST_PORT
R2=$(free_port)
R3=$(free_port)

step "ZooKeeper at $ZK_QUORUM; JobManagers on REST $R1 and $R2; one TaskManager"
jm_start "$R1"
wait_for "LEADER_PORT=\$(leader_port)" 15 || fail "no JobManager leads"
jm_start "$R2"
tm_start
LEADER_PORT=$(leader_port)
wait_for "overview_is 1 2" 15 || fail "cluster not at 1 TaskManager / 2 slots: $(overview_str)"

KEYS=16
PER_KEY=30000
gate_args 5000
gate_close
# attached (no -d, no -m): the CLI follows the leader through both faults to the job's end
"$FLINT" run -p 2 -D "execution.checkpointing.interval=200 ms" \
    -D "state.checkpoints.dir=$TEST_DIR/ck" -D restart-strategy.type=fixed-delay \
    -D restart-strategy.fixed-delay.attempts=20 -D "restart-strategy.fixed-delay.delay=200 ms" \
    "${GATE[@]}" "$EX/seqcheck.so" --keys $KEYS --per-key $PER_KEY --rate 100000 \
    --output "$TEST_DIR/seq.out" >"$TEST_DIR/run.stdout" 2>"$TEST_DIR/run.stderr" &
CLI_PID=$!
wait_for "grep -q 'Job has been submitted with JobID' '$TEST_DIR/run.stdout'" 20 ||
    fail "flint run: $(cat "$TEST_DIR/run.stdout" "$TEST_DIR/run.stderr")"
J=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' "$TEST_DIR/run.stdout")
wait_for "all_tasks_running $J" 20 || fail "the job does not run"
wait_completed "$J" 2 20

# ---- SIGSTOP past the session timeout -----------------------------------------------------
old=$LEADER_PORT
pid=$(jm_pid "$old") || fail "no pid for the leader"
oldlog=$(grep -l "Published this JobManager as the leader: .*REST http://127.0.0.1:$old" $(jm_logs) | head -n 1)
kill -STOP "$pid"
t0=$(now_ms)
wait_new_leader "$old" 20
wait_for "all_tasks_running $J" 30 || fail "the job does not run under the new leader"
took=$(($(now_ms) - t0))
last=$(ck "$J" latest.completed.id) || last=0
wait_for "[ \"\$(ck $J latest.completed.id)\" -gt ${last:-0} ]" 20 || fail "no checkpoint under the new leader"
lines_before=$(wc -l <"$oldlog")
kill -CONT "$pid"
wait_for "grep -q 'no longer leads the cluster' '$oldlog'" 10 ||
    fail "the old leader did not step down after SIGCONT: $(tail -n 5 "$oldlog")"
assert_eq "$(curl -s "http://127.0.0.1:$old/overview" | json_get leader)" False "the old leader's /overview leader"
wait_completed "$J" $(($(ck "$J" counts.completed) + 3)) 20 # the new leader goes on
after=$(tail -n +"$((lines_before + 1))" "$oldlog")
for what in "Deploying job" "Published this JobManager"; do
    if grep -q "$what" <<<"$after"; then
        fail "the old leader still acted after SIGCONT ($what): $(grep "$what" <<<"$after" | head -n 3)"
    fi
done
# A checkpoint the old leader recorded in ZooKeeper before the SIGSTOP may be logged as
# completed when its thread runs again (the answer was waiting in its mailbox); one it had not
# recorded by then -- newer than the one the new leader took over from -- would be two leaders.
newlog=$(grep -l "Published this JobManager as the leader: .*REST http://127.0.0.1:$LEADER_PORT" $(jm_logs) | head -n 1)
took_over=$(sed -n "s/.*Job .*($J) restores from checkpoint \([0-9]*\) .*/\1/p" "$newlog" | head -n 1)
for id in $(sed -n 's/.*Completed checkpoint \([0-9]*\) .*/\1/p' <<<"$after"); do
    [ "$id" -le "${took_over:-0}" ] ||
        fail "the old leader completed checkpoint $id after SIGCONT; the new leader took over from ${took_over:-none}"
done
step "SIGSTOP of the leader (REST $old): REST $LEADER_PORT leads, every task running $took ms after the SIGSTOP; SIGCONT: the old one stepped down; it deployed and published nothing, and completed no checkpoint newer than the one the new leader took over from"

# ---- a stopped leader gives its leadership up at once ------------------------------------
old=$LEADER_PORT
pid=$(jm_pid "$old")
jm_start "$R3" # a fresh standby
t0=$(now_ms)
kill -TERM "$pid" # as jobmanager.sh stop does (it would stop the last one started)
wait_new_leader "$old" 20
wait_for "all_tasks_running $J" 30 || fail "the job does not run after the leader stopped"
took=$(($(now_ms) - t0))
[ "$took" -lt 2000 ] || note "a stopped leader took $took ms to replace (session timeout 2 s)"
step "SIGTERM of the leader (REST $old): REST $LEADER_PORT leads, every task running $took ms later (no session timeout to wait for)"

gate_open
wait_state "$J" FINISHED 90
wait "$CLI_PID" || fail "the attached flint run exited $?: $(cat "$TEST_DIR/run.stdout" "$TEST_DIR/run.stderr")"
grep -q "Job with JobID $J has finished." "$TEST_DIR/run.stdout" ||
    fail "the attached flint run did not see the end: $(cat "$TEST_DIR/run.stdout")"
seq_verify seq "$TEST_DIR/seq.out" $KEYS $PER_KEY
[ "$SEQ_OK" = 1 ] || fail "seqcheck: $SEQ_RES"
wait_for "[ \"\$(rest GET /overview | json_get slots-available)\" = 2 ]" 15 ||
    fail "slots not all free after the job: $(rest GET /overview)"
step "FINISHED after restores from checkpoints $(restores "$J"): $SEQ_RES; 2 of 2 slots free"
step "done"
