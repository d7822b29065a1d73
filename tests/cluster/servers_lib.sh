#!/usr/bin/env bash
# servers_lib.sh -- the real PostgreSQL and Redis servers the connector tests write to,
# started by the test itself on free loopback ports in temporary directories (never as
# system services) and stopped by its cleanup, also on failure. Source it after lib.sh.
#
#   pg_start            initdb (user flint, password $PGPASS, scram-sha-256) and pg_ctl start
#                       on a free port (as the postgres user when run as root), with
#                       max_prepared_transactions for the exactly-once sink; sets PGBIN,
#                       PGDIR, PGPORT, URL (postgresql://flint@127.0.0.1:PORT/postgres) and
#                       exports PGPASSWORD
#   sql QUERY           runs QUERY with psql on URL (unaligned, tuples only)
#   redis_start         redis-server on a free port with password $RPASS, no persistence;
#                       sets RPORT, REDIS_PID
#   rcli ARGS...        redis-cli on it
set -u

PGPASS=s3cret-flint
RPASS=redis-pw-flint

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_stop() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1
    rm -rf -- "$PGDIR"
}

pg_start() {
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -x "$PGBIN/initdb" ] || fail "PostgreSQL is missing: run make deps"
    PGDIR=$(mktemp -d /tmp/flint-pg.XXXXXX)
    PGPORT=$(free_port)
    CLEANUP_HOOKS+=(pg_stop)
    [ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
    echo "$PGPASS" >"$PGDIR/pw"
    as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U flint --auth=scram-sha-256 --pwfile="$PGDIR/pw" \
        >"$TEST_DIR/initdb.log" 2>&1 || fail "initdb failed: $(tail -n 5 "$TEST_DIR/initdb.log")"
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
        -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_prepared_transactions=16 -c fsync=off" \
        start >/dev/null || fail "PostgreSQL did not start: $(tail -n 5 "$PGDIR/server.log")"
    URL="postgresql://flint@127.0.0.1:$PGPORT/postgres"
    export PGPASSWORD=$PGPASS
}

sql() {
    "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$URL" -c "$1"
}

REDIS_PID=
redis_stop() {
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    return 0
}

rcli() {
    REDISCLI_AUTH=$RPASS redis-cli -p "$RPORT" "$@"
}

redis_start() {
    command -v redis-server >/dev/null || fail "redis-server is missing: run make deps"
    RPORT=$(free_port)
    mkdir -p "$TEST_DIR/redis"
    CLEANUP_HOOKS+=(redis_stop)
    redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$TEST_DIR/redis" --requirepass "$RPASS" >"$TEST_DIR/redis.log" 2>&1 &
    REDIS_PID=$!
    wait_for "rcli PING | grep -q PONG" 10 || fail "redis-server did not start: $(tail -n 5 "$TEST_DIR/redis.log")"
}
