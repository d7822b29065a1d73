#!/usr/bin/env bash
# test_ha_s3.sh -- issue 22 point 6 (HA storage on S3) with issue 11's takeover: ZooKeeper
# (one server), s3rver (tests/cluster/s3_lib.sh), two JobManagers with
# high-availability.storageDir s3://flint/ha and checkpoints on s3://flint/ck, one
# TaskManager of two slots. WordCount at -p 2 into the file sink, checkpoints every 200 ms
# with snapshot compression on (compressed keyed state on S3 restored by the new leader),
# its sources held on the gate file until the fault is done:
#   - while it runs, the bucket (read from s3rver's own directory, not through Flint) holds
#     its job graph and its bundle, named by the SHA-256 sha256sum computes of the .so file;
#     a stray job graph no ZooKeeper pointer names is put there by hand;
#   - kill -9 of the leader once two more checkpoints completed; a fresh standby started:
#     the other JobManager leads, recovers the job from S3 (its graph, its bundle) and
#     restores it exactly once from a checkpoint at least as new as the last completed
#     under the old leader; the stray job graph is removed from the bucket by the recovery;
#   - the gate opens, the job finishes with exactly-once output (wc_check against
#     ref/word_counts.py); its result object is in the bucket, its job graph is not;
#     nothing of the HA storage is on local disk.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"
# shellcheck source=tests/cluster/ha_lib.sh
. "$(dirname -- "$0")/ha_lib.sh"
# shellcheck source=tests/cluster/s3_lib.sh
. "$(dirname -- "$0")/s3_lib.sh"

s3_require
[ -f "$EX/wordcount.so" ] || fail "missing $EX/wordcount.so: run make first"
s3_start
zk_start 1
ha_conf "2 s"
CID="$TEST_NAME-$$"
conf_set high-availability.storageDir s3://flint/ha
s3_conf
conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
R1=$REST_PORT
R2=$(free_port)
jm_start "$R1"
jm_start "$R2"
tm_start
wait_for "LEADER_PORT=\$(leader_port)" 20 || fail "no JobManager leads"
LEADER_PORT=$(leader_port)
wait_for "overview_is 1 2" 20 || fail "cluster not at 1 TaskManager / 2 slots: $(overview_str)"
step "s3rver at $S3_ENDPOINT, ZooKeeper at $ZK_QUORUM; JobManagers on REST $R1 and $R2 (storageDir s3://flint/ha), REST $LEADER_PORT leads"

TEXT="$TEST_DIR/text.txt"
py "$REF/gen_text.py" --seed 23 --bytes $((1 << 20)) "$TEXT" || fail "gen_text.py failed"
wc_expect "$TEXT"
gate_args 5000
gate_close
submit wc run -d -p 2 -D "execution.checkpointing.interval=200 ms" \
    -D "state.checkpoints.dir=s3://flint/ck" -D state.checkpoints.num-retained=2 \
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=20 \
    -D "restart-strategy.fixed-delay.delay=200 ms" -D execution.checkpointing.snapshot-compression=true \
    "${GATE[@]}" "$EX/wordcount.so" \
    --input "$TEXT" --output "$TEST_DIR/wc.out"
WC=$JOB_ID
wait_for "all_tasks_running $WC" 30 || fail "the job does not run: $(rest GET /jobs/overview)"

SHA=$(sha256sum "$EX/wordcount.so" | cut -d' ' -f1)
HA="ha/$CID"
keys=$(bucket_keys "$HA")
grep -qx "$HA/jobgraphs/$WC.jobgraph" <<<"$keys" || fail "no job graph of $WC in the bucket: $keys"
grep -qx "$HA/blobs/$SHA.so" <<<"$keys" || fail "no bundle blobs/$SHA.so in the bucket: $keys"
cmp -s "$S3DIR/flint/$HA/blobs/$SHA.so._S3rver_object" "$EX/wordcount.so" ||
    fail "the bundle object differs from wordcount.so"
STRAY=ffffffffffffffffffffffffffffffff
curl -s -f -X PUT --data-binary @"$TEXT" \
    "$S3_ENDPOINT/flint/$HA/jobgraphs/$STRAY.jobgraph" >/dev/null || fail "cannot put the stray job graph"
grep -qx "$HA/jobgraphs/$STRAY.jobgraph" <<<"$(bucket_keys "$HA")" || fail "the stray job graph is not in the bucket"
step "job $WC running; the bucket holds $HA/jobgraphs/$WC.jobgraph and blobs/$SHA.so (= sha256sum of wordcount.so); a stray job graph put there"

wait_completed "$WC" $(($(ck "$WC" counts.completed) + 2)) 30
last=$(ck "$WC" latest.completed.id)
old=$LEADER_PORT
pid=$(jm_pid "$old") || fail "no pid for the leader on REST $old"
n_before=$(wc -w <<<"$(restores "$WC")")
kill -9 "$pid"
t0=$(now_ms)
jm_start "$old"
wait_new_leader "$old" 30
wait_for "all_tasks_running $WC" 40 || fail "the job does not run again under the new leader: $(rest GET /jobs/overview)"
took=$(($(now_ms) - t0))
r=$(restores "$WC")
assert_eq "$(wc -w <<<"$r")" $((n_before + 1)) "restores of the job ($r)"
k=${r##* }
[ "$k" -ge "$last" ] || fail "restored from checkpoint $k, older than the latest completed under the old leader ($last)"
# the checkpoints' keyed state is compressed: version 2, flag 1 (read here; a subsumed
# checkpoint's objects may go while we look, so the first one still there)
keyed_header() {
    local k h
    for k in $(bucket_keys "ck/$WC" | grep '\.keyed$'); do
        h=$(od -An -tu4 -j4 -N8 "$S3DIR/flint/$k._S3rver_object" 2>/dev/null) || continue
        echo "$h" | tr -s ' ' | sed 's/^ //'
        return 0
    done
    return 1
}
assert_eq "$(keyed_header)" "2 1" "version and flags of a keyed-state object in ck/$WC"
newlog=$(jm_logs | xargs grep -l "Published this JobManager as the leader: .*REST http://127.0.0.1:$LEADER_PORT" | head -n 1)
grep -q "Recovered 1 job(s)" "$newlog" || fail "the new leader did not recover one job: $(grep Recovered "$newlog")"
wait_for "! grep -qx '$HA/jobgraphs/$STRAY.jobgraph' <<<\"\$(bucket_keys $HA)\"" 20 ||
    fail "the stray job graph is still in the bucket after the recovery"
step "kill -9 of the leader (REST $old): REST $LEADER_PORT leads and runs every task ${took} ms later, the job recovered from S3 and restored from checkpoint $k (last completed before: $last; keyed state on S3 compressed); the stray job graph removed"

gate_open
wait_state "$WC" FINISHED 120
part_args r1 "$TEST_DIR/wc.out"
res=$("$WC_CHECK" "$TEXT.counts" 1 exact "${PARTS[@]}" 2>&1) || fail "wordcount output differs from the reference:
$res"
wait_for "grep -qx '$HA/jobresults/$WC.result' <<<\"\$(bucket_keys $HA)\"" 20 ||
    fail "no result object of $WC in the bucket: $(bucket_keys "$HA")"
wait_for "! grep -qx '$HA/jobgraphs/$WC.jobgraph' <<<\"\$(bucket_keys $HA)\"" 20 ||
    fail "the job graph of the ended job $WC is still in the bucket"
[ ! -e "$TEST_DIR/ha" ] || fail "a local HA storage directory exists: $(find "$TEST_DIR/ha" | head)"
[ -z "$(find "$TEST_DIR" -path "$S3DIR" -prune -o -name '*s3:*' -print)" ] ||
    fail "an s3: path on local disk: $(find "$TEST_DIR" -path "$S3DIR" -prune -o -name '*s3:*' -print)"
step "FINISHED exactly once ($res); the bucket holds $HA/jobresults/$WC.result and no job graph of it; no local HA storage"
step "done"
