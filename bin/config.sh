#!/usr/bin/env bash
# config.sh -- sourced by every script in bin/ (as Flink's bin/config.sh is). Works out where
# Flint is installed and where its configuration, logs and pid files live, and exports:
#
#   FLINT_HOME      the directory above bin/ (symlinks to the scripts are resolved)
#   FLINT_BIN_DIR   $FLINT_HOME/build/bin: flint-jobmanager, flint-taskmanager, flint
#   FLINT_CONF_DIR  default $FLINT_HOME/conf   (flint-conf.yaml, workers, masters)
#   FLINT_LOG_DIR   default $FLINT_HOME/log
#   FLINT_PID_DIR   default ${TMPDIR:-/tmp}/flint-$(id -un): the user's private directory,
#                   created 0700 (the daemons keep their default directories there too)
#
# Relative directories given by the caller are made absolute, so that daemons, which keep
# them, and ssh'd commands, which run from $FLINT_HOME, see the same ones. A "{host}" in
# FLINT_LOG_DIR or FLINT_PID_DIR stands for the host a daemon runs on (its name in
# conf/workers or conf/masters when started by start-cluster.sh, else this machine's name):
# hosts that share a file system (NFS, or a test's network namespaces) keep their own.
# Unless the sourcing script sets flint_skip_build_check=1 (stopping needs no binaries), a
# missing build ends the script with a hint to run make.
#
# Helpers for the other scripts: flint_is_local_host HOST, flint_read_hosts FILE (conf/workers,
# conf/masters), flint_conf_value KEY [DEFAULT], flint_run_on HOST CMD... (ssh, or the
# command of env.remote-exec), flint_on_host HOST CMD... (here or there),
# flint_private_dir DIR WHAT (the pid directory's rule, common/userdir.h's: a real
# directory, not a symlink, of this user, writable by no one else; created 0700 when new).

flint_config_sh=$(readlink -f -- "${BASH_SOURCE[0]}")
FLINT_HOME=$(cd -- "$(dirname -- "$flint_config_sh")/.." && pwd -P)
FLINT_BIN_DIR="$FLINT_HOME/build/bin"

flint_abs_path() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s\n' "$PWD/$1" ;;
    esac
}

# the directory the daemons keep their defaults in (common/userdir.h), named after the
# effective user as they name it; a relative TMPDIR is ignored, as they ignore it
flint_whoami=$(id -un)
case "${TMPDIR:-}" in
    /*) FLINT_USER_DIR="$TMPDIR/flint-$flint_whoami" ;;
    *) FLINT_USER_DIR="/tmp/flint-$flint_whoami" ;;
esac

# flint_private_dir DIR WHAT: makes sure DIR is a directory Flint may keep its pid files (or
# other private files) in: created with mode 0700 when it does not exist (its parent must),
# else a real directory -- not a symlink -- owned by this user and writable by no one else.
# Prints why not (naming WHAT) and returns 1 otherwise.
flint_private_dir() {
    local dir="$1" what="$2" owner mode
    if [ ! -e "$dir" ] && [ ! -L "$dir" ]; then
        # mkdir fails on anything created meanwhile (a symlink included): checked below
        (umask 077 && mkdir -- "$dir") 2>/dev/null
    fi
    if [ -L "$dir" ]; then
        echo "[ERROR] $what $dir is a symbolic link: refusing to follow it (use the directory it points to, or remove it)." >&2
        return 1
    fi
    if [ ! -d "$dir" ]; then
        echo "[ERROR] $what $dir is not a directory (or cannot be created)." >&2
        return 1
    fi
    owner=$(stat -c %u -- "$dir") && mode=$(stat -c %a -- "$dir") || return 1
    if [ "$owner" != "$(id -u)" ]; then
        echo "[ERROR] $what $dir belongs to uid $owner, not to this user ($(id -un), uid $(id -u)): refusing to use it." >&2
        return 1
    fi
    if [ $((8#$mode & 8#022)) != 0 ]; then
        echo "[ERROR] $what $dir is writable by others (mode $mode): refusing to use it (chmod go-w it)." >&2
        return 1
    fi
    return 0
}

# Who and where, for pid and log file names (Flink's FLINK_IDENT_STRING and $HOSTNAME).
# $USER is not set everywhere (containers, cron); id -un always answers.
FLINT_IDENT_STRING="${FLINT_IDENT_STRING:-${USER:-$flint_whoami}}"
FLINT_HOSTNAME="${HOSTNAME:-$(hostname)}"
export FLINT_IDENT_STRING

# The directory templates as given ({host} kept), for commands run on other hosts.
FLINT_LOG_DIR_TEMPLATE=$(flint_abs_path "${FLINT_LOG_DIR_TEMPLATE:-${FLINT_LOG_DIR:-$FLINT_HOME/log}}")
FLINT_PID_DIR_TEMPLATE=$(flint_abs_path "${FLINT_PID_DIR_TEMPLATE:-${FLINT_PID_DIR:-$FLINT_USER_DIR}}")
FLINT_CONF_DIR=$(flint_abs_path "${FLINT_CONF_DIR:-$FLINT_HOME/conf}")
FLINT_LOG_DIR=${FLINT_LOG_DIR_TEMPLATE//\{host\}/$FLINT_HOSTNAME}
FLINT_PID_DIR=${FLINT_PID_DIR_TEMPLATE//\{host\}/$FLINT_HOSTNAME}
export FLINT_HOME FLINT_BIN_DIR FLINT_CONF_DIR FLINT_LOG_DIR FLINT_PID_DIR


flint_require_built() {
    local b
    for b in flint-jobmanager flint-taskmanager flint; do
        if [ ! -x "$FLINT_BIN_DIR/$b" ]; then
            echo "Flint is not built: run 'make' in $FLINT_HOME" >&2
            exit 1
        fi
    done
}

# True when a host name from conf/workers or conf/masters means this machine.
flint_is_local_host() {
    case "$1" in
        localhost | localhost.localdomain | 127.* | ::1 | "$FLINT_HOSTNAME") return 0 ;;
    esac
    [ "$1" = "$(hostname -s 2>/dev/null)" ] || [ "$1" = "$(hostname -f 2>/dev/null)" ]
}

# Reads a hosts file (conf/workers, conf/masters): one host or host:port per line, '#'
# comments, blank lines ignored. Fills the arrays FLINT_HOSTS and FLINT_HOST_PORTS (the port
# after the last ':' or empty). Returns 1 when the file does not exist.
flint_read_hosts() {
    local file="$1" line host port
    FLINT_HOSTS=()
    FLINT_HOST_PORTS=()
    [ -f "$file" ] || return 1
    while IFS= read -r line || [ -n "$line" ]; do
        line="${line%%#*}"
        line="${line//[[:space:]]/}"
        [ -n "$line" ] || continue
        host="$line"
        port=""
        # host:port, but not a bare IPv6 address; [v6]:port has its brackets removed.
        if [[ "$line" =~ ^\[(.*)\]:([0-9]+)$ ]]; then
            host="${BASH_REMATCH[1]}"
            port="${BASH_REMATCH[2]}"
        elif [[ "$line" =~ ^([^:]+):([0-9]+)$ ]]; then
            host="${BASH_REMATCH[1]}"
            port="${BASH_REMATCH[2]}"
        fi
        FLINT_HOSTS+=("$host")
        FLINT_HOST_PORTS+=("$port")
    done <"$file"
    return 0
}

# The effective value of a configuration key (file, then defaults), read by the one parser
# Flint has (`flint getconf`); $2 when the value is empty.
flint_conf_value() {
    local value
    value=$("$FLINT_BIN_DIR/flint" getconf "$1" 2>/dev/null) || value=""
    printf '%s\n' "${value:-${2:-}}"
}

# Runs a command from $FLINT_HOME on another host, with the same install path and the same
# FLINT_CONF_DIR, FLINT_LOG_DIR and FLINT_PID_DIR ({host} replaced by HOST):
#   flint_run_on HOST bin/x.sh args...
# Over ssh with env.ssh.opts (Flink's key; FLINT_SSH_OPTS overrides it), or, when
# env.remote-exec is set (FLINT_REMOTE_EXEC overrides it), through that command with {host}
# replaced by HOST and the command line appended as `bash -c LINE` (a test runs its hosts
# with `ip netns exec flint-{host}`; a container set-up could use `docker exec {host}`).
flint_run_on() {
    local host="$1" cmd ssh_opts=() exec_cmd=() remote w i
    shift
    cmd="cd $(printf '%q' "$FLINT_HOME") && FLINT_CONF_DIR=$(printf '%q' "$FLINT_CONF_DIR")"
    cmd+=" FLINT_LOG_DIR=$(printf '%q' "${FLINT_LOG_DIR_TEMPLATE//\{host\}/$host}")"
    cmd+=" FLINT_PID_DIR=$(printf '%q' "${FLINT_PID_DIR_TEMPLATE//\{host\}/$host}")"
    remote="${FLINT_REMOTE_EXEC-$(flint_conf_value env.remote-exec)}"
    if [ -n "$remote" ]; then
        # hosts that share a kernel share its name: the log files take the host's name
        cmd+=" HOSTNAME=$(printf '%q' "$host") $(printf '%q ' "$@")"
        read -r -a exec_cmd <<<"$remote"
        for i in "${!exec_cmd[@]}"; do
            w=${exec_cmd[i]}
            exec_cmd[i]=${w//\{host\}/$host}
        done
        "${exec_cmd[@]}" bash -c "$cmd" </dev/null
        return
    fi
    cmd+=" $(printf '%q ' "$@")"
    read -r -a ssh_opts <<<"${FLINT_SSH_OPTS-$(flint_conf_value env.ssh.opts)}"
    ssh -n ${ssh_opts[@]+"${ssh_opts[@]}"} -- "$host" "$cmd"
}

# Runs CMD... for HOST: here when HOST is this machine (with its {host} directories), else
# with flint_run_on.
flint_on_host() {
    local host="$1"
    shift
    if flint_is_local_host "$host"; then
        (
            FLINT_LOG_DIR=${FLINT_LOG_DIR_TEMPLATE//\{host\}/$host}
            FLINT_PID_DIR=${FLINT_PID_DIR_TEMPLATE//\{host\}/$host}
            "$FLINT_HOME/$1" "${@:2}"
        )
    else
        flint_run_on "$host" "$@"
    fi
}

if [ "${flint_skip_build_check:-0}" != 1 ]; then
    flint_require_built
fi
