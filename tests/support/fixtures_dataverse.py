"""Fixtures of the Dataverse tests (a pytest plugin): a real emulator on loopback, a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dataverse_support import client, start

from maggot_zenodo.dataverse.client import DataverseClient
from maggot_zenodo.emulator.dataverse.runner import DataverseHandle


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
