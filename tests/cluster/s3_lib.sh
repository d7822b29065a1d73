#!/usr/bin/env bash
# shellcheck disable=SC2034 # the variables set here are the tests'
# s3_lib.sh -- sourced after lib.sh by tests that need an S3 API server (test_ha_s3.sh,
# test_compression.sh). Not a test itself. s3rver (npm, pinned by tests/s3/package-lock.json,
# installed by `make deps`) on a free loopback port, its data in $TEST_DIR/s3, bucket
# 'flint'; it does not verify SigV4 signatures.
#
#   s3_require        exit 77 (SKIP) when node or s3rver is not installed
#   s3_start          start it (S3PID, S3PORT, S3_ENDPOINT); stopped however the test ends
#   s3_stop           stop it
#   s3_conf           the s3.* keys of the test's configuration for it
#   bucket_keys P     the objects under s3://flint/P as s3rver keeps them on its disk (read
#                     there, not through Flint), one key a line, sorted
set -u

S3RVER="$FLINT_HOME/tests/s3/node_modules/s3rver/bin/s3rver.js"
S3DIR="$TEST_DIR/s3"
S3PID=
S3PORT=
S3_ENDPOINT=
S3RUNS=0

s3_require() {
    if ! command -v node >/dev/null || [ ! -f "$S3RVER" ]; then
        echo "  SKIP: node or s3rver missing (make deps runs npm ci in tests/s3)"
        exit 77
    fi
}

s3_start() {
    mkdir -p "$S3DIR"
    [ -n "$S3PORT" ] || S3PORT=$(free_port)
    S3RUNS=$((S3RUNS + 1))
    # s3rver's continuation tokens use DES, which OpenSSL 3 keeps in its legacy provider
    node --openssl-legacy-provider "$S3RVER" -d "$S3DIR" -a 127.0.0.1 -p "$S3PORT" \
        --configure-bucket flint >"$TEST_DIR/s3rver-$S3RUNS.log" 2>&1 &
    S3PID=$!
    CLEANUP_HOOKS+=(s3_stop)
    wait_for "grep -q 'S3rver listening' '$TEST_DIR/s3rver-$S3RUNS.log'" 20 ||
        fail "s3rver did not start: $(cat "$TEST_DIR/s3rver-$S3RUNS.log")"
    S3_ENDPOINT="http://127.0.0.1:$S3PORT"
}

s3_stop() {
    [ -n "$S3PID" ] || return 0
    kill -CONT "$S3PID" 2>/dev/null
    kill "$S3PID" 2>/dev/null
    wait "$S3PID" 2>/dev/null
    S3PID=
}

s3_conf() {
    conf_set s3.endpoint "$S3_ENDPOINT"
    conf_set s3.path.style.access true
    conf_set s3.access-key S3RVER
    conf_set s3.secret-key flint-test-secret
}

bucket_keys() {
    [ -d "$S3DIR/flint/$1" ] || return 0
    (cd "$S3DIR/flint" && find "$1" -type f -name '*._S3rver_object' | sed 's/\._S3rver_object$//' | sort)
}
