"""Settle: hold a triggered dataset until its files have stopped changing.

Files copied by rsync or rclone may still be growing when the semaphore appears. A dataset is
taken as complete once the semaphore, its metadata file and the files that metadata declares
have kept their size, mtime and inode for ``storage.settle`` seconds. Only those files count:
a log being written elsewhere in the folder must not hold the dataset back for ever. The list
is asked for again at every look, since the metadata file (which declares them) may itself
still be changing.

One thread watches every settling dataset at once, so 200 datasets triggered together settle
together instead of one after the other, and no worker is held while a copy finishes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from maggot_zenodo.logs import get_logger
from maggot_zenodo.maggot import STATUS_FILE, local_resources

MAX_FILES = 10_000
MAX_METADATA_SIZE = 5_000_000

log = get_logger("maggot_zenodo.watch.settle")

Snapshot = tuple[tuple[str, int, int, int], ...]


def declared_files(
    folder: Path,
    semaphore: str = "META_datafile_ok.txt",
    *,
    max_metadata_size: int = MAX_METADATA_SIZE,
    limit: int = MAX_FILES,
) -> list[Path]:
    """The files whose changes hold ``folder`` back: the semaphore, every ``META_*.json``,
    and the local files the metadata declares (when there is exactly one readable one).

    A half-written or invalid metadata file simply declares nothing yet: its own changes keep
    the dataset settling. A location that leaves the folder is ignored here (the publish step
    refuses it with a message).
    """
    paths = [folder / semaphore]
    try:
        with os.scandir(folder) as entries:
            metas = sorted(
                Path(e.path)
                for e in entries
                if e.name.startswith("META_") and e.name.endswith(".json") and e.name != STATUS_FILE
            )
    except OSError:
        return paths
    paths += metas
    if len(metas) != 1:
        return paths
    try:
        if os.lstat(metas[0]).st_size > max_metadata_size:
            return paths
        record = json.loads(metas[0].read_bytes())
    except (OSError, ValueError, RecursionError):
        return paths
    for location in local_resources(record)[:limit]:
        relative = PurePosixPath(location.strip())
        if relative.is_absolute() or ".." in relative.parts:
            continue
        paths.append(folder.joinpath(*relative.parts))
    return paths


def snapshot(paths: Iterable[Path]) -> Snapshot:
    """What tells one state of these files from another (absent files count as a state)."""
    items = []
    for path in paths:
        try:
            st = os.lstat(path)
        except OSError:
            items.append((str(path), -1, -1, -1))
            continue
        items.append((str(path), st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(sorted(items))


class Settler:
    """Calls ``on_settled(folder)`` once a folder's files have not changed for ``settle`` s."""

    def __init__(
        self,
        settle: float,
        on_settled: Callable[[Path], None],
        *,
        files_of: Callable[[Path], list[Path]] = declared_files,
        tick: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settle = settle
        self._on_settled = on_settled
        self._files_of = files_of
        self._tick = tick if tick is not None else min(0.5, max(0.05, settle / 5))
        self._clock = clock
        self._cond = threading.Condition()
        self._pending: dict[Path, tuple[Snapshot | None, float]] = {}
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="maggot-zenodo-settle", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopped = True
            self._pending.clear()
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add(self, folder: Path) -> None:
        """Start (or restart) the settle period of ``folder``; never blocks for long."""
        with self._cond:
            if self._stopped:
                return
            self._pending[folder] = (None, self._clock())
            self._cond.notify_all()

    def count(self) -> int:
        with self._cond:
            return len(self._pending)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                folders = list(self._pending)
            ready = [folder for folder in folders if self._check(folder)]
            for folder in ready:
                try:
                    self._on_settled(folder)
                except Exception:
                    log.exception("settled dataset could not be queued", dataset=str(folder))
            with self._cond:
                if not self._stopped and self._pending:
                    self._cond.wait(self._tick)

    def _check(self, folder: Path) -> bool:
        """Take a snapshot of ``folder``; True (and forget it) when it has settled."""
        current = snapshot(self._files_of(folder))
        now = self._clock()
        with self._cond:
            entry = self._pending.get(folder)
            if entry is None:
                return False
            previous, since = entry
            if previous != current:
                if previous is not None:
                    since = now  # something changed: the settle period starts again
                self._pending[folder] = (current, since)
                if previous is not None or self.settle > 0:
                    return False  # a second look is needed to know nothing changes
            if now - since < self.settle:
                return False
            del self._pending[folder]
            return True
