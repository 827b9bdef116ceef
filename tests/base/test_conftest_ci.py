"""The sample-data guard: a skip on a workstation, a failure in CI (CI=true)."""

from __future__ import annotations

from pathlib import Path

import pytest
from testkit import samples
from testkit.samples import require_samples


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


def test_a_sample_test_fails_in_ci_and_skips_elsewhere_without_the_samples(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real fixture and a real pytest session, as CI runs it."""
    pytester.makepyfile("def test_uses_samples(samples_dir):\n    assert samples_dir.is_dir()\n")
    monkeypatch.setattr(samples, "SAMPLES", tmp_path / "absent")
    monkeypatch.setenv("CI", "true")
    pytester.runpytest_inprocess("-p", "testkit.fixtures").assert_outcomes(errors=1)
    monkeypatch.delenv("CI")
    pytester.runpytest_inprocess("-p", "testkit.fixtures").assert_outcomes(skipped=1)
