#!/usr/bin/env bash
# Build dist/maggot-zenodo_<version>_<arch>.deb from the working tree.
#
# Why not dh-virtualenv: it runs pip inside dpkg-buildpackage with network access and its own
# relocation rules; a staged tree built with dpkg-deb does the same in twenty lines, offline
# once the wheels are there, and needs nothing but python3-venv and dpkg.
#
# Steps: (1) wheels of the project and of every dependency, built/fetched with the TARGET's
# interpreter (/usr/bin/python3, Debian's, never pyenv's) into a folder of this run; (2) a venv at
# <stage>/opt/venvs/maggot-zenodo filled from those wheels only (--no-index), with
# --system-site-packages so that Debian's python3-systemd is used; (3) its absolute paths
# rewritten from the stage to /opt/venvs/maggot-zenodo and its bytecode compiled with the final
# paths; (4) the unit, sysusers/tmpfiles snippets, config (a conffile) and docs staged;
# (5) dpkg-deb --root-owner-group. Run as root it first installs what it needs with apt-get.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/.." && pwd)
out=${1:-$project/dist}
build=$project/build/deb
python=/usr/bin/python3
venv_path=/opt/venvs/maggot-zenodo

need_debs=()
[ -x "$python" ] || need_debs+=(python3)
"$python" -c 'import venv, ensurepip' 2>/dev/null || need_debs+=(python3-venv)
if [ ${#need_debs[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "build-deb: missing Debian packages: ${need_debs[*]} (run as root or install them)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debs[@]}" >/dev/null
fi

version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$project/daemon/maggot_zenodo/__init__.py")
arch=$(dpkg --print-architecture)
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
# Wheels and stage in a folder of this run only, so that two builds never mix.
mkdir -p "$build"
work=$(mktemp -d "$build/run.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/root
echo "build-deb: maggot-zenodo $version for $arch, Python $pyver ($python)"

# (1) wheels, with a tool venv on the target interpreter (kept in build/deb for the next run)
mkdir -p "$build" "$out"
if [ ! -x "$build/tools/bin/pip" ]; then
    "$python" -m venv "$build/tools"
fi
"$build/tools/bin/pip" wheel -qq --wheel-dir "$work/wheels" "$project"

# (2) the application venv, from the wheels only
"$python" -m venv --system-site-packages --without-pip "$stage$venv_path"
"$build/tools/bin/pip" --python "$stage$venv_path/bin/python" install -qq --no-index \
    --find-links "$work/wheels" --ignore-installed --no-compile --no-warn-script-location \
    maggot-zenodo=="$version"

# (3) relocate: shebangs and activate scripts name the stage; bytecode gets the final paths
grep -rlI --null "$stage$venv_path" "$stage$venv_path/bin" "$stage$venv_path/pyvenv.cfg" | xargs -0 -r sed -i "s|$stage$venv_path|$venv_path|g"
if grep -rlI "$stage" "$stage$venv_path/bin" "$stage$venv_path/pyvenv.cfg"; then
    echo "build-deb: stage paths left in the venv" >&2
    exit 1
fi
"$python" -m compileall -q -j 0 -s "$stage" -p / "$stage$venv_path/lib" >/dev/null

# (4) everything else
install -D -m 0644 "$project/systemd/maggot-zenodo.service" "$stage/lib/systemd/system/maggot-zenodo.service"
install -D -m 0644 "$project/systemd/maggot-zenodo.sysusers" "$stage/usr/lib/sysusers.d/maggot-zenodo.conf"
install -D -m 0644 "$project/systemd/maggot-zenodo.tmpfiles" "$stage/usr/lib/tmpfiles.d/maggot-zenodo.conf"
install -D -m 0640 "$project/etc/config.example.yaml" "$stage/etc/maggot-zenodo/config.yaml"
chmod 0750 "$stage/etc/maggot-zenodo"
mkdir -p "$stage/usr/bin"
ln -s "$venv_path/bin/maggot-zenodo" "$stage/usr/bin/maggot-zenodo"
doc=$stage/usr/share/doc/maggot-zenodo
install -D -m 0644 "$here/README.Debian" "$doc/README.Debian"
install -D -m 0644 "$here/copyright" "$doc/copyright"
install -D -m 0644 "$project/etc/config.example.yaml" "$doc/examples/config.example.yaml"
install -D -m 0644 "$project/systemd/maggot-zenodo.service.d/storage.conf.example" \
    "$doc/examples/storage.conf"

mkdir -p "$stage/DEBIAN"
install -m 0644 "$here/deb/conffiles" "$stage/DEBIAN/conffiles"
install -m 0755 "$here/deb/postinst" "$here/deb/prerm" "$here/deb/postrm" "$stage/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
    "$here/deb/control.in" >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
    xargs -0 md5sum >DEBIAN/md5sums)

# (5) the package; files belong to root (permissions for the group come from postinst)
deb=$out/maggot-zenodo_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz -z6 --build "$stage" "$deb" >/dev/null
echo "build-deb: $deb ($(du -h "$deb" | cut -f1))"
