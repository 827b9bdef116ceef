"""Typed errors of the Zenodo client, built from Zenodo's error bodies.

Kept apart from the transport so that callers (publish, status messages) can import them
cheaply. ``str()`` of any of them never holds the token: messages are scrubbed of every
registered secret, and they are raised without chaining the requests exception (which holds
the prepared request, headers included).
"""

from __future__ import annotations

from typing import Any

from maggot_zenodo.logs import scrub


class ZenodoError(Exception):
    """Anything that went wrong talking to Zenodo; ``str()`` never holds the token."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        maybe_committed: bool = False,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.message = scrub(str(message))
        self.status = status
        self.errors = _scrub_errors(errors or [])
        self.maybe_committed = maybe_committed
        self.method = method
        self.path = path
        # True when an earlier attempt of the same call may have taken effect: a 404 then
        # may only mean "already done" (publish twice, delete twice).
        self.after_ambiguous = False
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        status = f"{self.status} " if self.status else ""
        text = f"{where}{status}{self.message}"
        details = "; ".join(
            f"{e['field']}: {' '.join(e['messages'])}" if e["field"] else " ".join(e["messages"])
            for e in self.errors
        )
        return scrub(f"{text} ({details})" if details else text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, maybe_committed={self.maybe_committed})"


class ZenodoHTTPError(ZenodoError):
    """Zenodo answered with an error status that retrying will not fix."""


class BadRequest(ZenodoHTTPError):
    """400: validation error (see ``errors`` for the field messages) or undecodable JSON."""


class PermissionDenied(ZenodoHTTPError):
    """403: missing, invalid or revoked token, or someone else's deposition."""


class NotFound(ZenodoHTTPError):
    """404: unknown id, or an action not allowed in the record's state (publish twice...)."""


class Gone(ZenodoHTTPError):
    """410: the record has been deleted."""


class UnsupportedMediaType(ZenodoHTTPError):
    """415: wrong Content-Type."""


class TooLarge(ZenodoHTTPError):
    """413: request body too large."""


class ZenodoUnavailable(ZenodoError):
    """Retries exhausted (connection errors, timeouts, 429, 5xx), or a create not re-sent."""


class TransientRefusal(ZenodoUnavailable):
    """Zenodo kept answering a refusal that the facts show to be its own passing fault.

    Real Zenodo answers some temporary failures with a 4xx (a failed transfer, a 413 or a quota
    error far below every limit, a 403 on a fresh new-version draft) or a 500 deleting a file of
    a new-version draft. The client retries them; when they persist and the sizes, the quota and
    the token say the refusal is not true, this is raised. ``kind`` names the fault
    (``transfer_failed``, ``too_large``, ``quota``, ``forbidden``, ``file_delete``), ``key``
    the file concerned (uploads), ``attempts`` how many times it was tried. The message says
    what is true, so a caller never advises shrinking files or fixing a token because of it.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        key: str | None = None,
        attempts: int = 0,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, status=status, method=method, path=path)
        self.kind = kind
        self.key = key
        self.attempts = attempts


class AnswerTooLarge(ZenodoError):
    """An answer bigger than the client accepts (a JSON answer is never that big)."""


class ChecksumMismatch(ZenodoError):
    """The server kept reporting another size or md5 than the bytes we read."""


class FileChanged(ZenodoError):
    """The local file kept changing while it was being uploaded."""


_BY_STATUS: dict[int, type[ZenodoHTTPError]] = {
    400: BadRequest,
    401: PermissionDenied,
    403: PermissionDenied,
    404: NotFound,
    410: Gone,
    413: TooLarge,
    415: UnsupportedMediaType,
}


def _scrub_errors(errors: Any) -> list[dict[str, Any]]:
    """Zenodo's ``errors`` list, normalised to ``{"field": str, "messages": [str, ...]}``."""
    if not isinstance(errors, list):
        return []
    result = []
    for item in errors[:200]:
        if not isinstance(item, dict):
            continue
        messages = item.get("messages", item.get("message", []))
        if isinstance(messages, str):
            messages = [messages]
        if not isinstance(messages, list):
            messages = [str(messages)]
        result.append(
            {
                "field": scrub(str(item.get("field") or "")),
                "messages": [scrub(str(m)) for m in messages[:50]],
            }
        )
    return result


def error_from_answer(
    method: str, path: str, status: int, reason: str, body: Any
) -> ZenodoHTTPError:
    """The typed error for a non-retryable answer (``body`` its decoded JSON or None), with
    Zenodo's message and field messages."""
    message, errors = "", None
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        errors = body.get("errors")
    if not message:
        message = reason or f"HTTP {status}"
    cls = _BY_STATUS.get(status, ZenodoHTTPError)
    return cls(message[:2000], status=status, errors=errors, method=method, path=path)
