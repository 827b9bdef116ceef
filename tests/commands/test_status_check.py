"""``maggot-zenodo status --check``: Nagios exit codes and one line of perfdata, against real
daemon and emulator subprocesses (a healthy site, failed datasets, a stopped daemon, Zenodo
down or refusing the token, a dataset pending too long)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit import TOKEN, Emulator, wait_for
from testkit.daemon import DaemonProcess, base_env, make_dataset, run_cli, status_file, write_config

from maggot_zenodo.commands.status_check import lock_holder
from maggot_zenodo.lock import InstanceLock
from maggot_zenodo.state.journal import Journal

LINE = re.compile(
    r"^MAGGOT-ZENODO (OK|WARNING|CRITICAL|UNKNOWN) - (?P<text>[^|\n]+) \| "
    r"queued=(\d+) publishing=(\d+) draft=(?P<draft>\d+) published=(\d+) "
    r"failed=(?P<failed>\d+) baselined=(\d+)(?: \S+=\d+)* oldest_pending=(?P<age>\d+)s\n$"
)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator.spawn(tmp_path / "emulator", "--token", TOKEN)
    yield emu
    emu.stop()


def _check(config: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    started = time.monotonic()
    res = run_cli("status", "--check", "--config", str(config), *extra, env=env, timeout=60)
    assert time.monotonic() - started < 30  # bounded, whatever the network does
    assert res.stderr == "" and TOKEN not in res.stdout
    assert LINE.match(res.stdout), res.stdout
    return res.returncode, res.stdout


def _publish_one(root: Path, name: str, *, broken: bool = False) -> Path:
    folder = make_dataset(root, name)
    if broken:
        meta = folder / f"META_{folder.name}.json"
        record = json.loads(meta.read_text(encoding="utf-8"))
        record["resources"][0]["location"] = "missing.bin"
        meta.write_text(json.dumps(record), encoding="utf-8")
    (folder / "META_datafile_ok.txt").touch()
    wait_for(lambda: (s := status_file(folder)) and s["status"] in ("draft", "failed"), 30, name)
    return folder


def test_a_healthy_site_is_ok_and_failures_warn_then_a_stopped_daemon_is_critical(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    root = tmp_path / "storage"
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        _publish_one(root, "2024/good")
        code, line = _check(config)
        assert code == 0, line
        assert line.startswith(
            f"MAGGOT-ZENODO OK - daemon running (pid {daemon.pid}), Zenodo reachable, "
            "1 dataset known | "
        )
        assert line.endswith(
            "| queued=0 publishing=0 draft=1 published=0 failed=0 baselined=0 oldest_pending=0s\n"
        )
        _publish_one(root, "2024/broken", broken=True)
        code, line = _check(config)
        assert code == 1 and line.startswith("MAGGOT-ZENODO WARNING - 1 dataset failed, daemon")
        assert " failed=1 " in line
        code, line = _check(config, "--warn-failed", "2")
        assert code == 0, line
        code, line = _check(config, "--warn-failed", "0")
        assert code == 0, line
    finally:
        assert daemon.stop() == 0
    code, line = _check(config)
    lock = f"{tmp_path / 'state' / 'state.db'}.lock"
    assert code == 2
    assert line.startswith(f"MAGGOT-ZENODO CRITICAL - daemon not running (lock {lock} is free)")
    assert "1 dataset failed" in line  # the other findings are still reported


def test_zenodo_unreachable_or_refusing_the_token_is_critical(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        code, line = _check(config, env=base_env(ZENODO_TOKEN="not-the-right-token-123456"))
        assert code == 2
        assert line.startswith(
            f"MAGGOT-ZENODO CRITICAL - Zenodo {emulator.base_url} refuses the token"
        )
        assert "not-the-right-token-123456" not in line
        emulator.stop()
        code, line = _check(config, "--timeout", "3")
        assert code == 2
        assert line.startswith(f"MAGGOT-ZENODO CRITICAL - Zenodo {emulator.base_url} unreachable")
        code, line = _check(config, "--no-zenodo")
        assert code == 0 and "Zenodo" not in line
    finally:
        assert daemon.stop() == 0


def test_a_dataset_pending_too_long_warns(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    state = tmp_path / "state" / "state.db"
    journal = Journal(state)
    try:
        row = journal.dataset("http://127.0.0.1:9", "site", "old", str(tmp_path / "old"))
        journal.update(row.id, status="queued", updated=time.time() - 5400)
    finally:
        journal.close()
    with InstanceLock(state):  # stands for the running daemon
        code, line = _check(config, "--no-zenodo")
        assert code == 1
        assert line.startswith(
            "MAGGOT-ZENODO WARNING - a dataset has been pending for 1h 30m (more than 1h 0m)"
        )
        age = int(LINE.match(line)["age"])  # type: ignore[index]  # matched in _check
        assert 5390 <= age <= 5460
        code, line = _check(config, "--no-zenodo", "--pending-age", "6000")
        assert code == 0, line
        code, line = _check(config, "--no-zenodo", "--pending-age", "0")
        assert code == 0, line


def test_a_bad_configuration_is_unknown(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("storage: {root: /x}\nzenodo: {tokn: 1}\n", encoding="utf-8")
    res = run_cli("status", "--check", "--config", str(config))
    assert res.returncode == 3
    assert res.stdout.startswith(f"MAGGOT-ZENODO UNKNOWN - {config}: zenodo.tokn: unknown key")
    missing = run_cli("status", "--check", "--config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 3 and missing.stdout.startswith("MAGGOT-ZENODO UNKNOWN - ")


def test_the_lock_holder_is_read_without_touching_the_lock(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    assert lock_holder(state) is None  # no lock file at all
    with InstanceLock(state) as held:
        assert held.held
        holder = lock_holder(state)
        assert holder is not None and holder >= 0
    assert lock_holder(state) is None  # the file remains, nobody holds it
    fake = tmp_path / "locks"
    fake.write_text("1: POSIX  ADVISORY  WRITE 77 00:00:1 0 EOF\n", encoding="ascii")
    assert lock_holder(state, fake) is None


def test_help_documents_the_thresholds() -> None:
    res = run_cli("status", "--help")
    assert res.returncode == 0
    text = " ".join(res.stdout.split())
    for words in (
        "--warn-failed N",
        "--pending-age SECONDS",
        "--no-zenodo",
        "--wide",
        "exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN",
        "default 1; 0: never",
        "default 3600; 0: never",
    ):
        assert words in text, words


def test_the_line_stays_one_line_whatever_a_message_quotes(tmp_path: Path) -> None:
    state = tmp_path / "odd|name\nhere" / "state.db"  # quoted by the error message
    config = write_config(tmp_path, "http://127.0.0.1:9", state=str(state))
    state.parent.mkdir()
    state.write_text("not a journal\n" * 200, encoding="utf-8")
    code, line = _check(config, "--no-zenodo")
    assert code == 3 and line.count("|") == 1 and line.count("\n") == 1
    assert "odd/name here" in line
