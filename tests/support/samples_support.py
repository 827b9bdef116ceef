"""The sample-data guard shared by tests/conftest.py: ../shared/samples skips locally but
fails in CI (CI=true), where its absence means the sample tests silently stopped running."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


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
