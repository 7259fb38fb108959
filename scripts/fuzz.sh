#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang into build-fuzz/ and runs each for a
# while on a scratch copy of its seed corpus, so the committed corpus never grows by accident.
# Prints per target the executions, coverage and whether it crashed; exits 1 on any crash (or
# leak, or hang), keeping the input in build-fuzz/crashes/. See docs/FUZZING.md.
#   scripts/fuzz.sh [--merge] [SECONDS] [TARGET...]
#     SECONDS  per target (default 10); TARGET: api, b85, machine, mlf (default: all)
#     --merge  afterwards, add the inputs that found new coverage to tests/fuzz/corpus/
#   MTQ_FUZZ_BUILD=dir puts the build elsewhere; FUZZ_ARGS adds libFuzzer flags (e.g. -jobs=2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MTQ_FUZZ_BUILD:-$root/build-fuzz}

merge=0
if [ "${1:-}" = --merge ]; then
    merge=1
    shift
fi
seconds=10
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
if [ "$seconds" -lt 1 ]; then
    echo "fuzz.sh: SECONDS must be at least 1" >&2
    exit 2
fi
all=()
for src in "$root"/tests/fuzz/fuzz_*.c; do
    name=${src##*/fuzz_}
    all+=("${name%.c}")
done
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
    if [ ! -f "$root/tests/fuzz/fuzz_$t.c" ]; then
        echo "fuzz.sh: no target '$t' (targets: ${all[*]})" >&2
        exit 2
    fi
done

"$root/scripts/install-deps.sh" --tests
# a build directory of its own: clang for everything, the fuzz targets on
if [ -f "$build/CMakeCache.txt" ] && ! grep -qs '^CMAKE_C_COMPILER:.*clang' "$build/CMakeCache.txt"
then
    echo "fuzz.sh: $build was configured with another compiler than clang; remove it or set" \
         "MTQ_FUZZ_BUILD to another directory" >&2
    exit 2
fi
if ! grep -qs '^MTQ_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
    CC=clang cmake -S "$root" -B "$build" -G Ninja -DMTQ_FUZZ=ON >/dev/null
fi
if ! log=$(ninja -C "$build" -j2 $(printf 'fuzz_%s ' "${targets[@]}") 2>&1); then
    printf '%s\n' "$log" | tail -n 60 >&2
    echo "fuzz.sh: build failed in $build" >&2
    exit 1
fi

work=$(mktemp -d /tmp/mtq-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
for t in "${targets[@]}"; do
    dir=$work/$t
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp "$root/tests/fuzz/corpus/$t/"* "$dir/corpus/" 2>/dev/null || true
    dict=()
    [ -f "$root/tests/fuzz/$t.dict" ] && dict=(-dict="$root/tests/fuzz/$t.dict")
    # -close_fd_mask=2: the server's debug log (the verbose option) would flood the output;
    # libFuzzer and the sanitizers still report on a copy of stderr
    rc=0
    (cd "$dir" && TMPDIR=$dir nice -n 10 "$build/fuzz/fuzz_$t" -max_total_time="$seconds" \
        -timeout=10 -print_final_stats=1 -close_fd_mask=2 -artifact_prefix="$dir/artifacts/" \
        "${dict[@]}" ${FUZZ_ARGS:-} "$dir/corpus") >"$dir/log" 2>&1 || rc=$?

    # the last status line: "#123 DONE cov: 45 ft: 67 corp: 8/90b ..."
    last=$(grep -E '^#[0-9]+' "$dir/log" | tail -n 1 || true)
    field() { sed -nE "s/.*[ \t]$1:? +([^ ]+).*/\1/p" <<<"$2" | head -n 1; }
    execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$dir/log")
    rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$dir/log")
    artifacts=$(find "$dir/artifacts" -type f ! -name 'slow-unit-*' | wc -l)
    if [ "$rc" -ne 0 ] || [ "$artifacts" -gt 0 ]; then
        status=1
        mkdir -p "$build/crashes"
        kept=()
        for a in "$dir"/artifacts/*; do
            [ -f "$a" ] || continue
            case ${a##*/} in slow-unit-*) continue ;; esac
            cp "$a" "$build/crashes/${t}-${a##*/}"
            kept+=("$build/crashes/${t}-${a##*/}")
        done
        verdict="CRASH (exit $rc): ${kept[*]:-no input saved}"
    else
        verdict="no crash"
    fi
    printf '%-8s %10s execs %7s/s  cov %-5s ft %-6s corpus %-11s %s\n' "$t" "${execs:-?}" \
        "${rate:-?}" "$(field cov "$last")" "$(field ft "$last")" "$(field corp "$last")" \
        "$verdict"
    if [ "$status" -ne 0 ] && [ "$rc" -ne 0 ]; then
        echo "---- the end of fuzz_$t's report ----"
        grep -vE '^#[0-9]+|^(INFO|MS):|NEW_FUNC' "$dir/log" | tail -n 40
        echo "---- reproduce: $build/fuzz/fuzz_$t ${kept[0]:-<input>} ----"
    fi
    if [ "$merge" -eq 1 ] && [ "$rc" -eq 0 ]; then
        before=$(find "$root/tests/fuzz/corpus/$t" -type f | wc -l)
        mkdir -p "$root/tests/fuzz/corpus/$t"
        (cd "$dir" && TMPDIR=$dir "$build/fuzz/fuzz_$t" -merge=1 -close_fd_mask=2 \
            "$root/tests/fuzz/corpus/$t" "$dir/corpus") >"$dir/merge.log" 2>&1
        after=$(find "$root/tests/fuzz/corpus/$t" -type f | wc -l)
        echo "         merged: tests/fuzz/corpus/$t has $after inputs (was $before)"
    fi
done
exit $status
