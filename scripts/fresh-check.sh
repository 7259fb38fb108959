#!/usr/bin/env bash
# Proves the README's two commands on a clean machine: builds a minimal Debian 12 root file system
# with debootstrap, clones this repository's current commit into it, and runs `scripts/demo.sh`
# then `scripts/test.sh` there as root with no terminal (stdin from /dev/null, a new session).
# Prints each command's wall time and exit status, the demo's last line, the suite's closing
# line, and how much each command installed on the fresh root. Exits 0 only when both pass.
#
#   scripts/fresh-check.sh          (as root; installs debootstrap through install-deps.sh)
#
# Environment:
#   MTQ_FRESH_BASE=FILE.tar  reuse a tarball of the debootstrapped base root (made on the first
#                            run when FILE.tar does not exist yet) to save the few minutes of
#                            debootstrap on reruns. Default: a new root every time.
#   MTQ_FRESH_MIRROR=URL     the Debian mirror (default: the one this host's apt uses, read from
#                            /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list)
#   MTQ_FRESH_TMP=DIR        where the root is built (default /var/tmp); it needs ~6 GiB
#
# The root sees the host only through /proc, /sys, /dev, /dev/pts, a copy of resolv.conf and
# hosts, the host's apt access settings (Acquire::Check-Valid-Until and the like, so apt reaches
# the mirror as the host's does), and ../shared read-only beside the clone when it exists (the
# suite's shared-fixture tests then run there too). Whatever happens (failure, Ctrl-C), the trap
# ends the processes still running inside the root, unmounts everything under it (lazily if
# busy), checks that nothing is left mounted, and only then removes it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# The host's own Debian mirror: the first "URIs:" (deb822) or "deb URL" line ending in /debian.
host_mirror() {
    { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
      grep -hs '^deb ' /etc/apt/sources.list | awk '$2 !~ /^\[/ {print $2}'; } |
        grep -m1 '/debian/\?$' | sed 's:/$::'
}
mirror=${MTQ_FRESH_MIRROR:-$(host_mirror || true)}
if [ -z "$mirror" ]; then
    echo "fresh-check.sh: no Debian mirror in this host's apt sources; set MTQ_FRESH_MIRROR" >&2
    exit 2
fi
base=${MTQ_FRESH_BASE:-}

if [ "$(id -u)" -ne 0 ]; then
    echo "fresh-check.sh: run as root (debootstrap, chroot and mount need it)" >&2
    exit 2
fi
commit=$(git -C "$repo" rev-parse HEAD)
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
    echo "fresh-check: note: uncommitted changes are not checked, only commit ${commit:0:12}" >&2
fi
"$repo/scripts/install-deps.sh" --fresh-check

work=$(mktemp -d "${MTQ_FRESH_TMP:-/var/tmp}/mtq-fresh.XXXXXX")
R=$work/root
mkdir "$R"
mounted=()
tpid= # the tail showing a command's output

# Mount points under the root, deepest first, from the kernel's own table.
mounts_under_root() {
    awk -v r="$R" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

cleanup() {
    local rc=$? p m left
    set +e
    trap - EXIT INT TERM HUP
    [ -n "$tpid" ] && kill "$tpid" 2>/dev/null
    # processes still running inside the root (a hung test, a QEMU left behind): all are ours
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}"
    done
    # and anything else that ended up mounted there
    for m in $(mounts_under_root); do umount -l "$m"; done
    left=$(mounts_under_root)
    if [ -n "$left" ]; then
        echo "fresh-check: still mounted, so $work is left in place: $left" >&2
        rc=1
    else
        rm -rf --one-file-system "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

mnt() { # mnt TARGET MOUNT-ARGS...: mounts, and records it for cleanup
    local target=$1
    shift
    mkdir -p "$target"
    mount "$@" "$target"
    mounted+=("$target")
}

# ---- the base root
if [ -n "$base" ] && [ -f "$base" ]; then
    echo "== base root from $base (MTQ_FRESH_BASE)"
    tar -C "$R" --numeric-owner -xpf "$base"
else
    echo "== debootstrap --variant=minbase bookworm ($mirror)"
    t0=$(date +%s)
    debootstrap --variant=minbase bookworm "$R" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -n 30 "$work/debootstrap.log" >&2
        echo "fresh-check: debootstrap failed" >&2
        exit 1
    }
    echo "   done in $(($(date +%s) - t0)) s"
    if [ -n "$base" ]; then
        tar -C "$R" --numeric-owner -cf "$base.part" . && mv "$base.part" "$base"
        echo "   saved as $base for the next run"
    fi
fi

# ---- what a newly installed Debian 12 has and a bare debootstrap lacks: the usual apt sources,
# name resolution, and no service starts from package scripts (as in Debian's container images)
cat >"$R/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' \
    >"$R/etc/apt/apt.conf.d/00fresh-check-host" || true
cp -L /etc/resolv.conf "$R/etc/resolv.conf"
grep -qs localhost "$R/etc/hosts" || printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >>"$R/etc/hosts"
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 755 "$R/usr/sbin/policy-rc.d"

# ---- the clone, and ../shared beside it
src=/src/microtvm-qemu
mkdir -p "$R/src"
git clone -q --no-hardlinks "$repo" "$R$src"
git -C "$R$src" checkout -q --detach "$commit"
shared=
if [ -d "$repo/../shared" ]; then
    shared=$(cd "$repo/../shared" && pwd -P)
fi

# ---- mounts: private to this check, so nothing propagates back to the host's /dev
mnt "$R/proc" -t proc proc
mnt "$R/sys" -t sysfs -o ro sysfs
mnt "$R/dev" --bind /dev
mount --make-rslave "$R/dev"
mnt "$R/dev/pts" --bind /dev/pts
mnt "$R/dev/shm" -t tmpfs -o mode=1777 tmpfs
if [ -n "$shared" ]; then
    mnt "$R/src/shared" --bind -o ro "$shared"
    mount -o remount,bind,ro "$R/src/shared"
fi

# ---- the two commands
installed() { # "<packages> <KiB>": what dpkg says is installed on the root
    chroot "$R" dpkg-query -W -f='${db:Status-Status} ${Installed-Size}\n' |
        awk '$1 == "installed" { n++; k += $2 } END { print n, k }'
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
disk() { du -sxm --exclude="$R$src" --exclude="$R/src/shared" "$R" | awk '{ print $1 " MiB" }'; }
span() { awk -v s="$1" 'BEGIN { printf "%d min %02d s (%.0f s)", s / 60, s % 60, s }'; }

summary=()
status=0
read -r n_before k_before < <(installed)
summary+=("base root: $n_before packages, $(mib "$k_before") installed, $(disk) on disk")
for cmd in scripts/demo.sh scripts/test.sh; do
    echo "== $cmd (in the fresh root, as root, no terminal)"
    log=$work/$(basename "$cmd" .sh).log
    t0=$(date +%s.%N)
    : >"$log"
    # in the background, so that a signal to this script is handled at once (by `wait`), not
    # after the command; its output is shown as it comes
    env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 ${OPENBLAS_CORETYPE:+OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE} \
        ${OPENBLAS_L2_SIZE:+OPENBLAS_L2_SIZE=$OPENBLAS_L2_SIZE} \
        setsid -w chroot "$R" /bin/bash -c "cd $src && $cmd" </dev/null >"$log" 2>&1 &
    cpid=$!
    tail -n +1 -f --pid="$cpid" "$log" &
    tpid=$!
    rc=0
    wait "$cpid" || rc=$?
    wait "$tpid" || true
    tpid=
    t1=$(date +%s.%N)
    read -r n_after k_after < <(installed)
    if [ "$cmd" = scripts/test.sh ]; then
        last=$(grep -E '^microtvm-qemu: [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
        if [ "$rc" = 0 ] && ! [[ $last =~ \ 0\ failed ]]; then
            rc=1 # exit 0 without a clean closing line is no pass
        fi
    else
        last=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1 || true)
    fi
    if [ "$rc" != 0 ]; then
        status=1
    fi
    summary+=("$cmd: exit $rc, $(span "$(echo "$t1 $t0" | awk '{ print $1 - $2 }')")"
              "  installed +$((n_after - n_before)) packages, +$(mib $((k_after - k_before)))"
              "  root on disk now $(disk), the clone and its builds not counted"
              "  last line: ${last:-(none)}")
    n_before=$n_after
    k_before=$k_after
done
summary+=("after both: $n_before packages, $(mib "$k_before") installed")

echo "== fresh-check: commit ${commit:0:12}, Debian $(cat "$R/etc/debian_version") minbase," \
     "$(nproc) cores${shared:+, ../shared mounted read-only}"
printf '   %s\n' "${summary[@]}"
if [ "$status" = 0 ]; then
    echo "fresh-check: both commands passed on a fresh Debian 12"
else
    echo "fresh-check: FAILED on a fresh Debian 12 (the output above says where)"
fi
exit "$status"
