#!/usr/bin/env bash
# typed_state.sh -- the typed keyed-state calls against the byte form, per record, on both
# backends (build/bench/typed_state: the operator test harness, no cluster). Last line: the
# ratios typed / bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
exec build/bench/typed_state "$@"
