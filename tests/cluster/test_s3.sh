#!/usr/bin/env bash
# test_s3.sh -- issue 22: checkpoints and savepoints on S3 through the file-system layer,
# against a real S3 API server: s3rver (npm, pinned by tests/s3/package-lock.json, installed
# by `make deps`), started here on a free loopback port with its data in the test's
# directory (access key S3RVER). Skipped (77) only when
# node or s3rver is not installed.
#
#   * the layer itself: build/tests/check_fs against the server (two listing pages, two
#     delete batches, a multipart stream, abort, an unknown access key refused, the secret
#     never shown). s3rver does not verify SigV4 signatures: a wrong secret key is not covered
#   * a scheme no file system serves (hdfs://) is refused at submission with Flink's
#     message, and nothing runs
#   * wordcount at -p 3 (hashmap), checkpoints every 200 ms to s3://flint/ck with
#     state.checkpoints.num-retained 2, sources held on the gate; after two completed
#     checkpoints a TaskManager is killed with -9: the job restores from an S3 checkpoint
#     (the JobManager's "restores from checkpoint N", N >= 2) and finishes with exactly-once
#     output (wc_check against ref/word_counts.py). The bucket, read from s3rver's own
#     directory (not through Flint), holds for the job only chk-N prefixes that have a
#     _metadata, exactly num-retained of them, the newest being REST's latest completed
#     one; nothing of the checkpoints is on local disk. This run writes its output to
#     s3://flint/out-hashmap (the file sink on S3: parts are multipart uploads, pre-committed
#     at the barrier, completed when the checkpoint completes): read back from s3rver's
#     directory it is exactly-once, only committed part-<job>-<subtask>-<n> objects; the uploads
#     left incomplete are counted (s3rver implements neither ListMultipartUploads nor
#     AbortMultipartUpload, so the killed attempt's cannot be aborted there: reported).
#   * the same with RocksDB, incremental (state.backend.incremental): restored from S3 (its
#     SSTs downloaded), exactly-once; the shared SST objects listed, those uploaded by a
#     subsumed checkpoint and still referenced by a retained one reported
#   * the S3 server frozen (SIGSTOP; s3.request.timeout 2 s) while the job checkpoints
#     (tolerable-failed-checkpoints 100) until a checkpoint failed (counts.failed), then
#     thawed: the job runs on
#     without a restart, finishes exactly-once, and the failed checkpoints' prefixes are
#     gone from the bucket (their deletion, refused while the server was down, retried)
#   * the same job stopped with a savepoint to s3://flint/sp ("Savepoint completed. Path:
#     s3://..."), resumed with `flint run -s` from it at -p 2: the stopped run's output then
#     the resumed run's are exactly-once. Both write to s3://flint/out-wc1 and out-wc2:
#     read back from s3rver's directory, and no incomplete upload is left by them.
#   * wordcount -p 2 without checkpointing to s3://flint/out-nock: its parts are completed
#     when the input ends; exactly the reference, no incomplete upload.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

S3RVER="$FLINT_HOME/tests/s3/node_modules/s3rver/bin/s3rver.js"
if ! command -v node >/dev/null || [ ! -f "$S3RVER" ]; then
    echo "  SKIP: node or s3rver missing (make deps runs npm ci in tests/s3)"
    exit 77
fi
[ -f "$EX/wordcount.so" ] || fail "missing $EX/wordcount.so: run make first"

# ---------------------------------------------------------------------------------------
step "start s3rver on a free loopback port, bucket 'flint'"
S3DIR="$TEST_DIR/s3"
mkdir -p "$S3DIR"
S3PORT=$(free_port)
# s3rver's continuation tokens use DES, which OpenSSL 3 keeps in its legacy provider
S3PID=
S3RUNS=0
start_s3rver() {
    S3RUNS=$((S3RUNS + 1))
    node --openssl-legacy-provider "$S3RVER" -d "$S3DIR" -a 127.0.0.1 -p "$S3PORT" \
        --configure-bucket flint >"$TEST_DIR/s3rver-$S3RUNS.log" 2>&1 &
    S3PID=$!
    wait_for "grep -q 'S3rver listening' '$TEST_DIR/s3rver-$S3RUNS.log'" 20 ||
        fail "s3rver did not start: $(cat "$TEST_DIR/s3rver-$S3RUNS.log")"
}
stop_s3rver() {
    [ -n "$S3PID" ] || return 0
    kill -CONT "$S3PID" 2>/dev/null
    kill "$S3PID" 2>/dev/null
    wait "$S3PID" 2>/dev/null
    S3PID=
}
CLEANUP_HOOKS+=(stop_s3rver)
start_s3rver
ENDPOINT="http://127.0.0.1:$S3PORT"

step "the file-system layer against it (check_fs)"
FLINT_TEST_S3_ENDPOINT=$ENDPOINT FLINT_TEST_S3_BUCKET=flint \
    "$FLINT_HOME/build/tests/check_fs" >"$TEST_DIR/check_fs.out" 2>&1 ||
    fail "check_fs against s3rver failed: $(tail -n 20 "$TEST_DIR/check_fs.out")"
grep -q "not run" "$TEST_DIR/check_fs.out" && fail "check_fs did not run its S3 case"

conf_set taskmanager.numberOfTaskSlots 1
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"
conf_set s3.endpoint "$ENDPOINT"
conf_set s3.path.style.access true
conf_set s3.access-key S3RVER
# s3rver does not verify SigV4 signatures: any secret signs; this one must appear nowhere
SECRET=flint-test-secret-8431
conf_set s3.secret-key "$SECRET"
# the outage below freezes s3rver (SIGSTOP): requests time out after 2 s, tried twice
conf_set s3.request.timeout "2 s"
conf_set s3.retry.max-attempts 2

step "start a JobManager and 3 TaskManagers (1 slot each); generate the text"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
for _ in 1 2 3; do tm_start; done
BASE="$TEST_DIR/base.txt"
BIG="$TEST_DIR/big.txt"
COPIES=4
COUNTS="$TEST_DIR/base.counts"
py "$REF/gen_text.py" --seed 22 --bytes $((2 << 20)) "$BASE" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$BASE" >"$COUNTS" || fail "word_counts.py failed"
for _ in $(seq $COPIES); do cat -- "$BASE"; done >"$BIG"
wait_for "overview_is 3 3" 10 || fail "cluster not at 3 TaskManagers / 3 slots: $(overview_str)"
grep -rq -- "$SECRET" "$FLINT_LOG_DIR" && fail "a log names the S3 secret key"
rest GET /jobmanager/config | grep -q -- "$SECRET" && fail "REST /jobmanager/config shows the S3 secret key"
rest GET /jobmanager/config | grep -q 's3.secret-key' || fail "REST /jobmanager/config lacks s3.secret-key (masked)"

# ---------------------------------------------------------------------------------------
step "a scheme no file system serves is refused at submission"
if "$FLINT" run -d -p 1 -D "state.checkpoints.dir=hdfs://nn:8020/ck" \
    -D "execution.checkpointing.interval=200 ms" "$EX/wordcount.so" --input "$BASE" \
    --output "$TEST_DIR/refused" >"$TEST_DIR/refused.stdout" 2>"$TEST_DIR/refused.stderr"; then
    fail "a job with state.checkpoints.dir hdfs://... was accepted: $(cat "$TEST_DIR/refused.stdout")"
fi
grep -q "Could not find a file system implementation for scheme 'hdfs'" \
    "$TEST_DIR/refused.stdout" "$TEST_DIR/refused.stderr" ||
    fail "no Flink message for hdfs://: $(cat "$TEST_DIR/refused.stdout" "$TEST_DIR/refused.stderr")"
[ "$(rest GET /jobs/overview | py -c 'import json,sys; print(len(json.load(sys.stdin)["jobs"]))')" = 0 ] ||
    fail "a job exists after the refused submission: $(rest GET /jobs/overview)"

# ---------------------------------------------------------------------------------------
CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=s3://flint/ck"
    -D state.checkpoints.num-retained=2 -D restart-strategy.type=fixed-delay
    -D restart-strategy.fixed-delay.attempts=5 -D "restart-strategy.fixed-delay.delay=200 ms")
# the objects under s3://flint/PREFIX as s3rver keeps them on its disk, one key a line
bucket_keys() {
    [ -d "$S3DIR/flint/$1" ] || return 0
    (cd "$S3DIR/flint" && find "$1" -type f -name '*._S3rver_object' | sed 's/\._S3rver_object$//' | sort)
}

failed_at_least() {
    [ "$(ck "$1" counts.failed)" -ge "$2" ]
}

# s3_run NAME FAULT TEXT MULT ARGS...: wordcount -p 3 checkpointing to s3://flint/ck; FAULT
# "kill": a TaskManager killed with -9, the job restored; "outage": s3rver frozen (SIGSTOP:
# connections accepted, nothing answered; killing it instead can leave an object it
# half-wrote, which its listing then fails on) until a checkpoint failed, then thawed, the
# job running on. Then finished; the output
# and the bucket checked. The job's bucket keys in KEYS, its complete checkpoints in
# COMPLETE.
KEYS=
COMPLETE=
# S3_OUT=1: the output goes to s3://flint/out-NAME instead of a local directory
S3_OUT=
# the incomplete multipart uploads s3rver keeps (one directory each)
uploads_left() {
    local d="$S3DIR/flint/._S3rver_uploads"
    [ -d "$d" ] || { echo 0; return; }
    find "$d" -mindepth 1 -maxdepth 1 -type d | wc -l
}
# s3_parts NAME [RUN]: PARTS (wc_check's arguments) from the objects of s3://flint/out-NAME as
# s3rver keeps them on disk (maybe none: a run resumed after its input was all read); fails
# on any object that is not a committed part
s3_parts() {
    local k f
    PARTS=()
    while read -r k; do
        [ -n "$k" ] || continue
        f=${k#out-$1/}
        [[ "$f" =~ ^part-[0-9a-f]{32}-([0-9]+)-([0-9]+)$ ]] || fail "$1: unexpected object '$k' in the output"
        PARTS+=("${2:-r1}/s${BASH_REMATCH[1]}=$S3DIR/flint/$k._S3rver_object")
    done < <(bucket_keys "out-$1" | part_order)
}
s3_run() {
    local name=$1 fault=$2 text=$3 mult=$4 j ids res chks latest f0 out up0
    shift 4
    out="$TEST_DIR/$name"
    [ -z "$S3_OUT" ] || out="s3://flint/out-$name"
    up0=$(uploads_left)
    step "$name: wordcount -p 3 checkpointing to s3://flint/ck, output to $out; $fault"
    gate_close
    submit "$name" run -d -p 3 "${GATE[@]}" "${CKPT[@]}" "$@" "$EX/wordcount.so" \
        --input "$text" --output "$out"
    j=$JOB_ID
    wait_completed "$j" 2 30
    if [ "$fault" = kill ]; then
        tm_kill
        tm_start
        step "$name: killed TaskManager $KILLED_PID after $(ck "$j" counts.completed) checkpoints"
        wait_restored "$j" 1 30
        ids=$(restored_ids "$j")
        [ -n "$ids" ] && [ "${ids%% *}" -ge 2 ] || fail "$name: restored from checkpoint(s) '$ids', expected one >= 2"
    else
        f0=$(ck "$j" counts.failed)
        kill -STOP "$S3PID"
        wait_for "failed_at_least $j $((f0 + 1))" 60 ||
            fail "$name: $(ck "$j" counts.failed) failed checkpoints with S3 frozen, expected $((f0 + 1))"
        kill -CONT "$S3PID"
        step "$name: s3rver frozen until $(($(ck "$j" counts.failed) - f0)) checkpoint(s) failed, thawed"
        ids=none
    fi
    wait_completed "$j" $(($(ck "$j" counts.completed) + 2)) 30
    gate_open
    wait_state "$j" FINISHED 120
    if [ -n "$S3_OUT" ]; then
        s3_parts "$name"
        [ "${#PARTS[@]}" -gt 0 ] || fail "$name: no part objects under $out"
    else
        part_args r1 "$TEST_DIR/$name"
    fi
    res=$("$WC_CHECK" "$COUNTS" "$mult" exact "${PARTS[@]}" 2>&1) ||
        fail "$name: the committed output differs from the reference:
$res"
    step "$name: FINISHED (restored from: $ids), $(ck "$j" counts.failed) failed checkpoints; $res"
    if [ -n "$S3_OUT" ]; then
        up0=$(($(uploads_left) - up0))
        step "$name: output on S3: ${#PARTS[@]} committed part objects, nothing else; $up0 incomplete upload(s) left"
        [ "$fault" = kill ] || assert_eq "$up0" 0 "$name: incomplete uploads left by a run without a failure"
    fi

    KEYS=$(bucket_keys "ck/$j")
    chks=$(sed -n 's|^ck/[0-9a-f]*/\(chk-[0-9]*\)/.*|\1|p' <<<"$KEYS" | sort -uV)
    COMPLETE=$(sed -n 's|^ck/[0-9a-f]*/\(chk-[0-9]*\)/_metadata$|\1|p' <<<"$KEYS" | sort -uV)
    latest=$(ck "$j" latest.completed.id)
    assert_eq "$(wc -w <<<"$COMPLETE")" 2 "$name: complete checkpoints in the bucket ($(tr '\n' ' ' <<<"$chks"))"
    assert_eq "$chks" "$COMPLETE" "$name: checkpoint prefixes in the bucket vs those with a _metadata"
    grep -qx "chk-$latest" <<<"$COMPLETE" ||
        fail "$name: REST's latest completed checkpoint $latest is not in the bucket: $(tr '\n' ' ' <<<"$COMPLETE")"
    assert_eq "$(ck "$j" latest.completed.external_path)" "s3://flint/ck/$j/chk-$latest" \
        "$name: latest.completed.external_path"
    [ -z "$(find "$TEST_DIR" -path "$S3DIR" -prune -o -name '*s3:*' -print)" ] ||
        fail "$name: an s3: path on local disk: $(find "$TEST_DIR" -path "$S3DIR" -prune -o -name '*s3:*' -print)"
    for d in /tmp/flint-checkpoints "${TMPDIR:-/tmp}/flint-$FLINT_USER/checkpoints"; do
        [ ! -d "$d/$j" ] || fail "$name: checkpoints of the job on local disk: $d/$j"
    done
    step "$name: bucket: $(wc -l <<<"$KEYS") objects; complete checkpoints $(tr '\n' ' ' <<<"$COMPLETE")(latest $latest), nothing else"
    rm -rf -- "$TEST_DIR/$name"
}

gate_args 20000
S3_OUT=1 s3_run hashmap kill "$BIG" $COPIES
# RocksDB, incremental: the shared SSTs are objects of ck/<job>/shared/, named after the
# checkpoint that uploaded them; one uploaded by a checkpoint older than the oldest one
# retained is still there because a retained checkpoint references it (it was restorable)
s3_run rocksdb kill "$BASE" 1 -D state.backend.type=rocksdb -D state.backend.incremental=true
oldest=$(head -n 1 <<<"$COMPLETE")
oldest=${oldest#chk-}
older=$(sed -n 's|^ck/[0-9a-f]*/shared/.*-\([0-9]*\)-[0-9]*\.sst$|\1|p' <<<"$KEYS" |
    awk -v o="$oldest" '$1 < o' | sort -un | tr '\n' ' ')
[ -n "$older" ] || note "rocksdb: no shared SST of a checkpoint before chk-$oldest is referenced (every SST was rewritten by compaction)"
step "rocksdb: $(grep -c '/shared/' <<<"$KEYS") shared SST objects; uploaded by subsumed checkpoints and still referenced: ${older:-none}"

# ---------------------------------------------------------------------------------------
# the S3 server frozen for a while: checkpoints fail and are counted against
# tolerable-failed-checkpoints; the job runs on without a restart and loses nothing
s3_run outage outage "$BIG" $COPIES -D execution.checkpointing.tolerable-failed-checkpoints=100
assert_eq "$(ck "$JOB_ID" counts.restored)" 0 "outage: restores"

step "wordcount -p 3 stopped with a savepoint to s3://flint/sp; resumed at -p 2; output on S3"
UP0=$(uploads_left)
gate_close
submit wc-sp run -d -p 3 "${GATE[@]}" "${CKPT[@]}" "$EX/wordcount.so" --input "$BIG" \
    --output s3://flint/out-wc1
J=$JOB_ID
wait_completed "$J" 1 30
"$FLINT" stop --savepointPath s3://flint/sp "$J" >"$TEST_DIR/stop.stdout" 2>"$TEST_DIR/stop.stderr" ||
    fail "flint stop failed: $(cat "$TEST_DIR/stop.stdout" "$TEST_DIR/stop.stderr")"
SP=$(sed -n 's/^Savepoint completed\. Path: \(s3:.*\)$/\1/p' "$TEST_DIR/stop.stdout")
[ -n "$SP" ] || fail "flint stop: no 'Savepoint completed. Path: s3://...': $(cat "$TEST_DIR/stop.stdout")"
bucket_keys "${SP#s3://flint/}" | grep -qx "${SP#s3://flint/}/_metadata" ||
    fail "no $SP/_metadata in the bucket: $(bucket_keys sp)"
wait_state "$J" FINISHED 10
gate_open
wait_for "overview_is 3 3" 10 || fail "slots not free after flint stop: $(overview_str)"
timeout 120 "$FLINT" run -s "$SP" -p 2 "${CKPT[@]}" "$EX/wordcount.so" --input "$BIG" \
    --output s3://flint/out-wc2 >"$TEST_DIR/resume.stdout" 2>"$TEST_DIR/resume.stderr" ||
    fail "flint run -s $SP failed: $(cat "$TEST_DIR/resume.stdout" "$TEST_DIR/resume.stderr")"
JOB_ID=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' "$TEST_DIR/resume.stdout")
assert_eq "$(ck "$JOB_ID" latest.restored.is_savepoint)" True "resumed: latest.restored.is_savepoint"
assert_eq "$(ck "$JOB_ID" latest.restored.external_path)" "$SP" "resumed: latest.restored.external_path"
s3_parts wc1 r1
[ "${#PARTS[@]}" -gt 0 ] || fail "wc1: no part objects under s3://flint/out-wc1"
r1=("${PARTS[@]}")
s3_parts wc2 r2
res=$("$WC_CHECK" "$COUNTS" $COPIES exact "${r1[@]}" "${PARTS[@]}" 2>&1) ||
    fail "stopped at -p 3 with a savepoint on S3, resumed at -p 2: the output (on S3) differs from the reference:
$res"
step "savepoint $SP; resumed at -p 2: the stopped run's output then the resumed run's, read from the bucket: $res"
assert_eq "$(($(uploads_left) - UP0))" 0 "incomplete uploads left by the stopped and the resumed run"

step "wordcount -p 2 without checkpointing to s3://flint/out-nock: parts completed at the end"
UP0=$(uploads_left)
timeout 120 "$FLINT" run -p 2 "$EX/wordcount.so" --input "$BASE" --output s3://flint/out-nock \
    >"$TEST_DIR/nock.stdout" 2>"$TEST_DIR/nock.stderr" ||
    fail "wordcount to s3://flint/out-nock failed: $(cat "$TEST_DIR/nock.stdout" "$TEST_DIR/nock.stderr")"
s3_parts nock
[ "${#PARTS[@]}" -gt 0 ] || fail "nock: no part objects under s3://flint/out-nock"
res=$("$WC_CHECK" "$COUNTS" 1 exact "${PARTS[@]}" 2>&1) ||
    fail "nock: the output on S3 differs from the reference:
$res"
assert_eq "$(($(uploads_left) - UP0))" 0 "nock: incomplete uploads left"
step "nock: ${#PARTS[@]} part objects, no incomplete upload: $res"
grep -rq -- "$SECRET" "$FLINT_LOG_DIR" "$TEST_DIR"/*.stdout "$TEST_DIR"/*.stderr &&
    fail "a log or the CLI's output names the S3 secret key"
step "done"
