#!/usr/bin/env bash
# test_jobs.sh -- issue 4 point 14: jobs end to end through the real CLI on a cluster of one
# JobManager and 2 TaskManagers with 2 slots each (4 slots).
#
#   * flint info: source -> tokenizer chained at equal parallelism, never across keyBy (HASH)
#     nor across a change of parallelism (REBALANCE).
#   * wordcount at -p 1, 2, 4 on 4 MB of generated text (tests/cluster/ref/gen_text.py:
#     fixed seed, Zipf-like words, mixed case, punctuation, UTF-8, CRLF): for every word
#     the counts printed are exactly 1..N in order, from one subtask, N from an independent
#     count (ref/word_counts.py); "N> " prefixes exactly when the sink runs with p > 1. With
#     --output DIR (-p 2, 4): only part-<job>-<subtask>-<n> files, nothing hidden left over.
#   * keyed_sum: the tutorial's running sums per key of 1..8 mod 3, 8 lines, each key's
#     lines from one of the 4 print subtasks, in order.
#   * -p 5 on 4 slots waits for slot.request.timeout (2 s) and fails with "Could not acquire
#     the minimum required resources"; flint run exits non-zero.
#   * a map calling fl_ctx_fail fails the job with its message (examples/fail_job.c).
#   * socket_wordcount fed by a Python TCP server: shown by flint list while it runs, holds
#     2 slots, prints counts; flint cancel ends it in CANCELED and frees its slots.
#   * bad bundles (missing path, non-ELF file, no flint_main): one clear line, exit 1.
#   * after every job all 4 slots are free again.
# The print sinks' output is read from the TaskManagers' .out files (what each job added).
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"

REF="$FLINT_HOME/tests/cluster/ref"
EX="$FLINT_HOME/build/examples"
FLINT="$BIN/flint"
SLOTS=4

conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"

for so in wordcount keyed_sum socket_wordcount fail_job; do
    [ -f "$EX/$so.so" ] || fail "missing $EX/$so.so: run make first"
done

assert_eq() {
    [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

assert_contains() {
    case "$1" in
        *"$2"*) ;;
        *) fail "$3: expected to contain '$2', got: $1" ;;
    esac
}

slots_available() {
    rest GET /overview | json_get slots-available
}

all_slots_free() {
    [ "$(slots_available)" = "$SLOTS" ]
}

# After a job: all slots free within 5 s.
assert_slots_free() {
    wait_for all_slots_free 5 ||
        fail "after $1: slots-available $(slots_available), expected $SLOTS: $(rest GET /overview)"
}

job_state() {
    rest GET "/jobs/$1" | json_get state
}

# The TaskManagers' .out files and a mark of their sizes, to read what a job printed.
TM_OUTS=()
OUT_MARK=()
mark_outs() {
    local f i=0
    OUT_MARK=()
    for f in "${TM_OUTS[@]}"; do
        OUT_MARK[i]=$(stat -c %s -- "$f" 2>/dev/null || echo 0)
        i=$((i + 1))
    done
}

# new_outs PREFIX: writes what each .out file got since mark_outs to PREFIX.0, PREFIX.1 ...
# and prints their names.
new_outs() {
    local f i=0
    for f in "${TM_OUTS[@]}"; do
        tail -c +$((OUT_MARK[i] + 1)) -- "$f" >"$1.$i"
        echo "$1.$i"
        i=$((i + 1))
    done
}

# new_out_lines: how many lines the .out files got since mark_outs.
new_out_lines() {
    local f i=0 n=0
    for f in "${TM_OUTS[@]}"; do
        n=$((n + $(tail -c +$((OUT_MARK[i] + 1)) -- "$f" | wc -l)))
        i=$((i + 1))
    done
    echo "$n"
}

JOB_ID=
JOB_RC=0
# run_job NAME FLINT_ARGS...: runs `flint FLINT_ARGS...` attached; stdout/stderr in
# $TEST_DIR/NAME.stdout/.stderr, exit code in JOB_RC, the submitted JobID in JOB_ID.
run_job() {
    local name=$1
    shift
    "$FLINT" "$@" >"$TEST_DIR/$name.stdout" 2>"$TEST_DIR/$name.stderr"
    JOB_RC=$?
    JOB_ID=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' \
        "$TEST_DIR/$name.stdout")
}

# expect_finished NAME: the job of run_job NAME finished (exit 0, Flink's closing lines).
expect_finished() {
    local out
    out=$(cat "$TEST_DIR/$1.stdout")
    [ "$JOB_RC" = 0 ] || fail "$1: flint run exited $JOB_RC: $out $(cat "$TEST_DIR/$1.stderr")"
    [ -n "$JOB_ID" ] || fail "$1: no 'Job has been submitted with JobID <32 hex>' line: $out"
    assert_contains "$out" "Job with JobID $JOB_ID has finished." "$1: flint run output"
    grep -q '^Job Runtime: [0-9]* ms$' <<<"$out" || fail "$1: no 'Job Runtime: N ms' line: $out"
    assert_eq "$(job_state "$JOB_ID")" FINISHED "$1: state of job $JOB_ID"
    JOB_MS=$(sed -n 's/^Job Runtime: \([0-9]*\) ms$/\1/p' <<<"$out")
}

# plan_of ARGS...: `flint info ARGS` reduced to one line per vertex:
# "id parallelism op,op,... <- input_id:SHIP ..."
plan_of() {
    "$FLINT" info "$@" | py -c '
import json, sys
t = sys.stdin.read()
j = json.loads(t[t.index("{"):t.rindex("}") + 1])
for n in j["nodes"]:
    ins = " ".join("%s:%s" % (i["id"], i["ship_strategy"]) for i in n.get("inputs", []))
    print("%s %s %s <- %s" % (n["id"], n["parallelism"],
                             ",".join(o["name"] for o in n["operators"]), ins or "-"))
'
}

# ---------------------------------------------------------------------------------------
step "start a JobManager and 2 TaskManagers (2 slots each); generate 4 MB of text"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
"$BIN/taskmanager.sh" start >/dev/null || fail "taskmanager.sh start failed"
"$BIN/taskmanager.sh" start >/dev/null || fail "taskmanager.sh start failed"
TEXT="$TEST_DIR/text.txt"
COUNTS="$TEST_DIR/counts.txt"
py "$REF/gen_text.py" --seed 7 --bytes $((4 << 20)) "$TEXT" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$TEXT" >"$COUNTS" || fail "word_counts.py failed"
TOTAL_WORDS=$(awk '{ n += $2 } END { print n }' "$COUNTS")
wait_for "overview_is 2 $SLOTS" 5 || fail "cluster not at 2 TaskManagers / $SLOTS slots: $(overview_str)"
TM_OUTS=("$(out_of taskmanager 0)" "$(out_of taskmanager 1)")
step "cluster up; text: $(stat -c %s "$TEXT") bytes, $TOTAL_WORDS words, $(wc -l <"$COUNTS") distinct"

# ---------------------------------------------------------------------------------------
step "flint info: chaining"
plan=$(plan_of -p 2 "$EX/wordcount.so" --input "$TEXT") || fail "flint info wordcount failed"
assert_eq "$plan" "0 2 file-input,tokenizer <- -
1 2 counter,print-sink <- 0:HASH" "wordcount -p 2 plan"
plan=$(plan_of -p 4 "$EX/wordcount.so" --input "$TEXT" --output "$TEST_DIR/x") ||
    fail "flint info wordcount --output failed"
assert_eq "$plan" "0 4 file-input,tokenizer <- -
1 4 counter,file-sink <- 0:HASH" "wordcount -p 4 --output plan"
plan=$(plan_of -p 2 "$EX/socket_wordcount.so" --port 9) || fail "flint info socket_wordcount failed"
assert_eq "$plan" "0 1 socket-input <- -
1 2 tokenizer <- 0:REBALANCE
2 2 counter,print-sink <- 1:HASH" "socket_wordcount -p 2 plan (source of parallelism 1)"
plan=$(plan_of "$EX/keyed_sum.so") || fail "flint info keyed_sum failed"
assert_eq "$plan" "0 1 Source: Collection Source <- -
1 4 Keyed Aggregation,Sink: Print to Std. Out <- 0:HASH" "keyed_sum plan"
sed 's/^/    /' <<<"$plan"

# ---------------------------------------------------------------------------------------
for p in 1 2 4; do
    mark_outs
    run_job "wc-p$p" run -p "$p" "$EX/wordcount.so" --input "$TEXT"
    expect_finished "wc-p$p"
    wait_for "[ \$(new_out_lines) -ge $TOTAL_WORDS ]" 5 ||
        fail "wordcount -p $p: $(new_out_lines) lines in the .out files, expected $TOTAL_WORDS"
    mapfile -t outs < <(new_outs "$TEST_DIR/wc-p$p.out")
    res=$(py "$REF/check_wordcount.py" "$COUNTS" "$p" print "${outs[@]}" 2>&1) ||
        fail "wordcount -p $p (print) output differs from the reference:
$res"
    assert_slots_free "wordcount -p $p"
    step "wordcount -p $p (print): ${JOB_MS} ms; $res; first lines:"
    for i in "${!outs[@]}"; do
        head -n 2 -- "${outs[i]}" | sed "s|^|    $(basename -- "${TM_OUTS[i]}"): |"
    done
done

for p in 2 4; do
    dir="$TEST_DIR/wc-out-$p"
    run_job "wcf-p$p" run -p "$p" "$EX/wordcount.so" --input "$TEXT" --output "$dir"
    expect_finished "wcf-p$p"
    [ -d "$dir" ] || fail "wordcount -p $p --output: no directory $dir"
    # part-<job>-<subtask>-<n> of this job only (nothing hidden, no .inprogress left), in
    # subtask, n order
    mapfile -t parts < <(cd "$dir" && for f in * .*; do
        [ "$f" = . ] || [ "$f" = .. ] || [ ! -e "$f" ] || echo "$f"
    done | part_order)
    [ "${#parts[@]}" -gt 0 ] || fail "wordcount -p $p --output: no part files in $dir"
    for f in "${parts[@]}"; do
        [[ "$f" =~ ^part-$JOB_ID-([0-9]+)-[0-9]+$ ]] ||
            fail "wordcount -p $p --output: unexpected file '$f' in $dir (all: ${parts[*]})"
        [ "${BASH_REMATCH[1]}" -lt "$p" ] ||
            fail "wordcount -p $p --output: $f names subtask ${BASH_REMATCH[1]} (parallelism $p)"
    done
    res=$(cd "$dir" && py "$REF/check_wordcount.py" "$COUNTS" "$p" file "${parts[@]}" 2>&1) ||
        fail "wordcount -p $p --output: part files differ from the reference:
$res"
    assert_slots_free "wordcount -p $p --output"
    step "wordcount -p $p --output: ${JOB_MS} ms; ${#parts[@]} part files (${parts[*]}); $res"
done

# Edge cases of the file source and the tokenizer at an odd parallelism: lines longer than
# a network buffer (32 KiB), words longer than FL_MAX_KEY (cut to 1024 bytes: 'x' * 3000 and
# 'X' * 2000 are one word), CRLF, empty and punctuation-only lines, no final newline.
EDGE="$TEST_DIR/edge.txt"
py - "$EDGE" <<'EOF'
import random, sys
rng = random.Random(3)
words = ["alpha", "Beta", "GAMMA", "d3lta", "42", "e"]
with open(sys.argv[1], "wb") as f:
    f.write(b"Alpha beta\r\n\n...!?\n")
    for n in (40000, 150000, 70000):
        f.write(" ".join(rng.choice(words) for _ in range(n // 5)).encode() + b"\n")
    f.write(b"x" * 3000 + b" " + b"X" * 2000 + b", y" * 300 + b"\n\r\n")
    for i in range(2000):
        f.write(b"line %d: %s\n" % (i % 97, rng.choice(words).encode()))
    f.write(b"final WORD")
EOF
py "$REF/word_counts.py" "$EDGE" >"$TEST_DIR/edge.counts" || fail "word_counts.py failed"
EDGE_WORDS=$(awk '{ n += $2 } END { print n }' "$TEST_DIR/edge.counts")
mark_outs
run_job wc-edge run -p 3 "$EX/wordcount.so" --input "$EDGE"
expect_finished wc-edge
wait_for "[ \$(new_out_lines) -ge $EDGE_WORDS ]" 5 ||
    fail "wordcount -p 3 (edge cases): $(new_out_lines) lines in the .out files, expected $EDGE_WORDS"
mapfile -t outs < <(new_outs "$TEST_DIR/wc-edge.out")
res=$(py "$REF/check_wordcount.py" "$TEST_DIR/edge.counts" 3 print "${outs[@]}" 2>&1) ||
    fail "wordcount -p 3 (edge cases) output differs from the reference:
$res"
assert_slots_free "wordcount -p 3 (edge cases)"
step "wordcount -p 3 (long lines and words, CRLF, no final newline): $res"

# ---------------------------------------------------------------------------------------
mark_outs
run_job keyed_sum run "$EX/keyed_sum.so"
expect_finished keyed_sum
wait_for '[ $(new_out_lines) -ge 8 ]' 5 || fail "keyed_sum: $(new_out_lines) lines printed, expected 8"
mapfile -t outs < <(new_outs "$TEST_DIR/keyed_sum.out")
res=$(py - "${outs[@]}" <<'EOF' 2>&1
import re, struct, sys
# Flink's semantics, computed here: fromElements(1..8).keyBy(r % 3).sum() emits each key's
# running sum for every element.
sums, expected = {}, {}
for r in range(1, 9):
    sums[r % 3] = sums.get(r % 3, 0) + r
    expected.setdefault(r % 3, []).append(sums[r % 3])
by_value = {v: k for k, vs in expected.items() for v in vs}  # the sums are all distinct


def murmur3_32(data, seed):
    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & 0xffffffff
    h, c1, c2, n = seed, 0xcc9e2d51, 0x1b873593, len(data)
    for i in range(0, n - n % 4, 4):
        k = struct.unpack_from("<I", data, i)[0]
        k = rotl(k * c1 & 0xffffffff, 15) * c2 & 0xffffffff
        h = (rotl(h ^ k, 13) * 5 + 0xe6546b64) & 0xffffffff
    k = 0
    for j, b in enumerate(data[n - n % 4:]):
        k |= b << (8 * j)
    if n % 4:
        h ^= rotl(k * c1 & 0xffffffff, 15) * c2 & 0xffffffff
    h ^= n
    h = (h ^ (h >> 16)) * 0x85ebca6b & 0xffffffff
    h = (h ^ (h >> 13)) * 0xc2b2ae35 & 0xffffffff
    return h ^ (h >> 16)


# DESIGN.md section 4: key bytes (the int32 remainder) -> murmur3 -> key group of 128 ->
# subtask kg * 4 / 128; the print sink is chained to the summing subtask.
owner = {k: str(murmur3_32(struct.pack("<i", k), 0x9747b28c) % 128 * 4 // 128 + 1)
         for k in expected}
got, prefix = {}, {}
for path in sys.argv[1:]:
    for line in open(path):
        m = re.fullmatch(r"([1-4])> (-?[0-9]+)\n", line)
        if not m:
            sys.exit("malformed line %r (expected 'N> sum', N in 1..4)" % line)
        v = int(m.group(2))
        if v not in by_value:
            sys.exit("%d is no running sum of Flink's semantics %s" % (v, expected))
        k = by_value[v]
        if prefix.setdefault(k, m.group(1)) != m.group(1):
            sys.exit("key %d printed by subtasks %s and %s" % (k, prefix[k], m.group(1)))
        got.setdefault(k, []).append(v)
if got != expected:
    sys.exit("running sums per key %s, expected %s" % (got, expected))
if prefix != owner:
    sys.exit("key -> print subtask %s, expected %s from the key groups" % (prefix, owner))
print(", ".join("key %d: %s> %s" % (k, prefix[k], " ".join(map(str, expected[k])))
                for k in sorted(expected)))
EOF
) || fail "keyed_sum output: $res"
assert_slots_free keyed_sum
step "keyed_sum: $res; printed:"
for i in "${!outs[@]}"; do
    sed "s|^|    $(basename -- "${TM_OUTS[i]}"): |" -- "${outs[i]}"
done

# ---------------------------------------------------------------------------------------
step "wordcount -p 5 on $SLOTS slots with slot.request.timeout 2 s"
t0=$(now_ms)
run_job nores -D "slot.request.timeout=2 s" run -p 5 "$EX/wordcount.so" --input "$TEXT"
elapsed=$(($(now_ms) - t0))
[ "$JOB_RC" != 0 ] || fail "-p 5 on $SLOTS slots: flint run exited 0: $(cat "$TEST_DIR/nores.stdout")"
[ -n "$JOB_ID" ] || fail "-p 5: the job was not submitted: $(cat "$TEST_DIR/nores.stderr")"
assert_contains "$(cat "$TEST_DIR/nores.stderr")" "Could not acquire the minimum required resources" \
    "-p 5 on $SLOTS slots: flint run's error"
[ "$elapsed" -ge 2000 ] || fail "-p 5: failed after $elapsed ms, before the 2 s slot request timeout"
[ "$elapsed" -le 15000 ] || fail "-p 5: took $elapsed ms to fail (timeout 2 s)"
assert_eq "$(job_state "$JOB_ID")" FAILED "-p 5: state of job $JOB_ID"
assert_slots_free "the job without resources"
step "failed after $elapsed ms (exit $JOB_RC): $(grep -m 1 'Could not acquire' "$TEST_DIR/nores.stderr")"

# ---------------------------------------------------------------------------------------
step "fail_job: a map calling fl_ctx_fail, restarted twice (fixed-delay, 2 attempts)"
run_job fail run -p 1 -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=2 \
    -D "restart-strategy.fixed-delay.delay=50 ms" "$EX/fail_job.so" --fail-at 100
[ "$JOB_RC" != 0 ] || fail "fail_job: flint run exited 0: $(cat "$TEST_DIR/fail.stdout")"
assert_contains "$(cat "$TEST_DIR/fail.stderr")" "boom at record 100" "fail_job: flint run's error"
assert_eq "$(job_state "$JOB_ID")" FAILED "fail_job: state of job $JOB_ID"
assert_contains "$(rest GET "/jobs/$JOB_ID")" "boom at record 100" "fail_job: /jobs/$JOB_ID"
# Flink's exception history: the three failures (first run and two restarts), newest first,
# each naming its subtask, where it ran and the function's message
rest GET "/jobs/$JOB_ID/exceptions" | py -c '
import json, sys
o = json.load(sys.stdin)
h = o["exceptionHistory"]
e = h["entries"]
assert len(e) == 3 and not h["truncated"], "want 3 entries, got %d: %s" % (len(e), o)
assert "boom at record 100" in o["root-exception"], o
ts = [x["timestamp"] for x in e]
assert ts == sorted(ts, reverse=True) and ts[-1] > 0, ts
assert o["timestamp"] == ts[0], o
for x in e:
    assert "boom at record 100" in x["stacktrace"], x
    assert x["taskName"].endswith("(1/1)"), x
    assert x["location"].startswith("127.0.0.1:") and x["taskManagerId"], x
    assert x["exceptionName"], x
' || fail "fail_job: /jobs/$JOB_ID/exceptions: $(rest GET "/jobs/$JOB_ID/exceptions")"
assert_slots_free fail_job
step "failed (exit $JOB_RC): $(grep -m 1 boom "$TEST_DIR/fail.stderr")"

# ---------------------------------------------------------------------------------------
step "socket_wordcount -p 2 fed by a TCP server; flint list; flint cancel"
SOCK_PORT=$(free_port)
# (the interpreter itself, not the py function: $! must be python's pid to kill it)
"$PYTHON" -S - "$SOCK_PORT" "$TEXT" >"$TEST_DIR/server.log" 2>&1 <<'EOF' &
# Serves the text's lines, 50 every 10 ms, to each connection until it closes.
import socket, sys, threading, time
port, path = int(sys.argv[1]), sys.argv[2]
lines = open(path, "rb").read().splitlines(keepends=True)[:20000]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
print("listening", flush=True)
def serve(c):
    i = 0
    try:
        while True:
            c.sendall(b"".join(lines[(i + k) % len(lines)] for k in range(50)))
            i += 50
            time.sleep(0.01)
    except OSError:
        print("connection closed after %d lines" % i, flush=True)
while True:
    c, _ = srv.accept()
    print("accepted", flush=True)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
SERVER_PID=$!
trap 'rc=$?; kill "$SERVER_PID" 2>/dev/null; (exit $rc); cleanup' EXIT
wait_for "grep -q listening '$TEST_DIR/server.log'" 5 || fail "the TCP server did not start"
mark_outs
run_job sock run -d -p 2 "$EX/socket_wordcount.so" --host 127.0.0.1 --port "$SOCK_PORT"
[ "$JOB_RC" = 0 ] && [ -n "$JOB_ID" ] ||
    fail "socket_wordcount: flint run -d exited $JOB_RC: $(cat "$TEST_DIR/sock.stdout" "$TEST_DIR/sock.stderr")"
wait_for "[ \"\$(job_state $JOB_ID)\" = RUNNING ]" 10 ||
    fail "socket_wordcount not RUNNING: $(job_state "$JOB_ID")"
wait_for "[ \$(new_out_lines) -ge 1000 ]" 10 ||
    fail "socket_wordcount printed $(new_out_lines) lines in 10 s"
grep -q accepted "$TEST_DIR/server.log" || fail "the socket source never connected"
list=$("$FLINT" list 2>&1) || fail "flint list failed: $list"
grep -q " : $JOB_ID : Socket WordCount (RUNNING)$" <<<"$list" ||
    fail "flint list does not show job $JOB_ID running: $list"
wait_for "[ \"\$(slots_available)\" = $((SLOTS - 2)) ]" 5 ||
    fail "socket_wordcount -p 2 running: slots-available $(slots_available), expected $((SLOTS - 2))"
# complete lines only: the sink may be in the middle of one
mapfile -t outs < <(new_outs "$TEST_DIR/sock.out")
bad=$(py -c '
import re, sys
for p in sys.argv[1:]:
    for l in open(p, "rb").read().split(b"\n")[:-1]:
        if not re.fullmatch(rb"[12]> [a-z0-9]+,[0-9]+", l):
            print(l[:80]); break
' "${outs[@]}")
[ -z "$bad" ] || fail "socket_wordcount printed malformed lines: $bad"
step "running, $(new_out_lines) lines printed, slots-available $(slots_available); flint list:"
sed 's/^/    /' <<<"$list"
t0=$(now_ms)
out=$("$FLINT" cancel "$JOB_ID" 2>&1) || fail "flint cancel $JOB_ID failed: $out"
assert_contains "$out" "Cancelled job $JOB_ID." "flint cancel output"
wait_for "[ \"\$(job_state $JOB_ID)\" = CANCELED ]" 10 ||
    fail "socket_wordcount after cancel: state $(job_state "$JOB_ID"), expected CANCELED"
cancel_ms=$(($(now_ms) - t0))
assert_slots_free "the cancelled socket_wordcount"
wait_for "grep -q 'connection closed' '$TEST_DIR/server.log'" 5 ||
    fail "the socket source kept its connection open after the cancel"
list=$("$FLINT" list 2>&1)
grep -q "$JOB_ID" <<<"$list" && fail "flint list still shows the cancelled job: $list"
grep -q " : $JOB_ID : Socket WordCount (CANCELED)$" <<<"$("$FLINT" list -a 2>&1)" ||
    fail "flint list -a does not show job $JOB_ID as CANCELED: $("$FLINT" list -a 2>&1)"
step "CANCELED ${cancel_ms} ms after flint cancel; slots free; the source closed its connection"
kill "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID" 2>/dev/null
trap cleanup EXIT

# ---------------------------------------------------------------------------------------
step "bad bundles: one clear line, exit 1"
printf 'not a bundle\n' >"$TEST_DIR/text.so"
printf 'int not_main(void);\nint not_main(void) { return 0; }\n' >"$TEST_DIR/nomain.c"
cc -shared -fPIC -o "$TEST_DIR/nomain.so" "$TEST_DIR/nomain.c" || fail "cannot build nomain.so"
for c in "missing:$TEST_DIR/no-such-bundle.so:does not exist" \
    "non-ELF:$TEST_DIR/text.so:is not a job bundle" \
    "no flint_main:$TEST_DIR/nomain.so:flint_main"; do
    what=${c%%:*}
    rest_=${c#*:}
    path=${rest_%%:*}
    needle=${rest_#*:}
    for action in run info; do
        "$FLINT" "$action" "$path" >"$TEST_DIR/bad.stdout" 2>"$TEST_DIR/bad.stderr"
        rc=$?
        err=$(cat "$TEST_DIR/bad.stderr")
        assert_eq "$rc" 1 "flint $action on a $what bundle: exit code"
        assert_eq "$(wc -l <"$TEST_DIR/bad.stderr")" 1 "flint $action on a $what bundle: lines on stderr ($err)"
        [ -s "$TEST_DIR/bad.stdout" ] && fail "flint $action on a $what bundle printed: $(cat "$TEST_DIR/bad.stdout")"
        assert_contains "$err" "$needle" "flint $action on a $what bundle"
    done
    echo "    $what: $err"
done
assert_slots_free "the bad bundles"
assert_eq "$(rest GET /overview | json_get jobs-running)" 0 "jobs-running at the end"
step "done"
