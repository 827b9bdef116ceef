"""Shared fixtures: paths to the project and to ../shared samples (read-only, tests only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from samples_support import require_samples

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"
SAMPLES = SHARED / "samples"


@pytest.fixture
def samples_dir() -> Path:
    return require_samples(SAMPLES)


# Fixtures that start the Zenodo emulator (in-process server on loopback, or a subprocess).
pytest_plugins = ["fixtures_emulator", "fixtures_dataverse"]
