"""NAS snapshots, recycle bins and system folders are never looked into (#9 §3): 0.1.0 made a
deposition for each `#snapshot`/`#recycle` copy of a dataset. The scanner, the poller and inotify
apply one rule (``FolderRule``), with the site's ``storage.exclude`` globs added."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from testkit import wait_for
from testkit.watching import SEM, Recorder, make_dataset, running

from maggot_zenodo.watch.poller import TreeState
from maggot_zenodo.watch.rules import BUILTIN_EXCLUDES, FolderRule
from maggot_zenodo.watch.scanner import find_semaphores

SNAPSHOT_COPIES = [
    "#snapshot/daily-1/team/ds1",
    "#recycle/team/ds1",
    "@eaDir/ds1",
    ".snapshot/hourly.0/team/ds1",
    "~snapshot/ds1",
    ".zfs/snapshot/s1/team/ds1",
    "@Recycle/ds1",
    ".@__thumb/ds1",
    ".recycle/ds1",
    "$RECYCLE.BIN/S-1-5/ds1",
    "System Volume Information/ds1",
    ".Trash-1000/files/ds1",
    "lost+found/#1234",
    "team/#snapshot/ds1",  # at any level, not only under the root
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "storage"
    path.mkdir()
    return path


def populate(root: Path) -> Path:
    """A real dataset and its copies in every snapshot and recycle folder."""
    for rel in SNAPSHOT_COPIES:
        make_dataset(root / rel, semaphore=True)
    make_dataset(root / "archive" / "old-2019" / "ds", semaphore=True)
    make_dataset(root / "scratch.tmp" / "ds", semaphore=True)
    return make_dataset(root / "team" / "ds1", semaphore=True)


def test_rule_matches_builtin_names_name_globs_and_relative_path_globs() -> None:
    rule = FolderRule("/srv", ("*.tmp", "archive/old-*"))
    assert len(BUILTIN_EXCLUDES) == 13
    for rel in SNAPSHOT_COPIES:
        assert not rule.admits(f"/srv/{rel}"), rel
    assert not rule.admits("/srv/a/b/scratch.tmp/ds")
    assert not rule.admits("/srv/archive/old-2019/ds")
    assert rule.admits("/srv/other/archive/old-2019")  # a path glob is relative to the root
    assert rule.admits("/srv/team/ds1")
    assert rule.admits("/srv/team/snapshot-notes")  # only the exact names (and .Trash-*)
    assert not rule.admits_child("/srv/team/.Trash-0")
    assert rule.admits_child("/srv/team/ds1")


def test_scan_and_poll_ignore_semaphores_inside_excluded_folders(root: Path) -> None:
    real = populate(root)
    rule = FolderRule(os.fspath(root), ("*.tmp", "archive/old-*"))
    assert list(find_semaphores(root, SEM, rule)) == [real / SEM]
    state = TreeState(root, SEM, rule=rule)
    assert state.build() == [os.fspath(real / SEM)]
    assert not [d for d in state.dirs if "snapshot" in d or "recycle" in d.lower()]
    copy = root / "#snapshot" / "daily-2" / "ds1"
    make_dataset(copy, semaphore=True)  # a snapshot taken while polling
    time.sleep(0.01)
    assert state.cycle() == []


@pytest.mark.parametrize("mode", ["inotify", "poll"])
def test_watcher_ignores_snapshot_copies_at_start_and_while_running(root: Path, mode: str) -> None:
    real = populate(root)
    rec = Recorder()
    with running(root, mode, rec, exclude=("*.tmp", "archive/old-*")) as watcher:
        assert rec.wait(real)
        if mode == "inotify":
            # root, team, team/ds1, archive (its old-* child is excluded): no watch inside
            # any excluded folder
            assert watcher.stats["watches"] == 4
        make_dataset(root / "#snapshot" / "daily-2" / "team" / "ds1", semaphore=True)
        make_dataset(root / "#recycle" / "ds2", semaphore=True)
        moved = make_dataset(root.parent / "elsewhere" / "ds3", semaphore=True)
        os.rename(moved, root / "team" / "@eaDir")  # a snapshot folder arriving by a move
        new = make_dataset(root / "team" / "ds4")
        (new / SEM).write_text("")
        assert rec.wait(new)
        time.sleep(0.3)  # give any wrong trigger time to arrive
        assert rec.folders() == {real, new}
        assert wait_for(watcher.alive, 1)
