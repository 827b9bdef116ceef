"""The settle stage on real files: a growing declared file holds its dataset back."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path, PurePosixPath

from maggot_zenodo.watch.settle import Settler, declared_files, snapshot, usable_location


def declare(folder: Path, *locations: str) -> Path:
    """A Maggot metadata file in ``folder`` declaring ``locations`` (and one URL resource)."""
    folder.mkdir(parents=True, exist_ok=True)
    resources = [{"location": loc} for loc in locations]
    resources.append({"location": "https://example.org/not-a-file"})
    meta = folder / f"META_{folder.name}.json"
    meta.write_text(json.dumps({"title": folder.name, "resources": resources}))
    return meta


def names(folder: Path, paths: list[Path]) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in paths)


def test_declared_files_are_the_semaphore_the_metadata_and_its_local_resources(
    tmp_path: Path,
) -> None:
    ds = tmp_path / "ds"
    declare(ds, "data.csv", "sub/more.csv", "../outside.csv", "/etc/passwd", " spaced.txt ")
    for name in ("data.csv", "undeclared.log", "META_zenodo.txt", "x.tmp"):
        (ds / name).write_text("x")
    assert names(ds, declared_files(ds)) == [
        "META_datafile_ok.txt",
        "META_ds.json",
        "data.csv",
        "spaced.txt",
        "sub/more.csv",
    ]
    assert names(ds, declared_files(ds, "GO.txt")) == [
        "GO.txt",
        "META_ds.json",
        "data.csv",
        "spaced.txt",
        "sub/more.csv",
    ]


def test_unreadable_or_ambiguous_metadata_declares_nothing_yet(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    meta = declare(ds, "data.csv")
    meta.write_text('{"resources": [{"location": "data.c')  # still being written
    assert names(ds, declared_files(ds)) == ["META_datafile_ok.txt", "META_ds.json"]
    declare(ds, "data.csv")
    (ds / "META_other.json").write_text("{}")
    assert names(ds, declared_files(ds)) == [
        "META_datafile_ok.txt",
        "META_ds.json",
        "META_other.json",
    ]
    (ds / "META_other.json").unlink()
    assert names(ds, declared_files(ds, max_metadata_size=10)) == [
        "META_datafile_ok.txt",
        "META_ds.json",
    ]
    assert declared_files(tmp_path / "gone") == [tmp_path / "gone" / "META_datafile_ok.txt"]


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
    declare(ds, "data.bin")
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


def settle_times(settler_for: Path, action, settle: float = 0.4) -> tuple[list[float], float]:
    """Run ``action`` (for about 1 s) while ``settler_for`` settles; when did it settle?"""
    settled: list[float] = []
    settler = Settler(settle, lambda _folder: settled.append(time.monotonic()), tick=0.05)
    settler.start()
    try:
        settler.add(settler_for)
        action()
        stopped_at = time.monotonic()
        deadline = stopped_at + 5
        while not settled and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        settler.stop()
    return settled, stopped_at


def test_an_undeclared_file_being_written_does_not_hold_the_dataset(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    declare(ds, "data.bin")
    (ds / "data.bin").write_bytes(b"done")
    log = ds / "analysis.log"

    def keep_logging() -> None:
        for _ in range(12):
            with log.open("ab") as fh:
                fh.write(b"line\n")
            time.sleep(0.1)

    settled, stopped_at = settle_times(ds, keep_logging)
    assert settled and settled[0] < stopped_at, "an undeclared file held the dataset back"


def test_a_file_declared_while_settling_restarts_the_clock(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    declare(ds, "a.csv")
    (ds / "a.csv").write_text("1")

    def declare_more_and_grow_it() -> None:
        time.sleep(0.2)
        declare(ds, "a.csv", "b.csv")
        for _ in range(8):  # the newly declared file is still being copied
            with (ds / "b.csv").open("a") as fh:
                fh.write("x" * 100)
            time.sleep(0.1)

    settled, stopped_at = settle_times(ds, declare_more_and_grow_it)
    assert settled, "never settled"
    assert settled[0] - stopped_at >= 0.3, "settled while a declared file was still growing"


def test_replacing_a_declared_file_with_one_of_the_same_size_is_a_change(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("abc")
    before = snapshot([path])
    other = tmp_path / "g"
    other.write_text("xyz")
    other.replace(path)  # same size, maybe the same mtime tick, but a new inode
    assert snapshot([path]) != before


def run_in_thread(fn, timeout: float = 5.0):
    """Run ``fn`` in a daemon thread; its result, or AssertionError if it is still running."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert out, "still running: it blocked"
    return out[0]


def test_hostile_metadata_files_neither_block_nor_eat_memory(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "META_evil.json")  # a read() would wait for a writer for ever
    zero = tmp_path / "zero"
    zero.mkdir()
    (zero / "META_evil.json").symlink_to("/dev/zero")  # a read() would never end
    for ds in (fifo, zero):
        assert names(ds, run_in_thread(lambda ds=ds: declared_files(ds))) == [
            "META_datafile_ok.txt",
            "META_evil.json",
        ]


def test_locations_the_os_cannot_take_are_skipped(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    declare(ds, "a\u0000b.csv", "ok.csv", ".", "sub/\u0000")
    files = declared_files(ds)
    assert names(ds, files) == ["META_datafile_ok.txt", "META_ds.json", "ok.csv"]
    assert len(snapshot(files)) == 3
    assert usable_location("bad\ud800.csv") is None  # not encodable as a file name
    assert usable_location(" sub/x.csv ") == PurePosixPath("sub/x.csv")
    # snapshot itself survives such names too (a caller's own files_of may produce them)
    assert snapshot([tmp_path / "a\u0000b"]) == ((str(tmp_path / "a\u0000b"), -1, -1, -1),)


def test_a_folder_that_cannot_be_checked_settles_and_others_go_on(tmp_path: Path) -> None:
    bad, good = tmp_path / "bad", tmp_path / "good"
    for ds in (bad, good):
        declare(ds, "data.csv")

    def files_of(folder: Path) -> list[Path]:
        if folder == bad:
            raise ValueError("embedded null byte")
        return declared_files(folder)

    settled: list[Path] = []
    settler = Settler(0.1, settled.append, files_of=files_of, tick=0.02)
    settler.start()
    try:
        settler.add(bad)
        settler.add(good)
        deadline = time.monotonic() + 5
        while len(settled) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(settled) == [bad, good]  # bad settles too: publish reports its problem
        assert settler.alive() and settler.healthy()
    finally:
        settler.stop()


def test_heartbeat_goes_stale_when_the_loop_is_wedged(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    declare(ds, "data.csv")
    release = threading.Event()
    entered = threading.Event()

    def wedged(folder: Path) -> list[Path]:
        entered.set()
        release.wait(10)
        return declared_files(folder)

    settler = Settler(0.1, lambda _f: None, files_of=wedged, tick=0.02)
    settler.start()
    try:
        time.sleep(0)  # idle: the loop beats while it waits
        assert settler.healthy(stale_after=5)
        settler.add(ds)
        assert entered.wait(5)
        deadline = time.monotonic() + 5
        while settler.healthy(stale_after=0.2) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert settler.alive() and not settler.healthy(stale_after=0.2)
        release.set()
        deadline = time.monotonic() + 5
        while not settler.healthy(stale_after=0.2) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert settler.healthy(stale_after=0.2)
    finally:
        release.set()
        settler.stop()


def test_an_idle_settler_keeps_beating(tmp_path: Path) -> None:
    settler = Settler(0.1, lambda _f: None)
    settler.start()
    try:
        first = settler.last_beat
        deadline = time.monotonic() + 5
        while settler.last_beat == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert settler.last_beat > first
    finally:
        settler.stop()
