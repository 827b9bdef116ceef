"""Wait until a dataset has stopped changing before publishing it.

rsync, rclone or a researcher's copy may still be writing when the semaphore appears; a file
is taken as complete once its size, mtime and inode have not moved for ``settle`` seconds.
The list of files is asked for again each round: the metadata file (which declares them)
may itself still be changing.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path

Signature = tuple[Hashable, ...]


def file_state(path: Path) -> tuple[int, int, int] | None:
    """``(size, mtime_ns, inode)``, or None when the file is missing or unreadable."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def signature(paths_fn: Callable[[], list[Path]]) -> Signature:
    """The state of every file ``paths_fn`` names now. A failing ``paths_fn`` (metadata half
    written) yields its error, which settles too if it stays the same."""
    try:
        paths = paths_fn()
    except Exception as exc:
        return (("error", type(exc).__name__, str(exc)),)
    return tuple(sorted((os.fspath(p), file_state(p)) for p in paths))


def round_interval(settle: float) -> float:
    """How often to look: often enough to end close to ``settle``, at most once a second."""
    return min(1.0, max(0.02, settle / 5))


def wait_until_settled(
    paths: Callable[[], list[Path]], settle: float, stop: threading.Event
) -> bool:
    """Block until the files named by ``paths()`` have been unchanged for ``settle`` seconds.

    Returns True once settled, False as soon as ``stop`` is set.
    """
    if stop.is_set():
        return False
    last = signature(paths)
    if settle <= 0:
        return True
    since = time.monotonic()
    step = round_interval(settle)
    while True:
        remaining = settle - (time.monotonic() - since)
        if stop.wait(max(0.0, min(step, remaining))):
            return False
        current = signature(paths)
        if current != last:
            last, since = current, time.monotonic()
        elif time.monotonic() - since >= settle:
            return True
