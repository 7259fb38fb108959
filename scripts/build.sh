#!/usr/bin/env bash
# Configures and builds the host tools into a build directory (default: build/).
#   scripts/build.sh [BUILD_DIR] [extra cmake arguments...]
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$dir" -G Ninja "$@" >/dev/null
# quiet on success; on failure the compiler's messages are what matters
if ! log=$(ninja -C "$dir" 2>&1); then
    printf '%s\n' "$log" | tail -n 60 >&2
    echo "build failed in $dir (full log: ninja -C $dir)" >&2
    exit 1
fi
