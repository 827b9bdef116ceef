"""Helpers for the "live site" test (#9): the daemon as an unprivileged service user.

The interpreter lives under root's home, which another user may not enter, so a root process
imports everything the daemon will need, then drops to ``nobody`` for good before ``main()``:
from then on every file access is the service user's, as under systemd's ``User=``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit import TOKEN
from testkit.daemon import DaemonProcess, base_env, drop_semaphore, make_dataset, write_config

from maggot_zenodo.config import load_config
from maggot_zenodo.publish.prepare import load_site, prepare
from maggot_zenodo.zenodo.client import ZenodoClient

NOBODY = 65534

AS_NOBODY = """
import importlib, os, pkgutil, sys
import maggot_zenodo
skip = ("maggot_zenodo.emulator", "maggot_zenodo.demo", "maggot_zenodo.__main__")
for info in pkgutil.walk_packages(maggot_zenodo.__path__, "maggot_zenodo."):
    if not info.name.startswith(skip):
        importlib.import_module(info.name)
import codecs, requests, urllib3, yaml, structlog, sqlite3, json, email.parser
for name in ("utf-8-sig", "utf-16", "utf-32", "latin-1", "ascii", "cp1252", "idna"):
    codecs.lookup(name)
import maggot_zenodo.cli as cli
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
assert os.geteuid() == 65534 and os.getegid() == 65534 and not os.getgroups()
sys.exit(cli.main(sys.argv[1:]))
"""  # 65534: NOBODY


def nobody_command(*args: str) -> list[str]:
    """``maggot-zenodo ARGS`` run as the unprivileged user ``nobody``."""
    return [sys.executable, "-c", AS_NOBODY, *args]


def run_as_nobody(
    *args: str, timeout: float = 180.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        nobody_command(*args),
        capture_output=True,
        text=True,
        env=env or base_env(),
        timeout=timeout,
        check=False,
        cwd="/",
    )


class NobodyDaemon(DaemonProcess):
    """``maggot-zenodo run`` as ``nobody``; the log helpers of :class:`DaemonProcess`."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            nobody_command("run", "--config", str(config)),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            env=env or base_env(),
            cwd="/",
        )

    def find_matching(self, text: str) -> list[dict[str, Any]]:
        """The records whose message contains ``text`` (messages name their dataset)."""
        return [r for r in self.records() if text in str(r.get("event", ""))]


# -- the site --------------------------------------------------------------------------------

OLD = [f"2019/Old{i}" for i in range(10)]  # semaphores from before the first start
NEW = [f"2024/New{i}" for i in range(8)]  # semaphores dropped after the start
UNREQUESTED = ["2024/Draft0", "2024/Draft1"]  # no semaphore ever
MAGGOT_DRAFT = "2023/MaggotDraft"  # a draft Maggot's Publish page made
MAGGOT_PUBLISHED = "2023/MaggotPublished"  # a record Maggot's Publish page made and published
TWIN = "2023/Twin"  # two depositions with its title and creators
UNWRITABLE = "2024/Unwritable"  # root's folder: the service user cannot write into it
READ_ONLY = "2024/ReadOnly"  # a read-only bind mount
#: NAS copies of dataset folders, semaphores included: never looked into.
COPIES = [
    "#snapshot/daily-2024-11-30/2019/Old0",
    "#snapshot/daily-2024-11-30/2024/New0",
    "#recycle/2019/Old1",
    "@eaDir/2024/New1",
    "2024/New2/.snapshot/hourly.0",
]
LATE_COPIES = ["#snapshot/daily-2024-12-01/2024/New3", "#recycle/2024/New4"]


@dataclass(frozen=True)
class Site:
    base: Path  # holds storage/, state/, config.yaml; reachable by nobody
    storage: Path
    config: Path
    rosource: Path  # the folder bind-mounted read-only on storage/READ_ONLY

    def folder(self, rel: str) -> Path:
        return self.storage / rel


def build_site(base: Path, url: str) -> Site:
    """The storage space as found on a live Maggot site, before the daemon's first start:
    old semaphores, unrequested datasets, NAS copies, a root-owned folder; and a config."""
    storage = base / "storage"
    storage.mkdir()
    config = write_config(
        base,
        url,
        **{"storage.existing": "ignore", "zenodo.rate_limit": 100000, "workers": 2},
    )
    for rel in OLD:
        make_dataset(storage, rel, semaphore=True)
    for rel in [*NEW, *UNREQUESTED, MAGGOT_DRAFT, MAGGOT_PUBLISHED, TWIN, UNWRITABLE]:
        make_dataset(storage, rel)
    for rel in COPIES:
        make_dataset(storage, rel, semaphore=True)
    (storage / READ_ONLY).mkdir(parents=True)
    rosource = base / "rosource"
    make_dataset(rosource, Path(READ_ONLY).name)
    (base / "state").mkdir()
    for path in [base / "state", rosource, *rosource.rglob("*"), storage, *storage.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    for path in [storage / UNWRITABLE, *(storage / UNWRITABLE).iterdir()]:
        os.chown(path, 0, 0)  # root's, mode 755/644: readable, not writable, by the service
    config.chmod(0o644)
    return Site(base, storage, config, rosource / Path(READ_ONLY).name)


def maggot_metadata(site: Site, rel: str) -> dict[str, Any]:
    """The dataset's converted metadata: what Maggot's Publish page sends to Zenodo."""
    config = load_config(site.config)
    return dict(prepare(config, load_site(config), site.folder(rel), with_files=False).metadata)


def maggot_publish(site: Site, url: str, rel: str, *, publish: bool = False) -> int:
    """A deposition made for ``rel`` as Maggot's Publish page makes it; its id."""
    client = ZenodoClient(url, TOKEN, rate_limit=100000)
    try:
        dep = client.create(maggot_metadata(site, rel))
        if publish:
            meta = site.folder(rel) / f"META_{Path(rel).name}.json"
            client.upload(client.get(dep.id).bucket, meta, meta.name)
            client.publish(dep.id)
        return dep.id
    finally:
        client.close()


@contextlib.contextmanager
def read_only_mount(site: Site) -> Iterator[bool]:
    """READ_ONLY bind-mounted read-only from ``site.rosource`` (whose writable side lets the
    test drop the semaphore); False when this machine refuses the mount. Always undone."""
    target = site.folder(READ_ONLY)
    bound = subprocess.run(["mount", "--bind", str(site.rosource), str(target)], check=False)
    if bound.returncode != 0:
        yield False
        return
    try:
        ro = subprocess.run(["mount", "-o", "remount,ro,bind", str(target)], check=False)
        yield ro.returncode == 0
    finally:
        subprocess.run(["umount", str(target)], check=False)


#: The datasets whose semaphore is dropped after the daemon started (READ_ONLY's aside).
REQUESTED = [OLD[0], *NEW, MAGGOT_DRAFT, MAGGOT_PUBLISHED, TWIN, UNWRITABLE]


def drop_requests(site: Site, read_only: bool) -> None:
    """What happens on the site after the start: new snapshots appear, researchers ask."""
    for rel in LATE_COPIES:
        make_dataset(site.storage, rel, semaphore=True)
    for rel in REQUESTED:
        drop_semaphore(site.folder(rel))
    if read_only:
        drop_semaphore(site.rosource)  # through the writable side of the bind mount
