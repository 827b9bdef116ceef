"""The suite's pytest fixtures (a plugin registered in tests/conftest.py).

``emulator``
    Function-scoped in-process :class:`~testkit.emulator.Emulator`, data under
    ``tmp_path / "emulator"``.
``emulator_factory``
    ``emulator_factory(data_dir=None, **start_emulator_options)`` → a started in-process
    Emulator (``tokens=``, ``rate_limit="5/min"``, ``faults=``, ``latency=``, ``curators=`` ...);
    all are stopped at teardown.
``emulator_process``
    The CLI emulator as a subprocess (:meth:`Emulator.spawn`), stopped at teardown.
``emulator_token``
    :data:`testkit.tokens.TOKEN`.
``samples_dir``
    ``../shared/samples``; a skip without them, a failure in CI (:mod:`testkit.samples`).
``dv`` / ``dvc``
    A Dataverse emulator on loopback (fast timings) and a client for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from maggot_zenodo.dataverse.client import DataverseClient
from maggot_zenodo.emulator.dataverse.runner import DataverseHandle
from testkit import samples
from testkit.dataverse import client, start
from testkit.emulator import Emulator
from testkit.tokens import TOKEN


@pytest.fixture
def samples_dir() -> Path:
    return samples.require_samples(samples.SAMPLES)


@pytest.fixture
def emulator_token() -> str:
    return TOKEN


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator.in_process(tmp_path / "emulator")
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator_factory(tmp_path: Path) -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def make(data_dir: Path | None = None, **options: Any) -> Emulator:
        emu = Emulator.in_process(data_dir or tmp_path / f"emulator-{len(started)}", **options)
        started.append(emu)
        return emu

    try:
        yield make
    finally:
        for emu in started:
            emu.stop()


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator.spawn(tmp_path / "emulator-process")
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def dv(tmp_path: Path) -> Iterator[DataverseHandle]:
    handle = start(tmp_path)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def dvc(dv: DataverseHandle) -> DataverseClient:
    return client(dv)
