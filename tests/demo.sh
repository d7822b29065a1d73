#!/usr/bin/env bash
# demo.sh -- what `make demo` runs after the build: a local cluster from the shipped
# configuration (conf/flint-conf.yaml; ports 6123 and 8081), started with bin/start-cluster.sh
# with two TaskManagers on this host, its /overview, the WordCount example at parallelism 2
# on examples/data/hamlet.txt with its result, `bin/flint list -a`, then
# bin/stop-cluster.sh. The cluster is stopped however the demo ends. Logs stay in log/.
set -u

FLINT_HOME=$(cd -- "$(dirname -- "$0")/.." && pwd -P)
cd -- "$FLINT_HOME" || exit 1

# The shipped conf, with a workers file naming this host twice; the pid files are the demo's
# own, so that stopping the demo never touches another cluster of this user.
demo_dir=$(mktemp -d "${TMPDIR:-/tmp}/flint-demo.XXXXXX")
mkdir -p "$demo_dir/conf" "$demo_dir/pid"
cp -- conf/* "$demo_dir/conf/"
printf 'localhost\nlocalhost\n' >"$demo_dir/conf/workers"
export FLINT_CONF_DIR="$demo_dir/conf" FLINT_PID_DIR="$demo_dir/pid"
export FLINT_LOG_DIR="${FLINT_LOG_DIR:-$FLINT_HOME/log}"

# shellcheck source=bin/config.sh
. bin/config.sh

started=0
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$started" = 1 ]; then
        echo
        echo "== Stopping the cluster: bin/stop-cluster.sh"
        bin/stop-cluster.sh
    fi
    rm -rf -- "$demo_dir"
    [ "$rc" = 0 ] || [ "$started" = 0 ] || echo "make demo failed; the daemon logs are in $FLINT_LOG_DIR" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
    echo "make demo: $*" >&2
    exit 1
}

rest_host=$(flint_conf_value rest.address localhost)
rest_port=$(flint_conf_value rest.port 8081)
rpc_port=$(flint_conf_value jobmanager.rpc.port 6123)

# Something already listening (another Flint or a Flink cluster) would make the JobManager
# fail to bind; say which port before starting anything.
for p in "jobmanager.rpc.port $rpc_port" "rest.port $rest_port"; do
    key=${p% *}
    port=${p#* }
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port ($key in conf/flint-conf.yaml) is already in use on this machine." \
            "Stop whatever listens there (another Flint or Flink cluster: its bin/stop-cluster.sh) and run make demo again."
    fi
done

rest_get() {
    curl -s --max-time 3 "http://$rest_host:$rest_port$1"
}

json() {
    python3 -c "$1"
}

echo "== Starting a local cluster: bin/start-cluster.sh (workers: localhost, localhost)"
started=1
bin/start-cluster.sh || die "bin/start-cluster.sh failed"

echo
echo "== Waiting for both TaskManagers to register"
t0=$(date +%s%N)
tms=0
for _ in $(seq 1 100); do
    tms=$(rest_get /overview | json 'import json,sys; print(json.load(sys.stdin)["taskmanagers"])' 2>/dev/null)
    [ "${tms:-0}" = 2 ] && break
    sleep 0.1
done
[ "${tms:-0}" = 2 ] || die "the TaskManagers did not register within 10 s (see $FLINT_LOG_DIR)"
echo "registered after $((($(date +%s%N) - t0) / 1000000)) ms"

echo
echo "== GET http://$rest_host:$rest_port/overview"
rest_get /overview | python3 -m json.tool || die "GET /overview failed"

echo
echo "== GET http://$rest_host:$rest_port/taskmanagers"
rest_get /taskmanagers | json '
import json, sys
for tm in json.load(sys.stdin)["taskmanagers"]:
    print("%-28s %-36s data port %-5s slots %s (%s free)" % (tm["id"], tm["path"],
          tm["dataPort"], tm["slotsNumber"], tm["freeSlots"]))
' || die "GET /taskmanagers failed"

echo
echo "== bin/flint info -p 2 build/examples/wordcount.so (the plan: source and tokenizer chained)"
bin/flint info -p 2 build/examples/wordcount.so --input examples/data/hamlet.txt ||
    die "bin/flint info failed"

echo
echo "== bin/flint run -p 2 build/examples/wordcount.so --input examples/data/hamlet.txt --output $demo_dir/out"
bin/flint run -p 2 build/examples/wordcount.so --input "$FLINT_HOME/examples/data/hamlet.txt" \
    --output "$demo_dir/out" || die "the wordcount job failed"

echo
echo "== The result: one part file per subtask; each line is word,count, updated as the"
echo "   stream goes by. The last count of the most frequent words:"
ls "$demo_dir/out"
cat "$demo_dir"/out/part-* | json '
import sys
final = {}
for line in sys.stdin:
    w, c = line.rstrip("\n").rsplit(",", 1)
    final[w] = max(final.get(w, 0), int(c))
for w, c in sorted(final.items(), key=lambda x: (-x[1], x[0]))[:10]:
    print("  %-8s %d" % (w, c))
print("  (%d distinct words)" % len(final))
'

echo
echo "== bin/flint list -a"
bin/flint list -a || die "bin/flint list failed"
