"""Hostile datasets never stop the daemon: real daemon subprocesses, real FIFOs and links.

One dataset's metadata that blocks a read (a FIFO), never ends (a link to /dev/zero) or
holds a location no file system takes (a NUL) fails that dataset with a message; a dataset
dropped afterwards is still published, and the watchdog keeps being pinged. A semaphore
that is a symlink fails its dataset with a message, once, instead of being ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from testkit import Emulator, wait_for
from testkit.daemon import (
    SEMAPHORE,
    DaemonProcess,
    NotifySocket,
    base_env,
    drop_semaphore,
    make_dataset,
    run_cli,
    status_file,
    write_config,
)


def hostile_datasets(root: Path) -> dict[str, Path]:
    """Three datasets whose metadata would wedge or kill a naive settle thread."""
    fifo = root / "Fifo"
    fifo.mkdir(parents=True)
    os.mkfifo(fifo / "META_Fifo.json")
    zero = root / "Zero"
    zero.mkdir()
    (zero / "META_Zero.json").symlink_to("/dev/zero")
    nul = make_dataset(root, "Nul")
    meta = nul / "META_Nul.json"
    record = json.loads(meta.read_text(encoding="utf-8"))
    record["resources"].append({"location": "a\u0000b.csv", "description": "NUL"})
    meta.write_text(json.dumps(record), encoding="utf-8")
    for folder in (fifo, zero, nul):
        drop_semaphore(folder)
    return {"Fifo": fifo, "Zero": zero, "Nul": nul}


def failed_status(folder: Path) -> dict | None:
    status = status_file(folder)
    return status if status and status.get("status") == "failed" else None


def test_hostile_metadata_fails_its_dataset_and_the_next_one_publishes(
    tmp_path: Path, emulator: Emulator, notify: NotifySocket
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    root = tmp_path / "storage"
    env = base_env(NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC="400000")
    daemon = DaemonProcess(config, tmp_path / "daemon.log", env=env)
    try:
        daemon.wait_log("watcher ready")
        hostile = hostile_datasets(root)
        for name, folder in hostile.items():
            status = wait_for(lambda f=folder: failed_status(f), 20, f"{name} failed")
            assert status["error"], name
        assert "symbolic link" in status_file(hostile["Zero"])["error"]
        assert "not a valid file name" in status_file(hostile["Nul"])["error"]
        good = make_dataset(root, "Good", semaphore=True)
        wait_for(
            lambda: (s := status_file(good)) and s.get("status") == "draft", 20, "Good published"
        )
        pings = notify.lines().count("WATCHDOG=1")
        wait_for(lambda: notify.lines().count("WATCHDOG=1") >= pings + 3, 10, "watchdog pings")
        assert not daemon.find("health check failed: no watchdog ping")
    finally:
        code = daemon.stop()
    assert code == 0, "the daemon stops in time: no thread is stuck on a FIFO"
    assert len(emulator.depositions()) == 1  # only Good reached Zenodo


def symlinked_semaphore_dataset(root: Path, tmp_path: Path) -> Path:
    folder = make_dataset(root, "Linked")
    (tmp_path / "elsewhere").write_text("")
    (folder / SEMAPHORE).symlink_to(tmp_path / "elsewhere")
    return folder


def test_run_once_and_scan_report_a_symlinked_semaphore_as_failed(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url, **{"storage.settle": 0})
    root = tmp_path / "storage"
    linked = symlinked_semaphore_dataset(root, tmp_path)
    good = make_dataset(root, "Good", semaphore=True)

    scan = run_cli("scan", "--config", str(config))
    assert sorted(line.split("\t")[0] for line in scan.stdout.splitlines()) == ["Good", "Linked"]

    once = run_cli("run", "--once", "--config", str(config))
    assert once.returncode == 1, once.stderr[-2000:]
    assert once.stdout.strip().splitlines()[-1] == "0 published, 1 draft, 1 failed"
    status = status_file(linked)
    assert status["status"] == "failed"
    assert "symbolic link" in status["error"] and status["hint"]
    assert status_file(good)["status"] == "draft"
    assert (tmp_path / "elsewhere").read_text() == ""  # never followed, never written
    assert len(emulator.depositions()) == 1
    # the refusal was recorded as handled: nothing awaits processing until the link changes
    assert run_cli("scan", "--config", str(config)).stdout == ""
    again = run_cli("run", "--once", "--config", str(config))
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.strip().splitlines()[-1] == "0 published, 0 draft, 0 failed"


def test_daemon_fails_a_symlinked_semaphore_once_and_keeps_publishing(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url, **{"storage.rescan_interval": 0.3})
    root = tmp_path / "storage"
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        linked = symlinked_semaphore_dataset(root, tmp_path)
        wait_for(lambda: failed_status(linked), 20, "Linked failed")
        assert "symbolic link" in status_file(linked)["error"]
        good = make_dataset(root, "Good", semaphore=True)
        wait_for(
            lambda: (s := status_file(good)) and s.get("status") == "draft", 20, "Good published"
        )
        rescans = len(daemon.find("rescan done"))
        wait_for(lambda: len(daemon.find("rescan done")) >= rescans + 4, 20, "more rescans")
        assert len(daemon.find("publishing", dataset="Linked")) == 1, "not retried in a loop"
    finally:
        assert daemon.stop() == 0
