#!/usr/bin/env bash
# A cached Debian root file system: `debian-rootfs.sh RELEASE PURPOSE` prints its path.
#
# RELEASE: trixie (Debian 13) or bookworm (Debian 12). PURPOSE:
#   run    what the package needs at run time plus a bootable systemd (the e2e container);
#   build  the target's Python with venv, dpkg-dev (dpkg-shlibdeps), binutils (strip) and
#          lintian: build-deb.sh builds the venv inside it, with the target's interpreter.
# Built once per machine with debootstrap under /var/tmp/maggot-zenodo-e2e (the name carries a
# hash of the package list, so a new list makes a new tree; delete the folder to rebuild); the
# .debs are shared between trees through debootstrap's cache. Callers copy it or mount it
# read-only: the cached tree itself is never changed. Root only.
set -euo pipefail

release=${1:?usage: debian-rootfs.sh RELEASE run|build}
purpose=${2:?usage: debian-rootfs.sh RELEASE run|build}
case "$release" in
    trixie | bookworm) ;;
    *) echo "debian-rootfs: unknown release $release (trixie or bookworm)" >&2; exit 2 ;;
esac
case "$purpose" in
    run) include=systemd,systemd-sysv,dbus,python3,python3-systemd,procps ;;
    # perl-openssl-defaults: lintian needs it through a virtual package debootstrap cannot resolve.
    build) include=python3,python3-venv,dpkg-dev,binutils,lintian,perl-openssl-defaults,man-db ;;
    *) echo "debian-rootfs: unknown purpose $purpose (run or build)" >&2; exit 2 ;;
esac
cache=${MAGGOT_ROOTFS_CACHE:-/var/tmp/maggot-zenodo-e2e}
base=$cache/$release-$purpose-$(printf '%s' "$include" | md5sum | cut -c1-8)

if [ "$(id -u)" != 0 ]; then
    echo "debian-rootfs: needs root (debootstrap)" >&2
    exit 1
fi
missing=()
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -e /usr/share/debootstrap/scripts/"$release" ]; then
    echo "debian-rootfs: this debootstrap does not know $release; upgrade debootstrap" >&2
    exit 1
fi

if [ ! -e "$base/.complete" ]; then
    # The mirror apt already uses on this host, else Debian's redirector.
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    rm -rf "$base"
    mkdir -p "$cache/debs"
    log=$cache/debootstrap-$release-$purpose.log
    echo "rootfs: debootstrap $release ($purpose) from $mirror into $base (once per machine)" >&2
    started=$(date +%s)
    debootstrap --variant=minbase --include="$include" --cache-dir="$cache/debs" \
        "$release" "$base" "$mirror" >"$log" 2>&1 || { tail -20 "$log" >&2; exit 1; }
    # No .debs inside the tree (they are in the shared cache); apt lists are not needed.
    rm -rf "$base"/var/cache/apt/archives/*.deb "$base"/var/lib/apt/lists/*
    touch "$base/.complete"
    echo "rootfs: $release ($purpose) ready in $(( $(date +%s) - started )) s" >&2
fi
# The mount point build-deb.sh binds its work folder to (the tree is entered read-only).
[ "$purpose" = build ] && mkdir -p "$base/build"
echo "$base"
