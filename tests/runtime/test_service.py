"""The daemon runtime end to end: real emulator, real daemon subprocesses, real inotify,
real signals, a real NOTIFY_SOCKET."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from testkit import Emulator, wait_for
from testkit.daemon import (
    BIN,
    DaemonProcess,
    NotifySocket,
    base_env,
    drop_semaphore,
    make_dataset,
    run_cli,
    status_file,
    write_config,
)


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324 - Zenodo's checksum


def deposit_files(dep: dict) -> dict[str, dict]:
    files = dep.get("files") or []
    return {(f.get("key") or f.get("filename")): f for f in files}


def test_daemon_publishes_a_dropped_semaphore_and_talks_to_systemd(
    tmp_path: Path, emulator: Emulator, notify: NotifySocket
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    root = tmp_path / "storage"
    env = base_env(NOTIFY_SOCKET=str(notify.path), WATCHDOG_USEC="400000")
    daemon = DaemonProcess(config, tmp_path / "daemon.log", env=env)
    try:
        ready = notify.wait_line(lambda line: line == "READY=1")
        assert ready
        assert any(
            line.startswith(f"STATUS=watching {root} (inotify): ") for line in notify.lines()
        )
        daemon.wait_log("watcher ready")
        folder = make_dataset(root, "Alpha", size=50_000, semaphore=True)
        status = wait_for(
            lambda: (s := status_file(folder)) and s.get("status") == "draft" and s,
            timeout=20,
            what="META_zenodo.txt with a draft",
        )
        assert status["deposit_url"].startswith(emulator.base_url)
        assert isinstance(status["deposition_id"], int)
        notify.wait_line(lambda line: line.startswith("STATUS=") and "1 done, 0 failed" in line)
        # the watchdog pings every WATCHDOG_USEC/2 = 0.2 s while healthy
        wait_for(lambda: notify.lines().count("WATCHDOG=1") >= 3, 10, "watchdog pings")
        # a second instance on the same state is refused
        second = run_cli("run", "--config", str(config))
        assert second.returncode == 1
        assert f"another maggot-zenodo (pid {daemon.pid}) is already running on " in second.stderr
        assert str(tmp_path / "state" / "state.db") in second.stderr
    finally:
        code = daemon.stop()
    assert code == 0
    assert "STOPPING=1" in notify.lines()
    deps = emulator.depositions()
    assert len(deps) == 1
    files = deposit_files(deps[0])
    assert files["data.bin"]["checksum"].removeprefix("md5:") == md5_of(folder / "data.bin")
    # journald-ready fields ride on the log records
    record = daemon.find("publishing")[0]
    assert record["dataset"] == "Alpha" and record["status"] == "publishing"


def test_run_once_exit_codes_and_scan(tmp_path: Path, emulator: Emulator) -> None:
    config = write_config(tmp_path, emulator.base_url, **{"storage.settle": 0})
    root = tmp_path / "storage"
    good = [make_dataset(root, f"group/Good{i}", semaphore=True) for i in range(3)]
    make_dataset(root, "NoSemaphore")

    scan = run_cli("scan", "--config", str(config))
    assert scan.returncode == 0, scan.stderr
    listed = sorted(line.split("\t") for line in scan.stdout.splitlines())
    assert listed == [[f"group/Good{i}", "new semaphore, never processed"] for i in range(3)]

    once = run_cli("run", "--once", "--config", str(config))
    assert once.returncode == 0, once.stderr[-2000:]
    assert once.stdout.strip().splitlines()[-1] == "0 published, 3 draft, 0 failed"
    assert all(status_file(f)["status"] == "draft" for f in good)
    assert run_cli("scan", "--config", str(config)).stdout == ""

    again = run_cli("run", "--once", "--config", str(config))
    assert again.returncode == 0
    assert again.stdout.strip().splitlines()[-1] == "0 published, 0 draft, 0 failed"
    assert len(emulator.depositions()) == 3

    bad = make_dataset(root, "Broken", semaphore=True)
    (bad / "data.bin").unlink()  # declared but missing
    drop_semaphore(good[0])  # touched again: updated, same deposition
    failed = run_cli("run", "--once", "--config", str(config))
    assert failed.returncode == 1
    assert failed.stdout.strip().splitlines()[-1] == "0 published, 1 draft, 1 failed"
    assert status_file(bad)["status"] == "failed"
    assert len(emulator.depositions()) <= 4  # no second deposition for good[0]
    ids = {status_file(f)["deposition_id"] for f in good}
    assert len(ids) == 3


def test_triggers_during_a_run_coalesce_into_one_more_run(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    root = tmp_path / "storage"
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        emulator.set_faults(
            {"rate": 1.0, "kinds": ["slow"], "delay": 1.5, "methods": ["PUT"], "match": "/files/"}
        )
        folder = make_dataset(root, "Busy", semaphore=True)
        daemon.wait_log("publishing", dataset="Busy")
        for _ in range(4):  # four more requests while the first run uploads
            time.sleep(0.1)
            drop_semaphore(folder)
        emulator.set_faults({"rate": 0})
        wait_for(lambda: len(daemon.find("publishing", dataset="Busy")) >= 2, 30, "second run")
        wait_for(
            lambda: (s := status_file(folder)) and s.get("status") == "draft", 30, "second draft"
        )
        time.sleep(1.0)  # a third run, if the rule were broken, would start within this
        assert len(daemon.find("publishing", dataset="Busy")) == 2
    finally:
        assert daemon.stop() == 0
    assert len(emulator.depositions()) == 1


@pytest.mark.slow
def test_sigterm_during_an_upload_then_restart_completes_without_duplicate(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url, shutdown_timeout=0.5)
    root = tmp_path / "storage"
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        emulator.set_faults(
            {"rate": 1.0, "kinds": ["slow"], "delay": 3, "methods": ["PUT"], "match": "/files/"}
        )
        folder = make_dataset(root, "Big", size=20_000_000, semaphore=True)
        daemon.wait_log("publishing", dataset="Big")
        wait_for(lambda: emulator.depositions(), 20, "a deposition")
        # The upload is in flight: its body is in and the emulator holds the answer back.
        wait_for(lambda: emulator.state()["faults"]["injected"].get("slow"), 20, "a held upload")
        started = time.monotonic()
        daemon.signal(signal.SIGTERM)
        code = daemon.proc.wait(30)
        assert code == 0
        assert time.monotonic() - started < 0.5 + 10 + 5  # shutdown_timeout + grace + margin
    finally:
        daemon.stop()
    assert (status_file(folder) or {}).get("status") != "draft"
    emulator.set_faults({"rate": 0})
    restarted = DaemonProcess(config, tmp_path / "daemon2.log")
    try:
        wait_for(
            lambda: (s := status_file(folder)) and s.get("status") == "draft", 60, "resumed draft"
        )
    finally:
        assert restarted.stop() == 0
    deps = emulator.depositions()
    assert len(deps) == 1, "the restart reused the deposition"
    files = deposit_files(deps[0])
    assert files["data.bin"]["checksum"].removeprefix("md5:") == md5_of(folder / "data.bin")
    assert int(files["data.bin"].get("size") or files["data.bin"].get("filesize")) == 20_000_000


def test_sighup_reloads_the_configuration(
    tmp_path: Path, emulator: Emulator, notify: NotifySocket
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    root = tmp_path / "storage"
    env = base_env(NOTIFY_SOCKET=str(notify.path))
    daemon = DaemonProcess(config, tmp_path / "daemon.log", env=env)
    try:
        notify.wait_line(lambda line: line == "READY=1")
        daemon.wait_log("watcher ready")
        # a broken file is refused and the running configuration kept
        good_text = config.read_text()
        config.write_text("storage: [not, a, mapping\n")
        daemon.signal(signal.SIGHUP)
        refused = daemon.wait_log_matching("reload refused: ")
        assert str(config) in refused["error"]
        # a valid change takes effect: publish now, and 3 workers
        data = yaml.safe_load(good_text)
        data["zenodo"]["publish"] = True
        data["workers"] = 3
        config.write_text(yaml.safe_dump(data))
        daemon.signal(signal.SIGHUP)
        reloaded = daemon.wait_log_matching("reload: configuration reloaded")
        assert reloaded["changes"] == "zenodo.publish,workers"
        lines = notify.lines()
        assert "RELOADING=1" in lines
        assert lines.count("READY=1") >= 3  # start, after the refused reload, after the reload
        folder = make_dataset(root, "AfterReload", semaphore=True)
        status = wait_for(
            lambda: (s := status_file(folder)) and s.get("status") in ("published", "failed") and s,
            30,
            "publication",
        )
        assert status["status"] == "published", status
        assert status["doi"]
    finally:
        assert daemon.stop() == 0


def test_settle_holds_a_growing_file_until_it_stops(tmp_path: Path, emulator: Emulator) -> None:
    config = write_config(tmp_path, emulator.base_url, **{"storage.settle": 1.0})
    root = tmp_path / "storage"
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        folder = make_dataset(root, "Growing", size=1000)
        stop = threading.Event()
        last_write = [0.0]

        def grow() -> None:
            with (folder / "data.bin").open("ab") as fh:
                while not stop.wait(0.2):
                    fh.write(os.urandom(10_000))
                    fh.flush()
                    last_write[0] = time.time()

        writer = threading.Thread(target=grow)
        writer.start()
        try:
            drop_semaphore(folder)
            time.sleep(3.0)  # the copy goes on well past the settle time
            assert not daemon.find("publishing", dataset="Growing")
        finally:
            stop.set()
            writer.join()
        daemon.wait_log("publishing", dataset="Growing")
        wait_for(lambda: (s := status_file(folder)) and s.get("status") == "draft", 30, "draft")
    finally:
        assert daemon.stop() == 0
    first = daemon.find("publishing", dataset="Growing")[0]
    started = datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00")).timestamp()
    assert started >= last_write[0] + 1.0 - 0.05, "published before the files had settled"
    files = deposit_files(emulator.depositions()[0])
    assert files["data.bin"]["checksum"].removeprefix("md5:") == md5_of(folder / "data.bin")


def test_sighup_with_a_new_storage_root_restarts_the_watcher(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        other = tmp_path / "other-storage"
        waiting = make_dataset(other, "Waiting", semaphore=True)  # found by the new start scan
        data = yaml.safe_load(config.read_text())
        data["storage"]["root"] = str(other)
        data["state"] = str(tmp_path / "elsewhere.db")  # refused: needs a restart
        config.write_text(yaml.safe_dump(data))
        daemon.signal(signal.SIGHUP)
        reloaded = daemon.wait_log_matching("reload: configuration reloaded")
        assert reloaded["changes"] == "storage.root"
        daemon.wait_log_matching("reload: a new state file needs a restart")
        wait_for(lambda: (s := status_file(waiting)) and s.get("status") == "draft", 30, "draft")
        dropped = make_dataset(other, "Dropped", semaphore=True)  # seen by the new watches
        wait_for(lambda: (s := status_file(dropped)) and s.get("status") == "draft", 30, "draft")
    finally:
        assert daemon.stop() == 0
    assert not (tmp_path / "elsewhere.db").exists()
    assert len(daemon.find_matching("watching ")) == 2


def test_run_once_interrupted_by_sigterm_exits_1_and_leaves_the_rest(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(
        tmp_path, emulator.base_url, workers=1, shutdown_timeout=0.3, **{"storage.settle": 0}
    )
    root = tmp_path / "storage"
    folders = [make_dataset(root, f"Q{i}", semaphore=True) for i in range(3)]
    emulator.set_faults(
        {"rate": 1.0, "kinds": ["slow"], "delay": 2, "methods": ["PUT"], "match": "/files/"}
    )
    log = tmp_path / "once.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN), "run", "--once", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=out,
            env=base_env(),
            text=True,
        )
        wait_for(
            lambda: re.search(r'"event": "[^"]+: publishing"', log.read_text()),
            20,
            "a run in flight",
        )
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert time.monotonic() - started < 0.3 + 10 + 3
    assert stdout.strip().splitlines()[-1] == (
        "0 published, 0 draft, 0 failed, 3 not processed (interrupted)"
    )
    emulator.set_faults({"rate": 0})
    again = run_cli("run", "--once", "--config", str(config))
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.strip().splitlines()[-1] == "0 published, 3 draft, 0 failed"
    assert all(status_file(f)["status"] == "draft" for f in folders)
    assert len(emulator.depositions()) == 3
