"""The hostile corpus: datasets and situations a researcher, a broken network or a sysadmin's
slip can produce. One test each; each failed on 0.1.0. Real emulator, real files, real SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from testkit import Emulator, spawned_emulator
from testkit.publishing import make_config, publisher

from maggot_zenodo.state.journal import Journal

emulator = pytest.fixture(scope="module")(spawned_emulator)


@pytest.fixture
def emu(emulator: Emulator) -> Emulator:
    emulator.reset()
    emulator.set_faults(rate=0)
    return emulator


class Site:
    """A storage root, its config, journal and publisher, made fresh for each test."""

    def __init__(self, tmp_path: Path, emu: Emulator, **zenodo: Any) -> None:
        self.root = tmp_path / "storage"
        self.root.mkdir(exist_ok=True)
        self.config = make_config(tmp_path, self.root, emu.base_url, **zenodo)
        self.journal = Journal(self.config.state)
        self.pub = publisher(self.config, self.journal)


@pytest.fixture
def site(tmp_path: Path, emu: Emulator) -> Iterator[Site]:
    s = Site(tmp_path, emu)
    yield s
    s.journal.close()
