#!/usr/bin/env bash
# test_logs.sh -- issue 12 point 3 (logs) and 9 (traversal on the log endpoints): Flink's
# /jobmanager/logs and /taskmanagers/:tmid/logs on a real cluster, the TaskManager logging
# into a directory of its own, so its files can only come through its RPC, not from the
# JobManager's disk.
#
#   * Each list is {"logs":[{"name","size"}]} of exactly the regular files of that
#     daemon's log directory (computed here with find), no symlink among them.
#   * A file read equals the file on disk: its first X-Flint-Log-Size bytes (a log only
#     grows), and for a 20 MB file the last 8 MB, the response saying 12 MB were left out.
#   * Traversal is refused: "..", "%2e%2e", a dot file, an absolute path, a symlink pointing
#     out of the directory, a name with an encoded '/', an unknown TaskManager: 400/404
#     with {"errors":[...]}, and the daemon keeps serving.
set -u
# shellcheck source=tests/cluster/lib.sh
. "$(dirname -- "$0")/lib.sh"
# shellcheck source=tests/cluster/checkpoint_lib.sh
. "$(dirname -- "$0")/checkpoint_lib.sh"

TMLOG="$TEST_DIR/tmlog"
mkdir -p "$TMLOG"
step "start a JobManager and a TaskManager that logs to a directory of its own"
"$BIN/jobmanager.sh" start >/dev/null || fail "jobmanager.sh start failed"
FLINT_LOG_DIR="$TMLOG" "$BIN/taskmanager.sh" start >/dev/null || fail "taskmanager.sh start failed"
wait_for "overview_is 1 1" 10 || fail "cluster not at 1 TaskManager: $(overview_str)"
TM=$(rest GET /taskmanagers | json_get taskmanagers.0.id) || fail "no TaskManager id"

# Files the test puts there: a 20 MB file, a symlink out of the directory, a dot file.
head -c $((20 << 20)) /dev/urandom | base64 -w 100 | head -c $((20 << 20)) >"$TMLOG/big.log"
echo "secret outside" >"$TEST_DIR/outside.txt"
ln -s "$TEST_DIR/outside.txt" "$TMLOG/link.log"
ln -s "$TEST_DIR/outside.txt" "$FLINT_LOG_DIR/link.log"
echo hidden >"$TMLOG/.hidden"

# names DIR: the regular files directly in DIR, sorted, as "name size" lines.
names() {
    find "$1" -maxdepth 1 -type f ! -name '.*' -printf '%f\n' | LC_ALL=C sort
}
listed() { # listed PATH: the names of a logs list, sorted
    rest GET "$1" | py -c 'import json,sys; print("\n".join(sorted(l["name"] for l in json.load(sys.stdin)["logs"])))'
}

step "the lists are exactly the regular files of each daemon's log directory"
[ "$(listed /jobmanager/logs)" = "$(names "$FLINT_LOG_DIR")" ] ||
    fail "JobManager list $(listed /jobmanager/logs) != $(names "$FLINT_LOG_DIR")"
[ "$(listed "/taskmanagers/$TM/logs")" = "$(names "$TMLOG")" ] ||
    fail "TaskManager list $(listed "/taskmanagers/$TM/logs") != $(names "$TMLOG")"
rest GET "/taskmanagers/$TM/logs" | grep -q '"name":"link.log"' && fail "a symlink is listed"
SIZE=$(rest GET "/taskmanagers/$TM/logs" | py -c 'import json,sys; print([l["size"] for l in json.load(sys.stdin)["logs"] if l["name"]=="big.log"][0])')
[ "$SIZE" = $((20 << 20)) ] || fail "big.log listed with size $SIZE"

# fetch PATH OUT: the body into OUT, the headers into OUT.h; prints the status.
fetch() {
    curl -s --path-as-is --max-time 20 -D "$2.h" -o "$2" -w '%{http_code}' "http://127.0.0.1:$REST_PORT$1"
}
hdr() { # hdr FILE NAME
    tr -d '\r' <"$1.h" | awk -v n="$2" 'tolower($1) == tolower(n) ":" { print $2 }'
}

step "a log file read equals the file on disk"
JMLOG=$(basename "$(log_of jobmanager 0)")
[ -f "$FLINT_LOG_DIR/$JMLOG" ] || JMLOG=$(names "$FLINT_LOG_DIR" | grep jobmanager | grep '\.log$' | head -1)
[ -n "$JMLOG" ] || fail "no JobManager log file in $FLINT_LOG_DIR"
st=$(fetch "/jobmanager/logs/$JMLOG" "$TEST_DIR/jm.got")
[ "$st" = 200 ] || fail "GET /jobmanager/logs/$JMLOG: $st"
n=$(hdr "$TEST_DIR/jm.got" X-Flint-Log-Size)
[ "$(hdr "$TEST_DIR/jm.got" X-Flint-Log-Offset)" = 0 ] || fail "a small log was cut"
head -c "$n" "$FLINT_LOG_DIR/$JMLOG" | cmp -s - "$TEST_DIR/jm.got" ||
    fail "the JobManager's log as served differs from its first $n bytes on disk"
grep -q "Starting Flint" "$TEST_DIR/jm.got" || fail "the JobManager's log lacks its start line"

TMLOGFILE=$(names "$TMLOG" | grep taskmanager | grep '\.log$' | head -1)
[ -n "$TMLOGFILE" ] || fail "no TaskManager log file in $TMLOG"
st=$(fetch "/taskmanagers/$TM/logs/$TMLOGFILE" "$TEST_DIR/tm.got")
[ "$st" = 200 ] || fail "GET /taskmanagers/$TM/logs/$TMLOGFILE: $st"
n=$(hdr "$TEST_DIR/tm.got" X-Flint-Log-Size)
head -c "$n" "$TMLOG/$TMLOGFILE" | cmp -s - "$TEST_DIR/tm.got" ||
    fail "the TaskManager's log as served differs from its first $n bytes on disk"
grep -q "Starting Flint" "$TEST_DIR/tm.got" || fail "the TaskManager's log lacks its start line"

step "a 20 MB file is served from its end: the last 8 MB, the headers say so"
st=$(fetch "/taskmanagers/$TM/logs/big.log" "$TEST_DIR/big.got")
[ "$st" = 200 ] || fail "GET big.log: $st"
[ "$(hdr "$TEST_DIR/big.got" X-Flint-Log-Size)" = $((20 << 20)) ] || fail "size header: $(cat "$TEST_DIR/big.got.h")"
[ "$(hdr "$TEST_DIR/big.got" X-Flint-Log-Offset)" = $((12 << 20)) ] || fail "offset header: $(cat "$TEST_DIR/big.got.h")"
tail -c $((8 << 20)) "$TMLOG/big.log" | cmp -s - "$TEST_DIR/big.got" ||
    fail "the last 8 MB of big.log as served differ from the file"

step "traversal and bad names are refused, Flink-shaped"
for base in /jobmanager/logs "/taskmanagers/$TM/logs"; do
    for name in .. %2e%2e %2E%2E .hidden link.log ..%2fconf %2fetc%2fpasswd \
        ../../conf/flint-conf.yaml /etc/passwd no-such.log; do
        st=$(fetch "$base/$name" "$TEST_DIR/bad")
        case "$st" in 400 | 404) ;; *) fail "GET $base/$name: $st, want 400 or 404" ;; esac
        grep -q '"errors"' "$TEST_DIR/bad" || fail "GET $base/$name: not {\"errors\":...}: $(head -c 200 "$TEST_DIR/bad")"
        grep -q "secret outside\|root:" "$TEST_DIR/bad" && fail "GET $base/$name leaked a file"
    done
done
[ "$(rest_status GET /taskmanagers/no-such-tm/logs)" = 404 ] || fail "unknown TaskManager not 404"
[ "$(rest_status GET /taskmanagers/no-such-tm/logs/x.log)" = 404 ] || fail "unknown TaskManager file not 404"
overview_is 1 1 || fail "the cluster is not serving any more: $(overview_str)"

step "passed"
