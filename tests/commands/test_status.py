"""``maggot-zenodo status``: counts by state from the journal (surviving a restart), the JSON
summary, whole errors (wrapped or ``--wide``), and the message to a user without access.

Real daemon and emulator subprocesses, real SQLite journals, a real unprivileged user."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit import TOKEN, Emulator, wait_for
from testkit.daemon import DaemonProcess, base_env, make_dataset, run_cli, status_file, write_config

from maggot_zenodo.commands.status import render_table
from maggot_zenodo.state.journal import Journal

STATES = ["queued", "publishing", "draft", "published", "failed", "baselined"]
ACCESS = "permission denied: run as root or as a member of group maggot-zenodo"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator.spawn(tmp_path / "emulator")
    yield emu
    emu.stop()


def _broken_dataset(root: Path, name: str) -> Path:
    """A dataset declaring a data file that does not exist: it fails with a message."""
    folder = make_dataset(root, name)
    meta = folder / f"META_{folder.name}.json"
    record = json.loads(meta.read_text(encoding="utf-8"))
    record["resources"][0]["location"] = "missing.bin"
    meta.write_text(json.dumps(record), encoding="utf-8")
    return folder


def _json_status(config: Path) -> dict:
    res = run_cli("status", "--json", "--config", str(config))
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_counts_by_state_come_from_the_journal_and_survive_a_restart(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    root = tmp_path / "storage"
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        good = [make_dataset(root, f"2024/ds{i}", semaphore=True) for i in range(2)]
        bad = _broken_dataset(root, "2024/broken")
        (bad / "META_datafile_ok.txt").touch()
        for folder in [*good, bad]:
            wait_for(
                lambda f=folder: (s := status_file(f)) and s["status"] in ("draft", "failed"),
                30,
                f"{folder.name} done",
            )
    finally:
        assert daemon.stop() == 0
    data = _json_status(config)  # the daemon is gone: only the journal answers
    summary = data["summary"]
    assert list(summary["counts"]) == STATES
    assert summary["counts"]["draft"] == 2 and summary["counts"]["failed"] == 1
    assert summary["total"] == 3 and summary["oldest_pending_age"] is None
    assert sorted(r["folder"] for r in data["datasets"]) == [
        "2024/broken",
        "2024/ds0",
        "2024/ds1",
    ]
    daemon = DaemonProcess(config, tmp_path / "daemon2.log")
    try:
        daemon.wait_log("watcher ready")
        assert _json_status(config)["summary"] == summary  # a restart changes no count
        text = run_cli("status", "--config", str(config))
    finally:
        assert daemon.stop() == 0
    assert text.returncode == 0
    assert text.stdout.splitlines()[-1] == (
        "3 datasets: 0 queued, 0 publishing, 2 draft, 0 published, 1 failed, 0 baselined"
    )
    assert TOKEN not in text.stdout + text.stderr


def _journal_with(tmp_path: Path, rows: list[tuple[str, dict]]) -> Path:
    """A config whose journal holds ``rows`` (folder, column values), written as the daemon
    writes them."""
    config = write_config(tmp_path, "http://127.0.0.1:9")
    journal = Journal(tmp_path / "state" / "state.db")
    try:
        for folder, values in rows:
            row = journal.dataset("http://127.0.0.1:9", "site", folder, str(tmp_path / folder))
            journal.update(row.id, **values)
    finally:
        journal.close()
    return config


def test_an_unknown_state_is_counted_not_dropped_and_pending_age_is_reported(
    tmp_path: Path,
) -> None:
    long_ago = time.time() - 7200
    config = _journal_with(
        tmp_path,
        [
            ("a", {"status": "archived"}),
            ("b", {"status": "queued", "updated": long_ago}),
            ("c", {"status": "published"}),
        ],
    )
    summary = _json_status(config)["summary"]
    assert summary["counts"] == {
        "queued": 1,
        "publishing": 0,
        "draft": 0,
        "published": 1,
        "failed": 0,
        "baselined": 0,
        "archived": 1,
    }
    assert summary["total"] == 3
    assert 7190 < summary["oldest_pending_age"] < 7300
    text = run_cli("status", "--config", str(config)).stdout.splitlines()[-1]
    assert text.startswith("3 datasets: 1 queued, 0 publishing") and "1 archived" in text
    assert text.endswith("; oldest pending 2h 0m")


LONG_ERROR = (
    "the declared file “results/2024/very-long-name-of-a-measurement-file.csv” does not "
    "exist in the dataset folder; the researcher must copy it there or remove it from the "
    "resources of the Maggot record, then touch META_datafile_ok.txt again"
)


def test_errors_are_shown_whole_wrapped_to_the_terminal_or_on_one_line_when_wide(
    tmp_path: Path,
) -> None:
    config = _journal_with(tmp_path, [("2024/frim1", {"status": "failed", "error": LONG_ERROR})])
    env = base_env(COLUMNS="160")
    wrapped = run_cli("status", "--config", str(config), env=env)
    assert wrapped.returncode == 0
    lines = wrapped.stdout.splitlines()[:-1]  # the last line is the summary
    assert all(len(line) <= 160 for line in lines), lines
    assert len(lines) > 2  # the header, the row, and the error's further lines
    column = lines[0].index("ERROR")
    assert all(line[:column].strip() == "" for line in lines[2:])  # under the ERROR column
    assert " ".join(line[column:].strip() for line in lines[1:]) == LONG_ERROR
    wide = run_cli("status", "--wide", "--config", str(config), env=env)
    [row] = [line for line in wide.stdout.splitlines() if line.startswith("2024/frim1")]
    assert row.endswith(LONG_ERROR)


def test_a_narrow_terminal_puts_the_error_on_lines_of_its_own() -> None:
    row = {
        "folder": "f" * 50,
        "status": "failed",
        "deposition_id": None,
        "deposit_url": "http://127.0.0.1:9/deposit/1234567",
        "doi": None,
        "files": 0,
        "updated": "2026-12-03T13:00:00+00:00",
        "error": LONG_ERROR,
    }
    lines = render_table([row], 60)
    assert lines[1].startswith("f" * 50) and "the declared" not in lines[1]
    assert all(line.startswith("    ") and len(line) <= 60 for line in lines[2:])
    assert " ".join(line.strip() for line in lines[2:]) == LONG_ERROR
    narrower = render_table([row], 40)  # a path longer than the column stays whole
    assert "    “results/2024/very-long-name-of-a-measurement-file.csv”" in narrower
    fine = render_table([{**row, "status": "draft", "error": None}], 60)
    assert len(fine) == 2 and fine[1].endswith("  -")  # no error: nothing wraps


def test_two_repositories_get_a_repository_column_after_the_folder() -> None:
    rows = [
        {"folder": "a", "repository": repo, "status": "draft", "deposition_id": 1,
         "deposit_url": "u", "doi": None, "files": 1, "updated": "t", "error": None}
        for repo in ("zenodo", "dataverse")
    ]  # fmt: skip
    lines = render_table(rows, None, repositories=True)
    assert lines[0].split()[:3] == ["FOLDER", "REPOSITORY", "STATUS"]
    assert [line.split()[1] for line in lines[1:]] == ["zenodo", "dataverse"]
    assert "REPOSITORY" not in render_table(rows, None)[0]


# The interpreter lives under root's home, which another user may not enter: the command runs
# in a root process that loads what it needs, then drops to nobody for good before main().
_AS_NOBODY = """
import os, sys
import maggot_zenodo.cli as cli
import maggot_zenodo.commands.status, maggot_zenodo.commands.status_check
import maggot_zenodo.state.journal, maggot_zenodo.state.summary, sqlite3, textwrap, shutil
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
assert os.geteuid() == 65534 and os.getegid() == 65534 and not os.getgroups()
sys.exit(cli.main(sys.argv[1:]))
"""


def _as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _AS_NOBODY, *args],
        capture_output=True,
        text=True,
        env=base_env(),
        timeout=60,
        check=False,
        cwd="/",
    )


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder outside root's private pytest tree, so that an unprivileged user may reach
    the configuration file in it."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run a command as another user")
    base = Path(tempfile.mkdtemp(prefix="maggot-zenodo-status-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def test_a_user_without_access_is_told_to_become_root_or_join_the_group(
    shared_dir: Path,
) -> None:
    config = _journal_with(shared_dir, [("a", {"status": "draft"})])
    config.chmod(0o644)
    (shared_dir / "state").chmod(0o750)  # the state folder: root and its group only
    denied = _as_nobody("status", "--config", str(config))
    assert denied.returncode == 2, denied.stdout + denied.stderr
    assert denied.stderr.strip() == f"maggot-zenodo: {shared_dir / 'state' / 'state.db'}: {ACCESS}"
    assert "Traceback" not in denied.stderr and denied.stdout == ""

    config.chmod(0o600)  # the configuration itself: root only
    denied = _as_nobody("status", "--config", str(config))
    assert denied.returncode == 2
    assert denied.stderr.strip() == f"maggot-zenodo: {config}: {ACCESS}"
    check = _as_nobody("status", "--check", "--no-zenodo", "--config", str(config))
    assert check.returncode == 3  # a monitoring check that cannot tell is UNKNOWN
    assert check.stdout.startswith(f"MAGGOT-ZENODO UNKNOWN - {config}: {ACCESS} | queued=0")


def test_a_member_of_the_group_reads_the_journal_whether_the_daemon_runs_or_not(
    shared_dir: Path,
) -> None:
    config = _journal_with(shared_dir, [("a", {"status": "draft"}), ("b", {"status": "failed"})])
    config.chmod(0o640)
    state = shared_dir / "state"
    for path in (config, state, *state.iterdir()):
        os.chown(path, 0, 65534)  # root:the group, as the unit's UMask=0027 leaves them
    state.chmod(0o750)
    assert sorted(p.name for p in state.iterdir()) == ["state.db"]  # closed: no -wal, -shm
    stopped = _as_nobody("status", "--json", "--config", str(config))
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout)["summary"]["counts"]["failed"] == 1
    daemon_like = Journal(state / "state.db")  # an open writer: the -wal and -shm exist
    try:
        daemon_like.dataset("http://127.0.0.1:9", "site", "c", str(shared_dir / "c"))
        for path in state.iterdir():
            os.chown(path, 0, 65534)
        running = _as_nobody("status", "--json", "--config", str(config))
        assert running.returncode == 0, running.stderr
        assert json.loads(running.stdout)["summary"]["total"] == 3
    finally:
        daemon_like.close()


def test_a_state_file_that_is_not_a_journal_is_a_clear_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "state.db").write_text("not a database\n" * 100, encoding="utf-8")
    res = run_cli("status", "--config", str(config))
    assert res.returncode == 2
    assert res.stderr.startswith(f"maggot-zenodo: {tmp_path / 'state' / 'state.db'}: cannot be")
    assert "Fix: point 'state:'" in res.stderr and "Traceback" not in res.stderr
    check = run_cli("status", "--check", "--no-zenodo", "--config", str(config))
    assert check.returncode == 3 and check.stdout.startswith("MAGGOT-ZENODO UNKNOWN - ")
