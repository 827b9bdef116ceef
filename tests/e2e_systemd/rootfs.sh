#!/usr/bin/env bash
# A fresh Debian root file system with a real systemd in DEST, for systemd-nspawn:
#   rootfs.sh RELEASE DEST        (RELEASE: trixie or bookworm)
# The debootstrap result is cached by packaging/debian-rootfs.sh (under /var/tmp, once per
# machine); DEST gets a fresh copy, so every run starts from a clean system.
set -euo pipefail
release=${1:?usage: rootfs.sh RELEASE DEST}
dest=${2:?usage: rootfs.sh RELEASE DEST}
base=$("$(dirname "$0")/../../packaging/debian-rootfs.sh" "$release" run)
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
cp -a --reflink=auto "$base" "$dest"
rm -f "$dest/.complete"
echo "$dest"
