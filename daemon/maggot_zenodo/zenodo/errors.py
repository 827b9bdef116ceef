"""Typed errors of the Zenodo client, built from Zenodo's error bodies.

Kept apart from the transport so that callers (publish, status messages) can import them
cheaply. ``str()`` of any of them never holds the token: messages are scrubbed of every
registered secret, and they are raised without chaining the requests exception (which holds
the prepared request, headers included).
"""

from __future__ import annotations

from typing import Any

import requests

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


def error_from_response(method: str, path: str, response: requests.Response) -> ZenodoHTTPError:
    """The typed error for a non-retryable answer, with Zenodo's message and field messages."""
    status = response.status_code
    message, errors = "", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        errors = body.get("errors")
    if not message:
        message = response.reason or f"HTTP {status}"
    cls = _BY_STATUS.get(status, ZenodoHTTPError)
    return cls(message[:2000], status=status, errors=errors, method=method, path=path)
