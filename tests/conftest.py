"""Shared fixtures: paths to the project and to ../shared samples (read-only, tests only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"
SAMPLES = SHARED / "samples"


def in_ci() -> bool:
    """True on the CI runner (it sets CI=true): there, a missing prerequisite is a failure."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_samples(path: Path) -> Path:
    """``path`` when it is there; else a skip on a workstation, but a failure in CI."""
    if not path.is_dir():
        if in_ci():
            pytest.fail(f"{path} is missing in CI: the sample tests must run there")
        pytest.skip("../shared/samples is not available")
    return path


@pytest.fixture
def samples_dir() -> Path:
    return require_samples(SAMPLES)


# Fixtures that start the Zenodo emulator (in-process server on loopback, or a subprocess).
pytest_plugins = ["testkit.fixtures"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A ``serial`` test changes system-wide state: under xdist (``-n``) it would disturb the
    other worker, so there it is skipped and left to the serial pass of ``make test``."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    skip = pytest.mark.skip(reason="serial: runs in the serial pass (make test: -m serial)")
    for item in items:
        if item.get_closest_marker("serial"):
            item.add_marker(skip)
