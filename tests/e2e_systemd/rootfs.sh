#!/usr/bin/env bash
# Make a Debian bookworm root file system with a real systemd in DEST, for systemd-nspawn.
#
# The debootstrap result is cached under /var/tmp/maggot-zenodo-e2e (reused across runs on the
# same machine; delete the folder to rebuild); DEST gets a fresh copy, so every run starts from
# a clean system. Installs systemd-container and debootstrap on the host when missing (root).
set -euo pipefail

dest=${1:?usage: rootfs.sh DEST}
suite=bookworm
# What the package needs (python3, python3-systemd, systemd) plus a bootable system.
include=systemd,systemd-sysv,dbus,python3,python3-systemd,procps
cache=/var/tmp/maggot-zenodo-e2e
base=$cache/$suite-$(printf '%s' "$include" | md5sum | cut -c1-8)

missing=()
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -e "$base/.complete" ]; then
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror=${mirror:-http://deb.debian.org/debian}
    rm -rf "$base"
    mkdir -p "$cache"
    echo "rootfs: debootstrap $suite from $mirror into $base (once per machine)" >&2
    debootstrap --variant=minbase --include="$include" "$suite" "$base" "$mirror" \
        >"$cache/debootstrap.log" 2>&1 || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    touch "$base/.complete"
fi

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -a --reflink=auto "$base" "$dest"
rm -f "$dest/.complete"
echo "$dest"
