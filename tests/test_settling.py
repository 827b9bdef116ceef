"""The settle stage on real files: a growing file holds its dataset back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from maggot_zenodo.settling import Settler, dataset_files, snapshot


def test_dataset_files_skip_our_own_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in (
        "META_ds.json",
        "META_datafile_ok.txt",
        "sub/data.csv",
        "META_zenodo.txt",
        "x.tmp",
    ):
        (tmp_path / name).write_text("x")
    names = sorted(p.relative_to(tmp_path).as_posix() for p in dataset_files(tmp_path))
    assert names == ["META_datafile_ok.txt", "META_ds.json", "sub/data.csv"]


def test_snapshot_changes_with_size_and_absence(tmp_path: Path) -> None:
    f = tmp_path / "a"
    f.write_text("1")
    first = snapshot([f])
    f.write_text("12")
    assert snapshot([f]) != first
    f.unlink()
    assert snapshot([f])[0][1] == -1


def test_growing_file_is_held_until_it_stops(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    ds.mkdir()
    growing = ds / "data.bin"
    growing.write_bytes(b"")
    settled: list[tuple[Path, float]] = []
    done = threading.Event()

    def on_settled(folder: Path) -> None:
        settled.append((folder, time.monotonic()))
        done.set()

    settler = Settler(0.4, on_settled, tick=0.05)
    settler.start()
    try:
        settler.add(ds)
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:  # keep the file growing for 1.2 s
            with growing.open("ab") as fh:
                fh.write(b"x" * 1000)
            time.sleep(0.1)
            assert not settled, "settled while the file was still growing"
        stopped_at = time.monotonic()
        assert done.wait(5)
        folder, when = settled[0]
        assert folder == ds
        assert when - stopped_at >= 0.3
        assert settler.count() == 0
        time.sleep(0.2)
        assert len(settled) == 1, "a settled folder is reported once"
    finally:
        settler.stop()
    assert not settler.alive()


def test_zero_settle_is_immediate_and_many_settle_together(tmp_path: Path) -> None:
    folders = []
    for i in range(50):
        d = tmp_path / f"d{i}"
        d.mkdir()
        (d / "f").write_text("x")
        folders.append(d)
    got: list[Path] = []
    lock = threading.Lock()

    def on_settled(folder: Path) -> None:
        with lock:
            got.append(folder)

    settler = Settler(0.3, on_settled, tick=0.05)
    settler.start()
    try:
        start = time.monotonic()
        for d in folders:
            settler.add(d)
        deadline = start + 5
        while len(got) < 50 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(got) == sorted(folders)
        assert time.monotonic() - start < 2.0, "datasets settle in parallel, not in turn"
    finally:
        settler.stop()
    zero: list[Path] = []
    quick = Settler(0, zero.append, tick=0.01)
    quick.start()
    try:
        quick.add(folders[0])
        deadline = time.monotonic() + 2
        while not zero and time.monotonic() < deadline:
            time.sleep(0.01)
        assert zero == [folders[0]]
    finally:
        quick.stop()
