#!/usr/bin/env bash
# proof-runs.sh -- issue 10 point 5: N consecutive `make test` runs, each on a fresh clone of
# this repository's HEAD, and a one-line summary per run.
#
#   tests/proof-runs.sh [N] [normal|slow]     (default 5 normal)
#
# slow pins the whole suite to one core (taskset -c 0, nice 5): daemons, clients and tests
# share it, so every test runs against a machine several times slower than usual. Logs and
# the summary go to ${PROOF_DIR:-/tmp/flint-proof}; each clone is removed after its run.
set -u
n=${1:-5}
mode=${2:-normal}
src=$(cd -- "$(dirname -- "$0")/.." && pwd -P)
out=${PROOF_DIR:-/tmp/flint-proof}
commit=$(git -C "$src" rev-parse HEAD) || exit 2
mkdir -p -- "$out" || exit 2
summary="$out/$mode.summary"
echo "commit $commit mode $mode" >"$summary"
for i in $(seq 1 "$n"); do
    d="$out/clone-$mode-$i"
    rm -rf -- "$d"
    git clone -q "$src" "$d" && git -C "$d" checkout -q "$commit" || exit 2
    t0=$(date +%s)
    if [ "$mode" = slow ]; then
        (cd "$d" && taskset -c 0 nice -n 5 make test >"$out/$mode-$i.log" 2>&1)
    else
        (cd "$d" && nice -n 5 make test >"$out/$mode-$i.log" 2>&1)
    fi
    rc=$?
    echo "run $i: rc=$rc $(($(date +%s) - t0)) s, $(grep -c '^PASS' "$out/$mode-$i.log") cluster tests passed; failed: $(grep '^FAIL' "$out/$mode-$i.log" | tr '\n' ' ')" >>"$summary"
    rm -rf -- "$d"
done
cat -- "$summary"
