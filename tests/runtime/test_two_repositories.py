"""The daemon's own runs (``run --once``, ``publish``, ``status``) on a site that publishes to
Zenodo and Dataverse, or to Dataverse alone (#14 §1): real subprocesses, both emulators over
loopback, the ten sample datasets.

Each semaphore is handled once every configured repository handled it; one repository failing
never holds the other back, and the retry asks only the one still pending. A repository added
to a site that already ran does not receive what was handled before it came.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import time
from pathlib import Path
from typing import Any

import yaml
from testkit.daemon import DaemonProcess, base_env, drop_semaphore, run_cli
from testkit.dataverse import make_site
from testkit.emulator import Emulator
from testkit.tokens import TOKEN
from testkit.waiting import wait_for

from maggot_zenodo.emulator.dataverse.runner import DataverseHandle


def _site(
    tmp_path: Path,
    samples_dir: Path,
    dv: DataverseHandle,
    zenodo: Emulator | None,
    **dataverse: Any,
) -> Path:
    """The samples' storage, a Dataverse section and (when ``zenodo``) a Zenodo one; every
    semaphore dropped later is a request (``existing: publish``)."""
    dataverse.setdefault("max_retries", 1)
    make_site(tmp_path, samples_dir, dv, **dataverse)
    config = tmp_path / "config.yaml"
    data = json.loads(config.read_text())
    data["storage"].update({"existing": "publish", "watch": "inotify", "settle": 0.1})
    data["shutdown_timeout"] = 5
    data["workers"] = 2
    if zenodo is not None:
        data["zenodo"] = {
            "url": zenodo.base_url,
            "token": {"env": "ZENODO_TOKEN"},
            "max_retries": 1,
        }
    config.write_text(json.dumps(data))
    return config


def _once(config: Path) -> Any:
    return run_cli("run", "--once", "--config", str(config), env=base_env())


def _status(folder: Path, name: str) -> dict[str, Any]:
    data = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _requests(dv: DataverseHandle) -> dict[str, Any]:
    requests: dict[str, Any] = dv.state()["requests"]
    return requests


def _outputs(*texts: str) -> str:
    return "\n".join(texts)


def test_both_repositories_one_failing_holds_nothing_back_and_the_retry_asks_only_it(
    tmp_path: Path, samples_dir: Path, dv: DataverseHandle, emulator: Emulator
) -> None:
    config = _site(tmp_path, samples_dir, dv, emulator)
    chosen = folders_of(config)[:2]
    for folder in chosen:
        drop_semaphore(folder)
    dv.set_faults(rate=1, kinds=["503"])  # Dataverse down for the whole first run

    first = _once(config)
    assert first.returncode == 1, first.stdout + first.stderr
    for folder in chosen:
        assert _status(folder, "META_zenodo.txt")["status"] == "draft"
        dv_status = _status(folder, "META_dataverse.txt")
        assert dv_status["status"] == "failed" and dv_status["error"]
    assert len(emulator.depositions()) == 2
    assert dv.state()["datasets"] == []

    dv.set_faults(rate=0)
    zenodo_writes = emulator.writes()
    second = _once(config)
    assert second.returncode == 0, second.stdout + second.stderr
    assert emulator.writes() == zenodo_writes  # Zenodo had handled them: not asked again
    assert len(dv.state()["datasets"]) == 2
    for folder in chosen:
        assert _status(folder, "META_dataverse.txt")["status"] == "draft"
        assert _status(folder, "META_zenodo.txt")["status"] == "draft"

    dv_writes = _requests(dv)["writes"]
    third = _once(config)
    assert third.returncode == 0
    assert (emulator.writes(), _requests(dv)["writes"]) == (zenodo_writes, dv_writes)

    status = run_cli("status", "--config", str(config), env=base_env())
    assert status.returncode == 0
    header = status.stdout.splitlines()[0].split()
    assert header[:3] == ["FOLDER", "REPOSITORY", "STATUS"]
    rows = json.loads(run_cli("status", "--json", "--config", str(config), env=base_env()).stdout)[
        "datasets"
    ]
    assert sorted((r["folder"], r["repository"]) for r in rows) == sorted(
        (str(f.relative_to(tmp_path / "storage")), repo)
        for f in chosen
        for repo in ("zenodo", "dataverse")
    )
    everything = _outputs(first.stdout, first.stderr, second.stdout, second.stderr, status.stdout)
    assert TOKEN not in everything


def test_a_dataverse_only_site_publishes_there_and_writes_no_zenodo_file(
    tmp_path: Path, samples_dir: Path, dv: DataverseHandle
) -> None:
    config = _site(tmp_path, samples_dir, dv, None)
    folder = folders_of(config)[0]
    drop_semaphore(folder)

    done = _once(config)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 draft" in done.stdout
    assert not (folder / "META_zenodo.txt").exists()
    status = _status(folder, "META_dataverse.txt")
    assert status["status"] == "draft" and status["dataset_url"].startswith(dv.base_url)
    assert [d["otherIds"] for d in dv.state()["datasets"]] != []

    again = run_cli("publish", str(folder), "--config", str(config), env=base_env())
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("draft: ")  # one repository: 0.1.0's output, unprefixed
    assert len(dv.state()["datasets"]) == 1

    adopt = run_cli("adopt", str(folder), "7", "--config", str(config), env=base_env())
    assert adopt.returncode == 2
    assert "publishes to Dataverse only" in adopt.stderr and "Traceback" not in adopt.stderr


def test_publish_prints_each_repository_and_exits_1_when_one_fails(
    tmp_path: Path, samples_dir: Path, dv: DataverseHandle, emulator: Emulator
) -> None:
    config = _site(tmp_path, samples_dir, dv, emulator)
    folder = folders_of(config)[0]
    dv.set_faults(rate=1, kinds=["503"])
    done = run_cli("publish", str(folder), "--config", str(config), env=base_env())
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("zenodo: draft: ")
    assert any(line.startswith("dataverse: failed: ") for line in lines)
    assert "dataverse: (a temporary problem" in done.stdout
    assert _status(folder, "META_zenodo.txt")["status"] == "draft"


def test_a_repository_added_later_does_not_receive_what_was_handled_before_it(
    tmp_path: Path, samples_dir: Path, dv: DataverseHandle, emulator: Emulator
) -> None:
    config = _site(tmp_path, samples_dir, dv, emulator)
    data = json.loads(config.read_text())
    dataverse = data.pop("dataverse")
    del data["storage"]["existing"]  # the default: what is there at a start is not a request
    config.write_text(json.dumps(data))  # Zenodo only, at first
    old, new = folders_of(config)[:2]
    assert _once(config).returncode == 0  # the first start: its baseline (no semaphore yet)
    drop_semaphore(old)
    assert _once(config).returncode == 0
    assert _status(old, "META_zenodo.txt")["status"] == "draft"

    data["dataverse"] = dataverse
    config.write_text(json.dumps(data))
    drop_semaphore(new)
    scan = run_cli("scan", "--config", str(config), env=base_env())
    assert scan.returncode == 0, scan.stderr
    listed = [line.split("\t")[0] for line in scan.stdout.splitlines()]
    assert listed == [str(new.relative_to(tmp_path / "storage"))]  # what the run will send
    later = _once(config)
    assert later.returncode == 0, later.stdout + later.stderr
    assert "dataverse is newly configured: 1 datasets handled before it came" in later.stderr
    assert not (old / "META_dataverse.txt").exists()
    assert _status(new, "META_dataverse.txt")["status"] == "draft"
    assert _status(new, "META_zenodo.txt")["status"] == "draft"
    assert len(dv.state()["datasets"]) == 1

    drop_semaphore(old)  # asked again: now it goes to both
    zenodo_before = len(emulator.depositions())
    assert _once(config).returncode == 0
    assert _status(old, "META_dataverse.txt")["status"] == "draft"
    assert len(dv.state()["datasets"]) == 2
    assert len(emulator.depositions()) == zenodo_before


def test_kill_9_of_the_daemon_mid_run_then_a_restart_leaves_one_dataset_per_repository(
    tmp_path: Path, samples_dir: Path, dv: DataverseHandle, emulator: Emulator
) -> None:
    config = _site(tmp_path, samples_dir, dv, emulator)
    chosen = folders_of(config)[:3]
    for folder in chosen:
        drop_semaphore(folder)
    dv.set_faults(rate=1, kinds=["slow"], delay=0.05)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        wait_for(lambda: _requests(dv)["writes"] >= 6 or None, 60, "Dataverse writes under way")
        daemon.signal(signal.SIGKILL)
        daemon.proc.wait(10)
    finally:
        daemon.stop()
    dv.set_faults(rate=0)

    def final(folder: Path, name: str) -> str | None:
        try:
            status = str(_status(folder, name)["status"])
        except (FileNotFoundError, AssertionError):
            return None
        return status if status in ("draft", "failed") else None

    again = DaemonProcess(config, tmp_path / "daemon2.log")
    try:
        for folder in chosen:
            for name in ("META_zenodo.txt", "META_dataverse.txt"):
                wait_for(lambda f=folder, n=name: final(f, n), 90, f"{folder.name} {name}")
                assert final(folder, name) == "draft", (folder, name, _status(folder, name))
    finally:
        assert again.stop() == 0
    assert len(dv.state()["datasets"]) == len(chosen)
    assert len(emulator.depositions()) == len(chosen)
    logs = (tmp_path / "daemon.log").read_text() + (tmp_path / "daemon2.log").read_text()
    assert TOKEN not in logs and "Traceback" not in logs


def test_the_daemon_retries_only_the_failing_repository_and_says_when(
    tmp_path: Path, samples_dir: Path, dv: DataverseHandle, emulator: Emulator
) -> None:
    config = _site(tmp_path, samples_dir, dv, emulator)
    folder = folders_of(config)[0]
    dv.set_faults(rate=1, kinds=["503"])
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        started = time.time()
        drop_semaphore(folder)
        daemon.wait_log_matching(": retry in ", 60)
        failed = wait_for(
            lambda: (s := _status(folder, "META_dataverse.txt")).get("next_attempt") and s,
            10,
            "next_attempt in META_dataverse.txt",
        )
        due = dt.datetime.fromisoformat(failed["next_attempt"]).timestamp()
        assert started + 50 <= due <= time.time() + 61  # the first retry: a minute later
        assert "retried later" in failed["hint"]
        zenodo = _status(folder, "META_zenodo.txt")
        assert zenodo["status"] == "draft" and "next_attempt" not in zenodo
    finally:
        assert daemon.stop() == 0


def folders_of(config: Path) -> list[Path]:
    root = Path(json.loads(config.read_text())["storage"]["root"])
    return sorted(p.parent for p in root.rglob("META_*.json") if p.name != "META_zenodo.txt")
