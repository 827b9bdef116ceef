"""The baseline at first start (#9 §1), with real daemons against a real emulator.

0.1.0 made a draft for every semaphore already in the storage space at its first start (Maggot
never deletes them), and again for every one after its journal was lost."""

from __future__ import annotations

import os
from pathlib import Path

from testkit import Emulator, wait_for
from testkit.daemon import (
    DaemonProcess,
    drop_semaphore,
    make_dataset,
    run_cli,
    status_file,
    write_config,
)


def ignore_config(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path, url, **{"storage.existing": "ignore", "storage.settle": 0})


def once(config: Path) -> str:
    result = run_cli("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr[-2000:]
    return str(result.stdout.strip().splitlines()[-1])


def titles(emulator: Emulator) -> list[str]:
    return sorted(d["title"].split()[2] for d in emulator.depositions())


def test_old_semaphores_are_a_baseline_and_a_touch_is_a_request(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = ignore_config(tmp_path, emulator.base_url)
    root = tmp_path / "storage"
    old = [make_dataset(root, f"2019/Old{i}", semaphore=True) for i in range(3)]

    scan = run_cli("scan", "--config", str(config))  # before any start: what it will do
    assert scan.returncode == 0
    assert sorted(scan.stdout.splitlines()) == [
        f"2019/Old{i}\tbaselined at the first start (storage.existing: ignore); "
        "touch the semaphore to publish"
        for i in range(3)
    ]
    assert "nothing pending (0 datasets known, 3 baselined)" in scan.stderr

    assert once(config) == "0 published, 0 draft, 0 failed"
    assert emulator.depositions() == []
    assert all(status_file(f) is None for f in old)
    scan = run_cli("scan", "--config", str(config))
    assert sorted(scan.stdout.splitlines()) == [
        f"2019/Old{i}\tbaselined: already there at the first start; touch the semaphore to publish"
        for i in range(3)
    ]
    assert once(config) == "0 published, 0 draft, 0 failed"  # a second start: still baselined

    drop_semaphore(old[1])  # touched while no daemon runs
    new = make_dataset(root, "2024/New", semaphore=True)
    assert once(config) == "0 published, 2 draft, 0 failed"
    assert titles(emulator) == ["New", "Old1"]
    assert status_file(old[0]) is None

    # `publish DIR` still publishes a baselined dataset on demand
    published = run_cli("publish", str(old[2]), "--config", str(config))
    assert published.returncode == 0, published.stderr[-2000:]
    assert titles(emulator) == ["New", "Old1", "Old2"]
    assert once(config) == "0 published, 0 draft, 0 failed"
    assert status_file(new)["status"] == "draft"


def test_a_lost_journal_starts_a_new_baseline_loudly_and_republishes_nothing(
    tmp_path: Path, emulator: Emulator
) -> None:
    for existing in ("ignore", "publish"):
        config = write_config(
            tmp_path, emulator.base_url, **{"storage.existing": existing, "storage.settle": 0}
        )
        root = tmp_path / "storage"
        if existing == "ignore":
            make_dataset(root, "A", semaphore=True)  # baselined at the first start
            for name in ("B", "C"):
                make_dataset(root, name)
            assert once(config) == "0 published, 0 draft, 0 failed"
            for name in ("B", "C"):
                drop_semaphore(root / name)
            assert once(config) == "0 published, 2 draft, 0 failed"
        state = tmp_path / "state" / "state.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{state}{suffix}").unlink(missing_ok=True)
        log = tmp_path / f"daemon-{existing}.log"
        daemon = DaemonProcess(config, log)
        try:
            warning = daemon.wait_log_matching("the journal was lost or deleted")
            assert warning["level"] == "warning"
            assert str(state) in warning["event"]
            orphans = 2 if existing == "ignore" else 3  # B, C (+ Fresh-ignore the 2nd time)
            assert warning["state"] == str(state) and warning["orphaned"] == orphans
            daemon.wait_log("watcher ready")
            fresh = make_dataset(root, f"Fresh-{existing}", semaphore=True)
            wait_for(lambda f=fresh: (status_file(f) or {}).get("status") == "draft", 30, "fresh")
        finally:
            assert daemon.stop() == 0
        if existing == "ignore":
            assert titles(emulator) == ["B", "C", "Fresh-ignore"]
            assert status_file(root / "A") is None
        else:  # publish: a semaphore never handled (A) is a request; B, C are not republished
            wait_for(lambda: len(emulator.depositions()) == 5, 10, "A")
            assert titles(emulator) == ["A", "B", "C", "Fresh-ignore", "Fresh-publish"]


def test_existing_publish_keeps_the_old_behaviour(tmp_path: Path, emulator: Emulator) -> None:
    config = write_config(
        tmp_path, emulator.base_url, **{"storage.existing": "publish", "storage.settle": 0}
    )
    root = tmp_path / "storage"
    for i in range(2):
        make_dataset(root, f"Old{i}", semaphore=True)
    assert once(config) == "0 published, 2 draft, 0 failed"
    assert os.path.exists(root / "Old0" / "META_zenodo.txt")
