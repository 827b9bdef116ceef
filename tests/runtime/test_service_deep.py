"""A real daemon on a storage space holding a folder 1000 levels deep (#15). On 0.1.0 it exited 1
at start (RecursionError while placing watches), or, with the tree made while it ran, its inotify
thread died and a dataset dropped afterwards was never published."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit import Emulator, wait_for
from testkit.daemon import DaemonProcess, drop_semaphore, make_dataset, status_file, write_config
from testkit.watching import deep_tree, remove_tree

LEVELS = 1000


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "storage"
    root.mkdir()
    yield root
    remove_tree(root)  # pytest's own clean-up recurses


@pytest.mark.parametrize("when", ["before the start", "while running"])
def test_a_1000_deep_folder_does_not_stop_the_daemon(
    tmp_path: Path, emulator: Emulator, storage: Path, when: str
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    if when == "before the start":
        deep_tree(storage / "abuse", LEVELS)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready", mode="inotify")
        if when == "while running":
            deep_tree(storage / "abuse", LEVELS)
        ds = make_dataset(storage, "team/ds1")
        drop_semaphore(ds)
        wait_for(
            lambda: (status_file(ds) or {}).get("status") == "draft",
            30,
            "the dataset dropped after the deep tree to be published",
        )
        assert daemon.proc.poll() is None
        log = daemon.log_path.read_text(errors="replace")
        assert "Traceback" not in log and "RecursionError" not in log
        warnings = [r for r in daemon.records() if "levels under the storage root" in r["event"]]
        assert len(warnings) == 1, warnings
        assert [d["title"] for d in emulator.depositions()] == [
            "Test dataset ds1 for the daemon runtime"
        ]
    finally:
        daemon.signal(signal.SIGTERM)
        assert daemon.stop() == 0
    assert os.path.isdir(storage / "abuse")
