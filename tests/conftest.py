"""The suite's root conftest: registers the fixtures of the support package (testkit) and
keeps the serial tests out of the parallel pass."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["testkit.fixtures", "pytester"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A ``serial`` test changes system-wide state: under xdist (``-n``) it would disturb the
    other worker, so there it is skipped and left to the serial pass of ``make test``."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    skip = pytest.mark.skip(reason="serial: runs in the serial pass (make test: -m serial)")
    for item in items:
        if item.get_closest_marker("serial"):
            item.add_marker(skip)
