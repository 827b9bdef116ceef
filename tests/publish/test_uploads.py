"""A dataset's files: each read once, several at a time (#13), against an emulator that answers
every request 0.3 s late (as a real link does), with real files, SQLite and subprocesses."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from testkit import TOKEN, Emulator
from testkit.publishing import (
    expected_files,
    held_files,
    make_config,
    make_dataset,
    publisher,
    token_file,
)

from maggot_zenodo.publish.prepare import load_site, prepare
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import Journal

LATENCY = 0.3
FILES = {f"part{i:02d}.bin": bytes([i]) * (20_000 + i) for i in range(8)}


@pytest.fixture(scope="module")
def slow_emulator(tmp_path_factory: Any):
    emu = Emulator.spawn(tmp_path_factory.mktemp("emulator"), "--latency", str(LATENCY))
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emu(slow_emulator: Emulator) -> Emulator:
    slow_emulator.reset()
    return slow_emulator


class Overlap:
    """A progress factory that records how many uploads were in flight at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = 0
        self.expected: tuple[int, int] | None = None

    def expect(self, files: int, size: int) -> None:
        self.expected = (files, size)

    def __call__(self, name: str, size: int) -> Any:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        overlap = self

        class _Bar:
            def update(self, n: int) -> None:
                assert 0 <= n <= size

            def close(self) -> None:
                with overlap.lock:
                    overlap.now -= 1

        return _Bar()


def _dataset(root: Path, name: str = "ds") -> Path:
    return make_dataset(root, name, dict(FILES))


def test_files_upload_concurrently_and_every_md5_is_recorded(tmp_path: Path, emu) -> None:
    config = make_config(tmp_path, tmp_path / "storage", emu.base_url, upload_concurrency=4)
    folder = _dataset(config.storage.root)
    journal = Journal(config.state)
    bars = Overlap()
    started = time.monotonic()
    outcome = publisher(config, journal).publish(folder, progress=bars)
    took = time.monotonic() - started
    assert outcome.ok, outcome
    assert bars.peak >= 3, bars.peak  # 4 allowed: at least 3 seen in flight together
    assert bars.now == 0 and bars.expected == (9, sum(map(len, FILES.values())) + _meta(folder))
    assert took < 9 * LATENCY, took  # one by one, the 9 PUTs alone take 2.7 s
    [dep] = emu.depositions()
    want = expected_files(folder, list(FILES))
    assert held_files(dep) == want
    [row] = journal.rows()
    assert journal.uploaded(row.id) == want  # the md5 computed while sending, journaled
    status = statusfile.read(folder)
    assert status is not None
    assert {f["name"]: f["md5"] for f in status["files"]} == want
    journal.close()


def test_concurrency_one_sends_one_file_at_a_time(tmp_path: Path, emu) -> None:
    config = make_config(tmp_path, tmp_path / "storage", emu.base_url, upload_concurrency=1)
    folder = _dataset(config.storage.root)
    journal = Journal(config.state)
    bars = Overlap()
    assert publisher(config, journal).publish(folder, progress=bars).ok
    assert bars.peak == 1
    [dep] = emu.depositions()
    assert held_files(dep) == expected_files(folder, list(FILES))
    journal.close()


def _meta(folder: Path) -> int:
    return (folder / f"META_{folder.name}.json").stat().st_size


def _read_bytes() -> int:
    """Bytes this process has read through read()/pread() so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/self/io")


def test_a_new_dataset_is_read_once(tmp_path: Path, emu) -> None:
    config = make_config(tmp_path, tmp_path / "storage", emu.base_url)
    size = 24 * 1024 * 1024
    folder = make_dataset(config.storage.root, "big", {"big.bin": b"\x5a" * size})
    journal = Journal(config.state)
    pub = publisher(config, journal)
    before = _read_bytes()
    assert pub.publish(folder).ok
    read = _read_bytes() - before
    assert size <= read < 1.5 * size, read  # hashed ahead and sent again would be 2x
    f = folder / "big.bin"
    st = f.stat()
    want = expected_files(folder, ["big.bin"])
    # the md5 computed while sending is the cache's: a republish reads nothing again
    assert journal.cached_md5(str(f), st.st_size, st.st_mtime_ns, st.st_ino) == want["big.bin"]
    journal.close()


def test_one_failing_file_fails_the_run_cleanly_then_it_resumes(tmp_path: Path, emu) -> None:
    config = make_config(tmp_path, tmp_path / "storage", emu.base_url, upload_concurrency=4)
    folder = _dataset(config.storage.root)
    journal = Journal(config.state)
    bad = folder / "part03.bin"
    st = bad.stat()
    # a stale md5 for one file: what Zenodo holds after its upload disagrees
    journal.store_md5(str(bad), st.st_size, st.st_mtime_ns, st.st_ino, "0" * 32)
    pub = publisher(config, journal)
    outcome = pub.publish(folder)
    assert not outcome.ok and outcome.retryable
    assert "part03.bin" in (outcome.error or "") and "changed while" in (outcome.error or "")
    status = statusfile.read(folder)
    assert status is not None and status["status"] == "failed" and "part03.bin" in status["error"]
    [dep] = emu.depositions()
    assert dep["state"] == "unsubmitted"  # nothing published with a doubtful file
    journal.store_md5(str(bad), st.st_size, st.st_mtime_ns, st.st_ino, expected_md5(bad))
    assert pub.publish(folder).ok
    [dep] = emu.depositions()
    assert held_files(dep) == expected_files(folder, list(FILES))
    journal.close()


def expected_md5(path: Path) -> str:
    return expected_files(path.parent, [path.name])[path.name]


def _config_file(tmp_path: Path, root: Path, url: str) -> Path:
    path = tmp_path / "config.yaml"
    data = {
        "storage": {"root": str(root), "settle": 0},
        "zenodo": {
            "url": url,
            "token": {"file": str(token_file(tmp_path))},
            "rate_limit": 100000,
            "upload_concurrency": 4,
        },
        "state": str(tmp_path / "state" / "state.db"),
    }
    path.write_text(json.dumps(data))
    return path


def _publish_cmd(config_file: Path, folder: Path) -> list[str]:
    return [sys.executable, "-m", "maggot_zenodo", "publish", str(folder), "--config",
            str(config_file)]  # fmt: skip


def test_a_kill_with_uploads_in_flight_resumes_with_one_deposition(tmp_path: Path, emu) -> None:
    root = tmp_path / "storage"
    files = {f"f{i:02d}.bin": bytes([i]) * 50_000 for i in range(16)}
    folder = make_dataset(root, "killed", files)
    config_file = _config_file(tmp_path, root, emu.base_url)
    proc = subprocess.Popen(
        _publish_cmd(config_file, folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        deps = emu.depositions()
        if deps and 2 <= len(deps[0]["files"]) < len(files):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "publish ended before it could be killed mid-way"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    [dep] = emu.depositions()
    assert len(dep["files"]) < len(files) + 1  # killed with files still to send
    for _ in range(5):
        done = subprocess.run(
            _publish_cmd(config_file, folder), capture_output=True, text=True, timeout=120
        )
        if done.returncode == 0:
            break
    assert done.returncode == 0, done.stdout + done.stderr
    [dep] = emu.depositions()  # one deposition, every file once, right
    assert held_files(dep) == expected_files(folder, list(files))
    assert TOKEN not in done.stdout + done.stderr


def test_a_publication_plan_reads_no_file_and_holds_only_cached_md5s(tmp_path: Path) -> None:
    config = make_config(tmp_path, tmp_path / "storage", "http://127.0.0.1:9")
    folder = _dataset(config.storage.root)
    journal = Journal(config.state)
    cached = folder / "part01.bin"
    st = cached.stat()
    journal.store_md5(str(cached), st.st_size, st.st_mtime_ns, st.st_ino, "1" * 32)
    plan = prepare(config, load_site(config), folder, with_files=True, md5_cache=journal)
    assert plan.md5 == {"part01.bin": "1" * 32}
    assert [f["name"] for f in plan.file_list()] == ["part01.bin"]
    assert len(plan.files) == len(FILES) + 1
    journal.close()


def test_without_the_cache_a_file_zenodo_holds_is_hashed_not_sent(tmp_path: Path, emu) -> None:
    config = make_config(tmp_path, tmp_path / "storage", emu.base_url)
    folder = _dataset(config.storage.root)
    journal = Journal(config.state)
    pub = publisher(config, journal)
    assert pub.publish(folder).ok
    with sqlite3.connect(config.state) as db:
        db.execute("DELETE FROM md5cache")
    meta = folder / "META_ds.json"
    record = json.loads(meta.read_text())
    record["description"] = "A new description: the metadata file changes, the data do not."
    meta.write_text(json.dumps(record))
    writes = emu.writes()
    assert pub.publish(folder).ok
    # the metadata and its file again; each data file hashed (same name and size) and kept
    assert emu.writes() - writes == 2
    [dep] = emu.depositions()
    assert held_files(dep) == expected_files(folder, list(FILES))
    journal.close()
