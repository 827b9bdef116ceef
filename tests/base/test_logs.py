"""Logging: JSON lines off a terminal, journald fields under systemd, secrets scrubbed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

from maggot_zenodo import logs


@pytest.fixture(autouse=True)
def _restore_structlog():
    yield
    logs.setup_logging("info", fmt="json", stream=io.StringIO())


def test_json_lines_carry_fields_and_scrub_registered_secrets() -> None:
    stream = io.StringIO()
    logs.register_secret("s3cr3t-token-value")
    assert logs.setup_logging("info", fmt="json", stream=stream) == "json"
    log = logs.get_logger("test", dataset="team/ds1")
    log.info("uploaded", deposition_id=42, header="Bearer s3cr3t-token-value")
    log.debug("hidden at info level")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "uploaded"
    assert record["dataset"] == "team/ds1"
    assert record["deposition_id"] == 42
    assert record["level"] == "info"
    assert record["header"] == "Bearer ***"
    assert "s3cr3t-token-value" not in stream.getvalue()


def test_nested_values_are_scrubbed() -> None:
    stream = io.StringIO()
    logs.register_secret("nested-secret-456")
    logs.setup_logging("info", fmt="json", stream=stream)
    logs.get_logger("test").info(
        "request",
        headers={"Authorization": "Bearer nested-secret-456", "nested-secret-456": 1},
        args=["nested-secret-456", ("deep", {"x": "nested-secret-456"})],
        obj=RuntimeError("nested-secret-456"),
    )
    record = json.loads(stream.getvalue())
    assert record["headers"] == {"Authorization": "Bearer ***", "***": 1}
    assert record["args"] == ["***", ["deep", {"x": "***"}]]
    assert record["obj"] == "***"
    assert "nested-secret-456" not in stream.getvalue()


def test_exceptions_are_scrubbed_too() -> None:
    stream = io.StringIO()
    logs.register_secret("another-secret-123")
    logs.setup_logging("info", fmt="json", stream=stream)
    try:
        raise RuntimeError("failed with another-secret-123 inside")
    except RuntimeError:
        logs.get_logger("test").exception("boom")
    text = stream.getvalue()
    assert "RuntimeError" in text
    assert "another-secret-123" not in text


def test_standard_library_warnings_are_scrubbed() -> None:
    import logging

    stream = io.StringIO()
    logs.register_secret("stdlib-secret-xyz")
    logs.setup_logging("info", fmt="json", stream=stream)
    logging.getLogger("urllib3").warning("retrying %s", "with stdlib-secret-xyz")
    assert "retrying with ***" in stream.getvalue()


def test_journal_fields_are_upper_case_with_priority() -> None:
    fields = logs.to_journal_fields(
        None,
        "warning",
        {
            "event": "upload failed",
            "level": "warning",
            "dataset": "a/b",
            "deposition-id": 7,
            "timestamp": "x",
            "logger": "maggot_zenodo.publish.workflow",
            "files": ["a", "b"],
        },
    )
    assert fields["MESSAGE"] == "upload failed"
    assert fields["PRIORITY"] == 4
    assert fields["DATASET"] == "a/b"
    assert fields["DEPOSITION_ID"] == 7
    assert fields["SYSLOG_IDENTIFIER"] == "maggot-zenodo"
    assert fields["CODE_MODULE"] == "maggot_zenodo.publish.workflow"
    assert fields["FILES"] == "['a', 'b']"
    assert "TIMESTAMP" not in fields


def test_format_follows_the_environment(tmp_path) -> None:
    """JSON when stderr is a file; journald only when JOURNAL_STREAM names our stderr."""
    script = textwrap.dedent(
        """
        import sys
        from maggot_zenodo.logs import detect_format
        print(detect_format(sys.stderr))
        """
    )
    err = open(tmp_path / "err", "w")  # noqa: SIM115
    st = os.fstat(err.fileno())
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    plain = subprocess.run(
        [sys.executable, "-c", script],
        stderr=err,
        capture_output=False,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        check=True,
    )
    assert plain.stdout.strip() == "json"
    env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
    matched = subprocess.run(
        [sys.executable, "-c", script],
        stderr=err,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        check=True,
    )
    try:
        import systemd.journal  # noqa: F401

        expected = "journald"
    except ImportError:
        expected = "json"
    assert matched.stdout.strip() == expected
    env["JOURNAL_STREAM"] = "1:2"
    other = subprocess.run(
        [sys.executable, "-c", script],
        stderr=err,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        check=True,
    )
    assert other.stdout.strip() == "json"
    err.close()
