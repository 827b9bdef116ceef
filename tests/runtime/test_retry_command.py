"""``maggot-zenodo retry`` (#9 §5): run datasets again without touching any semaphore. On 0.1.0
there was no such command: after fixing a permission, the admin had to touch semaphores."""

from __future__ import annotations

import os
from pathlib import Path

from testkit import Emulator, wait_for
from testkit.daemon import DaemonProcess, make_dataset, run_cli, status_file, write_config

SEM = "META_datafile_ok.txt"


def broken_dataset(root: Path, name: str) -> tuple[Path, bytes]:
    """A dataset whose declared file is missing (a non-retryable failure); returns its folder
    and the data to put back."""
    folder = make_dataset(root, name, semaphore=True)
    data = (folder / "data.bin").read_bytes()
    (folder / "data.bin").unlink()
    return folder, data


def sem_stat(folder: Path) -> tuple[int, int]:
    st = os.lstat(folder / SEM)
    return st.st_ino, st.st_mtime_ns


def test_retry_without_a_daemon_says_so_or_publishes_with_now(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url, **{"storage.settle": 0})
    root = tmp_path / "storage"
    folder, data = broken_dataset(root, "Broken")
    once = run_cli("run", "--once", "--config", str(config))
    assert once.returncode == 1
    assert status_file(folder)["status"] == "failed"
    (folder / "data.bin").write_bytes(data)  # the admin fixes it
    before = sem_stat(folder)

    plain = run_cli("retry", str(folder), "--config", str(config))
    assert plain.returncode == 1
    assert "no daemon is running on " in plain.stderr and "add --now" in plain.stderr
    assert not list((tmp_path / "state" / "retry").glob("*.json"))
    assert status_file(folder)["status"] == "failed"

    now = run_cli("retry", "--failed", "--now", "--config", str(config))
    assert now.returncode == 0, now.stdout + now.stderr[-2000:]
    assert now.stdout.startswith("Broken:\ndraft: " + emulator.base_url)
    assert status_file(folder)["status"] == "draft"
    assert sem_stat(folder) == before  # no semaphore touched
    nothing = run_cli("retry", "--failed", "--config", str(config))
    assert nothing.returncode == 0 and nothing.stdout.startswith("nothing to retry")
    assert run_cli("run", "--once", "--config", str(config)).returncode == 0
    assert len(emulator.depositions()) == 1


def test_retry_with_the_daemon_running_is_done_by_the_daemon(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    root = tmp_path / "storage"
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        folder, data = broken_dataset(root, "team/Broken")
        wait_for(lambda: (status_file(folder) or {}).get("status") == "failed", 30, "failure")
        (folder / "data.bin").write_bytes(data)
        before = sem_stat(folder)
        queued = run_cli("retry", str(folder), "--config", str(config))
        assert queued.returncode == 0, queued.stderr[-2000:]
        assert queued.stdout == f"team/Broken: queued for the running daemon (pid {daemon.pid})\n"
        wait_for(lambda: (status_file(folder) or {}).get("status") == "draft", 30, "the retry")
        daemon.wait_log_matching("team/Broken: retry requested")
        assert sem_stat(folder) == before
        assert not list((tmp_path / "state" / "retry").glob("*.json"))
    finally:
        assert daemon.stop() == 0
    assert len(emulator.depositions()) == 1


def test_retry_usage_errors(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for args, message in [
        ([str(outside)], "not below the storage root"),
        ([str(tmp_path / "storage" / "nope")], "no such dataset folder"),
        ([], "name the datasets to retry"),
        (["--failed", str(outside)], "either --failed or DATASET_DIR"),
    ]:
        result = run_cli("retry", *args, "--config", str(config))
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr
