#!/usr/bin/env bash
# Installs the Debian packages microtvm-qemu needs, and nothing else, in sets:
#   scripts/install-deps.sh                 what a user needs: build the tools, run the demo, use
#                                           the server from TVM (scripts/demo.sh, scripts/build.sh)
#   scripts/install-deps.sh --tests         that, plus what only the test suite needs
#                                           (scripts/test.sh, scripts/fuzz.sh, .ci/run)
#   scripts/install-deps.sh --fresh-check   debootstrap, for scripts/fresh-check.sh
# The README's "Why each dependency is there" table says why each package is here.
# Idempotent: when everything asked for is present it checks with dpkg and prints nothing.
# Used by the README's commands, .ci/run and docker/Dockerfile, so all three agree.
set -euo pipefail

USER_PACKAGES=(
    # host build (the host build compiles the CUnit tests too, so CUnit is here)
    build-essential cmake ninja-build pkg-config
    # host libraries: JSON, tar extraction, unit tests
    libcjson-dev libarchive-dev libcunit1-dev
    # cross toolchains and C libraries
    gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi
    gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
    # the emulated boards
    qemu-system-arm qemu-system-misc
)

TEST_PACKAGES=(
    # libFuzzer and its sanitizer runtimes (scripts/fuzz.sh)
    clang libclang-rt-14-dev
    # a full server session checked for leaks and bad accesses (scripts/valgrind_session.sh)
    valgrind
    # the sample model's generator, re-run by test_mlf_fixtures (the digits data set ships with
    # python3-sklearn); valgrind_session.sh's client is python3 too
    python3 python3-numpy python3-sklearn
    # TVM 0.18 from ../shared/tools, for the tests and benchmarks that drive the template with
    # TVM's own Python (tests/tvm/with_tvm.sh)
    xz-utils libllvm15 python3-numpy python3-decorator python3-attr python3-psutil python3-scipy
    python3-typing-extensions python3-cloudpickle python3-tornado python3-packaging
)

FRESH_CHECK_PACKAGES=(
    # a minimal Debian 12 root file system to run the README's commands in
    debootstrap
)

wanted=("${USER_PACKAGES[@]}")
for arg in "$@"; do
    case $arg in
        --tests) wanted+=("${TEST_PACKAGES[@]}") ;;
        --fresh-check) wanted+=("${FRESH_CHECK_PACKAGES[@]}") ;;
        *)
            echo "install-deps.sh: unknown argument '$arg' (use --tests or --fresh-check)" >&2
            exit 2
            ;;
    esac
done

missing=()
for p in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        [[ " ${missing[*]} " == *" $p "* ]] || missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo)
else
    SUDO=()
fi
# no questions: the commands must work with no terminal (CI, a Docker build, stdin from /dev/null)
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
