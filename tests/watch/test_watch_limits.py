"""Kernel limits: a lost-event overflow leads to a rescan; the watch limit to polling.

Both tests lower a kernel limit for a moment (root only) and restore it in ``finally``;
the window is kept short because the limits are shared with every process of the user.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from testkit import wait_for
from testkit.watching import SEM, Recorder, make_dataset

from maggot_zenodo.watch import Watcher

INOTIFY = Path("/proc/sys/fs/inotify")


@contextlib.contextmanager
def sysctl(name: str, value: int) -> Iterator[int]:
    """Set /proc/sys/fs/inotify/<name> to ``value``, restoring the old value afterwards."""
    path = INOTIFY / name
    try:
        old = path.read_text().strip()
        path.write_text(f"{value}\n")
    except OSError as exc:
        pytest.skip(f"cannot change {path} ({exc.strerror}): needs root and a writable /proc/sys")
    try:
        yield int(old)
    finally:
        path.write_text(f"{old}\n")


def watches_in_use() -> int:
    """inotify watches held right now by every process we can see (all run as our user)."""
    total = 0
    for fdinfo in Path("/proc").glob("[0-9]*/fdinfo/*"):
        try:
            total += fdinfo.read_text().count("inotify wd:")
        except OSError:
            continue
    return total


@pytest.mark.serial  # lowers a system-wide inotify limit: nothing else may run meanwhile
def test_queue_overflow_triggers_a_rescan_and_nothing_is_missed(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    flood = make_dataset(root / "team1" / "flood")
    ds = make_dataset(root / "team1" / "ds1")
    rec = Recorder()
    watcher = Watcher(root, SEM, "inotify", 1, 0, rec)
    try:
        # The queue size is fixed when the inotify instance is created, at start.
        with sysctl("max_queued_events", 8):
            watcher.start()
            assert watcher.wait_ready(10)
        assert watcher.stats["rescans"] == 1  # the start-up scan
        # Whether the kernel queue of 8 events overflows depends on how the reader thread is
        # scheduled: flood in rounds (bounded) until it has.
        for round_ in range(10):
            for i in range(3000):
                (flood / f"f{round_}-{i}").write_bytes(b"")
                if round_ == 0 and i == 1500:
                    (ds / SEM).write_text("")
            if wait_for(lambda: watcher.stats["overflows"] >= 1, 3, fail=False):
                break
        assert watcher.stats["overflows"] >= 1, "no overflow was provoked"
        assert wait_for(lambda: watcher.stats["rescans"] >= 2, 15), "no rescan after overflow"
        assert rec.wait(ds)
        assert wait_for(watcher.alive, 10)
        # still watching after the overflow
        ds2 = make_dataset(root / "team1" / "ds2")
        (ds2 / SEM).write_text("")
        assert rec.wait(ds2)
    finally:
        watcher.stop()


@pytest.mark.serial  # lowers a system-wide inotify limit: nothing else may run meanwhile
def test_watch_limit_falls_back_to_polling_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    for i in range(80):
        make_dataset(root / f"team{i % 4}" / f"ds{i}", files=0)
    old_ds = make_dataset(root / "team0" / "ds-old", semaphore=True)
    rec = Recorder()
    watcher = Watcher(root, SEM, "inotify", 0.05, 0, rec)
    try:
        limit = watches_in_use() + 20
        with structlog.testing.capture_logs() as logs, sysctl("max_user_watches", limit):
            watcher.start()
            assert watcher.wait_ready(20)
        assert watcher.mode == "poll"
        assert watcher.stats["fallbacks"] == 1
        errors = [e for e in logs if e["log_level"] == "error"]
        assert errors, logs
        assert "fs.inotify.max_user_watches" in errors[0]["event"]
        assert "polling" in errors[0]["event"]
        assert rec.wait(old_ds)  # the poller's first walk reports what exists
        assert watcher.alive()
        ds = make_dataset(root / "team3" / "ds-new")
        (ds / SEM).write_text("")
        assert rec.wait(ds), "a semaphore was missed after the fall-back"
    finally:
        watcher.stop()
