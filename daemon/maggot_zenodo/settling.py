"""The settle stage: hold a triggered dataset until its files stop changing.

Files copied by rsync or rclone may still be growing when the semaphore appears. One thread
watches every settling dataset at once (a snapshot of sizes, mtimes and inodes each tick), so
200 datasets triggered together settle together instead of one after the other, and no worker
is held while a copy finishes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from maggot_zenodo.logs import get_logger

STATUS_FILE = "META_zenodo.txt"
MAX_FILES = 10_000

log = get_logger("maggot_zenodo.settling")

Snapshot = tuple[tuple[str, int, int, int], ...]


def dataset_files(folder: Path, *, limit: int = MAX_FILES) -> list[Path]:
    """Files of a dataset folder (any depth) that can still be changing.

    The files this tool writes itself (``META_zenodo.txt``, ``*.tmp``) are left out, so a
    write-back never keeps a dataset from settling. Symlinks are not followed.
    """
    found: list[Path] = []
    stack = [folder]
    while stack and len(found) < limit:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.name == STATUS_FILE or entry.name.endswith(".tmp"):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                else:
                    found.append(Path(entry.path))
            except OSError:
                continue
    return found[:limit]


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
        files_of: Callable[[Path], list[Path]] = dataset_files,
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
