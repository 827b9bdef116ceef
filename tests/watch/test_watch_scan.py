"""The reconciliation scanner and the poller's tree state, on real folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from testkit.watching import SEM, make_dataset

from maggot_zenodo.watch import find_semaphores
from maggot_zenodo.watch.poller import TreeState

OLD_NS = 1_600_000_000 * 10**9  # 2020: folders no longer "recent"


def age(root: Path) -> None:
    """Give every folder an old mtime, as on a long-lived storage space."""
    for folder, _dirs, _files in os.walk(root):
        os.utime(folder, ns=(OLD_NS, OLD_NS))


def test_find_semaphores_any_depth_symlinked_semaphore_reported_links_not_followed(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    a = make_dataset(root / "team1" / "ds1", semaphore=True)
    b = make_dataset(root / "t" / "u" / "v" / "w" / "x" / "ds2", semaphore=True)
    make_dataset(root / "team1" / "ds3")  # no semaphore
    link_ds = make_dataset(root / "team2" / "ds4")
    # a symlinked semaphore is reported (never followed), so the publish step refuses it
    (link_ds / SEM).symlink_to(a / SEM)
    (root / "team2" / "loop").symlink_to(root, target_is_directory=True)
    (root / ".snapshot" / "hourly" / "ds1").mkdir(parents=True)
    (root / ".snapshot" / "hourly" / "ds1" / SEM).write_text("")
    (root / "team1" / "notsem").mkdir()
    (root / "team1" / "notsem" / (SEM + ".bak")).write_text("")
    found = list(find_semaphores(root, SEM))
    assert sorted(found) == sorted([a / SEM, b / SEM, link_ds / SEM])  # once each: no loop


def test_find_semaphores_on_missing_root_is_empty(tmp_path: Path) -> None:
    assert list(find_semaphores(tmp_path / "nope", SEM)) == []


def test_unchanged_tree_costs_no_listing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for t in range(5):
        for d in range(20):
            make_dataset(root / f"team{t}" / f"ds{d}", semaphore=(d == 3))
    age(root)
    state = TreeState(root, SEM)
    found = state.build()
    assert len(found) == 5
    assert len(state.dirs) == 1 + 5 + 100
    assert state.cycle() == []
    assert state.last_listed == 0
    assert state.cycle() == []
    assert state.last_listed == 0


def test_cycle_sees_new_touched_moved_and_removed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    ds1 = make_dataset(root / "team1" / "ds1", semaphore=True)
    ds2 = make_dataset(root / "team1" / "ds2")
    age(root)
    state = TreeState(root, SEM)
    assert state.build() == [str(ds1 / SEM)]

    (ds2 / SEM).write_text("")  # new semaphore
    assert state.cycle() == [str(ds2 / SEM)]
    assert state.last_listed == 1  # only ds2's folder changed

    st = (ds1 / SEM).stat()  # touched again: the folder's mtime does not move
    os.utime(ds1 / SEM, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert state.cycle() == [str(ds1 / SEM)]

    outside = make_dataset(tmp_path / "elsewhere" / "ds9", semaphore=True)
    shutil.move(str(outside), str(root / "team1" / "ds9"))  # a dataset moved in whole
    deep = make_dataset(root / "team2" / "a" / "b" / "c" / "ds10", semaphore=True)
    assert set(state.cycle()) == {str(root / "team1" / "ds9" / SEM), str(deep / SEM)}

    os.rename(root / "team1", root / "team1-renamed")  # renamed: seen under the new name
    found = set(state.cycle())
    assert str(root / "team1-renamed" / "ds1" / SEM) in found
    assert str(root / "team1-renamed" / "ds9" / SEM) in found
    assert not any(p.startswith(str(root / "team1") + os.sep) for p in state.dirs)
    assert not any(p.startswith(str(root / "team1") + os.sep) for p in state.sems)

    shutil.rmtree(root / "team2")
    assert state.cycle() == []
    assert str(deep / SEM) not in state.sems
    assert str(deep) not in state.dirs


def test_root_that_appears_later_is_picked_up(tmp_path: Path) -> None:
    root = tmp_path / "not-yet-mounted"
    state = TreeState(root, SEM)
    assert state.build() == []
    assert state.cycle() == []
    ds = make_dataset(root / "team" / "ds", semaphore=True)
    assert state.cycle() == [str(ds / SEM)]


def wide_tree(root: Path, folders: int) -> None:
    for i in range(folders):
        (root / f"g{i // 100}" / f"d{i}").mkdir(parents=True, exist_ok=True)


def test_long_walks_beat_and_stop_early(tmp_path: Path) -> None:
    import threading

    from maggot_zenodo.watch import poller

    root = tmp_path / "root"
    wide_tree(root, 2600)  # + 26 group folders + the root
    beats: list[int] = []
    stop = threading.Event()
    state = TreeState(root, SEM, beat=lambda: beats.append(len(state.dirs)), stop=stop)
    state.build()
    assert len(state.dirs) == 2627
    assert len(beats) == 2627 // poller.BEAT_EVERY  # beats as it goes, not once at the end
    assert beats == sorted(beats) and beats[0] < 2627
    beats.clear()
    state.cycle()  # a cycle stats every known folder: it beats as it goes too
    assert len(beats) >= 2
    stop.set()  # a shutdown during a long walk: it ends at once
    state.build()
    assert len(state.dirs) == 0
    state.dirs = {os.fspath(root): 0}  # a cycle that would list the root and walk all below
    assert state.cycle() == [] and len(state.dirs) == 1


def test_poller_stays_healthy_through_a_walk_longer_than_its_allowance(tmp_path: Path) -> None:
    import threading
    import time

    from maggot_zenodo.watch.poller import Poller

    root = tmp_path / "root"
    wide_tree(root, 1500)
    stop = threading.Event()
    poller = Poller(root, SEM, 5, 0, lambda _p, _r: None, stop)  # allowance: 60 s
    poller.start()
    try:
        assert poller.ready.wait(30)
        # the first walk's beats came after its start: pretend its start was long ago
        assert poller.last_beat is not None and poller.last_beat >= poller.started_at
        poller.last_cycle_end = poller.started_at = time.monotonic() - 10_000
        poller.last_beat = None
        assert poller.healthy() is False  # no beat for ages: unhealthy
        poller.state.build()  # a walk in progress beats (here, from the test's thread)
        assert poller.healthy() is True
    finally:
        stop.set()
        poller.join(10)
    assert not poller.is_alive()
