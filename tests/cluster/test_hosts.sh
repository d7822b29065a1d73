#!/usr/bin/env bash
# test_hosts.sh -- issue 10 points 1-3: Flint on separate hosts. Four hosts as network
# namespaces (hosts.sh): the JobManager on h1, a TaskManager of 2 slots on each of h2, h3,
# h4, started and stopped by bin/start-cluster.sh / stop-cluster.sh through env.remote-exec
# ('ip netns exec'), every *.bind-host 0.0.0.0, taskmanager.host unset, per-host log and pid
# directories ({host}).
#
#   * each TaskManager advertises its own host's address (its route to the JobManager), as
#     /taskmanagers shows and its log says; none advertises a loopback address;
#   * WordCount at -p 6 across the three hosts (a keyed shuffle over veth), exact output;
#   * a TaskManager with taskmanager.host: localhost on h4 is refused, with a message naming
#     the key on both sides, and stops (exit status 2: retrying cannot help);
#   * a TaskManager advertising an address nobody has (taskmanager.host on h4 set to an
#     unused address of the subnet): a job whose shuffle needs it fails, naming the
#     address, instead of hanging;
#   * a checkpoint directory that h4 cannot write (read-only in its mount namespace,
#     writable elsewhere): the checkpoints fail with h4's TaskManager named in the message;
#   * stop-cluster.sh stops every daemon on every host.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/hosts.sh
. "$(dirname -- "$0")/hosts.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

hosts_require
step "four hosts as network namespaces"
hosts_create 4
hosts_cluster_conf 1
conf_set taskmanager.numberOfTaskSlots 2
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "5 s"

step "bin/start-cluster.sh: the JobManager on h1, TaskManagers on h2 h3 h4"
"$BIN/start-cluster.sh" >"$TEST_DIR/start.out" 2>&1 || fail "start-cluster.sh failed: $(cat "$TEST_DIR/start.out")"
wait_for "overview_is 3 6" 20 || fail "cluster not at 3 TaskManagers / 6 slots: $(overview_str)"
for i in 1 2 3 4; do
    [ -d "$TEST_DIR/pid/h$i" ] || fail "no pid directory of its own for h$i"
done

# every TaskManager advertises its own host's address
got=$(rest GET /taskmanagers | py -c '
import json, sys
for t in json.load(sys.stdin)["taskmanagers"]:
    print(t["id"].rsplit(":", 1)[0])' | sort | tr '\n' ' ')
want=$(for i in 2 3 4; do echo "${HOST_IP[i]}"; done | sort | tr '\n' ' ')
assert_eq "$got" "$want" "the addresses the TaskManagers advertise"
for i in 2 3 4; do
    grep -q "advertising ${HOST_IP[i]}:[0-9]* (RPC) and ${HOST_IP[i]}:[0-9]* (data), from the local address of the route to the JobManager" "$(host_log "$i" taskmanager 0)" ||
        fail "h$i's TaskManager log does not say what it advertises: $(grep -m1 started "$(host_log "$i" taskmanager 0)")"
done
step "TaskManagers advertise $got"

# ---------------------------------------------------------------------------------------
TEXT="$TEST_DIR/text.txt"
py "$REF/gen_text.py" --seed 10 --bytes $((2 << 20)) "$TEXT" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$TEXT" >"$TEST_DIR/text.counts" || fail "word_counts.py failed"
t0=$(now_ms)
flint run -p 6 "$EX/wordcount.so" --input "$TEXT" --output "$TEST_DIR/wc" \
    >"$TEST_DIR/wc.stdout" 2>&1 || fail "wordcount -p 6 across hosts: $(cat "$TEST_DIR/wc.stdout")"
part_args r1 "$TEST_DIR/wc"
res=$("$WC_CHECK" "$TEST_DIR/text.counts" 1 exact "${PARTS[@]}" 2>&1) ||
    fail "wordcount across hosts: the output differs from the reference:
$res"
step "wordcount -p 6 over h2 h3 h4 in $(($(now_ms) - t0)) ms: $res"

# ---------------------------------------------------------------------------------------
step "a TaskManager on h4 with taskmanager.host: localhost"
# (taskmanager.sh start may already see it exit: refused, it stops by itself)
host_daemon 4 taskmanager.sh start -D taskmanager.host=localhost >"$TEST_DIR/loop.out" 2>&1
LOOP_RC=$?
wait_for "grep -q 'Refusing the registration of TaskManager localhost:[0-9]*-[0-9a-f]* from .*advertises the loopback address' '$(host_log 1 jobmanager 0)'" 10 ||
    fail "the JobManager did not refuse the loopback TaskManager"
wait_for "grep -qi 'refused the registration.*set taskmanager.host' '$(host_log 4 taskmanager 1)'" 10 ||
    fail "the loopback TaskManager does not log the refusal"
assert_eq "$(overview_str)" "taskmanagers=3 slots-total=6" "the overview with the refused TaskManager"
# refused for what it is, it stops by itself (no retry can help): exit status 2
wait_for "grep -q 'refused the registration for good: .*Stopping' '$(host_log 4 taskmanager 1)'" 10 ||
    fail "the refused TaskManager did not say why it stopped"
wait_for "[ \$(for p in \$(cat '$TEST_DIR/pid/h4/flint-$FLINT_USER-taskmanager.pid'); do is_flint_pid \$p && echo \$p; done | wc -l) -le 1 ]" 10 ||
    fail "the refused TaskManager still runs on h4"
step "refused on both sides, and it stopped (taskmanager.sh start: exit $LOOP_RC): $(grep -m1 -o "advertises the loopback address.*connects from [0-9.]*" "$(host_log 1 jobmanager 0)")"

# ---------------------------------------------------------------------------------------
step "a TaskManager on h4 advertising an address nobody has"
"$BIN/stop-cluster.sh" >/dev/null 2>&1
wait_for "! rest GET /overview >/dev/null" 10 || fail "the cluster did not stop"
"$BIN/start-cluster.sh" >/dev/null 2>&1 || fail "start-cluster.sh failed"
wait_for "overview_is 3 6" 20 || fail "cluster not at 3 TaskManagers: $(overview_str)"
GHOST="$HOSTS_NET.200"
host_daemon 4 taskmanager.sh start -D "taskmanager.host=$GHOST" \
    -D taskmanager.numberOfTaskSlots=4 >/dev/null || fail "taskmanager.sh start on h4 failed"
wait_for "overview_is 4 10" 10 || fail "the TaskManager advertising $GHOST did not register: $(overview_str)"
# -p 10 needs every slot, the ghost's too: a shuffle between it and the others
t0=$(now_ms)
timeout 120 "${FLINT_JM[@]}" run -p 10 "$EX/wordcount.so" --input "$TEXT" --output "$TEST_DIR/wc-ghost" \
    >"$TEST_DIR/ghost.stdout" 2>&1
rc=$?
ms=$(($(now_ms) - t0))
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "the job with a TaskManager at an unreachable address: exit $rc after $ms ms: $(tail -n 5 "$TEST_DIR/ghost.stdout")"
grep -q "$GHOST" "$TEST_DIR/ghost.stdout" ||
    fail "the failure does not name the unreachable address $GHOST: $(tail -n 5 "$TEST_DIR/ghost.stdout")"
step "failed after $ms ms, naming it: $(grep -m1 -o "Caused by: .*$GHOST[^ ]*" "$TEST_DIR/ghost.stdout" | head -c 200)"

# ---------------------------------------------------------------------------------------
step "a checkpoint directory h4 cannot write (read-only in h4's mount namespace)"
host_daemon 4 taskmanager.sh stop-all >/dev/null 2>&1
CKDIR="$TEST_DIR/checkpoints"
mkdir -p "$CKDIR"
on_host 4 unshare -m --propagation private sh -c \
    'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec env HOSTNAME=h4 "$2" start' \
    sh "$CKDIR" "$BIN/taskmanager.sh" >/dev/null || fail "cannot start h4's TaskManager with $CKDIR read-only"
wait_for "overview_is 3 6" 20 || fail "cluster not at 3 TaskManagers / 6 slots: $(overview_str)"
H4_TM=$(rest GET /taskmanagers | py -c '
import json, sys
print(*[t["id"] for t in json.load(sys.stdin)["taskmanagers"] if t["id"].startswith(sys.argv[1] + ":")])' "${HOST_IP[4]}")
[ -n "$H4_TM" ] || fail "no TaskManager of h4 registered"
gate_args 0
gate_close
submit ro-ckpt run -d -p 6 "${GATE[@]}" -D "execution.checkpointing.interval=200 ms" \
    -D "state.checkpoints.dir=$CKDIR" -D execution.checkpointing.tolerable-failed-checkpoints=1000 \
    "$EX/seqcheck.so" --keys 16 --per-key 1000000 --rate 20000 --output "$TEST_DIR/ro-out"
failed_on_h4() {
    rest GET "/jobs/$JOB_ID/checkpoints" | json_get latest.failed.failure_message | grep -q "on TaskManager $H4_TM"
}
wait_for failed_on_h4 30 || fail "no failed checkpoint naming h4's TaskManager $H4_TM: $(rest GET "/jobs/$JOB_ID/checkpoints" | json_get latest.failed)"
step "the checkpoint failed, naming h4: $(rest GET "/jobs/$JOB_ID/checkpoints" | json_get latest.failed.failure_message | head -c 220)"
flint cancel "$JOB_ID" >/dev/null 2>&1 || fail "flint cancel failed"
gate_open

# ---------------------------------------------------------------------------------------
step "stop-cluster.sh stops every daemon on every host"
"$BIN/stop-cluster.sh" >"$TEST_DIR/stop.out" 2>&1
left=
for f in "$TEST_DIR"/pid/*/*.pid; do
    [ -e "$f" ] || continue
    for p in $(cat -- "$f"); do
        is_flint_pid "$p" && left+=" $p"
    done
done
[ -z "$left" ] || fail "daemons still running after stop-cluster.sh:$left ($(cat "$TEST_DIR/stop.out"))"
step "done"
