"""Settling: publish only once the dataset's files have stopped changing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from maggot_zenodo.watch.settle import file_state, signature, wait_until_settled


def test_returns_only_after_a_growing_file_stops(tmp_path: Path) -> None:
    data = tmp_path / "big.bin"
    data.write_bytes(b"")
    writer_done = threading.Event()
    grow_for = 0.8

    def grow() -> None:
        end = time.monotonic() + grow_for
        with data.open("ab") as fh:
            while time.monotonic() < end:
                fh.write(b"x" * 4096)
                fh.flush()
                time.sleep(0.01)
        writer_done.set()

    writer = threading.Thread(target=grow)
    started = time.monotonic()
    writer.start()
    try:
        assert wait_until_settled(lambda: [data], 0.3, threading.Event())
        elapsed = time.monotonic() - started
        assert writer_done.is_set(), "settled while the file was still growing"
        assert elapsed >= grow_for + 0.3 - 0.05
        assert elapsed < grow_for + 3.0
    finally:
        writer.join()
    assert data.stat().st_size > 4096


def test_stop_interrupts_promptly(tmp_path: Path) -> None:
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert wait_until_settled(lambda: [tmp_path / "a"], 30.0, stop) is False
    assert time.monotonic() - started < 2.0


def test_already_stopped_returns_false(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    assert wait_until_settled(lambda: [], 0.0, stop) is False


def test_zero_settle_returns_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    assert wait_until_settled(lambda: [tmp_path / "x"], 0, threading.Event())
    assert time.monotonic() - started < 0.5


def test_paths_are_asked_again_each_round(tmp_path: Path) -> None:
    """A file declared while settling (the metadata grew) restarts the clock."""
    first = tmp_path / "a.csv"
    first.write_text("1")
    late = tmp_path / "b.csv"
    declared = [first]
    calls = 0

    def paths() -> list[Path]:
        nonlocal calls
        calls += 1
        return list(declared)

    def declare_late() -> None:
        late.write_text("22")
        declared.append(late)

    threading.Timer(0.25, declare_late).start()
    started = time.monotonic()
    assert wait_until_settled(paths, 0.4, threading.Event())
    assert time.monotonic() - started >= 0.25 + 0.4 - 0.05
    assert calls >= 3
    assert late in declared


def test_replacing_a_file_same_size_is_a_change(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("abc")
    before = file_state(path)
    other = tmp_path / "g"
    other.write_text("xyz")
    other.replace(path)  # same size, new inode
    assert file_state(path) != before
    assert file_state(tmp_path / "missing") is None


def test_failing_paths_fn_is_part_of_the_signature(tmp_path: Path) -> None:
    def broken() -> list[Path]:
        raise ValueError("metadata half written")

    assert signature(broken) == (("error", "ValueError", "metadata half written"),)
    assert wait_until_settled(broken, 0.1, threading.Event())
