"""Logging: readable lines on a terminal, JSON lines otherwise, journald under systemd.

Every record goes through :func:`redact`, which replaces any registered secret (the Zenodo
tokens in use) with ``***``: the token must never reach a log, even inside an exception.

Every line names its subject in the message itself (``2024/frim1: failed: ...``), so that
``journalctl -f`` reads without the fields: a logger from :func:`dataset_logger` prefixes its
messages with the dataset; any call may pass ``subject=...`` for another subject (a file, the
storage root). Under journald ``CODE_FILE``/``CODE_LINE``/``CODE_FUNC`` name the real caller,
``DATASET`` holds the dataset's path relative to the storage root and ``DATASET_NAME`` its
folder's name.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any, TextIO

import structlog

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_JOURNAL_PRIORITY = {"critical": 2, "error": 3, "warning": 4, "info": 6, "debug": 7}
_FIELD_RE = re.compile(r"[^A-Z0-9_]")
SYSLOG_IDENTIFIER = "maggot-zenodo"


def register_secret(value: str | None) -> None:
    """Remember a secret so that no log line ever shows it."""
    if value and len(value) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def scrub(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    with _SECRETS_LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def _scrubbed(value: Any, depth: int = 0) -> Any:
    """``value`` with secrets scrubbed from every string inside it, however nested."""
    if isinstance(value, str):
        return scrub(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth < 16 and isinstance(value, dict):
        return {_scrubbed(k, depth + 1): _scrubbed(v, depth + 1) for k, v in value.items()}
    if depth < 16 and isinstance(value, (list, tuple, set, frozenset)):
        return [_scrubbed(v, depth + 1) for v in value]
    return scrub(str(value))


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: scrub secrets from every value of the record (nested ones too)."""
    return {key: _scrubbed(value) for key, value in event_dict.items()}


def running_under_journald(stream: TextIO | None = None) -> bool:
    """True when stderr is connected to journald (``$JOURNAL_STREAM`` names our stderr)."""
    value = os.environ.get("JOURNAL_STREAM")
    if not value:
        return False
    stream = stream or sys.stderr
    try:
        dev, ino = (int(x) for x in value.split(":"))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


def journal_field(key: str) -> str:
    """journald field names are upper-case letters, digits and underscores."""
    name = _FIELD_RE.sub("_", key.upper()).lstrip("_")
    return name or "FIELD"


def name_subject(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: ``subject=X`` turns the message into ``X: message`` (once).

    Without ``subject``, a ``dataset`` field is the subject: every line about a dataset names
    it in the message itself, so ``journalctl -f`` with two workers reads unambiguously."""
    subject = event_dict.pop("subject", None)
    if not subject:
        dataset = event_dict.get("dataset")
        subject = dataset if isinstance(dataset, str) else None
    if subject:
        event = str(event_dict.get("event", ""))
        if not event.startswith(f"{subject}:"):
            event_dict["event"] = f"{subject}: {event}" if event else str(subject)
    return event_dict


# Where the call was made, skipping structlog's frames and this module's (dataset_logger and
# friends): journald's CODE_* fields then name the daemon's line, not ours.
_CALLSITE = structlog.processors.CallsiteParameterAdder(
    {
        structlog.processors.CallsiteParameter.PATHNAME,
        structlog.processors.CallsiteParameter.LINENO,
        structlog.processors.CallsiteParameter.FUNC_NAME,
    },
    additional_ignores=[__name__],
)
JournalSend = Callable[..., None]


class JournaldLogger:
    """A structlog logger that sends each record to journald with structured fields."""

    def __init__(self, send: JournalSend | None = None) -> None:
        if send is None:
            from systemd import journal  # imported lazily: only present under systemd

            send = journal.send
        self._send = send

    def msg(self, **fields: Any) -> None:
        self._send(**fields)

    log = debug = info = warning = warn = error = critical = exception = msg


def to_journal_fields(_logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Final processor for journald: MESSAGE, PRIORITY and one upper-case field per key."""
    level = event_dict.pop("level", method)
    event_dict.pop("timestamp", None)
    fields: dict[str, Any] = {
        "MESSAGE": str(event_dict.pop("event", "")),
        "PRIORITY": _JOURNAL_PRIORITY.get(level, 6),
        "SYSLOG_IDENTIFIER": SYSLOG_IDENTIFIER,
    }
    logger_name = event_dict.pop("logger", None)
    if logger_name:
        fields["CODE_MODULE"] = logger_name
    # The caller (from _CALLSITE); journal.send fills these with its own caller otherwise.
    for key, field in (
        ("pathname", "CODE_FILE"),
        ("lineno", "CODE_LINE"),
        ("func_name", "CODE_FUNC"),
    ):
        value = event_dict.pop(key, None)
        if value is not None:
            fields[field] = value
    dataset = event_dict.get("dataset")
    if dataset and "dataset_name" not in event_dict:
        fields["DATASET_NAME"] = PurePosixPath(str(dataset)).name
    for key, value in event_dict.items():
        fields[journal_field(key)] = value if isinstance(value, (str, int, float)) else str(value)
    return fields


def detect_format(stream: TextIO | None = None) -> str:
    """``journald`` under systemd, ``console`` on a terminal, ``json`` otherwise."""
    stream = stream or sys.stderr
    if running_under_journald(stream):
        try:
            import systemd.journal  # noqa: F401
        except ImportError:
            return "json"
        return "journald"
    try:
        return "console" if stream.isatty() else "json"
    except (AttributeError, ValueError):
        return "json"


def setup_logging(
    level: str = "info",
    fmt: str | None = None,
    stream: TextIO | None = None,
    journal_send: JournalSend | None = None,
) -> str:
    """Configure structlog (and the standard library's logging) once for the process.

    ``journal_send`` replaces ``systemd.journal.send`` (a test's capture of what journald would
    receive); it is used only with the journald format."""
    stream = stream or sys.stderr
    fmt = fmt or detect_format(stream)
    numeric = _LEVELS.get(level, logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        name_subject,
        redact,
    ]
    if fmt == "journald":
        processors = [*shared, _CALLSITE, to_journal_fields]
        factory: Any = lambda *_args: JournaldLogger(journal_send)  # noqa: E731
    elif fmt == "console":
        colors = "NO_COLOR" not in os.environ
        processors = [*shared, structlog.dev.ConsoleRenderer(colors=colors)]
        factory = structlog.PrintLoggerFactory(stream)
    else:
        processors = [*shared, structlog.processors.JSONRenderer(sort_keys=False, default=str)]
        factory = structlog.PrintLoggerFactory(stream)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )
    # Third-party libraries (urllib3, watchdog) log through the standard library: keep them
    # quiet unless something is wrong, and scrub them too.
    handler = logging.StreamHandler(stream)
    handler.addFilter(_ScrubFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.WARNING))
    return fmt


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = ()
        return True


def get_logger(name: str | None = None, **context: Any) -> Any:
    """A structlog logger bound to ``context`` (e.g. ``dataset=...``)."""
    return structlog.get_logger(name).bind(**context) if context else structlog.get_logger(name)


def dataset_logger(name: str | None, dataset: str, **context: Any) -> Any:
    """A logger for one dataset (``dataset`` = its path relative to the storage root): every
    message starts with ``dataset: `` and carries the ``dataset`` field (journald: DATASET and
    DATASET_NAME)."""
    return get_logger(name, dataset=dataset, subject=dataset, **context)
