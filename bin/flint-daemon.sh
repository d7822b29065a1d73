#!/usr/bin/env bash
# flint-daemon.sh -- starts and stops the Flint daemons on this host; jobmanager.sh,
# taskmanager.sh and the cluster scripts call it. Flink's flink-daemon.sh, in bash:
#
#   flint-daemon.sh (start|start-foreground|stop|stop-all) (jobmanager|taskmanager) [args...]
#
# The pid file $FLINT_PID_DIR/flint-$USER-<daemon>.pid holds one pid per line, oldest first.
# It is changed only under flock (when flock exists) and replaced atomically, so concurrent
# starts and stops on one host do not lose each other's lines. Pids that no longer run are
# dropped silently whenever the file is rewritten. FLINT_PID_DIR must be the user's private
# directory (flint_private_dir in config.sh: no symlink, the user's, writable by no one
# else), and neither the pid file nor its temporary file is ever opened through a symlink:
# the lock refuses a pid file that is not a regular file, the temporary file is created
# new (noclobber, O_EXCL).
#
# Instance N of a daemon (N = the number of live instances, skipping a number whose log a
# live instance still writes) logs to $FLINT_LOG_DIR/flint-$USER-<daemon>-N-$HOSTNAME.log (the
# daemon is told through FLINT_LOG_FILE) and its stdout/stderr go to the matching .out file.
# Arguments after the daemon name (-D key=value ...) are passed to the daemon unchanged.
#
# start runs the daemon under a supervisor process (taskmanager.supervisor.enabled,
# jobmanager.supervisor.enabled; common/supervise.h) that restarts it when it crashes; the
# pid file then holds the supervisor's pid: stop and kill -9 of it end both.
set -u

USAGE="Usage: flint-daemon.sh (start|start-foreground|stop|stop-all) (jobmanager|taskmanager) [args]"

STARTSTOP="${1:-}"
DAEMON="${2:-}"
case "$STARTSTOP" in
    start | start-foreground) ;;
    stop | stop-all) flint_skip_build_check=1 ;; # stopping needs no binaries
    *)
        echo "$USAGE" >&2
        exit 1
        ;;
esac
case "$DAEMON" in
    jobmanager | taskmanager) ;;
    *)
        echo "Unknown daemon '$DAEMON'. $USAGE" >&2
        exit 1
        ;;
esac
shift 2
ARGS=("$@")

bin=$(dirname -- "$(readlink -f -- "$0")")
# shellcheck source=bin/config.sh
. "$bin/config.sh"

HOST="$FLINT_HOSTNAME"
BINARY="$FLINT_BIN_DIR/flint-$DAEMON"
PID_FILE="$FLINT_PID_DIR/flint-$FLINT_IDENT_STRING-$DAEMON.pid"
STOP_TIMEOUT_S="${FLINT_STOP_TIMEOUT:-10}"

if [ ! -e "$FLINT_PID_DIR" ] && [ ! -L "$FLINT_PID_DIR" ]; then
    mkdir -p -- "$(dirname -- "$FLINT_PID_DIR")" || exit 1
fi
flint_private_dir "$FLINT_PID_DIR" "The pid directory (FLINT_PID_DIR)" || exit 1

HAVE_FLOCK=0
command -v flock >/dev/null 2>&1 && HAVE_FLOCK=1

# Takes the lock on the pid file (creating it). A previous holder may have replaced or
# removed the file while we waited; then the lock we got guards nothing and we take it again.
# The pid file is never opened through a symlink (the lock would create or append to what
# it points to); the directory is private, so nothing can be planted between this test and
# the open.
check_pid_file() {
    if [ -L "$PID_FILE" ] || { [ -e "$PID_FILE" ] && [ ! -f "$PID_FILE" ]; }; then
        echo "[ERROR] The pid file $PID_FILE is a symbolic link or not a regular file: refusing to open it." >&2
        exit 1
    fi
}

lock_pid_file() {
    check_pid_file
    [ "$HAVE_FLOCK" = 1 ] || return 0
    while :; do
        check_pid_file
        exec 200>>"$PID_FILE" || exit 1
        flock 200
        [ "$PID_FILE" -ef /dev/fd/200 ] && return 0
        exec 200>&-
    done
}

unlock_pid_file() {
    [ "$HAVE_FLOCK" = 1 ] || return 0
    exec 200>&-
}

# True when pid $1 exists, is a process (a recycled pid can be another program's thread:
# kill -0 and /proc accept thread ids too, and a signal to one hits its whole process) and
# is not a zombie.
is_alive() {
    local p="$1" stat line
    [[ "$p" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$p" 2>/dev/null || return 1
    if [ -r "/proc/$p/status" ]; then
        while read -r line; do
            case "$line" in
                Tgid:*) [ "${line##*[[:space:]]}" = "$p" ] || return 1; break ;;
            esac
        done <"/proc/$p/status" 2>/dev/null
    fi
    if [ -r "/proc/$p/stat" ]; then
        read -r stat <"/proc/$p/stat" 2>/dev/null || return 1
        stat="${stat##*) }"
        [ "${stat%% *}" != Z ] || return 1
    fi
    return 0
}

# True when pid $1 is a live Flint process: alive and (where /proc tells) not a recycled
# pid now used by some other program.
is_running() {
    is_alive "$1" || return 1
    if [ -r "/proc/$1/cmdline" ]; then
        grep -aqE "flint-($DAEMON|daemon\.sh)" "/proc/$1/cmdline" 2>/dev/null || return 1
    fi
    return 0
}

# LIVE: the pids of the file that still run, in file order.
read_live_pids() {
    local p
    LIVE=()
    [ -f "$PID_FILE" ] || return 0
    while IFS= read -r p || [ -n "$p" ]; do
        p="${p//[[:space:]]/}"
        if is_running "$p"; then
            LIVE+=("$p")
        fi
    done <"$PID_FILE"
}

# Replaces the pid file with the given pids (removes it when there are none). The temporary
# file is created new (noclobber: O_EXCL, so never through a symlink); mv replaces a link
# itself, never what it points to.
write_pids() {
    local tmp="$PID_FILE.tmp.$$"
    if [ $# -eq 0 ]; then
        rm -f -- "$PID_FILE"
        return 0
    fi
    rm -f -- "$tmp"
    (set -C && printf '%s\n' "$@" >"$tmp") && mv -f -- "$tmp" "$PID_FILE"
}

log_prefix() {
    echo "$FLINT_LOG_DIR/flint-$FLINT_IDENT_STRING-$DAEMON-$1-$HOST"
}

# True when a live instance writes the log file $1 (Linux: read from its environment).
log_in_use() {
    local p
    for p in ${LIVE[@]+"${LIVE[@]}"}; do
        [ -r "/proc/$p/environ" ] || continue
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "FLINT_LOG_FILE=$1"; then
            return 0
        fi
    done
    return 1
}

next_instance_id() {
    local id=${#LIVE[@]}
    while log_in_use "$(log_prefix "$id").log"; do
        id=$((id + 1))
    done
    echo "$id"
}

# Sends SIGTERM to every pid given, waits up to STOP_TIMEOUT_S for all to exit, then kills
# the ones left with SIGKILL.
terminate() {
    local p left i
    for p in "$@"; do
        kill -TERM "$p" 2>/dev/null
        kill -CONT "$p" 2>/dev/null # a stopped (SIGSTOP) daemon must run to handle SIGTERM
    done
    for ((i = 0; i < STOP_TIMEOUT_S * 20; i++)); do
        left=0
        for p in "$@"; do
            is_running "$p" && left=1
        done
        [ "$left" = 0 ] && return 0
        sleep 0.05
    done
    for p in "$@"; do
        if is_running "$p"; then
            echo "[WARN] $DAEMON daemon (pid: $p) did not stop within $STOP_TIMEOUT_S seconds; killing it (SIGKILL)."
            kill -KILL "$p" 2>/dev/null
        fi
    done
    return 0
}

start_daemon() {
    local id log out log_offset mypid rc i
    mkdir -p -- "$FLINT_LOG_DIR" || exit 1
    lock_pid_file
    read_live_pids
    id=$(next_instance_id)
    log="$(log_prefix "$id").log"
    out="$(log_prefix "$id").out"
    if [ "${#LIVE[@]}" -gt 0 ]; then
        echo "[INFO] ${#LIVE[@]} instance(s) of $DAEMON are already running on $HOST."
    fi
    echo "Starting $DAEMON daemon on host $HOST."
    log_offset=0
    [ -f "$log" ] && log_offset=$(wc -c <"$log")

    # setsid: the daemon leaves the terminal's session, so neither Ctrl-C nor a hang-up of
    # the shell that started it reaches it. The lock descriptor stays with this script.
    local setsid=()
    command -v setsid >/dev/null 2>&1 && setsid=(setsid)
    # FLINT_SUPERVISE: the daemon runs under its supervisor (common/supervise.h) when
    # <daemon>.supervisor.enabled, and the pid recorded is the supervisor's.
    FLINT_SUPERVISE=1 FLINT_LOG_FILE="$log" ${setsid[@]+"${setsid[@]}"} "$BINARY" ${ARGS[@]+"${ARGS[@]}"} \
        >"$out" 2>&1 </dev/null 200>&- &
    mypid=$!
    write_pids ${LIVE[@]+"${LIVE[@]}"} "$mypid"
    unlock_pid_file

    # A daemon that cannot start (bad configuration, port in use) exits at once: wait for
    # its "started" log line, its death or about a second, whichever comes first.
    # Our own child: alive is enough (its cmdline reads empty while it execs).
    for ((i = 0; i < 20; i++)); do
        if ! is_alive "$mypid"; then
            wait "$mypid" 2>/dev/null
            rc=$?
            lock_pid_file
            read_live_pids # drops the dead pid
            write_pids ${LIVE[@]+"${LIVE[@]}"}
            unlock_pid_file
            {
                [ -s "$out" ] && tail -n 20 -- "$out"
                echo "[ERROR] The $DAEMON daemon on host $HOST exited right after start (exit code $rc)."
                echo "[ERROR] See $out and $log."
            } >&2
            exit 1
        fi
        if tail -c +$((log_offset + 1)) -- "$log" 2>/dev/null |
            grep -qE '(JobManager|TaskManager)( [^ ]+)? started'; then
            return 0
        fi
        sleep 0.05
    done
    return 0
}

# Runs the daemon in this process, logging to the console (Flink's flink-console.sh);
# its pid is recorded so that stop and stop-all reach it too.
start_foreground() {
    lock_pid_file
    read_live_pids
    write_pids ${LIVE[@]+"${LIVE[@]}"} "$$"
    unlock_pid_file
    echo "Starting $DAEMON as a console application on host $HOST."
    exec "$BINARY" ${ARGS[@]+"${ARGS[@]}"}
}

stop_daemon() {
    local to_stop
    lock_pid_file
    read_live_pids
    if [ "${#LIVE[@]}" -eq 0 ]; then
        write_pids
        unlock_pid_file
        echo "No $DAEMON daemon to stop on host $HOST."
        return 0
    fi
    to_stop="${LIVE[${#LIVE[@]} - 1]}"
    unset 'LIVE[${#LIVE[@]}-1]'
    write_pids ${LIVE[@]+"${LIVE[@]}"}
    unlock_pid_file
    echo "Stopping $DAEMON daemon (pid: $to_stop) on host $HOST."
    terminate "$to_stop"
}

stop_all_daemons() {
    local p
    lock_pid_file
    read_live_pids
    write_pids
    unlock_pid_file
    if [ "${#LIVE[@]}" -eq 0 ]; then
        echo "No $DAEMON daemon to stop on host $HOST."
        return 0
    fi
    for p in "${LIVE[@]}"; do
        echo "Stopping $DAEMON daemon (pid: $p) on host $HOST."
    done
    terminate "${LIVE[@]}"
}

case "$STARTSTOP" in
    start) start_daemon ;;
    start-foreground) start_foreground ;;
    stop) stop_daemon ;;
    stop-all) stop_all_daemons ;;
esac
