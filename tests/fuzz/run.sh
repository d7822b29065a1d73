#!/usr/bin/env bash
# run.sh -- runs every libFuzzer target given for SECONDS each (make fuzz, make fuzz-smoke):
#   tests/fuzz/run.sh SECONDS build/fuzz/bin/fuzz_x...
# Each starts from its seeds (tests/fuzz/corpus/<target>/) and the corpus earlier runs grew
# (build/fuzz/corpus/<target>/, kept); a crash, leak or sanitizer report fails the run and
# leaves the input in build/fuzz/crashes/. Prints per target the executions and the corpus.
set -u
secs=$1
shift
here=$(cd -- "$(dirname -- "$0")" && pwd -P)
root=$(cd -- "$here/../.." && pwd -P)
failed=()
for bin in "$@"; do
    name=$(basename -- "$bin")
    seeds="$here/corpus/${name#fuzz_}"
    grown="$root/build/fuzz/corpus/${name#fuzz_}"
    crashes="$root/build/fuzz/crashes"
    mkdir -p "$grown" "$crashes" "$seeds"
    log="$root/build/fuzz/$name.log"
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/$name-" "$grown" "$seeds" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    if [ "$rc" = 0 ]; then
        echo "fuzz $name: ${execs:-?} runs in ${secs} s, $cov, corpus $(ls "$grown" | wc -l) inputs: ok"
    else
        echo "fuzz $name: FAILED (exit $rc) after ${execs:-?} runs:"
        grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written' "$log" | head -n 12
        failed+=("$name")
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]} (inputs in build/fuzz/crashes/)"
    exit 1
fi
