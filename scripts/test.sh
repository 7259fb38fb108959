#!/usr/bin/env bash
# The README's test command: installs what is missing, builds the host tools twice (plain, and
# with AddressSanitizer + UndefinedBehaviorSanitizer) and runs the whole suite in each:
# unit tests, then the end-to-end tests that build firmware and boot QEMU boards; then each
# libFuzzer target for a few seconds, and one full server session under valgrind.
#   scripts/test.sh            everything
#   scripts/test.sh -L unit    extra arguments go to ctest (e.g. a label or -R pattern)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

"$root/scripts/build.sh" "$root/build"
"$root/scripts/build.sh" "$root/build-asan" -DMTQ_SANITIZE=ON

# halt on the first sanitizer report; leak checks on
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# the firmware build cache goes to a scratch directory, not the user's ~/.cache
cache=$(mktemp -d /tmp/mtq-test-cache.XXXXXX)
trap 'rm -rf "$cache"' EXIT
export MTQ_CACHE_DIR=$cache

status=0
for dir in "$root/build" "$root/build-asan"; do
    echo "== ctest in ${dir#"$root"/}"
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@" || status=1
done

# a full server session under valgrind (memcheck): no memory errors, no definite leaks
if [ $# -eq 0 ]; then
    echo "== valgrind: a full server session"
    "$root/scripts/valgrind_session.sh" "$root/build" || status=1
fi

# the libFuzzer targets, briefly, on their committed seeds (docs/FUZZING.md: how to run long)
if [ $# -eq 0 ]; then
    echo "== fuzz targets, ${MTQ_FUZZ_SECONDS:-10} s each"
    "$root/scripts/fuzz.sh" "${MTQ_FUZZ_SECONDS:-10}" || status=1
fi
exit $status
