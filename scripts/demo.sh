#!/usr/bin/env bash
# The README's main command: installs what is missing, builds the tools, then builds the
# bundled sample model (an int8 digit classifier) for the default board and runs it in QEMU.
#   scripts/demo.sh            the default board (mps2-an385)
#   scripts/demo.sh --all      every board side by side
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh" "$root/build"
exec "$root/build/bin/microtvm-qemu" demo "$@"
