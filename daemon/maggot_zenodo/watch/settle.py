"""Settle: hold a triggered dataset until its files have stopped changing.

Files copied by rsync or rclone may still be growing when the semaphore appears. A dataset is
taken as complete once the semaphore, its metadata file and the files that metadata declares
have kept their size, mtime and inode for ``storage.settle`` seconds. Only those files count:
a log being written elsewhere in the folder must not hold the dataset back for ever. The list
is asked for again at every look, since the metadata file (which declares them) may itself
still be changing.

One thread watches every settling dataset at once, so 200 datasets triggered together settle
together instead of one after the other, and no worker is held while a copy finishes. That
thread must therefore never block or die on one dataset: the metadata is read without
following links and without waiting on FIFOs (``maggot.read_metadata_bytes``), odd locations
are skipped, and a folder whose check still fails settles as "unchanged", so the publish step
reports its problem in META_zenodo.txt. Each turn of the loop beats a heartbeat, which the
service's watchdog check reads: a wedged thread stops the watchdog pings.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from maggot_zenodo.constants import DEFAULT_SEMAPHORE
from maggot_zenodo.convert.maggot import (
    STATUS_FILE,
    local_resources,
    parse_metadata,
    read_metadata_bytes,
)
from maggot_zenodo.convert.problems import DatasetError
from maggot_zenodo.logs import get_logger

MAX_FILES = 10_000
MAX_METADATA_SIZE = 5_000_000
# The loop beats at least this often while idle; the heartbeat is stale after STALE_AFTER.
IDLE_BEAT = 1.0
STALE_AFTER = 60.0

log = get_logger("maggot_zenodo.watch.settle")

Snapshot = tuple[tuple[str, int, int, int], ...]


def declared_files(
    folder: Path,
    semaphore: str = DEFAULT_SEMAPHORE,
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
        record = parse_metadata(read_metadata_bytes(metas[0], max_metadata_size), metas[0].name)
    except (DatasetError, OSError, ValueError, RecursionError):
        return paths
    for location in local_resources(record)[:limit]:
        relative = usable_location(location)
        if relative is not None:
            paths.append(folder.joinpath(*relative.parts))
    return paths


def usable_location(location: str) -> PurePosixPath | None:
    """``location`` as a relative path to follow, or None when the publish step will refuse
    it anyway (absolute, ``..``, a NUL, or not encodable as a file name)."""
    text = location.strip()
    if "\x00" in text:
        return None
    try:
        os.fsencode(text)
    except UnicodeError:
        return None
    relative = PurePosixPath(text)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return None
    return relative


def snapshot(paths: Iterable[Path]) -> Snapshot:
    """What tells one state of these files from another (absent files count as a state)."""
    items = []
    for path in paths:
        try:
            st = os.lstat(path)
        except (OSError, ValueError):  # ValueError: a name the OS cannot take
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
        self._failing: set[Path] = set()  # folders whose check failed (logged once each)
        self.last_beat = clock()

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

    def healthy(self, stale_after: float = STALE_AFTER) -> bool:
        """Alive and turning: the loop beat within ``stale_after`` seconds (it beats at least
        every IDLE_BEAT s when idle, and between folders when busy)."""
        return self.alive() and self._clock() - self.last_beat < stale_after

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

    def _beat(self) -> None:
        self.last_beat = self._clock()

    def _loop(self) -> None:
        while True:
            self._beat()
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait(IDLE_BEAT)
                    self._beat()
                if self._stopped:
                    return
                folders = list(self._pending)
            ready = []
            for folder in folders:
                if self._check(folder):
                    ready.append(folder)
                self._beat()
            for folder in ready:
                try:
                    self._on_settled(folder)
                except Exception:
                    log.exception(f"{folder}: settled, but could not be queued", folder=str(folder))
            with self._cond:
                if not self._stopped and self._pending:
                    self._cond.wait(self._tick)

    def _look(self, folder: Path) -> Snapshot:
        """The snapshot of ``folder``; when it cannot be taken, a fixed one, so the folder
        settles and the publish step says what is wrong (logged once per folder)."""
        try:
            current = snapshot(self._files_of(folder))
        except Exception as exc:
            if folder not in self._failing:
                self._failing.add(folder)
                log.warning(
                    f"{folder}: cannot check whether the dataset's files changed; "
                    "publishing it as is",
                    folder=str(folder),
                    error=f"{type(exc).__name__}: {exc}"[:300],
                )
            return ((f"unreadable:{type(exc).__name__}", -1, -1, -1),)
        self._failing.discard(folder)
        return current

    def _check(self, folder: Path) -> bool:
        """Take a snapshot of ``folder``; True (and forget it) when it has settled."""
        current = self._look(folder)
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
            self._failing.discard(folder)
            return True
