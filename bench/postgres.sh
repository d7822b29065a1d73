#!/usr/bin/env bash
# PostgreSQL sink benchmark (issue 13, point 10). One command:
#   bench/postgres.sh [runs] [rows]
#
# On one PostgreSQL server started here (initdb in the benchmark's temp dir, a free port,
# fsync off as in the tests), the same rows (default 400,000: 16 keys x 25,000, columns
# k text, seq bigint, cnt bigint) are written
#   baseline: by COPY FROM STDIN (psql's \copy) of a file holding exactly the rows the job
#             writes, generated beforehand, timed from psql's start to its exit;
#   Flint:    by examples/pg_count.so --guarantee exactly-once at -p 1 on one TaskManager
#             (generateSequence -> keyed count -> PostgreSQL sink: rows batched per
#             sink.buffer-flush.max-rows 1000, PREPARE TRANSACTION at every barrier,
#             COMMIT PREPARED when the checkpoint completes, checkpoints every second),
#             timed by the job's "Job Runtime" (deployment and the keyed count included).
# Each figure is the median of `runs` (default 3), each run into an emptied table; the
# last run's table is checked against the file. Last line: Flint's rate / COPY's. COPY is
# PostgreSQL's fastest way in; a transactional row sink is not expected to reach it.
set -euo pipefail
. "$(dirname -- "$0")/cluster.bash"
RUNS=${1:-3}
N=${2:-400000}
KEYS=16
PER_KEY=$((N / KEYS))
N=$((KEYS * PER_KEY))

bench_build
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/initdb" ] || { echo "bench: PostgreSQL is missing (make deps)" >&2; exit 1; }
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
PGDIR=$(mktemp -d /tmp/flint-bench-pg.XXXXXX)
pg_stop() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf -- "$PGDIR"
}
trap 'pg_stop; bench_cleanup' EXIT
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
PGPASS=bench-pw
echo "$PGPASS" >"$PGDIR/pw"
chmod 644 "$PGDIR/pw"
PGPORT=$(bench_free_port)
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U flint --auth=scram-sha-256 --pwfile="$PGDIR/pw" \
    >"$BENCH_TMP/initdb.log" 2>&1
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_prepared_transactions=16 -c fsync=off" \
    start >/dev/null
URL="postgresql://flint@127.0.0.1:$PGPORT/postgres"
export PGPASSWORD=$PGPASS
sql() {
    "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$URL" -c "$1"
}
sql "CREATE TABLE counts (k text, seq bigint, cnt bigint)"

# the rows pg_count writes: key k<v % K>, seq v / K, cnt = seq + 1 (the key's count so far)
python3 -S - "$KEYS" "$PER_KEY" >"$BENCH_TMP/rows.tsv" <<'PY'
import sys
keys, per = int(sys.argv[1]), int(sys.argv[2])
sys.stdout.write("".join(f"k{v % keys}\t{v // keys}\t{v // keys + 1}\n" for v in range(keys * per)))
PY

bench_cluster_start 1 1
for r in $(seq "$RUNS"); do
    sql "TRUNCATE counts"
    t0=$(bench_now_ms)
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$URL" -c "\\copy counts FROM '$BENCH_TMP/rows.tsv'"
    echo $(($(bench_now_ms) - t0)) >>"$BENCH_TMP/copy.ms"
    sql "TRUNCATE counts"
    bench_run "pg$r" -p 1 -D "execution.checkpointing.interval=1 s" \
        "$BENCH_HOME/build/examples/pg_count.so" --url "$URL" --password "$PGPASS" \
        --table counts --guarantee exactly-once --keys "$KEYS" --per-key "$PER_KEY" --max-rows 1000
    echo "$RUN_JOB_MS" >>"$BENCH_TMP/flint.ms"
done
sql "SELECT k || E'\t' || seq || E'\t' || cnt FROM counts" | sort >"$BENCH_TMP/table.tsv"
sort "$BENCH_TMP/rows.tsv" | cmp -s - "$BENCH_TMP/table.tsv" ||
    { echo "bench: the table after the last run differs from the rows COPY wrote" >&2; exit 1; }
[ "$(sql "SELECT count(*) FROM pg_prepared_xacts")" = 0 ] ||
    { echo "bench: prepared transactions left" >&2; exit 1; }
python3 -S - "$N" "$(median <"$BENCH_TMP/copy.ms")" "$(median <"$BENCH_TMP/flint.ms")" <<'PY'
import sys
n, base, flint = map(int, sys.argv[1:])
base, flint = max(base, 1), max(flint, 1)
print(f"rows                          {n / 1e6:8.2f} M (k text, seq bigint, cnt bigint)")
print(f"COPY FROM STDIN (psql)        {base:8d} ms  {n / base / 1e3:7.3f} M rows/s")
print(f"Flint exactly-once sink       {flint:8d} ms  {n / flint / 1e3:7.3f} M rows/s (job runtime, -p 1)")
print(f"postgres: ratio={base / flint:.2f} (Flint exactly-once sink / COPY of the same rows)")
PY
