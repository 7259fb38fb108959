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

# the test set on top of the user's (build.sh below installs only the user's)
"$root/scripts/install-deps.sh" --tests
# the suite's builds treat every warning as an error (a user's build only warns)
"$root/scripts/build.sh" "$root/build" -DMTQ_WERROR=ON
"$root/scripts/build.sh" "$root/build-asan" -DMTQ_SANITIZE=ON -DMTQ_WERROR=ON

# halt on the first sanitizer report; leak checks on
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# the firmware build cache goes to a scratch directory, not the user's ~/.cache
cache=$(mktemp -d /tmp/mtq-test-cache.XXXXXX)
trap 'rm -rf "$cache"' EXIT
export MTQ_CACHE_DIR=$cache

status=0
passed=0
failed=0
count() { # count <ok?> : one more check passed or failed
    if [ "$1" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
}

for dir in "$root/build" "$root/build-asan"; do
    echo "== ctest in ${dir#"$root"/}"
    log=$(mktemp)
    rc=0
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" "$@" | tee "$log" || rc=1
    [ "${PIPESTATUS[0]}" = 0 ] || rc=1
    # "NN% tests passed, F tests failed out of T"
    if read -r f t < <(sed -nE 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1 \2/p' "$log"); then
        passed=$((passed + t - f))
        failed=$((failed + f))
        [ "$rc" = 0 ] || status=1
    else
        count 1 # ctest itself failed before running anything
    fi
    rm -f "$log"
done

if [ $# -eq 0 ]; then
    # a full server session under valgrind (memcheck): no memory errors, no definite leaks
    echo "== valgrind: a full server session"
    rc=0; "$root/scripts/valgrind_session.sh" "$root/build" || rc=1; count $rc

    # the libFuzzer targets, briefly, on their committed seeds (docs/FUZZING.md: running long)
    echo "== fuzz targets, ${MTQ_FUZZ_SECONDS:-10} s each"
    rc=0; "$root/scripts/fuzz.sh" "${MTQ_FUZZ_SECONDS:-10}" || rc=1; count $rc
fi

# one closing line for CI: every ctest test of both builds, the valgrind session, the fuzz run
echo "microtvm-qemu: $passed passed, $failed failed"
exit $status
