"""What a request that got no answer means: its reason in words, and whether it may have
reached the server (which decides whether a non-idempotent request may be sent again).

One reading of requests' and urllib3's exceptions for every HTTP client of the package (Zenodo's
and Dataverse's). A bottom module: it imports nothing of the package.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ReadTimeoutError


@dataclass(frozen=True)
class Failure:
    """No answer: why, and whether the request may have taken effect."""

    reason: str
    maybe_sent: bool


def classify(exc: requests.RequestException) -> Failure:
    """The :class:`Failure` a requests exception stands for."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure("connection timed out", False)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Failure("no answer before the read timeout", True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        inner = exc.args[0] if exc.args else None
        reason = inner.reason if isinstance(inner, MaxRetryError) else inner
        if isinstance(reason, ConnectTimeoutError):  # includes NewConnectionError (refused, DNS)
            return Failure("could not connect", False)
        if isinstance(reason, ReadTimeoutError):  # while reading the answer's body
            return Failure("no answer before the read timeout", True)
        return Failure(f"connection lost ({innermost_name(exc)})", True)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return Failure("connection lost while reading the answer", True)
    return Failure(f"request failed ({type(exc).__name__})", True)


def innermost_name(exc: BaseException) -> str:
    """The class name of the deepest wrapped error (e.g. ConnectionResetError)."""
    current: BaseException = exc
    for _ in range(6):
        nxt = getattr(current, "reason", None)
        if nxt is None and getattr(current, "args", None):
            wrapped = [a for a in current.args if isinstance(a, BaseException)]
            nxt = wrapped[0] if wrapped else None
        if not isinstance(nxt, BaseException):
            break
        current = nxt
    return type(current).__name__
