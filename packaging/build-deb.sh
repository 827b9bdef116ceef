#!/usr/bin/env bash
# Build dist/maggot-zenodo_<version>_<release>_<arch>.deb for one Debian release:
#   build-deb.sh [--release trixie|bookworm|host] [OUTDIR]     (default: $MAGGOT_DEB_RELEASE,
#                                                                else trixie)
# The package carries a venv under /opt/venvs/maggot-zenodo on Debian's /usr/bin/python3, so the
# venv, its bytecode and the choice of compiled wheels belong to the TARGET release's Python
# (3.13 on trixie, 3.11 on bookworm). build-venv.sh therefore runs inside a debootstrap chroot
# of that release (cached by debian-rootfs.sh; entered read-only with systemd-nspawn, the stage
# bound at /opt), with network for PyPI. `--release host` builds with this machine's own
# /usr/bin/python3 and no chroot (no root needed): a quick build for this host's release.
#
# Why not dh-virtualenv: it runs pip inside dpkg-buildpackage with its own relocation rules; a
# staged tree built with dpkg-deb does the same in a page, and the chroot keeps it honest.
# After the build, lintian (the target's, in the chroot) must report nothing but the overrides
# in packaging/deb/lintian-overrides, each with its reason.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/.." && pwd)
release=${MAGGOT_DEB_RELEASE:-trixie}
if [ "${1:-}" = --release ]; then release=${2:?--release needs a value}; shift 2; fi
out=${1:-$project/dist}
venv_path=/opt/venvs/maggot-zenodo
maintainer=${MAGGOT_DEB_MAINTAINER:-maggot-zenodo developers <maggot-zenodo@example.org>}

version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$project/daemon/maggot_zenodo/__init__.py")
changelog_version=$(sed -n '1s/^maggot-zenodo (\([^)]*\)).*/\1/p' "$here/changelog")
if [ "$version" != "$changelog_version" ]; then
    echo "build-deb: version $version is not the changelog's ($changelog_version):" \
        "add an entry to packaging/changelog" >&2
    exit 1
fi
arch=$(dpkg --print-architecture)
mkdir -p "$project/build/deb" "$out"
work=$(mktemp -d "$project/build/deb/run.XXXXXX")  # this run's only: two builds never mix
trap 'rm -rf "$work"' EXIT
stage=$work/root
mkdir -p "$stage$venv_path" "$work/src" "$work/home"
# The project as it is in the working tree, without what builds and tests leave behind.
tar -C "$project" --exclude=./.venv --exclude=./build --exclude=./dist --exclude=./e2e-run \
    --exclude=./.git --exclude='*.egg-info' --exclude=__pycache__ -cf - . | tar -C "$work/src" -xf -

if [ "$release" = host ]; then
    need=()
    /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
    command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
    command -v strip >/dev/null || need+=(binutils)
    if [ ${#need[@]} -gt 0 ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "build-deb: missing Debian packages: ${need[*]} (run as root or install them)" >&2
            exit 1
        fi
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    tag=$(. /etc/os-release && echo "${VERSION_CODENAME:-host}")
    VENV_STAGE=$stage HOME=$work/home "$here/build-venv.sh" "$work/src" "$work"
else
    rootfs=$("$here/debian-rootfs.sh" "$release" build)
    tag=$release
    in_chroot=(systemd-nspawn -q -D "$rootfs" --read-only --register=no --keep-unit
        --tmpfs=/tmp --bind="$work:/build" --bind="$stage/opt:/opt" --setenv=HOME=/build/home
        --setenv=PATH=/usr/sbin:/usr/bin:/sbin:/bin)
    # An institutional CA (a proxy that inspects TLS) for pip inside, if this host has one.
    cert=${PIP_CERT:-${REQUESTS_CA_BUNDLE:-}}
    if [ -n "$cert" ] && [ -f "$cert" ]; then
        cp "$cert" "$work/ca.pem"
        in_chroot+=(--setenv=PIP_CERT=/build/ca.pem)
    fi
    echo "build-deb: building the venv inside a $release chroot ($rootfs)"
    "${in_chroot[@]}" /build/src/packaging/build-venv.sh /build/src /build
fi
pyver=$(cat "$work/pyver")
shlibs=$(cat "$work/shlibs")
next=${pyver%.*}.$(( ${pyver#*.} + 1 ))
echo "build-deb: maggot-zenodo $version for $tag/$arch, Python $pyver"

# Everything beside the venv.
# /usr/lib, not /lib: trixie's merged /usr (bookworm's systemd reads both).
install -D -m 0644 "$project/systemd/maggot-zenodo.service" "$stage/usr/lib/systemd/system/maggot-zenodo.service"
install -D -m 0644 "$project/systemd/maggot-zenodo.sysusers" "$stage/usr/lib/sysusers.d/maggot-zenodo.conf"
install -D -m 0644 "$project/systemd/maggot-zenodo.tmpfiles" "$stage/usr/lib/tmpfiles.d/maggot-zenodo.conf"
install -D -m 0640 "$project/etc/config.example.yaml" "$stage/etc/maggot-zenodo/config.yaml"
chmod 0750 "$stage/etc/maggot-zenodo"
mkdir -p "$stage/usr/bin"
ln -s "$venv_path/bin/maggot-zenodo" "$stage/usr/bin/maggot-zenodo"
install -D -m 0644 "$work/docs/maggot-zenodo.1.gz" "$stage/usr/share/man/man1/maggot-zenodo.1.gz"
install -D -m 0644 "$work/docs/maggot-zenodo.bash" \
    "$stage/usr/share/bash-completion/completions/maggot-zenodo"
doc=$stage/usr/share/doc/maggot-zenodo
install -D -m 0644 "$here/README.Debian" "$doc/README.Debian"
install -D -m 0644 "$here/copyright" "$doc/copyright"
sed "s|@MAINTAINER@|$maintainer|" "$here/changelog" | gzip -9n >"$doc/changelog.gz"
install -D -m 0644 "$project/etc/config.example.yaml" "$doc/examples/config.example.yaml"
for example in "$project"/systemd/maggot-zenodo.service.d/*.conf.example; do
    name=$(basename "$example" .example)
    install -D -m 0644 "$example" "$doc/examples/$name"
done
install -D -m 0644 "$here/deb/lintian-overrides" "$stage/usr/share/lintian/overrides/maggot-zenodo"
# Modes as dpkg expects them whatever the umask of the build: the venv is read-only code.
find "$stage$venv_path" -type d -exec chmod 0755 {} +
find "$stage$venv_path" -type f -exec chmod 0644 {} +
find "$stage$venv_path/bin" -type f -exec chmod 0755 {} +

mkdir -p "$stage/DEBIAN"
install -m 0644 "$here/deb/conffiles" "$stage/DEBIAN/conffiles"
install -m 0755 "$here/deb/postinst" "$here/deb/prerm" "$here/deb/postrm" "$stage/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
# The venv is tied to one minor version of Debian's python3 (lib/pythonX.Y); libc6 and friends
# come from dpkg-shlibdeps on the compiled modules.
depends="python3 (>= $pyver), python3 (<< $next), python3-systemd, systemd (>= 247), procps"
depends="$depends${shlibs:+, $shlibs}"
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    -e "s/@DEPENDS@/$depends/" -e "s|@MAINTAINER@|$maintainer|" \
    "$here/deb/control.in" >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
    xargs -0 md5sum >DEBIAN/md5sums)

deb=$out/maggot-zenodo_${version}_${tag}_${arch}.deb
rm -f "$out"/maggot-zenodo_*_"${tag}"_"${arch}".deb
dpkg-deb --root-owner-group -Zxz -z6 --build "$stage" "$deb" >/dev/null
echo "build-deb: $deb ($(du -h "$deb" | cut -f1))"

if [ "$release" != host ] && [ "${MAGGOT_DEB_LINTIAN:-1}" = 1 ]; then
    cp "$deb" "$work/check.deb"
    chmod 0755 "$work" && chmod 0644 "$work/check.deb"
    echo "build-deb: lintian ($release) on $(basename "$deb"); overrides (O:) counted by tag, each"
    echo "  with its reason in packaging/deb/lintian-overrides:"
    # Judged on the output, not the exit code: bookworm's lintian counts overridden tags in
    # --fail-on when --show-overrides is given. (nspawn's pipe ends lines with CR LF.)
    "${in_chroot[@]}" --setenv=HOME=/tmp lintian --display-info --show-overrides \
        --tag-display-limit 0 --color never /build/check.deb | tr -d '\r' >"$out/lintian-$tag.txt" || true
    # One line a tag (with how many files it names); the full output stays in the file.
    grep -v -e '^[NM]:' -e '^running with root' "$out/lintian-$tag.txt" | sed 's/ \[.*\]$//' | sort | uniq -c
    if grep -q '^[EW]: ' "$out/lintian-$tag.txt"; then
        echo "build-deb: lintian found errors or warnings (see $out/lintian-$tag.txt)" >&2
        exit 1
    fi
    echo "build-deb: lintian clean (errors and warnings) but for the overrides above"
fi
