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
ninja -C "$dir" "${MTQ_NINJA_FLAGS:-}" >/dev/null || ninja -C "$dir"
