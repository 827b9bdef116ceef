"""Where the read-only sample data lives (``../shared/samples``) and the guard for its absence:
a skip on a workstation, a failure in CI (``CI`` set), so CI can never pass without them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[3]
SAMPLES = PROJECT.parent / "shared" / "samples"


def in_ci() -> bool:
    """True on the CI runner (it sets CI=true): there, a missing prerequisite is a failure."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_samples(path: Path | None = None) -> Path:
    """``path`` (default: the samples) when it is there; else a skip, or a failure in CI."""
    path = SAMPLES if path is None else path
    if not path.is_dir():
        if in_ci():
            pytest.fail(f"{path} is missing in CI: the sample tests must run there")
        pytest.skip("../shared/samples is not available")
    return path
