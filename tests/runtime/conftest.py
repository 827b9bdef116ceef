"""Fixtures of the daemon's tests: the emulator as a real subprocess (the daemon talks to it
over loopback as to Zenodo), and a datagram socket standing in for systemd's notify socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from testkit import Emulator
from testkit.daemon import NotifySocket


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator.spawn(tmp_path / "emulator")
    yield emu
    emu.stop()


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()
