#!/usr/bin/env bash
# test_leftovers.sh -- issue 10 point 6: a TaskManager killed with -9 leaves its bundle cache
# (flint-tm-blobs-*) and its RocksDB directories (flint-rocksdb-*) behind; the next
# TaskManager to start removes them, and leaves those of TaskManagers that live.
#
# Two TaskManagers run seqcheck with the rocksdb backend at -p 2 (held on the gate file, so it
# runs on). The directories each TaskManager owns are read from the lock files it holds open
# (/proc/PID/fd), not from Flint's logs. After kill -9 of one, its directories are still
# there; after a new TaskManager starts they are gone, with a log line for each, and every
# directory the surviving TaskManager holds is still there.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

TMP="$TEST_DIR/tmp"
BLOBS="$TEST_DIR/blobs"
mkdir -p "$TMP" "$BLOBS"
conf_set io.tmp.dirs "$TMP"
conf_set blob.storage.directory "$BLOBS"
conf_set taskmanager.numberOfTaskSlots 1

# owned_dirs PID: the working directories whose lock file PID holds open, one per line.
owned_dirs() {
    local l
    for l in /proc/"$1"/fd/*; do
        l=$(readlink -- "$l" 2>/dev/null) || continue
        case "$l" in */.owner.lock) dirname -- "$l" ;; esac
    done | sort
}

step "a JobManager and 2 TaskManagers; seqcheck (rocksdb) -p 2, held running"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
tm_start
tm_start
wait_for "overview_is 2 2" 10 || fail "cluster not at 2 TaskManagers: $(overview_str)"
gate_args 0
gate_close
submit seq run -d -p 2 "${GATE[@]}" -D "execution.checkpointing.interval=200 ms" \
    -D "state.checkpoints.dir=$TEST_DIR/ck" -D state.backend.type=rocksdb \
    -D restart-strategy.type=fixed-delay -D "restart-strategy.fixed-delay.delay=200 ms" \
    "$EX/seqcheck.so" --keys 16 --per-key 1000000 --rate 20000 --output "$TEST_DIR/out"
J=$JOB_ID
wait_completed "$J" 1 30

read -r A B <<<"$(live_tm_pids | tr '\n' ' ')"
A_DIRS=$(owned_dirs "$A")
grep -q "/flint-tm-blobs-" <<<"$A_DIRS" || fail "TaskManager $A holds no bundle cache: $A_DIRS"
grep -q "/flint-rocksdb-" <<<"$A_DIRS" || fail "TaskManager $A holds no RocksDB directory: $A_DIRS"
step "TaskManager $A owns $(wc -l <<<"$A_DIRS") directories; kill -9"
kill -9 "$A"
wait_for "! is_flint_pid $A" 5 || fail "TaskManager $A still alive"
for d in $A_DIRS; do
    [ -d "$d" ] || fail "$d vanished before a new TaskManager started: nothing to test"
done

tm_start
wait_for "overview_is 2 2" 10 || fail "not back at 2 TaskManagers: $(overview_str)"
for d in $A_DIRS; do
    [ -e "$d" ] && fail "$d of the killed TaskManager $A is still there after a new one started"
    grep -q "Removed $d, left by a process that is gone" "$FLINT_LOG_DIR"/*taskmanager*.log ||
        fail "no log line for the removal of $d"
done
B_DIRS=$(owned_dirs "$B")
[ -n "$B_DIRS" ] || fail "the surviving TaskManager $B holds no directory"
for d in $B_DIRS; do
    [ -d "$d" ] || fail "$d of the living TaskManager $B was removed"
done
step "the new TaskManager removed all $(wc -l <<<"$A_DIRS") of them; the $(wc -l <<<"$B_DIRS") of the living one are there"
"$FLINT" cancel "$J" >/dev/null 2>&1 || fail "flint cancel failed"
gate_open
wait_state "$J" CANCELED 20
step "done"
