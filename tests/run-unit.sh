#!/bin/sh
# run-unit.sh -- runs the Check unit test binaries given as arguments (make unit / make asan).
#
# Each binary runs in fork mode (CK_FORK=yes unless the caller set CK_FORK), so a crash fails
# one test, not the run. Failures are printed as Check reports them; then one summary line
# per binary and a total. Exits 1 if any test failed or any binary did not finish cleanly.
# A binary that runs longer than UNIT_TIMEOUT seconds (default 300) is killed and failed.
# Their temporary files (TMPDIR) go into one directory, removed when the run ends.

set -u

if [ $# -eq 0 ]; then
    echo "usage: $0 build/tests/check_<module> ..." >&2
    exit 2
fi

CK_FORK=${CK_FORK:-yes}
export CK_FORK
timeout_s=${UNIT_TIMEOUT:-300}
# every binary's temporary files go into one directory of the run, removed at the end: a
# failed check skips its fixture's teardown (Check ends the forked test there)
run_tmp=$(mktemp -d "${TMPDIR:-/tmp}/flint-unit-run.XXXXXX") || exit 2
trap 'rm -rf "$run_tmp"' EXIT
trap 'exit 130' INT TERM
out="$run_tmp/out"
export TMPDIR="$run_tmp"

total_checks=0 total_failed=0 bad_bins=0 nbins=0

for bin in "$@"; do
    nbins=$((nbins + 1))
    name=$(basename "$bin")
    if [ ! -x "$bin" ]; then
        printf '%-16s MISSING (%s is not an executable)\n' "$name" "$bin"
        bad_bins=$((bad_bins + 1))
        continue
    fi
    start=$(date +%s.%N)
    timeout "$timeout_s" "$bin" >"$out" 2>&1
    rc=$?
    end=$(date +%s.%N)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    # Check's summary: "NN%: Checks: C, Failures: F, Errors: E"
    summary=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$out" |
        tail -n 1)
    if [ -n "$summary" ]; then
        checks=$(echo "$summary" | sed -E 's/.*Checks: ([0-9]+),.*/\1/')
        failures=$(echo "$summary" | sed -E 's/.*Failures: ([0-9]+),.*/\1/')
        errors=$(echo "$summary" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    else
        checks=0 failures=0 errors=0
    fi
    failed=$((failures + errors))
    total_checks=$((total_checks + checks))
    total_failed=$((total_failed + failed))
    # Anything besides the suite banner and the summary is a failure report: show it.
    grep -vE '^Running suite\(s\):|^[0-9]+%: Checks: ' "$out" | sed "s|^|    |"
    if [ -z "$summary" ]; then
        status="CRASHED (exit $rc, no summary)"
        [ "$rc" -eq 124 ] && status="TIMED OUT after ${timeout_s}s"
        bad_bins=$((bad_bins + 1))
    elif [ "$failed" -gt 0 ] || [ "$rc" -ne 0 ]; then
        status="FAILED (exit $rc)"
        [ "$failed" -eq 0 ] && bad_bins=$((bad_bins + 1))
    else
        status="ok"
    fi
    printf '%-16s %4d checks, %3d failures, %3d errors  %6ss  %s\n' \
        "$name" "$checks" "$failures" "$errors" "$secs" "$status"
done

if [ "$total_failed" -eq 0 ] && [ "$bad_bins" -eq 0 ]; then
    printf 'unit: %d binaries, %d checks, all passed\n' "$nbins" "$total_checks"
    exit 0
fi
printf 'unit: %d binaries, %d checks, %d failed, %d binaries broken\n' \
    "$nbins" "$total_checks" "$total_failed" "$bad_bins"
exit 1
