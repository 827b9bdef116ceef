"""``maggot-zenodo publish`` / ``status`` as subprocesses, and the token never leaking."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import TOKEN, spawned_emulator
from testkit.publishing import (
    SEMAPHORE,
    make_config,
    make_dataset,
    publisher,
    until_ok,
    write_config_file,
)

from maggot_zenodo import logs
from maggot_zenodo.state.journal import Journal

emulator = pytest.fixture(scope="module")(spawned_emulator)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _all_bytes_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_publish_and_status_commands(tmp_path, emulator):
    emulator.reset()
    root = tmp_path / "storage"
    good = make_dataset(root, "good", {"a.csv": "1\n", "b.csv": "2\n"})
    bad = make_dataset(root, "bad", {}, declared=["../escape.csv"])
    config = make_config(tmp_path, root, emulator.base_url)
    cfg = str(write_config_file(tmp_path, config))

    ok = _cli("publish", str(good), "--config", cfg)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    [dep] = emulator.depositions()
    assert ok.stdout.splitlines()[0] == f"draft: {emulator.base_url}/deposit/{dep['id']}"
    assert "|" not in ok.stderr  # no progress bar when not on a terminal

    failed = _cli("publish", str(bad), "--config", cfg)
    assert failed.returncode == 1
    assert "failed: “../escape.csv” goes up with “..”" in failed.stdout
    assert "hint:" in failed.stdout

    table = _cli("status", "--config", cfg)
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["FOLDER", "STATUS", "DEPOSITION_ID"]
    assert any(line.startswith("good") and "draft" in line for line in lines)
    assert any(line.startswith("bad") and "failed" in line for line in lines)

    listing = json.loads(_cli("status", "--json", "--config", cfg).stdout)["datasets"]
    rows = {r["folder"]: r for r in listing}
    assert rows["good"]["status"] == "draft" and rows["good"]["deposition_id"] == dep["id"]
    assert rows["good"]["files"] == 3
    assert rows["bad"]["status"] == "failed" and "“..”" in rows["bad"]["error"]

    everything = ok.stdout + ok.stderr + failed.stdout + failed.stderr + table.stdout
    assert TOKEN not in everything
    assert TOKEN.encode() not in _all_bytes_under(tmp_path / "state")  # journal, WAL
    assert TOKEN.encode() not in _all_bytes_under(root)  # status files


def test_a_group_readable_token_file_is_refused_with_the_fix(tmp_path, emulator):
    root = tmp_path / "storage"
    folder = make_dataset(root, "ds", {"a.csv": "1\n"})
    config = make_config(tmp_path, root, emulator.base_url)
    cfg = str(write_config_file(tmp_path, config))
    (tmp_path / "token").chmod(0o644)
    res = _cli("publish", str(folder), "--config", cfg)
    assert res.returncode == 1
    assert f"chmod 600 {tmp_path / 'token'}" in res.stdout
    assert TOKEN not in res.stdout + res.stderr


def test_token_never_in_logs_outcomes_or_errors_under_faults(tmp_path, emulator):
    emulator.reset()
    stream = io.StringIO()
    logs.setup_logging("debug", fmt="json", stream=stream)
    try:
        root = tmp_path / "storage"
        folders = [make_dataset(root, f"d{i}", {"x.csv": f"{i}\n"}) for i in range(3)]
        folders.append(make_dataset(root, "bad", {}, declared=["/etc/passwd"]))
        config = make_config(tmp_path, root, emulator.base_url, publish=True)
        journal = Journal(config.state)
        pub = publisher(config, journal)
        emulator.set_faults(rate=0.3, kinds=["502", "reset", "after_commit", "429"], seed=5)
        outcomes = [until_ok(pub, f)[0] for f in folders[:3]]
        outcomes.append(pub.publish(folders[3]))
        emulator.set_faults(rate=0.0, kinds=[])
        journal.close()
    finally:
        logs.setup_logging("info", fmt="json", stream=sys.stderr)
    text = stream.getvalue()
    assert "zenodo request" in text or "dataset done" in text  # the log was captured
    assert TOKEN not in text
    assert all(TOKEN not in repr(o) for o in outcomes)
    assert TOKEN.encode() not in _all_bytes_under(tmp_path / "state")
    assert TOKEN.encode() not in _all_bytes_under(root)
    assert (folders[0] / SEMAPHORE).exists()


def test_progress_bars_on_a_terminal(tmp_path, emulator):
    import os
    import pty

    emulator.reset()
    root = tmp_path / "storage"
    folder = make_dataset(root, "big", {"big.bin": os.urandom(3_000_000)})
    cfg = str(write_config_file(tmp_path, make_config(tmp_path, root, emulator.base_url)))
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "maggot_zenodo", "publish", str(folder), "--config", cfg],
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "big.bin" in screen and "100%" in screen
    assert TOKEN not in screen
    assert out.startswith("draft: ")
