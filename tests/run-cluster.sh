#!/usr/bin/env bash
# run-cluster.sh -- runs every tests/cluster/test_*.sh (make cluster calls it). Each test
# starts real daemons through bin/ on loopback ports of its own, under `timeout 300`.
# The tests' own progress lines stream through; after each comes "PASS name (Ns)" or
# "FAIL name", or "SKIP name" for a test that exits 77 because this machine cannot run it
# (it prints why). Exits 1 if any failed. Arguments, when given, name the tests to run (test_foundation or a path).
set -u

here=$(cd -- "$(dirname -- "$0")" && pwd -P)
cd -- "$here/.." || exit 1

if [ $# -gt 0 ]; then
    tests=()
    for t in "$@"; do
        t="${t##*/}"
        tests+=("tests/cluster/${t%.sh}.sh")
    done
else
    tests=(tests/cluster/test_*.sh)
fi
if [ ! -e "${tests[0]}" ]; then
    echo "run-cluster.sh: no tests in tests/cluster/" >&2
    exit 1
fi

failed=()
skipped=()
for t in "${tests[@]}"; do
    name=$(basename -- "$t" .sh)
    start=$(date +%s%N)
    echo "== $name"
    timeout --foreground -k 10 300 bash "$t"
    rc=$?
    secs=$((($(date +%s%N) - start) / 1000000))
    secs="$((secs / 1000)).$((secs % 1000 / 100))"
    if [ "$rc" = 0 ]; then
        echo "PASS $name (${secs}s)"
    elif [ "$rc" = 77 ]; then
        echo "SKIP $name (it said why above)"
        skipped+=("$name")
    else
        [ "$rc" = 124 ] && echo "  (timed out after 300 s)"
        echo "FAIL $name"
        failed+=("$name")
    fi
done

if [ "${#skipped[@]}" -gt 0 ]; then
    echo "${#skipped[@]} of ${#tests[@]} cluster tests SKIPPED: ${skipped[*]}"
fi
if [ "${#failed[@]}" -gt 0 ]; then
    echo "${#failed[@]} of ${#tests[@]} cluster tests failed: ${failed[*]}"
    exit 1
fi
echo "All $((${#tests[@]} - ${#skipped[@]})) cluster tests that ran passed."
