"""The soak: 50 datasets, a faulty emulator, the real daemon, and minutes of a seeded random
mix of kill -9 and restart, folder renames, semaphore touches and file changes. Then faults
off, one last touch of everything, and the promises checked: exactly one deposition per
dataset, every md5 exact, every status file a draft naming its deposition, no token anywhere.

``MAGGOT_SOAK_SECONDS`` sets the length of the mix (default 180), ``MAGGOT_SOAK_SEED`` the seed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from testkit import TOKEN, Emulator
from testkit.daemon import DaemonProcess, status_file, write_config

from maggot_zenodo.emulator.faults import KINDS

SEMAPHORE = "META_datafile_ok.txt"
DATASETS = 50
SOAK_SECONDS = float(os.environ.get("MAGGOT_SOAK_SECONDS", "180"))
SEED = int(os.environ.get("MAGGOT_SOAK_SEED", "15"))
FAULT_RATE = 0.12
DRAIN_SECONDS = 420.0  # faults off: every dataset must be done within this


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 - Zenodo's checksum


def write_dataset(folder: Path, number: int, files: list[str], rng: random.Random) -> None:
    """A Maggot dataset whose title does not depend on its folder's name (it gets renamed)."""
    folder.mkdir(parents=True)
    record = {
        "profile": "https://pmb-bordeaux.fr/maggot/conf/pgd-mmdt-schema.json",
        "title": f"soak{number:02d}",
        "fulltitle": f"Soak dataset number {number:02d} of the hostile trial",
        "description": "A dataset of the soak test: renamed, touched and changed at random.",
        "license": "cc-by-4.0",
        "depositor": "Dupont Marie",
        "authors": ["Dupont Marie", "Martin Paul"],
        "contacts": ["Dupont Marie"],
        "keywords": ["soak"],
        "language": ["English"],
        "kindOfData": ["Dataset"],
        "subject": ["Computer and Information Science"],
        "access_rights": "Public",
        "resources": [
            {"datatype": "Other", "media": "application/octet-stream", "description": name,
             "location": name}
            for name in files
        ],
    }  # fmt: skip
    (folder / f"META_soak{number:02d}.json").write_text(json.dumps(record), encoding="utf-8")
    for name in files:
        (folder / name).write_bytes(rng.randbytes(rng.randrange(1_000, 200_000)))


@dataclass
class Storage:
    """The storage root and where each dataset's folder is now (renames move them)."""

    root: Path
    rng: random.Random
    folders: dict[int, Path] = field(default_factory=dict)
    files: dict[int, list[str]] = field(default_factory=dict)
    renames: int = 0

    def populate(self) -> None:
        for n in range(DATASETS):
            names = [f"part{i}.bin" for i in range(self.rng.choice([1, 1, 2, 3, 4]))]
            self.folders[n] = self.root / f"ds{n:02d}"
            self.files[n] = names
            write_dataset(self.folders[n], n, names, self.rng)

    def touch(self, n: int) -> None:
        sem = self.folders[n] / SEMAPHORE
        sem.touch()
        os.utime(sem)

    def change(self, n: int) -> None:
        name = self.rng.choice(self.files[n])
        (self.folders[n] / name).write_bytes(self.rng.randbytes(self.rng.randrange(1_000, 200_000)))

    def rename(self, n: int) -> None:
        """Rename the folder in place, or move it into (or out of) a group folder."""
        self.renames += 1
        group = self.rng.choice([None, "groupA", "groupB"])
        parent = self.root / group if group else self.root
        parent.mkdir(exist_ok=True)
        target = parent / f"ds{n:02d}-r{self.renames}"
        self.folders[n].rename(target)
        self.folders[n] = target


class Daemon:
    """The daemon subprocess, killed with SIGKILL and started again; one log per life."""

    def __init__(self, config: Path, logs: Path) -> None:
        self.config = config
        self.logs = logs
        self.lives: list[DaemonProcess] = []
        self.kills = 0
        self.start()

    def start(self) -> None:
        log = self.logs / f"daemon-{len(self.lives):03d}.log"
        self.lives.append(DaemonProcess(self.config, log))

    @property
    def current(self) -> DaemonProcess:
        return self.lives[-1]

    def kill_and_restart(self, pause: float) -> None:
        proc = self.current.proc
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            self.kills += 1
        proc.wait(10)
        self.current._log.close()
        time.sleep(pause)
        self.start()

    def alive(self) -> None:
        """Fail with the log's tail if the daemon died on its own."""
        life = self.current
        if life.proc.poll() is not None:
            tail = life.log_path.read_text(errors="replace")[-3000:]
            raise AssertionError(f"the daemon exited by itself ({life.proc.returncode}):\n{tail}")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator.spawn(tmp_path / "emulator")
    yield emu
    emu.stop()


def mix(storage: Storage, daemon: Daemon, rng: random.Random) -> Counter[str]:
    """The random mix, for SOAK_SECONDS; returns how many of each action it did."""
    done: Counter[str] = Counter()
    end = time.monotonic() + SOAK_SECONDS
    while time.monotonic() < end:
        time.sleep(rng.uniform(0.05, 0.6))
        daemon.alive()
        roll = rng.random()
        n = rng.randrange(DATASETS)
        if roll < 0.04:
            daemon.kill_and_restart(rng.uniform(0.0, 1.5))
            done["kills"] += 1
        elif roll < 0.24:
            storage.rename(n)
            done["renames"] += 1
        elif roll < 0.64:
            storage.touch(n)
            done["touches"] += 1
        else:
            storage.change(n)
            done["changes"] += 1
    return done


def finished(storage: Storage, since: float) -> list[int]:
    """The datasets not yet done: a draft status file written after the last touch."""
    waiting = []
    for n, folder in storage.folders.items():
        status = status_file(folder) or {}
        path = folder / "META_zenodo.txt"
        fresh = path.exists() and path.stat().st_mtime > since
        if not (fresh and status.get("status") == "draft"):
            waiting.append(n)
    return waiting


def drain(storage: Storage, daemon: Daemon) -> None:
    since = time.time()
    time.sleep(0.05)
    for n in storage.folders:
        storage.touch(n)
    deadline = time.monotonic() + DRAIN_SECONDS
    waiting = finished(storage, since)
    while waiting and time.monotonic() < deadline:
        daemon.alive()
        time.sleep(1.0)
        waiting = finished(storage, since)
    details = {n: status_file(storage.folders[n]) for n in waiting[:5]}
    assert not waiting, f"{len(waiting)} datasets never finished: {details}"


def check_exactly_once(storage: Storage, emulator: Emulator) -> int:
    deps = emulator.depositions()
    by_id = {str(d["id"]): d for d in deps}
    titles = Counter(d["metadata"]["title"] for d in deps)
    dupes = {t: c for t, c in titles.items() if c > 1}
    assert not dupes, f"duplicated depositions: {dupes}"
    assert len(deps) == DATASETS, f"{len(deps)} depositions for {DATASETS} datasets"
    for n, folder in storage.folders.items():
        status = status_file(folder) or {}
        assert status.get("status") == "draft", (folder, status)
        dep = by_id.get(str(status.get("deposition_id")))
        assert dep is not None, f"{folder}: status names no deposition on the server: {status}"
        assert f"number {n:02d} " in dep["metadata"]["title"], (folder, dep["metadata"]["title"])
        held = {f["filename"]: f["checksum"].removeprefix("md5:") for f in dep["files"]}
        local = {name: md5_of(folder / name) for name in storage.files[n]}
        for name, digest in local.items():
            assert held.get(name) == digest, f"{folder}/{name}: {held.get(name)} != {digest}"
        assert set(held) - set(local) <= {f"META_soak{n:02d}.json"}, (folder, sorted(held))
    return len(deps)


def check_no_token(tmp_path: Path, storage: Storage) -> None:
    """Logs, status files, the journal, the lease: every file the daemon wrote."""
    places = (tmp_path / "logs", storage.root, tmp_path / "state")
    texts = [p for place in places for p in place.rglob("*") if p.is_file()]
    assert len(texts) > DATASETS * 2
    for path in texts:
        assert TOKEN.encode() not in path.read_bytes(), f"the token leaked into {path}"


@pytest.mark.slow
def test_soak_fifty_datasets_under_faults_kills_renames_and_touches(
    tmp_path: Path, emulator: Emulator
) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()
    config = write_config(
        tmp_path, emulator.base_url, workers=2, shutdown_timeout=2, **{"zenodo.rate_limit": 100000}
    )
    storage = Storage(tmp_path / "storage", rng)
    storage.populate()
    for n in storage.folders:
        storage.touch(n)
    emulator.set_faults(
        {"rate": FAULT_RATE, "kinds": list(KINDS), "seed": SEED, "delay": [0.05, 0.4]}
    )
    (tmp_path / "logs").mkdir()
    daemon = Daemon(config, tmp_path / "logs")
    try:
        done = mix(storage, daemon, rng)
        injected = emulator.state()["faults"]["injected"]
        emulator.set_faults({"rate": 0})
        drain(storage, daemon)
    finally:
        daemon.current.stop()
    count = check_exactly_once(storage, emulator)
    check_no_token(tmp_path, storage)
    print(
        f"\nsoak: datasets={DATASETS} kills={daemon.kills} renames={done['renames']} "
        f"touches={done['touches']} changes={done['changes']} "
        f"faults={sum(injected.values())} {dict(sorted(injected.items()))} "
        f"depositions={count} duration={time.monotonic() - started:.0f}s seed={SEED}"
    )
