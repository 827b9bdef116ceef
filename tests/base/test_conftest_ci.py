"""The sample-data guard: a skip on a workstation, a failure in CI (CI=true)."""

from __future__ import annotations

from pathlib import Path

import pytest
from samples_support import require_samples


def test_missing_samples_skip_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_samples(tmp_path / "absent")


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_missing_samples_fail_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="missing in CI"):
        require_samples(tmp_path / "absent")


def test_present_samples_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert require_samples(tmp_path) == tmp_path
