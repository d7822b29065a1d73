#!/usr/bin/env bash
# test_nemesis.sh -- issue 10 point 4: a fault suite in the spirit of flink-jepsen, on four
# hosts (hosts.sh): the JobManager on h1, TaskManagers of 2 slots on h2, h3, h4 (slots
# spread evenly), heartbeats every 500 ms with a 4 s timeout.
#
# Each nemesis hits h2 while a job runs (its sources held on the gate file until the nemesis
# has healed, so the job cannot have finished, however fast the machine), then heals; the job
# must finish with its exactly-once output right, every slot must be free again and every
# daemon answering. Per nemesis the test prints the time to detect (the job leaves RUNNING)
# and the time to RUNNING again.
#
#   kill       kill -9 of h2's TaskManager; a new one started
#   stop       SIGSTOP of h2's TaskManager for 7 s, then SIGCONT
#   part-jm    h2 and the JobManager's host cannot reach each other for 7 s
#   part-data  h2 and the other TaskManager hosts cannot reach each other for 12 s, the
#              JobManager still can (heartbeats flow; the data connections must find out
#              themselves: heartbeat.timeout + 2 s, or 2 x heartbeat.timeout + 1 s on a
#              kernel without TCP_RTO_MAX_MS, README "Hosts")
#   one-way    h2 hears nothing from the JobManager's host for 7 s (h2 still sends)
#   loss       h2 loses 5 % of what it receives, at random, for 10 s (no restart needed)
#   short      a full partition of h2 from everyone for 1 s, healed well before
#              heartbeat.timeout: the job must not restart
#
# The job is seqcheck (examples/seqcheck.c: every key's sequence numbers arrive with no gap
# and no repeat) at -p 3 with checkpoints every 200 ms into the exactly-once file sink; with
# NEMESIS_FULL=1 (make test-faults) every nemesis runs with WordCount too, checked against
# ref/word_counts.py. make test runs kill, stop, part-data and short; make test-faults all.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/hosts.sh
. "$(dirname -- "$0")/hosts.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

hosts_require
NEMESES=(kill stop part-data short)
JOBS=(seq)
if [ "${NEMESIS_FULL:-0}" = 1 ]; then
    NEMESES=(kill stop part-jm part-data one-way loss short)
    JOBS=(seq wc)
fi
hosts_create 4
hosts_cluster_conf 1
conf_set taskmanager.numberOfTaskSlots 2
conf_set cluster.evenly-spread-out-slots true
conf_set heartbeat.interval "500 ms"
conf_set heartbeat.timeout "4 s"
JM_IP=${HOST_IP[1]}
VICTIM=2

step "a JobManager on h1, TaskManagers on h2 h3 h4; nemeses: ${NEMESES[*]}; jobs: ${JOBS[*]}"
"$BIN/start-cluster.sh" >"$TEST_DIR/start.out" 2>&1 || fail "start-cluster.sh failed: $(cat "$TEST_DIR/start.out")"
wait_for "overview_is 3 6" 20 || fail "cluster not at 3 TaskManagers / 6 slots: $(overview_str)"

TEXT="$TEST_DIR/text.txt"
py "$REF/gen_text.py" --seed 12 --bytes $((2 << 20)) "$TEXT" || fail "gen_text.py failed"
py "$REF/word_counts.py" "$TEXT" >"$TEST_DIR/text.counts" || fail "word_counts.py failed"

CKPT=(-D "execution.checkpointing.interval=200 ms" -D "state.checkpoints.dir=$TEST_DIR/ck"
    -D restart-strategy.type=fixed-delay -D restart-strategy.fixed-delay.attempts=1000
    -D "restart-strategy.fixed-delay.delay=200 ms"
    -D execution.checkpointing.tolerable-failed-checkpoints=1000)
KEYS=16
PER_KEY=40000

victim_pids() {
    local p
    for p in $(cat "$TEST_DIR"/pid/h$VICTIM/*taskmanager*.pid 2>/dev/null); do
        is_flint_pid "$p" && echo "$p"
    done
}

# What h2's TaskManager is doing, for a failure message: alive or not, and its last lines
victim_diag() {
    local p f
    for f in "$TEST_DIR"/pid/h$VICTIM/*taskmanager*.pid; do
        for p in $(cat -- "$f" 2>/dev/null); do
            if is_flint_pid "$p"; then
                echo "h$VICTIM's TaskManager $p is alive ($(sed -n 's/^State:\t//p' "/proc/$p/status"))"
            else
                echo "h$VICTIM's TaskManager $p is gone"
            fi
        done
    done
    for f in "$TEST_DIR"/log/h$VICTIM/*taskmanager*; do
        [ -f "$f" ] && echo "--- $(basename -- "$f"), last 15 lines:" && tail -n 15 -- "$f"
    done
}

# the nemeses: inject NAME / heal NAME; HOLD_MS how long the fault lasts
inject() {
    local o
    case "$1" in
        kill) for p in $(victim_pids); do kill -9 "$p"; done ;;
        stop) for p in $(victim_pids); do kill -STOP "$p"; done ;;
        part-jm)
            nft_drop "$VICTIM" nemesis "ip saddr $JM_IP"
            nft_drop 1 nemesis "ip saddr ${HOST_IP[VICTIM]}"
            ;;
        part-data)
            for o in 3 4; do
                nft_drop "$VICTIM" nemesis "ip saddr ${HOST_IP[o]}"
                nft_drop "$o" nemesis "ip saddr ${HOST_IP[VICTIM]}"
            done
            ;;
        one-way) nft_drop "$VICTIM" nemesis "ip saddr $JM_IP" ;;
        loss) nft_drop "$VICTIM" nemesis "numgen random mod 100 < 5" ;;
        short)
            nft_drop "$VICTIM" nemesis "ip saddr $HOSTS_NET.0/24"
            for o in 1 3 4; do nft_drop "$o" nemesis "ip saddr ${HOST_IP[VICTIM]}"; done
            ;;
    esac
}

heal() {
    local i
    case "$1" in
        kill) host_daemon "$VICTIM" taskmanager.sh start >/dev/null || fail "cannot start a TaskManager on h$VICTIM" ;;
        stop) for p in $(victim_pids); do kill -CONT "$p"; done ;;
        *) for i in 1 2 3 4; do nft_heal "$i" nemesis; done ;;
    esac
}

hold_ms() {
    case "$1" in
        kill) echo 0 ;;
        loss) echo 10000 ;;
        short) echo 1000 ;;
        part-data) echo 12000 ;; # past the data connections' 2 x 4 s + 1 s
        *) echo 7000 ;; # heartbeat.timeout (4 s) and a margin for a loaded machine
    esac
}

# expects_restart NAME: 0 for nemeses that must not restart the job
expects_restart() {
    case "$1" in
        short) return 1 ;;
        loss) return 2 ;; # may or may not
    esac
    return 0
}

# run_nemesis NEMESIS JOB
run_nemesis() {
    local nem=$1 job=$2 name="$2-$1" out j t0 detect=- running=- s restored hold res
    out="$TEST_DIR/$name.out"
    gate_close
    if [ "$job" = seq ]; then
        submit "$name" run -d -p 3 "${CKPT[@]}" "${GATE[@]}" "$EX/seqcheck.so" --keys $KEYS \
            --per-key $PER_KEY --rate 100000 --output "$out"
    else
        submit "$name" run -d -p 3 "${CKPT[@]}" "${GATE[@]}" "$EX/wordcount.so" \
            --input "$TEXT" --output "$out"
    fi
    j=$JOB_ID
    wait_state "$j" RUNNING 20
    wait_completed "$j" 2 30
    hold=$(hold_ms "$nem")
    t0=$(now_ms)
    inject "$nem"
    # a partition that must heal within heartbeat.timeout heals on its own timer: this loop's
    # REST calls through ip netns can take several 100 ms on a loaded machine, and every
    # connection is silent until its next retransmission after the heal (within 1 s where
    # the kernel caps the backoff, fl_tcp_tune; else up to twice the partition's length)
    local healer=
    if [ "$nem" = short ]; then
        (sleep "$(awk -v ms="$hold" 'BEGIN { print ms / 1000 }')" && heal "$nem") &
        healer=$!
    fi
    # watch the job until the fault has lasted its time and, when it restarts, it runs again
    local healed=0 left_running=0
    while :; do
        local el=$(($(now_ms) - t0))
        s=$(job_state "$j")
        restored=$(ck "$j" counts.restored) || restored=0
        if [ "$s" != RUNNING ] && [ "$detect" = - ]; then
            detect=$el
            left_running=1
        fi
        # a restart shorter than one round of this loop (two REST calls through ip netns:
        # several 100 ms on a loaded machine) is seen by its count alone
        if [ "$left_running" = 0 ] && [ "$s" = RUNNING ] && [ "${restored:-0}" -ge 1 ]; then
            left_running=1
            detect="<$el"
        fi
        if [ "$left_running" = 1 ] && [ "$s" = RUNNING ] && [ "${restored:-0}" -ge 1 ] && [ "$running" = - ]; then
            running=$el
        fi
        if [ "$healed" = 0 ] && [ "$el" -ge "$hold" ]; then
            if [ -n "$healer" ]; then
                wait "$healer" || fail "$name: healing failed"
            else
                heal "$nem"
            fi
            healed=1
        fi
        is_terminal "$s" && fail "$name: the job ended $s: $(rest GET "/jobs/$j/exceptions" | head -c 600)"
        if [ "$healed" = 1 ]; then
            expects_restart "$nem"
            case $? in
                0) [ "$running" != - ] && break ;;
                *) [ "$el" -ge $((hold + 2000)) ] && break ;;
            esac
        fi
        [ "$el" -gt 60000 ] && fail "$name: after 60 s the job is $s (restored ${restored:-0}), detect $detect ms"
        sleep 0.1
    done
    restored=$(ck "$j" counts.restored) || restored=0
    expects_restart "$nem"
    case $? in
        0) [ "$restored" -ge 1 ] || fail "$name: no restore after the nemesis" ;;
        1) assert_eq "$restored" 0 "$name: restores after a partition healed within heartbeat.timeout" ;;
    esac
    gate_open
    wait_state "$j" FINISHED 90
    if [ "$job" = seq ]; then
        seq_verify "$name" "$out" $KEYS $PER_KEY
        [ "$SEQ_OK" = 1 ] || fail "$name: $SEQ_RES"
        res=$SEQ_RES
    else
        part_args r1 "$out"
        res=$("$WC_CHECK" "$TEST_DIR/text.counts" 1 exact "${PARTS[@]}" 2>&1) ||
            fail "$name: the output differs from the reference:
$res"
    fi
    # healed: every TaskManager back, every slot free, every daemon answering
    wait_for "overview_is 3 6" 30 || fail "$name: after healing: $(overview_str), expected 3 TaskManagers / 6 slots; $(victim_diag)"
    wait_for "[ \"\$(rest GET /overview | json_get slots-available)\" = 6 ]" 30 ||
        fail "$name: slots not all free after the job: $(rest GET /overview)"
    for f in "$TEST_DIR"/pid/*/*.pid; do
        for p in $(cat -- "$f"); do
            if is_flint_pid "$p"; then
                grep -q '^State:.*T (stopped)' "/proc/$p/status" && fail "$name: daemon $p is still stopped"
            fi
        done
    done
    step "$name: detected after ${detect} ms, RUNNING again after ${running} ms, restored $restored times, FINISHED; $res"
    rm -rf -- "$out"
}

gate_args 20000
for job in "${JOBS[@]}"; do
    for nem in "${NEMESES[@]}"; do
        run_nemesis "$nem" "$job"
    done
done
step "done"
