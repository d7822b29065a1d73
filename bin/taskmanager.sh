#!/usr/bin/env bash
# taskmanager.sh -- starts or stops a TaskManager on this host (Flink's bin/taskmanager.sh).
#
#   taskmanager.sh (start|start-foreground) [-D key=value]...
#   taskmanager.sh (stop|stop-all)
#
# start runs the daemon in the background (pid file, log and .out file in $FLINT_PID_DIR and
# $FLINT_LOG_DIR), start-foreground in this terminal; stop stops the instance started last,
# stop-all every one. The work is done by flint-daemon.sh.
set -u

USAGE="Usage: taskmanager.sh ((start|start-foreground) [args])|stop|stop-all"

case "${1:-}" in
    start | start-foreground | stop | stop-all) ;;
    *)
        echo "$USAGE" >&2
        exit 1
        ;;
esac

bin=$(dirname -- "$(readlink -f -- "$0")")
exec "$bin/flint-daemon.sh" "$1" taskmanager "${@:2}"
