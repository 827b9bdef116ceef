#!/usr/bin/env bash
# `make e2e`: the end-to-end test under a real systemd (tests/e2e_systemd/test_systemd_e2e.py),
# on Debian trixie by default (MAGGOT_E2E_RELEASE=bookworm, or MAGGOT_E2E_RELEASES="trixie bookworm").
#
# Root only. Prints SKIP and exits 0 when not root or when this host cannot boot a container;
# set MAGGOT_E2E_REQUIRED=1 (CI) to turn those skips into failures. Installs systemd-container
# and debootstrap when missing. Everything it starts (container, emulator) is stopped by the
# test's fixtures, and the machine file in /run/systemd/machines removed, even on failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
python=${PYTHON:-.venv/bin/python}

skip() {
    echo "SKIP e2e: $*"
    if [ "${MAGGOT_E2E_REQUIRED:-0}" = 1 ]; then exit 1; fi
    exit 0
}

[ "$(id -u)" = 0 ] || skip "needs root (systemd-nspawn, debootstrap)"
missing=()
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    echo "e2e: installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
        >/dev/null || skip "cannot install ${missing[*]}"
fi
# nspawn needs a cgroup2 hierarchy it may write to, and a /run/systemd for the machine file.
[ -w /sys/fs/cgroup ] || skip "/sys/fs/cgroup is not writable: cannot boot a container here"
mkdir -p /run/systemd/machines || skip "cannot create /run/systemd/machines"

# One release after the other (MAGGOT_E2E_RELEASES="trixie bookworm"), each in its own
# container with the package built for it; MAGGOT_E2E_RELEASE picks one (default trixie).
releases=${MAGGOT_E2E_RELEASES:-${MAGGOT_E2E_RELEASE:-trixie}}
rc=0
summary=()
for release in $releases; do
    start=$(date +%s)
    # --timeout: the first test's setup builds the package and, on a new machine, debootstraps
    # two Debian trees (over 5 min on 2 busy cores): the suite's 300 s per test is too short.
    MAGGOT_E2E=1 MAGGOT_E2E_RELEASE=$release "$python" -m pytest -p no:cacheprovider -m systemd \
        -o addopts="" --timeout 1800 -rA -v -s tests/e2e_systemd/test_systemd_e2e.py "$@"
    one=$?
    summary+=("e2e $release: $(( $(date +%s) - start )) s, pytest exit code $one")
    [ $one = 0 ] || rc=$one
    if [ $one = 0 ] && [ -e "e2e-run/$release/SKIPPED" ]; then
        skip "$(cat "e2e-run/$release/SKIPPED")"
    fi
done
printf '%s\n' "${summary[@]}"
exit $rc
