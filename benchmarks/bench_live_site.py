"""Depositions created on a live Maggot site (#9): this version against 0.1.0, same site.

The site of ``tests/site/test_live_site.py`` (about thirty datasets: ten old semaphores, four
depositions made beforehand by Maggot's Publish page, NAS snapshot and recycle copies, a folder
the service user cannot write, a read-only bind mount when the machine allows one, then new
semaphores dropped after the start) is built twice, each against a fresh emulator. Each
version runs there as the unprivileged user ``nobody``: the daemon (first run), then
``run --once`` (second run), then ``run --once`` after the journal is deleted. Printed: the
depositions each run created. The baseline is 0.1.0 (commit 33d21cc), checked out with
``git worktree add /tmp/v010 33d21cc`` and run from its source tree on this venv's packages.

    .venv/bin/python benchmarks/bench_live_site.py [--v010 /tmp/v010]   (as root)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from site_support import (
    MAGGOT_DRAFT,
    MAGGOT_PUBLISHED,
    TWIN,
    NobodyDaemon,
    Site,
    build_site,
    drop_requests,
    maggot_publish,
    read_only_mount,
    run_as_nobody,
)
from testkit import Emulator
from testkit.daemon import base_env

QUIET = 4.0  # seconds without a new deposition: the daemon has done what it will do
BOUND = 180.0  # never wait longer than this for one phase


def settle(emulator: Emulator) -> int:
    """Wait until the deposition count has not moved for QUIET seconds; that count."""
    deadline = time.monotonic() + BOUND
    count, since = len(emulator.depositions()), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = len(emulator.depositions())
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= QUIET:
            break
    return count


def for_v010(site: Site) -> None:
    """0.1.0's schema refuses keys it does not know: drop the new ones."""
    data = yaml.safe_load(site.config.read_text(encoding="utf-8"))
    data["storage"].pop("existing", None)
    site.config.write_text(yaml.safe_dump(data), encoding="utf-8")


def created(emulator: Emulator, known: set[int]) -> Counter[str]:
    """The depositions not in ``known``, counted by dataset name (titles: "Test dataset N ...")."""
    return Counter(d["title"].split()[2] for d in emulator.depositions() if d["id"] not in known)


def measure(name: str, env: dict[str, str], work: Path) -> tuple[int, int, int, bool]:
    """The depositions one version creates: first run, second run, after journal loss."""
    emulator = Emulator.spawn(work / "emulator")
    base = Path(tempfile.mkdtemp(prefix=f"maggot-zenodo-bench-{name}-", dir="/tmp"))
    base.chmod(0o755)
    try:
        site = build_site(base, emulator.base_url)
        if name == "0.1.0":
            for_v010(site)
        for rel, publish in ((MAGGOT_DRAFT, False), (MAGGOT_PUBLISHED, True), (TWIN, False)):
            maggot_publish(site, emulator.base_url, rel, publish=publish)
        maggot_publish(site, emulator.base_url, TWIN)
        before = len(emulator.depositions())
        known = {d["id"] for d in emulator.depositions()}
        with read_only_mount(site) as read_only:
            daemon = NobodyDaemon(site.config, base / "daemon.log", env)
            try:
                daemon.wait_log("watcher ready", timeout=60)
                settle(emulator)
                drop_requests(site, read_only)
                first = settle(emulator) - before
            finally:
                daemon.stop()
            print(
                f"{name}, first run, by dataset: {dict(sorted(created(emulator, known).items()))}"
            )
            run_as_nobody("run", "--once", "--config", str(site.config), env=env)
            second = len(emulator.depositions()) - before - first
            for suffix in ("", "-wal", "-shm"):
                Path(f"{base / 'state' / 'state.db'}{suffix}").unlink(missing_ok=True)
            run_as_nobody("run", "--once", "--config", str(site.config), env=env)
            lost = len(emulator.depositions()) - before - first - second
        return first, second, lost, read_only
    finally:
        emulator.stop()
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--v010", type=Path, default=Path("/tmp/v010"))
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench_live_site: skipped, needs root (the daemons run as nobody)")
        return 0  # make bench runs as any user: a skip said plainly, not a failure
    if not (args.v010 / "daemon" / "maggot_zenodo").is_dir():
        print(f"bench_live_site: skipped, no 0.1.0: git worktree add {args.v010} 33d21cc")
        return 0
    old_env = base_env(PYTHONPATH=str(args.v010 / "daemon"))
    with tempfile.TemporaryDirectory() as tmp:
        ours = measure("ours", base_env(), Path(tmp) / "ours")
        theirs = measure("0.1.0", old_env, Path(tmp) / "v010")
    print("depositions created on the live site (first run, second run, after journal loss)")
    for name, (first, second, lost, ro) in (("this version", ours), ("0.1.0", theirs)):
        ro_note = "" if ro else " (no read-only mount here)"
        print(
            f"  {name:12}: {first:3d} + {second:3d} + {lost:3d} = {first + second + lost}{ro_note}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
