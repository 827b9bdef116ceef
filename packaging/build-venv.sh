#!/usr/bin/env bash
# The part of the build that must run on the TARGET release (inside its chroot, see
# build-deb.sh): its /usr/bin/python3 makes the venv and picks the wheels, its binutils strip
# them, its dpkg-shlibdeps says which libraries they need.
#   build-venv.sh SRC WORK
# SRC: a copy of the project. WORK: writable; gets wheels/, tools/ (a build-time venv with
# argparse-manpage and shtab), docs/ (man page, completion), shlibs (the Depends the compiled
# modules need) and pyver. The application venv is made at /opt/venvs/maggot-zenodo, which
# build-deb.sh binds to its stage, or under $VENV_STAGE when set (a host build; relocated).
set -euo pipefail
src=${1:?usage: build-venv.sh SRC WORK}
work=${2:?usage: build-venv.sh SRC WORK}
python=/usr/bin/python3
venv_path=/opt/venvs/maggot-zenodo
venv=${VENV_STAGE:-}$venv_path
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1

version=$("$python" - "$src" <<'PY'
import re, sys, pathlib
init = pathlib.Path(sys.argv[1], "daemon/maggot_zenodo/__init__.py").read_text()
print(re.search(r'__version__ = "(.*)"', init).group(1))
PY
)
"$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' >"$work/pyver"

# (1) the project's wheel and its dependencies' wheels, chosen by this interpreter
"$python" -m venv "$work/tools"
"$work/tools/bin/pip" install -qq --upgrade "pip>=23"
"$work/tools/bin/pip" wheel -qq --wheel-dir "$work/wheels" "$src"
# (2) the application venv, from those wheels only; Debian's python3-systemd is used
#     (--system-site-packages), so systemd-python is never compiled
"$python" -m venv --system-site-packages --without-pip "$venv"
"$work/tools/bin/pip" --python "$venv/bin/python" install -qq --no-index \
    --find-links "$work/wheels" --ignore-installed --no-compile --no-warn-script-location \
    "maggot-zenodo==$version"
if [ -n "${VENV_STAGE:-}" ]; then  # shebangs and pyvenv.cfg name the stage: point them home
    grep -rlI --null "$venv" "$venv/bin" "$venv/pyvenv.cfg" | xargs -0 -r sed -i "s|$venv|$venv_path|g"
    if grep -rlI "$VENV_STAGE" "$venv/bin" "$venv/pyvenv.cfg"; then
        echo "build-venv: stage paths left in the venv" >&2
        exit 1
    fi
fi
# Left by `python -m venv` and of no use in a package: a .gitignore, an empty include/, the
# activate scripts (the service and /usr/bin/maggot-zenodo run the venv's scripts directly).
rm -f "$venv/.gitignore" "$venv"/bin/activate* "$venv/bin/Activate.ps1"
find "$venv" -depth -type d -empty -delete
# (3) bytecode with the final paths (-s strips the stage, -p puts / back)
"$python" -m compileall -q -j 0 -s "${VENV_STAGE:-/}" -p / "$venv/lib" >/dev/null
# (4) stripped binaries: the wheels' compiled modules carry their symbol tables
find "$venv" -type f -name '*.so*' -exec strip --strip-unneeded --remove-section=.comment \
    --remove-section=.note {} +
# (5) the man page and the bash completion, from the parser itself
"$work/tools/bin/pip" install -qq --find-links "$work/wheels" "maggot-zenodo==$version" \
    "argparse-manpage>=4.5" "shtab>=1.7"
"$src/packaging/cli-docs.sh" "$work/tools/bin/python" "$work/docs"
# (6) the libraries those modules need, as Depends (libc6, libgcc-s1, ...)
mkdir -p "$work/shlibdeps/debian"
printf 'Source: maggot-zenodo\n\nPackage: maggot-zenodo\nArchitecture: any\n' \
    >"$work/shlibdeps/debian/control"
mapfile -t objects < <(find "$venv" -type f -name '*.so*' | sort)
(cd "$work/shlibdeps" && dpkg-shlibdeps -O -e"${objects[@]}" 2>"$work/shlibdeps.log") |
    sed -n 's/^shlibs:Depends=//p' >"$work/shlibs"
echo "build-venv: maggot-zenodo $version, Python $(cat "$work/pyver"), needs $(cat "$work/shlibs")"
