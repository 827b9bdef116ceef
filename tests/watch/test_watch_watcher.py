"""The Watcher end to end on real folders: real inotify, and forced polling."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from testkit import wait_for
from testkit.watching import SEM, Recorder, make_dataset, running

MODES = ["inotify", "poll"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "storage"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder on the same filesystem but outside the watched root (for moves in)."""
    path = tmp_path / "outside"
    path.mkdir()
    return path


@pytest.mark.parametrize("mode", MODES)
def test_start_scan_reports_existing_semaphores(root: Path, mode: str) -> None:
    ds = make_dataset(root / "team1" / "ds1", semaphore=True)
    make_dataset(root / "team1" / "ds2")
    rec = Recorder()
    with running(root, mode, rec) as watcher:
        assert watcher.mode == mode
        assert rec.wait(ds)
        assert rec.calls[0] == (ds, "scan")
        assert watcher.alive()
        assert rec.folders() == {ds}
    assert not watcher.alive()


@pytest.mark.parametrize("mode", MODES)
def test_semaphore_created_then_touched_again(root: Path, mode: str) -> None:
    ds = make_dataset(root / "team1" / "ds1")
    rec = Recorder()
    with running(root, mode, rec):
        (ds / SEM).write_text("")
        assert rec.wait(ds)
        reason = "inotify" if mode == "inotify" else "poll"
        assert rec.count(ds, reason) >= 1
        before = rec.count(ds)
        st = (ds / SEM).stat()
        os.utime(ds / SEM, ns=(st.st_atime_ns, st.st_mtime_ns + 5 * 10**9))
        assert rec.wait(ds, before + 1), "touching the semaphore again was missed"


@pytest.mark.parametrize("mode", MODES)
def test_semaphore_moved_in(root: Path, outside: Path, mode: str) -> None:
    ds = make_dataset(root / "team1" / "ds1")
    rec = Recorder()
    with running(root, mode, rec):
        (outside / SEM).write_text("")
        os.rename(outside / SEM, ds / SEM)
        assert rec.wait(ds)
        # renamed into place from another name inside the dataset
        ds2 = make_dataset(root / "team1" / "ds2")
        (ds2 / "sem.tmp").write_text("")
        os.rename(ds2 / "sem.tmp", ds2 / SEM)
        assert rec.wait(ds2)


@pytest.mark.parametrize("mode", MODES)
def test_nested_deep(root: Path, mode: str) -> None:
    rec = Recorder()
    with running(root, mode, rec):
        deep = root.joinpath(*[f"level{i}" for i in range(12)], "ds")
        make_dataset(deep)
        (deep / SEM).write_text("")
        assert rec.wait(deep)


@pytest.mark.parametrize("mode", MODES)
def test_dataset_folder_moved_in_whole(root: Path, outside: Path, mode: str) -> None:
    team = root / "team1"
    team.mkdir()
    src = make_dataset(outside / "ds-new", semaphore=True)
    nested = make_dataset(outside / "ds-new" / "sub" / "inner", semaphore=True)
    rec = Recorder()
    with running(root, mode, rec):
        shutil.move(str(src), str(team / "ds-new"))
        assert rec.wait(team / "ds-new")
        assert rec.wait(team / "ds-new" / "sub" / "inner")
    assert not nested.exists()


@pytest.mark.parametrize("mode", MODES)
def test_dataset_folder_copied_in(root: Path, outside: Path, mode: str) -> None:
    src = make_dataset(outside / "ds-copy", semaphore=True, files=30)
    make_dataset(outside / "ds-copy" / "a" / "b", semaphore=True)
    rec = Recorder()
    with running(root, mode, rec):
        shutil.copytree(src, root / "team1" / "ds-copy")
        assert rec.wait(root / "team1" / "ds-copy")
        assert rec.wait(root / "team1" / "ds-copy" / "a" / "b")


@pytest.mark.parametrize("mode", MODES)
def test_folder_renamed(root: Path, mode: str) -> None:
    ds = make_dataset(root / "team1" / "ds1", semaphore=True)
    rec = Recorder()
    with running(root, mode, rec):
        assert rec.wait(ds)
        os.rename(root / "team1", root / "team-one")
        assert rec.wait(root / "team-one" / "ds1"), "the renamed dataset was not reported"


@pytest.mark.parametrize("mode", MODES)
def test_data_file_bursts_do_not_trigger(root: Path, mode: str) -> None:
    ds = make_dataset(root / "team1" / "ds1")
    rec = Recorder()
    with running(root, mode, rec):
        with (ds / "big.bin").open("wb") as fh:
            for _ in range(2000):
                fh.write(b"y" * 1024)
                fh.flush()
        for i in range(50):
            (ds / f"f{i}.txt").write_text("z")
        (ds / SEM).write_text("")  # the one that matters, after the noise
        assert rec.wait(ds)
        other = make_dataset(root / "team1" / "marker")
        (other / SEM).write_text("")
        assert rec.wait(other)
    # one request each: the burst on the data files raised nothing, and dedup held
    assert rec.count(ds) == 1
    assert rec.folders() == {ds, other}


def test_periodic_rescan_reports_again(root: Path) -> None:
    ds = make_dataset(root / "team1" / "ds1", semaphore=True)
    rec = Recorder()
    with running(root, "inotify", rec, rescan_interval=0.3) as watcher:
        assert wait_for(lambda: rec.count(ds, "scan") >= 3, 10)
        assert watcher.stats["rescans"] >= 3


def test_periodic_rescan_in_poll_mode(root: Path) -> None:
    ds = make_dataset(root / "team1" / "ds1", semaphore=True)
    rec = Recorder()
    with running(root, "poll", rec, rescan_interval=0.3):
        assert wait_for(lambda: rec.count(ds, "scan") >= 3, 10)


def test_root_replaced_is_watched_again(tmp_path: Path) -> None:
    """The watch on the root is lost when the root goes away; it comes back with a rescan."""
    root = tmp_path / "storage"
    make_dataset(root / "team1" / "ds0")
    rec = Recorder()
    with running(root, "inotify", rec) as watcher:
        shutil.rmtree(root)
        assert wait_for(lambda: not watcher._observer or not watcher.alive(), 10)
        ds = make_dataset(root / "team1" / "ds1", semaphore=True)
        assert rec.wait(ds, timeout=15)
        assert wait_for(watcher.alive, 10)
        ds2 = make_dataset(root / "team1" / "ds2")
        (ds2 / SEM).write_text("")
        assert rec.wait(ds2)


def test_on_trigger_errors_do_not_stop_the_watcher(root: Path) -> None:
    seen: list[Path] = []

    def flaky(folder: Path, reason: str) -> None:
        seen.append(folder)
        if len(seen) == 1:
            raise RuntimeError("caller bug")

    from maggot_zenodo.watch import Watcher

    watcher = Watcher(root, SEM, "inotify", 1, 0, flaky)
    watcher.start()
    try:
        assert watcher.wait_ready(10)
        a = make_dataset(root / "a", semaphore=True)
        assert wait_for(lambda: a in seen)
        b = make_dataset(root / "b", semaphore=True)
        assert wait_for(lambda: b in seen)
        assert watcher.alive()
    finally:
        watcher.stop()


@pytest.mark.parametrize("mode", MODES)
def test_symlinked_semaphore_is_reported_once_never_followed(
    root: Path, outside: Path, mode: str
) -> None:
    """A link is reported (the publish step refuses it with a message), at start and when
    created later; rescans report it again only if the link itself changes."""
    (outside / "target").write_text("")
    early = make_dataset(root / "team1" / "early")
    (early / SEM).symlink_to(outside / "target")
    plain = make_dataset(root / "team1" / "plain", semaphore=True)
    rec = Recorder()
    with running(root, mode, rec, rescan_interval=0.2) as watcher:
        assert rec.wait(early)
        late = make_dataset(root / "team2" / "late")
        (late / SEM).symlink_to(outside / "target")
        assert rec.wait(late)
        rescans = watcher.stats["rescans"] if mode == "inotify" else rec.count(plain, "scan")
        assert wait_for(
            lambda: (
                (watcher.stats["rescans"] if mode == "inotify" else rec.count(plain, "scan"))
                >= rescans + 3
            ),
            10,
        )
        assert rec.count(plain, "scan") >= 3  # regular semaphores: reported at every rescan
        assert rec.count(early) == 1 and rec.count(late) == 1
        os.utime(outside / "target")  # touching the target changes nothing of the link
        (late / SEM).unlink()
        (late / SEM).symlink_to(outside / "target")  # a new link: a new request
        assert rec.wait(late, 2)
