#!/usr/bin/env bash
# test_scripts.sh -- the bin/ scripts around the daemons (issue 2 point 8): start-cluster.sh
# and stop-cluster.sh with local and (through a stand-in ssh) remote workers, start-foreground,
# concurrent starts sharing one pid file, a daemon that cannot bind its port, usage errors,
# symlinked scripts, an unbuilt tree, and a shipped conf/flint-conf.yaml that documents every
# key of common/config_keys.h and loads without warnings.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"

conf_set heartbeat.interval "200 ms"
conf_set heartbeat.timeout "1 s"

assert_eq() {
    [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

assert_contains() {
    case "$1" in
        *"$2"*) ;;
        *) fail "$3: expected to contain '$2', got: $1" ;;
    esac
}

count_lines() {
    if [ -z "$1" ]; then echo 0; else wc -l <<<"$1"; fi
}

# ---------------------------------------------------------------------------------------
step "conf/flint-conf.yaml documents every key of common/config_keys.h"
keys=$(sed -n 's/^FL_KEY("\([^"]*\)".*/\1/p' "$FLINT_HOME/common/config_keys.h")
[ -n "$keys" ] || fail "no FL_KEY lines found in common/config_keys.h"
missing=""
for k in $keys; do
    grep -qE "^(# )?${k//./\\.}:" "$FLINT_HOME/conf/flint-conf.yaml" || missing+=" $k"
done
[ -z "$missing" ] || fail "keys not documented in conf/flint-conf.yaml:$missing"
for f in workers masters; do
    [ -f "$FLINT_HOME/conf/$f" ] || fail "conf/$f is missing"
done
echo "    $(wc -w <<<"$keys") keys, all documented"

# ---------------------------------------------------------------------------------------
# A stand-in for ssh: records its arguments and runs the remote command here, as sshd would
# (in a login shell's home directory, so the command must cd itself).
mkdir -p "$TEST_DIR/fakebin" "$TEST_DIR/home"
cat >"$TEST_DIR/fakebin/ssh" <<EOF
#!/usr/bin/env bash
echo "ssh \$*" >>"$TEST_DIR/ssh.log"
while [ "\$1" != -- ]; do shift; done
host=\$2
cd "$TEST_DIR/home" && exec env -u FLINT_CONF_DIR -u FLINT_LOG_DIR -u FLINT_PID_DIR bash -c "\$3"
EOF
chmod +x "$TEST_DIR/fakebin/ssh"
printf '# the workers\nlocalhost\n\n127.0.0.1   # the same machine by address\nremote-host-1\n' \
    >"$FLINT_CONF_DIR/workers"

step "start-cluster.sh: JobManager from masters, TaskManagers from workers (one via ssh)"
out=$(PATH="$TEST_DIR/fakebin:$PATH" "$BIN/start-cluster.sh" 2>&1) || fail "start-cluster.sh failed: $out"
printf '%s\n' "$out" | sed 's/^/    /'
assert_eq "$(head -n 2 <<<"$out")" "Starting cluster.
Starting jobmanager daemon on host $FLINT_HOST." "start-cluster.sh output"
assert_eq "$(grep -c "^Starting taskmanager daemon on host $FLINT_HOST.$" <<<"$out")" 3 "TaskManagers started"
wait_for "overview_is 3 3" 3 || fail "expected 3 TaskManagers: $(overview_str)"
grep -q "^ssh -n -- remote-host-1 cd $FLINT_HOME && FLINT_CONF_DIR=$FLINT_CONF_DIR .*bin/taskmanager.sh start" \
    "$TEST_DIR/ssh.log" || fail "unexpected ssh call: $(cat "$TEST_DIR/ssh.log")"
grep -q "unknown configuration key" "$(log_of jobmanager 0)" &&
    fail "the shipped configuration has unknown keys: $(grep "unknown configuration key" "$(log_of jobmanager 0)")"
step "/overview: 3 TaskManagers; the shipped conf loaded without warnings"

step "a second JobManager on the same ports fails with the reason"
rc=0
out=$("$BIN/jobmanager.sh" start 2>&1) || rc=$?
assert_eq "$rc" 1 "exit code of a JobManager whose port is taken"
assert_contains "$out" "[INFO] 1 instance(s) of jobmanager are already running on $FLINT_HOST." "second JobManager"
assert_contains "$out" "jobmanager.rpc.port" "second JobManager's error"
echo "    $(grep flint-jobmanager: <<<"$out")"
assert_eq "$(count_lines "$(pids_of jobmanager)")" 1 "jobmanager pid file after the failed start"

step "taskmanager.sh start-foreground"
"$BIN/taskmanager.sh" start-foreground -D taskmanager.numberOfTaskSlots=2 >"$TEST_DIR/fg.out" 2>&1 &
fg_pid=$!
wait_for "overview_is 4 5" 3 || fail "the foreground TaskManager did not register: $(overview_str)"
assert_eq "$(tail -n 1 <<<"$(pids_of taskmanager)")" "$fg_pid" "the foreground TaskManager's pid in the pid file"
assert_eq "$(head -n 1 "$TEST_DIR/fg.out")" "Starting taskmanager as a console application on host $FLINT_HOST." "start-foreground output"
grep -q "Successful registration" "$TEST_DIR/fg.out" || fail "start-foreground does not log to the console"
out=$("$BIN/taskmanager.sh" stop)
assert_eq "$out" "Stopping taskmanager daemon (pid: $fg_pid) on host $FLINT_HOST." "stop of the foreground TaskManager"
rc=0
wait "$fg_pid" || rc=$?
assert_eq "$rc" 0 "exit code of the foreground TaskManager after SIGTERM"
wait_for "overview_is 3 3" 1 || fail "the foreground TaskManager is still registered: $(overview_str)"

step "stop-cluster.sh"
out=$(PATH="$TEST_DIR/fakebin:$PATH" "$BIN/stop-cluster.sh" 2>&1) || fail "stop-cluster.sh failed: $out"
printf '%s\n' "$out" | sed 's/^/    /'
assert_eq "$(grep -c "^Stopping taskmanager daemon" <<<"$out")" 3 "TaskManagers stopped"
assert_eq "$(grep -c "^Stopping jobmanager daemon" <<<"$out")" 1 "JobManagers stopped"
[ "$(grep -c "remote-host-1.*bin/taskmanager.sh stop-all" "$TEST_DIR/ssh.log")" = 1 ] ||
    fail "stop-cluster.sh did not ssh to remote-host-1 once: $(cat "$TEST_DIR/ssh.log")"
rest GET /overview >/dev/null && fail "the JobManager still answers after stop-cluster.sh"
for d in jobmanager taskmanager; do
    [ -e "$(pid_file_of "$d")" ] && fail "$(pid_file_of "$d") left behind: $(pids_of "$d")"
done

# ---------------------------------------------------------------------------------------
step "5 concurrent taskmanager.sh start share one pid file"
for i in 1 2 3 4 5; do
    "$BIN/taskmanager.sh" start >"$TEST_DIR/par$i.out" 2>&1 &
done
wait
pids=$(pids_of taskmanager)
assert_eq "$(count_lines "$pids")" 5 "pid file lines after concurrent starts"
assert_eq "$(sort -u <<<"$pids" | wc -l)" 5 "distinct pids"
for p in $pids; do is_flint_pid "$p" || fail "pid $p does not run"; done
for n in 0 1 2 3 4; do
    [ -f "$(log_of taskmanager "$n")" ] || fail "no log for instance $n: $(ls "$FLINT_LOG_DIR")"
done
out=$("$BIN/taskmanager.sh" stop-all)
assert_eq "$(grep -c "^Stopping taskmanager daemon" <<<"$out")" 5 "stop-all of the concurrent ones"

# ---------------------------------------------------------------------------------------
step "usage errors, symlinks, an unbuilt tree"
rc=0
out=$("$BIN/taskmanager.sh" 2>&1) || rc=$?
assert_eq "$rc" 1 "taskmanager.sh without an action"
assert_contains "$out" "Usage: taskmanager.sh" "taskmanager.sh without an action"
rc=0
out=$("$BIN/flint-daemon.sh" start historyserver 2>&1) || rc=$?
assert_eq "$rc" 1 "flint-daemon.sh with an unknown daemon"
mkdir -p "$TEST_DIR/links"
ln -s "$BIN/flint" "$TEST_DIR/links/flint"
ln -s "$BIN/taskmanager.sh" "$TEST_DIR/links/taskmanager.sh"
out=$("$TEST_DIR/links/flint" --version) || fail "bin/flint through a symlink failed: $out"
assert_contains "$out" "Version" "bin/flint --version through a symlink"
out=$("$TEST_DIR/links/taskmanager.sh" stop)
assert_eq "$out" "No taskmanager daemon to stop on host $FLINT_HOST." "taskmanager.sh stop through a symlink"

unbuilt="$TEST_DIR/unbuilt"
mkdir -p "$unbuilt"
cp -r -- "$FLINT_HOME/bin" "$FLINT_HOME/conf" "$unbuilt"/
rc=0
out=$("$unbuilt/bin/taskmanager.sh" start 2>&1) || rc=$?
assert_eq "$rc" 1 "taskmanager.sh start in an unbuilt tree"
assert_eq "$out" "Flint is not built: run 'make' in $unbuilt" "message in an unbuilt tree"
out=$("$unbuilt/bin/stop-cluster.sh" 2>&1) || fail "stop-cluster.sh in an unbuilt tree failed: $out"
step "done"
