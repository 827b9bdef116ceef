"""Helpers for the watch tests: a trigger recorder and deadline-based waiting."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from maggot_zenodo.watch import Watcher
from testkit.waiting import wait_for

SEM = "META_datafile_ok.txt"


class Recorder:
    """Collects ``on_trigger`` calls; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[Path, str]] = []

    def __call__(self, folder: Path, reason: str) -> None:
        with self._lock:
            self.calls.append((folder, reason))

    def count(self, folder: Path, reason: str | None = None) -> int:
        with self._lock:
            return sum(1 for f, r in self.calls if f == folder and (reason is None or r == reason))

    def folders(self) -> set[Path]:
        with self._lock:
            return {f for f, _ in self.calls}

    def wait(self, folder: Path, times: int = 1, timeout: float = 10.0) -> bool:
        return wait_for(
            lambda: self.count(folder) >= times,
            timeout,
            f"{times} trigger(s) of {folder}",
            step=0.01,
        )


def make_dataset(folder: Path, semaphore: bool = False, files: int = 2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "META_ds.json").write_text('{"title": "x"}')
    for i in range(files):
        (folder / f"data{i}.csv").write_text("a,b\n1,2\n")
    if semaphore:
        (folder / SEM).write_text("")
    return folder


@contextmanager
def running(
    root: Path,
    mode: str,
    recorder: Recorder,
    *,
    poll_interval: float = 0.05,
    rescan_interval: float = 0,
    exclude: tuple[str, ...] = (),
) -> Iterator[Watcher]:
    watcher = Watcher(root, SEM, mode, poll_interval, rescan_interval, recorder, exclude=exclude)
    watcher.start()
    try:
        assert watcher.wait_ready(30), "watcher never became ready"
        yield watcher
    finally:
        watcher.stop()


def deep_tree(base: Path, levels: int, name: str = "d") -> Path:
    """``base/d/d/.../d`` ``levels`` deep, made one mkdir at a time (``os.makedirs`` recurses);
    returns the deepest folder."""
    path = os.fspath(base)
    os.makedirs(path, exist_ok=True)
    for _ in range(levels):
        path = os.path.join(path, name)
        os.mkdir(path)
    return Path(path)


def remove_tree(top: Path) -> None:
    """Remove ``top`` and everything below without recursion (``shutil.rmtree`` recurses in
    Python 3.11 and fails on a 1000-deep tree)."""
    if not top.exists():
        return
    stack = [(os.fspath(top), False)]
    while stack:
        folder, listed = stack.pop()
        if listed:
            os.rmdir(folder)
            continue
        stack.append((folder, True))
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, False))
                else:
                    os.unlink(entry.path)
