"""``maggot-zenodo publish`` on a terminal: a bar per file and a total, files sent at once."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest
from testkit import TOKEN, spawned_emulator
from testkit.publishing import make_config, make_dataset, write_config_file

emulator = pytest.fixture(scope="module")(spawned_emulator)


def _screen(cmd: list[str]) -> tuple[int, str]:
    """Run ``cmd`` with stderr on a pseudo-terminal; its exit code and what it drew."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    chunks = []
    for _ in range(100_000):  # bounded: the child closes the terminal when it ends
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=60)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def test_a_bar_per_file_and_a_total(tmp_path, emulator) -> None:
    emulator.reset()
    root = tmp_path / "storage"
    files = {"one.bin": os.urandom(1_500_000), "two.bin": os.urandom(1_000_000)}
    folder = make_dataset(root, "two", files)
    cfg = str(write_config_file(tmp_path, make_config(tmp_path, root, emulator.base_url)))
    code, screen = _screen(
        [sys.executable, "-m", "maggot_zenodo", "publish", str(folder), "--config", cfg]
    )
    assert code == 0, screen
    assert "one.bin" in screen and "two.bin" in screen
    assert "total (3 files)" in screen and "100%" in screen  # the metadata file and two data
    assert TOKEN not in screen
