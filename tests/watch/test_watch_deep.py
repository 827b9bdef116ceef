"""A folder nested 1000 levels deep never stops the watcher (#15): 0.1.0's inotify placement
recursed through ``os.walk`` and died with RecursionError, at start or while running. Every
walk is now a loop, bounded at ``rules.MAX_DEPTH`` levels, and the deep part is logged once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from testkit.watching import SEM, Recorder, deep_tree, make_dataset, remove_tree, running

from maggot_zenodo.watch.poller import TreeState
from maggot_zenodo.watch.rules import MAX_DEPTH, FolderRule
from maggot_zenodo.watch.scanner import find_semaphores

MODES = ["inotify", "poll"]
LEVELS = 1000


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "storage"
    path.mkdir()
    yield path
    remove_tree(path)  # pytest's own clean-up recurses


def deep_warnings(logs: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in logs if "levels under the storage root" in str(e.get("event"))]


def test_scanner_and_poller_walk_a_1000_deep_tree_to_the_bound_and_log_it_once(
    root: Path,
) -> None:
    deepest = deep_tree(root / "abuse", LEVELS)
    shallow = root / "abuse" / "/".join(["d"] * 10)
    (shallow / SEM).write_text("")
    (deepest / SEM).write_text("")  # 1000 levels down: beyond the bound, never seen
    limit = root / "abuse" / "/".join(["d"] * (MAX_DEPTH - 1))
    (limit / SEM).write_text("")  # exactly MAX_DEPTH levels below the root: still seen
    with structlog.testing.capture_logs() as logs:
        found = list(find_semaphores(root, SEM))
        again = list(find_semaphores(root, SEM))
        state = TreeState(root, SEM)
        polled = state.build()
    assert sorted(found) == sorted([shallow / SEM, limit / SEM]) == sorted(again)
    assert sorted(polled) == sorted(os.fspath(p) for p in found)
    warnings = deep_warnings(logs)
    assert len(warnings) == 1, warnings
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["folder"] == os.path.relpath(limit, root)


@pytest.mark.parametrize("mode", MODES)
def test_watcher_starts_on_a_1000_deep_tree_and_sees_a_dataset_dropped_afterwards(
    root: Path, mode: str
) -> None:
    deep_tree(root / "abuse", LEVELS)
    ds = make_dataset(root / "team" / "ds1")
    rec = Recorder()
    with running(root, mode, rec) as watcher:
        assert watcher.alive()
        if mode == "inotify":
            assert watcher.mode == "inotify"
            # the root, abuse/, d × MAX_DEPTH-1 below it, team/ and team/ds1/
            assert watcher.stats["watches"] == MAX_DEPTH + 3
        (ds / SEM).write_text("")
        assert rec.wait(ds), "a dataset dropped after the deep tree was missed"
        assert watcher.alive()


@pytest.mark.parametrize("how", ["moved in", "made in place"])
def test_inotify_survives_a_1000_deep_tree_created_while_running(
    root: Path, tmp_path: Path, how: str
) -> None:
    ds = make_dataset(root / "team" / "ds1")
    rec = Recorder()
    outside = tmp_path / "outside"
    try:
        with running(root, "inotify", rec) as watcher:
            if how == "moved in":
                deep_tree(outside, LEVELS)
                os.rename(outside / "d", root / "abuse")
            else:
                deep_tree(root / "abuse", LEVELS)
            (ds / SEM).write_text("")
            assert rec.wait(ds), "a dataset dropped after the deep tree was missed"
            assert watcher.alive()
            assert watcher.mode == "inotify"
            assert watcher.stats["fallbacks"] == 0
    finally:
        remove_tree(outside)


def test_folder_rule_depth_is_counted_from_the_root() -> None:
    rule = FolderRule("/srv/data", max_depth=2)
    assert rule.admits("/srv/data")
    assert rule.admits("/srv/data/a/b")
    assert not rule.admits("/srv/data/a/b/c")
    assert not rule.admits("/srv/other/a")
    assert rule.admits_child("/srv/data/a/b")
    with structlog.testing.capture_logs() as logs:
        assert not rule.admits_child("/srv/data/a/b/c")
        assert not rule.admits_child("/srv/data/a/b/c2")
    assert [e["folder"] for e in deep_warnings(logs)] == ["a/b"]
