"""Helpers for the "live site" test (#9): the daemon as an unprivileged service user.

The interpreter lives under root's home, which another user may not enter, so a root process
imports everything the daemon will need, then drops to ``nobody`` for good before ``main()``:
from then on every file access is the service user's, as under systemd's ``User=``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service_support import TOKEN, DaemonProcess, base_env, make_dataset, write_config

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
os.setgid(%(id)d)
os.setuid(%(id)d)
assert os.geteuid() == %(id)d and os.getegid() == %(id)d and not os.getgroups()
sys.exit(cli.main(sys.argv[1:]))
""" % {"id": NOBODY}


def nobody_command(*args: str) -> list[str]:
    """``maggot-zenodo ARGS`` run as the unprivileged user ``nobody``."""
    return [sys.executable, "-c", AS_NOBODY, *args]


def run_as_nobody(*args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        nobody_command(*args),
        capture_output=True,
        text=True,
        env=base_env(),
        timeout=timeout,
        check=False,
        cwd="/",
    )


def nobody_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """``maggot-zenodo run`` as ``nobody``, logging JSON lines to ``log`` (opened by root)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            nobody_command("run", "--config", str(config)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=base_env(),
            cwd="/",
        )


class NobodyDaemon(DaemonProcess):
    """``maggot-zenodo run`` as ``nobody``; the log helpers of :class:`DaemonProcess`."""

    def __init__(self, config: Path, log: Path) -> None:  # noqa: D107 - same as the parent's
        self.log_path = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            nobody_command("run", "--config", str(config)),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            env=base_env(),
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
