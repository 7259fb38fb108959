#!/usr/bin/env bash
# Installs every Debian package microtvm-qemu needs, and nothing else.
# Idempotent: when everything is present it checks with dpkg and prints nothing.
# Used by the README's commands, .ci/run and docker/Dockerfile, so all three agree.
set -euo pipefail

PACKAGES=(
    # host build
    build-essential cmake ninja-build pkg-config
    # host libraries: JSON, unit tests, tar extraction
    libcjson-dev libcunit1-dev libarchive-dev
    # cross toolchains and C libraries
    gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi
    gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
    # the emulated boards
    qemu-system-arm qemu-system-misc
    # sanitizer runtime, fuzzers, leak checks
    clang libclang-rt-14-dev valgrind
    # the sample model's training data (scikit-learn's digits set) and its script
    python3 python3-numpy python3-sklearn
)

# TEST set, TVM: what TVM 0.18's own Python and libtvm need, for the tests and benchmarks that
# drive the template with it (tests/tvm/with_tvm.sh; TVM itself comes from ../shared/tools).
TVM_TEST_PACKAGES=(
    xz-utils libllvm15 python3-numpy python3-decorator python3-attr python3-psutil python3-scipy
    python3-typing-extensions python3-cloudpickle python3-tornado python3-packaging
)
PACKAGES+=("${TVM_TEST_PACKAGES[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
