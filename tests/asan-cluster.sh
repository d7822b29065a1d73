#!/usr/bin/env bash
# asan-cluster.sh -- the cluster half of `make asan`: runs cluster tests against daemons, CLI,
# tools and example bundles built with AddressSanitizer + UBSan (-fno-sanitize-recover=all)
# in BUILD_DIR (build/asan).
#
#   tests/asan-cluster.sh BUILD_DIR TEST...
#
# bin/ finds its binaries in $FLINT_HOME/build/bin, so the tests run from a shadow home,
# BUILD_DIR/home: copies of bin/, conf/ and tests/ (scripts locate FLINT_HOME from their own
# path), and build -> BUILD_DIR. Every sanitizer report of every process (daemons, CLI,
# tools) goes to BUILD_DIR/san-logs; the run fails when a test fails or when any report was
# written, and prints the reports. FLINT_SANITIZED=1 tells tests that memory figures (RSS)
# mean little under ASan's allocator and quarantine.
set -u

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR TEST..." >&2
    exit 2
fi
src=$(cd -- "$(dirname -- "$0")/.." && pwd -P)
build=$(cd -- "$1" && pwd -P) || exit 2
shift
home="$build/home"
logs="$build/san-logs"

rm -rf -- "$home" "$logs"
mkdir -p -- "$home" "$logs" || exit 2
cp -r -- "$src/bin" "$src/conf" "$src/tests" "$home/" || exit 2
ln -s -- "$build" "$home/build" || exit 2

# Leaks of every process are judged too: a failed or cancelled task closes its operators'
# rich functions as a finished one does (test_lifecycle), so nothing a bundle's open
# allocated is lost.
export ASAN_OPTIONS="log_path=$logs/asan:abort_on_error=0:halt_on_error=1:detect_leaks=1:quarantine_size_mb=64:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export FLINT_SANITIZED=1

"$home/tests/run-cluster.sh" "$@"
rc=$?
reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
    echo "asan-cluster: sanitizer reports:"
    for f in $reports; do
        echo "----- $f"
        head -n 80 -- "$f"
    done
    rc=1
fi
[ "$rc" = 0 ] && echo "asan-cluster: $# cluster tests passed under ASan+UBSan, no sanitizer report"
exit "$rc"
