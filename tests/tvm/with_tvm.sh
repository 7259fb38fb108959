#!/bin/sh
# Runs a Python test (or bench) script with TVM 0.18's own Python, libtvm and standalone CRT:
#
#     tests/tvm/with_tvm.sh SCRIPT.py [ARGS...]
#
# TVM comes from ../shared/tools/tvm-0.18/tvm-0.18.0-debian12-x86_64.tar.xz beside the source
# tree (CI has it; MTQ_TVM_ARCHIVE names another copy), extracted into a temporary directory
# that is removed when the script ends, whatever way it ends. MTQ_TVM_DIR=<an extracted
# tvm-0.18.0> skips the extraction (for repeated runs by hand). The script runs with Debian's
# /usr/bin/python3 and PYTHONPATH, TVM_LIBRARY_PATH and MTQ_STANDALONE_CRT set, in the
# caller's directory, with the caller's arguments; its exit status is this script's.
#
# When TVM, /usr/bin/python3, a Python module TVM imports, or libtvm's shared libraries are
# missing, it says which and how to get it, and exits 77 (CTest's SKIP_RETURN_CODE): a clone
# without ../shared still passes, and says what it skipped. Nothing here downloads anything.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
SKIP=77

skip() {
    echo "SKIPPED (TVM tests): $*" >&2
    exit $SKIP
}

[ $# -ge 1 ] || { echo "usage: $0 SCRIPT.py [ARGS...]" >&2; exit 2; }
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is not installed (apt-get install python3)"

tmp=
scratch=
cleanup() {
    [ -z "$tmp" ] || rm -rf "$tmp"
    [ -z "$scratch" ] || rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${MTQ_TVM_DIR:-}" ]; then
    tvm=$MTQ_TVM_DIR
    [ -d "$tvm/python/tvm" ] || skip "MTQ_TVM_DIR=$tvm holds no python/tvm"
else
    archive=${MTQ_TVM_ARCHIVE:-$src/../shared/tools/tvm-0.18/tvm-0.18.0-debian12-x86_64.tar.xz}
    [ -f "$archive" ] || skip "no TVM archive at $archive (CI has ../shared beside the clone)"
    command -v xz >/dev/null 2>&1 || skip "xz is not installed (apt-get install xz-utils)"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/mtq-tvm-XXXXXX")
    tar xJf "$archive" -C "$tmp" || { echo "could not extract $archive" >&2; exit 1; }
    tvm=$tmp/tvm-0.18.0
    [ -d "$tvm/python/tvm" ] || { echo "$archive holds no tvm-0.18.0/python/tvm" >&2; exit 1; }
fi

# The modules TVM's import needs, each with the Debian package that has it
# (scripts/install-deps.sh installs them in its test set).
for pair in numpy:python3-numpy decorator:python3-decorator attr:python3-attr \
    psutil:python3-psutil scipy:python3-scipy typing_extensions:python3-typing-extensions \
    cloudpickle:python3-cloudpickle tornado:python3-tornado packaging:python3-packaging; do
    mod=${pair%%:*}
    /usr/bin/python3 -c "import $mod" 2>/dev/null ||
        skip "Python module $mod is missing (apt-get install ${pair#*:})"
done
missing=$(ldd "$tvm/lib/libtvm.so" 2>/dev/null | awk '/not found/ {print $1}' | tr '\n' ' ')
[ -z "$missing" ] || skip "libtvm.so needs $missing(apt-get install libllvm15)"

export PYTHONPATH="$tvm/python${PYTHONPATH:+:$PYTHONPATH}"
export TVM_LIBRARY_PATH="$tvm/lib"
export MTQ_STANDALONE_CRT="$tvm/lib/standalone_crt"
export MTQ_SOURCE_DIR="$src"
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ left in the source tree
# TVM leaves temporary directories of its own behind (autotvm_build_func's MLF exports): give
# the script a private TMPDIR that the trap removes with everything in it
scratch=$(mktemp -d "${TMPDIR:-/tmp}/mtq-tvm-tmp-XXXXXX")
export TMPDIR=$scratch
# not exec: the trap must remove the extracted copy after the script ends
status=0
/usr/bin/python3 "$@" || status=$?
exit $status
