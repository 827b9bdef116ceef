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
    assert record["event"] == "team/ds1: uploaded"  # a line about a dataset names it
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


def _journald_capture() -> list[dict]:
    sent: list[dict] = []
    logs.setup_logging("debug", fmt="journald", journal_send=lambda **f: sent.append(f))
    return sent


def test_journal_code_fields_name_the_real_caller() -> None:
    """CODE_FILE/LINE/FUNC point at the line that logged, not at logs.py (issue #11)."""
    sent = _journald_capture()
    logs.get_logger("test").info("plain call")
    line_plain = sys._getframe().f_lineno - 1
    logs.dataset_logger("test", "2024/frim1").warning("through the dataset helper")
    line_helper = sys._getframe().f_lineno - 1
    assert [f["CODE_FILE"] for f in sent] == [__file__, __file__]
    assert [f["CODE_LINE"] for f in sent] == [line_plain, line_helper]
    assert {f["CODE_FUNC"] for f in sent} == {"test_journal_code_fields_name_the_real_caller"}
    assert all(isinstance(f["CODE_LINE"], int) for f in sent)  # journal.send formats it with :d
    assert not any(str(f["CODE_FILE"]).endswith("maggot_zenodo/logs.py") for f in sent)


def test_dataset_logger_names_its_subject_and_both_dataset_fields() -> None:
    sent = _journald_capture()
    log = logs.dataset_logger("maggot_zenodo.test", "2024/frim1")
    log.info("draft https://zenodo.example/deposit/123 (3 files, 2 uploaded)", status="draft")
    log.error("2024/frim1: failed: already prefixed")
    (draft, failed) = sent
    assert (
        draft["MESSAGE"]
        == "2024/frim1: draft https://zenodo.example/deposit/123 (3 files, 2 uploaded)"
    )
    assert draft["DATASET"] == "2024/frim1" and draft["DATASET_NAME"] == "frim1"
    assert draft["STATUS"] == "draft" and draft["PRIORITY"] == 6
    assert "SUBJECT" not in draft
    assert failed["MESSAGE"] == "2024/frim1: failed: already prefixed"  # never twice
    assert failed["PRIORITY"] == 3


def test_subject_prefixes_any_message_in_every_format() -> None:
    stream = io.StringIO()
    logs.setup_logging("info", fmt="json", stream=stream)
    logs.get_logger("test").error("No such file or directory", subject="storage root /opt/dta")
    logs.get_logger("test").info("reload refused: storage.root: missing")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "storage root /opt/dta: No such file or directory"
    assert "subject" not in first
    assert second["event"] == "reload refused: storage.root: missing"
    assert "pathname" not in first  # call-site fields only go to journald


def test_dataset_name_of_a_top_level_dataset_is_its_path() -> None:
    sent = _journald_capture()
    logs.get_logger("test", dataset="Tomato2022").info("queued")
    assert sent[0]["DATASET"] == sent[0]["DATASET_NAME"] == "Tomato2022"
    assert sent[0]["MESSAGE"] == "Tomato2022: queued"  # the dataset field is the subject
