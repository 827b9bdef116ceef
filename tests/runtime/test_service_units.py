"""Service pieces that need no network: scan against a real journal, config diffs, the lock."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
from testkit import TOKEN
from testkit.daemon import drop_semaphore, make_dataset, write_config

from maggot_zenodo.config import load_config
from maggot_zenodo.lock import InstanceLock
from maggot_zenodo.runtime.service import (
    Daemon,
    Runtime,
    Wakeup,
    config_changes,
    pending_datasets,
    pending_reason,
    run_daemon,
    run_once,
    run_scan,
)
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.state.journal import Journal


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ZENODO_TOKEN", TOKEN)
    return write_config(tmp_path, "http://127.0.0.1:9")


def test_scan_lists_only_unhandled_semaphores_with_reasons(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(config_file)
    root = config.storage.root
    handled = make_dataset(root, "Handled", semaphore=True)
    touched = make_dataset(root, "deep/er/Touched", semaphore=True)
    failed = make_dataset(root, "Failed", semaphore=True)
    make_dataset(root, "New", semaphore=True)
    make_dataset(root, "Quiet")
    journal = Journal(config.state)
    try:
        url = config.zenodo.url
        for folder in (handled, touched, failed):
            row = journal.dataset(url, "acct", folder.relative_to(root).as_posix(), str(folder))
            fp = semaphore_fingerprint(folder / "META_datafile_ok.txt")
            status = "failed" if folder is failed else "draft"
            journal.update(
                row.id,
                status=status,
                error="Zenodo is unavailable" if folder is failed else None,
                handled_fingerprint=None if folder is failed else fp,
            )
        time.sleep(0.01)
        drop_semaphore(touched)
        found = dict(
            (f.relative_to(root).as_posix(), why) for f, why in pending_datasets(config, journal)
        )
    finally:
        journal.close()
    assert found == {
        "deep/er/Touched": "semaphore touched since the last publication",
        "Failed": "last attempt failed: Zenodo is unavailable",
        "New": "new semaphore, never processed",
    }
    assert run_scan(config) == 0
    lines = sorted(capsys.readouterr().out.splitlines())
    assert lines == sorted(f"{k}\t{v}" for k, v in found.items())


def test_scan_without_a_state_file_lists_everything_and_creates_nothing(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(config_file)
    make_dataset(config.storage.root, "One", semaphore=True)
    assert run_scan(config) == 0
    assert capsys.readouterr().out == "One\tnew semaphore, never processed\n"
    assert not config.state.exists()


def test_pending_reason_words() -> None:
    @dataclasses.dataclass
    class Row:
        status: str
        error: str | None = None

    assert pending_reason(None) == "new semaphore, never processed"
    assert pending_reason(Row("publishing")) == "interrupted before it finished"
    assert pending_reason(Row("failed", None)) == "last attempt failed: unknown error"
    assert pending_reason(Row("published")) == "semaphore touched since the last publication"


def test_config_changes_names_dotted_keys(config_file: Path) -> None:
    old = load_config(config_file)
    new = dataclasses.replace(
        old,
        workers=5,
        zenodo=dataclasses.replace(old.zenodo, publish=True),
        storage=dataclasses.replace(old.storage, settle=3.0),
    )
    assert config_changes(old, new) == ["storage.settle", "zenodo.publish", "workers"]
    assert config_changes(old, old) == []


@pytest.mark.parametrize("runner", ["once", "daemon"])
def test_a_second_instance_is_refused(
    config_file: Path, runner: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(config_file)
    with InstanceLock(config.state):
        code = run_once(config) if runner == "once" else run_daemon(config, config_file)
    assert code == 1
    err = capsys.readouterr().err
    assert "another maggot-zenodo (pid " in err
    assert f"is already running on {config.state}" in err


def test_wakeup_pipe_wakes_a_waiter() -> None:
    wake = Wakeup()
    try:
        threading.Timer(0.05, wake.set).start()
        start = time.monotonic()
        wake.wait(5)
        assert time.monotonic() - start < 2
        start = time.monotonic()
        wake.wait(0.05)  # drained: this one times out
        assert time.monotonic() - start >= 0.04
    finally:
        wake.close()


@pytest.mark.parametrize("runner", ["once", "daemon"])
def test_a_missing_token_stops_the_start_with_the_fix(
    config_file: Path,
    runner: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ZENODO_TOKEN", raising=False)
    config = load_config(config_file)
    code = run_once(config) if runner == "once" else run_daemon(config, config_file)
    assert code == 2
    err = capsys.readouterr().err
    assert "zenodo.token: The environment variable ZENODO_TOKEN is not set." in err
    assert "Fix: " in err
    assert not config.state.exists()


def test_health_check_fails_when_the_watcher_dies(config_file: Path) -> None:
    config = load_config(config_file)
    daemon = Daemon(config, config_file)
    daemon.runtime = Runtime(config, retries=True)
    runtime = daemon.runtime
    runtime.pool.start()
    runtime.settler.start()
    daemon._start_watcher()
    try:
        assert daemon.watcher.wait_ready(10)
        assert daemon.healthy()
        assert daemon.status_text() == (
            f"watching {config.storage.root} (inotify): 0 queued, 0 publishing, 0 done, 0 failed"
        )
        daemon.watcher.stop()
        assert not daemon.healthy()
    finally:
        daemon.watcher.stop()
        runtime.drain()
        runtime.close()
    assert not runtime.settler.alive()
